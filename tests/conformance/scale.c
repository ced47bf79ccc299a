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
