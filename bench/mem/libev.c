#define LIB "libev"
#include "../common.h"
#include <ev.h>
#include "common_mem.h"

static struct ev_loop *loop;
static void cb(EV_P_ ev_io *w, int r) { (void)loop; (void)w; (void)r; }
static void tcb(EV_P_ ev_timer *w, int r) { (void)loop; (void)w; (void)r; }
static void m_init(void) {
  loop = ev_default_loop(EVBACKEND_EPOLL);
  handle_fd = sizeof(ev_io);
  handle_timer = sizeof(ev_timer);
}
static void m_register(long n, const int *fds) {
  ev_io *w = calloc((size_t)n, sizeof *w);
  for (long i = 0; i < n; i++) {
    ev_io_init(&w[i], cb, fds[i], EV_READ);
    ev_io_start(loop, &w[i]);
  }
  ev_run(loop, EVRUN_NOWAIT); /* libev applies registrations lazily */
}
static void m_timers(long n) {
  ev_timer *t = calloc((size_t)n, sizeof *t);
  for (long i = 0; i < n; i++) {
    ev_timer_init(&t[i], tcb, 1000. + (double)i / 1000., 0.);
    ev_timer_start(loop, &t[i]);
  }
}
