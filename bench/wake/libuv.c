/* wake, libuv: one loop per thread, uv_async_t both ways. */
#define LIB "libuv"
#include "../common.h"
#include <uv.h>
#include "common_wake.h"

static uv_loop_t hub_loop, wl[MAX_THREADS];
static uv_async_t hub_async, wa[MAX_THREADS];
static long done[MAX_THREADS];

static void wake_hub(void) { uv_async_send(&hub_async); }
static void wake_worker(int i) { uv_async_send(&wa[i]); }

static void hub_cb(uv_async_t *a) {
  hub_answer(wake_worker);
  if (answered == (long)nthreads * rt_per_worker) uv_close((uv_handle_t *)a, NULL);
}
static void worker_cb(uv_async_t *a) {
  int i = (int)(a - wa);
  if (++done[i] < rt_per_worker) worker_ask(i, wake_hub);
  else uv_close((uv_handle_t *)a, NULL);
}

static void lib_init(void) {
  uv_loop_init(&hub_loop);
  uv_async_init(&hub_loop, &hub_async, hub_cb);
  for (int i = 0; i < nthreads; i++) {
    uv_loop_init(&wl[i]);
    uv_async_init(&wl[i], &wa[i], worker_cb);
  }
}
static void hub_run(void) { uv_run(&hub_loop, UV_RUN_DEFAULT); }
static void worker_run(int i) {
  worker_ask(i, wake_hub);
  uv_run(&wl[i], UV_RUN_DEFAULT);
}
