/* timers, libuv: uv_timer_t handles, initialised once. */
#define LIB "libuv"
#include "../common.h"
#include <uv.h>
#include "common_timers.h"

static uv_loop_t *loop;
static uv_timer_t *t;

static void cb(uv_timer_t *h) { (void)h; fired++; }

static void t_init(void) {
  loop = uv_default_loop();
  t = malloc((size_t)n_timers * sizeof *t);
  if (!t) bench_die("malloc");
  for (long i = 0; i < n_timers; i++) uv_timer_init(loop, &t[i]);
}
static void t_start(long i, uint64_t ms) { uv_timer_start(&t[i], cb, ms, 0); }
static void t_stop(long i) { uv_timer_stop(&t[i]); }
static void t_run(void) { uv_run(loop, UV_RUN_DEFAULT); }
