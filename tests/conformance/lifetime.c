/* Lifetime: deregistering or closing a descriptor while the backend has a
 * kernel request in flight for it, and freeing a queue with requests in
 * flight, are safe and deliver nothing. (IOCP keeps one AFD poll per
 * socket in flight between waits; epoll and poll have nothing in flight,
 * so these pin the same contract there.) */
#include "harness.h"

enum { N = 64 };

/* One idle wait makes the backend start watching everything registered. */
static void settle(evq_t *q) {
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 10 * MS), 0);
}

TEST(deregister_while_pending) {
  evq_t *q = tq_queue();
  evq_fd_t p[N][2];
  for (int i = 0; i < N; i++) {
    tq_pair(p[i]);
    CHECK_OK(evq_register(q, p[i][0], EVQ_READABLE, EVQ_LEVEL, (uintptr_t)i));
  }
  settle(q);
  /* Half go away while watched; their data must not report. The other
   * half re-register at once under a new token (the old request may still
   * be cancelling) and only the new token may report. */
  for (int i = 0; i < N; i++) {
    CHECK_OK(evq_deregister(q, p[i][0]));
    if (i % 2)
      CHECK_OK(evq_register(q, p[i][0], EVQ_READABLE, EVQ_EDGE,
                            (uintptr_t)(1000 + i)));
    tq_send(p[i][1], 1);
  }
  evq_event_t ev[2 * N];
  int seen = 0;
  int64_t end = evq_now() + 5000 * MS;
  while (seen < N / 2 && evq_now() < end) {
    int n = tq_wait(q, ev, 2 * N, 100 * MS);
    for (int k = 0; k < n; k++) {
      CHECK(ev[k].token >= 1000 && ev[k].token < 1000 + N);
      CHECK(ev[k].token % 2 == 1);
      seen++;
    }
  }
  CHECK_EQ(seen, N / 2);
  CHECK_EQ(tq_wait(q, ev, 2 * N, 30 * MS), 0);
  for (int i = 0; i < N; i++) {
    if (i % 2) CHECK_OK(evq_deregister(q, p[i][0]));
    evq_close(p[i][0]);
    evq_close(p[i][1]);
  }
  evq_free(q);
}

/* Closing a watched socket before deregistering it reports nothing, and
 * the queue keeps working for the others. */
TEST(close_while_pending) {
  evq_t *q = tq_queue();
  evq_fd_t a[2], b[2];
  tq_pair(a);
  tq_pair(b);
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_LEVEL, 1));
  CHECK_OK(evq_register(q, b[0], EVQ_READABLE, EVQ_LEVEL, 2));
  settle(q);
  evq_fd_t number = a[0];
  evq_close(a[0]);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 30 * MS), 0);
  tq_send(b[1], 1);
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(q, number));
  CHECK_OK(evq_deregister(q, b[0]));
  evq_close(a[1]);
  evq_close(b[0]);
  evq_close(b[1]);
  evq_free(q);
}

/* Freeing a queue whose sockets are still registered and watched (and some
 * being cancelled) releases everything without waiting on the caller. */
TEST(free_while_pending) {
  for (int round = 0; round < 3; round++) {
    evq_t *q = tq_queue();
    evq_fd_t p[N][2];
    for (int i = 0; i < N; i++) {
      tq_pair(p[i]);
      CHECK_OK(evq_register(q, p[i][0], EVQ_READABLE | EVQ_WRITABLE,
                            EVQ_ONESHOT, (uintptr_t)i));
      CHECK_OK(evq_register(q, p[i][1], EVQ_READABLE, EVQ_EDGE,
                            (uintptr_t)(N + i)));
    }
    evq_event_t ev[4 * N];
    (void)tq_wait(q, ev, 4 * N, 10 * MS); /* the writable ends report */
    settle(q);
    for (int i = 0; i < N; i += 3) CHECK_OK(evq_deregister(q, p[i][1]));
    if (round == 1) tq_send(p[0][0], 1);
    evq_free(q);
    for (int i = 0; i < N; i++) {
      evq_close(p[i][0]);
      evq_close(p[i][1]);
    }
  }
}

/* evq_free leaves registered descriptors open (evq.h): the caller's, to
 * use and close, registered on another queue as if new. */
TEST(free_leaves_descriptors_open) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  CHECK_OK(evq_register(q, p[1], EVQ_WRITABLE, EVQ_EDGE, 2));
  evq_event_t ev[4];
  CHECK(tq_wait(q, ev, 4, 5000 * MS) >= 1); /* p[1] is writable */
  evq_free(q);
  CHECK_EQ(evq_write(NULL, p[1], "x", 1), 1);
  q = tq_queue();
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 3));
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 3);
  char c;
  CHECK_EQ(evq_read(q, p[0], &c, 1), 1);
  CHECK_EQ(c, 'x');
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* Deregistered and closed, a descriptor's file closes by the next wait at
 * the latest, on every backend (io_uring holds a registration's file
 * until then, evq.h "Closing"): each peer then reads end of stream. Many
 * at once, registered in an order that scatters what io_uring holds. */
TEST(deregister_close_releases_file) {
  enum { PAIRS = 300 };
  evq_t *q = tq_queue();
  static evq_fd_t p[PAIRS][2];
  for (int i = 0; i < PAIRS; i++) tq_pair(p[i]);
  for (int i = 0; i < PAIRS; i++) {
    int k = (i * 7) % PAIRS;
    CHECK_OK(evq_register(q, p[k][0], EVQ_READABLE, EVQ_EDGE, (uintptr_t)k));
  }
  evq_event_t ev[8];
  tq_wait(q, ev, 8, 0);
  for (int i = 0; i < PAIRS; i += 2) { /* every other one: holes between */
    CHECK_OK(evq_deregister(q, p[i][0]));
    evq_close(p[i][0]);
  }
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  char c;
  for (int i = 0; i < PAIRS; i += 2) {
    CHECK_EQ(evq_read(NULL, p[i][1], &c, 1), 0); /* end of stream */
    evq_close(p[i][1]);
  }
  for (int i = 1; i < PAIRS; i += 2) {
    CHECK_OK(evq_deregister(q, p[i][0]));
    evq_close(p[i][0]);
    evq_close(p[i][1]);
  }
  evq_free(q);
}
