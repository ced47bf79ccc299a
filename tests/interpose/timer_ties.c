/* Equal deadlines fire in start order, also across a lazy restart. Needs
 * deadlines equal to the nanosecond, so the clock is pinned: this program
 * defines evq_now(), which the shared library's own calls resolve to (ELF
 * interposition), and drives time by hand. */
#include "harness.h"

#include <string.h>

static int64_t fake_now = 1000000000;
int64_t evq_now(void) { return fake_now; }

const char *tq_backend;

void tq_fail(const char *file, int line, const char *what, int kind,
             long long a, long long b) {
  fprintf(stderr, "%s:%d: check failed: %s (%lld, %lld, %d)\n", file, line,
          what, a, b, kind);
  abort();
}

int main(void) {
  evq_t *q;
  CHECK_OK(evq_create(&q, NULL));
  evq_timer_t x, p, a, b, e;
  evq_timer_t *all[] = {&x, &p, &a, &b, &e};
  for (int i = 0; i < 5; i++) evq_timer_init(all[i]);
  const int64_t d = 1000;
  CHECK_OK(evq_timer_start(q, &x, d, 0, 'X'));
  CHECK_OK(evq_timer_start(q, &p, d, 0, 'P'));
  CHECK_OK(evq_timer_start(q, &a, d, 0, 'A'));
  CHECK_OK(evq_timer_start(q, &b, d, 0, 'B'));
  CHECK_OK(evq_timer_stop(q, &x));               /* B now below A */
  CHECK_OK(evq_timer_start(q, &e, d, 0, 'E'));   /* same deadline as B */
  CHECK_OK(evq_timer_start(q, &a, d + 500, 0, 'A')); /* lazy restart */
  fake_now += d + 1000;
  evq_event_t ev[8];
  int n = evq_wait(q, ev, 8, 0);
  char order[8] = {0};
  for (int i = 0; i < n && i < 7; i++) order[i] = (char)ev[i].token;
  if (strcmp(order, "PBEA") != 0) fprintf(stderr, "fired %s\n", order);
  CHECK(strcmp(order, "PBEA") == 0);
  evq_free(q);
  printf("ok timer_ties\n");
  return 0;
}
