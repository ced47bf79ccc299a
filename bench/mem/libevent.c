#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>
#include <event2/event_struct.h>
#include "common_mem.h"

static struct event_base *base;
static void cb(evutil_socket_t f, short w, void *a) { (void)f; (void)w; (void)a; }
static void m_init(void) {
  struct event_config *cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  handle_fd = handle_timer = event_get_struct_event_size();
}
static void m_register(long n, const int *fds) {
  struct event *e = calloc((size_t)n, sizeof *e);
  for (long i = 0; i < n; i++) {
    event_assign(&e[i], base, fds[i], EV_READ | EV_PERSIST, cb, NULL);
    event_add(&e[i], NULL);
  }
  event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}
static void m_timers(long n) {
  struct event *t = calloc((size_t)n, sizeof *t);
  for (long i = 0; i < n; i++) {
    struct timeval tv = {.tv_sec = 1000 + i / 1000, .tv_usec = (i % 1000) * 1000};
    evtimer_assign(&t[i], base, cb, NULL);
    evtimer_add(&t[i], &tv);
  }
}
