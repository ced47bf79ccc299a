/* Wake-ups: carry the wake token, coalesce, are never lost. */
#include "harness.h"

#include <stdatomic.h>

TEST(wake_coalesces) {
  evq_t *q = tq_queue();
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  for (int i = 0; i < 100; i++) CHECK_OK(evq_wake(q));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, WAKE_TOKEN);
  CHECK_EQ(ev[0].flags, EVQ_WAKE);
  CHECK_EQ(tq_count_events(q, WAKE_TOKEN, 30 * MS, NULL), 0);
  evq_free(q);
}

/* A wake that arrives while the batch is full is not lost. */
TEST(wake_with_full_batch) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_WRITABLE, EVQ_LEVEL, 5));
  CHECK_OK(evq_wake(q));
  evq_event_t ev[1];
  int woke = 0;
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(tq_wait(q, ev, 1, 5000 * MS), 1);
    woke += ev[0].token == WAKE_TOKEN;
  }
  CHECK_EQ(woke, 1);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

enum { WAKERS = 8, WAKES = 10000 };

typedef struct {
  evq_t *q;
  atomic_long observed; /* wake events the waiter has collected */
  atomic_int finished;
} wake_ctx_t;

/* Each wake must be followed by a wake event collected after it; the
 * waker checks that before sending the next, so a lost wake-up would
 * leave it (and the test) stuck until the waiter's timeout fails. */
static void waker(void *arg) {
  wake_ctx_t *c = arg;
  for (int i = 0; i < WAKES; i++) {
    long before = atomic_load(&c->observed);
    CHECK_OK(evq_wake(c->q));
    while (atomic_load(&c->observed) == before) tq_sleep_ms(0);
  }
  atomic_fetch_add(&c->finished, 1);
  CHECK_OK(evq_wake(c->q));
}

TEST(wake_many_threads) { /* tq: acts-while-waiting */
  wake_ctx_t c = {.q = tq_queue()};
  tq_thread_t *t[WAKERS];
  for (int i = 0; i < WAKERS; i++) t[i] = tq_thread_start(waker, &c);
  evq_event_t ev[8];
  while (atomic_load(&c.finished) < WAKERS) {
    int n = tq_wait(c.q, ev, 8, 10000 * MS);
    CHECK(n > 0); /* a 10 s silence means a wake-up was lost */
    for (int i = 0; i < n; i++) {
      CHECK_EQ(ev[i].token, WAKE_TOKEN);
      atomic_fetch_add(&c.observed, 1);
    }
  }
  for (int i = 0; i < WAKERS; i++) tq_thread_join(t[i]);
  CHECK(atomic_load(&c.observed) >= WAKES);
  evq_free(c.q);
}
