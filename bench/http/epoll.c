/* http "hello" server, raw epoll, level-triggered. Per readiness: one read,
 * count the requests that ended, one write of that many responses. */
#define LIB "epoll"
#include "../common.h"
#include <sys/epoll.h>

int main(int argc, char **argv) {
  bench_args(argc, argv);
  long maxfd = bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  unsigned char *st = calloc((size_t)maxfd, 1); /* matcher state per fd */
  int lfd = bench_listen((int)bench_arg("port", 0));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) < 0) bench_die("epoll_ctl");
  bench_announce_port(bench_local_port(lfd));
  static char buf[16384], out[BENCH_HTTP_OUT_MAX];
  for (;;) {
    struct epoll_event ev[256];
    int n = epoll_wait(ep, ev, 256, -1);
    if (n < 0 && errno != EINTR) bench_die("epoll_wait");
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          bench_nodelay(c);
          st[c] = 0;
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        size_t len = bench_http_fill(out, bench_http_requests(&st[fd], buf, (size_t)r));
        if (len == 0 || write(fd, out, len) == (ssize_t)len) continue;
      } else if (r < 0 && errno == EAGAIN)
        continue;
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
    }
  }
}
