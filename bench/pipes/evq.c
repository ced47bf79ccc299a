/* pipes, evq: one level-triggered registration per pair (token = pair), one
 * caller-owned evq_timer_t per pair restarted on every activity. */
#define LIB "evq"
#include "../common.h"
#include <evq.h>

#define CAP 1024
#define TIMER_TOKEN ((uintptr_t)1 << 31)

static bench_pipes_t P;
static evq_t *q;
static evq_timer_t *tm;

static void read_cb(int idx) {
  if (P.timeouts) evq_timer_start(q, &tm[idx], P.tmo_ns[idx], 0, TIMER_TOKEN);
  bench_pipes_on_read(&P, idx);
}

static void loop_once(void) {
  evq_event_t ev[CAP];
  int n = evq_wait(q, ev, CAP, 0);
  if (n < 0) {
    fprintf(stderr, "evq_wait: %s\n", evq_strerror(n));
    exit(1);
  }
  for (int i = 0; i < n; i++) {
    if (ev[i].flags & EVQ_TIMER) P.timeouts_fired++;
    else read_cb((int)ev[i].token);
  }
}

int main(int argc, char **argv) {
  bench_pipes_setup(&P, argc, argv);
  evq_options_t o = {.max_events = CAP};
  int rc = evq_create(&q, &o);
  if (rc < 0) {
    fprintf(stderr, "evq_create: %s\n", evq_strerror(rc));
    return 1;
  }
  tm = calloc((size_t)P.npairs, sizeof *tm);
  for (int i = 0; i < P.npairs; i++) evq_timer_init(&tm[i]);
  for (int r = 1; r <= P.rounds; r++) {
    BENCH_CG_BEGIN();
    int64_t t0 = bench_now();
    for (int i = 0; i < P.npairs; i++) {
      if (r > 1) {
        evq_deregister(q, P.fds[2 * i]);
        if (P.timeouts) evq_timer_stop(q, &tm[i]);
      }
      rc = evq_register(q, P.fds[2 * i], EVQ_READABLE, EVQ_LEVEL, (uintptr_t)i);
      if (rc < 0) {
        fprintf(stderr, "evq_register: %s\n", evq_strerror(rc));
        return 1;
      }
      if (P.timeouts) evq_timer_start(q, &tm[i], P.tmo_ns[i], 0, TIMER_TOKEN);
    }
    loop_once();
    int64_t t1 = bench_now(); /* lazy libraries apply registrations here */
    bench_cg_phase("setup", r);
    bench_pipes_run(&P, r, t1 - t0, loop_once);
  }
  evq_free(q);
  return 0;
}
