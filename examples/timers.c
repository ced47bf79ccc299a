/*
 * evq_timers: the three ways to use a timer, on one queue, for one second.
 *
 *   evq_timers
 *
 *  - periodic: a tick every 100 ms. At tick 6 the loop is kept busy for
 *    250 ms, as a slow handler would; the next delivery reports in
 *    event.data the periods it covers, and the schedule is kept (tick k is
 *    due at start + k * 100 ms, late or not).
 *  - a timeout restarted on activity: a 250 ms watchdog restarted at every
 *    tick while a pretend client is active (ticks 1-3). It fires once,
 *    250 ms after the last restart. Restarting later is O(1) in evq, so a
 *    server can do this on every read of every connection.
 *  - one-shot: a reminder for 450 ms, cancelled at tick 2 (it never
 *    fires), and the end of the run at 1000 ms.
 *
 * Each event prints its time since the start. The program checks what the
 * comments claim (nothing fires early, a stopped timer is silent, the
 * counts) and exits 1 if any check fails; otherwise it ends with
 * "timers: all checks passed".
 */
#include <evq.h>

#include <stdio.h>
#include <stdlib.h>

#define MS 1000000LL
enum { TICK = 1, WATCHDOG, REMINDER, END }; /* the timers' tokens */

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "CHECK FAILED: %s\n", what);
    failures++;
  }
}

static void start(evq_t *q, evq_timer_t *t, int64_t delay, int64_t period,
                  uintptr_t token) {
  int rc = evq_timer_start(q, t, delay, period, token);
  if (rc != 0) {
    fprintf(stderr, "evq_timers: timer start: %s\n", evq_strerror(rc));
    exit(1);
  }
}

int main(void) {
  evq_t *q;
  int rc = evq_create(&q, NULL);
  if (rc != 0) {
    fprintf(stderr, "evq_timers: create: %s\n", evq_strerror(rc));
    return 1;
  }
  evq_timer_t tick, watchdog, reminder, end;
  evq_timer_init(&tick);
  evq_timer_init(&watchdog);
  evq_timer_init(&reminder);
  evq_timer_init(&end);

  int64_t t0 = evq_now();
  start(q, &tick, 100 * MS, 100 * MS, TICK);
  start(q, &watchdog, 250 * MS, 0, WATCHDOG);
  start(q, &reminder, 450 * MS, 0, REMINDER);
  start(q, &end, 1000 * MS, 0, END);
  int64_t last_activity = t0;
  uint32_t ticks = 0, watchdog_fired = 0, late_periods = 0;
  int done = 0;

  while (!done) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, EVQ_FOREVER);
    if (n < 0) {
      fprintf(stderr, "evq_timers: wait: %s\n", evq_strerror(n));
      return 1;
    }
    int64_t now = evq_now();
    double ms = (double)(now - t0) / MS;
    for (int i = 0; i < n; i++) {
      check(ev[i].flags == EVQ_TIMER, "only timer events");
      switch (ev[i].token) {
      case TICK:
        ticks += ev[i].data;
        check(now >= t0 + (int64_t)ticks * 100 * MS, "tick never early");
        printf("%5.0f ms  tick %u", ms, ticks);
        if (ev[i].data > 1) {
          printf(" (covers %u periods: the loop was late, the schedule "
                 "kept)", ev[i].data);
          late_periods = ev[i].data;
        }
        if (ticks <= 3) {         /* the pretend client is active */
          start(q, &watchdog, 250 * MS, 0, WATCHDOG);
          last_activity = now;
          printf(", watchdog restarted");
        }
        if (ticks == 2) {
          check(evq_timer_stop(q, &reminder) == 0, "stop the reminder");
          check(!evq_timer_active(&reminder), "stopped means inactive");
          printf(", reminder cancelled");
        }
        if (ticks == 6) {
          printf(", now busy for 250 ms");
          while (evq_now() < now + 250 * MS) {
          } /* stands for a slow handler */
        }
        printf("\n");
        break;
      case WATCHDOG:
        watchdog_fired++;
        check(now >= last_activity + 250 * MS, "watchdog never early");
        check(ticks >= 3, "watchdog not while the client is active");
        printf("%5.0f ms  watchdog fired, %.0f ms after the last activity\n",
               ms, (double)(now - last_activity) / MS);
        break;
      case REMINDER:
        check(0, "a cancelled timer never fires");
        break;
      case END:
        check(now >= t0 + 1000 * MS, "one-shot never early");
        printf("%5.0f ms  end\n", ms);
        done = 1;
        break;
      default:
        check(0, "known token");
      }
    }
  }

  check(evq_timer_active(&tick), "a periodic timer runs until stopped");
  check(evq_timer_stop(q, &tick) == 0, "stop the tick");
  check(evq_timer_stop(q, &tick) == EVQ_ENOENT, "stopping twice: ENOENT");
  check(!evq_timer_active(&end), "a one-shot is done once delivered");
  check(ticks == 10, "10 ticks in 1000 ms, late ones included");
  check(late_periods >= 2, "a late delivery reports the periods it covers");
  check(watchdog_fired == 1, "the watchdog fires exactly once");
  evq_free(q);
  if (failures) return 1;
  printf("timers: all checks passed\n");
  return 0;
}
