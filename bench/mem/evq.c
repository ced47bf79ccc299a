#define LIB "evq"
#include "../common.h"
#include <evq.h>
#include "common_mem.h"

static evq_t *q;
static void m_init(void) {
  if (evq_create(&q, NULL) < 0) exit(1);
  handle_fd = 0; /* evq keeps a registration's state itself */
  handle_timer = sizeof(evq_timer_t);
}
static void m_register(long n, const int *fds) {
  for (long i = 0; i < n; i++)
    if (evq_register(q, fds[i], EVQ_READABLE, EVQ_LEVEL, (uintptr_t)i) < 0) exit(1);
  evq_event_t ev[8];
  evq_wait(q, ev, 8, 0);
}
static void m_timers(long n) {
  evq_timer_t *t = calloc((size_t)n, sizeof *t);
  for (long i = 0; i < n; i++) {
    evq_timer_init(&t[i]);
    evq_timer_start(q, &t[i], 1000000000000ll + i * 1000000ll, 0, (uintptr_t)i);
  }
}
