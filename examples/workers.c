/*
 * evq_workers: a pool of worker threads hands results back to an event
 * loop with evq_wake().
 *
 *   evq_workers [jobs 1..64] [threads 1..16]      (default: 16 jobs, 4)
 *
 * Job k counts the primes in [k * 100000, (k + 1) * 100000) by trial
 * division. A worker that finishes a job appends the result to a list
 * under a mutex and calls evq_wake(); the loop, woken with an EVQ_WAKE
 * event, takes the whole list and prints each result. Wake-ups made
 * before the loop collects them coalesce into one event, so the loop
 * always drains the list, and prints how many results came per wake-up.
 * Meanwhile a 20 ms periodic timer shows the loop stays free to do other
 * work. The total is checked against a sieve; the program exits 1 if it
 * differs, else ends with "workers: all checks passed".
 *
 * Threads are POSIX threads (on Windows, mingw-w64's winpthreads).
 */
#include <evq.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPAN 100000
#define MAX_JOBS 64
#define MAX_THREADS 16
#define TOKEN_WAKE 1
#define TOKEN_TICK 2

typedef struct job {
  long lo, hi;
  long primes;       /* the result */
  int worker;        /* who computed it */
  struct job *next;  /* in the done list */
} job_t;

typedef struct pool {
  evq_t *q;
  pthread_mutex_t lock; /* guards next_job and done */
  int next_job, njobs;
  job_t jobs[MAX_JOBS];
  job_t *done;
} pool_t;

typedef struct worker {
  pool_t *pool;
  int id;
} worker_t;

static int is_prime(long n) {
  if (n < 2) return 0;
  for (long d = 2; d * d <= n; d++)
    if (n % d == 0) return 0;
  return 1;
}

static void *work(void *arg) {
  worker_t *w = arg;
  pool_t *p = w->pool;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    job_t *j = p->next_job < p->njobs ? &p->jobs[p->next_job++] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (!j) return NULL;
    long count = 0;
    for (long n = j->lo; n < j->hi; n++) count += is_prime(n);
    j->primes = count;
    j->worker = w->id;
    pthread_mutex_lock(&p->lock);
    j->next = p->done;
    p->done = j;
    pthread_mutex_unlock(&p->lock);
    /* After the unlock: the loop may already be draining the list; this
     * wake-up then costs it one empty pass at worst, never a lost result.
     * evq_wake is safe from any thread. */
    int rc = evq_wake(p->q);
    if (rc != 0) {
      fprintf(stderr, "evq_workers: wake: %s\n", evq_strerror(rc));
      exit(1);
    }
  }
}

/* Primes below n by the sieve of Eratosthenes: the independent check. */
static long sieve(long n) {
  char *composite = calloc((size_t)n, 1);
  if (!composite) return -1;
  long count = 0;
  for (long i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (long m = i * i; m < n; m += i) composite[m] = 1;
  }
  free(composite);
  return count;
}

static int parse_int(const char *arg, int lo, int hi, int *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

int main(int argc, char **argv) {
  static pool_t p; /* 64 jobs: too big for some threads' stacks */
  int nthreads = 4;
  p.njobs = 16;
  if ((argc > 1 && !parse_int(argv[1], 1, MAX_JOBS, &p.njobs)) ||
      (argc > 2 && !parse_int(argv[2], 1, MAX_THREADS, &nthreads)) ||
      argc > 3) {
    fprintf(stderr, "usage: evq_workers [jobs 1..%d] [threads 1..%d]\n",
            MAX_JOBS, MAX_THREADS);
    return 2;
  }
  evq_options_t opts = {.wake_token = TOKEN_WAKE};
  int rc = evq_create(&p.q, &opts);
  if (rc != 0) {
    fprintf(stderr, "evq_workers: create: %s\n", evq_strerror(rc));
    return 1;
  }
  if (pthread_mutex_init(&p.lock, NULL) != 0) return 1;
  for (int k = 0; k < p.njobs; k++)
    p.jobs[k] = (job_t){.lo = (long)k * SPAN, .hi = (long)(k + 1) * SPAN};
  printf("%d workers, %d jobs: counting primes below %ld\n", nthreads,
         p.njobs, (long)p.njobs * SPAN);

  evq_timer_t tick;
  evq_timer_init(&tick);
  if ((rc = evq_timer_start(p.q, &tick, 20000000, 20000000, TOKEN_TICK))) {
    fprintf(stderr, "evq_workers: timer: %s\n", evq_strerror(rc));
    return 1;
  }
  pthread_t threads[MAX_THREADS];
  worker_t workers[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) {
    workers[i] = (worker_t){.pool = &p, .id = i};
    if (pthread_create(&threads[i], NULL, work, &workers[i]) != 0) {
      fprintf(stderr, "evq_workers: cannot start thread %d\n", i);
      return 1;
    }
  }

  long total = 0;
  int received = 0, wakeups = 0, most = 0;
  uint64_t ticks = 0;
  while (received < p.njobs) {
    evq_event_t ev[4];
    int n = evq_wait(p.q, ev, 4, EVQ_FOREVER);
    if (n < 0) {
      fprintf(stderr, "evq_workers: wait: %s\n", evq_strerror(n));
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (ev[i].token == TOKEN_TICK) {
        ticks += ev[i].data;  /* the loop is free while workers compute */
        continue;
      }
      pthread_mutex_lock(&p.lock);  /* EVQ_WAKE: take every result */
      job_t *list = p.done;
      p.done = NULL;
      pthread_mutex_unlock(&p.lock);
      int batch = 0;
      for (job_t *j = list; j; j = j->next, batch++) {
        printf("  [%7ld, %7ld): %5ld primes (worker %d)\n", j->lo, j->hi,
               j->primes, j->worker);
        total += j->primes;
      }
      received += batch;
      wakeups++;
      if (batch > most) most = batch;
    }
  }
  for (int i = 0; i < nthreads; i++)
    if (pthread_join(threads[i], NULL) != 0) return 1;
  if ((rc = evq_timer_stop(p.q, &tick)) != 0) {
    fprintf(stderr, "evq_workers: timer stop: %s\n", evq_strerror(rc));
    return 1;
  }
  evq_free(p.q);
  pthread_mutex_destroy(&p.lock);

  long expected = sieve((long)p.njobs * SPAN);
  printf("%d results in %d wake-ups (up to %d per wake-up), %llu ticks of "
         "the loop meanwhile\n", received, wakeups, most,
         (unsigned long long)ticks);
  printf("%ld primes below %ld; the sieve says %ld\n", total,
         (long)p.njobs * SPAN, expected);
  if (total != expected) return 1;
  printf("workers: all checks passed\n");
  return 0;
}
