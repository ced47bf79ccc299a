/* Embedding: a queue driven by a host loop through evq_fd() and
 * evq_next_timeout(), here another evq. */
#include "harness.h"

#include <string.h>

/* The time to the next timer, 0 with something pending, forever with no
 * timer: what a host loop sleeps for. */
TEST(embed_next_timeout) {
  evq_t *q = tq_queue();
  CHECK_EQ(evq_next_timeout(q), EVQ_FOREVER);
  CHECK_EQ(evq_next_timeout(NULL), EVQ_EINVAL);
  evq_timer_t t;
  evq_timer_init(&t);
  CHECK_OK(evq_timer_start(q, &t, 500 * MS, 0, 1));
  int64_t left = evq_next_timeout(q);
  CHECK(left > 0 && left <= 500 * MS);
  CHECK_OK(evq_wake(q));
  CHECK_EQ(evq_next_timeout(q), 0);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 0), 1); /* the wake-up */
  left = evq_next_timeout(q);
  CHECK(left > 0 && left <= 500 * MS);
  CHECK_OK(evq_timer_start(q, &t, 0, 0, 1));
  CHECK_EQ(evq_next_timeout(q), 0); /* due now */
  CHECK_OK(evq_timer_stop(q, &t));
  CHECK_EQ(evq_next_timeout(q), EVQ_FOREVER);
  evq_free(q);
}

static void wake_later(void *arg) {
  tq_sleep_ms(30);
  CHECK_OK(evq_wake(arg));
}

/* Whether the queue under test has a descriptor a host can watch: not on
 * poll and iocp (no kernel object), nor on libkqueue, whose kqueue
 * descriptor is never readable (docs/kqueue.md). */
static int has_fd(void) {
#ifdef TQ_LIBKQUEUE
  if (strcmp(tq_backend, "kqueue") == 0) return 0;
#endif
  return strcmp(tq_backend, "poll") != 0 && strcmp(tq_backend, "iocp") != 0;
}

/* One round of a host loop: waits on the outer queue until the inner
 * queue's descriptor reports (returns 1) or its next timer is due (0). */
static int host_wait(evq_t *outer, evq_t *inner) {
  evq_event_t oev[4];
  int64_t t = evq_next_timeout(inner);
  int n = tq_wait(outer, oev, 4, t < 0 ? 5000 * MS : t);
  for (int i = 0; i < n; i++) CHECK_EQ(oev[i].token, 99);
  return n > 0;
}

/* An evq nested in another evq: readiness, timers and cross-thread
 * wake-ups of the inner queue all reach the host, readiness and wake-ups
 * through the descriptor, timers through the timeout. Backends without a
 * descriptor to watch say so. */
TEST(embed_in_evq) {
  evq_t *inner = tq_queue();
  evq_fd_t fd;
  int rc = evq_fd(inner, &fd);
  CHECK_EQ(evq_fd(NULL, &fd), EVQ_EINVAL);
  CHECK_EQ(evq_fd(inner, NULL), EVQ_EINVAL);
  if (!has_fd()) {
    CHECK_EQ(rc, EVQ_ENOTSUP);
    evq_free(inner);
    return;
  }
  CHECK_OK(rc);
  evq_t *outer;
  CHECK_OK(evq_create(&outer, NULL));
  CHECK_OK(evq_register(outer, fd, EVQ_READABLE, EVQ_LEVEL, 99));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(outer, ev, 4, 20 * MS), 0); /* nothing to deliver yet */

  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(inner, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  tq_send(p[1], 5);
  CHECK_EQ(host_wait(outer, inner), 1);
  CHECK_EQ(tq_wait(inner, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, 1);
  CHECK_EQ(tq_drain(inner, p[0]), 5);
  CHECK_EQ(tq_wait(inner, ev, 4, 0), 0);

  evq_timer_t t;
  evq_timer_init(&t);
  int64_t start = evq_now();
  CHECK_OK(evq_timer_start(inner, &t, 30 * MS, 0, 2));
  /* The start moved the next deadline earlier, so the descriptor reports
   * once and the host computes its timeout again; then it sleeps until
   * the timer is due. */
  int n = 0;
  for (int round = 0; round < 5 && n == 0; round++) {
    host_wait(outer, inner);
    n = tq_wait(inner, ev, 4, 0);
  }
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK(evq_now() - start >= 30 * MS);

  tq_thread_t *th = tq_thread_start(wake_later, inner);
  CHECK_EQ(host_wait(outer, inner), 1);
  CHECK_EQ(tq_wait(inner, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, WAKE_TOKEN);
  tq_thread_join(th);

  CHECK_OK(evq_deregister(inner, p[0]));
  CHECK_OK(evq_deregister(outer, fd));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(outer);
  evq_free(inner);
}
