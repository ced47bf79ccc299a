/* Deregister, then close: the order evq.h asks for, so every backend must
 * end its watch at the deregistration, whatever a kernel keeps for the
 * open file and whoever takes the number next (closing first is
 * dup_close.c's subject). POSIX: pipes, dup and dup2. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
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

typedef struct {
  evq_t *q;
  atomic_int stop;
} nonstop_t;

static void nonstop_waiter(void *arg) {
  nonstop_t *w = arg;
  evq_event_t ev[8];
  while (!atomic_load(&w->stop)) (void)tq_wait(w->q, ev, 8, 0);
}

/* A number registered for both directions, deregistered, closed, taken by
 * a new socket and registered for reading alone, over and over, while
 * another thread waits without pause: every registration must succeed.
 * kqueue hands queued deletes to the waiter's next kevent(), and a
 * registration racing that batch deletes its own filter first; on
 * libkqueue the old write knote, there until the batch arrived, shares
 * one epoll entry with the new read knote, and the add failed with
 * EVQ_ENOENT (load.churn's narrow leg, 2 runs of 5; here 6 runs of 10 on
 * a loaded machine). libkqueue now gets a deregistration's deletes at
 * once (docs/kqueue.md). */
TEST(reregister_fewer_directions_while_waiting) {
  /* The race is kqueue's batch: many rounds there, a few elsewhere. */
  int rounds = strcmp(tq_backend, "kqueue") == 0 ? 40000 : 2000;
  nonstop_t w = {.q = tq_queue()};
  tq_thread_t *t = tq_thread_start(nonstop_waiter, &w);
  for (int i = 0; i < rounds; i++) {
    evq_fd_t p[2];
    tq_pair(p);
    CHECK_OK(evq_register(w.q, p[0], EVQ_READABLE | EVQ_WRITABLE, EVQ_LEVEL, 1));
    CHECK_OK(evq_deregister(w.q, p[0]));
    evq_close(p[0]);
    evq_close(p[1]);
    tq_pair(p);
    CHECK_OK(evq_register(w.q, p[0], EVQ_READABLE, EVQ_LEVEL, 2));
    CHECK_OK(evq_deregister(w.q, p[0]));
    evq_close(p[0]);
    evq_close(p[1]);
  }
  atomic_store(&w.stop, 1);
  tq_thread_join(t);
  evq_free(w.q);
}
