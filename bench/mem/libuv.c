#define LIB "libuv"
#include "../common.h"
#include <uv.h>
#include "common_mem.h"

static uv_loop_t *loop;
static void cb(uv_poll_t *h, int s, int e) { (void)h; (void)s; (void)e; }
static void tcb(uv_timer_t *t) { (void)t; }
static void m_init(void) {
  loop = uv_default_loop();
  handle_fd = sizeof(uv_poll_t);
  handle_timer = sizeof(uv_timer_t);
}
static void m_register(long n, const int *fds) {
  uv_poll_t *h = calloc((size_t)n, sizeof *h);
  for (long i = 0; i < n; i++) {
    uv_poll_init(loop, &h[i], fds[i]);
    uv_poll_start(&h[i], UV_READABLE, cb);
  }
  uv_run(loop, UV_RUN_NOWAIT); /* libuv applies registrations lazily */
}
static void m_timers(long n) {
  uv_timer_t *t = calloc((size_t)n, sizeof *t);
  for (long i = 0; i < n; i++) {
    uv_timer_init(loop, &t[i]);
    uv_timer_start(&t[i], tcb, 1000000 + (uint64_t)i, 0);
  }
}
