/* ping-pong echo server, evq: level-triggered registrations, token = fd. */
#define LIB "evq"
#include "../common.h"
#include <evq_net.h>

#define CAP 256

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
  evq_register(q, lfd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)lfd);
  bench_announce_port(evq_socket_port(lfd));
  static char buf[65536];
  for (;;) {
    evq_event_t ev[CAP];
    int n = evq_wait(q, ev, CAP, EVQ_FOREVER);
    if (n < 0) {
      fprintf(stderr, "evq_wait: %s\n", evq_strerror(n));
      return 1;
    }
    for (int i = 0; i < n; i++) {
      evq_fd_t fd = (evq_fd_t)ev[i].token;
      if (fd == lfd) {
        evq_fd_t c;
        while (evq_accept(q, lfd, &c) == 0) {
          bench_nodelay(c);
          evq_register(q, c, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)c);
        }
        continue;
      }
      ptrdiff_t r = evq_read(q, fd, buf, sizeof buf);
      if (r > 0) {
        if (evq_write(q, fd, buf, (size_t)r) == r) continue;
      } else if (r == EVQ_EAGAIN)
        continue;
      evq_deregister(q, fd);
      evq_close(fd);
    }
  }
}
