/* churn server, evq: each connection is accepted, registered, answered
 * once and closed with evq_deregister_close (token = fd). EVQ_BACKEND picks
 * the backend (epoll, io_uring, ...). */
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
        while (evq_accept(q, lfd, &c) == 0)
          evq_register(q, c, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)c);
        continue;
      }
      char b;
      ptrdiff_t r = evq_read(q, fd, &b, 1);
      if (r == EVQ_EAGAIN) continue;
      if (r == 1) evq_write(q, fd, &b, 1);
      evq_deregister_close(q, fd);
    }
  }
}
