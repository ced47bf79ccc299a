/* churn server, raw epoll: the physical limit (accept4, EPOLL_CTL_ADD, one
 * read and write, close without EPOLL_CTL_DEL, as most hand-written loops
 * do). */
#define LIB "epoll"
#include "../common.h"
#include <sys/epoll.h>

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int lfd = bench_listen((int)bench_arg("port", 0));
  struct epoll_event le = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le) < 0) bench_die("epoll_ctl");
  bench_announce_port(bench_local_port(lfd));
  for (;;) {
    struct epoll_event ev[256];
    int n = epoll_wait(ep, ev, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) bench_die("epoll_wait");
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &e) < 0) bench_die("epoll_ctl");
        }
        continue;
      }
      char b;
      ssize_t r = read(fd, &b, 1);
      if (r < 0 && errno == EAGAIN) continue;
      if (r == 1 && write(fd, &b, 1) != 1) {
      }
      close(fd);
    }
  }
}
