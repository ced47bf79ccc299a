/*
 * Operations as a source of events (core.h's evq__source_t, kind IO): a
 * socket's record, readiness as the backend reports it, the run list of
 * records with work in a ready direction, the steps taken on the waiter
 * (io_emul.c), and delivery into evq_wait()'s batch, where an op's final
 * completion makes it the caller's again. io.c's calls sit above it.
 *
 * A record is a registration of kind IO, in edge mode for both directions:
 * the backend reports a direction when it becomes ready, the record keeps
 * it as ready until a step meets would-block, and where the core emulates
 * edge mode (poll, IOCP, io_uring) the direction is re-armed then. So a
 * socket costs one kernel registration for its life, not one per op.
 */
#include "io.h"

#include <stdlib.h>

#define DIRS (EVQ_READABLE | EVQ_WRITABLE)

static bool edge_emulated(evq_t *q) {
  return (q->emulated >> EVQ_EDGE) & 1u;
}

static evq__link_t *queue_of(evq__io_sock_t *s, uint32_t dir) {
  return dir == EVQ_READABLE ? &s->rd : &s->wr;
}

/* Puts s on the run list if a ready direction has work. */
static void schedule(evq__io_t *io, evq__io_sock_t *s) {
  bool work = ((s->ready & EVQ_READABLE) && !evq__list_empty(&s->rd)) ||
              ((s->ready & EVQ_WRITABLE) && !evq__list_empty(&s->wr));
  if (work && evq__list_empty(&s->run)) evq__list_push_back(&io->run, &s->run);
}

static evq__io_sock_t *sock_new(evq__io_t *io) {
  evq__io_sock_t *s = io->nspare ? io->spare[--io->nspare]
                                 : malloc(sizeof *s);
  if (!s) return NULL;
  *s = (evq__io_sock_t){0};
  evq__list_init(&s->rd);
  evq__list_init(&s->wr);
  evq__list_init(&s->run);
  return s;
}

/* Kept for the next socket (no allocation in steady state), up to the
 * peak number of records. */
static void sock_recycle(evq__io_t *io, evq__io_sock_t *s) {
  if (io->nspare == io->spare_cap) {
    uint32_t cap = io->spare_cap ? io->spare_cap * 2 : 16;
    evq__io_sock_t **a = realloc(io->spare, sizeof *a * cap);
    if (!a) {
      free(s);
      return;
    }
    io->spare = a;
    io->spare_cap = cap;
  }
  io->spare[io->nspare++] = s;
}

/* fd's record's registration, or NULL. A live slot of kind IO for fd
 * holds fd's record, whatever queue or socket the hint came from. */
static evq__reg_t *record_of(evq_t *q, evq_fd_t fd, uint32_t hint) {
  evq__reg_t *reg = evq__registry_slot(q, hint);
  if (reg && reg->kind == EVQ__KIND_IO && reg->handle == (intptr_t)fd)
    return reg;
  return evq__registry_find(&q->registry, EVQ__KIND_IO, (uint64_t)fd);
}

int evq__io_sock(evq_t *q, evq_fd_t fd, uint32_t hint, evq__io_sock_t **out) {
  evq__reg_t *reg = record_of(q, fd, hint);
  if (reg) {
    *out = (evq__io_sock_t *)reg->token;
    return 0;
  }
  if (evq__registry_find(&q->registry, EVQ__KIND_FD, (uint64_t)fd))
    return EVQ_EEXIST;
  evq__io_t *io = evq__io_state(q);
  evq__io_sock_t *s = io ? sock_new(io) : NULL;
  int rc = s ? evq__registry_add(&q->registry, EVQ__KIND_IO, (uint64_t)fd,
                                 &reg)
             : EVQ_ENOMEM;
  if (rc != 0) {
    if (s) sock_recycle(io, s);
    return rc;
  }
  reg->token = (uintptr_t)s;
  reg->handle = (intptr_t)fd;
  reg->interests = reg->armed = DIRS;
  reg->mode = EVQ_EDGE;
  s->fd = fd;
  s->key = evq__key(reg->id, reg->gen);
  io->socks++;
  *out = s;
  return 0;
}

void evq__io_sock_end(evq_t *q, evq__io_sock_t *s, bool closing) {
  evq__reg_t *reg = evq__registry_get(&q->registry, s->key);
  if (reg) evq__drop(q, reg, closing);
  evq__list_unlink(&s->run);
  q->io->socks--;
  q->io->stale -= s->badf;
  s->key = 0;
  sock_recycle(q->io, s);
}

/* An emulated op needs the socket's readiness: the backend watches the
 * record from its first such op on (a socket whose ops are all native
 * costs the kernel nothing but the ops). */
static int watch(evq_t *q, evq__io_sock_t *s) {
  evq__reg_t *reg = evq__registry_get(&q->registry, s->key);
  if (s->watched || !reg) return 0;
  int rc = q->ops->add(q->b, reg);
  if (rc != 0) return rc == EVQ_EEXIST || rc == EVQ_ENOMEM ? EVQ_EIO : rc;
  evq__watched(q, reg);
  evq__changed(q);
  s->watched = true;
  return 0;
}

bool evq__io_native(const evq_t *q, const evq__op_t *op) {
  if (!((q->io_native >> op->kind) & 1u)) return false;
  if (op->sock && op->sock->adoption == EVQ__FOREIGN) return false;
  return op->kind != EVQ_IO_RECV_POOL || op->pool->native;
}

/* A socket's first native op: the backend takes it (IOCP associates it
 * with its port, once per socket) or refuses it, and then the record's
 * ops are emulated, with the same results. */
static bool adopt(evq_t *q, evq__io_sock_t *s) {
  if (s->adoption == EVQ__ADOPTED) return true;
  int rc = q->ops->io_adopt ? q->ops->io_adopt(q->b, (intptr_t)s->fd) : 0;
  if (rc < 0) {
    s->adoption = EVQ__FOREIGN;
    return false;
  }
  s->sock_flags = (uint8_t)rc;
  s->adoption = EVQ__ADOPTED;
  return true;
}

/* Linux (6.18 seen) stops a multishot receive on a Unix stream socket
 * that drained more than its retry limit (32 buffers) without reporting
 * the end of stream queued behind the data: the receive would never end.
 * On such a socket the kernel gets one receive at a time, each posted
 * again as an ended multishot is; the family is asked once per record. */
static bool multishot_ok(evq__io_sock_t *s) {
  if (!s->family_known) {
    s->unix_family = evq__io_unix(s->fd);
    s->family_known = true;
  }
  return !s->unix_family;
}

/* What the kernel needs for op's next request: the part of a send not
 * yet sent (a vector's partly sent buffer alone, then the rest of the
 * caller's array, which evq never writes). */
static void fill(evq__op_t *op) {
  evq__bop_t *b = &op->b;
  b->fd = (intptr_t)op->fd;
  b->kind = op->kind;
  b->sock_flags = op->sock->sock_flags;
  b->iov = NULL;
  b->buf = op->buf;
  b->len = op->len;
  b->single = evq__op_multi(op->kind) &&
              (!((op->q->io_multishot >> op->kind) & 1u) ||
               (op->kind == EVQ_IO_RECV_POOL && !multishot_ok(op->sock)));
  if (op->kind == EVQ_IO_RECV_POOL) b->group = op->pool->group;
  if (op->kind == EVQ_IO_CONNECT)
    evq__io_os_addr(op->buf, &b->addr, &b->addrlen);
  if (op->kind != EVQ_IO_SEND) return;
  if (!op->iov) {
    b->buf = (char *)op->buf + op->done;
    b->len = op->len - op->done;
    return;
  }
  size_t skip = op->done;
  int i = 0;
  while (skip >= op->iov[i].len) skip -= op->iov[i++].len;
  if (skip > 0) {
    b->buf = (char *)op->iov[i].base + skip;
    b->len = op->iov[i].len - skip;
  } else {
    b->iov = op->iov + i;
    b->niov = op->niov - i;
  }
}

/* Hands op to the kernel: its first request, a remainder, a re-post. */
void evq__io_submit(evq_t *q, evq__op_t *op) {
  fill(op);
  op->kernel = true;
  op->sock->kernel++;
  q->ops->io_submit(q->b, &op->b);
  evq__changed(q);
}

/* The head of s's queue for dir gets going: a native one goes to the
 * kernel, an emulated one waits for readiness (or runs now, if the
 * direction is believed ready). Only heads run: receives in order, one
 * send at a time. */
void evq__io_advance(evq_t *q, evq__io_sock_t *s, uint32_t dir) {
  evq__link_t *l = queue_of(s, dir);
  evq__op_t *op = NULL;
  /* Those cancelled behind one the kernel had end now, in order. */
  while (!evq__list_empty(l) &&
         (op = EVQ__CONTAINER(l->next, evq__op_t, link))->b.cancel &&
         !op->kernel) {
    evq__io_unqueue(op);
    evq__io_finish(q, op, EVQ_ECANCELED);
  }
  if (evq__list_empty(l) || op->kernel || s->closer) return;
  if (evq__io_native(q, op) && adopt(q, s)) {
    evq__io_submit(q, op);
    return;
  }
  int rc = watch(q, s);
  if (rc != 0) { /* the socket cannot be watched: its ops fail */
    evq__io_unqueue(op);
    evq__io_finish(q, op, rc);
    evq__io_advance(q, s, dir);
    return;
  }
  if (s->ready & dir) {
    schedule(q->io, s);
    evq__kick_waiter(q);
  }
}

static void blocked(evq_t *q, evq__io_sock_t *s, uint32_t dir);

/* A send with none before it on a socket believed writable is tried at
 * once, in the submitting call, as a kernel with native operations starts
 * one (IOCP's WSASend, io_uring's inline issue): a response to a request
 * then costs no turn of the run list and no kick. Its completion still
 * comes from evq_wait(), after the socket's earlier ones. */
static void send_now(evq_t *q, evq__io_sock_t *s, evq__op_t *op) {
  int32_t res = 0;
  uint32_t flags;
  if (evq__io_step(op, &res, &flags) == EVQ__STEP_BLOCKED) {
    blocked(q, s, EVQ_WRITABLE);
    return;
  }
  evq__io_unqueue(op);
  if (res < 0) evq__io_break(q, s);
  evq__io_finish(q, op, res);
}

void evq__io_queue(evq_t *q, evq__op_t *op, evq__io_sock_t *s) {
  uint32_t dir = evq__op_dir(op);
  op->sock = s;
  atomic_store(&op->state, EVQ__OP_QUEUED);
  evq__list_push_back(queue_of(s, dir), &op->link);
  s->ops++;
  if (op->kind == EVQ_IO_SEND && (s->ready & dir) && s->wr.next == &op->link &&
      !s->closer && !evq__io_native(q, op))
    send_now(q, s, op);
  evq__io_advance(q, s, dir);
}

void evq__io_unqueue(evq__op_t *op) {
  if (evq__op_multi(op->kind))
    op->sock->multi = false;
  evq__list_unlink(&op->link);
  op->sock->ops--;
  op->sock = NULL;
}

void evq__io_finish(evq_t *q, evq__op_t *op, int32_t result) {
  if (op->kind == EVQ_IO_CLOSE) q->io->closes++;
  op->result = result;
  atomic_store(&op->state, EVQ__OP_DONE);
  evq__list_push_back(&q->io->done, &op->link);
  evq__kick_waiter(q);
}

/* The op is the caller's again: its final completion is in the batch.
 * One whose I/O found no socket marks its record to end (settle). */
evq_event_t evq__io_deliver(evq__op_t *op, int32_t result, uint32_t flags) {
  evq_event_t ev = {op->token, EVQ_OP | flags, (uint32_t)result};
  if (flags & EVQ_OP_MORE) return ev;
  if (result == EVQ_EBADF && op->kind != EVQ_IO_CLOSE) {
    evq__reg_t *reg = record_of(op->q, op->fd, op->hint);
    evq__io_sock_t *s = reg ? (evq__io_sock_t *)reg->token : NULL;
    if (s && !s->badf) {
      s->badf = true;
      op->q->io->stale++;
    }
  }
  if (op->pool) op->pool->users--;
  op->q = NULL;
  atomic_store(&op->state, EVQ__OP_IDLE);
  return ev;
}

/* A send failed: the stream is broken, the sends queued behind end. */
void evq__io_break(evq_t *q, evq__io_sock_t *s) {
  s->broken = true;
  while (!evq__list_empty(&s->wr)) {
    evq__op_t *next = EVQ__CONTAINER(s->wr.next, evq__op_t, link);
    if (next->kind != EVQ_IO_SEND) break; /* a connect is never behind one */
    evq__io_unqueue(next);
    evq__io_finish(q, next, EVQ_ECANCELED);
  }
}

/* The direction was not ready after all: wait for the backend's word. */
static void blocked(evq_t *q, evq__io_sock_t *s, uint32_t dir) {
  s->ready &= ~dir;
  if (!edge_emulated(q)) return;
  evq__reg_t *reg = evq__registry_get(&q->registry, s->key);
  if (reg && !(reg->armed & dir)) {
    reg->armed |= dir;
    q->ops->rearm(q->b, reg);
  }
}

/* One step of the op at the head of s's queue for dir; 1 and an event in
 * out if it gave a result, 0 if not (blocked, or nothing to do). */
static int step(evq_t *q, evq__io_sock_t *s, uint32_t dir, evq_event_t *out) {
  evq__link_t *l = queue_of(s, dir);
  if (!(s->ready & dir) || evq__list_empty(l)) return 0;
  evq__op_t *op = EVQ__CONTAINER(l->next, evq__op_t, link);
  if (op->kernel || evq__io_native(q, op)) return 0;
  int32_t res = 0;
  uint32_t flags = 0;
  int how = evq__io_step(op, &res, &flags);
  /* A short read left a stream socket empty: wait for the backend's word
   * rather than make the read that would block. Not once the read side's
   * end was reported, which comes as no new word: read on to it. */
  if (how & EVQ__STEP_SHORT) {
    how &= ~EVQ__STEP_SHORT;
    if (!s->hup && !q->ops->edge_hides_end) blocked(q, s, dir);
  }
  if (how == EVQ__STEP_BLOCKED) {
    blocked(q, s, dir);
    return 0;
  }
  if (how == EVQ__STEP_MORE) {
    /* Out of descriptors, a multishot accept waits for the listener's next
     * word rather than asking again at once (which, with nothing refused,
     * would spin). */
    if (res == EVQ_EMFILE) blocked(q, s, dir);
    *out = evq__io_deliver(op, res, flags | EVQ_OP_MORE);
    return 1;
  }
  evq__io_unqueue(op);
  if (op->kind == EVQ_IO_SEND && res < 0) evq__io_break(q, s);
  /* The socket evq made goes; io_take ends the record after the step. */
  if (op->kind == EVQ_IO_CONNECT && res < 0) s->gone = true;
  *out = evq__io_deliver(op, res, flags);
  if (!s->gone) evq__io_advance(q, s, dir);
  return 1;
}

bool evq__io_closing(evq_t *q, evq_fd_t fd) {
  evq__io_t *io = q->io;
  if (!io || !io->closes) return false;
  for (evq__link_t *e = io->done.next; e != &io->done; e = e->next) {
    const evq__op_t *op = EVQ__CONTAINER(e, evq__op_t, link);
    if (op->kind == EVQ_IO_CLOSE && op->fd == fd) return true;
  }
  return false;
}

bool evq__io_undelivered(const evq__io_t *io, evq_fd_t fd) {
  for (const evq__link_t *e = io->done.next; e != &io->done; e = e->next)
    if (EVQ__CONTAINER(e, evq__op_t, link)->fd == fd) return true;
  return false;
}

/* Whether s has nothing left to run or deliver. */
static bool idle(const evq__io_t *io, const evq__io_sock_t *s) {
  return !s->ops && !s->kernel && !s->closer &&
         !evq__io_undelivered(io, s->fd);
}

void evq__io_settle(evq_t *q, evq_fd_t fd, uint32_t hint) {
  if (!q->io->stale) return;
  evq__reg_t *reg = record_of(q, fd, hint);
  evq__io_sock_t *s = reg ? (evq__io_sock_t *)reg->token : NULL;
  if (s && s->badf && idle(q->io, s)) evq__io_sock_end(q, s, false);
}

void evq__io_close_now(evq_t *q, evq__io_sock_t *s) {
  evq__op_t *closer = s->closer;
  evq_fd_t fd = s->fd;
  /* Native, the kernel closes it; its completion ends the record
   * (io_native.c). */
  if (evq__io_native(q, closer) && adopt(q, s)) {
    closer->sock = s;
    evq__io_submit(q, closer);
    return;
  }
  s->closer = NULL;
  evq__io_sock_end(q, s, true);
  evq__io_finish(q, closer, evq__io_close(fd));
}

static int take_done(evq_t *q, evq_event_t *out, int cap) {
  evq__io_t *io = q->io;
  int n = 0;
  while (n < cap && !evq__list_empty(&io->done)) {
    evq__op_t *op = EVQ__CONTAINER(io->done.next, evq__op_t, link);
    evq__list_unlink(&op->link);
    if (op->kind == EVQ_IO_CLOSE) io->closes--;
    out[n++] = evq__io_deliver(op, op->result, 0);
    evq__io_settle(q, op->fd, op->hint);
  }
  return n;
}

/* The final results waiting, then rounds over the run list: each record
 * takes one step per direction per round, so a busy socket cannot starve
 * the others, and rounds go on while they give results and there is
 * room. */
static int io_take(evq_t *q, evq_event_t *out, int cap) {
  evq__io_t *io = q->io;
  if (!io) return 0;
  int n = 0;
  for (int progress = 1; progress && !evq__list_empty(&io->run);) {
    /* What the last round ended on the done list (ops cancelled behind
     * the head a step finished) goes before this round's steps, which
     * may finish the ops behind them on the same socket. */
    n += take_done(q, out + n, cap - n);
    if (n == cap) break;
    progress = 0;
    evq__link_t round;
    evq__list_init(&round);
    /* This round's records move to a list of their own: a record that
     * leaves (its connect failed) or is scheduled again is no trouble. */
    round.next = io->run.next, round.prev = io->run.prev;
    round.next->prev = round.prev->next = &round;
    evq__list_init(&io->run);
    while (!evq__list_empty(&round)) {
      evq__io_sock_t *s = EVQ__CONTAINER(round.next, evq__io_sock_t, run);
      evq__list_unlink(&s->run);
      if (n == cap) { /* no room: the rest wait for the next take */
        evq__list_push_back(&io->run, &s->run);
        continue;
      }
      int got = step(q, s, EVQ_READABLE, out + n);
      if (n + got < cap) got += step(q, s, EVQ_WRITABLE, out + n + got);
      n += got;
      progress |= got;
      if (!s->gone) {
        schedule(io, s);
        if (s->badf) evq__io_settle(q, s->fd, (uint32_t)s->key);
      } else {
        evq_fd_t fd = s->fd;
        evq__io_sock_end(q, s, true);
        evq__io_close(fd);
      }
    }
  }
  return n + take_done(q, out + n, cap - n);
}

static bool io_pending(evq_t *q) {
  return q->io && !(evq__list_empty(&q->io->done) &&
                    evq__list_empty(&q->io->run));
}

/* The backend reports a record's socket: its directions are ready. An
 * error or hang-up makes both ready (the I/O will say what happened) and,
 * where edge mode is emulated, disarms both, or a kernel that keeps
 * reporting them would wake every round for nothing. */
static int io_event(evq_t *q, evq__reg_t *reg, uint32_t raw,
                    evq_event_t *out) {
  (void)out;
  evq__io_sock_t *s = (evq__io_sock_t *)reg->token;
  bool final = (raw & EVQ_ERROR) || (raw & EVQ__HANGUP) == EVQ__HANGUP;
  uint32_t dirs = final ? DIRS : 0;
  if (raw & (EVQ_READABLE | EVQ_READ_CLOSED)) dirs |= EVQ_READABLE;
  if (raw & (EVQ_WRITABLE | EVQ_WRITE_CLOSED)) dirs |= EVQ_WRITABLE;
  if (raw & (EVQ_READ_CLOSED | EVQ_ERROR)) s->hup = true;
  if (edge_emulated(q)) {
    uint32_t armed = final ? 0 : reg->armed & ~dirs;
    if (armed != reg->armed) {
      reg->armed = armed;
      q->ops->rearm(q->b, reg);
    }
  }
  s->ready |= dirs;
  schedule(q->io, s);
  return 0;
}

/* evq_free: the ops become the caller's without a completion; a socket
 * evq made for a connect is closed, the caller's sockets are not. */
static void end_all(evq__link_t *l) {
  while (!evq__list_empty(l)) {
    evq__op_t *op = EVQ__CONTAINER(l->next, evq__op_t, link);
    evq__list_unlink(&op->link);
    if (op->kind == EVQ_IO_CONNECT && op->sock) evq__io_close(op->fd);
    op->sock = NULL;
    op->q = NULL;
    atomic_store(&op->state, EVQ__OP_IDLE);
  }
}

static void io_forget(evq_t *q, const evq__reg_t *reg) {
  evq__io_sock_t *s = (evq__io_sock_t *)reg->token;
  end_all(&s->rd);
  end_all(&s->wr);
  if (s->closer) { /* closed here; io_free drains the kernel's requests */
    if (!s->closer->kernel) evq__io_close(s->fd);
    s->closer->q = NULL;
    atomic_store(&s->closer->state, EVQ__OP_IDLE);
  }
  evq__list_unlink(&s->run);
  q->io->socks--;
  q->io->stale -= s->badf;
  free(s);
}

static void io_free(evq_t *q) {
  evq__io_t *io = q->io;
  if (!io) return;
  /* Before the buffers go: the kernel may still write into them. */
  if (q->ops->io_drain) q->ops->io_drain(q->b);
  end_all(&io->done);
  evq__pools_free(io);
  for (uint32_t i = 0; i < io->nspare; i++) free(io->spare[i]);
  free(io->spare);
  free(io);
  q->io = NULL;
}

const evq__source_t evq__source_io = {
    .take = io_take,
    .pending = io_pending,
    .event = io_event,
    .forget = io_forget,
    .free = io_free,
    .again = true,
};
