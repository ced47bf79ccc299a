/* Timers (docs/guide.md, "Timers"): caller-owned storage, a periodic timer
 * that reports skipped periods, and an idle timeout restarted on activity.
 * Built and run by the suite (guide.timers.<backend>). */
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

#define MS ((int64_t)1000000)
enum { TICK = 1 };

/* guide:begin conn */
/* A connection with an idle timeout: the timer lives in the connection,
 * and its events carry the connection as token, like its I/O events. */
struct conn {
  evq_fd_t fd;
  evq_timer_t idle;
  int timed_out;
};

static void conn_start(evq_t *q, struct conn *c, evq_fd_t fd) {
  c->fd = fd;
  evq_timer_init(&c->idle);
  evq_register(q, fd, EVQ_READABLE, EVQ_EDGE, (uintptr_t)c);
  evq_timer_start(q, &c->idle, 200 * MS, 0, (uintptr_t)c);
}

/* Any activity pushes the deadline back: restarting a running timer to a
 * later deadline costs O(1). */
static void conn_activity(evq_t *q, struct conn *c) {
  evq_timer_start(q, &c->idle, 200 * MS, 0, (uintptr_t)c);
}

static void conn_event(evq_t *q, struct conn *c, const evq_event_t *ev) {
  if (ev->flags & EVQ_TIMER) {
    c->timed_out = 1; /* idle for 200 ms: close it */
    return;
  }
  char buf[256];
  while (evq_read(q, c->fd, buf, sizeof buf) > 0) conn_activity(q, c);
}

/* Closing: stop the timer before the memory that holds it goes away. */
static void conn_stop(evq_t *q, struct conn *c) {
  evq_timer_stop(q, &c->idle); /* EVQ_ENOENT if it already fired: fine */
  evq_deregister(q, c->fd);
  evq_close(c->fd);
}
/* guide:end conn */

static void sleep_ms(int ms) {
  evq_t *q;
  evq_event_t ev[1];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_wait(q, ev, 1, ms * MS) == 0); /* never returns early */
  evq_free(q);
}

int main(void) {
  evq_t *q;
  evq_event_t ev[8];
  CHECK(evq_create(&q, NULL) == 0);

  /* guide:begin periodic */
  evq_timer_t tick;
  evq_timer_init(&tick);
  int64_t start = evq_now();
  evq_timer_start(q, &tick, 10 * MS, 10 * MS, TICK); /* every 10 ms */
  /* guide:end periodic */

  /* Busy elsewhere for 55 ms: the next event covers every period missed,
   * once, and the schedule stays start + 10 ms * k. */
  sleep_ms(55);
  uint32_t periods = 0;
  int n = evq_wait(q, ev, 8, 1000 * MS);
  CHECK(n == 1 && ev[0].token == TICK && (ev[0].flags & EVQ_TIMER));
  /* guide:begin count */
  if (ev[0].flags & EVQ_TIMER) periods += ev[0].data; /* 5 after 55 ms */
  /* guide:end count */
  CHECK(periods >= 5);
  CHECK(evq_now() - start >= (int64_t)periods * 10 * MS); /* never early */
  n = evq_wait(q, ev, 8, 1000 * MS);
  CHECK(n == 1 && ev[0].data >= 1);
  periods += ev[0].data;
  CHECK(evq_now() - start >= (int64_t)periods * 10 * MS);
  CHECK(evq_timer_stop(q, &tick) == 0);
  CHECK(!evq_timer_active(&tick));

  /* The idle timeout: activity every 50 ms for 400 ms pushes it back each
   * time; then silence, and it fires 200 ms after the last activity. Every
   * expiry must come at least 200 ms after the activity before it (a stall
   * of the machine may let it expire between two rounds; never early). */
  evq_fd_t fds[2];
  struct conn c;
  CHECK(evq_socketpair(fds) == 0);
  conn_start(q, &c, fds[0]);
  int64_t last = evq_now();
  int expiries = 0;
  for (int i = 0; i < 9; i++) {
    if (i < 8) CHECK(evq_write(q, fds[1], "x", 1) == 1);
    int64_t until = evq_now() + (i < 8 ? 50 : 5000) * MS;
    while (evq_now() < until && (i < 8 || evq_timer_active(&c.idle))) {
      n = evq_wait(q, ev, 8, until - evq_now());
      CHECK(n >= 0);
      for (int k = 0; k < n; k++) {
        CHECK(ev[k].token == (uintptr_t)&c);
        if (ev[k].flags & EVQ_TIMER) {
          CHECK(evq_now() - last >= 200 * MS);
          expiries++;
        } else {
          last = evq_now();
        }
        conn_event(q, &c, &ev[k]);
      }
    }
  }
  CHECK(c.timed_out && expiries >= 1 && !evq_timer_active(&c.idle));
  CHECK(evq_now() - last >= 200 * MS);
  conn_stop(q, &c);
  evq_close(fds[1]);
  evq_free(q);
  printf("timers: %u periods, idle timeout after %lld ms of silence\n",
         (unsigned)periods, (long long)((evq_now() - last) / MS));
  return 0;
}
