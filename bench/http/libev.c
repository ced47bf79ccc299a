/* http "hello" server, libev: one ev_io per connection. */
#define LIB "libev"
#include "../common.h"
#include <ev.h>

typedef struct conn {
  ev_io w;
  unsigned char st;
} conn_t;

static char buf[16384], out[BENCH_HTTP_OUT_MAX];

static void conn_cb(EV_P_ ev_io *w, int revents) {
  (void)revents;
  conn_t *c = (conn_t *)w;
  ssize_t r = read(w->fd, buf, sizeof buf);
  if (r > 0) {
    size_t len = bench_http_fill(out, bench_http_requests(&c->st, buf, (size_t)r));
    if (len == 0 || write(w->fd, out, len) == (ssize_t)len) return;
  } else if (r < 0 && errno == EAGAIN)
    return;
  ev_io_stop(EV_A_ w);
  close(w->fd);
  free(c);
}

static void accept_cb(EV_P_ ev_io *w, int revents) {
  (void)revents;
  int fd;
  while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    bench_nodelay(fd);
    conn_t *c = calloc(1, sizeof *c);
    ev_io_init(&c->w, conn_cb, fd, EV_READ);
    ev_io_start(EV_A_ &c->w);
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
