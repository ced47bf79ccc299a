/* timers: libuv's million-timers schedule (timer i expires after
 * 1 + i/1000 ms, so n = 10,000,000 spans 10 s), measured in four phases:
 *   start    start all n timers
 *   stop     stop all n before any expires (cancellation)
 *   restart  start them all again (reported, not ranked)
 *   dispatch run the loop until all n have fired (wall and CPU time; the
 *            wall time is mostly waiting for the 10 s schedule, the CPU
 *            time is the library's cost)
 * Each library supplies t_init, t_start(i, ms), t_stop(i), t_run(). */
#ifndef BENCH_TIMERS_H
#define BENCH_TIMERS_H

static long n_timers, fired;

static void t_init(void);
static void t_start(long i, uint64_t ms);
static void t_stop(long i);
static void t_run(void);

static inline uint64_t t_timeout_ms(long i) { return 1 + (uint64_t)(i / 1000); }

int main(int argc, char **argv) {
  bench_args(argc, argv);
  n_timers = bench_arg("n", 10000000);
  t_init();
  BENCH_CG_BEGIN();
  int64_t t0 = bench_now();
  for (long i = 0; i < n_timers; i++) t_start(i, t_timeout_ms(i));
  int64_t t1 = bench_now();
  BENCH_CG_END();
  BENCH_CG_DUMP("start");
  BENCH_CG_BEGIN();
  int64_t t2 = bench_now();
  for (long i = 0; i < n_timers; i++) t_stop(i);
  int64_t t3 = bench_now();
  BENCH_CG_END();
  BENCH_CG_DUMP("stop");
  int64_t t4 = bench_now();
  for (long i = 0; i < n_timers; i++) t_start(i, t_timeout_ms(i));
  int64_t t5 = bench_now();
  BENCH_CG_BEGIN();
  int64_t c6 = bench_cpu();
  int64_t t6 = bench_now();
  t_run();
  int64_t t7 = bench_now();
  int64_t c7 = bench_cpu();
  BENCH_CG_END();
  BENCH_CG_DUMP("dispatch");
  printf("bench=timers lib=%s n=%ld start_ns=%lld stop_ns=%lld restart_ns=%lld "
         "dispatch_ns=%lld dispatch_cpu_ns=%lld events=%ld\n",
         LIB, n_timers, (long long)(t1 - t0), (long long)(t3 - t2),
         (long long)(t5 - t4), (long long)(t7 - t6), (long long)(c7 - c6),
         fired);
  if (fired != n_timers) {
    fprintf(stderr, "%s: %ld of %ld timers fired\n", LIB, fired, n_timers);
    return 1;
  }
  return 0;
}

#endif
