/*
 * The fault walk's scenario: everything evq does, on one backend, in
 * phases, linked with the renamed library (faultlib.c). tests/fault/walk.sh
 * runs it once to record every call site it reaches, then once per
 * (site, error, hit) with that call made to fail.
 *
 *   fault_scenario BACKEND      run the scenario
 *   fault_scenario --functions  print functions.h: name, F/N, errors/why
 *   fault_scenario --backends   print the backends compiled in
 *
 * What a run asserts, whatever fails:
 *  - every evq call returns 0, a count, or an EVQ_E* code evq.h documents
 *    for that call (EVQ_EIO, "any other OS error", for those that reach the
 *    OS); the socket helpers, whose errors evq.h does not list, a valid
 *    EVQ_E* code;
 *  - a failed call changed nothing (a failed register left nothing
 *    registered; a failed modify left the old registration working; a
 *    failed create left *q NULL; a failed signal or child watch left none);
 *  - the phase the fault hit may fail, cleanly; every later phase must pass
 *    in full: the queue is still usable;
 *  - no event after deregistration, no crash (and no sanitizer report in
 *    sanitizer builds), and at the end, after evq_free, no allocation of
 *    the library's left (counted by the wrappers) and every descriptor
 *    closed that was not open at the start.
 */
#define _GNU_SOURCE
#include "evq_io.h"
#include "faultlib.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS ((int64_t)1000000)
#define WAKE_TOKEN 99u

static const char *backend;
static const char *phase = "start";
static evq_t *q, *q2;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt,
                                                                ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fault scenario [%s, phase %s%s]: ", backend, phase,
          evqf_fired() ? ", after the fault" : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  evqf_dump();
  exit(1);
}

/* ---- documented errors -------------------------------------------------- */

#define B(code) (1u << (unsigned)-(code))
#define OS B(EVQ_EIO) /* "any other OS error": any call that reaches the OS */
#define DOC_CREATE (B(EVQ_EINVAL) | B(EVQ_ENOTSUP) | B(EVQ_ENOMEM) | B(EVQ_EMFILE) | OS)
#define DOC_REGISTER (B(EVQ_EINVAL) | B(EVQ_EBADF) | B(EVQ_EEXIST) | B(EVQ_ENOTSUP) | B(EVQ_ENOMEM) | OS)
#define DOC_MODIFY (DOC_REGISTER | B(EVQ_ENOENT))
#define DOC_DEREGISTER (B(EVQ_EINVAL) | B(EVQ_ENOENT))
#define DOC_REARM (B(EVQ_EINVAL) | B(EVQ_ENOENT))
#define DOC_WAIT (B(EVQ_EINVAL) | B(EVQ_EBUSY) | B(EVQ_ENOMEM))
#define DOC_WAKE B(EVQ_EINVAL)
#define DOC_FD (B(EVQ_EINVAL) | B(EVQ_ENOTSUP))
#define DOC_TIMER_START (B(EVQ_EINVAL) | B(EVQ_EBUSY))
#define DOC_TIMER_STOP (B(EVQ_EINVAL) | B(EVQ_ENOENT))
#define DOC_SIGNAL_ADD (B(EVQ_EINVAL) | B(EVQ_EEXIST) | B(EVQ_ENOMEM) | OS)
#define DOC_SIGNAL_REMOVE (B(EVQ_EINVAL) | B(EVQ_ENOENT))
#define DOC_CHILD_ADD (B(EVQ_EINVAL) | B(EVQ_EEXIST) | B(EVQ_ENOENT) | B(EVQ_ENOMEM) | OS)
#define DOC_CHILD_REMOVE (B(EVQ_EINVAL) | B(EVQ_ENOENT))
#define ANY (0xFFFFFFFEu & ~B(EVQ_EINTR)) /* helpers: any other code */

/* Some evq call returned an error (or an event carried EVQ_ERROR) since
 * the phase began: only then may a faulted phase fail. A fault absorbed
 * without a word must leave everything working. */
static bool error_seen;

/* 0 or a count: true. A documented error: false. Anything else: die.
 * EVQ_EINTR is, by evq.h, only a wait's on an EVQ_OPT_EINTR queue. */
static bool ok(const char *call, long rc, unsigned allowed) {
  if (rc >= 0) return true;
  const char *name = evq_errname((int)rc);
  if (rc < -31 || strcmp(name, "EVQ_E?") == 0)
    die("%s returned %ld, which is no EVQ_E* code", call, rc);
  if (rc == EVQ_EINTR && !(allowed & B(EVQ_EINTR)))
    die("%s returned EVQ_EINTR, which evq.h keeps for a wait on a queue made "
        "with EVQ_OPT_EINTR", call);
  if (!(allowed & B(rc)))
    die("%s returned %s, which evq.h does not document for it", call, name);
  error_seen = true;
  return false;
}

/* Must succeed: the fault is spent, or cannot touch this call. */
static void must(const char *call, long rc, unsigned allowed) {
  if (!ok(call, rc, allowed)) die("%s failed: %s", call, evq_strerror((int)rc));
}

/* ---- events ------------------------------------------------------------- */

static uintptr_t next_token = 1000;
static uintptr_t dead[4096];
static int ndead;

static void token_dead(uintptr_t t) {
  if (ndead < 4096) dead[ndead++] = t;
}

static void check_event(const evq_event_t *e) {
  for (int i = 0; i < ndead; i++)
    if (dead[i] == e->token)
      die("event (flags 0x%x) for token %lu after it was deregistered",
          e->flags, (unsigned long)e->token);
}

/* Waits up to 3 s, in waits of 100 ms, for an event with this token; *out
 * gets it. Events for other live tokens are dropped. false: it never came
 * (or the wait failed with a documented error). The short waits make a
 * wake-up whose kick failed (the flag is set, the descriptor was not
 * written) show up at the end of the wait it fell in: late, never lost. */
static bool wait_for(evq_t *qq, uintptr_t token, evq_event_t *out) {
  evq_event_t ev[64];
  int64_t end = evq_now() + 3000 * MS;
  for (int64_t left; (left = end - evq_now()) > 0;) {
    int n = evq_wait(qq, ev, 64, left < 100 * MS ? left : 100 * MS);
    if (!ok("evq_wait", n, DOC_WAIT | (qq == q2 ? B(EVQ_EINTR) : 0))) {
      if (n == EVQ_EINTR) continue;
      return false;
    }
    for (int i = 0; i < n; i++) {
      check_event(&ev[i]);
      if (ev[i].flags & EVQ_ERROR && ev[i].flags & EVQ_CHILD) error_seen = true;
      if (ev[i].token == token) {
        if (out) *out = ev[i];
        return true;
      }
    }
  }
  return false;
}

/* Descriptors open, not counting evq's one spare per process (open("/"),
 * kept from the first listener on for accept at EMFILE); two spares count
 * as a leak (-1). */
static int count_fds(void) {
  int n = 0, spares = 0;
  for (int fd = 0; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) == -1) continue;
    char link[64], target[8];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target);
    if (len == 1 && target[0] == '/') spares++;
    else n++;
  }
  return spares > 1 ? -1 : n;
}

/* ---- phases ----------------------------------------------------------- */

static bool make_queue(evq_t **out, uint32_t flags) {
  evq_options_t o = {.backend = backend, .wake_token = WAKE_TOKEN,
                     .flags = flags};
  evq_t *made = (evq_t *)1;
  int rc = evq_create(&made, &o);
  if (!ok("evq_create", rc, DOC_CREATE)) {
    if (made != NULL) die("a failed evq_create left *q set");
    return false;
  }
  if (strcmp(evq_backend(made), backend) != 0)
    die("asked for %s, got %s", backend, evq_backend(made));
  *out = made;
  return true;
}

static bool phase_create(void) {
  char why[256];
  /* "0, or the code evq_create() would give". */
  bool checked = ok("evq_backend_check", evq_backend_check(backend, why, sizeof why),
                    DOC_CREATE);
  bool a = make_queue(&q, 0);
  bool b = make_queue(&q2, EVQ_OPT_EINTR);
  /* The queue the fault stopped is made again: the fault is spent. */
  if (!a && !make_queue(&q, 0)) die("evq_create failed twice");
  if (!b && !make_queue(&q2, EVQ_OPT_EINTR)) die("evq_create failed twice");
  return checked && a && b;
}

static bool phase_pair(void) {
  evq_fd_t p[2];
  if (!ok("evq_socketpair", evq_socketpair(p), ANY)) return false;
  bool good = false;
  uintptr_t t1 = next_token++, t2 = next_token++;
  evq_event_t e;
  char buf[16];
  int rc = evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, t1);
  if (!ok("evq_register", rc, DOC_REGISTER)) {
    if (evq_deregister(q, p[0]) != EVQ_ENOENT)
      die("a failed evq_register left the descriptor registered");
    goto out;
  }
  if (!ok("evq_write", evq_write(q, p[1], "hello", 5), ANY)) goto dereg;
  if (!wait_for(q, t1, &e) || !(e.flags & EVQ_READABLE)) goto dereg;
  if (!ok("evq_read", evq_read(q, p[0], buf, sizeof buf), ANY)) goto dereg;
  rc = evq_modify(q, p[0], EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE, t2);
  if (!ok("evq_modify", rc, DOC_MODIFY)) {
    /* Nothing changed: still level, readable, token t1. */
    token_dead(t2);
    if (!ok("evq_write", evq_write(q, p[1], "x", 1), ANY)) goto dereg;
    if (!wait_for(q, t1, &e))
      die("after a failed evq_modify the registration no longer reports");
    goto dereg;
  }
  token_dead(t1);
  if (!wait_for(q, t2, &e) || !(e.flags & EVQ_WRITABLE)) goto dereg;
  if (!ok("evq_rearm", evq_rearm(q, p[0], EVQ_WRITABLE), DOC_REARM))
    die("evq_rearm of a registered descriptor failed");
  good = true;
dereg:
  rc = evq_deregister(q, p[0]);
  if (rc != 0) die("evq_deregister of a registered descriptor: %s", evq_errname(rc));
  token_dead(t1);
  token_dead(t2);
out:
  ok("evq_close", evq_close(p[0]), ANY);
  ok("evq_close", evq_close(p[1]), ANY);
  return good;
}

static bool phase_tcp(void) {
  evq_fd_t l = EVQ_INVALID_FD, c = EVQ_INVALID_FD, s = EVQ_INVALID_FD;
  bool good = false, lreg = false, creg = false;
  uintptr_t tl = next_token++, tc = next_token++;
  evq_event_t e;
  if (!ok("evq_tcp_listen", evq_tcp_listen(&l, NULL, 0, 16), ANY)) return false;
  int port = evq_socket_port(l);
  if (!ok("evq_socket_port", port, ANY)) goto out;
  if (!ok("evq_tcp_connect", evq_tcp_connect(&c, NULL, (uint16_t)port), ANY))
    goto out;
  if (!ok("evq_register", evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, tl),
          DOC_REGISTER))
    goto out;
  lreg = true;
  if (!wait_for(q, tl, &e)) goto out;
  int rc;
  int64_t end = evq_now() + 3000 * MS;
  while ((rc = evq_accept(q, l, &s)) == EVQ_EAGAIN && evq_now() < end)
    wait_for(q, tl, NULL);
  if (!ok("evq_accept", rc, ANY)) goto out;
  if (!ok("evq_register", evq_register(q, c, EVQ_WRITABLE, EVQ_ONESHOT, tc),
          DOC_REGISTER))
    goto out;
  creg = true;
  if (!wait_for(q, tc, &e)) goto out;
  if (!ok("evq_socket_error", evq_socket_error(c), ANY)) goto out;
  if (!ok("evq_write", evq_write(q, c, "ping", 4), ANY)) goto out;
  char buf[8];
  end = evq_now() + 3000 * MS;
  ptrdiff_t r;
  while ((r = evq_read(q, s, buf, sizeof buf)) == EVQ_EAGAIN && evq_now() < end)
    usleep(1000);
  if (!ok("evq_read", r, ANY)) goto out;
  good = r == 4 && memcmp(buf, "ping", 4) == 0;
  if (r == 4 && !good) die("TCP data corrupted");
out:
  if (lreg && evq_deregister(q, l) != 0) die("evq_deregister failed");
  if (creg && evq_deregister(q, c) != 0) die("evq_deregister failed");
  token_dead(tl);
  token_dead(tc);
  if (s != EVQ_INVALID_FD) ok("evq_close", evq_close(s), ANY);
  if (c != EVQ_INVALID_FD) ok("evq_close", evq_close(c), ANY);
  if (l != EVQ_INVALID_FD) ok("evq_close", evq_close(l), ANY);
  return good;
}

/* A write to a pipe nobody reads: EVQ_EPIPE and no SIGPIPE (the signal is
 * left at its default, which would end the process). */
static bool phase_pipe(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2: %s", strerror(errno));
  close(p[0]);
  ptrdiff_t r = evq_write(q, p[1], "x", 1);
  close(p[1]);
  if (!ok("evq_write", r, ANY)) return r == EVQ_EPIPE;
  die("evq_write to a pipe without reader returned %td", r);
}

static bool phase_timers(void) {
  evq_timer_t t1, t2;
  evq_timer_init(&t1);
  evq_timer_init(&t2);
  uintptr_t k1 = next_token++, k2 = next_token++;
  must("evq_timer_start", evq_timer_start(q, &t1, 1 * MS, 0, k1), DOC_TIMER_START);
  must("evq_timer_start", evq_timer_start(q, &t2, 2 * MS, 2 * MS, k2), DOC_TIMER_START);
  int64_t next = evq_next_timeout(q);
  if (next < 0 || next > 1 * MS) die("evq_next_timeout %lld", (long long)next);
  evq_event_t e;
  bool good = wait_for(q, k1, &e) && wait_for(q, k2, &e) && wait_for(q, k2, &e);
  must("evq_timer_stop", evq_timer_stop(q, &t2), DOC_TIMER_STOP);
  if (evq_timer_stop(q, &t1) != EVQ_ENOENT) die("stop of a fired oneshot timer");
  token_dead(k1);
  token_dead(k2);
  return good;
}

static void *wake_later(void *arg) {
  usleep(10000);
  if (evq_wake(arg) != 0) die("evq_wake failed");
  return NULL;
}

static bool phase_wake(void) {
  pthread_t t;
  pthread_create(&t, NULL, wake_later, q);
  bool good = wait_for(q, WAKE_TOKEN, NULL);
  pthread_join(t, NULL);
  must("evq_wake", evq_wake(q), DOC_WAKE);
  must("evq_wake", evq_wake(q), DOC_WAKE);
  if (!wait_for(q, WAKE_TOKEN, NULL)) good = false;
  return good;
}

/* Two threads fight for the queue's lock, so its contended path (futex
 * wait and wake) runs; until both were seen, or the fault to inject (if
 * it is there) has fired. */
static atomic_int stop_contention;
static void *contend(void *arg) {
  evq_timer_t t[8];
  for (int i = 0; i < 8; i++) evq_timer_init(&t[i]);
  while (!atomic_load(&stop_contention))
    for (int i = 0; i < 8; i++) {
      must("evq_timer_start", evq_timer_start(q, &t[i], 3600000 * MS, 0, (uintptr_t)arg),
           DOC_TIMER_START);
      must("evq_timer_stop", evq_timer_stop(q, &t[i]), DOC_TIMER_STOP);
    }
  return NULL;
}

static bool phase_contention(void) {
  atomic_store(&stop_contention, 0);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, contend, (void *)(uintptr_t)(7 + i));
  bool futex_target = evqf_target_is("syscall_futex_wait") ||
                      evqf_target_is("syscall_futex_wake");
  int64_t end = evq_now() + (futex_target ? 20000 : 10000) * MS;
  evq_event_t ev[8];
  bool good = true;
  while (evq_now() < end) {
    int n = evq_wait(q, ev, 8, 0);
    if (!ok("evq_wait", n, DOC_WAIT)) {
      good = false;
      break;
    }
    for (int i = 0; i < n; i++) check_event(&ev[i]);
    bool seen = evqf_hits("syscall_futex_wait") && evqf_hits("syscall_futex_wake");
    if (futex_target ? evqf_fired() : seen) break;
  }
  atomic_store(&stop_contention, 1);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return good;
}

static bool phase_signals(void) {
  signal(SIGUSR1, SIG_IGN);
  bool good = false;
  uintptr_t k = next_token++, k2 = next_token++;
  int rc = evq_signal_add(q, SIGUSR1, k);
  if (!ok("evq_signal_add", rc, DOC_SIGNAL_ADD)) {
    if (evq_signal_remove(q, SIGUSR1) != EVQ_ENOENT)
      die("a failed evq_signal_add left a subscription");
    return false;
  }
  rc = evq_signal_add(q2, SIGUSR1, k2);
  bool two = ok("evq_signal_add", rc, DOC_SIGNAL_ADD);
  if (!two && evq_signal_remove(q2, SIGUSR1) != EVQ_ENOENT)
    die("a failed evq_signal_add left a subscription");
  /* A fork while subscribed: evq's fork handler puts the child's signal
   * dispositions back (its calls are recorded by the child). */
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    evqf_dump_child();
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  raise(SIGUSR1);
  evq_event_t e;
  good = wait_for(q, k, &e) && (e.flags & EVQ_SIGNAL) && e.data >= 1;
  if (two && !wait_for(q2, k2, &e)) good = false;
  must("evq_signal_remove", evq_signal_remove(q, SIGUSR1), DOC_SIGNAL_REMOVE);
  if (two) must("evq_signal_remove", evq_signal_remove(q2, SIGUSR1), DOC_SIGNAL_REMOVE);
  token_dead(k);
  token_dead(k2);
  struct sigaction now;
  sigaction(SIGUSR1, NULL, &now);
  if (now.sa_handler != SIG_IGN) good = false; /* not restored */
  signal(SIGUSR1, SIG_DFL);
  return good && two;
}

static bool one_child(bool fallback) {
  if (fallback) setenv("EVQ_CHILD_FALLBACK", "1", 1);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) _exit(7);
  uintptr_t k = next_token++;
  bool good = false;
  int rc = evq_child_add(q, pid, k);
  if (ok("evq_child_add", rc, DOC_CHILD_ADD)) {
    evq_event_t e;
    good = wait_for(q, k, &e) && (e.flags & EVQ_CHILD) && e.data == 7 &&
           !(e.flags & (EVQ_CHILD_SIGNALED | EVQ_ERROR));
    if (!good && evq_child_remove(q, pid) != 0 && !evqf_fired())
      die("the child's exit was not reported, and it is not watched");
  } else if (evq_child_remove(q, pid) != EVQ_ENOENT) {
    die("a failed evq_child_add left a watch");
  }
  token_dead(k);
  if (fallback) unsetenv("EVQ_CHILD_FALLBACK");
  /* Reaped by evq when reported; by us when the watch failed. */
  int status;
  pid_t w = waitpid(pid, &status, 0);
  if (good && w == pid) die("evq reported the child's exit but did not reap it");
  return good;
}

static bool phase_children(void) {
  bool a = one_child(false);
  bool b = one_child(true);
  /* Removing a watch on a child that still runs. */
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    pause();
    _exit(0);
  }
  bool c = false;
  if (ok("evq_child_add", evq_child_add(q, pid, next_token++), DOC_CHILD_ADD)) {
    must("evq_child_remove", evq_child_remove(q, pid), DOC_CHILD_REMOVE);
    c = true;
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return a && b && c;
}

static bool phase_embed(void) {
  evq_fd_t fd;
  int rc = evq_fd(q, &fd);
  ok("evq_fd", rc, DOC_FD);
  if (rc == 0 && fcntl(fd, F_GETFD) == -1) die("evq_fd gave a closed descriptor");
  int64_t n = evq_next_timeout(q);
  if (n < -1) die("evq_next_timeout: %lld", (long long)n);
  /* A wait on the EVQ_OPT_EINTR queue: nothing, or EVQ_EINTR. */
  evq_event_t ev[4];
  int r = evq_wait(q2, ev, 4, 2 * MS);
  ok("evq_wait", r, DOC_WAIT | B(EVQ_EINTR));
  for (int i = 0; i < r; i++) check_event(&ev[i]);
  return true;
}

/* Enough registrations that every table grows (slots, map, poll arrays),
 * each reported once, then gone. */
static bool phase_many(void) {
  enum { N = 150 };
  evq_fd_t p[N][2];
  uintptr_t tok[N];
  bool reg[N] = {false}, good = true;
  int made = 0;
  for (; made < N; made++) {
    if (!ok("evq_socketpair", evq_socketpair(p[made]), ANY)) {
      good = false;
      break;
    }
    tok[made] = next_token++;
    int rc = evq_register(q, p[made][0], EVQ_WRITABLE, EVQ_ONESHOT, tok[made]);
    reg[made] = ok("evq_register", rc, DOC_REGISTER);
    if (!reg[made]) {
      good = false;
      if (evq_deregister(q, p[made][0]) != EVQ_ENOENT)
        die("a failed evq_register left the descriptor registered");
    }
  }
  int want = 0, seen = 0;
  for (int i = 0; i < made; i++) want += reg[i];
  evq_event_t ev[256];
  int64_t end = evq_now() + 3000 * MS;
  while (seen < want && evq_now() < end) {
    int n = evq_wait(q, ev, 256, 100 * MS);
    if (!ok("evq_wait", n, DOC_WAIT)) {
      good = false;
      break;
    }
    for (int i = 0; i < n; i++) {
      check_event(&ev[i]);
      if (ev[i].token >= tok[0] && ev[i].token <= tok[0] + N) seen++;
    }
  }
  if (seen != want) good = false;
  if (seen > want) die("%d oneshot events for %d registrations", seen, want);
  for (int i = 0; i < made; i++) {
    if (reg[i] && evq_deregister(q, p[i][0]) != 0) die("evq_deregister failed");
    token_dead(tok[i]);
    ok("evq_close", evq_close(p[i][0]), ANY);
    ok("evq_close", evq_close(p[i][1]), ANY);
  }
  return good;
}

/* A registration whose number is closed while a dup keeps the file open,
 * then deregistered: whatever the kernel still holds for it (epoll's entry,
 * io_uring's request) comes back and is cleared (epoll rebuilds its
 * instance); nothing is reported after the deregistration; the dup can be
 * registered, and evq_deregister_close ends it. */
static void drop_live(evq_fd_t live[2], uintptr_t token) {
  if (evq_deregister(q, live[0]) != 0) die("evq_deregister failed");
  token_dead(token);
  evq_close(live[0]);
  evq_close(live[1]);
}

static bool phase_dup_close(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2: %s", strerror(errno));
  uintptr_t k = next_token++, k2 = next_token++, kl = next_token++;
  bool good = true;
  /* A live registration that must survive whatever the backend does to
   * clear the stale one (epoll: a new instance, every registration added
   * again). */
  evq_fd_t live[2];
  if (!ok("evq_socketpair", evq_socketpair(live), ANY)) {
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (!ok("evq_register", evq_register(q, live[0], EVQ_READABLE, EVQ_LEVEL, kl),
          DOC_REGISTER)) {
    evq_close(live[0]);
    evq_close(live[1]);
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (write(p[1], "x", 1) != 1) die("write: %s", strerror(errno));
  int rc = evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, k);
  if (!ok("evq_register", rc, DOC_REGISTER)) {
    drop_live(live, kl);
    close(p[0]);
    close(p[1]);
    return false;
  }
  int d = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
  if (d < 0) die("dup: %s", strerror(errno));
  close(p[0]);
  evq_event_t ev[8];
  int n = evq_wait(q, ev, 8, 5 * MS); /* the dup's file may report (epoll) */
  if (!ok("evq_wait", n, DOC_WAIT)) good = false;
  rc = evq_deregister(q, p[0]);
  if (rc != 0) die("evq_deregister of a closed descriptor: %s", evq_errname(rc));
  token_dead(k);
  for (int i = 0; i < 3; i++) {
    n = evq_wait(q, ev, 8, 5 * MS);
    if (!ok("evq_wait", n, DOC_WAIT)) good = false;
    for (int j = 0; j < n; j++) check_event(&ev[j]);
  }
  rc = evq_register(q, d, EVQ_READABLE, EVQ_LEVEL, k2);
  if (!ok("evq_register", rc, DOC_REGISTER)) {
    drop_live(live, kl);
    close(d);
    close(p[1]);
    return false;
  }
  /* A modify of a pipe's registration (poll checks a pipe's end then). */
  uintptr_t k3 = next_token++;
  rc = evq_modify(q, d, EVQ_READABLE, EVQ_LEVEL, k3);
  if (ok("evq_modify", rc, DOC_MODIFY)) {
    token_dead(k2);
    k2 = k3;
  } else {
    good = false;
  }
  if (!wait_for(q, k2, NULL)) good = false;
  /* The live registration still reports. */
  if (!ok("evq_write", evq_write(q, live[1], "y", 1), ANY) || !wait_for(q, kl, NULL))
    good = false;
  drop_live(live, kl);
  rc = evq_deregister_close(q, d);
  token_dead(k2);
  if (!ok("evq_deregister_close", rc, ANY)) good = false;
  if (fcntl(d, F_GETFD) != -1) die("evq_deregister_close left the descriptor open");
  close(p[1]);
  return good;
}

/* One stream connection over addr: listen, connect (its result through
 * the queue), accept, options, addresses, writev/readv, shutdown. */
static bool stream_over(const char *text, bool optional, uint32_t flags) {
  evq_addr_t a, la, pa;
  evq_fd_t l = EVQ_INVALID_FD, c = EVQ_INVALID_FD, s = EVQ_INVALID_FD;
  uintptr_t tl = next_token++, tc = next_token++;
  bool good = false, lreg = false, creg = false;
  int rc;
  if (text[0] == '/') {
    unlink(text);
    rc = evq_addr_unix(&a, text);
  } else {
    rc = evq_addr_parse(&a, text);
  }
  if (rc != 0) die("address %s: %s", text, evq_errname(rc));
  rc = evq_listen(&l, &a, 16, flags);
  if (optional && (rc == EVQ_EADDRNOTAVAIL || rc == EVQ_ENOTSUP) && !evqf_fired())
    return true; /* no IPv6 here */
  if (!ok("evq_listen", rc, ANY)) return false;
  if (!ok("evq_local_addr", evq_local_addr(l, &la), ANY)) goto out;
  if (!ok("evq_connect", evq_connect(&c, &la), ANY)) goto out;
  if (!ok("evq_register", evq_register(q, c, EVQ_WRITABLE, EVQ_ONESHOT, tc), DOC_REGISTER))
    goto out;
  creg = true;
  if (!wait_for(q, tc, NULL)) goto out;
  if (!ok("evq_connect_result", evq_connect_result(q, c), ANY)) goto out;
  if (!ok("evq_register", evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, tl), DOC_REGISTER))
    goto out;
  lreg = true;
  if (!wait_for(q, tl, NULL)) goto out;
  if (!ok("evq_accept", evq_accept(q, l, &s), ANY)) goto out;
  int v = 0;
  if (text[0] != '/') {
    if (!ok("evq_setsockopt", evq_setsockopt(c, EVQ_SO_NODELAY, 1), ANY)) goto out;
    if (!ok("evq_setsockopt", evq_setsockopt(c, EVQ_SO_KEEPALIVE, 1), ANY)) goto out;
  }
  if (!ok("evq_getsockopt", evq_getsockopt(c, EVQ_SO_SNDBUF, &v), ANY)) goto out;
  if (!ok("evq_peer_addr", evq_peer_addr(s, &pa), ANY)) goto out;
  char b1[] = "hel", b2[] = "lo!", in[16] = {0};
  evq_iovec_t out_iov[2] = {{b1, 3}, {b2, 3}};
  if (!ok("evq_writev", evq_writev(q, c, out_iov, 2), ANY)) goto out;
  if (!ok("evq_shutdown", evq_shutdown(c, EVQ_SHUT_WR), ANY)) goto out;
  size_t got = 0;
  int64_t end = evq_now() + 3000 * MS;
  while (evq_now() < end) {
    evq_iovec_t in_iov[2] = {{in + got, 2}, {in + got + 2, sizeof in - got - 2}};
    ptrdiff_t r = evq_readv(q, s, in_iov, 2);
    if (r == EVQ_EAGAIN) {
      usleep(1000);
      continue;
    }
    if (!ok("evq_readv", r, ANY)) goto out;
    if (r == 0) break; /* end of stream, after the data */
    got += (size_t)r;
  }
  good = got == 6 && memcmp(in, "hello!", 6) == 0;
  if (got == 6 && !good) die("stream data corrupted over %s", text);
out:
  if (lreg && evq_deregister(q, l) != 0) die("evq_deregister failed");
  if (creg && evq_deregister(q, c) != 0) die("evq_deregister failed");
  token_dead(tl);
  token_dead(tc);
  if (s != EVQ_INVALID_FD) ok("evq_close", evq_close(s), ANY);
  if (c != EVQ_INVALID_FD) ok("evq_close", evq_close(c), ANY);
  if (l != EVQ_INVALID_FD) ok("evq_close", evq_close(l), ANY);
  if (text[0] == '/') unlink(text);
  return good;
}

static bool phase_stream(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/evq-fault-%ld.sock", (long)getpid());
  bool a = stream_over("127.0.0.1:0", false, EVQ_SOCK_REUSEPORT);
  bool b = stream_over("[::1]:0", true, 0);
  bool b2 = stream_over("[::]:0", true, EVQ_SOCK_DUALSTACK);
  bool c = stream_over(path, false, 0);
  /* writev to a pipe nobody reads: EVQ_EPIPE, no SIGPIPE. */
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2: %s", strerror(errno));
  close(p[0]);
  char x = 'x';
  evq_iovec_t iov = {&x, 1};
  ptrdiff_t r = evq_writev(q, p[1], &iov, 1);
  close(p[1]);
  bool d = !ok("evq_writev", r, ANY) && r == EVQ_EPIPE;
  if (r >= 0) die("evq_writev to a pipe without reader returned %td", r);
  return a && b && b2 && c && d;
}

/* Datagrams: bind, open, connect, send, receive one and many (recvmmsg,
 * and the loop other systems use). */
static bool phase_dgram(void) {
  evq_addr_t a, la, from;
  evq_fd_t u1 = EVQ_INVALID_FD, u2 = EVQ_INVALID_FD;
  uintptr_t k = next_token++;
  bool good = false, reg = false;
  char buf[64];
  if (evq_addr_parse(&a, "127.0.0.1:0") != 0) die("address");
  if (!ok("evq_dgram_bind", evq_dgram_bind(&u1, &a, 0), ANY)) return false;
  if (!ok("evq_local_addr", evq_local_addr(u1, &la), ANY)) goto out;
  if (!ok("evq_dgram_open", evq_dgram_open(&u2, EVQ_AF_INET), ANY)) goto out;
  if (!ok("evq_dgram_connect", evq_dgram_connect(u2, &la), ANY)) goto out;
  if (!ok("evq_setsockopt", evq_setsockopt(u2, EVQ_SO_BROADCAST, 1), ANY)) goto out;
  if (!ok("evq_register", evq_register(q, u1, EVQ_READABLE, EVQ_LEVEL, k), DOC_REGISTER))
    goto out;
  reg = true;
  for (int i = 0; i < 5; i++)
    if (!ok("evq_sendto", evq_sendto(q, u2, "dgram", 5, NULL), ANY)) goto out;
  if (!wait_for(q, k, NULL)) goto out;
  ptrdiff_t r = evq_recvfrom(q, u1, buf, sizeof buf, &from);
  if (!ok("evq_recvfrom", r, ANY)) goto out;
  evq_dgram_t m[4];
  char mb[4][16];
  int got = 1;
  for (int pass = 0; pass < 2 && got < 5; pass++) {
    if (pass) setenv("EVQ_RECV_MANY_LOOP", "1", 1);
    memset(m, 0, sizeof m);
    for (int i = 0; i < 4; i++) {
      m[i].buf = mb[i];
      m[i].cap = sizeof mb[i];
    }
    int n = evq_recv_many(q, u1, m, pass ? 4 : 2);
    unsetenv("EVQ_RECV_MANY_LOOP");
    if (!ok("evq_recv_many", n, ANY)) goto out;
    got += n;
  }
  good = got == 5 && r == 5;
out:
  if (reg && evq_deregister(q, u1) != 0) die("evq_deregister failed");
  token_dead(k);
  if (u2 != EVQ_INVALID_FD) ok("evq_close", evq_close(u2), ANY);
  if (u1 != EVQ_INVALID_FD) ok("evq_close", evq_close(u1), ANY);
  return good;
}

/* A queue made while RLIMIT_NOFILE was too low for io_uring's table of
 * pinned files (under 64): a pipe there is polled by number, its file's
 * identity taken at registration and checked before each request
 * (src/unix/uring_files.h). The other backends do not mind. */
static bool phase_unpinned(void) {
  struct rlimit old, low;
  getrlimit(RLIMIT_NOFILE, &old);
  low = old;
  low.rlim_cur = 48;
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) die("setrlimit: %s", strerror(errno));
  evq_t *u;
  bool made = make_queue(&u, 0);
  setrlimit(RLIMIT_NOFILE, &old);
  if (!made) return false;
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2: %s", strerror(errno));
  uintptr_t k = next_token++;
  bool good = false;
  if (ok("evq_register", evq_register(u, p[0], EVQ_READABLE, EVQ_EDGE, k),
         DOC_REGISTER)) {
    good = ok("evq_write", evq_write(u, p[1], "x", 1), ANY) &&
           wait_for(u, k, NULL);
    if (evq_deregister(u, p[0]) != 0) die("evq_deregister failed");
  }
  token_dead(k);
  close(p[0]);
  close(p[1]);
  evq_free(u);
  return good;
}

/* UDP to the other family (evq.h, evq_sendto): an IPv6-only socket
 * refuses an IPv4 host once the OS has (EVQ_EINVAL); a dual-stack one
 * sends to it, and sends again, mapped, when the first try fails (as on
 * Windows; here, when a fault makes it fail). */
static bool phase_dgram_family(void) {
  evq_addr_t lo, any6, to;
  evq_fd_t rx, v6 = EVQ_INVALID_FD, d = EVQ_INVALID_FD;
  uintptr_t k = next_token++;
  bool good = false, reg = false;
  char buf[8];
  if (evq_addr_parse(&lo, "127.0.0.1:0") != 0 ||
      evq_addr_parse(&any6, "[::]:0") != 0)
    die("address");
  if (!ok("evq_dgram_bind", evq_dgram_bind(&rx, &lo, 0), ANY)) return false;
  if (!ok("evq_local_addr", evq_local_addr(rx, &to), ANY)) goto out;
  if (!ok("evq_register", evq_register(q, rx, EVQ_READABLE, EVQ_LEVEL, k), DOC_REGISTER))
    goto out;
  reg = true;
  if (!ok("evq_dgram_open", evq_dgram_open(&v6, EVQ_AF_INET6), ANY)) goto out;
  ptrdiff_t refused = evq_sendto(q, v6, "x", 1, &to);
  if (refused >= 0) die("an IPv6-only socket sent to an IPv4 address");
  /* The refusal is the answer wanted, no error; another code is a fault's
   * (the rule could not ask the socket), which may fail the phase. */
  if (refused != EVQ_EINVAL) ok("evq_sendto", refused, ANY);
  if (!ok("evq_dgram_bind", evq_dgram_bind(&d, &any6, EVQ_SOCK_DUALSTACK), ANY))
    goto out;
  if (!ok("evq_sendto", evq_sendto(q, d, "dual", 4, &to), ANY)) goto out;
  if (!wait_for(q, k, NULL)) goto out;
  ptrdiff_t r = evq_recvfrom(q, rx, buf, sizeof buf, NULL);
  if (!ok("evq_recvfrom", r, ANY)) goto out;
  good = refused == EVQ_EINVAL && r == 4 && memcmp(buf, "dual", 4) == 0;
out:
  if (reg && evq_deregister(q, rx) != 0) die("evq_deregister failed");
  token_dead(k);
  if (d != EVQ_INVALID_FD) ok("evq_close", evq_close(d), ANY);
  if (v6 != EVQ_INVALID_FD) ok("evq_close", evq_close(v6), ANY);
  ok("evq_close", evq_close(rx), ANY);
  return good;
}

/* Accept when the process has no descriptor left: evq's spare takes the
 * connection and closes it (EVQ_EMFILE), instead of a spin or a stall. */
static bool phase_emfile(void) {
  evq_fd_t l, c = EVQ_INVALID_FD, s;
  uintptr_t k = next_token++;
  bool good = false, reg = false;
  if (!ok("evq_tcp_listen", evq_tcp_listen(&l, NULL, 0, 16), ANY)) return false;
  int port = evq_socket_port(l);
  if (!ok("evq_tcp_connect", evq_tcp_connect(&c, NULL, (uint16_t)port), ANY)) goto out;
  if (!ok("evq_register", evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, k), DOC_REGISTER))
    goto out;
  reg = true;
  if (!wait_for(q, k, NULL)) goto out;
  /* No descriptor left: the limit just above the highest open one, the
   * holes below filled. */
  struct rlimit old, low;
  getrlimit(RLIMIT_NOFILE, &old);
  int high = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) != -1) high = fd;
  low = old;
  low.rlim_cur = (rlim_t)high + 1;
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) die("setrlimit: %s", strerror(errno));
  int fill[4096], nfill = 0;
  for (int f; nfill < 4096 && (f = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0;) fill[nfill++] = f;
  int rc = evq_accept(q, l, &s);
  for (int i = 0; i < nfill; i++) close(fill[i]);
  setrlimit(RLIMIT_NOFILE, &old);
  if (rc == 0) {
    evq_close(s);
    die("evq_accept took a connection with no descriptor left");
  }
  if (!ok("evq_accept", rc, ANY)) good = rc == EVQ_EMFILE;
out:
  if (reg && evq_deregister(q, l) != 0) die("evq_deregister failed");
  token_dead(k);
  if (c != EVQ_INVALID_FD) ok("evq_close", evq_close(c), ANY);
  ok("evq_close", evq_close(l), ANY);
  return good;
}

/* ---- completion operations (evq_io.h) ---------------------------------- */

#define DOC_OP (B(EVQ_EINVAL) | B(EVQ_ENOMEM) | B(EVQ_EBUSY) | B(EVQ_EEXIST) | \
                B(EVQ_EBADF))

/* Finals seen while waiting for another op's. */
static uintptr_t op_done[16];
static int32_t op_res[16];
static int nop_done;

/* Waits up to 3 s for op t's final completion (its result in *res); a
 * buffer lent meanwhile goes back, unless hold asks for the first one,
 * which *held gets. If none comes, op is cancelled and must then end: a
 * would-block injected while data waits is an edge lost, which only a
 * fault can make, and the op waits for the next; but a final that never
 * comes even then breaks evq_io.h's promise. */
static bool op_wait(evq_t *qq, evq_op_t *op, evq_pool_t *pool, uintptr_t t,
                    int32_t *res, uint32_t *held) {
  evq_event_t ev[64];
  bool cancelled = false;
  for (int64_t end = evq_now() + 3000 * MS;;) {
    if (evq_now() >= end) {
      if (cancelled) break;
      cancelled = true;
      error_seen = true;
      ok("evq_op_cancel", evq_op_cancel(qq, op), B(EVQ_ENOENT));
      end = evq_now() + 3000 * MS;
    }
    for (int k = 0; k < nop_done; k++)
      if (op_done[k] == t) {
        *res = op_res[k];
        op_done[k] = op_done[--nop_done];
        op_res[k] = op_res[nop_done];
        return true;
      }
    int n = evq_wait(qq, ev, 64, 100 * MS);
    if (!ok("evq_wait", n, DOC_WAIT)) return false;
    for (int i = 0; i < n; i++) {
      check_event(&ev[i]);
      if (!(ev[i].flags & EVQ_OP)) continue;
      if (ev[i].flags & EVQ_OP_BUFFER) {
        if (held && *held == UINT32_MAX) *held = evq_op_buffer(&ev[i]);
        else must("evq_pool_put", evq_pool_put(pool, evq_op_buffer(&ev[i])), 0);
      }
      if (!(ev[i].flags & EVQ_OP_MORE) && nop_done < 16) {
        /* An I/O error is the op's result (evq_io.h): a documented one. */
        int32_t r = evq_op_result(&ev[i]);
        if (r < 0) ok("an operation's result", r, ANY);
        op_done[nop_done] = ev[i].token;
        op_res[nop_done++] = r;
      }
    }
  }
  die("operation %lu never completed", (unsigned long)t);
  return false;
}

/* A queue with EVQ_OPT_ONE_WAITER (io_uring: DEFER_TASKRUN): data that
 * comes after its registration is armed is deferred kernel work, which a
 * wait of 0 must enter the kernel for; and a pool made before any
 * operation makes the queue's operations state itself. */
static bool phase_one_waiter(void) {
  evq_t *qw;
  if (!make_queue(&qw, EVQ_OPT_ONE_WAITER)) return false;
  evq_pool_t *pool = NULL;
  if (ok("evq_pool_create", evq_pool_create(qw, &pool, 1, 8), B(EVQ_ENOMEM)))
    must("evq_pool_free", evq_pool_free(pool), 0);
  evq_fd_t p[2];
  bool good = false;
  if (ok("evq_socketpair", evq_socketpair(p), ANY)) {
    if (ok("evq_register", evq_register(qw, p[0], EVQ_READABLE, EVQ_LEVEL, 7),
           DOC_REGISTER)) {
      evq_event_t ev[4];
      ok("evq_wait", evq_wait(qw, ev, 4, 0), DOC_WAIT); /* arms it */
      if (ok("evq_write", evq_write(NULL, p[1], "x", 1), ANY))
        for (int i = 0; i < 1000 && !good; i++) {
          int n = evq_wait(qw, ev, 4, 0);
          if (n < 0 && !ok("evq_wait", n, DOC_WAIT)) break;
          good = n == 1 && ev[0].token == 7;
        }
      must("evq_deregister", evq_deregister(qw, p[0]), DOC_DEREGISTER);
    }
    evq_close(p[0]);
    evq_close(p[1]);
  }
  evq_free(qw);
  return good;
}

/* A receive and a send; a pool of one buffer run dry (the receive without
 * a buffer peeks); a close with an operation in flight; evq_free with one
 * in flight. Whatever a fault fails, every accepted operation completes
 * once, and nothing leaks. */
static bool phase_ops(void) {
  evq_t *qq;
  if (!make_queue(&qq, 0)) return false;
  evq_fd_t p[2];
  if (!ok("evq_socketpair", evq_socketpair(p), ANY)) {
    evq_free(qq);
    return false;
  }
  static evq_op_t rx, tx, rp, cl, last;
  evq_op_init(&rx), evq_op_init(&tx), evq_op_init(&rp), evq_op_init(&cl);
  evq_op_init(&last);
  evq_pool_t *pool = NULL;
  char buf[16];
  int32_t r = -1, r2 = -1;
  uint32_t held = UINT32_MAX;
  bool good = false, closed = false;
  uintptr_t t = next_token;
  next_token += 5;
  nop_done = 0;
  if (!ok("evq_op_recv", evq_op_recv(qq, &rx, p[0], buf, sizeof buf, t), DOC_OP))
    goto out;
  if (!ok("evq_op_send", evq_op_send(qq, &tx, p[1], "hello", 5, t + 1), DOC_OP)) {
    ok("evq_op_cancel", evq_op_cancel(qq, &rx), 0);
    op_wait(qq, &rx, NULL, t, &r, NULL);
    goto out;
  }
  op_wait(qq, &tx, NULL, t + 1, &r2, NULL);
  if (r2 != 5) ok("evq_op_cancel", evq_op_cancel(qq, &rx), B(EVQ_ENOENT));
  op_wait(qq, &rx, NULL, t, &r, NULL);
  if (r != 5 || r2 != 5) goto out; /* a fault failed the I/O: its result */
  if (!ok("evq_pool_create", evq_pool_create(qq, &pool, 1, 8), B(EVQ_ENOMEM)))
    goto out;
  if (!ok("evq_op_recv_pool", evq_op_recv_pool(qq, &rp, p[0], pool, t + 2),
          DOC_OP))
    goto out;
  if (!ok("evq_write", evq_write(NULL, p[1], "0123456789abcdef", 16), ANY)) {
    ok("evq_op_cancel", evq_op_cancel(qq, &rp), 0);
    op_wait(qq, &rp, pool, t + 2, &r, NULL);
    goto out;
  }
  op_wait(qq, &rp, pool, t + 2, &r, &held); /* a buffer, then EVQ_ENOBUFS */
  if (held != UINT32_MAX) must("evq_pool_put", evq_pool_put(pool, held), 0);
  if (!ok("evq_op_recv", evq_op_recv(qq, &rx, p[0], buf, sizeof buf, t + 3),
          DOC_OP))
    goto out;
  if (ok("evq_op_close", evq_op_close(qq, &cl, p[0], t + 4), DOC_OP)) {
    closed = true;
    op_wait(qq, &rx, NULL, t + 3, &r, NULL);
    op_wait(qq, &cl, NULL, t + 4, &r, NULL);
  } else {
    ok("evq_op_cancel", evq_op_cancel(qq, &rx), 0);
    op_wait(qq, &rx, NULL, t + 3, &r, NULL);
    goto out;
  }
  /* evq_free with a receive in flight: it ends, nothing leaks. */
  good = ok("evq_op_recv", evq_op_recv(qq, &last, p[1], buf, sizeof buf, t + 5),
            DOC_OP);
out:
  if (pool && evq_op_active(&last) == 0) ok("evq_pool_free", evq_pool_free(pool), ANY);
  evq_free(qq);
  if (evq_op_active(&last)) die("evq_free left an operation active");
  if (!closed) ok("evq_close", evq_close(p[0]), ANY);
  ok("evq_close", evq_close(p[1]), ANY);
  for (uintptr_t k = t; k <= t + 5; k++) token_dead(k);
  return good;
}

typedef struct {
  const char *name;
  bool (*fn)(void);
} phase_t;

static const phase_t phases[] = {
    {"create", phase_create},   {"pair", phase_pair},
    {"tcp", phase_tcp},         {"pipe", phase_pipe},
    {"timers", phase_timers},   {"wake", phase_wake},
    {"contention", phase_contention},
    {"signals", phase_signals}, {"children", phase_children},
    {"embed", phase_embed},     {"many", phase_many},
    {"dup_close", phase_dup_close}, {"stream", phase_stream},
    {"dgram", phase_dgram},     {"dgram_family", phase_dgram_family},
    {"emfile", phase_emfile},
    {"unpinned", phase_unpinned},
    {"ops", phase_ops},
    {"one_waiter", phase_one_waiter},
};

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--functions") == 0) {
    /* name F NAME=value... | name N | name SITE function NAME=value... |
     * DEAD<tab>function<tab>name<tab>line */
    for (int i = 0; evqf_functions[i].name; i++) {
      const evqf_function_t *f = &evqf_functions[i];
      if (f->faultable == 3) {
        printf("DEAD\t%s\t%s\t%s\n", f->fn, f->name, f->line);
        continue;
      }
      static const char *const kind[] = {"N", "F", "SITE"};
      printf("%s %s", f->name, kind[f->faultable]);
      if (f->faultable == 2) printf(" %s", f->fn);
      if (f->faultable) {
        char errs[256], *save = NULL;
        snprintf(errs, sizeof errs, "%s", f->what);
        for (char *e = strtok_r(errs, " ", &save); e; e = strtok_r(NULL, " ", &save))
          printf(" %s=%d", e, evqf_errno_value(e));
      }
      printf("\n");
    }
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--backends") == 0) {
    const char *names[16];
    int n = evq_backends(names, 16);
    for (int i = 0; i < n && i < 16; i++) printf("%s\n", names[i]);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s BACKEND | --functions | --backends\n", argv[0]);
    return 2;
  }
  backend = argv[1];
  alarm(30); /* a hang is a failure too (a run takes well under a second) */
  int fds_before = count_fds();
  int hit_phase = -1;
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
    phase = phases[i].name;
    int before = evqf_fired();
    error_seen = false;
    int64_t t0 = evq_now();
    bool good = phases[i].fn();
    if (getenv("EVQ_FAULT_TIMING"))
      fprintf(stderr, "phase %s: %lld ms\n", phase, (long long)((evq_now() - t0) / MS));
    if (!before && evqf_fired()) hit_phase = (int)i;
    if (!good && hit_phase != (int)i)
      die("failed %s", before ? "after the fault hit an earlier phase: the "
                                "queue is not usable"
                              : "without any fault");
    if (!good && !error_seen)
      die("failed under the fault although every evq call in it succeeded: "
          "the fault was absorbed without a word, and something silently "
          "stopped working");
  }
  phase = "free";
  evq_free(q2);
  evq_free(q);
  long live = evqf_live_allocations();
  if (live != 0) die("%ld allocations of the library left after evq_free", live);
  int fds_after = count_fds();
  if (fds_after != fds_before)
    die("%d descriptors open at the start, %d at the end", fds_before, fds_after);
  evqf_dump();
  if (evqf_mode() == 2)
    printf("fault scenario [%s]: %s\n", backend,
           !evqf_fired()     ? "the fault was not reached"
           : hit_phase >= 0 ? phases[hit_phase].name
                            : "fired in evq_free");
  return 0;
}
