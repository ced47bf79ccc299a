/* Events within one batch (docs/guide.md, "Stale events in a batch"): a
 * handler that closes another connection must keep the events already in
 * the array from reaching freed memory. Built and run by the suite
 * (guide.batch.<backend>). */
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

/* guide:begin close */
struct conn {
  evq_fd_t fd;
  int closed;
  struct conn *next_closed; /* freed after the batch */
  struct conn *partner;     /* closing one closes the other (a proxy) */
};

static struct conn *closed_list;

/* Deregister and close in one call (evq cannot see a plain close); free
 * the memory later. */
static void conn_close(evq_t *q, struct conn *c) {
  if (c->closed) return;
  evq_deregister_close(q, c->fd);
  c->closed = 1;
  c->next_closed = closed_list;
  closed_list = c;
}
/* guide:end close */

static int handled;

static void handle(evq_t *q, struct conn *c, uint32_t flags) {
  (void)flags;
  handled++;
  conn_close(q, c);
  if (c->partner) conn_close(q, c->partner);
}

/* guide:begin batch */
/* Events already in the array were collected before any handler ran:
 * evq_deregister() keeps later waits from reporting a connection, not
 * this batch. So skip connections closed earlier in the batch, and free
 * them only once the batch is done. */
static int run_batch(evq_t *q) {
  evq_event_t ev[64];
  int n = evq_wait(q, ev, 64, EVQ_FOREVER);
  for (int i = 0; i < n; i++) {
    struct conn *c = (struct conn *)ev[i].token;
    if (c->closed) continue; /* closed by an earlier event of this batch */
    handle(q, c, ev[i].flags); /* may close other connections */
  }
  while (closed_list) { /* nothing in ev[] can refer to them now */
    struct conn *c = closed_list;
    closed_list = c->next_closed;
    free(c);
  }
  return n;
}
/* guide:end batch */

int main(void) {
  evq_t *q;
  evq_fd_t a[2], b[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(a) == 0);
  CHECK(evq_socketpair(b) == 0);
  struct conn *x = calloc(1, sizeof *x), *y = calloc(1, sizeof *y);
  CHECK(x && y);
  x->fd = a[0];
  y->fd = b[0];
  x->partner = y;
  y->partner = x;
  CHECK(evq_register(q, x->fd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)x) == 0);
  CHECK(evq_register(q, y->fd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)y) == 0);
  /* Both ready before the wait, so one batch carries both events (level
   * mode: wait until both are reported together). */
  CHECK(evq_write(q, a[1], "x", 1) == 1);
  CHECK(evq_write(q, b[1], "y", 1) == 1);
  evq_event_t probe[4];
  int64_t end = evq_now() + 5000000000;
  while (evq_wait(q, probe, 4, 0) < 2 && evq_now() < end) {
  }
  /* The first handler closes both; the second event is skipped, and both
   * are freed after the batch. An address sanitizer build would catch a
   * use after free here. */
  int n = run_batch(q);
  CHECK(handled == 1);
  CHECK(closed_list == NULL);
  /* epoll, kqueue and poll report both in that batch, so the skip ran;
   * IOCP may complete the second poll just after the first. */
  if (strcmp(evq_backend(q), "iocp") != 0) CHECK(n == 2);
  CHECK(n == 1 || n == 2);
  /* Nothing more for either: they were deregistered. */
  evq_event_t ev[4];
  CHECK(evq_wait(q, ev, 4, 20000000) == 0);
  evq_close(a[1]);
  evq_close(b[1]);
  evq_free(q);
  puts("batch: ok");
  return 0;
}
