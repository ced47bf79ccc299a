/* ping-pong echo server, libevent: one EV_READ|EV_PERSIST event per
 * connection. */
#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>

static char buf[65536];

static void conn_cb(evutil_socket_t fd, short which, void *arg) {
  (void)which;
  ssize_t r = read(fd, buf, sizeof buf);
  if (r > 0) {
    if (write(fd, buf, (size_t)r) == r) return;
  } else if (r < 0 && errno == EAGAIN)
    return;
  event_free((struct event *)arg);
  close(fd);
}

static void accept_cb(evutil_socket_t fd, short which, void *arg) {
  (void)which;
  struct event_base *base = arg;
  int c;
  while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    bench_nodelay(c);
    struct event *ev = event_new(base, c, EV_READ | EV_PERSIST, conn_cb,
                                 event_self_cbarg());
    event_add(ev, NULL);
  }
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  struct event_config *cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  struct event_base *base = event_base_new_with_config(cfg);
  int lfd = bench_listen((int)bench_arg("port", 0));
  struct event *lev = event_new(base, lfd, EV_READ | EV_PERSIST, accept_cb, base);
  event_add(lev, NULL);
  bench_announce_port(bench_local_port(lfd));
  event_base_dispatch(base);
  return 0;
}
