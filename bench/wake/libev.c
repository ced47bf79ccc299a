/* wake, libev: one loop per thread, ev_async both ways. */
#define LIB "libev"
#include "../common.h"
#include <ev.h>
#include "common_wake.h"

static struct ev_loop *hub_loop, *wl[MAX_THREADS];
static ev_async hub_async, wa[MAX_THREADS];
static long done[MAX_THREADS];

static void wake_hub(void) { ev_async_send(hub_loop, &hub_async); }
static void wake_worker(int i) { ev_async_send(wl[i], &wa[i]); }

static void hub_cb(EV_P_ ev_async *a, int revents) {
  (void)revents;
  hub_answer(wake_worker);
  if (answered == (long)nthreads * rt_per_worker) ev_async_stop(EV_A_ a);
}
static void worker_cb(EV_P_ ev_async *a, int revents) {
  (void)revents;
  int i = (int)(a - wa);
  if (++done[i] < rt_per_worker) worker_ask(i, wake_hub);
  else ev_async_stop(EV_A_ a);
}

static void lib_init(void) {
  hub_loop = ev_loop_new(EVBACKEND_EPOLL);
  ev_async_init(&hub_async, hub_cb);
  ev_async_start(hub_loop, &hub_async);
  for (int i = 0; i < nthreads; i++) {
    wl[i] = ev_loop_new(EVBACKEND_EPOLL);
    ev_async_init(&wa[i], worker_cb);
    ev_async_start(wl[i], &wa[i]);
  }
}
static void hub_run(void) { ev_run(hub_loop, 0); }
static void worker_run(int i) {
  worker_ask(i, wake_hub);
  ev_run(wl[i], 0);
}
