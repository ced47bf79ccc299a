/* timers, libev: ev_timer watchers (libev's 4-ary heap). */
#define LIB "libev"
#include "../common.h"
#include <ev.h>
#include "common_timers.h"

static struct ev_loop *loop;
static ev_timer *t;

static void cb(EV_P_ ev_timer *w, int revents) {
  (void)loop; (void)w; (void)revents;
  fired++;
}

static void t_init(void) {
  loop = ev_default_loop(EVBACKEND_EPOLL);
  t = malloc((size_t)n_timers * sizeof *t);
  if (!t) bench_die("malloc");
  for (long i = 0; i < n_timers; i++) ev_timer_init(&t[i], cb, 0., 0.);
}
static void t_start(long i, uint64_t ms) {
  ev_timer_set(&t[i], (double)ms / 1e3, 0.);
  ev_timer_start(loop, &t[i]);
}
static void t_stop(long i) { ev_timer_stop(loop, &t[i]); }
static void t_run(void) { ev_run(loop, 0); }
