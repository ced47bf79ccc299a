/* churn client (raw epoll, the same for every server): keeps conns
 * connections to 127.0.0.1:port in flight, each one connecting, sending
 * one byte, waiting for it back and closing, then starting over, for ms
 * milliseconds. Prints the connections completed and their rate: the cost
 * of a connection's whole life on the server (accept, register, one event,
 * deregister, close). */
#define LIB "client"
#include "../common.h"

/* A server silent this long is stuck. Not 1 s: under callgrind on a loaded
 * machine a server's first pass through new code (valgrind translating it,
 * Asio's templates) has taken longer. */
#define STALL_MS 10000
#include <sys/epoll.h>

static int start(int ep, const struct sockaddr_in *a, int slot) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) bench_die("socket");
  if (connect(fd, (const struct sockaddr *)a, sizeof *a) < 0 &&
      errno != EINPROGRESS)
    bench_die("connect");
  struct epoll_event e = {.events = EPOLLOUT | EPOLLIN,
                          .data.u64 = (uint64_t)slot << 32 | (uint32_t)fd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) bench_die("epoll_ctl");
  return fd;
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  int port = (int)bench_arg("port", 0);
  int nconns = (int)bench_arg("conns", 16);
  long ms = bench_arg("ms", 1000);
  long max = bench_arg("count", 0);
  if (port <= 0 || nconns < 1) {
    fprintf(stderr, "usage: client port=N conns=N ms=N [count=N]\n");
    return 2;
  }
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char *sent = calloc((size_t)nconns, 1);
  long done = 0, started = 0;
  int live = 0;
  int64_t t0 = bench_now(), end = t0 + ms * 1000000;
  for (int i = 0; i < nconns; i++, live++, started++) start(ep, &a, i);
  while (live > 0) {
    struct epoll_event ev[256];
    int n = epoll_wait(ep, ev, 256, STALL_MS);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "client: nothing for %d s\n", STALL_MS / 1000);
      return 1;
    }
    int stopping = bench_now() >= end || (max && started >= max);
    for (int k = 0; k < n; k++) {
      int fd = (int)(uint32_t)ev[k].data.u64, slot = (int)(ev[k].data.u64 >> 32);
      if (!sent[slot]) {
        if (!(ev[k].events & EPOLLOUT)) continue;
        if (write(fd, "c", 1) != 1) bench_die("write");
        sent[slot] = 1;
        continue;
      }
      char c;
      ssize_t r = read(fd, &c, 1);
      if (r < 0 && errno == EAGAIN) continue;
      if (r != 1) {
        fprintf(stderr, "client: no echo before the close\n");
        return 1;
      }
      close(fd);
      sent[slot] = 0;
      done++;
      live--;
      if (!stopping) {
        start(ep, &a, slot);
        live++;
        started++;
      }
    }
  }
  int64_t t1 = bench_now();
  printf("bench=churn lib=client conns=%d connections=%ld elapsed_ns=%lld "
         "conn_per_s=%.1f\n",
         nconns, done, (long long)(t1 - t0), done * 1e9 / (double)(t1 - t0));
  return 0;
}
