/* wake, evq: one queue per thread, evq_wake() both ways. */
#define LIB "evq"
#include "../common.h"
#include <evq.h>
#include "common_wake.h"

static evq_t *hubq, *wq[MAX_THREADS];

static void lib_init(void) {
  if (evq_create(&hubq, NULL) < 0) exit(1);
  for (int i = 0; i < nthreads; i++)
    if (evq_create(&wq[i], NULL) < 0) exit(1);
}
static void wake_hub(void) { evq_wake(hubq); }
static void wake_worker(int i) { evq_wake(wq[i]); }

static void hub_run(void) {
  long total = (long)nthreads * rt_per_worker;
  evq_event_t ev[16];
  while (answered < total) {
    int n = evq_wait(hubq, ev, 16, EVQ_FOREVER);
    for (int k = 0; k < n; k++)
      if (ev[k].flags & EVQ_WAKE) hub_answer(wake_worker);
  }
}

static void worker_run(int i) {
  evq_event_t ev[16];
  long done = 0;
  worker_ask(i, wake_hub);
  while (done < rt_per_worker) {
    int n = evq_wait(wq[i], ev, 16, EVQ_FOREVER);
    for (int k = 0; k < n; k++)
      if (ev[k].flags & EVQ_WAKE && ++done < rt_per_worker) worker_ask(i, wake_hub);
  }
}
