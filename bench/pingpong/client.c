/* ping-pong client (raw epoll, the same for every server): conns TCP
 * connections to 127.0.0.1:port, each sending a size-byte message and
 * waiting for its echo before sending the next, for ms milliseconds.
 * Prints the round trips completed and their rate. */
#define LIB "client"
#include "../common.h"

/* A server silent this long is stuck. Not 1 s: under callgrind on a loaded
 * machine a server's first pass through new code (valgrind translating it,
 * Asio's templates) has taken longer. */
#define STALL_MS 10000
#include <sys/epoll.h>

typedef struct conn {
  int fd;
  int got; /* bytes of the current echo received */
} conn_t;

int main(int argc, char **argv) {
  bench_args(argc, argv);
  int port = (int)bench_arg("port", 0);
  int nconns = (int)bench_arg("conns", 1);
  long ms = bench_arg("ms", 1000);
  int size = (int)bench_arg("size", 32);
  long max_rt = bench_arg("count", 0); /* stop after this many (0: no cap) */
  if (port <= 0 || nconns < 1 || size < 1 || size > 4096) {
    fprintf(stderr, "usage: client port=N conns=N ms=N [size=N count=N]\n");
    return 2;
  }
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  char msg[4096], buf[65536];
  memset(msg, 'p', sizeof msg);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  conn_t *c = calloc((size_t)nconns, sizeof *c);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < nconns; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c[i].fd < 0) bench_die("socket");
    if (connect(c[i].fd, (struct sockaddr *)&a, sizeof a) < 0) bench_die("connect");
    bench_nodelay(c[i].fd);
    bench_nonblock(c[i].fd);
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e) < 0) bench_die("epoll_ctl");
  }
  long rts = 0, sent = 0;
  int outstanding = 0;
  int64_t t0 = bench_now(), end = t0 + ms * 1000000, now = t0;
  for (int i = 0; i < nconns; i++) {
    if (write(c[i].fd, msg, (size_t)size) != size) bench_die("write");
    outstanding++;
    sent++;
  }
  int stopping = 0;
  while (outstanding > 0) {
    struct epoll_event ev[256];
    int n = epoll_wait(ep, ev, 256, STALL_MS);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("epoll_wait");
    }
    if (n == 0) {
      fprintf(stderr, "client: no echo for %d s\n", STALL_MS / 1000);
      return 1;
    }
    now = bench_now();
    if (now >= end || (max_rt && sent >= max_rt)) stopping = 1;
    for (int k = 0; k < n; k++) {
      conn_t *x = &c[ev[k].data.u32];
      ssize_t r = read(x->fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        fprintf(stderr, "client: server closed the connection\n");
        return 1;
      }
      x->got += (int)r;
      if (x->got < size) continue;
      x->got -= size;
      rts++;
      outstanding--;
      if (!stopping) {
        if (write(x->fd, msg, (size_t)size) != size) bench_die("write");
        outstanding++;
        sent++;
      }
    }
  }
  int64_t t1 = bench_now();
  for (int i = 0; i < nconns; i++) close(c[i].fd);
  printf("bench=pingpong lib=client conns=%d size=%d round_trips=%ld "
         "elapsed_ns=%lld rt_per_s=%.1f\n",
         nconns, size, rts, (long long)(t1 - t0), rts * 1e9 / (double)(t1 - t0));
  return 0;
}
