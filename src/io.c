/*
 * Completion operations: the calls of evq_io.h. Each checks its arguments,
 * refuses what is wrong without taking anything, and otherwise hands the
 * op to its socket's record (io_source.c), which carries it out and
 * delivers its result. Everything here runs under the queue lock, so a
 * cancel or a close from any thread is ordered against the waiter's steps
 * and deliveries: whether an op's final completion was delivered decides
 * every answer, never what a kernel said.
 */
#include "io.h"

#include <string.h>

void evq_op_init(evq_op_t *op) {
  if (op) memset(op, 0, sizeof *op);
}

int evq_op_active(const evq_op_t *op) {
  if (!op) return 0;
  const evq__op_t *o = (const evq__op_t *)(const void *)op;
  return atomic_load(&((evq__op_t *)o)->state) != EVQ__OP_IDLE;
}

/* The part every submission shares: op idle, fields reset. Under the
 * lock. */
static int claim(evq_t *q, evq__op_t *o, int kind, evq_fd_t fd,
                 uintptr_t token) {
  if (atomic_load(&o->state) != EVQ__OP_IDLE) return EVQ_EBUSY;
  if (!evq__io_state(q)) return EVQ_ENOMEM;
  /* Field by field, not a copy of a fresh op: a submission is on every
   * request's path, and state, which evq_op_active reads from other
   * threads, must not be written here. Of the backend's part, what says
   * the op is new. */
  o->b.cancel = false;
  o->b.where = 0;
  o->b.iov = NULL;
  evq__list_init(&o->link);
  o->sock = NULL;
  o->q = q;
  o->token = token;
  o->buf = NULL;
  o->iov = NULL;
  o->pool = NULL;
  o->len = o->done = 0;
  o->niov = 0;
  o->fd = fd;
  o->result = 0;
  o->kind = (uint8_t)kind;
  o->kernel = false;
  return 0;
}

/* Whether op may join s's queues: one multishot holds the read side
 * alone, and a pool receive wants no other receive beside it. */
static int fits(const evq__io_sock_t *s, const evq__op_t *op) {
  if (evq__op_dir(op) == EVQ_WRITABLE) return 0;
  if (s->multi) return EVQ_EBUSY;
  return evq__op_multi(op->kind) && !evq__list_empty(&s->rd) ? EVQ_EBUSY : 0;
}

/* Under the lock: op (claimed) goes to fd's record, or ends at once with
 * what the socket's record met; 0, or a refusal (op left idle). */
static int enqueue(evq_t *q, evq__op_t *op, evq_fd_t fd) {
  evq__io_sock_t *s = NULL;
  if (evq__io_closing(q, fd) &&
      !evq__registry_find(&q->registry, EVQ__KIND_FD, (uint64_t)fd))
    return EVQ_EBADF; /* EVQ_EEXIST first, as for any number */
  int rc = evq__io_sock(q, fd, op->hint, &s);
  if (rc == EVQ_EEXIST || rc == EVQ_ENOMEM) return rc;
  if (rc == 0) op->hint = (uint32_t)s->key;
  if (rc == 0 && s->closer) return EVQ_EBADF; /* a close is under way */
  if (rc == 0) rc = fits(s, op);
  if (rc == EVQ_EBUSY) return rc;
  if (op->pool) op->pool->users++;
  if (rc != 0) {
    evq__io_finish(q, op, rc);
  } else if (op->kind == EVQ_IO_SEND && s->broken) {
    evq__io_finish(q, op, EVQ_ECANCELED);
  } else {
    if (evq__op_multi(op->kind))
      s->multi = true; /* the read side is the multishot's alone */
    evq__io_queue(q, op, s);
  }
  return 0;
}

/* claim() and enqueue() under the lock; what is filled in between is the
 * caller's (set after claim resets the op). */
#define SUBMIT(q, op, kind, fd, token, fill)          \
  do {                                                \
    evq__op_t *o_ = evq__op(op);                      \
    evq__mutex_lock(&(q)->lock);                      \
    int rc_ = claim((q), o_, (kind), (fd), (token));  \
    if (rc_ == 0) {                                   \
      fill;                                           \
      rc_ = enqueue((q), o_, (fd));                   \
      if (rc_ != 0) o_->q = NULL;                     \
    }                                                 \
    evq__mutex_unlock(&(q)->lock);                    \
    return rc_;                                       \
  } while (0)

int evq_op_accept(evq_t *q, evq_op_t *op, evq_fd_t listener,
                  evq_addr_t *peer, uintptr_t token) {
  if (!q || !op) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_ACCEPT, listener, token, o_->buf = peer);
}

int evq_op_accept_multi(evq_t *q, evq_op_t *op, evq_fd_t listener,
                        uintptr_t token) {
  if (!q || !op) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_ACCEPT_MULTI, listener, token, (void)0);
}

int evq_op_recv(evq_t *q, evq_op_t *op, evq_fd_t fd, void *buf, size_t len,
                uintptr_t token) {
  if (!q || !op || !buf || len == 0 || len > INT32_MAX) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_RECV, fd, token, (o_->buf = buf, o_->len = len));
}

int evq_op_recv_pool(evq_t *q, evq_op_t *op, evq_fd_t fd, evq_pool_t *pool,
                     uintptr_t token) {
  evq__pool_t *p = (evq__pool_t *)pool;
  if (!q || !op || !p || p->q != q) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_RECV_POOL, fd, token, o_->pool = p);
}

int evq_op_send(evq_t *q, evq_op_t *op, evq_fd_t fd, const void *buf,
                size_t len, uintptr_t token) {
  if (!q || !op || !buf || len == 0 || len > INT32_MAX) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_SEND, fd, token, (o_->buf = (void *)buf, o_->len = len));
}

int evq_op_sendv(evq_t *q, evq_op_t *op, evq_fd_t fd, const evq_iovec_t *iov,
                 int n, uintptr_t token) {
  if (!q || !op || !iov || n < 1) return EVQ_EINVAL;
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (!iov[i].base && iov[i].len) return EVQ_EINVAL;
    if (iov[i].len > INT32_MAX - total) return EVQ_EINVAL;
    total += iov[i].len;
  }
  if (total == 0) return EVQ_EINVAL;
  SUBMIT(q, op, EVQ_IO_SEND, fd, token,
         (o_->iov = iov, o_->niov = n, o_->len = total));
}

/* The socket is made at submission: its record needs the number. A
 * connect that fails at once is the op's result. */
int evq_op_connect(evq_t *q, evq_op_t *op, const evq_addr_t *addr,
                   uintptr_t token) {
  if (!q || !op || !addr) return EVQ_EINVAL;
  evq__op_t *o = evq__op(op);
  evq__mutex_lock(&q->lock);
  int rc = claim(q, o, EVQ_IO_CONNECT, (evq_fd_t)-1, token);
  evq_fd_t fd = (evq_fd_t)-1;
  if (rc == 0) o->buf = (void *)addr; /* never into an active op */
  /* Native, the kernel connects the socket; else evq starts it. */
  int started = rc != 0                ? 0
                : evq__io_native(q, o) ? evq__io_connect_socket(addr, &fd)
                                       : evq__io_connect_start(addr, &fd);
  if (rc == 0 && started == EVQ_EINVAL) rc = EVQ_EINVAL;
  evq__io_sock_t *s = NULL;
  if (rc == 0 && started == 0) {
    o->fd = fd;
    started = evq__io_sock(q, fd, 0, &s);
    if (started == EVQ_EEXIST) started = EVQ_EIO; /* a number reused behind
                                                     evq's back */
    if (started != 0) evq__io_close(fd);
    if (started == EVQ_ENOMEM) rc = EVQ_ENOMEM;
  }
  if (rc == 0 && started != 0)
    evq__io_finish(q, o, started);
  else if (rc == 0)
    evq__io_queue(q, o, s);
  else if (rc != EVQ_EBUSY) /* claimed, then refused; EBUSY: o is active */
    o->q = NULL;
  evq__mutex_unlock(&q->lock);
  return rc;
}

/* Under the lock: a queued op ends, cancelled, now or (in the kernel)
 * when the kernel reports it. A send that had sent part of itself leaves
 * a hole: the stream is broken. A connect's socket was never the
 * caller's: it goes. */
static void cancel_queued(evq_t *q, evq__op_t *op) {
  if (!evq__io_cancel(q, op)) return;
  evq__io_sock_t *s = op->sock;
  bool wr = evq__op_dir(op) == EVQ_WRITABLE;
  evq__link_t *l = wr ? &s->wr : &s->rd;
  evq__op_t *head = EVQ__CONTAINER(l->next, evq__op_t, link);
  /* Behind another op it ends after that one, when it reaches the head: a
   * socket's sends and receives complete in order (evq__io_advance ends
   * it then). */
  if (head != op) {
    op->b.cancel = true;
    return;
  }
  bool partial = op->kind == EVQ_IO_SEND && op->done > 0;
  evq__io_unqueue(op);
  evq__io_finish(q, op, EVQ_ECANCELED);
  if (partial) evq__io_break(q, s);
  if (op->kind == EVQ_IO_CONNECT) {
    evq__io_sock_end(q, s, true);
    evq__io_close(op->fd);
  } else if (head == op) {
    evq__io_advance(q, s, wr ? EVQ_WRITABLE : EVQ_READABLE);
  }
}

int evq_op_cancel(evq_t *q, evq_op_t *op) {
  if (!q || !op) return EVQ_EINVAL;
  evq__op_t *o = evq__op(op);
  evq__mutex_lock(&q->lock);
  int state = atomic_load(&o->state), rc = 0;
  if (state == EVQ__OP_IDLE)
    rc = EVQ_ENOENT;
  else if (o->q != q)
    rc = EVQ_EINVAL;
  else if (state == EVQ__OP_QUEUED && o->kind != EVQ_IO_CLOSE)
    cancel_queued(q, o); /* a close goes on: it ends the others */
  evq__mutex_unlock(&q->lock);
  return rc;
}

static evq__io_sock_t *find_sock(evq_t *q, evq_fd_t fd) {
  evq__reg_t *reg =
      q->io ? evq__registry_find(&q->registry, EVQ__KIND_IO, (uint64_t)fd)
            : NULL;
  return reg ? (evq__io_sock_t *)reg->token : NULL;
}

/* Ops in the kernel, and those behind them, stay queued until the
 * kernel reports the first one's end. Cancelling one may end others (a
 * broken send stream): the walk starts again after each that left. */
static void cancel_all(evq_t *q, evq__link_t *l) {
  for (evq__link_t *e = l->next; e != l;) {
    evq__op_t *op = EVQ__CONTAINER(e, evq__op_t, link);
    if (op->b.cancel) {
      e = e->next;
      continue;
    }
    cancel_queued(q, op);
    e = op->sock ? e->next : l->next;
  }
}

/* Every op of fd ends first, in its queue's order, so their completions
 * come before the close's. */
int evq_op_close(evq_t *q, evq_op_t *op, evq_fd_t fd, uintptr_t token) {
  if (!q || !op) return EVQ_EINVAL;
  evq__op_t *o = evq__op(op);
  evq__mutex_lock(&q->lock);
  int rc = claim(q, o, EVQ_IO_CLOSE, fd, token);
  if (rc == 0 && evq__registry_find(&q->registry, EVQ__KIND_FD, (uint64_t)fd))
    rc = EVQ_EEXIST;
  if (rc == 0) {
    evq__io_sock_t *s = find_sock(q, fd);
    if ((s && s->closer) || evq__io_closing(q, fd)) {
      rc = EVQ_EBADF;
    } else if (s) {
      /* The socket closes once no request of its is in the kernel. */
      atomic_store(&o->state, EVQ__OP_QUEUED);
      s->closer = o;
      cancel_all(q, &s->rd);
      cancel_all(q, &s->wr);
      if (s->kernel == 0) evq__io_close_now(q, s);
    } else {
      evq__io_finish(q, o, evq__io_close(fd));
    }
  }
  if (rc != 0 && rc != EVQ_EBUSY) o->q = NULL; /* EBUSY: o is active */
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_io_release(evq_t *q, evq_fd_t fd) {
  if (!q) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__io_sock_t *s = find_sock(q, fd);
  int rc = !s ? EVQ_ENOENT : s->ops || s->closer ? EVQ_EBUSY : 0;
  /* An op of fd whose final result waits for delivery is still active. */
  if (rc == 0 && evq__io_undelivered(q->io, fd)) rc = EVQ_EBUSY;
  if (rc == 0) evq__io_sock_end(q, s, false);
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_io_path(evq_t *q, int kind) {
  if (!q || kind < EVQ_IO_ACCEPT || kind > EVQ_IO_CLOSE) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  bool native = (q->io_native >> kind) & 1u;
  bool multi = (q->io_multishot >> kind) & 1u;
  evq__mutex_unlock(&q->lock);
  if (!native) return EVQ_PATH_EMULATED;
  return multi ? EVQ_PATH_NATIVE_MULTI : EVQ_PATH_NATIVE;
}
