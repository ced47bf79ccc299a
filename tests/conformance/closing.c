/* Peer close, half-close and hang-up are reported the same everywhere. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void expect_closed(evq_mode_t mode) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, mode, 3));
  tq_send(p[1], 5);
  CHECK_OK(evq_close(p[1]));
  evq_event_t ev[8];
  uint32_t seen = 0;
  int64_t end = evq_now() + 5000 * MS;
  while (!(seen & EVQ_READ_CLOSED) && evq_now() < end) {
    int n = tq_wait(q, ev, 8, 100 * MS);
    for (int i = 0; i < n; i++) {
      CHECK_EQ(ev[i].token, 3);
      seen |= ev[i].flags;
    }
    if (mode == EVQ_ONESHOT && n)
      CHECK_OK(evq_modify(q, p[0], EVQ_READABLE, mode, 3));
    /* Read what arrives: the contract is that READ_CLOSED is reported at
     * the latest once the data before the close has been read (wine's
     * AFD reports it only then; Linux reports it with the data). */
    if (mode == EVQ_EDGE || n) tq_drain(q, p[0]);
  }
  CHECK(seen & EVQ_READABLE);
  CHECK(seen & EVQ_READ_CLOSED);
  char c;
  while (evq_read(q, p[0], &c, 1) == 1) {
  }
  CHECK_EQ(evq_read(q, p[0], &c, 1), 0); /* end of stream after the data */
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_free(q);
}

TEST(peer_close_level) { expect_closed(EVQ_LEVEL); }
TEST(peer_close_edge) { expect_closed(EVQ_EDGE); }
TEST(peer_close_oneshot) { expect_closed(EVQ_ONESHOT); }

/* TCP half-close: the peer shuts down writing; we see read-closed, and
 * can still write to it. */
TEST(tcp_half_close) {
  evq_t *q = tq_queue();
  evq_fd_t l, c, s;
  CHECK_OK(evq_tcp_listen(&l, NULL, 0, 16));
  int port = evq_socket_port(l);
  CHECK(port > 0);
  CHECK_OK(evq_tcp_connect(&c, NULL, (uint16_t)port));
  CHECK_OK(evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_OK(evq_accept(q, l, &s));
  CHECK_OK(evq_register(q, s, EVQ_READABLE, EVQ_EDGE, 2));
  CHECK_OK(evq_register(q, c, EVQ_WRITABLE, EVQ_ONESHOT, 3));
  CHECK(tq_count_events(q, 3, 100 * MS, NULL) == 1);
  CHECK_EQ(evq_socket_error(c), 0);
  CHECK_OK(evq_deregister(q, c));
  CHECK_OK(tq_shutdown_write(c));
  uint32_t seen = 0;
  int64_t end = evq_now() + 5000 * MS;
  while (!(seen & EVQ_READ_CLOSED) && evq_now() < end)
    tq_count_events(q, 2, 20 * MS, &seen);
  CHECK(seen & EVQ_READ_CLOSED);
  CHECK(!(seen & EVQ_WRITE_CLOSED));
  CHECK_EQ(evq_write(q, s, "hi", 2), 2);
  CHECK_OK(evq_deregister(q, s));
  CHECK_OK(evq_deregister(q, l));
  evq_close(s);
  evq_close(c);
  evq_close(l);
  evq_free(q);
}

/* A write-only registration is not told about the peer's half-close
 * (it can still write): no event while the send buffer is full, on any
 * backend, rather than a spin on one and silence on another. */
TEST(write_only_ignores_half_close) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  static char buf[65536];
  while (evq_write(NULL, p[0], buf, sizeof buf) > 0) {
  }
  CHECK_OK(evq_register(q, p[0], EVQ_WRITABLE, EVQ_LEVEL, 1));
  CHECK_OK(tq_shutdown_write(p[1]));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 30 * MS), 0);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* A write-only level registration on a socket shut for reading, its send
 * buffer full: no event, and no wait spins. The socket is readable at end
 * of stream, which was not asked for; io_uring's poll always watches
 * RDHUP and completed with it alone, and looking again after each such
 * completion (level), or submitting a single-shot poll again (edge,
 * oneshot), made every wait spin. IOCP must not watch the read side's end
 * for a write-only registration either (under wine, SD_RECEIVE is Linux's
 * SHUT_RD). */
static void write_only_shut_read(evq_mode_t mode) {
  evq_t *q = tq_queue();
  evq_fd_t s[2];
  tq_pair(s);
  static char buf[65536];
  while (evq_write(NULL, s[0], buf, sizeof buf) > 0) {
  }
  CHECK_OK(evq_register(q, s[0], EVQ_WRITABLE, mode, 1));
  CHECK_EQ(tq_shutdown_read(s[0]), 0);
  CHECK_EQ(tq_count_events(q, 1, 30 * MS, NULL), 0);
  /* Single-shot polls only (io_uring before 5.13, forced here by
   * EVQ_IO_URING_NO_MULTISHOT on a newer kernel, which adds RDHUP to
   * every poll): no way to wait for writability alone (evq.h). */
  const char *ss = getenv("EVQ_IO_URING_NO_MULTISHOT");
  if (!(strcmp(tq_backend, "io_uring") == 0 && ss && *ss == '1'))
    tq_check_sleeps(q);
  while (evq_read(NULL, s[1], buf, sizeof buf) > 0) { /* room again */
  }
  uint32_t seen = 0;
  CHECK(tq_count_events(q, 1, 200 * MS, &seen) >= 1); /* now it reports */
  CHECK(seen & EVQ_WRITABLE);
  CHECK_OK(evq_deregister(q, s[0]));
  evq_close(s[0]);
  evq_close(s[1]);
  evq_free(q);
}

TEST(write_only_shut_read_level) { write_only_shut_read(EVQ_LEVEL); }
TEST(write_only_shut_read_edge) { write_only_shut_read(EVQ_EDGE); }
TEST(write_only_shut_read_oneshot) { write_only_shut_read(EVQ_ONESHOT); }
