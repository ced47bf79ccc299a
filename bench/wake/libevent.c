/* wake, libevent: one event_base per thread (evthread_use_pthreads), a
 * user event per base activated from the other thread with event_active. */
#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include "common_wake.h"

static struct event_base *hub_base, *wb[MAX_THREADS];
static struct event hub_ev, wev[MAX_THREADS];
static long done[MAX_THREADS];

static void wake_hub(void) { event_active(&hub_ev, EV_READ, 0); }
static void wake_worker(int i) { event_active(&wev[i], EV_READ, 0); }

static void hub_cb(evutil_socket_t fd, short which, void *arg) {
  (void)fd; (void)which; (void)arg;
  hub_answer(wake_worker);
  if (answered == (long)nthreads * rt_per_worker) event_base_loopbreak(hub_base);
}
static void worker_cb(evutil_socket_t fd, short which, void *arg) {
  (void)fd; (void)which;
  int i = (int)(intptr_t)arg;
  if (++done[i] < rt_per_worker) worker_ask(i, wake_hub);
  else event_base_loopbreak(wb[i]);
}

static struct event_base *new_base(void) {
  struct event_config *cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  struct event_base *b = event_base_new_with_config(cfg);
  event_config_free(cfg);
  return b;
}

static void lib_init(void) {
  evthread_use_pthreads();
  hub_base = new_base();
  event_assign(&hub_ev, hub_base, -1, 0, hub_cb, NULL);
  for (int i = 0; i < nthreads; i++) {
    wb[i] = new_base();
    event_assign(&wev[i], wb[i], -1, 0, worker_cb, (void *)(intptr_t)i);
  }
}
static void hub_run(void) { event_base_loop(hub_base, EVLOOP_NO_EXIT_ON_EMPTY); }
static void worker_run(int i) {
  worker_ask(i, wake_hub);
  event_base_loop(wb[i], EVLOOP_NO_EXIT_ON_EMPTY);
}
