/* wake: cross-thread wake-up round trips. One hub thread runs a loop;
 * each of `threads` workers runs its own loop. A worker raises its request
 * flag and wakes the hub; the hub, woken, answers every raised flag by
 * waking that worker's loop; the worker counts the round trip and asks
 * again, `rt` times. Wake-ups coalesce in every library, so the flags say
 * who asked: the same work on every library. Each library supplies
 * hub_run(), worker_run(i) and the wake calls. (Callgrind's collection
 * switch is per thread, so run.py counts instructions here as the
 * difference between two runs of different length.) */
#ifndef BENCH_WAKE_H
#define BENCH_WAKE_H
#include <pthread.h>
#include <stdatomic.h>

#define MAX_THREADS 64
static int nthreads;
static long rt_per_worker;
static atomic_int req[MAX_THREADS];
static long answered; /* hub only */

static void lib_init(void);
static void hub_run(void);          /* returns after nthreads*rt answers */
static void worker_run(int i);      /* returns after rt round trips */

static void *worker_main(void *arg) {
  worker_run((int)(intptr_t)arg);
  return NULL;
}

static void *hub_main(void *arg) {
  (void)arg;
  hub_run();
  return NULL;
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  nthreads = (int)bench_arg("threads", 1);
  rt_per_worker = bench_arg("rt", 20000);
  if (nthreads < 1 || nthreads > MAX_THREADS) return 2;
  lib_init();
  pthread_t hub, w[MAX_THREADS];
  int64_t c0 = bench_cpu(), t0 = bench_now();
  pthread_create(&hub, NULL, hub_main, NULL);
  for (int i = 0; i < nthreads; i++)
    pthread_create(&w[i], NULL, worker_main, (void *)(intptr_t)i);
  for (int i = 0; i < nthreads; i++) pthread_join(w[i], NULL);
  pthread_join(hub, NULL);
  int64_t t1 = bench_now(), c1 = bench_cpu();
  long total = (long)nthreads * rt_per_worker;
  bench_check(answered == total, "every request answered");
  printf("bench=wake lib=%s threads=%d round_trips=%ld elapsed_ns=%lld "
         "cpu_ns=%lld events=%ld\n",
         LIB, nthreads, total, (long long)(t1 - t0), (long long)(c1 - c0),
         total);
  return 0;
}

/* The hub's answer to a wake-up: wake every worker whose flag is raised. */
static void hub_answer(void (*wake_worker)(int)) {
  for (int i = 0; i < nthreads; i++)
    if (atomic_load_explicit(&req[i], memory_order_relaxed) &&
        atomic_exchange(&req[i], 0)) {
      answered++;
      wake_worker(i);
    }
}

static void worker_ask(int i, void (*wake_hub)(void)) {
  atomic_store(&req[i], 1);
  wake_hub();
}

#endif
