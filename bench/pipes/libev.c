/* pipes, libev: ev_io per pair, ev_timer per pair reset with ev_timer_again. */
#define LIB "libev"
#include "../common.h"
#include <ev.h>

static bench_pipes_t P;
static struct ev_loop *loop;
static ev_io *io;
static ev_timer *tm;

static void timeout_cb(EV_P_ ev_timer *w, int revents) {
  (void)loop; (void)w; (void)revents;
  P.timeouts_fired++;
}

static void read_cb(EV_P_ ev_io *w, int revents) {
  (void)revents;
  int idx = (int)(w - io);
  if (P.timeouts) ev_timer_again(EV_A_ &tm[idx]);
  bench_pipes_on_read(&P, idx);
}

static void loop_once(void) { ev_run(loop, EVRUN_NOWAIT); }

int main(int argc, char **argv) {
  bench_pipes_setup(&P, argc, argv);
  loop = ev_default_loop(EVBACKEND_EPOLL);
  if (!loop) bench_die("ev_default_loop");
  io = calloc((size_t)P.npairs, sizeof *io);
  tm = calloc((size_t)P.npairs, sizeof *tm);
  for (int r = 1; r <= P.rounds; r++) {
    BENCH_CG_BEGIN();
    int64_t t0 = bench_now();
    for (int i = 0; i < P.npairs; i++) {
      if (r > 1) {
        ev_io_stop(loop, &io[i]);
        ev_timer_stop(loop, &tm[i]);
      }
      ev_io_init(&io[i], read_cb, P.fds[2 * i], EV_READ);
      ev_io_start(loop, &io[i]);
      if (P.timeouts) {
        ev_timer_init(&tm[i], timeout_cb, 0., (double)P.tmo_ns[i] / 1e9);
        ev_timer_again(loop, &tm[i]);
      }
    }
    ev_run(loop, EVRUN_NOWAIT);
    int64_t t1 = bench_now(); /* lazy libraries apply registrations here */
    bench_cg_phase("setup", r);
    bench_pipes_run(&P, r, t1 - t0, loop_once);
  }
  return 0;
}
