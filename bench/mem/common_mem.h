/* mem: heap bytes per registered descriptor and per running timer,
 * including the handle the caller must provide (uv_poll_t, ev_io, struct
 * event; evq needs none for a descriptor, an evq_timer_t for a timer).
 * Measured as the growth of glibc's in-use heap (mallinfo2) across fds
 * registrations and timers timer starts; the kernel's own per-descriptor
 * epoll memory is the same for every library and not counted. Each library
 * supplies m_init, m_register(i, fd), m_timers(n). */
#ifndef BENCH_MEM_H
#define BENCH_MEM_H
#include <malloc.h>

static void m_init(void);
static void m_register(long n, const int *fds);
static void m_timers(long n);
static size_t handle_fd, handle_timer; /* sizeof the caller's handles */

static size_t heap_used(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  long nfds = bench_arg("fds", 8000), ntimers = bench_arg("timers", 1000000);
  long lim = bench_fd_limit();
  if (nfds + 64 > lim) nfds = (lim - 64) & ~1L;
  int *fds = malloc(sizeof(int) * (size_t)nfds);
  for (long i = 0; i + 1 < nfds; i += 2) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[i]) < 0) bench_die("socketpair");
    bench_nonblock(fds[i]);
    bench_nonblock(fds[i + 1]);
  }
  m_init();
  size_t m0 = heap_used();
  m_register(nfds, fds);
  size_t m1 = heap_used();
  m_timers(ntimers);
  size_t m2 = heap_used();
  printf("bench=mem lib=%s fds=%ld timers=%ld bytes_per_fd=%.1f "
         "bytes_per_timer=%.1f handle_fd=%zu handle_timer=%zu\n",
         LIB, nfds, ntimers, (double)(m1 - m0) / (double)nfds,
         (double)(m2 - m1) / (double)ntimers, handle_fd, handle_timer);
  return 0;
}
#endif
