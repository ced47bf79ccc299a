/* The conformance harness: TEST(name) is a case that runs once per
 * backend, UNIT(name) one that runs once. A failed CHECK prints where and
 * why and ends the process (each case is its own process under ctest). */
#ifndef EVQ_HARNESS_H
#define EVQ_HARNESS_H

#include "evq_net.h"
#include "spin.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* Each case registers itself before main() runs, so the harness knows
 * every case compiled in; the build checks that list against the one it
 * gave ctest (tests/CMakeLists.txt), so a case the build's pattern misses
 * fails the build instead of never running. */
void tq_register(const char *name, void (*fn)(void), int per_backend);
#define TQ_CASE(fn, name, per_backend)                                      \
  static void fn(void);                                                     \
  __attribute__((constructor)) static void fn##_register(void) {            \
    tq_register(#name, fn, per_backend);                                    \
  }                                                                         \
  static void fn(void)
/* A TEST line may end with a tag that tests/CMakeLists.txt reads:
 *   TEST(name) { ... } /\* tq: acts-while-waiting *\/
 * (with plain comment marks): another thread, a signal or a child's exit
 * must act while the waiter is in the kernel. valgrind 3.19 lets none of
 * them through an io_uring_enter, so under make memcheck the io_uring runs
 * of such a case are reported skipped with that reason.
 *   TEST(name) { ... } /\* tq: lowers-fd-limit *\/
 * the case lowers RLIMIT_NOFILE for the kernel's own accepts to meet;
 * valgrind keeps that limit to itself (setrlimit never reaches the
 * kernel), so under make memcheck its native io_uring runs are reported
 * skipped with that reason (its emulated run meets valgrind's limit). */
#define TEST(name) TQ_CASE(test_##name, name, 1)
#define UNIT(name) TQ_CASE(unit_##name, name, 0)

/* Backend under test, from the command line. */
extern const char *tq_backend;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) tq_fail(__FILE__, __LINE__, #cond, 0, 0, 0);               \
  } while (0)

#define CHECK_EQ(a, b)                                                      \
  do {                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ != b_) tq_fail(__FILE__, __LINE__, #a " == " #b, 1, a_, b_);     \
  } while (0)

/* Asserts an evq call succeeded, printing the evq error otherwise. */
#define CHECK_OK(call)                                                      \
  do {                                                                      \
    long long r_ = (long long)(call);                                       \
    if (r_ < 0) tq_fail(__FILE__, __LINE__, #call, 2, r_, 0);               \
  } while (0)

void tq_fail(const char *file, int line, const char *what, int kind,
             long long a, long long b);

#define WAKE_TOKEN ((uintptr_t)0x57A4E)
#define MS ((int64_t)1000000)

/* A queue on the backend under test, wake token WAKE_TOKEN, flags
 * tq_flags(). */
evq_t *tq_queue(void);
/* The EVQ_OPT_* flags of the run (TQ_ONE_WAITER=1: EVQ_OPT_ONE_WAITER). */
uint32_t tq_flags(void);
/* A connected stream pair. */
void tq_pair(evq_fd_t fds[2]);
/* Writes n bytes of 'x' (all of them) to fd. */
void tq_send(evq_fd_t fd, size_t n);
/* Reads until would-block (through evq_read so edge mode re-arms);
 * returns bytes read. */
size_t tq_drain(evq_t *q, evq_fd_t fd);
/* Waits once; returns count, failing the test on error. */
int tq_wait(evq_t *q, evq_event_t *ev, int cap, int64_t timeout_ns);
/* Index of the first event with this token, or -1. */
int tq_find(const evq_event_t *ev, int n, uintptr_t token);
/* Events with this token over waits totalling about timeout_ns, at least
 * one wait however late this thread runs. */
int tq_count_events(evq_t *q, uintptr_t token, int64_t timeout_ns,
                    uint32_t *flags_seen);
void tq_sleep_ms(int ms);
/* A wait of 200 ms with nothing to report, which must sleep (spin.h). */
void tq_check_sleeps(evq_t *q);
/* Whether this Windows program runs under wine (never on POSIX): for the
 * few checks wine cannot pass, each named in docs/windows.md. */
int tq_wine(void);
/* Portable setenv, shutdown(SHUT_WR) and shutdown(SHUT_RD); 0 on
 * success. */
int tq_setenv(const char *name, const char *value);
int tq_shutdown_write(evq_fd_t fd);
int tq_shutdown_read(evq_fd_t fd);



/* Child processes, so the child cases stay portable to Windows: a child
 * of this process that exits with code after delay_ms, or with delay_ms
 * < 0 runs until tq_child_kill (fork on POSIX; on Windows CreateProcess
 * of this program with --exit, whose handle the harness keeps). */
evq_pid_t tq_child_spawn(int code, int delay_ms);
/* Ends a child: SIGTERM on POSIX (reported with EVQ_CHILD_SIGNALED);
 * TerminateProcess on Windows, which has no signals, with exit code
 * TQ_CHILD_KILLED. */
void tq_child_kill(evq_pid_t pid);
#define TQ_CHILD_KILLED 143
/* Waits until the child ended, without reaping it. */
void tq_child_wait_ended(evq_pid_t pid);
/* Waits for the child and returns its exit code, as its parent sees it
 * (waitpid; the handle on Windows, then closed). */
int tq_child_reap(evq_pid_t pid);
/* Two signals a case can raise on every OS: SIGUSR1 and SIGUSR2 on POSIX;
 * on Windows the console's Ctrl-C and Ctrl-Break, which evq reports as
 * SIGINT and SIGBREAK. tq_raise delivers one to this process: kill() on
 * POSIX; on Windows it runs evq's console handler as Windows does for the
 * event (wine cannot make console events without a console). */
#ifdef _WIN32
#define TQ_SIG_A SIGINT
#define TQ_SIG_B SIGBREAK
#else
#define TQ_SIG_A SIGUSR1
#define TQ_SIG_B SIGUSR2
#endif
void tq_raise(int signo);
/* The one event with this token within 5 s (fails on any other). */
evq_event_t tq_wait_one(evq_t *q, uintptr_t token);

/* Threads, so cases stay portable to Windows. */
typedef struct tq_thread tq_thread_t;
tq_thread_t *tq_thread_start(void (*fn)(void *), void *arg);
void tq_thread_join(tq_thread_t *t);
#endif
