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
static long count, fired, writes, failures, timeouts_fired;

static void timeout_cb(uv_timer_t *t) {
  (void)t;
  timeouts_fired++;
}

static void read_cb(uv_poll_t *h, int status, int events) {
  (void)events;
  int idx = (int)(h - polls), widx = idx + 1;
  unsigned char ch;
  if (status < 0) failures++;
  if (P.timeouts) uv_timer_start(&tm[idx], timeout_cb, tmo_ms[idx], 0);
  ssize_t n = read(P.fds[2 * idx], &ch, 1);
  if (n >= 0) count += n; else failures++;
  if (writes) {
    if (widx >= P.npairs) widx -= P.npairs;
    if (write(P.fds[2 * widx + 1], "e", 1) != 1) failures++;
    writes--;
    fired++;
  }
}

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
    fired = bench_pipes_seed(&P);
    count = 0;
    writes = P.nwrites;
    long iters = 0;
    BENCH_CG_BEGIN();
    int64_t t2 = bench_now();
    do {
      uv_run(loop, UV_RUN_NOWAIT);
      iters++;
    } while (count != fired);
    int64_t t3 = bench_now();
    bench_cg_phase("run", r);
    bench_pipes_report(&P, r, t1 - t0, t3 - t2, count, iters, failures,
                       timeouts_fired);
  }
  return 0;
}
