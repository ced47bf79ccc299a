/* Signals and child processes as events, and waits that a language
 * runtime's signal handler interrupts (POSIX). The child cases every OS
 * shares are conformance/children.c; these are about reaping and
 * SIGCHLD, which Windows does not have. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int own_handler_ran;
static void own_handler(int signo) {
  (void)signo;
  atomic_fetch_add(&own_handler_ran, 1);
}

/* While subscribed, evq's handler replaces the disposition; the last
 * unsubscribe puts back the one evq found. */
TEST(signal_restores_disposition) {
  struct sigaction sa, now;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = own_handler;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  evq_t *a = tq_queue(), *b = tq_queue();
  CHECK_OK(evq_signal_add(a, SIGUSR1, 1));
  CHECK_OK(evq_signal_add(b, SIGUSR1, 2));
  CHECK(raise(SIGUSR1) == 0);
  CHECK_EQ(atomic_load(&own_handler_ran), 0);
  CHECK_OK(evq_signal_remove(a, SIGUSR1));
  CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
  CHECK(now.sa_handler != own_handler); /* b still subscribed */
  CHECK_OK(evq_signal_remove(b, SIGUSR1));
  CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
  CHECK(now.sa_handler == own_handler);
  CHECK(raise(SIGUSR1) == 0);
  CHECK_EQ(atomic_load(&own_handler_ran), 1);
  sa.sa_handler = SIG_DFL;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  evq_free(a);
  evq_free(b);
}

/* A child made by fork() gets back the dispositions evq replaced. */
TEST(signal_fork_restores) {
  evq_t *q = tq_queue();
  CHECK_OK(evq_signal_add(q, SIGUSR1, 1));
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    _exit(now.sa_handler == SIG_DFL ? 0 : 1);
  }
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(raise(SIGUSR1) == 0); /* the parent keeps its subscription */
  CHECK_EQ(tq_wait_one(q, 1).data, 1);
  evq_free(q);
}

/* A signal sent to a child the moment fork() returns gets the child's
 * disposition (the default: SIGTERM ends it), never evq's inherited
 * handler, which would only count it and let the child live on: evq blocks
 * signals across its fork handlers. The race is narrow, so it is tried
 * many times; a child that survives exits with 99 after a second. */
TEST(signal_right_after_fork) {
  evq_t *q = tq_queue();
  CHECK_OK(evq_signal_add(q, SIGTERM, 1));
  for (int i = 0; i < 300; i++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      alarm(1);
      pause(); /* SIGTERM's default action ends the child here */
      _exit(99);
    }
    CHECK(kill(pid, SIGTERM) == 0);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
      fprintf(stderr, "fork %d: the child survived SIGTERM (status %#x)\n", i,
              status);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  }
  CHECK_OK(evq_signal_remove(q, SIGTERM));
  evq_free(q);
}

/* ---- child processes --------------------------------------------------- */

/* Runs a child case with pidfds (where the kernel has them) and with the
 * SIGCHLD fallback that works without them. The cases every OS shares are
 * conformance/children.c. */
static void both_ways(void (*fn)(void)) {
  CHECK(tq_setenv("EVQ_CHILD_FALLBACK", "0") == 0);
  fn();
  CHECK(tq_setenv("EVQ_CHILD_FALLBACK", "1") == 0);
  fn();
}

/* evq reaps the children it watches and no other. */
static void others_untouched(void) {
  evq_t *q = tq_queue();
  pid_t watched = tq_child_spawn(1, 30), other = tq_child_spawn(2, 0);
  CHECK_OK(evq_child_add(q, watched, 1));
  CHECK_EQ(tq_wait_one(q, 1).data, 1);
  int status;
  CHECK_EQ(waitpid(other, &status, 0), other);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  evq_free(q);
}
TEST(child_others_not_reaped) { both_ways(others_untouched); } /* tq: acts-while-waiting */

/* Collects child events until both tokens 1 and 2 came (or 5 s passed):
 * each one once, in out[0] and out[1] by token. */
static void two_children(evq_t *q, evq_event_t out[2]) {
  int got = 0;
  evq_event_t ev[4];
  for (int64_t end = evq_now() + 5000 * MS; got != 3 && evq_now() < end;) {
    int n = tq_wait(q, ev, 4, 100 * MS);
    for (int k = 0; k < n; k++) {
      CHECK(ev[k].token == 1 || ev[k].token == 2);
      CHECK(!(got & (1 << (ev[k].token - 1)))); /* once each */
      got |= 1 << (ev[k].token - 1);
      out[ev[k].token - 1] = ev[k];
    }
  }
  CHECK_EQ(got, 3);
}

/* The caller reaps a watched child itself (evq.h: the watch still ends, with
 * EVQ_CHILD | EVQ_ERROR and data 0), before or after another watched child
 * ends, which is reported with its code all the same; then the queue
 * sleeps. libkqueue's EVFILT_PROC fails on such a child at every wait, with
 * no word to evq (docs/kqueue.md): no event for it nor for a child after
 * it, and every wait returned at once. */
static void reaped_by_caller(int other_first) {
  evq_t *q = tq_queue();
  pid_t a = tq_child_spawn(3, 0), b = tq_child_spawn(4, other_first ? 0 : 100);
  CHECK_OK(evq_child_add(q, a, 1));
  CHECK_OK(evq_child_add(q, b, 2));
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (other_first) /* b has ended (not reaped) before a is */
    CHECK(waitid(P_PID, (id_t)b, &info, WEXITED | WNOWAIT) == 0);
  int status;
  CHECK_EQ(waitpid(a, &status, 0), a);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
  evq_event_t e[2];
  two_children(q, e);
  CHECK_EQ(e[0].flags, EVQ_CHILD | EVQ_ERROR);
  CHECK_EQ(e[0].data, 0);
  CHECK_EQ(e[1].flags, EVQ_CHILD);
  CHECK_EQ(e[1].data, 4);
  CHECK_EQ(evq_child_remove(q, a), EVQ_ENOENT); /* both watches are over */
  CHECK_EQ(evq_child_remove(q, b), EVQ_ENOENT);
  tq_check_sleeps(q); /* and nothing is left that wakes a wait */
  evq_free(q);
}
static void reaped_first(void) { reaped_by_caller(0); }
static void reaped_after_other(void) { reaped_by_caller(1); }
TEST(child_reaped_by_caller) { both_ways(reaped_first); } /* tq: acts-while-waiting */
TEST(child_reaped_by_caller_other_ended) { both_ways(reaped_after_other); } /* tq: acts-while-waiting */

/* A subscription to SIGCHLD and children watched through it share the
 * signal: both keep working. */
TEST(child_and_sigchld_subscription) { /* tq: acts-while-waiting */
  CHECK(tq_setenv("EVQ_CHILD_FALLBACK", "1") == 0);
  evq_t *q = tq_queue();
  CHECK_OK(evq_signal_add(q, SIGCHLD, 77));
  pid_t pid = tq_child_spawn(9, 20);
  CHECK_OK(evq_child_add(q, pid, 78));
  int got_signal = 0, got_child = 0;
  evq_event_t ev[4];
  for (int i = 0; i < 100 && !(got_signal && got_child); i++) {
    int n = tq_wait(q, ev, 4, 50 * MS);
    for (int k = 0; k < n; k++) {
      if (ev[k].token == 77) got_signal = 1;
      if (ev[k].token == 78) {
        got_child = 1;
        CHECK_EQ(ev[k].data, 9);
      }
    }
  }
  CHECK(got_signal && got_child);
  evq_free(q);
}

/* ---- waits a signal handler interrupts -------------------------------- */

static void on_alarm(int signo) { (void)signo; }

/* With EVQ_OPT_EINTR a wait during which a handler ran returns EVQ_EINTR
 * (the runtime's handlers then run); without it the wait resumes. */
TEST(eintr_option) { /* tq: acts-while-waiting */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  evq_options_t o = {.backend = tq_backend, .flags = EVQ_OPT_EINTR};
  evq_t *q;
  CHECK_OK(evq_create(&q, &o));
  struct itimerval it = {{0, 0}, {0, 30000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  evq_event_t ev[4];
  CHECK_EQ(evq_wait(q, ev, 4, EVQ_FOREVER), EVQ_EINTR);
  evq_free(q);

  q = tq_queue(); /* the default: resume with the time left */
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  int64_t start = evq_now();
  CHECK_EQ(tq_wait(q, ev, 4, 100 * MS), 0);
  CHECK(evq_now() - start >= 100 * MS);
  evq_free(q);
  sa.sa_handler = SIG_DFL;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
}

/* evq_free in a child made by fork() frees the child's copy and changes
 * nothing the parent's queue relies on (on epoll and io_uring both share
 * one kernel object): the parent's registration and child watch still
 * report. */
TEST(free_in_forked_child) { /* tq: acts-while-waiting */
  evq_t *q = tq_queue();
  evq_fd_t s[2];
  tq_pair(s);
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_LEVEL, 1));
  pid_t worker = tq_child_spawn(6, 200);
  CHECK_OK(evq_child_add(q, worker, 2));
  CHECK_OK(evq_signal_add(q, SIGUSR2, 3));
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    evq_free(q);
    _exit(0);
  }
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  tq_send(s[1], 1);
  CHECK(raise(SIGUSR2) == 0);
  int got = 0;
  evq_event_t ev[4];
  for (int i = 0; i < 100 && got != 7; i++) {
    int n = tq_wait(q, ev, 4, 50 * MS);
    for (int k = 0; k < n; k++) {
      CHECK(ev[k].token >= 1 && ev[k].token <= 3);
      got |= 1 << (ev[k].token - 1);
      if (ev[k].token == 1) tq_drain(q, s[0]); /* level: quiet again */
      if (ev[k].token == 2) CHECK_EQ(ev[k].data, 6);
    }
  }
  CHECK_EQ(got, 7);
  evq_close(s[1]);
  evq_free(q);
}
