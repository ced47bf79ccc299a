/* The io_uring ladder (docs/completion.md, 4.6): a multishot request the
 * kernel refuses (-EINVAL, Linux before 5.19 for accept, 6.0 for
 * receive) goes again as a single request with no word to the caller,
 * and the queue's path for the kind turns from EVQ_PATH_NATIVE_MULTI to
 * EVQ_PATH_NATIVE; an EINVAL that is the op's own still reaches it.
 * Here (Linux 6.18) the refusal comes from the test setting
 * EVQ_IO_URING_REFUSE_MULTISHOT=1, which the *.io_uring_ladder runs set
 * (and the *.io_uring_5_11 runs, with pools emulated as well); without it
 * the path stays multishot. Every backend gives the same
 * results; the paths are checked where they are io_uring's. */
#include "iotest.h"

#include <stdlib.h>

/* The path the kind must show once a multishot request of it completed:
 * was, unless io_uring refuses the flag here. */
static int path_after(int was) {
  const char *refuse = getenv("EVQ_IO_URING_REFUSE_MULTISHOT");
  if (was != EVQ_PATH_NATIVE_MULTI || !refuse || strcmp(refuse, "1") != 0)
    return was;
  return EVQ_PATH_NATIVE;
}

static int is_uring(void) { return strcmp(tq_backend, "io_uring") == 0; }

/* A multishot accept: every connection arrives with EVQ_OP_MORE and no
 * error, refused flag or not; the path changes at the first. */
TEST(io_ladder_accept_multi) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  int was = evq_io_path(q, EVQ_IO_ACCEPT_MULTI);
  int pool_was = evq_io_path(q, EVQ_IO_RECV_POOL);
  if (is_uring() && was != EVQ_PATH_EMULATED)
    CHECK_EQ(was, EVQ_PATH_NATIVE_MULTI);
  evq_fd_t l, c[3];
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  evq_op_t acc;
  evq_op_init(&acc);
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 1));
  for (int i = 0; i < 3; i++) {
    CHECK_OK(evq_tcp_connect(&c[i], "127.0.0.1", (uint16_t)evq_socket_port(l)));
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 1);
    CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
    CHECK(evq_op_result(&e) >= 0);
    evq_close(evq_op_socket(&e));
    CHECK_EQ(evq_io_path(q, EVQ_IO_ACCEPT_MULTI), path_after(was));
  }
  /* The other multishot kind is another feature: untouched. */
  CHECK_EQ(evq_io_path(q, EVQ_IO_RECV_POOL), pool_was);
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  for (int i = 0; i < 3; i++) evq_close(c[i]);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}

/* A pool receive on TCP (a Unix socket gets single requests anyway):
 * the data in order, in lent buffers, with EVQ_OP_MORE; the end is 0. */
TEST(io_ladder_recv_pool) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 8, 256));
  int was = evq_io_path(q, EVQ_IO_RECV_POOL);
  evq_op_t rx;
  evq_op_init(&rx);
  CHECK_OK(evq_op_recv_pool(q, &rx, p, pool, 1));
  unsigned char chunk[100];
  size_t got = 0;
  for (int i = 0; i < 4; i++) {
    io_fill(chunk, sizeof chunk, 1, (size_t)i * sizeof chunk);
    CHECK_EQ(evq_write(NULL, c, chunk, sizeof chunk), (long)sizeof chunk);
    while (got < (size_t)(i + 1) * sizeof chunk) {
      evq_event_t e = io_next(&s);
      CHECK_EQ(e.token, 1);
      CHECK_EQ(e.flags & ~0xffff0000u, EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
      int32_t n = evq_op_result(&e);
      CHECK(n > 0);
      const unsigned char *b = evq_pool_buf(pool, evq_op_buffer(&e));
      for (int32_t k = 0; k < n; k++)
        CHECK_EQ(b[k], io_byte(1, got + (size_t)k));
      got += (size_t)n;
      CHECK_OK(evq_pool_put(pool, evq_op_buffer(&e)));
    }
    CHECK_EQ(evq_io_path(q, EVQ_IO_RECV_POOL), path_after(was));
  }
  evq_close(c);
  CHECK_EQ(io_final(&s, 1), 0);
  CHECK_OK(evq_io_release(q, p));
  evq_close(p);
  CHECK_OK(evq_pool_free(pool));
  evq_free(q);
}

/* An EINVAL that is the op's: a multishot accept on a socket that does
 * not listen (Linux says EINVAL) ends with it, on io_uring whether the
 * flag is refused or not, and the kind keeps its path; a listener's
 * multishot accept then runs as before. (The emulation would wait for
 * the socket to be readable instead, which a connected idle one is not:
 * io_uring alone.) */
TEST(io_ladder_real_einval) {
  if (!is_uring()) return;
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  int was = evq_io_path(q, EVQ_IO_ACCEPT_MULTI);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  evq_op_t acc;
  evq_op_init(&acc);
  CHECK_OK(evq_op_accept_multi(q, &acc, p, 1));
  if (was == EVQ_PATH_EMULATED) { /* EVQ_IO_EMULATE=1: nothing to see */
    CHECK_OK(evq_op_cancel(q, &acc));
    CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  } else {
    CHECK_EQ(io_final(&s, 1), EVQ_EINVAL);
    CHECK_EQ(evq_io_path(q, EVQ_IO_ACCEPT_MULTI), was);
  }
  evq_fd_t l, d;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 2));
  CHECK_OK(evq_tcp_connect(&d, "127.0.0.1", (uint16_t)evq_socket_port(l)));
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.token, 2);
  CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
  evq_close(evq_op_socket(&e));
  CHECK_EQ(evq_io_path(q, EVQ_IO_ACCEPT_MULTI), path_after(was));
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 2), EVQ_ECANCELED);
  evq_close(d);
  evq_close(c);
  CHECK_OK(evq_io_release(q, p));
  evq_close(p);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}

/* A multishot accept cancelled before any connection: while its single
 * request is on the way (the flag refused) or not, it ends cancelled,
 * once; a new one on the same op runs. */
TEST(io_ladder_cancel_early) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t l, c;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  evq_op_t acc;
  evq_op_init(&acc);
  for (uintptr_t t = 1; t <= 3; t++) {
    CHECK_OK(evq_op_accept_multi(q, &acc, l, t));
    /* A round lets the refusal come (the request is in the kernel). */
    CHECK_EQ(tq_wait(q, s.ev, 64, t == 1 ? 0 : 10 * MS), 0);
    CHECK_OK(evq_op_cancel(q, &acc));
    CHECK_EQ(io_final(&s, t), EVQ_ECANCELED);
  }
  io_none(&s, 10);
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 4));
  CHECK_OK(evq_tcp_connect(&c, "127.0.0.1", (uint16_t)evq_socket_port(l)));
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.token, 4);
  CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
  evq_close(evq_op_socket(&e));
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 4), EVQ_ECANCELED);
  evq_close(c);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}

/* evq_free with requests in the kernel (a wait sent them): each ends and
 * the free returns. On io_uring one cancel of any request (5.19) ends
 * them; a kernel that refuses that flag (and the refusing test setting)
 * gets one cancel per request. */
TEST(io_ladder_free_in_kernel) {
  evq_t *q = tq_queue();
  evq_fd_t c, p, l;
  io_tcp_pair(&c, &p);
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 4));
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, 4, 64));
  evq_op_t rx, rp, acc;
  evq_op_init(&rx);
  evq_op_init(&rp);
  evq_op_init(&acc);
  char buf[16];
  CHECK_OK(evq_op_recv_pool(q, &rp, c, pool, 1));
  CHECK_OK(evq_op_recv(q, &rx, p, buf, sizeof buf, 2));
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 3));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 20 * MS), 0);
  evq_free(q);
  CHECK_EQ(evq_op_active(&rp), 0);
  CHECK_EQ(evq_op_active(&rx), 0);
  CHECK_EQ(evq_op_active(&acc), 0);
  CHECK_EQ(evq_write(NULL, c, "x", 1), 1); /* the caller's, still open */
  evq_close(c);
  evq_close(p);
  evq_close(l);
}

/* A multishot accept whose refusal is still in the ring when the caller
 * cancels it (a wait of one event took the receive's completion ahead of
 * it): it ends cancelled, never EVQ_EINVAL, and nothing follows. */
TEST(io_ladder_cancel_refused) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2], l;
  tq_pair(fds);
  tq_send(fds[1], 4);
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  evq_op_t rx, acc;
  evq_op_init(&rx);
  evq_op_init(&acc);
  char buf[8];
  CHECK_OK(evq_op_recv(q, &rx, fds[0], buf, sizeof buf, 1));
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 2));
  evq_event_t e;
  int n = 0;
  for (int i = 0; i < 1000 && n == 0; i++) n = tq_wait(q, &e, 1, 10 * MS);
  CHECK_EQ(n, 1);
  CHECK_EQ(e.token, 1);
  CHECK_EQ(evq_op_result(&e), 4);
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 2), EVQ_ECANCELED);
  io_none(&s, 10);
  evq_close(fds[0]);
  evq_close(fds[1]);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}
