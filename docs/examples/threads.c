/* Threads (docs/guide.md, "Threads"): worker threads hand results back to
 * the loop with evq_wake(); another thread registers a descriptor while
 * the loop is blocked, and the loop sees it at once. Built and run by the
 * suite (guide.threads.<backend>), on every OS: the threads are POSIX
 * threads, which mingw-w64 has on Windows too (winpthreads); with Windows'
 * own threads the evq calls are the same. */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

enum { WAKE = 1, PIPE_TOKEN = 2, JOBS = 8 };

/* guide:begin workers */
/* Results travel through a list of your own; evq_wake() only says "look".
 * Wake-ups before the loop collects one coalesce into one EVQ_WAKE event,
 * so the loop takes everything the list holds each time. */
struct results {
  pthread_mutex_t lock;
  long values[64];
  int count;
};

struct job {
  evq_t *q;
  struct results *out;
  long n;
};

static void *worker(void *arg) {
  struct job *job = arg;
  long sum = 0;
  for (long i = 1; i <= job->n; i++) sum += i; /* the work */
  pthread_mutex_lock(&job->out->lock);
  job->out->values[job->out->count++] = sum;
  pthread_mutex_unlock(&job->out->lock);
  evq_wake(job->q); /* safe from any thread */
  return NULL;
}

static int take_results(struct results *r, long *into) {
  pthread_mutex_lock(&r->lock);
  int n = r->count;
  for (int i = 0; i < n; i++) into[i] = r->values[i];
  r->count = 0;
  pthread_mutex_unlock(&r->lock);
  return n;
}
/* guide:end workers */

struct late {
  evq_t *q;
  evq_fd_t fd;
};

/* Registers a descriptor that is already readable while the loop sleeps. */
static void *register_late(void *arg) {
  struct late *l = arg;
  struct timespec ts = {0, 50 * 1000000};
  nanosleep(&ts, NULL);
  CHECK(evq_register(l->q, l->fd, EVQ_READABLE, EVQ_LEVEL, PIPE_TOKEN) == 0);
  return NULL;
}

int main(void) {
  evq_t *q;
  evq_options_t opts = {0};
  opts.wake_token = WAKE;
  CHECK(evq_create(&q, &opts) == 0);

  struct results results = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
  struct job jobs[JOBS];
  pthread_t threads[JOBS];
  for (int i = 0; i < JOBS; i++) {
    jobs[i] = (struct job){q, &results, 1000 * (i + 1)};
    CHECK(pthread_create(&threads[i], NULL, worker, &jobs[i]) == 0);
  }
  long got[64], total = 0;
  int collected = 0, wakes = 0;
  while (collected < JOBS) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, 5000 * (int64_t)1000000);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
      CHECK(ev[i].token == WAKE && (ev[i].flags & EVQ_WAKE));
      wakes++;
      int k = take_results(&results, got);
      for (int j = 0; j < k; j++) total += got[j];
      collected += k;
    }
  }
  for (int i = 0; i < JOBS; i++) pthread_join(threads[i], NULL);
  long want = 0;
  for (int i = 0; i < JOBS; i++) want += jobs[i].n * (jobs[i].n + 1) / 2;
  CHECK(total == want);
  CHECK(wakes >= 1 && wakes <= JOBS);
  /* A worker may have woken the loop after its result was already taken
   * with an earlier one: collect that last wake-up, if any. */
  evq_event_t spare[4];
  int left = evq_wait(q, spare, 4, 0);
  CHECK(left == 0 || (left == 1 && spare[0].token == WAKE));

  /* A registration made by another thread while this one is blocked in
   * evq_wait(EVQ_FOREVER) takes effect in that very wait. */
  evq_fd_t fds[2];
  CHECK(evq_socketpair(fds) == 0);
  CHECK(evq_write(q, fds[1], "x", 1) == 1);
  struct late late = {q, fds[0]};
  pthread_t th;
  CHECK(pthread_create(&th, NULL, register_late, &late) == 0);
  evq_event_t ev[4];
  int n = evq_wait(q, ev, 4, EVQ_FOREVER);
  CHECK(n == 1 && ev[0].token == PIPE_TOKEN);
  pthread_join(th, NULL);
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  printf("threads: %d results in %d wake-ups\n", collected, wakes);
  return 0;
}
