/* timers, evq: caller-owned evq_timer_t, events fetched 1024 at a time. */
#define LIB "evq"
#include "../common.h"
#include <evq.h>
#include "common_timers.h"

#define CAP 1024
static evq_t *q;
static evq_timer_t *t;

static void t_init(void) {
  evq_options_t o = {.max_events = CAP};
  int rc = evq_create(&q, &o);
  if (rc < 0) {
    fprintf(stderr, "evq_create: %s\n", evq_strerror(rc));
    exit(1);
  }
  t = malloc((size_t)n_timers * sizeof *t);
  if (!t) bench_die("malloc");
  for (long i = 0; i < n_timers; i++) evq_timer_init(&t[i]);
}
static void t_start(long i, uint64_t ms) {
  evq_timer_start(q, &t[i], (int64_t)ms * 1000000, 0, (uintptr_t)i);
}
static void t_stop(long i) { evq_timer_stop(q, &t[i]); }
static void t_run(void) {
  evq_event_t ev[CAP];
  while (fired < n_timers) {
    int n = evq_wait(q, ev, CAP, EVQ_FOREVER);
    if (n < 0) {
      fprintf(stderr, "evq_wait: %s\n", evq_strerror(n));
      exit(1);
    }
    for (int i = 0; i < n; i++)
      if (ev[i].flags & EVQ_TIMER) fired++;
  }
}
