/* Deregister, then close: the order evq.h asks for, so every backend must
 * end its watch at the deregistration, whatever a kernel keeps for the
 * open file and whoever takes the number next (closing first is
 * dup_close.c's subject). POSIX: pipes, dup and dup2. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <fcntl.h>
#include <unistd.h>

static void pipe_nb(int p[2]) {
  CHECK(pipe(p) == 0);
  for (int i = 0; i < 2; i++) {
    CHECK(fcntl(p[i], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(p[i], F_SETFD, FD_CLOEXEC) == 0);
  }
}

/* A level registration with data waiting is deregistered, then its number
 * closed while a dup keeps the pipe open: waits sleep; the dup is put back
 * on the number, which registers as new and reports under the new token
 * only. On libkqueue a delete held back for the next wait reached it after
 * the close: its epoll entry for the open file could no longer be removed
 * by number, so every wait woke for it, and the new registration failed
 * with EVQ_EEXIST. */
TEST(deregister_then_close_dup_alive) {
  evq_t *q = tq_queue();
  int p[2];
  pipe_nb(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  int number = p[0];
  CHECK_OK(evq_register(q, number, EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  int copy = dup(number);
  CHECK(copy >= 0);
  CHECK_OK(evq_deregister(q, number));
  CHECK(close(number) == 0);
  tq_check_sleeps(q); /* nothing reported, and the wait sleeps */
  CHECK_EQ(dup2(copy, number), number);
  CHECK(close(copy) == 0);
  CHECK_OK(evq_register(q, number, EVQ_READABLE, EVQ_LEVEL, 2));
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(q, number));
  CHECK(close(number) == 0);
  CHECK(close(p[1]) == 0);
  evq_free(q);
}
