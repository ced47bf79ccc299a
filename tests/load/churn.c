/*
 * churn: registrations changing from several threads while one waits
 * (docs/reliability.md). POSIX.
 *
 *   churn BACKEND [SECONDS]      (default 5; CHURN_SECONDS also sets it)
 *
 * Three threads each own 64 descriptor slots and, at random: register,
 * modify (a new token), deregister, write to the peer, drain, replace the
 * pair (deregister, close, new socketpair), close while registered and
 * then deregister (which must succeed), dup + close + deregister (the
 * open file outlives the number), and start or stop timers. One thread
 * calls evq_wake now and then, one raises a subscribed signal. The main
 * thread waits, and checks every event:
 *  - its token is live: no event for a registration deregistered, modified
 *    or closed, or a timer stopped, before the wait began (every token
 *    carries its slot and a generation; the waiter notes, before each wait,
 *    the last generation retired in each slot);
 *  - one event per token (registration, timer, wake-up, signal) per wait;
 *  - flags within what was asked, plus the result flags.
 * At the end everything is deregistered; a wait must report nothing and
 * not spin, and the queue must free with every descriptor accounted for.
 * Prints the counts of every operation and event.
 *
 * On Windows (IOCP; built with mingw-w64, whose winpthreads gives the
 * threads) the signal is the console's Ctrl-Break, raised by running evq's
 * console handler as Windows does (wine cannot make console events), the
 * descriptors counted are the process's handles, and there is no dup:
 * Windows sockets have none within a process.
 */
#define _GNU_SOURCE
#include "evq_net.h"
#include "../fd_race.h"
#include "../spin.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <winternl.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#define MS ((int64_t)1000000)
#define NTHREADS 3
#define PER 64
#define NSLOTS (NTHREADS * PER)
#define NTIMERS 8
/* token = kind << 60 | gen << 16 | slot */
#define K_FD 1ull
#define K_TIMER 2ull
#define WAKE_TOKEN ((uintptr_t)3 << 60)
#define SIGNAL_TOKEN ((uintptr_t)4 << 60)
#define TOK(kind, gen, slot) ((uintptr_t)((kind) << 60 | (uint64_t)(gen) << 16 | (slot)))

static const char *backend;
static bool ignore_dup;
static evq_t *q;
static atomic_int stop;
static pthread_rwlock_t numbers = PTHREAD_RWLOCK_INITIALIZER;

typedef struct {
  evq_fd_t p[2];
  bool registered;
  uint32_t interests;
  uint64_t gen;              /* of the live token */
  _Atomic uint64_t retired;  /* every generation up to this one is dead */
} slot_t;

typedef struct {
  evq_timer_t t;
  bool running;
  uint64_t gen;
  _Atomic uint64_t retired;
} tslot_t;

#ifdef _WIN32
#define CHURN_SIGNAL SIGBREAK
BOOL evq__console_event(DWORD type); /* src/win/signal.c, for tests */
static void raise_signal(void) { (void)evq__console_event(CTRL_BREAK_EVENT); }
static void nap_us(int us) { Sleep((DWORD)(us + 999) / 1000); }
#else
#define CHURN_SIGNAL SIGUSR2
static void raise_signal(void) { kill(getpid(), SIGUSR2); }
static void nap_us(int us) { usleep((useconds_t)us); }
#endif

static slot_t slots[NSLOTS];
static tslot_t timers[NTHREADS][NTIMERS];
static atomic_ulong n_register, n_modify, n_deregister, n_replace, n_close_reg,
    n_dup_close, n_write, n_drain, n_timer, n_wake, n_signal;

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "churn [%s]: FAILED: ", backend);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

static void ok(const char *what, long rc) {
  if (rc < 0) fail("%s: %s", what, evq_strerror((int)rc));
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static void new_pair(slot_t *s) {
  pthread_rwlock_rdlock(&numbers);
  ok("evq_socketpair", tq_fd_socketpair(s->p));
  pthread_rwlock_unlock(&numbers);
}

static void retire(_Atomic uint64_t *retired, uint64_t gen) {
  atomic_store(retired, gen); /* after the evq call that ended it returned */
}

static void do_register(slot_t *s, int id, uint64_t *rng) {
  static const uint32_t dirs[] = {EVQ_READABLE, EVQ_WRITABLE,
                                  EVQ_READABLE | EVQ_WRITABLE};
  static const evq_mode_t modes[] = {EVQ_EDGE, EVQ_LEVEL, EVQ_ONESHOT};
  uint32_t interests = dirs[rnd(rng) % 3];
  evq_mode_t mode = modes[rnd(rng) % 3];
  uint64_t gen = s->gen + 1;
  if (!s->registered) {
    ok("evq_register", evq_register(q, s->p[0], interests, mode, TOK(K_FD, gen, id)));
    s->registered = true;
    atomic_fetch_add(&n_register, 1);
  } else {
    ok("evq_modify", evq_modify(q, s->p[0], interests, mode, TOK(K_FD, gen, id)));
    retire(&s->retired, s->gen);
    atomic_fetch_add(&n_modify, 1);
  }
  s->gen = gen;
  s->interests = interests;
}

static void do_deregister(slot_t *s) {
  if (!s->registered) return;
  int rc = evq_deregister(q, s->p[0]);
  if (rc != 0) fail("evq_deregister of a registered descriptor: %s", evq_errname(rc));
  retire(&s->retired, s->gen);
  s->registered = false;
  atomic_fetch_add(&n_deregister, 1);
}

static void *mutator(void *arg) {
  int t = (int)(intptr_t)arg;
  uint64_t rng = (uint64_t)t * 7919 + 17;
  char buf[4096];
  memset(buf, 'c', sizeof buf);
  while (!atomic_load(&stop)) {
    int id = t * PER + (int)(rnd(&rng) % PER);
    slot_t *s = &slots[id];
    switch (rnd(&rng) % 12) {
    case 0: case 1: case 2:
      do_register(s, id, &rng);
      break;
    case 3:
      do_deregister(s);
      break;
    case 4: case 5:
      evq_write(q, s->p[1], buf, 1 + rnd(&rng) % sizeof buf);
      atomic_fetch_add(&n_write, 1);
      break;
    case 6:
      while (evq_read(q, s->p[0], buf, sizeof buf) > 0) {
      }
      atomic_fetch_add(&n_drain, 1);
      break;
    case 7: /* a new pair in the slot */
      do_deregister(s);
      tq_fd_close(s->p[0]);
      tq_fd_close(s->p[1]);
      new_pair(s);
      atomic_fetch_add(&n_replace, 1);
      break;
    case 8: /* closed while registered, then deregistered */
      if (!s->registered) break;
      /* No other thread may get the number before it is deregistered:
       * its registration would (rightly) fail with EEXIST. */
      pthread_rwlock_wrlock(&numbers);
      tq_fd_close(s->p[0]);
      {
        int rc = evq_deregister(q, s->p[0]);
        if (rc != 0) fail("evq_deregister after close: %s", evq_errname(rc));
      }
      pthread_rwlock_unlock(&numbers);
      retire(&s->retired, s->gen);
      s->registered = false;
      tq_fd_close(s->p[1]);
      new_pair(s);
      atomic_fetch_add(&n_close_reg, 1);
      break;
    case 9: { /* a dup keeps the open file: close the number, deregister */
#ifdef _WIN32
      break; /* no dup of a socket within a Windows process */
#else
      if (!s->registered) break;
      pthread_rwlock_wrlock(&numbers);
      int d = fcntl(s->p[0], F_DUPFD_CLOEXEC, 0);
      if (d < 0) fail("dup: %s", strerror(errno));
      tq_fd_close(s->p[0]);
      int rc = evq_deregister(q, s->p[0]);
      if (rc != 0) fail("evq_deregister after dup and close: %s", evq_errname(rc));
      pthread_rwlock_unlock(&numbers);
      retire(&s->retired, s->gen);
      s->registered = false;
      /* The dup lives on, with data for it, while the others churn. */
      evq_write(q, s->p[1], buf, 64);
      tq_fd_close(d);
      tq_fd_close(s->p[1]);
      new_pair(s);
      atomic_fetch_add(&n_dup_close, 1);
      break;
#endif
    }
    case 10:
    case 11: {
      tslot_t *tm = &timers[t][rnd(&rng) % NTIMERS];
      int idx = (int)(tm - &timers[0][0]);
      if (tm->running && rnd(&rng) % 2) {
        int rc = evq_timer_stop(q, &tm->t);
        if (rc != 0 && rc != EVQ_ENOENT) fail("evq_timer_stop: %s", evq_errname(rc));
        retire(&tm->retired, tm->gen);
        tm->running = false;
      } else {
        uint64_t gen = tm->gen + 1;
        int64_t period = rnd(&rng) % 2 ? 0 : (1 + rnd(&rng) % 5) * MS;
        ok("evq_timer_start", evq_timer_start(q, &tm->t, (int64_t)(rnd(&rng) % 5) * MS,
                                              period, TOK(K_TIMER, gen, idx)));
        if (tm->running) retire(&tm->retired, tm->gen);
        tm->gen = gen;
        tm->running = true;
      }
      atomic_fetch_add(&n_timer, 1);
      break;
    }
    }
  }
  return NULL;
}

static void *waker(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    ok("evq_wake", evq_wake(q));
    atomic_fetch_add(&n_wake, 1);
    nap_us(200);
  }
  return NULL;
}

static void *raiser(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    raise_signal();
    atomic_fetch_add(&n_signal, 1);
    nap_us(300);
  }
  return NULL;
}

#ifdef _WIN32
/* The process's handles, from the system's table of every handle
 * (GetProcessHandleCount would do, but wine always says 0), but for
 * events: evq makes none, and wine keeps one for good for every thread
 * that made a socket call (3 more per run, the mutators'). */
typedef struct {
  PVOID object;
  ULONG_PTR pid, handle;
  ULONG access;
  USHORT trace, type;
  ULONG attributes, reserved;
} handle_entry_t;
typedef struct {
  ULONG_PTR count, reserved;
  handle_entry_t handles[1];
} handle_table_t;

static handle_table_t *handle_table(void) {
  for (ULONG len = 1 << 20;; len *= 2) {
    handle_table_t *t = malloc(len);
    if (!t) fail("out of memory");
    NTSTATUS st = NtQuerySystemInformation(
        (SYSTEM_INFORMATION_CLASS)64 /* SystemExtendedHandleInformation */,
        t, len, NULL);
    if (st >= 0) return t;
    free(t);
    if (st != (NTSTATUS)0xC0000004L) /* STATUS_INFO_LENGTH_MISMATCH */
      fail("NtQuerySystemInformation: %#lx", (unsigned long)st);
  }
}

/* The type number the table gives events, from an event of our own. */
static int event_type(void) {
  HANDLE e = CreateEventA(NULL, FALSE, FALSE, NULL);
  handle_table_t *t = handle_table();
  int type = -1;
  for (ULONG_PTR i = 0; i < t->count; i++)
    if (t->handles[i].pid == GetCurrentProcessId() &&
        t->handles[i].handle == (ULONG_PTR)e)
      type = t->handles[i].type;
  free(t);
  CloseHandle(e);
  if (type < 0) fail("no event in the table of handles");
  return type;
}

static int count_fds(void) {
  static int events = -1;
  if (events < 0) events = event_type();
  handle_table_t *t = handle_table();
  int n = 0;
  for (ULONG_PTR i = 0; i < t->count; i++)
    n += t->handles[i].pid == GetCurrentProcessId() &&
         t->handles[i].type != events;
  free(t);
  return n;
}
#else
static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) != -1) n++;
  return n;
}
#endif

/* The count once it holds still for 100 ms (up to 2 s): libkqueue ends a
 * closed kqueue's knotes on a thread of its own, a little later. */
static int settled_fds(void) {
  int n = count_fds();
  for (int i = 0; i < 20; i++) {
    nap_us(100 * 1000);
    int m = count_fds();
    if (m == n) break;
    n = m;
  }
  return n;
}

static void *take_numbers(void *arg) {
  (void)arg;
  pthread_rwlock_rdlock(&numbers);
  pthread_rwlock_unlock(&numbers);
  return NULL;
}

/* The baseline is taken after a first queue, with a socket pair, the
 * signal and a thread, came and went: the layers below evq may keep
 * descriptors or handles for the process from their first use (libkqueue
 * does; on Windows winpthreads' locks and threads and Winsock do: 7
 * handles under wine), which are not a leak of this run's. */
static void warm_up(const evq_options_t *o) {
  evq_fd_t p[2];
  pthread_t th;
  ok("evq_create", evq_create(&q, o));
  ok("evq_socketpair", evq_socketpair(p));
  ok("evq_register", evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  ok("evq_signal_add", evq_signal_add(q, CHURN_SIGNAL, SIGNAL_TOKEN));
  pthread_create(&th, NULL, take_numbers, NULL);
  pthread_join(th, NULL);
  ok("evq_signal_remove", evq_signal_remove(q, CHURN_SIGNAL));
  ok("evq_deregister", evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BACKEND [SECONDS]\n", argv[0]);
    return 2;
  }
  backend = argv[1];
  /* To look past the known defect (two wake or signal events in one wait)
   * while exploring; the suite never sets it. */
  const char *ig = getenv("CHURN_IGNORE");
  ignore_dup = ig && strstr(ig, "duplicate");
  const char *env = getenv("CHURN_SECONDS");
  double seconds = argc > 2 ? atof(argv[2]) : env ? atof(env) : 5;
  evq_options_t o = {.backend = backend, .wake_token = WAKE_TOKEN};
  warm_up(&o);
  int fds_before = settled_fds();
  ok("evq_create", evq_create(&q, &o));
#ifndef _WIN32
  signal(SIGUSR2, SIG_IGN);
#endif
  ok("evq_signal_add", evq_signal_add(q, CHURN_SIGNAL, SIGNAL_TOKEN));
  for (int i = 0; i < NSLOTS; i++) new_pair(&slots[i]);
  for (int t = 0; t < NTHREADS; t++)
    for (int i = 0; i < NTIMERS; i++) evq_timer_init(&timers[t][i].t);

  pthread_t th[NTHREADS + 2];
  for (int t = 0; t < NTHREADS; t++)
    pthread_create(&th[t], NULL, mutator, (void *)(intptr_t)t);
  pthread_create(&th[NTHREADS], NULL, waker, NULL);
  pthread_create(&th[NTHREADS + 1], NULL, raiser, NULL);

  static uint64_t safe[NSLOTS], tsafe[NTHREADS * NTIMERS];
  static evq_event_t ev[512];
  unsigned long waits = 0, events = 0, fd_events = 0, timer_events = 0,
                wake_events = 0, signal_events = 0;
  int64_t end = evq_now() + (int64_t)(seconds * 1e9);
  while (evq_now() < end) {
    for (int i = 0; i < NSLOTS; i++) safe[i] = atomic_load(&slots[i].retired);
    for (int i = 0; i < NTHREADS * NTIMERS; i++)
      tsafe[i] = atomic_load(&timers[i / NTIMERS][i % NTIMERS].retired);
    int n = evq_wait(q, ev, 512, 5 * MS);
    ok("evq_wait", n);
    waits++;
    events += (unsigned long)n;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < i; j++)
        if (ev[j].token == ev[i].token &&
            !(ignore_dup && (ev[i].token == WAKE_TOKEN || ev[i].token == SIGNAL_TOKEN)))
          fail("two events for token %#lx in one wait (flags %#x and %#x)",
               (unsigned long)ev[i].token, ev[j].flags, ev[i].flags);
      uintptr_t tk = ev[i].token;
      if (tk == WAKE_TOKEN) {
        if (ev[i].flags != EVQ_WAKE) fail("wake event with flags %#x", ev[i].flags);
        wake_events++;
        continue;
      }
      if (tk == SIGNAL_TOKEN) {
        if (ev[i].flags != EVQ_SIGNAL || ev[i].data < 1)
          fail("signal event with flags %#x data %u", ev[i].flags, ev[i].data);
        signal_events++;
        continue;
      }
      uint64_t kind = (uint64_t)tk >> 60, gen = ((uint64_t)tk >> 16) & 0xFFFFFFFFFFull,
               slot = (uint64_t)tk & 0xFFFF;
      if (kind == K_FD && slot < NSLOTS) {
        if (gen <= safe[slot])
          fail("event (flags %#x) for slot %lu generation %lu, retired (deregistered, "
               "modified or closed) before the wait began",
               ev[i].flags, (unsigned long)slot, (unsigned long)gen);
        uint32_t known = EVQ_READABLE | EVQ_WRITABLE | EVQ_ERROR | EVQ_READ_CLOSED |
                         EVQ_WRITE_CLOSED;
        if (ev[i].flags & ~known) fail("descriptor event with flags %#x", ev[i].flags);
        fd_events++;
      } else if (kind == K_TIMER && slot < NTHREADS * NTIMERS) {
        if (gen <= tsafe[slot])
          fail("timer event for a timer stopped or restarted before the wait began");
        if (ev[i].flags != EVQ_TIMER || ev[i].data < 1)
          fail("timer event with flags %#x data %u", ev[i].flags, ev[i].data);
        timer_events++;
      } else {
        fail("event with unknown token %#lx", (unsigned long)tk);
      }
    }
  }
  atomic_store(&stop, 1);
  for (int t = 0; t < NTHREADS + 2; t++) pthread_join(th[t], NULL);

  /* Wind down: nothing registered, no timer, the wake-up and signal
   * collected; then a wait reports nothing and does not spin. */
  for (int i = 0; i < NSLOTS; i++) do_deregister(&slots[i]);
  for (int t = 0; t < NTHREADS; t++)
    for (int i = 0; i < NTIMERS; i++)
      if (timers[t][i].running) {
        int rc = evq_timer_stop(q, &timers[t][i].t);
        if (rc != 0 && rc != EVQ_ENOENT) fail("evq_timer_stop: %s", evq_errname(rc));
      }
  ok("evq_signal_remove", evq_signal_remove(q, CHURN_SIGNAL));
  ok("evq_wait", evq_wait(q, ev, 512, 0));
  uint64_t r0 = evq__wait_rounds(q);
  int n = evq_wait(q, ev, 512, 20 * MS);
  uint64_t rounds = evq__wait_rounds(q) - r0;
  if (n != 0) fail("%d events after everything was deregistered (token %#lx)", n,
                   (unsigned long)ev[0].token);
  if (rounds > TQ_SPIN_ROUNDS) /* tests/spin.h */
    fail("an empty wait of 20 ms went round %llu times: it spins",
         (unsigned long long)rounds);
  for (int i = 0; i < NSLOTS; i++) {
    evq_close(slots[i].p[0]);
    evq_close(slots[i].p[1]);
  }
  evq_free(q);
  int fds_after = settled_fds();
  if (fds_after != fds_before)
    fail("%d descriptors open before, %d after", fds_before, fds_after);
  printf("churn [%s]: %.0f s, 3 threads: %lu registers, %lu modifies, %lu deregisters, "
         "%lu pairs replaced, %lu closes while registered, %lu dup+closes, %lu writes, "
         "%lu drains, %lu timer starts/stops; %lu wakes, %lu signals raised; %lu waits, "
         "%lu events (%lu descriptor, %lu timer, %lu wake, %lu signal): 0 violations\n",
         backend, seconds, atomic_load(&n_register), atomic_load(&n_modify),
         atomic_load(&n_deregister), atomic_load(&n_replace), atomic_load(&n_close_reg),
         atomic_load(&n_dup_close), atomic_load(&n_write), atomic_load(&n_drain),
         atomic_load(&n_timer), atomic_load(&n_wake), atomic_load(&n_signal), waits, events,
         fd_events, timer_events, wake_events, signal_events);
  return 0;
}
