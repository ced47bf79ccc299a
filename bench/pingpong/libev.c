/* ping-pong echo server, libev: one ev_io per connection. */
#define LIB "libev"
#include "../common.h"
#include <ev.h>

static char buf[65536];

static void conn_cb(EV_P_ ev_io *w, int revents) {
  (void)revents;
  ssize_t r = read(w->fd, buf, sizeof buf);
  if (r > 0) {
    if (write(w->fd, buf, (size_t)r) == r) return;
  } else if (r < 0 && errno == EAGAIN)
    return;
  ev_io_stop(EV_A_ w);
  close(w->fd);
  free(w);
}

static void accept_cb(EV_P_ ev_io *w, int revents) {
  (void)revents;
  int c;
  while ((c = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    bench_nodelay(c);
    ev_io *cw = malloc(sizeof *cw);
    ev_io_init(cw, conn_cb, c, EV_READ);
    ev_io_start(EV_A_ cw);
  }
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  struct ev_loop *loop = ev_default_loop(EVBACKEND_EPOLL);
  int lfd = bench_listen((int)bench_arg("port", 0));
  ev_io lw;
  ev_io_init(&lw, accept_cb, lfd, EV_READ);
  ev_io_start(loop, &lw);
  bench_announce_port(bench_local_port(lfd));
  ev_run(loop, 0);
  return 0;
}
