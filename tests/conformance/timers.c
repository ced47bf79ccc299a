/* Timers: deadline order, never early, cancel, periodic without drift. */
#include "harness.h"

#include <stdatomic.h>

enum { NTIMERS = 200 };

TEST(timer_order_never_early) {
  evq_t *q = tq_queue();
  static evq_timer_t t[NTIMERS];
  /* The real deadline lies in [lo, hi]: evq reads the clock inside start. */
  int64_t lo[NTIMERS], hi[NTIMERS];
  unsigned seed = 12345;
  for (int i = 0; i < NTIMERS; i++) {
    seed = seed * 1103515245u + 12345u;
    int64_t delay = (int64_t)(seed >> 16) % 60 * MS + (int64_t)i * 1000;
    evq_timer_init(&t[i]);
    lo[i] = evq_now() + delay;
    CHECK_OK(evq_timer_start(q, &t[i], delay, 0, (uintptr_t)i));
    hi[i] = evq_now() + delay;
  }
  int fired = 0;
  int64_t latest_lo = 0; /* deadlines already delivered are at least this */
  evq_event_t ev[16];
  while (fired < NTIMERS) {
    int n = tq_wait(q, ev, 16, 5000 * MS);
    CHECK(n > 0);
    int64_t now = evq_now();
    for (int i = 0; i < n; i++) {
      CHECK_EQ(ev[i].flags, EVQ_TIMER);
      CHECK_EQ(ev[i].data, 1);
      int k = (int)ev[i].token;
      CHECK(now >= lo[k]);          /* never early */
      CHECK(hi[k] >= latest_lo);    /* never after a later deadline */
      CHECK(!evq_timer_active(&t[k]));
      if (lo[k] > latest_lo) latest_lo = lo[k];
      fired++;
    }
  }
  CHECK_EQ(tq_wait(q, ev, 16, 20 * MS), 0);
  evq_free(q);
}

TEST(timer_cancel_and_restart) {
  evq_t *q = tq_queue();
  evq_timer_t a, b;
  evq_timer_init(&a);
  evq_timer_init(&b);
  CHECK_OK(evq_timer_start(q, &a, 10 * MS, 0, 1));
  CHECK_OK(evq_timer_start(q, &b, 20 * MS, 0, 2));
  CHECK(evq_timer_active(&a));
  CHECK_OK(evq_timer_stop(q, &a));
  CHECK(!evq_timer_active(&a));
  CHECK_EQ(evq_timer_stop(q, &a), EVQ_ENOENT);
  /* Restarting a running timer reschedules it, no duplicate. */
  int64_t start = evq_now();
  CHECK_OK(evq_timer_start(q, &b, 40 * MS, 0, 3));
  evq_event_t ev[8];
  int n = tq_wait(q, ev, 8, 5000 * MS);
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 3);
  CHECK(evq_now() - start >= 40 * MS);
  CHECK_EQ(tq_wait(q, ev, 8, 60 * MS), 0);
  evq_free(q);
}

/* Expiry k of a periodic timer is due at start + k*period however late it
 * is collected: the count it reports always matches the schedule. */
TEST(timer_periodic_no_drift) {
  evq_t *q = tq_queue();
  evq_timer_t t;
  evq_timer_init(&t);
  const int64_t period = 5 * MS;
  int64_t start_lo = evq_now(); /* evq reads the clock in between */
  CHECK_OK(evq_timer_start(q, &t, period, period, 77));
  int64_t start_hi = evq_now();
  int64_t total = 0;
  evq_event_t ev[4];
  for (int round = 0; round < 20; round++) {
    if (round == 10) tq_sleep_ms(23); /* fall behind on purpose */
    int64_t called = evq_now();
    int n = tq_wait(q, ev, 4, 5000 * MS);
    int64_t returned = evq_now();
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 77);
    CHECK(ev[0].data >= 1);
    total += ev[0].data;
    CHECK(total >= (called - start_hi) / period);
    CHECK(total <= (returned - start_lo) / period);
  }
  CHECK(evq_timer_active(&t));
  CHECK_OK(evq_timer_stop(q, &t));
  CHECK_EQ(tq_wait(q, ev, 4, 3 * period), 0);
  evq_free(q);
}

TEST(timer_zero_delay_and_many) {
  evq_t *q = tq_queue();
  enum { N = 10000 };
  static evq_timer_t t[N];
  for (int i = 0; i < N; i++) {
    evq_timer_init(&t[i]);
    CHECK_OK(evq_timer_start(q, &t[i], (i % 7) * 1000, 0, (uintptr_t)i));
  }
  for (int i = 0; i < N; i += 2) CHECK_OK(evq_timer_stop(q, &t[i]));
  int fired = 0;
  evq_event_t ev[256];
  while (fired < N / 2) {
    int n = tq_wait(q, ev, 256, 5000 * MS);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) CHECK_EQ(ev[i].token % 2, 1);
    fired += n;
  }
  CHECK_EQ(fired, N / 2);
  CHECK_EQ(tq_wait(q, ev, 256, 10 * MS), 0);
  evq_free(q);
}

typedef struct {
  evq_t *q;
  evq_timer_t t;
} starter_ctx_t;

static void start_later(void *arg) {
  starter_ctx_t *c = arg;
  tq_sleep_ms(30);
  CHECK_OK(evq_timer_start(c->q, &c->t, 1 * MS, 0, 42));
}

/* A timer started by another thread wakes a waiter blocked forever. */
TEST(timer_from_other_thread) { /* tq: acts-while-waiting */
  starter_ctx_t c = {.q = tq_queue()};
  evq_timer_init(&c.t);
  tq_thread_t *th = tq_thread_start(start_later, &c);
  evq_event_t ev[4];
  int n = tq_wait(c.q, ev, 4, EVQ_FOREVER);
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 42);
  CHECK_EQ(ev[0].flags, EVQ_TIMER);
  tq_thread_join(th);
  evq_free(c.q);
}

/* A wait with a timeout and nothing to report never returns early. */
TEST(wait_timeout_not_early) {
  evq_t *q = tq_queue();
  evq_event_t ev[4];
  const int64_t waits[] = {1, 999, 1000 * 1000, 1500 * 1000, 20 * MS};
  for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
    int64_t start = evq_now();
    CHECK_EQ(tq_wait(q, ev, 4, waits[i]), 0);
    CHECK(evq_now() - start >= waits[i]);
  }
  evq_free(q);
}

typedef struct {
  evq_timer_t *t;
  atomic_int stop;
} peek_t;

static void peek_active(void *arg) {
  peek_t *p = arg;
  while (!atomic_load(&p->stop)) {
    int a = evq_timer_active(p->t);
    CHECK(a == 0 || a == 1);
  }
}

/* evq_timer_active may be asked from any thread while the waiter fires
 * and restarts the timer (a data race before; TSan checks it). */
TEST(timer_active_from_other_thread) {
  evq_t *q = tq_queue();
  evq_timer_t t;
  evq_timer_init(&t);
  peek_t p = {.t = &t};
  tq_thread_t *th = tq_thread_start(peek_active, &p);
  evq_event_t ev[4];
  for (int i = 0; i < 200; i++) {
    CHECK_OK(evq_timer_start(q, &t, 1000, 0, 1));
    CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
    CHECK(!evq_timer_active(&t));
  }
  atomic_store(&p.stop, 1);
  tq_thread_join(th);
  evq_free(q);
}

/* Restarts, later and earlier, many times over (a timeout reset on every
 * activity): only the last start counts, in deadline order, never early. */
TEST(timer_restart_storm) {
  enum { N = 300, RESTARTS = 20 };
  evq_t *q = tq_queue();
  static evq_timer_t t[N];
  int64_t lo[N], hi[N];
  unsigned seed = 99;
  for (int i = 0; i < N; i++) evq_timer_init(&t[i]);
  for (int r = 0; r < RESTARTS; r++)
    for (int i = 0; i < N; i++) {
      seed = seed * 1103515245u + 12345u;
      int64_t delay = 5 * MS + (int64_t)((seed >> 16) % 40) * MS;
      lo[i] = evq_now() + delay;
      CHECK_OK(evq_timer_start(q, &t[i], delay, 0, (uintptr_t)i));
      hi[i] = evq_now() + delay;
    }
  int fired = 0;
  int64_t latest_lo = 0;
  evq_event_t ev[64];
  while (fired < N) {
    int n = tq_wait(q, ev, 64, 5000 * MS);
    CHECK(n > 0);
    int64_t now = evq_now();
    for (int i = 0; i < n; i++) {
      int k = (int)ev[i].token;
      CHECK(now >= lo[k]);
      CHECK(hi[k] >= latest_lo);
      if (lo[k] > latest_lo) latest_lo = lo[k];
      fired++;
    }
  }
  CHECK_EQ(fired, N); /* each exactly once: no stale copy fired */
  CHECK_EQ(tq_wait(q, ev, 64, 20 * MS), 0);
  evq_free(q);
}
