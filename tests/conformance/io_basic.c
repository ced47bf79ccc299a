/* Completion operations, the plain cases: a receive and a send, the order
 * of receives, end of stream, accept and connect, one model per socket,
 * and every argument a submission refuses (evq_io.h). */
#include "iotest.h"

TEST(io_send_recv) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_op_t rx, tx;
  evq_op_init(&rx);
  evq_op_init(&tx);
  char buf[16] = {0};
  CHECK_EQ(evq_op_active(&rx), 0);
  CHECK_OK(evq_op_recv(q, &rx, fds[0], buf, sizeof buf, 1));
  CHECK_EQ(evq_op_active(&rx), 1);
  io_none(&s, 50); /* nothing to receive: the receive waits */
  CHECK_OK(evq_op_send(q, &tx, fds[1], "hello", 5, 2));
  int got = 0;
  for (int i = 0; i < 2; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.flags, EVQ_OP);
    CHECK_EQ(evq_op_result(&e), 5);
    got |= (int)e.token;
  }
  CHECK_EQ(got, 3);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_EQ(evq_op_active(&rx), 0);
  CHECK_EQ(evq_op_active(&tx), 0);
  /* Reused once final; at end of stream a receive gives 0. */
  CHECK_OK(evq_op_recv(q, &rx, fds[0], buf, sizeof buf, 3));
  CHECK_OK(tq_shutdown_write(fds[1]));
  CHECK_EQ(io_final(&s, 3), 0);
  io_none(&s, 20);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

/* A receive that reads less than it had room for takes the socket as
 * empty: evq then waits for the backend's word rather than read again.
 * Data that comes later still comes, and so does an end of stream that
 * arrived with the data (no new word follows it). */
TEST(io_short_read_end) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 4, 64));
  evq_op_t rx;
  evq_op_init(&rx);
  CHECK_OK(evq_op_recv_pool(q, &rx, fds[0], pool, 1));
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(evq_write(NULL, fds[1], "abc", 3), 3);
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
    CHECK_EQ(evq_op_result(&e), 3);
    CHECK(memcmp(evq_pool_buf(pool, evq_op_buffer(&e)), "abc", 3) == 0);
    CHECK_OK(evq_pool_put(pool, evq_op_buffer(&e)));
    io_none(&s, 20);
  }
  /* The last bytes and the end before the wait: both are delivered. */
  CHECK_EQ(evq_write(NULL, fds[1], "xy", 2), 2);
  CHECK_OK(tq_shutdown_write(fds[1]));
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
  CHECK_EQ(evq_op_result(&e), 2);
  CHECK_OK(evq_pool_put(pool, evq_op_buffer(&e)));
  CHECK_EQ(io_final(&s, 1), 0);
  /* The same for a receive into the caller's buffer. */
  evq_fd_t p2[2];
  tq_pair(p2);
  char buf[16];
  CHECK_OK(evq_op_recv(q, &rx, p2[0], buf, sizeof buf, 2));
  CHECK_EQ(evq_write(NULL, p2[1], "abc", 3), 3);
  CHECK_EQ(io_final(&s, 2), 3);
  CHECK_EQ(evq_write(NULL, p2[1], "de", 2), 2);
  CHECK_OK(tq_shutdown_write(p2[1]));
  CHECK_OK(evq_op_recv(q, &rx, p2[0], buf, sizeof buf, 3));
  CHECK_EQ(io_final(&s, 3), 2);
  CHECK(memcmp(buf, "de", 2) == 0);
  CHECK_OK(evq_op_recv(q, &rx, p2[0], buf, sizeof buf, 4));
  CHECK_EQ(io_final(&s, 4), 0);
  io_none(&s, 20);
  for (int i = 0; i < 2; i++) {
    evq_close(fds[i]);
    evq_close(p2[i]);
  }
  CHECK_OK(evq_pool_free(pool));
  evq_free(q);
}

/* Operations on a number that names no socket end EVQ_EBADF and, once
 * returned, leave the number held by nothing: no record to release, and
 * the sockets made next (one may get the number) are free to register. */
TEST(io_closed_number) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_fd_t gone = fds[0];
  evq_close(gone);
  evq_op_t rx, tx;
  evq_op_init(&rx);
  evq_op_init(&tx);
  char buf[8];
  CHECK_OK(evq_op_recv(q, &rx, gone, buf, sizeof buf, 1));
  CHECK_OK(evq_op_send(q, &tx, gone, "x", 1, 2));
  int got = 0;
  for (int i = 0; i < 2; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.flags, EVQ_OP);
    CHECK_EQ(evq_op_result(&e), EVQ_EBADF);
    got |= (int)e.token;
  }
  CHECK_EQ(got, 3);
  CHECK_EQ(evq_io_release(q, gone), EVQ_ENOENT);
  evq_fd_t next[2];
  tq_pair(next);
  for (int i = 0; i < 2; i++)
    CHECK_OK(evq_register(q, next[i], EVQ_READABLE, EVQ_LEVEL, 10));
  CHECK_EQ(evq_write(NULL, next[1], "y", 1), 1);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 10000 * MS), 1);
  CHECK_EQ(ev[0].token, 10);
  CHECK(ev[0].flags & EVQ_READABLE);
  for (int i = 0; i < 2; i++) {
    CHECK_OK(evq_deregister(q, next[i]));
    evq_close(next[i]);
  }
  evq_close(fds[1]);
  evq_free(q);
}

/* Receives on a socket are served one at a time in submission order,
 * with what has arrived (evq never waits to fill a buffer). */
TEST(io_recv_order) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_op_t op[3];
  char buf[3][4] = {{0}};
  for (int i = 0; i < 3; i++) {
    evq_op_init(&op[i]);
    CHECK_OK(evq_op_recv(q, &op[i], fds[0], buf[i], 4, 10 + (uintptr_t)i));
  }
  CHECK_EQ(evq_write(NULL, fds[1], "abcdefgh", 8), 8);
  CHECK_EQ(io_final(&s, 10), 4);
  CHECK_EQ(io_final(&s, 11), 4);
  CHECK(memcmp(buf[0], "abcd", 4) == 0 && memcmp(buf[1], "efgh", 4) == 0);
  io_none(&s, 20);
  CHECK_EQ(evq_write(NULL, fds[1], "ij", 2), 2);
  CHECK_EQ(io_final(&s, 12), 2);
  CHECK(memcmp(buf[2], "ij", 2) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

/* Accept gives a connected socket (and the peer's address), connect
 * makes one; they talk through operations; a refused connect closes its
 * socket and says why. */
TEST(io_accept_connect) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t l;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  evq_addr_t to, peer;
  CHECK_OK(evq_addr_ip(&to, "127.0.0.1", evq_socket_port(l)));
  evq_op_t acc, con, rx, tx;
  evq_op_init(&acc);
  evq_op_init(&con);
  evq_op_init(&rx);
  evq_op_init(&tx);
  CHECK_OK(evq_op_accept(q, &acc, l, &peer, 1));
  CHECK_OK(evq_op_connect(q, &con, &to, 2));
  evq_fd_t a = (evq_fd_t)-1, c = (evq_fd_t)-1;
  for (int i = 0; i < 2; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.flags, EVQ_OP);
    CHECK(evq_op_result(&e) >= 0);
    if (e.token == 1) a = evq_op_socket(&e);
    if (e.token == 2) c = evq_op_socket(&e);
  }
  CHECK(a != (evq_fd_t)-1 && c != (evq_fd_t)-1);
  evq_addr_t cl;
  CHECK_OK(evq_local_addr(c, &cl));
  CHECK_EQ(evq_addr_port(&peer), evq_addr_port(&cl));
  char buf[8];
  CHECK_OK(evq_op_recv(q, &rx, a, buf, sizeof buf, 3));
  CHECK_OK(evq_op_send(q, &tx, c, "ping", 4, 4));
  int got = 0;
  for (int i = 0; i < 2; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(evq_op_result(&e), 4);
    got |= (int)e.token;
  }
  CHECK_EQ(got, 7);
  CHECK(memcmp(buf, "ping", 4) == 0);
  /* Refused: nothing listens on the port once l is closed. */
  evq_op_t close_l;
  evq_op_init(&close_l);
  CHECK_OK(evq_op_close(q, &close_l, l, 5));
  CHECK_EQ(io_final(&s, 5), 0);
  CHECK_OK(evq_op_connect(q, &con, &to, 6));
  CHECK_EQ(io_final(&s, 6), EVQ_ECONNREFUSED);
  io_none(&s, 20);
  evq_op_t cl_a, cl_c;
  evq_op_init(&cl_a);
  evq_op_init(&cl_c);
  CHECK_OK(evq_op_close(q, &cl_a, a, 7));
  CHECK_OK(evq_op_close(q, &cl_c, c, 8));
  CHECK_EQ(io_final(&s, 7), 0);
  CHECK_EQ(io_final(&s, 8), 0);
  evq_free(q);
}

/* A multishot accept gives one completion per connection, with
 * EVQ_OP_MORE, and ends only when cancelled. */
TEST(io_accept_multi) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t l, c[5];
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  evq_op_t acc;
  evq_op_init(&acc);
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 1));
  evq_op_t second;
  evq_op_init(&second);
  CHECK_EQ(evq_op_accept(q, &second, l, NULL, 2), EVQ_EBUSY);
  for (int i = 0; i < 5; i++)
    CHECK_OK(evq_tcp_connect(&c[i], "127.0.0.1", (uint16_t)evq_socket_port(l)));
  for (int i = 0; i < 5; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 1);
    CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
    CHECK(evq_op_result(&e) >= 0);
    evq_close(evq_op_socket(&e));
  }
  CHECK_EQ(evq_op_active(&acc), 1);
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  CHECK_EQ(evq_op_cancel(q, &acc), EVQ_ENOENT);
  for (int i = 0; i < 5; i++) evq_close(c[i]);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}

/* One model per socket: operations and readiness refuse each other with
 * EVQ_EEXIST, and evq_io_release or evq_deregister switches. */
TEST(io_mix_refused) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_op_t op;
  evq_op_init(&op);
  char buf[4];
  CHECK_OK(evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, 9));
  CHECK_EQ(evq_op_recv(q, &op, fds[0], buf, 4, 1), EVQ_EEXIST);
  CHECK_EQ(evq_op_active(&op), 0);
  CHECK_EQ(evq_op_close(q, &op, fds[0], 1), EVQ_EEXIST);
  CHECK_OK(evq_deregister(q, fds[0]));
  CHECK_OK(evq_op_recv(q, &op, fds[0], buf, 4, 1));
  CHECK_EQ(evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, 9), EVQ_EEXIST);
  CHECK_EQ(evq_io_release(q, fds[0]), EVQ_EBUSY);
  CHECK_OK(evq_op_cancel(q, &op));
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  CHECK_OK(evq_io_release(q, fds[0]));
  CHECK_EQ(evq_io_release(q, fds[0]), EVQ_ENOENT);
  CHECK_OK(evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, 9));
  CHECK_EQ(evq_write(NULL, fds[1], "x", 1), 1);
  evq_event_t e = tq_wait_one(q, 9);
  CHECK(e.flags & EVQ_READABLE);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

/* Every refusal of a submission, and that it took nothing. */
TEST(io_badinput) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_op_t op;
  evq_op_init(&op);
  char buf[4];
  evq_iovec_t iov[2] = {{buf, 0}, {NULL, 0}};
  CHECK_EQ(evq_op_recv(NULL, &op, fds[0], buf, 4, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_recv(q, NULL, fds[0], buf, 4, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_recv(q, &op, fds[0], NULL, 4, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_recv(q, &op, fds[0], buf, 0, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_send(q, &op, fds[0], buf, 0, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_send(q, &op, fds[0], NULL, 1, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_sendv(q, &op, fds[0], iov, 0, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_sendv(q, &op, fds[0], iov, 2, 1), EVQ_EINVAL); /* 0 B */
  iov[1].len = 1;
  CHECK_EQ(evq_op_sendv(q, &op, fds[0], iov, 2, 1), EVQ_EINVAL); /* NULL */
  if (sizeof(size_t) > 4) {
    CHECK_EQ(evq_op_send(q, &op, fds[0], buf, (size_t)INT32_MAX + 1, 1),
             EVQ_EINVAL);
    CHECK_EQ(evq_op_recv(q, &op, fds[0], buf, (size_t)INT32_MAX + 1, 1),
             EVQ_EINVAL);
  }
  CHECK_EQ(evq_op_connect(q, &op, NULL, 1), EVQ_EINVAL);
  evq_addr_t empty;
  memset(&empty, 0, sizeof empty);
  CHECK_EQ(evq_op_connect(q, &op, &empty, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_accept(q, NULL, fds[0], NULL, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_accept_multi(NULL, &op, fds[0], 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_close(q, NULL, fds[0], 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_recv_pool(q, &op, fds[0], NULL, 1), EVQ_EINVAL);
  CHECK_EQ(evq_op_cancel(q, NULL), EVQ_EINVAL);
  CHECK_EQ(evq_op_cancel(q, &op), EVQ_ENOENT); /* never submitted */
  CHECK_EQ(evq_op_active(NULL), 0);
  CHECK_EQ(evq_op_active(&op), 0);
  CHECK_EQ(evq_io_release(q, fds[0]), EVQ_ENOENT);
  CHECK_EQ(evq_io_release(NULL, fds[0]), EVQ_EINVAL);
  CHECK_EQ(evq_io_path(q, 0), EVQ_EINVAL);
  CHECK_EQ(evq_io_path(q, EVQ_IO_CLOSE + 1), EVQ_EINVAL);
  CHECK_EQ(evq_io_path(NULL, EVQ_IO_RECV), EVQ_EINVAL);
  for (int k = EVQ_IO_ACCEPT; k <= EVQ_IO_CLOSE; k++) {
    int path = evq_io_path(q, k);
    CHECK(path >= EVQ_PATH_EMULATED && path <= EVQ_PATH_NATIVE_MULTI);
  }
  /* Pools. */
  evq_pool_t *pool = NULL;
  CHECK_EQ(evq_pool_create(NULL, &pool, 4, 16), EVQ_EINVAL);
  CHECK_EQ(evq_pool_create(q, NULL, 4, 16), EVQ_EINVAL);
  CHECK_EQ(evq_pool_create(q, &pool, 0, 16), EVQ_EINVAL);
  CHECK_EQ(evq_pool_create(q, &pool, 32769, 16), EVQ_EINVAL);
  CHECK_EQ(evq_pool_create(q, &pool, 4, 0), EVQ_EINVAL);
  CHECK_OK(evq_pool_create(q, &pool, 4, 16));
  CHECK_EQ(evq_pool_size(pool), 16);
  CHECK(evq_pool_buf(pool, 3) != NULL);
  CHECK(evq_pool_buf(pool, 4) == NULL);
  CHECK_EQ(evq_pool_put(pool, 0), EVQ_EINVAL); /* not lent */
  CHECK_EQ(evq_pool_put(pool, 4), EVQ_EINVAL);
  CHECK_EQ(evq_pool_put(NULL, 0), EVQ_EINVAL);
  evq_t *other = tq_queue();
  CHECK_EQ(evq_op_recv_pool(other, &op, fds[0], (evq_pool_t *)pool, 1),
           EVQ_EINVAL);
  evq_free(other);
  /* An active op is busy; a pool in use too. */
  CHECK_OK(evq_op_recv_pool(q, &op, fds[0], pool, 1));
  CHECK_EQ(evq_op_recv(q, &op, fds[1], buf, 4, 2), EVQ_EBUSY);
  evq_op_t op2;
  evq_op_init(&op2);
  CHECK_EQ(evq_op_recv(q, &op2, fds[0], buf, 4, 2), EVQ_EBUSY);
  CHECK_EQ(evq_pool_free(pool), EVQ_EBUSY);
  CHECK_OK(evq_op_cancel(q, &op));
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  CHECK_OK(evq_pool_free(pool));
  CHECK_EQ(evq_pool_free(NULL), EVQ_EINVAL);
  io_none(&s, 20);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

/* I/O errors are results: a receive on a number that is no socket. */
TEST(io_error_is_result) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_fd_t dead = fds[1];
  evq_close(fds[1]);
  evq_op_t op;
  evq_op_init(&op);
  char buf[4];
  CHECK_OK(evq_op_recv(q, &op, dead, buf, 4, 1));
  int32_t r = io_final(&s, 1);
  CHECK(r < 0);
  /* The peer closed: a receive on fds[0] sees the end. */
  CHECK_OK(evq_op_recv(q, &op, fds[0], buf, 4, 2));
  r = io_final(&s, 2);
  CHECK(r == 0 || r == EVQ_ECONNRESET);
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(q, &cl, fds[0], 3));
  CHECK_EQ(io_final(&s, 3), 0);
  evq_free(q);
}
