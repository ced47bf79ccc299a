/* Completion operations on a byte stream: sends in order under partial
 * writes, a broken stream, pool receives running dry and recovering,
 * multishot ends, close and evq_free with operations in flight
 * (evq_io.h). */
#include "iotest.h"

#include <stdlib.h>

enum { NSEND = 200 };

/* Sends of 1 B to 64 KiB queued at once on a socket with a small send
 * buffer, while the peer reads only between waits: each completes with
 * its whole length, in submission order, and the peer's bytes are their
 * concatenation. */
TEST(io_send_order_partial) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  CHECK_OK(evq_setsockopt(c, EVQ_SO_SNDBUF, 4096));
  static evq_op_t op[NSEND];
  static unsigned char data[NSEND * 65536 / 8];
  size_t len[NSEND], total = 0;
  for (int i = 0; i < NSEND; i++) {
    len[i] = i % 4 == 0 ? 1 : (size_t)(i * 2503) % 65536 + 1;
    if (total + len[i] > sizeof data) len[i] = 1;
    io_fill(data + total, len[i], 0, total);
    evq_op_init(&op[i]);
    if (i % 7 == 3) {
      evq_iovec_t *iov = malloc(sizeof *iov * 3);
      size_t a = len[i] / 3, b = len[i] / 3;
      iov[0] = (evq_iovec_t){data + total, a};
      iov[1] = (evq_iovec_t){data + total + a, b};
      iov[2] = (evq_iovec_t){data + total + a + b, len[i] - a - b};
      CHECK_OK(evq_op_sendv(q, &op[i], c, iov, 3, (uintptr_t)i));
    } else {
      CHECK_OK(evq_op_send(q, &op[i], c, data + total, len[i], (uintptr_t)i));
    }
    total += len[i];
  }
  size_t got = 0;
  int next = 0;
  for (int rounds = 0; next < NSEND || got < total; rounds++) {
    CHECK(rounds < 100000);
    int n = tq_wait(q, s.ev, 64, next < NSEND ? 5 * MS : 0);
    for (int k = 0; k < n; k++) {
      CHECK(s.ev[k].flags & EVQ_OP);
      CHECK_EQ(s.ev[k].token, next);
      CHECK_EQ(evq_op_result(&s.ev[k]), (int32_t)len[next]);
      next++;
    }
    io_read_check(p, 0, &got, total);
    if (n == 0 && next == NSEND && got < total) tq_sleep_ms(1);
  }
  CHECK_EQ(got, total);
  evq_close(p);
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(q, &cl, c, 999));
  CHECK_EQ(io_final(&s, 999), 0);
  evq_free(q);
}

/* The third of five queued sends is cancelled before any went: it ends
 * alone, the others complete in order, and its bytes never reach the
 * peer. */
TEST(io_cancel_queued_send) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_op_t op[5];
  const char *msg[5] = {"aa", "bb", "cc", "dd", "ee"};
  for (int i = 0; i < 5; i++) {
    evq_op_init(&op[i]);
    CHECK_OK(evq_op_send(q, &op[i], fds[0], msg[i], 2, (uintptr_t)i));
  }
  CHECK_OK(evq_op_cancel(q, &op[2]));
  CHECK_OK(evq_op_cancel(q, &op[2])); /* final not yet delivered */
  int seen[6] = {0};
  for (int i = 0; i < 5; i++) {
    evq_event_t e = io_next(&s);
    CHECK(e.token < 5);
    seen[e.token]++;
    CHECK_EQ(evq_op_result(&e), e.token == 2 ? EVQ_ECANCELED : 2);
  }
  for (int i = 0; i < 5; i++) CHECK_EQ(seen[i], 1);
  char buf[16];
  tq_sleep_ms(20);
  CHECK_EQ(evq_read(NULL, fds[1], buf, sizeof buf), 8);
  CHECK(memcmp(buf, "aabbddee", 8) == 0);
  CHECK_EQ(evq_op_cancel(q, &op[2]), EVQ_ENOENT);
  io_none(&s, 20);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

/* The peer resets the connection during a large send: the send ends with
 * the reset (or a closed pipe), the sends behind it and one submitted
 * later end cancelled; receives go on being possible. */
TEST(io_peer_reset_mid_send) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  size_t big = 8u << 20;
  unsigned char *data = malloc(big);
  io_fill(data, big, 1, 0);
  evq_op_t op[3];
  for (int i = 0; i < 3; i++) {
    evq_op_init(&op[i]);
    CHECK_OK(evq_op_send(q, &op[i], c, data, i == 0 ? big : 100, (uintptr_t)i));
  }
  /* Let some go, then close with unread data: the peer's kernel resets. */
  CHECK_EQ(tq_wait(q, s.ev, 64, 50 * MS), 0);
  unsigned char buf[1000];
  CHECK(evq_read(NULL, p, buf, sizeof buf) > 0);
  evq_close(p);
  int32_t r = io_final(&s, 0);
  CHECK(r == EVQ_ECONNRESET || r == EVQ_EPIPE);
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  CHECK_EQ(io_final(&s, 2), EVQ_ECANCELED);
  CHECK_OK(evq_op_send(q, &op[0], c, data, 10, 3));
  CHECK_EQ(io_final(&s, 3), EVQ_ECANCELED);
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(q, &cl, c, 4));
  CHECK_EQ(io_final(&s, 4), 0);
  free(data);
  evq_free(q);
}

/* A pool of 4 buffers and 16 chunks sent, the buffers held: the pool
 * receive lends 4, then ends with EVQ_ENOBUFS (never a stall) and the
 * data waits in the socket; buffers given back and the receive submitted
 * again, every byte arrives, in order. */
TEST(io_pool_exhaust_recover) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 4, 16));
  unsigned char data[256];
  io_fill(data, sizeof data, 2, 0);
  size_t sent = 0;
  while (sent < sizeof data) {
    ptrdiff_t w = evq_write(NULL, fds[1], data + sent, sizeof data - sent);
    CHECK(w > 0);
    sent += (size_t)w;
  }
  evq_op_t op;
  evq_op_init(&op);
  CHECK_OK(evq_op_recv_pool(q, &op, fds[0], pool, 7));
  unsigned char got[256];
  size_t have = 0;
  uint32_t held[4];
  for (int i = 0; i < 4; i++) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 7);
    CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
    int32_t n = evq_op_result(&e);
    CHECK(n > 0 && n <= 16);
    held[i] = evq_op_buffer(&e);
    memcpy(got + have, evq_pool_buf(pool, held[i]), (size_t)n);
    have += (size_t)n;
  }
  CHECK_EQ(io_final(&s, 7), EVQ_ENOBUFS);
  CHECK_EQ(evq_op_active(&op), 0);
  CHECK_EQ(evq_pool_free(pool), EVQ_EBUSY); /* buffers are lent */
  for (int i = 0; i < 4; i++) CHECK_OK(evq_pool_put(pool, held[i]));
  CHECK_EQ(evq_pool_put(pool, held[0]), EVQ_EINVAL); /* twice */
  CHECK_OK(evq_op_recv_pool(q, &op, fds[0], pool, 8));
  while (have < sizeof data) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 8);
    /* One batch can use up the 4 buffers before they come back. */
    if (!(e.flags & EVQ_OP_BUFFER)) {
      CHECK_EQ(e.flags, EVQ_OP);
      CHECK_EQ(evq_op_result(&e), EVQ_ENOBUFS);
      CHECK_OK(evq_op_recv_pool(q, &op, fds[0], pool, 8));
      continue;
    }
    CHECK(e.flags & EVQ_OP_MORE);
    int32_t n = evq_op_result(&e);
    CHECK(n > 0 && have + (size_t)n <= sizeof data);
    memcpy(got + have, evq_pool_buf(pool, evq_op_buffer(&e)), (size_t)n);
    have += (size_t)n;
    CHECK_OK(evq_pool_put(pool, evq_op_buffer(&e)));
  }
  CHECK(memcmp(got, data, sizeof data) == 0);
  /* End of stream ends it, with no buffer. */
  CHECK_OK(tq_shutdown_write(fds[1]));
  CHECK_EQ(io_final(&s, 8), 0);
  CHECK_OK(evq_pool_free(pool));
  evq_close(fds[1]);
  evq_op_t cl;
  evq_op_init(&cl);
  CHECK_OK(evq_op_close(q, &cl, fds[0], 9));
  CHECK_EQ(io_final(&s, 9), 0);
  evq_free(q);
}

/* evq_op_close with a pool receive, queued sends and a multishot accept
 * in flight: each ends once, cancelled, before the close, which completes
 * last; nothing follows. */
TEST(io_close_in_flight) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p, l;
  io_tcp_pair(&c, &p);
  CHECK_OK(evq_setsockopt(c, EVQ_SO_SNDBUF, 4096));
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 4));
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 4, 64));
  static unsigned char data[4u << 20];
  evq_op_t rx, tx[3], acc, cl, cll;
  evq_op_init(&rx);
  evq_op_init(&acc);
  evq_op_init(&cl);
  evq_op_init(&cll);
  CHECK_OK(evq_op_recv_pool(q, &rx, c, pool, 1));
  for (int i = 0; i < 3; i++) {
    evq_op_init(&tx[i]);
    CHECK_OK(evq_op_send(q, &tx[i], c, data, sizeof data, 2 + (uintptr_t)i));
  }
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 5));
  CHECK_EQ(tq_wait(q, s.ev, 64, 30 * MS), 0); /* the first send runs */
  CHECK_OK(evq_op_close(q, &cl, c, 6));
  CHECK_EQ(evq_op_recv(q, &rx, c, data, 4, 1), EVQ_EBUSY); /* rx not done */
  CHECK_OK(evq_op_close(q, &cll, l, 7));
  /* Until a close's completion is returned its number takes nothing, on
   * every backend, whether or not the socket is closed yet. */
  evq_op_t late;
  evq_op_init(&late);
  CHECK_EQ(evq_op_send(q, &late, c, "x", 1, 8), EVQ_EBADF);
  CHECK_EQ(evq_op_accept_multi(q, &late, l, 8), EVQ_EBADF);
  CHECK_EQ(evq_op_close(q, &late, c, 8), EVQ_EBADF);
  CHECK_EQ(evq_op_active(&late), 0);
  int order[8], n = 0;
  while (n < 7) {
    evq_event_t e = io_next(&s);
    CHECK(e.token >= 1 && e.token <= 7);
    CHECK_EQ(e.flags, EVQ_OP);
    CHECK_EQ(evq_op_result(&e), e.token >= 6 ? 0 : EVQ_ECANCELED);
    order[n++] = (int)e.token;
  }
  /* Each socket's close after its operations. */
  int pos[8] = {0};
  for (int i = 0; i < 7; i++) pos[order[i]] = i + 1;
  for (int t = 1; t <= 4; t++) CHECK(pos[t] > 0 && pos[t] < pos[6]);
  CHECK(pos[5] > 0 && pos[5] < pos[7]);
  for (int t = 2; t < 4; t++) CHECK(pos[t] < pos[t + 1]);
  io_none(&s, 20);
  CHECK_OK(evq_pool_free(pool));
  evq_close(p);
  evq_free(q);
}

/* evq_free with every kind in flight: no completion, every op inactive
 * and the caller's, nothing leaked (ASan, valgrind), the caller's
 * sockets left open. */
TEST(io_free_in_flight) {
  evq_t *q = tq_queue();
  evq_fd_t c, p, l;
  io_tcp_pair(&c, &p);
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 4));
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 4, 64));
  static unsigned char data[1u << 20];
  evq_op_t rx, tx[2], acc, con, cl;
  evq_op_init(&rx);
  evq_op_init(&acc);
  evq_op_init(&con);
  evq_op_init(&cl);
  CHECK_OK(evq_op_recv_pool(q, &rx, c, pool, 1));
  for (int i = 0; i < 2; i++) {
    evq_op_init(&tx[i]);
    CHECK_OK(evq_op_send(q, &tx[i], c, data, sizeof data, 2));
  }
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 3));
  evq_addr_t to;
  CHECK_OK(evq_addr_ip(&to, "127.0.0.1", evq_socket_port(l)));
  CHECK_OK(evq_op_connect(q, &con, &to, 4));
  CHECK_OK(evq_op_close(q, &cl, p, 5)); /* done, not delivered */
  evq_free(q);
  CHECK_EQ(evq_op_active(&rx), 0);
  CHECK_EQ(evq_op_active(&tx[0]), 0);
  CHECK_EQ(evq_op_active(&tx[1]), 0);
  CHECK_EQ(evq_op_active(&acc), 0);
  CHECK_EQ(evq_op_active(&con), 0);
  CHECK_EQ(evq_op_active(&cl), 0);
  /* The caller's sockets are still open. (Not a write on c: where the
   * kernel started the sends at submission (IOCP), the peer closed with
   * their bytes unread, which resets the connection.) */
  CHECK_OK(evq_socket_port(l));
  CHECK(evq_socket_port(c) > 0);
  evq_close(c);
  evq_close(l);
}

/* A pool receive whose data comes faster than the queue is read, with the
 * end of the stream queued behind it: every byte arrives once, in order,
 * then the end, and the receive stays active until then. On io_uring the
 * kernel fills the completion ring of a queue of 16 events (256 entries)
 * and ends its multishot receive, which evq posts again without a word;
 * and on a Unix stream socket Linux (6.18 seen) never reports an end that
 * waited behind more than 32 buffers of data, so evq gives that kernel
 * one receive at a time there. Both over TCP and over a socket pair. */
static void flood(evq_fd_t rx_fd, evq_fd_t tx_fd) {
  evq_options_t o = {.backend = tq_backend, .max_events = 16,
                     .flags = tq_flags()};
  evq_t *q = NULL;
  CHECK_OK(evq_create(&q, &o));
  io_stream_t s = io_stream(q);
  enum { CHUNK = 16, TOTAL = 16384 };
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 2048, CHUNK));
  evq_op_t rx;
  evq_op_init(&rx);
  CHECK_OK(evq_op_recv_pool(q, &rx, rx_fd, pool, 1));
  static unsigned char data[TOTAL], got[TOTAL];
  io_fill(data, TOTAL, 5, 0);
  size_t sent = 0, have = 0;
  while (sent < TOTAL) { /* before any wait: it all waits in the socket */
    ptrdiff_t w = evq_write(NULL, tx_fd, data + sent, TOTAL - sent);
    CHECK(w > 0);
    sent += (size_t)w;
  }
  CHECK_OK(tq_shutdown_write(tx_fd));
  for (;;) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 1);
    if (!(e.flags & EVQ_OP_MORE)) {
      CHECK_EQ(e.flags, EVQ_OP);
      CHECK_EQ(evq_op_result(&e), 0); /* the end, nothing else */
      break;
    }
    CHECK(e.flags & EVQ_OP_BUFFER);
    int32_t n = evq_op_result(&e);
    CHECK(n > 0 && n <= CHUNK && have + (size_t)n <= TOTAL);
    memcpy(got + have, evq_pool_buf(pool, evq_op_buffer(&e)), (size_t)n);
    have += (size_t)n;
    CHECK_OK(evq_pool_put(pool, evq_op_buffer(&e)));
  }
  CHECK_EQ(have, TOTAL);
  CHECK(memcmp(got, data, TOTAL) == 0);
  CHECK_EQ(evq_op_active(&rx), 0);
  CHECK_OK(evq_pool_free(pool));
  evq_close(rx_fd);
  evq_close(tx_fd);
  evq_free(q);
}

TEST(io_pool_flood_in_order) {
  evq_fd_t c, p, fds[2];
  io_tcp_pair(&c, &p);
  flood(c, p);
  tq_pair(fds);
  flood(fds[0], fds[1]);
}
