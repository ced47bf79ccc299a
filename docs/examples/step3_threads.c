/* The guide's step 3 (docs/guide.md, "Step 3: threads and wake-ups"),
 * shown there whole. Built and run by the suite on every backend
 * (guide.step3_threads.<backend>), on Windows too: its POSIX threads are
 * mingw-w64's winpthreads there; it checks its own total. */
/* guide:begin program */
/* Worker threads hand their results to the loop's thread with evq_wake(). */
#include <evq.h>
#include <pthread.h>
#include <stdio.h>

#define WORKERS 4

struct shared { /* what the workers hand over, under a lock */
  pthread_mutex_t lock;
  long long results[WORKERS];
  int count;
};

struct worker {
  pthread_t thread;
  evq_t *q;
  struct shared *shared;
  long from, to;
};

static void *work(void *arg) {
  struct worker *w = arg;
  long long sum = 0;
  for (long i = w->from; i < w->to; i++) sum += i; /* the work */
  pthread_mutex_lock(&w->shared->lock);
  w->shared->results[w->shared->count++] = sum;
  pthread_mutex_unlock(&w->shared->lock);
  evq_wake(w->q); /* from any thread: the loop's wait returns EVQ_WAKE */
  return NULL;
}

int main(void) {
  evq_t *q;
  evq_options_t opts = {0};
  opts.wake_token = 1; /* the token of EVQ_WAKE events */
  if (evq_create(&q, &opts) != 0) return 1;
  struct shared shared = {.lock = PTHREAD_MUTEX_INITIALIZER};
  struct worker workers[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    workers[i] = (struct worker){.q = q, .shared = &shared,
                                 .from = i * 1000000L, .to = (i + 1) * 1000000L};
    pthread_create(&workers[i].thread, NULL, work, &workers[i]);
  }

  long long total = 0;
  int collected = 0;
  while (collected < WORKERS) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, EVQ_FOREVER);
    for (int i = 0; i < n; i++) {
      if (!(ev[i].flags & EVQ_WAKE)) continue;
      /* Wake-ups coalesce: one event may stand for several workers, so
       * take everything there is. */
      pthread_mutex_lock(&shared.lock);
      for (int k = 0; k < shared.count; k++) total += shared.results[k];
      printf("woken: %d results\n", shared.count);
      collected += shared.count;
      shared.count = 0;
      pthread_mutex_unlock(&shared.lock);
    }
  }
  for (int i = 0; i < WORKERS; i++) pthread_join(workers[i].thread, NULL);
  evq_free(q);
  long long n = WORKERS * 1000000LL;
  printf("total %lld\n", total);
  return total == n * (n - 1) / 2 ? 0 : 1;
}
/* guide:end program */
