/* timers, libevent: evtimer events (libevent's min-heap), assigned once. */
#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common_timers.h"

static struct event_base *base;
static struct event *t;

static void cb(evutil_socket_t fd, short which, void *arg) {
  (void)fd; (void)which; (void)arg;
  fired++;
}

static void t_init(void) {
  struct event_config *cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  t = malloc((size_t)n_timers * sizeof *t);
  if (!t) bench_die("malloc");
  for (long i = 0; i < n_timers; i++) evtimer_assign(&t[i], base, cb, NULL);
}
static void t_start(long i, uint64_t ms) {
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
                       .tv_usec = (suseconds_t)(ms % 1000 * 1000)};
  evtimer_add(&t[i], &tv);
}
static void t_stop(long i) { evtimer_del(&t[i]); }
static void t_run(void) { event_base_dispatch(base); }
