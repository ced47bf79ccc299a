/* guide: POSIX only (kill; on Windows the same calls take the console's
 * Ctrl-C and Ctrl-Break as SIGINT and SIGBREAK).
 * Signals as events (docs/guide.md, "Signals"): a queue subscribes to a
 * signal and each delivery is an EVQ_SIGNAL event; and EVQ_OPT_EINTR for
 * runtimes whose own handlers must run between waits. Built and run by the
 * suite (guide.sigevents.<backend>). */
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

enum { TERM = 1, HUP = 2 };

static volatile sig_atomic_t runtime_pending;
static void runtime_handler(int sig) {
  (void)sig;
  runtime_pending = 1; /* the runtime runs its real handler later */
}

/* Sends SIGUSR1 to this process after 30 ms. */
static void *late_signal(void *arg) {
  (void)arg;
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
  kill(getpid(), SIGUSR1);
  return NULL;
}

int main(void) {
  evq_t *q;
  CHECK(evq_create(&q, NULL) == 0);
  /* guide:begin subscribe */
  evq_signal_add(q, SIGTERM, TERM); /* stop */
  evq_signal_add(q, SIGHUP, HUP);   /* reload the configuration */
  /* guide:end subscribe */

  /* Two SIGTERMs and a SIGHUP while nobody waits: kept, and coalesced. */
  CHECK(kill(getpid(), SIGTERM) == 0);
  CHECK(kill(getpid(), SIGTERM) == 0);
  CHECK(kill(getpid(), SIGHUP) == 0);
  int stop = 0, reloads = 0;
  unsigned terms = 0;
  while (!stop || reloads == 0) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, 5000 * (int64_t)1000000);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
      /* guide:begin dispatch */
      if (ev[i].flags & EVQ_SIGNAL) {
        if (ev[i].token == TERM) stop = 1; /* data: deliveries, coalesced */
        if (ev[i].token == HUP) reloads++;
      }
      /* guide:end dispatch */
      if (ev[i].token == TERM) terms += ev[i].data;
    }
  }
  CHECK(terms == 2);   /* two deliveries, coalesced into one event */
  CHECK(reloads == 1);

  /* The last subscription's end puts back the disposition evq found. */
  CHECK(evq_signal_remove(q, SIGTERM) == 0);
  CHECK(evq_signal_remove(q, SIGHUP) == 0);
  struct sigaction now;
  CHECK(sigaction(SIGTERM, NULL, &now) == 0);
  CHECK(now.sa_handler == SIG_DFL);
  evq_free(q);

  /* EVQ_OPT_EINTR: a wait during which a handler ran returns EVQ_EINTR,
   * so the runtime gets control back to run its own handler. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = runtime_handler; /* no SA_RESTART */
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  pthread_t th;
  /* guide:begin eintr */
  evq_options_t opts = {0};
  opts.flags = EVQ_OPT_EINTR;
  evq_create(&q, &opts);
  /* guide:end eintr */
  /* Block SIGUSR1 in the helper thread, so it reaches this one. */
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  CHECK(pthread_sigmask(SIG_BLOCK, &usr1, &old) == 0);
  CHECK(pthread_create(&th, NULL, late_signal, NULL) == 0);
  CHECK(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
  evq_event_t ev[4];
  int handled = 0;
  /* guide:begin eintr_loop */
  for (;;) {
    int n = evq_wait(q, ev, 4, EVQ_FOREVER);
    if (n == EVQ_EINTR) { /* a signal handler ran: let the runtime act */
      handled = runtime_pending;
      break;
    }
    /* ...handle n events... */
  }
  /* guide:end eintr_loop */
  CHECK(handled == 1);
  pthread_join(th, NULL);
  evq_free(q);
  puts("sigevents: ok");
  return 0;
}
