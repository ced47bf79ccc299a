/* Child processes as events, on every OS: a process this one started
 * (fork on POSIX, CreateProcess on Windows: tq_child_spawn) ends as one
 * EVQ_CHILD event with its exit code. What only POSIX has (reaping,
 * SIGCHLD) is in posix/signals.c. */
#include "harness.h"

#include <signal.h>
#ifndef _WIN32
#include <errno.h>
#include <sys/wait.h>
#endif

/* Runs a child case with pidfds (where the kernel has them) and with the
 * SIGCHLD fallback that works without them; Windows has one way only, a
 * wait on the process handle. */
static void both_ways(void (*fn)(void)) {
  CHECK(tq_setenv("EVQ_CHILD_FALLBACK", "0") == 0);
  fn();
#ifndef _WIN32
  CHECK(tq_setenv("EVQ_CHILD_FALLBACK", "1") == 0);
  fn();
#endif
}

static void exit_code(void) {
  evq_t *q = tq_queue();
  evq_pid_t pid = tq_child_spawn(7, 20);
  CHECK_OK(evq_child_add(q, pid, 42));
  CHECK_EQ(evq_child_add(q, pid, 43), EVQ_EEXIST);
  evq_event_t e = tq_wait_one(q, 42);
  CHECK_EQ(e.flags, EVQ_CHILD);
  CHECK_EQ(e.data, 7);
  CHECK_EQ(evq_child_remove(q, pid), EVQ_ENOENT); /* the watch is over */
#ifdef _WIN32
  CHECK_EQ(tq_child_reap(pid), 7); /* nothing is reaped on Windows */
#else
  CHECK_EQ(waitpid(pid, NULL, WNOHANG), -1); /* reaped by evq */
  CHECK_EQ(errno, ECHILD);
#endif
  evq_free(q);
}
TEST(child_exit_code) { both_ways(exit_code); } /* tq: acts-while-waiting */

/* Ended from outside: by a signal on POSIX, which the event names; by
 * TerminateProcess on Windows, whose exit code it carries. */
static void killed(void) {
  evq_t *q = tq_queue();
  evq_pid_t pid = tq_child_spawn(0, -1);
  CHECK_OK(evq_child_add(q, pid, 3));
  tq_child_kill(pid);
  evq_event_t e = tq_wait_one(q, 3);
#ifdef _WIN32
  CHECK_EQ(e.flags, EVQ_CHILD);
  CHECK_EQ(e.data, TQ_CHILD_KILLED);
  CHECK_EQ(tq_child_reap(pid), TQ_CHILD_KILLED);
#else
  CHECK_EQ(e.flags, EVQ_CHILD | EVQ_CHILD_SIGNALED);
  CHECK_EQ(e.data, SIGTERM);
#endif
  evq_free(q);
}
TEST(child_killed_by_signal) { both_ways(killed); } /* tq: acts-while-waiting */

/* A child that ended before the watch began still reports. */
static void ended_before(void) {
  evq_t *q = tq_queue();
  evq_pid_t pid = tq_child_spawn(0, 0);
  tq_child_wait_ended(pid);
  CHECK_OK(evq_child_add(q, pid, 8));
  CHECK_EQ(tq_wait_one(q, 8).data, 0);
  evq_free(q);
}
TEST(child_ended_before_watch) { both_ways(ended_before); }

/* Unwatching leaves the child to the caller, and its end is not
 * reported; a watch can be made again after the removal; freeing the
 * queue with a watch on leaves that child to the caller too. */
TEST(child_remove_and_free) {
  evq_t *q = tq_queue();
  evq_pid_t a = tq_child_spawn(4, 0), b = tq_child_spawn(5, 200);
  CHECK_OK(evq_child_add(q, a, 1));
  CHECK_OK(evq_child_add(q, b, 2));
  CHECK_OK(evq_child_remove(q, a));
  CHECK_OK(evq_child_add(q, a, 3));
  CHECK_OK(evq_child_remove(q, a));
  CHECK_EQ(tq_child_reap(a), 4);
  evq_event_t ev[4];
  int n = tq_wait(q, ev, 4, 20 * MS);
  for (int i = 0; i < n; i++) CHECK_EQ(ev[i].token, 2); /* b, if it ended */
  evq_free(q);
  CHECK_EQ(tq_child_reap(b), 5);
}

TEST(child_bad_input) { /* tq: acts-while-waiting */
  evq_t *q = tq_queue();
  CHECK_EQ(evq_child_add(NULL, 1, 0), EVQ_EINVAL);
  CHECK_EQ(evq_child_add(q, 0, 0), EVQ_EINVAL);
#ifndef _WIN32 /* a Windows process id is unsigned */
  CHECK_EQ(evq_child_add(q, -5, 0), EVQ_EINVAL);
#endif
  /* POSIX: init, not our child; Windows: no process (ids are multiples
   * of 4). */
  CHECK_EQ(evq_child_add(q, 1, 0), EVQ_ENOENT);
  CHECK_EQ(evq_child_remove(q, 1), EVQ_ENOENT);
  evq_pid_t pid = tq_child_spawn(0, 50);
  CHECK_OK(evq_child_add(q, pid, 1));
  CHECK_EQ(evq_child_add(q, pid, 2), EVQ_EEXIST);
  CHECK_EQ(tq_wait_one(q, 1).flags, EVQ_CHILD); /* the failed add lost nothing */
#ifdef _WIN32
  CHECK_EQ(tq_child_reap(pid), 0);
#endif
  evq_free(q);
}
