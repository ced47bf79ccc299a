/* http "hello" server, libevent: one EV_READ|EV_PERSIST event per
 * connection (plain events, not bufferevents or evhttp, so every library
 * does the same work). */
#define LIB "libevent"
#include "../common.h"
#include <event2/event.h>
#include <event2/event_struct.h>

typedef struct conn {
  struct event ev;
  unsigned char st;
} conn_t;

static char buf[16384], out[BENCH_HTTP_OUT_MAX];

static void conn_cb(evutil_socket_t fd, short which, void *arg) {
  (void)which;
  conn_t *c = arg;
  ssize_t r = read(fd, buf, sizeof buf);
  if (r > 0) {
    size_t len = bench_http_fill(out, bench_http_requests(&c->st, buf, (size_t)r));
    if (len == 0 || write(fd, out, len) == (ssize_t)len) return;
  } else if (r < 0 && errno == EAGAIN)
    return;
  event_del(&c->ev);
  close(fd);
  free(c);
}

static void accept_cb(evutil_socket_t fd, short which, void *arg) {
  (void)which;
  struct event_base *base = arg;
  int c;
  while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    bench_nodelay(c);
    conn_t *x = calloc(1, sizeof *x);
    event_assign(&x->ev, base, c, EV_READ | EV_PERSIST, conn_cb, x);
    event_add(&x->ev, NULL);
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
