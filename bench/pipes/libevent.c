/* pipes, libevent: one EV_READ|EV_PERSIST event per pair; with timeouts the
 * event carries one, which libevent resets itself on every activation of a
 * persistent event. Events are initialised before the first event_del (the
 * original bench.c deleted uninitialised events). */
#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>
#include <event2/event_struct.h>

static bench_pipes_t P;
static struct event_base *base;
static struct event *evs;
static struct timeval *tv;

static void read_cb(evutil_socket_t fd, short which, void *arg) {
  (void)fd;
  int idx = (int)(intptr_t)arg;
  if (which & EV_TIMEOUT) {
    P.timeouts_fired++;
    return;
  }
  bench_pipes_on_read(&P, idx);
}

static void loop_once(void) { event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK); }

int main(int argc, char **argv) {
  bench_pipes_setup(&P, argc, argv);
  struct event_config *cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  if (!base) bench_die("event_base_new");
  evs = calloc((size_t)P.npairs, sizeof *evs);
  tv = calloc((size_t)P.npairs, sizeof *tv);
  for (int i = 0; i < P.npairs; i++) {
    tv[i].tv_sec = (time_t)(P.tmo_ns[i] / 1000000000);
    tv[i].tv_usec = (suseconds_t)(P.tmo_ns[i] % 1000000000 / 1000);
  }
  for (int r = 1; r <= P.rounds; r++) {
    BENCH_CG_BEGIN();
    int64_t t0 = bench_now();
    for (int i = 0; i < P.npairs; i++) {
      if (r > 1) event_del(&evs[i]);
      event_assign(&evs[i], base, P.fds[2 * i], EV_READ | EV_PERSIST, read_cb,
                   (void *)(intptr_t)i);
      event_add(&evs[i], P.timeouts ? &tv[i] : NULL);
    }
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    int64_t t1 = bench_now(); /* lazy libraries apply registrations here */
    bench_cg_phase("setup", r);
    bench_pipes_run(&P, r, t1 - t0, loop_once);
  }
  return 0;
}
