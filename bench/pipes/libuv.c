/* pipes, libuv: uv_poll_t per pair (libuv's readiness watcher), uv_timer_t
 * per pair restarted on every activity. libuv timers have millisecond
 * resolution. */
#define LIB "libuv"
#include "../common.h"
#include <uv.h>

static bench_pipes_t P;
static uv_loop_t *loop;
static uv_poll_t *polls;
static uv_timer_t *tm;
static uint64_t *tmo_ms;

static void timeout_cb(uv_timer_t *t) {
  (void)t;
  P.timeouts_fired++;
}

static void read_cb(uv_poll_t *h, int status, int events) {
  (void)events;
  int idx = (int)(h - polls);
  if (status < 0) P.failures++;
  if (P.timeouts) uv_timer_start(&tm[idx], timeout_cb, tmo_ms[idx], 0);
  bench_pipes_on_read(&P, idx);
}

static void loop_once(void) { uv_run(loop, UV_RUN_NOWAIT); }

int main(int argc, char **argv) {
  bench_pipes_setup(&P, argc, argv);
  loop = uv_default_loop();
  polls = calloc((size_t)P.npairs, sizeof *polls);
  tm = calloc((size_t)P.npairs, sizeof *tm);
  tmo_ms = calloc((size_t)P.npairs, sizeof *tmo_ms);
  for (int i = 0; i < P.npairs; i++) {
    tmo_ms[i] = (uint64_t)(P.tmo_ns[i] / 1000000);
    if (uv_poll_init(loop, &polls[i], P.fds[2 * i]) != 0) bench_die("uv_poll_init");
    uv_timer_init(loop, &tm[i]);
  }
  for (int r = 1; r <= P.rounds; r++) {
    BENCH_CG_BEGIN();
    int64_t t0 = bench_now();
    for (int i = 0; i < P.npairs; i++) {
      if (r > 1) {
        uv_poll_stop(&polls[i]);
        uv_timer_stop(&tm[i]);
      }
      uv_poll_start(&polls[i], UV_READABLE, read_cb);
      if (P.timeouts) uv_timer_start(&tm[i], timeout_cb, tmo_ms[i], 0);
    }
    uv_run(loop, UV_RUN_NOWAIT);
    int64_t t1 = bench_now(); /* lazy libraries apply registrations here */
    bench_cg_phase("setup", r);
    bench_pipes_run(&P, r, t1 - t0, loop_once);
  }
  return 0;
}
