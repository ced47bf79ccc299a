/* A multishot accept out of descriptors (evq_io.h, evq_op_accept_multi):
 * the connections pending then are refused, a completion EVQ_EMFILE with
 * EVQ_OP_MORE says so, the operation goes on, and it accepts again once
 * descriptors are free; natively on io_uring, where the kernel's EMFILE
 * ends its request, as in the emulation. */
#include "iotest.h"

#include <sys/resource.h>
#include <unistd.h>

TEST(io_accept_emfile) { /* tq: lowers-fd-limit */
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t l, c[6];
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 16));
  int port = evq_socket_port(l);
  for (int i = 0; i < 6; i++)
    CHECK_OK(evq_tcp_connect(&c[i], "127.0.0.1", (uint16_t)port));
  tq_sleep_ms(20); /* the connections are in the backlog */
  int lowest = dup(0);
  CHECK(lowest >= 0);
  close(lowest);
  struct rlimit old, low;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = (rlim_t)lowest + 2; /* two connections' worth */
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  evq_op_t acc;
  evq_op_init(&acc);
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 1));
  evq_fd_t got[8];
  int ngot = 0;
  for (;;) {
    evq_event_t e = io_next(&s);
    CHECK_EQ(e.token, 1);
    CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
    int32_t r = evq_op_result(&e);
    if (r == EVQ_EMFILE) break;
    CHECK(r >= 0 && ngot < 2);
    got[ngot++] = evq_op_socket(&e);
  }
  CHECK_EQ(evq_op_active(&acc), 1);
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  for (int i = 0; i < ngot; i++) close(got[i]);
  /* The refused ones are gone; a new connection is accepted. */
  evq_fd_t late;
  CHECK_OK(evq_tcp_connect(&late, "127.0.0.1", (uint16_t)port));
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
  int32_t r = evq_op_result(&e);
  CHECK(r >= 0);
  close(r);
  CHECK_OK(evq_op_cancel(q, &acc));
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  for (int i = 0; i < 6; i++) evq_close(c[i]);
  evq_close(late);
  CHECK_OK(evq_io_release(q, l));
  evq_close(l);
  evq_free(q);
}
