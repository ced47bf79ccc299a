/*
 * Operations the kernel carries out (io_uring today): the core's side of
 * their requests. The backend reports each completion the kernel posts;
 * this file decides what it means for the op: a result to deliver, a
 * short send's remainder or an ended multishot to post again without a
 * word to the caller (docs/completion.md: S2, M2), a cancel that took
 * effect, and the end of a socket's last request that lets its close go
 * on. Under the lock, on the waiter, from translation.
 */
#include "io.h"

#include <string.h>

bool evq__io_cancel(evq_t *q, evq__op_t *op) {
  if (!op->kernel) return true;
  op->b.cancel = true;
  if (q->ops->io_cancel(q->b, &op->b)) return false;
  op->kernel = false; /* taken back before the kernel saw it */
  op->b.wait_data = false;
  op->sock->kernel--;
  return true;
}

/* The op's request ended with no event for the caller (no cancel came):
 * it goes to the kernel again, a remainder or a re-post. */
static int again(evq_t *q, evq__op_t *op) {
  evq__io_submit(q, op);
  return 0;
}

/* An op of s left its queue for dir: the next goes on (or, cancelled
 * behind it, ends); the socket's close goes on once the kernel has no
 * request of its left. */
static void after(evq_t *q, evq__io_sock_t *s, uint32_t dir) {
  evq__io_advance(q, s, dir);
  if (s->closer && s->kernel == 0) evq__io_close_now(q, s);
}

/* op's last request ended with res: its final completion. */
static int finish(evq_t *q, evq__op_t *op, int32_t res, evq_event_t *out) {
  evq__io_sock_t *s = op->sock;
  uint32_t dir = evq__op_dir(op);
  /* A send that failed, or was cancelled after bytes went, leaves a hole:
   * the stream is broken (S3); one cancelled before any went ends alone. */
  bool broke = op->kind == EVQ_IO_SEND && res < 0 &&
               !(res == EVQ_ECANCELED && op->done == 0);
  evq__io_unqueue(op);
  if (broke) evq__io_break(q, s);
  if (op->kind == EVQ_IO_CONNECT && res != (int32_t)op->fd) {
    /* The socket evq made goes: the record first (its close waits for
     * nothing, this was its only request). */
    evq__io_sock_end(q, s, true);
    evq__io_close(op->fd);
    *out = evq__io_deliver(op, res, 0);
    return 1;
  }
  *out = evq__io_deliver(op, res, 0);
  after(q, s, dir);
  evq__io_settle(q, op->fd, op->hint);
  return 1;
}

/* A pool receive found the pool empty and no data (R3 wants EVQ_ENOBUFS
 * only when data came): re-posting the receive would fail at once again,
 * round after round, a spin. Its next request waits for the socket to be
 * readable instead; then the receive goes again, and takes a buffer given
 * back meanwhile, or ends with EVQ_ENOBUFS, the data there. */
static int await_data(evq_t *q, evq__op_t *op) {
  op->b.wait_data = true;
  return again(q, op);
}

/* That wait ended with res (a poll mask, or an error): data, an end or an
 * error came, which the receive tells apart. */
static int waited(evq_t *q, evq__op_t *op, int32_t res, evq_event_t *out) {
  op->b.wait_data = false;
  if (res > 0 && !op->b.cancel) return again(q, op);
  return finish(q, op, res > 0 ? EVQ_ECANCELED : res, out);
}

/* A multishot's kernel request ended by itself with a result to give:
 * delivered with EVQ_OP_MORE, and the op goes on (M2); if a cancel came
 * meanwhile, its final completion follows on the done list. */
static int more_and_repost(evq_t *q, evq__op_t *op, int32_t res,
                           uint32_t bflags, evq_event_t *out) {
  *out = evq__io_deliver(op, res, bflags | EVQ_OP_MORE);
  if (!op->b.cancel) {
    evq__io_submit(q, op);
    return 1;
  }
  evq__io_sock_t *s = op->sock;
  evq__io_unqueue(op);
  evq__io_finish(q, op, EVQ_ECANCELED);
  after(q, s, EVQ_READABLE);
  return 1;
}

/* A pool buffer the kernel lent: the caller's until evq_pool_put; one
 * that came with no data goes back at once. */
static void lend(evq__op_t *op, uint32_t bflags, bool keep) {
  evq__pool_t *p = op->pool;
  uint32_t id = bflags >> EVQ_OP_BUFFER_SHIFT;
  if (!p || !(bflags & EVQ_OP_BUFFER) || id >= p->count) return;
  if (!keep) {
    p->q->ops->pool_put(p->q->b, p->group, id);
    return;
  }
  p->lent[id] = 1;
  p->nlent++;
}

int evq__io_completion(evq_t *q, const evq__raw_t *raw, evq_event_t *out) {
  evq__op_t *op = EVQ__CONTAINER((evq__bop_t *)(uintptr_t)raw->key,
                                 evq__op_t, b);
  int32_t res = (int32_t)raw->data;
  uint32_t bflags = raw->flags & (EVQ_OP_BUFFER | 0xffff0000u);
  bool data = res > 0 && (op->kind != EVQ_IO_RECV_POOL || bflags);
  lend(op, bflags, data);
  if (!data) bflags = 0;
  if (raw->flags & EVQ_OP_MORE) { /* the kernel's request goes on */
    *out = evq__io_deliver(op, res, bflags | EVQ_OP_MORE);
    return 1;
  }
  op->kernel = false;
  op->sock->kernel--;
  if (op->b.cancel && (res == EVQ_ECANCELED || res == EVQ_EINTR)) {
    op->b.wait_data = false;
    return finish(q, op, EVQ_ECANCELED, out); /* a send's break: finish */
  }
  if (op->b.wait_data) return waited(q, op, res, out);
  switch (op->kind) {
  case EVQ_IO_CLOSE: { /* the socket is closed: its record ends */
    evq__io_sock_t *s = op->sock;
    s->closer = NULL;
    op->sock = NULL;
    evq__io_sock_end(q, s, true);
    *out = evq__io_deliver(op, res, 0);
    return 1;
  }
  case EVQ_IO_SEND:
    if (res < 0) return finish(q, op, res, out);
    op->done += (size_t)res;
    if (op->done < op->len && !op->b.cancel) return again(q, op);
    return finish(q, op, op->done < op->len ? EVQ_ECANCELED : (int32_t)op->len,
                  out);
  case EVQ_IO_RECV_POOL:
    if (data) return more_and_repost(q, op, res, bflags, out);
    /* The kernel ran dry, but a buffer came back since (its completions
     * before this one are delivered): the pool is not empty, go on. */
    if (res == EVQ_ENOBUFS && op->pool->nlent < op->pool->count &&
        !op->b.cancel)
      return again(q, op);
    if (res == EVQ_ENOBUFS) { /* data came with no buffer, or the end */
      int r = evq__io_peek(op->fd);
      if (r == EVQ_EAGAIN && !op->b.cancel) return await_data(q, op);
      res = r > 0 ? EVQ_ENOBUFS : r == EVQ_EAGAIN ? EVQ_ECANCELED : r;
    }
    return finish(q, op, res, out);
  case EVQ_IO_ACCEPT_MULTI:
    if (res >= 0) return more_and_repost(q, op, res, 0, out);
    if (res == EVQ_EMFILE && evq__io_drain(op->fd) == 0)
      return more_and_repost(q, op, res, 0, out);
    return finish(q, op, res, out);
  case EVQ_IO_ACCEPT:
    if (res >= 0 && op->buf && evq_peer_addr((evq_fd_t)res, op->buf) != 0)
      memset(op->buf, 0, sizeof(evq_addr_t)); /* reset already: none */
    return finish(q, op, res, out);
  case EVQ_IO_CONNECT:
    return finish(q, op, res == 0 ? (int32_t)op->fd : res, out);
  default:
    return finish(q, op, res, out);
  }
}
