/* guide: POSIX only (sigaction).
 * Signals and waits (docs/guide.md, "Signals"): a signal does not end a
 * wait; a handler that wants the loop to notice calls evq_wake(), which is
 * async-signal-safe. Built and run by the suite (guide.signals.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

enum { WAKE = 7 };

/* guide:begin handler */
static evq_t *loop_queue;
static volatile sig_atomic_t stop_requested;

/* A handler may call evq_wake() and nothing else of evq's. */
static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
  evq_wake(loop_queue); /* the loop's wait returns an EVQ_WAKE event */
}
/* guide:end handler */

static volatile sig_atomic_t others;
static void on_other_signal(int sig) {
  (void)sig;
  others++; /* no evq_wake: the wait goes on */
}

/* Sends SIGUSR2 a few times (the loop keeps waiting), then SIGTERM. */
static void *signaller(void *arg) {
  (void)arg;
  struct timespec ts = {0, 20 * 1000000};
  for (int i = 0; i < 3; i++) {
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR2);
  }
  nanosleep(&ts, NULL);
  kill(getpid(), SIGTERM);
  return NULL;
}

int main(void) {
  evq_options_t opts = {0};
  opts.wake_token = WAKE;
  CHECK(evq_create(&loop_queue, &opts) == 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_other_signal; /* no SA_RESTART: waits see EINTR */
  CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
  /* guide:begin install */
  struct sigaction stop;
  memset(&stop, 0, sizeof stop);
  stop.sa_handler = on_stop_signal;
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  /* guide:end install */

  pthread_t th;
  CHECK(pthread_create(&th, NULL, signaller, NULL) == 0);
  int64_t start = evq_now();
  /* guide:begin loop */
  while (!stop_requested) {
    evq_event_t ev[64];
    int n = evq_wait(loop_queue, ev, 64, EVQ_FOREVER);
    for (int i = 0; i < n; i++) {
      if (ev[i].flags & EVQ_WAKE) continue; /* the loop condition decides */
      /* ...handle I/O and timers... */
    }
  }
  /* guide:end loop */
  int64_t took = evq_now() - start;
  pthread_join(th, NULL);
  CHECK(stop_requested);
  CHECK(others == 3);         /* three signals came and went ... */
  CHECK(took >= 60 * 1000000); /* ... and none of them ended the wait */
  evq_free(loop_queue);
  printf("signals: stopped after %d other signals\n", (int)others);
  return 0;
}
