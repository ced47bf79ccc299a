/* http "hello" server, evq: level-triggered registrations, token = the
 * connection's state. */
#define LIB "evq"
#include "../common.h"
#include <evq_net.h>

#define CAP 256

typedef struct conn {
  evq_fd_t fd;
  unsigned char st;
} conn_t;

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  evq_t *q;
  int rc = evq_create(&q, NULL);
  if (rc < 0) {
    fprintf(stderr, "evq_create: %s\n", evq_strerror(rc));
    return 1;
  }
  evq_fd_t lfd;
  rc = evq_tcp_listen(&lfd, "127.0.0.1", (uint16_t)bench_arg("port", 0), 1024);
  if (rc < 0) {
    fprintf(stderr, "evq_tcp_listen: %s\n", evq_strerror(rc));
    return 1;
  }
  conn_t listener = {.fd = lfd};
  evq_register(q, lfd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)&listener);
  bench_announce_port(evq_socket_port(lfd));
  static char buf[16384], out[BENCH_HTTP_OUT_MAX];
  for (;;) {
    evq_event_t ev[CAP];
    int n = evq_wait(q, ev, CAP, EVQ_FOREVER);
    if (n < 0) {
      fprintf(stderr, "evq_wait: %s\n", evq_strerror(n));
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = (conn_t *)ev[i].token;
      if (c == &listener) {
        evq_fd_t fd;
        while (evq_accept(q, lfd, &fd) == 0) {
          bench_nodelay(fd);
          conn_t *x = calloc(1, sizeof *x);
          x->fd = fd;
          evq_register(q, fd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)x);
        }
        continue;
      }
      ptrdiff_t r = evq_read(q, c->fd, buf, sizeof buf);
      if (r > 0) {
        size_t len = bench_http_fill(out, bench_http_requests(&c->st, buf, (size_t)r));
        if (len == 0 || evq_write(q, c->fd, out, len) == (ptrdiff_t)len) continue;
      } else if (r == EVQ_EAGAIN)
        continue;
      evq_deregister(q, c->fd);
      evq_close(c->fd);
      free(c);
    }
  }
}
