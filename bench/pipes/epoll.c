/* pipes, raw epoll: the hand-written physical limit. Level-triggered like
 * the libraries; timeouts kept in a hand-written binary min-heap with the
 * clock read once per loop iteration. */
#define LIB "epoll"
#include "../common.h"
#include <sys/epoll.h>

static bench_pipes_t P;
static int ep;

/* Indexed binary min-heap of (deadline, pair). */
static int64_t *dl;   /* deadline per pair */
static int *heap;     /* pairs, heap order */
static int *pos;      /* pair -> heap index, -1 if absent */
static int hn;
static int64_t now;

static void h_swap(int a, int b) {
  int x = heap[a];
  heap[a] = heap[b];
  heap[b] = x;
  pos[heap[a]] = a;
  pos[heap[b]] = b;
}
static void h_up(int i) {
  while (i > 0) {
    int p = (i - 1) / 2;
    if (dl[heap[p]] <= dl[heap[i]]) break;
    h_swap(i, p);
    i = p;
  }
}
static void h_down(int i) {
  for (;;) {
    int l = 2 * i + 1, m = i;
    if (l < hn && dl[heap[l]] < dl[heap[m]]) m = l;
    if (l + 1 < hn && dl[heap[l + 1]] < dl[heap[m]]) m = l + 1;
    if (m == i) break;
    h_swap(i, m);
    i = m;
  }
}
static void h_set(int pair, int64_t deadline) {
  if (pos[pair] < 0) {
    pos[pair] = hn;
    heap[hn++] = pair;
  }
  int64_t old = dl[pair];
  dl[pair] = deadline;
  if (deadline < old) h_up(pos[pair]); else h_down(pos[pair]);
}
static void h_del(int pair) {
  int i = pos[pair];
  if (i < 0) return;
  pos[pair] = -1;
  if (i != --hn) {
    heap[i] = heap[hn];
    pos[heap[i]] = i;
    h_up(i);
    h_down(pos[heap[i]]);
  }
}

static void read_cb(int idx) {
  if (P.timeouts) h_set(idx, now + P.tmo_ns[idx]);
  bench_pipes_on_read(&P, idx);
}

static void loop_once(void) {
  struct epoll_event ev[1024];
  int n = epoll_wait(ep, ev, 1024, 0);
  if (n < 0 && errno != EINTR) bench_die("epoll_wait");
  if (P.timeouts) now = bench_now();
  for (int i = 0; i < n; i++) read_cb((int)ev[i].data.u32);
  if (P.timeouts)
    while (hn > 0 && dl[heap[0]] <= now) {
      P.timeouts_fired++;
      h_del(heap[0]);
    }
}

int main(int argc, char **argv) {
  bench_pipes_setup(&P, argc, argv);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) bench_die("epoll_create1");
  dl = calloc((size_t)P.npairs, sizeof *dl);
  heap = calloc((size_t)P.npairs, sizeof *heap);
  pos = malloc((size_t)P.npairs * sizeof *pos);
  for (int i = 0; i < P.npairs; i++) pos[i] = -1;
  for (int r = 1; r <= P.rounds; r++) {
    BENCH_CG_BEGIN();
    int64_t t0 = bench_now();
    now = t0;
    for (int i = 0; i < P.npairs; i++) {
      struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
      if (r > 1) {
        epoll_ctl(ep, EPOLL_CTL_DEL, P.fds[2 * i], NULL);
        h_del(i);
      }
      if (epoll_ctl(ep, EPOLL_CTL_ADD, P.fds[2 * i], &e) < 0) bench_die("epoll_ctl");
      if (P.timeouts) h_set(i, now + P.tmo_ns[i]);
    }
    loop_once();
    int64_t t1 = bench_now(); /* lazy libraries apply registrations here */
    bench_cg_phase("setup", r);
    bench_pipes_run(&P, r, t1 - t0, loop_once);
  }
  return 0;
}
