/* 10,000 registrations at once (5,000 socket pairs, both ends). */
#include "harness.h"

#include <string.h>

enum { PAIRS = 5000, FDS = 2 * PAIRS };

TEST(ten_thousand_registrations) {
  evq_t *q = tq_queue();
  static evq_fd_t p[PAIRS][2];
  static unsigned char seen[FDS];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < PAIRS; i++) {
    tq_pair(p[i]);
    for (int e = 0; e < 2; e++)
      CHECK_OK(evq_register(q, p[i][e], EVQ_READABLE, EVQ_LEVEL,
                            (uintptr_t)(2 * i + e)));
  }
  /* Every 7th descriptor gets data; exactly those report, once each. */
  int expected = 0;
  for (int k = 0; k < FDS; k += 7) {
    tq_send(p[k / 2][1 - k % 2], 1);
    expected++;
  }
  evq_event_t ev[512];
  int got = 0;
  while (got < expected) {
    int n = tq_wait(q, ev, 512, 5000 * MS);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
      uintptr_t k = ev[i].token;
      CHECK(k < FDS && k % 7 == 0);
      if (!seen[k]) got++;
      seen[k] = 1;
      char c;
      CHECK_EQ(evq_read(q, p[k / 2][k % 2], &c, 1), 1);
    }
  }
  CHECK_EQ(tq_wait(q, ev, 512, 20 * MS), 0);
  for (int i = 0; i < PAIRS; i++)
    for (int e = 0; e < 2; e++) {
      CHECK_OK(evq_deregister(q, p[i][e]));
      evq_close(p[i][e]);
    }
  evq_free(q);
}

/* Far more ready registrations than one wait takes (or than io_uring's
 * completion queue holds, at 4 x max_events): every one is reported, in
 * small batches, none lost; level ones again until drained, edge ones
 * once. */
static void small_batches(evq_mode_t mode) {
  enum { N = 400, BATCH = 8 };
  evq_options_t o = {.backend = tq_backend, .wake_token = WAKE_TOKEN,
                     .max_events = BATCH};
  evq_t *q;
  CHECK_OK(evq_create(&q, &o));
  static evq_fd_t p[N][2];
  static int seen[N];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < N; i++) {
    tq_pair(p[i]);
    CHECK_OK(evq_register(q, p[i][0], EVQ_READABLE, mode, (uintptr_t)i));
    tq_send(p[i][1], 1);
  }
  int distinct = 0;
  evq_event_t ev[BATCH];
  for (int rounds = 0; distinct < N && rounds < 100 * N; rounds++) {
    int n = tq_wait(q, ev, BATCH, 5000 * MS);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
      CHECK(ev[i].token < N);
      if (seen[ev[i].token]++ == 0) distinct++;
    }
  }
  CHECK_EQ(distinct, N);
  if (mode == EVQ_EDGE) {
    CHECK_EQ(tq_wait(q, ev, BATCH, 20 * MS), 0); /* nothing new: silent */
    for (int i = 0; i < N; i++) CHECK_EQ(seen[i], 1);
  } else {
    CHECK(tq_wait(q, ev, BATCH, 0) > 0); /* still ready: reported again */
  }
  for (int i = 0; i < N; i++) {
    CHECK_OK(evq_deregister(q, p[i][0]));
    evq_close(p[i][0]);
    evq_close(p[i][1]);
  }
  evq_free(q);
}

TEST(many_ready_small_batches_level) { small_batches(EVQ_LEVEL); }
TEST(many_ready_small_batches_edge) { small_batches(EVQ_EDGE); }

/* Any max_events works on every backend: values above the core's cap
 * (65,536) are taken as the cap, so a queue made with one value on one
 * backend is made on all (io_uring once asked the kernel for a completion
 * queue of 4 x max_events and failed above 16,384). Each queue works: a
 * ready pipe is reported. */
TEST(max_events_any_value) {
  static const uint32_t values[] = {1,     16384, 16385,     65536,
                                    65537, 100000, UINT32_MAX};
  for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
    evq_options_t o = {.backend = tq_backend, .wake_token = WAKE_TOKEN,
                       .max_events = values[v]};
    evq_t *q;
    int rc = evq_create(&q, &o);
    if (rc != 0)
      fprintf(stderr, "max_events %lu: %s\n", (unsigned long)values[v],
              evq_strerror(rc));
    CHECK_OK(rc);
    evq_fd_t p[2];
    tq_pair(p);
    CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 5));
    tq_send(p[1], 1);
    evq_event_t ev[4];
    CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 5);
    CHECK_OK(evq_deregister(q, p[0]));
    evq_close(p[0]);
    evq_close(p[1]);
    evq_free(q);
  }
}
