/* A pool receive on an idle socket while its pool is empty (evq_io.h,
 * evq_op_recv_pool: EVQ_ENOBUFS only "when data came and the pool had no
 * buffer"; docs/reliability.md, finding pool-empty-spin): it waits, and
 * the wait sleeps (spin.h counts the wait loop's turns, no clock), until
 * data comes (a buffer given back meanwhile takes it; none: EVQ_ENOBUFS),
 * the stream ends, or it is cancelled. */
#include "iotest.h"

/* The pool's two buffers lent to a receive on a pair of its own, which
 * then ends with EVQ_ENOBUFS (data waits there): the pool is empty. */
static void use_up(io_stream_t *s, evq_pool_t *pool, evq_fd_t fds[2],
                   evq_op_t *op, uint32_t held[2]) {
  tq_pair(fds);
  tq_send(fds[1], 64);
  evq_op_init(op);
  CHECK_OK(evq_op_recv_pool(s->q, op, fds[0], pool, 1));
  for (int i = 0; i < 2; i++) {
    evq_event_t e = io_next(s);
    CHECK_EQ(e.token, 1);
    CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
    held[i] = evq_op_buffer(&e);
  }
  CHECK_EQ(io_final(s, 1), EVQ_ENOBUFS);
}

static void close_op(io_stream_t *s, evq_fd_t fd, uintptr_t token) {
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(s->q, &cl, fd, token));
  CHECK_EQ(io_final(s, token), 0);
}

/* evq_op_close of fd while the receive token waits: that ends cancelled,
 * then the close. */
static void close_op_after(io_stream_t *s, evq_fd_t fd, uintptr_t token,
                           uintptr_t close_token) {
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(s->q, &cl, fd, close_token));
  CHECK_EQ(io_final(s, token), EVQ_ECANCELED);
  CHECK_EQ(io_final(s, close_token), 0);
}

TEST(io_pool_empty_waits) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 2, 16));
  evq_fd_t a[2], b[2];
  evq_op_t ra, rb;
  uint32_t held[2];
  use_up(&s, pool, a, &ra, held);
  /* Submitted with every buffer lent, on an idle socket: it waits, and
   * so does the waiter. */
  tq_pair(b);
  evq_op_init(&rb);
  CHECK_OK(evq_op_recv_pool(q, &rb, b[0], pool, 2));
  tq_check_sleeps(q);
  CHECK_EQ(evq_op_active(&rb), 1);
  /* A buffer given back while it waits changes nothing until data comes,
   * which the buffer then takes. */
  CHECK_OK(evq_pool_put(pool, held[0]));
  tq_check_sleeps(q);
  tq_send(b[1], 8);
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.token, 2);
  CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
  CHECK_EQ(evq_op_result(&e), 8);
  held[0] = evq_op_buffer(&e);
  /* Empty again, idle again: it sleeps; data with no buffer ends it. */
  tq_check_sleeps(q);
  tq_send(b[1], 8);
  CHECK_EQ(io_final(&s, 2), EVQ_ENOBUFS);
  char buf[64];
  CHECK_EQ(evq_read(NULL, b[0], buf, sizeof buf), 8); /* left in place */
  /* Waiting with an empty pool, it ends on cancel and at end of stream
   * (0), like any receive. */
  CHECK_OK(evq_op_recv_pool(q, &rb, b[0], pool, 3));
  CHECK_EQ(tq_wait(q, s.ev, 64, 20 * MS), 0);
  CHECK_OK(evq_op_cancel(q, &rb));
  CHECK_EQ(io_final(&s, 3), EVQ_ECANCELED);
  CHECK_OK(evq_op_recv_pool(q, &rb, b[0], pool, 4));
  CHECK_EQ(tq_wait(q, s.ev, 64, 20 * MS), 0);
  CHECK_OK(tq_shutdown_write(b[1]));
  CHECK_EQ(io_final(&s, 4), 0);
  for (int i = 0; i < 2; i++) CHECK_OK(evq_pool_put(pool, held[i]));
  CHECK_OK(evq_pool_free(pool));
  close_op(&s, a[0], 5);
  close_op(&s, b[0], 6);
  evq_close(a[1]);
  evq_close(b[1]);
  io_none(&s, 20);
  evq_free(q);
}

/* evq_free and evq_op_close while such a receive waits: it ends once
 * (close: cancelled, before the close), nothing after. */
TEST(io_pool_empty_close) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 2, 16));
  evq_fd_t a[2], b[2], c[2];
  evq_op_t ra, rb, rc;
  uint32_t held[2];
  use_up(&s, pool, a, &ra, held);
  tq_pair(b);
  tq_pair(c);
  evq_op_init(&rb);
  evq_op_init(&rc);
  CHECK_OK(evq_op_recv_pool(q, &rb, b[0], pool, 2));
  CHECK_OK(evq_op_recv_pool(q, &rc, c[0], pool, 3));
  CHECK_EQ(tq_wait(q, s.ev, 64, 20 * MS), 0);
  close_op_after(&s, b[0], 2, 4);
  /* rc still waits when the queue goes. */
  evq_free(q);
  CHECK_EQ(evq_op_active(&rc), 0);
  evq_close(a[0]);
  evq_close(a[1]);
  evq_close(b[1]);
  evq_close(c[0]);
  evq_close(c[1]);
}
