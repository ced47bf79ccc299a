/* The guide's step 2 (docs/guide.md, "Step 2: timers"), shown there whole.
 * Built and run by the suite on every backend (guide.step2_timers.<backend>);
 * it checks itself: exit status 0 only if the periodic timer counted at
 * least 3 periods and the deadline did not fire early. */
/* guide:begin program */
/* A heartbeat every 100 ms and a deadline after 350 ms, on one queue. */
#include <evq.h>
#include <stdio.h>

#define MS 1000000LL /* evq counts time in nanoseconds */
enum { HEARTBEAT = 1, DEADLINE = 2 }; /* the timers' tokens */

int main(void) {
  evq_t *q;
  if (evq_create(&q, NULL) != 0) return 1;
  evq_timer_t heartbeat, deadline; /* yours: evq allocates nothing */
  evq_timer_init(&heartbeat);
  evq_timer_init(&deadline);
  int64_t start = evq_now();
  evq_timer_start(q, &heartbeat, 100 * MS, 100 * MS, HEARTBEAT); /* periodic */
  evq_timer_start(q, &deadline, 350 * MS, 0, DEADLINE);          /* once */

  uint64_t beats = 0;
  int64_t elapsed = 0;
  for (int done = 0; !done;) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, EVQ_FOREVER);
    for (int i = 0; i < n; i++) {
      elapsed = (evq_now() - start) / MS;
      if (ev[i].token == HEARTBEAT) {
        beats += ev[i].data; /* periods since the last event: 1 unless late */
        printf("%3lld ms: heartbeat %llu\n", (long long)elapsed,
               (unsigned long long)beats);
      } else if (ev[i].token == DEADLINE) {
        printf("%3lld ms: deadline\n", (long long)elapsed);
        done = 1;
      }
    }
  }
  evq_timer_stop(q, &heartbeat); /* a running timer: stop it before its
                                    storage goes away */
  evq_free(q);
  return beats >= 3 && elapsed >= 350 ? 0 : 1; /* never early */
}
/* guide:end program */
