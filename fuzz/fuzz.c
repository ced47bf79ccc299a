/*
 * The differential fuzzer: one input, read as a sequence of operations on
 * descriptors, timers and wake-ups (fuzz.h), runs on every backend compiled
 * in (evq_backends()) and is checked, event by event, against a model of
 * what evq promises. docs/reliability.md states the model; in short:
 *
 * MUST NOT (checked on every wait, also while a second thread changes
 * things; "before the wait" means before evq_wait was called):
 *   - an event with a token that was never handed out, or whose
 *     registration was deregistered, modified (new token) or whose timer
 *     was stopped or restarted before the wait;
 *   - an event for an open file that no descriptor refers to any more;
 *   - on a backend that watches descriptor numbers (poll, kqueue, iocp), an
 *     event for a registration whose number was closed before the wait
 *     (and not pointed back at the same file since); on backends that watch
 *     the open file (epoll, io_uring) such an event MAY come while a dup
 *     keeps the file open;
 *   - a flag the descriptor's readiness does not have (readiness is asked
 *     of the kernel with poll(2) just before and just after the wait, on
 *     any descriptor of the same file) or a direction not asked for;
 *   - a oneshot event again before evq_modify; an edge event again for a
 *     direction with no I/O on the file or its peer and no re-arm since
 *     (sockets and pipes of this process only: TCP may change on its own);
 *   - two events for one token in one wait; a timer event before its
 *     deadline, or more expirations than the time allows; a wake event with
 *     no evq_wake since the last one was collected;
 *   - a wait that ends with nothing before its timeout, or that burns CPU
 *     for more than half of it (the spin after a stale kernel entry).
 * MUST (checked when one thread runs, the capacity holds every event, and
 * the readiness was the same before and after the wait):
 *   - a level registration whose file is ready for an interest is reported
 *     with those flags; a oneshot one too until it fired; an edge one for a
 *     direction that is ready and armed (registered or modified since the
 *     last event, or I/O through evq_read/evq_write hit would-block, or
 *     evq_rearm while not ready);
 *   - a timer whose deadline passed before the wait is reported; an
 *     evq_wake made since the last wake event is reported;
 *   - evq_register of a number that is open and not registered succeeds
 *     (no EEXIST from leftovers); evq_deregister of a registered number
 *     succeeds, closed or not; the other calls return what evq.h says.
 * After the run: everything deregistered, a wait reports nothing and does
 * not spin, the queue frees, and the process has the descriptors it had.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include "evq.h"
#include "../tests/fd_race.h"
#include "../tests/spin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAKE_TOKEN ((uintptr_t)1)
#define TOKEN_BASE 1000
#define MS ((int64_t)1000000)
#define DIRS (EVQ_READABLE | EVQ_WRITABLE | EVQ_PRIORITY)
#define RESULTS (DIRS | EVQ_ERROR | EVQ_READ_CLOSED | EVQ_WRITE_CLOSED)

enum {
  MAX_H = 12,      /* handles: names for descriptor numbers */
  MAX_FD = 1024,   /* numbers the model tracks */
  MAX_OPS = 256,   /* operations per input */
  MAX_FILES = 2 * MAX_OPS + 8,
  MAX_TOKENS = 2 * MAX_OPS + 8,
  NTIMERS = 4,
  EV_CAP = 64,     /* capacity of a "large" wait: holds every event */
  SLEEP_BUDGET_MS = 20 /* time one run may spend in waits that time out */
};

enum { K_UNIX, K_PIPE_R, K_PIPE_W, K_TCP };
static const char *const kind_names[] = {"unix", "pipe-r", "pipe-w", "tcp"};

typedef struct {
  uint8_t op, a, b, c;
} op_t;

typedef struct {
  int kind, peer;      /* peer: the other end's file, or -1 */
  int refs;            /* descriptors of this process referring to it */
  uint64_t closed_seq; /* when the last one was closed; 0 while open */
  uint64_t activity;   /* bumped by every operation on it or its peer */
  uint64_t tx, rx;     /* bytes written through it, read from it */
  uint64_t io_wait;    /* r->waits when it or its peer last saw I/O */
  bool orphaned;       /* a number of it was closed while it stayed open:
                          epoll may hold an entry for it that no number
                          reaches, until evq rebuilds */
} file_t;

typedef struct {
  bool live;           /* registered, as far as the model knows */
  int file;            /* the file its number referred to when registered */
  int alt;             /* modified after its number was closed and reused:
                          the file before, which a backend that watches open
                          files may still report; -1 */
  uint32_t interests;
  int mode;
  uintptr_t token;
  uint64_t unbound_seq; /* the number stopped referring to file; 0: it does */
  bool tainted;         /* was closed under evq since register or modify:
                           even pointed back at its file, no MUST applies */
  bool fired;           /* oneshot: reported, not re-armed */
  uint32_t must;        /* edge: directions whose readiness must report */
  uint32_t delivered;   /* edge: reported, not re-armed since */
  uint64_t act_at[3];   /* activity of file + peer when each was reported */
  uint32_t may_repeat;  /* edge on epoll: directions that may be reported
                           once more with no I/O (evq.h, EVQ_EDGE: after a
                           rebuild of the epoll instance) */
} reg_t;

typedef struct {
  int kind; /* 0 none, 1 descriptor, 2 timer */
  int idx;  /* number or timer index */
  uint64_t dead_seq; /* from this point no event may carry it; 0: alive */
  const char *why;
} tok_t;

typedef struct {
  evq_timer_t t;
  bool running;
  uintptr_t token;
  int64_t t_before, t_after, delay, period;
  uint64_t expirations;
} ftimer_t;

/* What a backend watches, which decides what it may report for a
 * descriptor closed while registered (evq.h, "Closing"). */
enum watch {
  WATCH_NUMBER, /* poll, kqueue, iocp: nothing once the number is closed */
  WATCH_FILE,   /* epoll: the open file, while a dup keeps it open */
  HOLD_FILE     /* io_uring: its poll request holds the file itself, which
                   may report even with no descriptor left */
};

typedef struct run {
  const char *backend;
  enum watch watch;
  evq_t *q;
  pthread_mutex_t mu; /* the model, between the waiter and the other thread */
  atomic_uint_fast64_t seq;
  int listener;
  int hfd[MAX_H];
  int fd_file[MAX_FD];
  int max_fd;
  file_t files[MAX_FILES];
  int nfiles;
  reg_t regs[MAX_FD];
  tok_t toks[MAX_TOKENS];
  int ntoks;
  ftimer_t timers[NTIMERS];
  atomic_uint_fast64_t wake_started, wake_done;
  uint64_t wake_started_at_return; /* after the last wake event's wait */
  uint64_t wake_done_before_last;  /* wake-ups made before that wait */
  int64_t sleep_left;              /* ns of timed-out waits left */
  uint64_t waits; /* waits done */
  uint64_t rebuild_until; /* an orphaned file closed: a rebuild its stale
                             key asked for may come up to this wait */
  const op_t *ops;
  int nops, cur;
  atomic_int b_done;
  int b_first, b_count, b_pacing;
} run_t;

static run_t R; /* one run at a time; static: it is large */
static int trace_on = -1;


const char *evqfuzz_op_name(int op) {
  static const char *const names[FZ_NOPS] = {
      "socketpair", "pipe",      "tcp",         "register",   "modify",
      "deregister", "rearm",     "write",       "read",       "drain",
      "raw_read",   "fill",      "shutdown",    "close",      "dup",
      "dup2",       "timer_start", "timer_stop", "wake",      "wait",
      "concurrent", "next_timeout", "deregister_close"};
  return op >= 0 && op < FZ_NOPS ? names[op] : "?";
}

static const int64_t timeouts_ms[] = {0, 0, 1, 5, 20};
static const size_t sizes[] = {1, 7, 100, 1000, 4096, 20000};
static const int64_t delays_ms[] = {0, 1, 2, 5, 10, 50};
static const int64_t periods_ms[] = {0, 0, 0, 1, 3, 10};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t op_interests(uint8_t a) { return (uint32_t)(a % 7) + 1; }
static int op_mode(uint8_t a) { return a % 3 + 1; }
static const char *mode_name(int m) {
  return m == EVQ_EDGE ? "edge" : m == EVQ_LEVEL ? "level" : "oneshot";
}

static void print_op(FILE *f, int i, const op_t *o) {
  int op = o->op % FZ_NOPS;
  fprintf(f, "  #%d %s", i, evqfuzz_op_name(op));
  switch (op) {
  case FZ_REGISTER:
  case FZ_MODIFY:
    fprintf(f, " h%d interests=%s%s%s %s", o->a % MAX_H,
            op_interests(o->b) & EVQ_READABLE ? "R" : "",
            op_interests(o->b) & EVQ_WRITABLE ? "W" : "",
            op_interests(o->b) & EVQ_PRIORITY ? "P" : "",
            mode_name(op_mode(o->c)));
    break;
  case FZ_DEREGISTER: case FZ_DRAIN: case FZ_FILL: case FZ_CLOSE: case FZ_DUP:
  case FZ_DEREGISTER_CLOSE:
    fprintf(f, " h%d", o->a % MAX_H);
    break;
  case FZ_REARM:
    fprintf(f, " h%d dirs=%d", o->a % MAX_H, o->b % 3 + 1);
    break;
  case FZ_WRITE: case FZ_READ: case FZ_RAW_READ:
    fprintf(f, " h%d %zu bytes", o->a % MAX_H, sizes[o->b % COUNT(sizes)]);
    break;
  case FZ_SHUTDOWN:
    fprintf(f, " h%d how=%d", o->a % MAX_H, o->b % 3);
    break;
  case FZ_DUP2:
    fprintf(f, " h%d onto h%d", o->a % MAX_H, o->b % MAX_H);
    break;
  case FZ_TIMER_START:
    fprintf(f, " t%d delay=%lldms period=%lldms", o->a % NTIMERS,
            (long long)delays_ms[o->b % COUNT(delays_ms)],
            (long long)periods_ms[o->c % COUNT(periods_ms)]);
    break;
  case FZ_TIMER_STOP:
    fprintf(f, " t%d", o->a % NTIMERS);
    break;
  case FZ_WAIT:
    fprintf(f, " timeout=%lldms cap=%d",
            (long long)timeouts_ms[o->a % COUNT(timeouts_ms)],
            o->b % 8 == 0 ? 1 : o->b % 8 == 1 ? 2 : EV_CAP);
    break;
  case FZ_CONCURRENT:
    fprintf(f, " next %d ops on a second thread, pacing %d", o->a % 8 + 1,
            o->b % 4);
    break;
  }
  fputc('\n', f);
}

void evqfuzz_print(const uint8_t *data, size_t size) {
  for (size_t i = 0; i + 4 <= size && i / 4 < MAX_OPS; i += 4) {
    op_t o = {data[i], data[i + 1], data[i + 2], data[i + 3]};
    print_op(stdout, (int)(i / 4), &o);
  }
}

/* A broken rule: say which, where, on which backend, and the operations
 * that led there; then abort, so libFuzzer keeps the input. */
__attribute__((format(printf, 2, 3), noreturn)) static void
violation(run_t *r, const char *fmt, ...) {
  fflush(stdout);
  fprintf(stderr, "\nevq fuzz: VIOLATION on backend %s at operation #%d: ",
          r->backend, r->cur);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\noperations up to there:\n");
  for (int i = 0; i < r->nops && i <= r->cur; i++) print_op(stderr, i, &r->ops[i]);
  fflush(stderr);
  abort();
}

/* A broken rule of the model (rule: a short name). EVQ_FUZZ_IGNORE lists
 * rules to report once and go on, to look past a known defect while
 * exploring; make fuzz and the suite never set it. */
static const char *ignored_rules;
__attribute__((format(printf, 3, 4))) static void
breach(run_t *r, const char *rule, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ignored_rules) {
    const char *p = strstr(ignored_rules, rule);
    size_t len = strlen(rule);
    if (p && (p == ignored_rules || p[-1] == ',') && (!p[len] || p[len] == ',')) {
      static char seen[32][24];
      for (int i = 0; i < 32; i++) {
        if (strcmp(seen[i], rule) == 0) return;
        if (!seen[i][0]) {
          snprintf(seen[i], sizeof seen[i], "%s", rule);
          fprintf(stderr, "evq fuzz: ignoring [%s] (EVQ_FUZZ_IGNORE) on %s: %s\n",
                  rule, r->backend, msg);
          return;
        }
      }
      return;
    }
  }
  violation(r, "[%s] %s", rule, msg);
}

static void trace(run_t *r, const char *fmt, ...) {
  if (!trace_on) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[%s] ", r->backend);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static uint64_t tick(run_t *r) { return atomic_fetch_add(&r->seq, 1) + 1; }


/* ---- descriptors and files --------------------------------------------- */

static int new_file(run_t *r, int kind) {
  if (r->nfiles >= MAX_FILES) return -1;
  file_t *f = &r->files[r->nfiles];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->peer = -1;
  return r->nfiles++;
}

static void bump(run_t *r, int file) {
  if (file < 0) return;
  r->files[file].activity++;
  r->files[file].io_wait = r->waits;
  if (r->files[file].peer >= 0) {
    r->files[r->files[file].peer].activity++;
    r->files[r->files[file].peer].io_wait = r->waits;
  }
}

/* io_uring reports readiness as it was when a poll request completed,
 * which may be before I/O (or a close of its peer) since the last wait
 * changed it (evq.h, "io_uring"). */
static bool may_be_stale(const run_t *r, int file) {
  return r->watch == HOLD_FILE && r->files[file].io_wait + 1 == r->waits;
}

static uint64_t activity_of(run_t *r, int file) {
  uint64_t a = r->files[file].activity;
  if (r->files[file].peer >= 0) a += r->files[r->files[file].peer].activity;
  return a;
}

/* Number fd now refers to file. */
static void fd_bind(run_t *r, int fd, int file) {
  r->fd_file[fd] = file;
  r->files[file].refs++;
  if (fd > r->max_fd) r->max_fd = fd;
  reg_t *g = &r->regs[fd];
  if (g->live && g->file == file) g->unbound_seq = 0;
}

/* Number fd was closed (or dup2'ed over): it no longer refers to its
 * file, which may have lost its last descriptor. */
static void fd_unbind(run_t *r, int fd) {
  int file = r->fd_file[fd];
  if (file < 0) return;
  r->fd_file[fd] = -1;
  uint64_t s = tick(r);
  reg_t *g = &r->regs[fd];
  file_t *fl = &r->files[file];
  if (--fl->refs == 0) {
    fl->closed_seq = s;
    if (fl->orphaned) r->rebuild_until = r->waits + 2;
  } else if (r->watch == WATCH_FILE) {
    /* A close that leaves the file open may leave an epoll entry no
     * number reaches (evq_deregister_close leaves the entry to the close,
     * so even a number no longer registered may), and evq then rebuilds
     * the instance: every edge registration live then reports its
     * readiness again, those made until the rebuild too (rebuild_may_come). */
    fl->orphaned = true;
    for (int i = 0; i <= r->max_fd; i++)
      if (r->regs[i].live && r->regs[i].mode == EVQ_EDGE)
        r->regs[i].may_repeat = DIRS;
  }
  bump(r, file);
  if (g->live && g->file == file && !g->unbound_seq) {
    g->unbound_seq = s;
    g->tainted = true;
  }
}

/* Whether epoll may still rebuild for an entry a close left behind: while
 * such a file is open, and until the wait after its last close (the
 * stale key seen in one wait has the next one rebuild). */
static bool rebuild_may_come(const run_t *r) {
  if (r->watch != WATCH_FILE) return false;
  if (r->waits <= r->rebuild_until) return true;
  for (int i = 0; i < r->nfiles; i++)
    if (r->files[i].orphaned && r->files[i].refs > 0) return true;
  return false;
}

static int any_fd(run_t *r, int file) {
  if (file < 0) return -1;
  for (int fd = 0; fd <= r->max_fd; fd++)
    if (r->fd_file[fd] == file) return fd;
  return -1;
}

/* A handle slot whose number is not open, for a new descriptor. */
static int free_slot(run_t *r, int skip) {
  for (int h = 0; h < MAX_H; h++)
    if (h != skip && (r->hfd[h] < 0 || r->fd_file[r->hfd[h]] < 0)) return h;
  return -1;
}

static uint32_t from_poll(short e) {
  uint32_t f = 0;
  if (e & POLLIN) f |= EVQ_READABLE;
  if (e & POLLOUT) f |= EVQ_WRITABLE;
  if (e & POLLPRI) f |= EVQ_PRIORITY;
  if (e & POLLRDHUP) f |= EVQ_READ_CLOSED;
  if (e & POLLHUP)
    f |= EVQ_READ_CLOSED | EVQ_WRITE_CLOSED | EVQ_READABLE | EVQ_WRITABLE;
  if (e & POLLERR) f |= EVQ_ERROR | EVQ_READABLE | EVQ_WRITABLE;
  return f;
}

/* The file's readiness, asked of the kernel through any of its
 * descriptors; 0 for a file no descriptor refers to. */
static uint32_t readiness(run_t *r, int file) {
  int fd = any_fd(r, file);
  if (fd < 0) return 0;
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP};
  if (poll(&p, 1, 0) < 0) return 0;
  return from_poll(p.revents);
}

/* What of a readiness an event may carry for these interests. */
static uint32_t visible(uint32_t raw, uint32_t interests) {
  return raw & (interests | (RESULTS & ~(uint32_t)DIRS));
}

/* Bytes of the stream a file sends: position k of file f's output. */
static uint8_t pattern(int f, uint64_t k) {
  return (uint8_t)(k * 7 + (uint64_t)f * 13 + (k >> 8));
}

static void fill_pattern(uint8_t *buf, size_t n, int f, uint64_t from) {
  for (size_t i = 0; i < n; i++) buf[i] = pattern(f, from + i);
}

static void check_pattern(run_t *r, int file, const uint8_t *buf, size_t n) {
  int src = r->files[file].peer;
  if (src < 0) return;
  uint64_t at = r->files[file].rx;
  for (size_t i = 0; i < n; i++)
    if (buf[i] != pattern(src, at + i))
      breach(r, "data", "byte %llu read from %s file %d is corrupted (0x%02x, "
                   "expected 0x%02x)",
                (unsigned long long)(at + i), kind_names[r->files[file].kind],
                file, buf[i], pattern(src, at + i));
}

/* TCP delivers on its own time: after a write or a close, let the bytes
 * (or the end of stream) reach the peer, so that the model's "ready
 * before and after the wait" rarely has to give up. Bounded: a peer with
 * a full receive buffer never gets them all. */
static void settle_tcp(run_t *r, int file, bool closing) {
  int peer = r->files[file].peer;
  if (r->files[file].kind != K_TCP || peer < 0) return;
  int pfd = any_fd(r, peer);
  if (pfd < 0) return;
  int64_t end = evq_now() + 20 * MS;
  do {
    if (closing) {
      struct pollfd p = {.fd = pfd, .events = POLLRDHUP};
      if (poll(&p, 1, 1) > 0) return;
    } else {
      int avail = 0;
      if (ioctl(pfd, FIONREAD, &avail) == 0 &&
          (uint64_t)avail >= r->files[file].tx - r->files[peer].rx)
        return;
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      poll(&p, 1, 1);
    }
  } while (evq_now() < end);
}

static int wait_fd(int fd, short events, int ms) {
  struct pollfd p = {.fd = fd, .events = events};
  return poll(&p, 1, ms);
}

/* ---- tokens ------------------------------------------------------------ */

static uintptr_t new_token(run_t *r, int kind, int idx) {
  if (r->ntoks >= MAX_TOKENS) violation(r, "fuzzer: out of tokens");
  tok_t *t = &r->toks[r->ntoks];
  t->kind = kind;
  t->idx = idx;
  t->dead_seq = 0;
  t->why = NULL;
  return TOKEN_BASE + (uintptr_t)r->ntoks++;
}

static tok_t *tok_of(run_t *r, uintptr_t token) {
  if (token < TOKEN_BASE || token >= TOKEN_BASE + (uintptr_t)r->ntoks)
    return NULL;
  return &r->toks[token - TOKEN_BASE];
}

static void kill_token(run_t *r, uintptr_t token, const char *why) {
  tok_t *t = tok_of(r, token);
  if (t && !t->dead_seq) {
    t->dead_seq = tick(r);
    t->why = why;
  }
}

/* ---- expectations of return codes ---------------------------------------- */

static void expect(run_t *r, const char *call, int rc, int want) {
  if (rc != want)
    breach(r, "rc", "%s returned %d (%s), expected %d (%s)", call, rc,
              evq_errname(rc), want, evq_errname(want));
}

static void expect_one_of(run_t *r, const char *call, int rc, int a, int b,
                          int c) {
  if (rc != a && rc != b && rc != c)
    breach(r, "rc", "%s returned %d (%s), expected %s, %s or %s", call, rc,
              evq_errname(rc), evq_errname(a), evq_errname(b),
              evq_errname(c));
}

/* ---- the operations ----------------------------------------------------- */

static void add_pair(run_t *r, int fd0, int fd1, int k0, int k1) {
  int h0 = free_slot(r, -1), h1 = free_slot(r, h0);
  if (h0 < 0 || h1 < 0 || fd0 >= MAX_FD || fd1 >= MAX_FD) {
    close(fd0);
    close(fd1);
    return;
  }
  int f0 = new_file(r, k0), f1 = new_file(r, k1);
  if (f0 < 0 || f1 < 0) violation(r, "fuzzer: out of files");
  r->files[f0].peer = f1;
  r->files[f1].peer = f0;
  r->hfd[h0] = fd0;
  r->hfd[h1] = fd1;
  fd_bind(r, fd0, f0);
  fd_bind(r, fd1, f1);
  trace(r, "  fds %d (h%d, file %d) and %d (h%d, file %d), %s", fd0, h0, f0,
        fd1, h1, f1, kind_names[k0]);
}

static void op_tcp(run_t *r) {
  if (free_slot(r, -1) < 0) return;
  int port = evq_socket_port(r->listener);
  if (port <= 0) violation(r, "evq_socket_port: %d", port);
  evq_fd_t c, s;
  int rc = evq_tcp_connect(&c, NULL, (uint16_t)port);
  if (rc != 0) violation(r, "evq_tcp_connect: %s", evq_strerror(rc));
  int64_t end = evq_now() + 5000 * MS;
  while ((rc = evq_accept(NULL, r->listener, &s)) == EVQ_EAGAIN &&
         evq_now() < end)
    wait_fd(r->listener, POLLIN, 10);
  if (rc != 0) violation(r, "evq_accept: %s", evq_strerror(rc));
  wait_fd(c, POLLOUT, 5000);
  if (evq_socket_error(c) != 0) violation(r, "TCP connect failed");
  add_pair(r, c, s, K_TCP, K_TCP);
}

static void op_register(run_t *r, int fd, uint32_t interests, int mode,
                        bool modify) {
  reg_t *g = &r->regs[fd];
  uintptr_t token = new_token(r, 1, fd);
  int file = r->fd_file[fd];
  char call[96];
  snprintf(call, sizeof call, "evq_%s(fd %d, %s)",
           modify ? "modify" : "register", fd, mode_name(mode));
  int rc = modify ? evq_modify(r->q, fd, interests, mode, token)
                  : evq_register(r->q, fd, interests, mode, token);
  trace(r, "  %s -> %s (token %lu)", call, evq_errname(rc),
        (unsigned long)token);
  if (!modify) {
    if (g->live)
      expect(r, call, rc, EVQ_EEXIST);
    else if (file < 0)
      expect(r, call, rc, EVQ_EBADF);
    else if (rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY))
      ; /* documented: an interest the backend cannot poll */
    else if (rc == EVQ_EEXIST)
      breach(r, "eexist", "%s returned EVQ_EEXIST, but the number is open and "
                          "not registered (a leftover of an earlier "
                          "registration)", call);
    else
      expect(r, call, rc, 0);
  } else if (!g->live) {
    expect(r, call, rc, EVQ_ENOENT);
  } else if (!g->unbound_seq) {
    if (!(rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY)))
      expect(r, call, rc, 0);
  } else {
    /* Modify of a registration whose number was closed (and perhaps
     * reused): evq.h says nothing; any of these is acceptable. */
    if (!(rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY)))
      expect_one_of(r, call, rc, 0, EVQ_EBADF, EVQ_ENOENT);
  }
  if (rc != 0) {
    kill_token(r, token, "never registered (the call failed)");
    return;
  }
  if (modify) {
    kill_token(r, g->token, "replaced by evq_modify");
    if (!g->unbound_seq) {
      g->tainted = false;
    } else if (file >= 0) {
      /* Modified after its number was closed and now names another file:
       * it watches that one now (no MUST: the backend may have forgotten
       * it), and a backend that watches open files may still report the
       * old one. */
      g->alt = g->file;
      g->file = file;
      g->unbound_seq = 0;
    }
  } else {
    memset(g, 0, sizeof *g);
    g->live = true;
    g->file = file;
    g->alt = -1;
  }
  g->interests = interests;
  g->mode = mode;
  g->token = token;
  g->fired = false;
  g->delivered = 0;
  g->must = mode == EVQ_EDGE ? interests : 0;
  if (mode == EVQ_EDGE && rebuild_may_come(r)) g->may_repeat = DIRS;
}

static void op_deregister(run_t *r, int fd) {
  reg_t *g = &r->regs[fd];
  int rc = evq_deregister(r->q, fd);
  trace(r, "  evq_deregister(fd %d) -> %s", fd, evq_errname(rc));
  char call[64];
  snprintf(call, sizeof call, "evq_deregister(fd %d%s)", fd,
           g->live && g->unbound_seq ? ", closed" : "");
  expect(r, call, rc, g->live ? 0 : EVQ_ENOENT);
  if (g->live) {
    kill_token(r, g->token, "deregistered");
    g->live = false;
  }
}

/* evq_deregister_close: deregisters (when registered) and closes the
 * number, whatever file it names now; evq_close's error if it names none.
 * Not registered: EVQ_ENOENT, and the descriptor is left open. */
static void op_deregister_close(run_t *r, int fd) {
  reg_t *g = &r->regs[fd];
  bool open = r->fd_file[fd] >= 0;
  int rc = evq_deregister_close(r->q, fd);
  trace(r, "  evq_deregister_close(fd %d) -> %s", fd, evq_errname(rc));
  if (!g->live) {
    expect(r, "evq_deregister_close of an unregistered number", rc, EVQ_ENOENT);
    if (open && fcntl(fd, F_GETFD) == -1)
      breach(r, "rc", "evq_deregister_close of an unregistered number closed it");
    return;
  }
  expect(r, "evq_deregister_close", rc, open ? 0 : EVQ_EBADF);
  kill_token(r, g->token, "deregistered (evq_deregister_close)");
  g->live = false;
  if (open) {
    int file = r->fd_file[fd];
    fd_unbind(r, fd);
    if (r->files[file].refs == 0) settle_tcp(r, file, true);
  }
}

/* I/O on number fd hit would-block in these directions, and evq was told
 * (evq_read, evq_write, evq_rearm): an edge registration of that number
 * reports the next readiness. */
static void blocked(run_t *r, int fd, uint32_t dirs, bool told_while_ready) {
  reg_t *g = &r->regs[fd];
  if (!g->live || g->mode != EVQ_EDGE) return;
  dirs &= g->interests;
  /* evq finds the registration by number, so the re-arm reaches it even
   * when the number names another file by now: it may report again
   * (io_uring goes on watching the file it holds). What it owes then is
   * nothing: its file is not the number's. */
  g->delivered &= ~dirs;
  if (!told_while_ready && !g->unbound_seq) g->must |= dirs;
}

static void op_rearm(run_t *r, int fd, uint32_t dirs) {
  reg_t *g = &r->regs[fd];
  int file = r->fd_file[fd];
  uint32_t ready = file >= 0 ? readiness(r, file) : 0;
  int rc = evq_rearm(r->q, fd, dirs);
  expect(r, "evq_rearm", rc, g->live ? 0 : EVQ_ENOENT);
  if (!g->live) return;
  /* Re-armed while ready: no kernel owes a new edge (epoll has none to
   * give), but a re-report is allowed. */
  for (uint32_t d = EVQ_READABLE; d <= EVQ_WRITABLE; d <<= 1)
    if (dirs & d) blocked(r, fd, d, (visible(ready, g->interests) & d) != 0);
}

static void op_write(run_t *r, int fd, size_t n, bool fill) {
  int file = r->fd_file[fd];
  static uint8_t buf[65536];
  size_t total = 0, limit = fill ? (r->files[file].kind == K_TCP ? 1u << 20 : 4u << 20) : n;
  while (total < limit) {
    size_t chunk = limit - total < sizeof buf ? limit - total : sizeof buf;
    fill_pattern(buf, chunk, file, r->files[file].tx);
    ptrdiff_t w = evq_write(r->q, fd, buf, chunk);
    if (w > 0) {
      r->files[file].tx += (uint64_t)w;
      total += (size_t)w;
      bump(r, file);
      if (!fill) break;
      continue;
    }
    if (w == 0) breach(r, "rc", "evq_write wrote 0 bytes of %zu", chunk);
    /* Linux wakes a pipe's readers on every write to it while epoll
     * watches (pipe_write: "Epoll nonsensically wants a wakeup"), even one
     * that found it full and wrote nothing: an edge registration on the
     * read end may be reported again, as evq.h lets epoll do. */
    if (w == EVQ_EAGAIN) {
      bump(r, file);
      blocked(r, fd, EVQ_WRITABLE, false);
    }
    else if (w != EVQ_EPIPE && w != EVQ_ECONNRESET && w != EVQ_EBADF &&
             w != EVQ_ENOTCONN)
      breach(r, "rc", "evq_write: unexpected %s", evq_errname((int)w));
    break;
  }
  trace(r, "  wrote %zu bytes on fd %d", total, fd);
  settle_tcp(r, file, false);
}

static void op_read(run_t *r, int fd, size_t n, bool drain, bool raw) {
  int file = r->fd_file[fd];
  static uint8_t buf[65536];
  size_t total = 0, limit = drain ? 8u << 20 : n;
  while (total < limit) {
    size_t chunk = limit - total < sizeof buf ? limit - total : sizeof buf;
    ptrdiff_t got;
    if (raw) {
      got = read(fd, buf, chunk);
      if (got < 0) got = errno == EAGAIN ? EVQ_EAGAIN : EVQ_EIO;
    } else {
      got = evq_read(r->q, fd, buf, chunk);
    }
    if (got > 0) {
      check_pattern(r, file, buf, (size_t)got);
      r->files[file].rx += (uint64_t)got;
      total += (size_t)got;
      bump(r, file);
      if (!drain) break;
      continue;
    }
    if (got == EVQ_EAGAIN && !raw) blocked(r, fd, EVQ_READABLE, false);
    else if (got < 0 && got != EVQ_EAGAIN && got != EVQ_ECONNRESET &&
             got != EVQ_EBADF && got != EVQ_EIO && got != EVQ_ENOTCONN)
      breach(r, "rc", "evq_read: unexpected %s", evq_errname((int)got));
    break;
  }
  trace(r, "  read %zu bytes on fd %d", total, fd);
}

static void op_close(run_t *r, int fd) {
  int file = r->fd_file[fd];
  if (tq_fd_close(fd) != 0) violation(r, "close(%d): %s", fd, strerror(errno));
  fd_unbind(r, fd);
  trace(r, "  closed fd %d (file %d, %d left)", fd, file, r->files[file].refs);
  if (r->files[file].refs == 0) settle_tcp(r, file, true);
}

static void op_dup2(run_t *r, int src, int target) {
  if (target < 0 || target == src || target >= MAX_FD) return;
  /* A closed number must really be free: never clobber a descriptor the
   * model does not own (the listener, the queue's own). */
  if (r->fd_file[target] < 0 && fcntl(target, F_GETFD) != -1) return;
  int file = r->fd_file[src];
  if (tq_fd_dup3(src, target) != target)
    violation(r, "dup3(%d, %d): %s", src, target, strerror(errno));
  fd_unbind(r, target);
  fd_bind(r, target, file);
  trace(r, "  dup2(%d, %d): file %d", src, target, file);
}

static void op_timer_start(run_t *r, int i, int64_t delay, int64_t period) {
  ftimer_t *t = &r->timers[i];
  uintptr_t token = new_token(r, 2, i);
  int64_t before = evq_now();
  int rc = evq_timer_start(r->q, &t->t, delay, period, token);
  int64_t after = evq_now();
  expect(r, "evq_timer_start", rc, 0);
  if (t->running) kill_token(r, t->token, "its timer was restarted");
  t->running = true;
  t->token = token;
  t->t_before = before;
  t->t_after = after;
  t->delay = delay;
  t->period = period;
  t->expirations = 0;
}

static void op_timer_stop(run_t *r, int i, bool concurrent) {
  ftimer_t *t = &r->timers[i];
  int rc = evq_timer_stop(r->q, &t->t);
  /* A oneshot timer the waiting thread is collecting right now may be
   * gone already. */
  if (!t->running)
    expect(r, "evq_timer_stop", rc, EVQ_ENOENT);
  else if (concurrent && t->period == 0)
    expect_one_of(r, "evq_timer_stop", rc, 0, EVQ_ENOENT, 0);
  else
    expect(r, "evq_timer_stop", rc, 0);
  if (t->running) kill_token(r, t->token, "its timer was stopped");
  t->running = false;
  if (evq_timer_active(&t->t)) breach(r, "timer", "timer active after stop");
}

/* ---- waiting ------------------------------------------------------------ */

typedef struct {
  uint32_t before[MAX_FILES], after[MAX_FILES];
  bool have;
} snap_t;
static snap_t S;

static void snapshot(run_t *r, uint32_t *out) {
  for (int f = 0; f < r->nfiles; f++)
    out[f] = r->files[f].refs ? readiness(r, f) : 0;
}

static const char *flags_str(uint32_t f) {
  static __thread char ring[8][96];
  static __thread int next;
  char *s = ring[next++ % 8];
  snprintf(s, sizeof ring[0], "%s%s%s%s%s%s%s%s", f & EVQ_READABLE ? "R" : "",
           f & EVQ_WRITABLE ? "W" : "", f & EVQ_PRIORITY ? "P" : "",
           f & EVQ_ERROR ? "|ERR" : "", f & EVQ_READ_CLOSED ? "|RC" : "",
           f & EVQ_WRITE_CLOSED ? "|WC" : "", f & EVQ_TIMER ? "TIMER" : "",
           f & EVQ_WAKE ? "WAKE" : "");
  return s;
}

/* io_uring's path for kernels before 5.13 (single-shot polls), forced by
 * EVQ_IO_URING_NO_MULTISHOT=1 as the suite's *.io_uring_singleshot cases
 * force it: fuzzed as a backend of its own. */
static const char SINGLESHOT[] = "io_uring_singleshot";

/* io_uring's single-shot path cannot wait for writability alone on a
 * socket shut for reading (evq.h): each poll completes at once with RDHUP,
 * which the kernel adds to every poll. Such a wait spins by design until
 * the socket is writable. */
static bool known_rdhup_spin(run_t *r) {
  if (strcmp(r->backend, SINGLESHOT) != 0) return false;
  for (int fd = 0; fd <= r->max_fd; fd++) {
    const reg_t *g = &r->regs[fd];
    if (!g->live || (g->interests & EVQ_READABLE)) continue;
    uint32_t now = readiness(r, g->file);
    if ((now & EVQ_READ_CLOSED) && !(now & EVQ_WRITABLE)) return true;
  }
  return false;
}

/* One evq_wait and every check of its result. single: no other thread
 * runs, so readiness and the MUST rules apply. */
static void do_wait(run_t *r, int64_t timeout, int cap, bool single) {
  evq_event_t ev[EV_CAP];
  if (timeout > 0 && r->sleep_left <= 0) timeout = 0;
  if (single) snapshot(r, S.before);
  int64_t t0 = evq_now();
  uint64_t rounds0 = evq__wait_rounds(r->q);
  uint64_t ws = atomic_load(&r->seq);
  uint64_t wake_done0 = atomic_load(&r->wake_done);
  if (!single) pthread_mutex_unlock(&r->mu);
  int n = evq_wait(r->q, ev, cap, timeout);
  int64_t t1 = evq_now();
  uint64_t rounds = evq__wait_rounds(r->q) - rounds0;
  uint64_t wake_started1 = atomic_load(&r->wake_started);
  if (!single) pthread_mutex_lock(&r->mu);
  r->waits++; /* I/O from now on is after this wait */
  trace(r, "  evq_wait(cap %d, %lld ms) -> %d", cap,
        (long long)(timeout / MS), n);
  if (n < 0) breach(r, "rc", "evq_wait returned %s", evq_errname(n));
  if (n > cap) breach(r, "rc", "evq_wait returned %d events for capacity %d", n, cap);
  if (n == 0 && timeout > 0) {
    r->sleep_left -= t1 - t0;
    if (t1 - t0 < timeout)
      breach(r, "early", "wait of %lld ns returned nothing after %lld ns",
                (long long)timeout, (long long)(t1 - t0));
    /* Only with no other thread: its changes kick the waiter, which then
     * goes round for them, rightly, as often as they come. */
    if (single && rounds > TQ_SPIN_ROUNDS && !known_rdhup_spin(r))
      breach(r, "spin", "an empty wait of %lld ms went round %llu times in "
                   "evq's wait loop in %lld us: it spins",
                (long long)(timeout / MS), (unsigned long long)rounds,
                (long long)((t1 - t0) / 1000));
  }
  if (single) snapshot(r, S.after);

  /* MUST: computed from the state before this wait's events update it. */
  bool must_check = single && cap >= EV_CAP;
  uintptr_t must_tok[MAX_FD + NTIMERS + 1];
  uint32_t must_flags[MAX_FD + NTIMERS + 1];
  const char *must_why[MAX_FD + NTIMERS + 1];
  int nmust = 0;
  if (must_check) {
    if (wake_done0 > r->wake_started_at_return) {
      must_tok[nmust] = WAKE_TOKEN;
      must_flags[nmust] = EVQ_WAKE;
      must_why[nmust++] = "an evq_wake made before the wait";
    }
    for (int i = 0; i < NTIMERS; i++) {
      ftimer_t *t = &r->timers[i];
      if (!t->running) continue;
      int64_t due = t->t_after + t->delay + (int64_t)t->expirations * t->period;
      if (due <= t0) {
        must_tok[nmust] = t->token;
        must_flags[nmust] = EVQ_TIMER;
        must_why[nmust++] = "a timer due before the wait";
      }
    }
    for (int fd = 0; fd <= r->max_fd; fd++) {
      reg_t *g = &r->regs[fd];
      if (!g->live || g->unbound_seq || g->tainted) continue;
      int f = g->file;
      uint32_t rb = S.before[f], ra = S.after[f];
      if (rb != ra) continue; /* changed during the wait: no promise */
      if (r->files[f].kind == K_TCP && timeout == 0) continue;
      uint32_t ready = visible(rb, g->interests) & DIRS;
      uint32_t need = g->mode == EVQ_LEVEL   ? ready
                      : g->mode == EVQ_ONESHOT ? (g->fired ? 0 : ready)
                                               : ready & g->must;
      if (!need) continue;
      must_tok[nmust] = g->token;
      /* A single-shot request (oneshot; edge, emulated) that completed
       * before such a change reports what it saw then, and no more until
       * re-armed: it must be reported, with some of what is ready. */
      must_flags[nmust] = g->mode != EVQ_LEVEL && may_be_stale(r, f) ? 0 : need;
      must_why[nmust++] = g->mode == EVQ_LEVEL     ? "a ready level registration"
                          : g->mode == EVQ_ONESHOT ? "a ready oneshot registration not yet fired"
                                                   : "a ready, armed edge registration";
    }
  }

  for (int i = 0; i < n; i++) {
    evq_event_t *e = &ev[i];
    trace(r, "    event token %lu flags %s data %u", (unsigned long)e->token,
          flags_str(e->flags), e->data);
    for (int j = 0; j < i; j++)
      if (ev[j].token == e->token)
        breach(r, e->token == WAKE_TOKEN ? "duplicate-wake" : "duplicate",
               "two events for token %lu in one wait", (unsigned long)e->token);
    if (e->token == WAKE_TOKEN) {
      if (e->flags != EVQ_WAKE || e->data != 0)
        breach(r, "wake", "wake event with flags %s data %u", flags_str(e->flags),
                  e->data);
      if (wake_started1 <= r->wake_done_before_last)
        breach(r, "wake", "a wake event with no evq_wake since the last one was "
                     "collected");
      r->wake_done_before_last = wake_done0;
      r->wake_started_at_return = wake_started1;
      continue;
    }
    tok_t *t = tok_of(r, e->token);
    if (!t) breach(r, "token", "event with unknown token %lu", (unsigned long)e->token);
    if (t->dead_seq && t->dead_seq <= ws)
      breach(r, "dead-token", "event (flags %s) for token %lu, which was %s before the "
                   "wait began",
                flags_str(e->flags), (unsigned long)e->token, t->why);
    if (t->kind == 2) {
      ftimer_t *tm = &r->timers[t->idx];
      if (e->flags != EVQ_TIMER || e->data < 1)
        breach(r, "timer", "timer event with flags %s data %u", flags_str(e->flags),
                  e->data);
      if (tm->token != e->token) continue; /* stopped meanwhile (allowed) */
      if (t1 < tm->t_before + tm->delay)
        breach(r, "timer", "timer fired early: %lld ns after its start, delay %lld",
                  (long long)(t1 - tm->t_before), (long long)tm->delay);
      tm->expirations += e->data;
      if (tm->period == 0) {
        if (tm->expirations != 1)
          breach(r, "timer", "oneshot timer reported %llu expirations",
                    (unsigned long long)tm->expirations);
        tm->running = false;
        kill_token(r, tm->token, "a oneshot timer that already fired");
      } else {
        int64_t most = (t1 - tm->t_before - tm->delay) / tm->period + 1;
        if ((int64_t)tm->expirations > most)
          breach(r, "timer", "periodic timer reported %llu expirations, at most %lld "
                       "could be due",
                    (unsigned long long)tm->expirations, (long long)most);
      }
      continue;
    }
    reg_t *g = &r->regs[t->idx];
    if (e->flags & ~(uint32_t)RESULTS)
      breach(r, "flags", "descriptor event with flags %s", flags_str(e->flags));
    if (!g->live || g->token != e->token) continue; /* gone meanwhile */
    if (e->flags & DIRS & ~g->interests)
      breach(r, "flags", "event flags %s outside the interests %s",
                flags_str(e->flags), flags_str(g->interests));
    int f = g->file;
    bool alt_open = r->watch != WATCH_NUMBER && g->alt >= 0 &&
                    (r->watch == HOLD_FILE || !(r->files[g->alt].closed_seq &&
                                                r->files[g->alt].closed_seq <= ws));
    bool held = false; /* io_uring reporting a file only it holds */
    /* The file before the modify, which io_uring goes on watching (it holds
     * a registration's file from evq_register on), may be one no descriptor
     * of ours refers to any more: what it reports cannot be asked of the
     * kernel. */
    if (alt_open && r->watch == HOLD_FILE && r->files[g->alt].closed_seq &&
        r->files[g->alt].closed_seq <= ws)
      held = true;
    if (!alt_open) {
      file_t *fl = &r->files[f];
      if (fl->closed_seq && fl->closed_seq <= ws && r->watch == HOLD_FILE) {
        held = true;
      } else if (fl->closed_seq && fl->closed_seq <= ws) {
        breach(r, "closed-file", "event (flags %s) for fd %d, whose file no descriptor "
                     "refers to any more",
                  flags_str(e->flags), t->idx);
        continue;
      }
      if (g->unbound_seq && g->unbound_seq <= ws && r->watch == WATCH_NUMBER) {
        breach(r, "closed-number", "event (flags %s) for fd %d, closed while registered "
                     "(this backend watches descriptor numbers: it must "
                     "report nothing)",
                  flags_str(e->flags), t->idx);
        continue;
      }
    }
    /* What the backend reports of a file no descriptor of ours refers to
     * (io_uring), or of whatever file now has the number (io_uring before
     * 5.13), cannot be asked of the kernel: no flags check then. */
    /* And of a file whose peer only io_uring's request holds: the peer
     * closes (with a reset if data is unread) whenever that request ends,
     * which the model cannot see. */
    int pf = r->files[f].peer;
    bool peer_held = r->watch == HOLD_FILE && pf >= 0 && r->files[pf].closed_seq;
    /* What a file that saw I/O since the last wait reports on io_uring
     * is unknown (may_be_stale). */
    bool stale_ok = may_be_stale(r, f);
    bool unknown = held || peer_held || stale_ok;
    if (single && !unknown) {
      uint32_t allowed = visible(S.before[f] | S.after[f], g->interests);
      if (alt_open)
        allowed |= visible(S.before[g->alt] | S.after[g->alt], g->interests);
      if (e->flags & ~allowed)
        breach(r, "flags", "event flags %s for fd %d, but its file is only %s "
                     "(before the wait %s, after %s)",
                  flags_str(e->flags), t->idx, flags_str(allowed),
                  flags_str(S.before[f]), flags_str(S.after[f]));
    }
    /* Stale readiness makes flags unknown, not a second report: a oneshot
     * reports once whatever it saw. */
    if (single && g->mode == EVQ_ONESHOT && g->fired)
      breach(r, "oneshot", "oneshot fd %d reported again before evq_modify", t->idx);
    /* An edge reports again only after I/O or a re-arm: stale readiness is
     * no reason either; I/O the model cannot see is (the peer of a file
     * only io_uring holds closes when that hold ends). An error is a
     * state, not an edge: a pipe whose reader went away was seen to report
     * W|ERR to an edge registration at two waits in a row with nothing
     * done between; evq.h lets a kernel that tracks edges report more. */
    if (single && !held && !peer_held && g->mode == EVQ_EDGE && g->alt < 0 &&
        r->files[f].kind != K_TCP && !(e->flags & EVQ_ERROR)) {
      uint64_t act = activity_of(r, f);
      for (int d = 0; d < 3; d++)
        if ((e->flags & (1u << d)) && (g->delivered & (1u << d)) &&
            g->act_at[d] == act && !(g->may_repeat & (1u << d)))
          breach(r, "edge", "edge fd %d reported %s again with no I/O and no "
                       "re-arm since the last event",
                    t->idx, flags_str(1u << d));
    }
    if (g->mode == EVQ_ONESHOT) g->fired = true;
    if (g->mode == EVQ_EDGE) {
      uint64_t act = activity_of(r, f);
      for (int d = 0; d < 3; d++)
        if (e->flags & (1u << d)) {
          if (g->delivered & (1u << d)) g->may_repeat &= ~(1u << d);
          g->delivered |= 1u << d;
          g->must &= ~(1u << d);
          /* With a second thread, I/O may have come between the kernel's
           * report and this look at the model (which waits for that
           * thread's operation to end), and its wake-up queued the edge
           * again (Linux wakes a socket's readers with POLLPRI in the
           * key, so a W|P registration sees every arrival): unknown. */
          g->act_at[d] = single ? act : UINT64_MAX;
        }
    }
  }

  for (int m = 0; m < nmust; m++) {
    int found = -1;
    for (int i = 0; i < n; i++)
      if (ev[i].token == must_tok[m]) found = i;
    if (found < 0)
      breach(r, "must", "%s (token %lu, %s) was not reported by a wait of %lld ms "
                   "(%d events)",
                must_why[m], (unsigned long)must_tok[m],
                flags_str(must_flags[m]), (long long)(timeout / MS), n);
    else if ((ev[found].flags & must_flags[m]) != must_flags[m])
      breach(r, "must", "%s (token %lu) was reported with %s, not all of %s",
                must_why[m], (unsigned long)must_tok[m],
                flags_str(ev[found].flags), flags_str(must_flags[m]));
  }
}

static void op_next_timeout(run_t *r) {
  int64_t before = evq_now();
  int64_t v = evq_next_timeout(r->q);
  if (atomic_load(&r->wake_done) > r->wake_started_at_return) {
    if (v != 0) breach(r, "next-timeout", "evq_next_timeout %lld with a wake pending", (long long)v);
    return;
  }
  int64_t first = -1;
  for (int i = 0; i < NTIMERS; i++) {
    ftimer_t *t = &r->timers[i];
    if (!t->running) continue;
    int64_t due = t->t_after + t->delay + (int64_t)t->expirations * t->period;
    if (first < 0 || due < first) first = due;
  }
  /* A wake-up that ended after the last wait that collected one began may
   * have set its flag after that wait took it (it started in time to be
   * counted at the return, and the model cannot tell): 0 is allowed. */
  bool maybe_wake = atomic_load(&r->wake_done) > r->wake_done_before_last;
  if (first < 0) {
    if (v != EVQ_FOREVER && !(v == 0 && maybe_wake))
      breach(r, "next-timeout", "evq_next_timeout %lld with no timer running", (long long)v);
    return;
  }
  int64_t most = first > before ? first - before : 0;
  if (v < 0 || v > most)
    breach(r, "next-timeout", "evq_next_timeout %lld, but a timer is due within %lld",
              (long long)v, (long long)most);
}

/* ---- one operation ------------------------------------------------------- */

static void exec_op(run_t *r, const op_t *o, bool concurrent) {
  int op = o->op % FZ_NOPS;
  int h = o->a % MAX_H;
  int fd = r->hfd[h];
  int file = fd >= 0 ? r->fd_file[fd] : -1;
  switch (op) {
  case FZ_SOCKETPAIR: {
    evq_fd_t p[2];
    int rc = tq_fd_socketpair(p);
    if (rc != 0) violation(r, "evq_socketpair: %s", evq_strerror(rc));
    add_pair(r, p[0], p[1], K_UNIX, K_UNIX);
    break;
  }
  case FZ_PIPE: {
    int p[2];
    if (tq_fd_pipe(p) != 0)
      violation(r, "pipe2: %s", strerror(errno));
    add_pair(r, p[0], p[1], K_PIPE_R, K_PIPE_W);
    break;
  }
  case FZ_TCP:
    op_tcp(r);
    break;
  case FZ_REGISTER:
  case FZ_MODIFY:
    if (fd >= 0)
      op_register(r, fd, op_interests(o->b), op_mode(o->c), op == FZ_MODIFY);
    break;
  case FZ_DEREGISTER:
    if (fd >= 0) op_deregister(r, fd);
    break;
  case FZ_REARM:
    if (fd >= 0) op_rearm(r, fd, (uint32_t)(o->b % 3) + 1);
    break;
  case FZ_WRITE:
  case FZ_FILL:
    if (file >= 0) op_write(r, fd, sizes[o->b % COUNT(sizes)], op == FZ_FILL);
    break;
  case FZ_READ:
  case FZ_DRAIN:
  case FZ_RAW_READ:
    if (file >= 0)
      op_read(r, fd, sizes[o->b % COUNT(sizes)], op == FZ_DRAIN,
              op == FZ_RAW_READ);
    break;
  case FZ_SHUTDOWN:
    if (file >= 0 && (r->files[file].kind == K_UNIX ||
                      r->files[file].kind == K_TCP)) {
      int how = o->b % 3 == 0 ? SHUT_RD : o->b % 3 == 1 ? SHUT_WR : SHUT_RDWR;
      if (shutdown(fd, how) != 0 && errno != ENOTCONN)
        violation(r, "shutdown: %s", strerror(errno));
      bump(r, file);
      if (how != SHUT_RD) settle_tcp(r, file, true);
    }
    break;
  case FZ_CLOSE:
    if (file >= 0) op_close(r, fd);
    break;
  case FZ_DUP:
    if (file >= 0) {
      int slot = free_slot(r, -1);
      if (slot < 0) break;
      int d = tq_fd_dup(fd);
      if (d < 0) violation(r, "dup: %s", strerror(errno));
      if (d >= MAX_FD) {
        close(d);
        break;
      }
      r->hfd[slot] = d;
      fd_bind(r, d, file);
      trace(r, "  dup(%d) = %d (h%d)", fd, d, slot);
    }
    break;
  case FZ_DUP2:
    if (file >= 0) op_dup2(r, fd, r->hfd[o->b % MAX_H]);
    break;
  case FZ_TIMER_START:
    op_timer_start(r, o->a % NTIMERS, delays_ms[o->b % COUNT(delays_ms)] * MS,
                   periods_ms[o->c % COUNT(periods_ms)] * MS);
    break;
  case FZ_TIMER_STOP:
    op_timer_stop(r, o->a % NTIMERS, concurrent);
    break;
  case FZ_WAKE:
    atomic_fetch_add(&r->wake_started, 1);
    expect(r, "evq_wake", evq_wake(r->q), 0);
    atomic_fetch_add(&r->wake_done, 1);
    break;
  case FZ_WAIT:
    if (!concurrent)
      do_wait(r, timeouts_ms[o->a % COUNT(timeouts_ms)] * MS,
              o->b % 8 == 0 ? 1 : o->b % 8 == 1 ? 2 : EV_CAP, true);
    break;
  case FZ_NEXT_TIMEOUT:
    if (!concurrent) op_next_timeout(r);
    break;
  case FZ_DEREGISTER_CLOSE:
    if (fd >= 0) op_deregister_close(r, fd);
    break;
  case FZ_CONCURRENT:
    break; /* handled by run_ops; nested ones do nothing */
  }
}

/* The second thread: its share of the operations, one at a time under the
 * model's lock, while the first thread waits. */
static void *thread_b(void *arg) {
  run_t *r = arg;
  for (int i = r->b_first; i < r->b_first + r->b_count; i++) {
    pthread_mutex_lock(&r->mu);
    r->cur = i;
    trace(r, "B #%d %s", i, evqfuzz_op_name(r->ops[i].op % FZ_NOPS));
    exec_op(r, &r->ops[i], true);
    pthread_mutex_unlock(&r->mu);
    if (r->b_pacing) usleep((useconds_t)(r->b_pacing * 50));
  }
  atomic_store(&r->b_done, 1);
  return NULL;
}

static void run_concurrent(run_t *r, int first, int count, int pacing) {
  r->b_first = first;
  r->b_count = count;
  r->b_pacing = pacing;
  atomic_store(&r->b_done, 0);
  pthread_t b;
  pthread_mutex_lock(&r->mu);
  if (pthread_create(&b, NULL, thread_b, r) != 0)
    violation(r, "fuzzer: pthread_create failed");
  do do_wait(r, 2 * MS, EV_CAP, false);
  while (!atomic_load(&r->b_done));
  pthread_mutex_unlock(&r->mu);
  pthread_join(b, NULL);
}

/* ---- one run: the whole input on one backend ----------------------------- */

/* Descriptors open in the process, not counting evq's one spare per
 * process (opened with the first listener, kept for accept at EMFILE; it
 * is open("/")): more than one of those is a leak too. */
static int count_fds(void) {
  int n = 0, spares = 0;
  for (int fd = 0; fd < MAX_FD + 64; fd++) {
    if (fcntl(fd, F_GETFD) == -1) continue;
    char link[64], target[8];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target);
    if (len == 1 && target[0] == '/') spares++;
    else n++;
  }
  return spares > 1 ? -spares : n;
}

static enum watch backend_watch(const char *name) {
  /* poll asks about numbers; kqueue on a BSD kernel and IOCP drop a
   * registration at close; epoll keeps an open file's entry while any
   * descriptor refers to it; io_uring's requests hold the file. Unknown
   * backends: the most lenient. */
  if (!strcmp(name, "poll") || !strcmp(name, "kqueue") || !strcmp(name, "iocp"))
    return WATCH_NUMBER;
  if (!strcmp(name, "epoll")) return WATCH_FILE;
  return HOLD_FILE;
}

static void run_one(const char *backend, const op_t *ops, int nops) {
  run_t *r = &R;
  int fds_before = count_fds();
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  r->backend = backend;
  r->watch = backend_watch(backend);
  r->ops = ops;
  r->nops = nops;
  r->cur = -1;
  r->sleep_left = SLEEP_BUDGET_MS * MS;
  for (int h = 0; h < MAX_H; h++) r->hfd[h] = -1;
  for (int fd = 0; fd < MAX_FD; fd++) r->fd_file[fd] = -1;
  for (int i = 0; i < NTIMERS; i++) evq_timer_init(&r->timers[i].t);

  bool single_shot = strcmp(backend, SINGLESHOT) == 0;
  evq_options_t o = {.backend = single_shot ? "io_uring" : backend,
                     .wake_token = WAKE_TOKEN};
  if (single_shot) setenv("EVQ_IO_URING_NO_MULTISHOT", "1", 1);
  int rc = evq_create(&r->q, &o);
  if (single_shot) unsetenv("EVQ_IO_URING_NO_MULTISHOT");
  if (rc != 0) violation(r, "evq_create(%s): %s", backend, evq_strerror(rc));
  if (strcmp(evq_backend(r->q), o.backend) != 0)
    violation(r, "asked for %s, got %s", o.backend, evq_backend(r->q));
  rc = evq_tcp_listen(&r->listener, NULL, 0, 64);
  if (rc != 0) violation(r, "evq_tcp_listen: %s", evq_strerror(rc));

  for (int i = 0; i < nops; i++) {
    r->cur = i;
    const op_t *op = &ops[i];
    trace(r, "#%d %s", i, evqfuzz_op_name(op->op % FZ_NOPS));
    if (op->op % FZ_NOPS == FZ_CONCURRENT) {
      int count = op->a % 8 + 1;
      if (count > nops - i - 1) count = nops - i - 1;
      if (count > 0) run_concurrent(r, i + 1, count, op->b % 4);
      i += count;
      continue;
    }
    exec_op(r, op, false);
  }

  /* Wind down: deregister everything (closed or not: must succeed), stop
   * the timers, collect a pending wake-up; then a wait must report nothing
   * and must not spin on something evq left in the kernel. */
  r->cur = nops;
  for (int fd = 0; fd <= r->max_fd; fd++)
    if (r->regs[fd].live) op_deregister(r, fd);
  for (int i = 0; i < NTIMERS; i++)
    if (r->timers[i].running) op_timer_stop(r, i, false);
  do_wait(r, 0, EV_CAP, true);
  r->sleep_left = 4 * MS;
  do_wait(r, 4 * MS, EV_CAP, true);
  for (int fd = 0; fd <= r->max_fd; fd++)
    if (r->fd_file[fd] >= 0) {
      close(fd);
      r->fd_file[fd] = -1;
    }
  evq_close(r->listener);
  evq_free(r->q);
  r->q = NULL;
  pthread_mutex_destroy(&r->mu);
  int fds_after = count_fds();
  if (fds_after < 0)
    breach(r, "fd-leak", "%d spare descriptors (open(\"/\")): evq keeps one per process",
           -fds_after);
  else if (fds_after != fds_before)
    breach(r, "fd-leak", "the process had %d descriptors before the run and %d after "
                 "evq_free: evq leaked or closed one",
              fds_before, fds_after);
}

/* Whether a comma-separated list (NULL or empty: every backend) names
 * this backend. */
static bool named(const char *list, const char *name) {
  if (!list || !*list) return true;
  size_t len = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p++)
    if ((p == list || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
      return true;
  return false;
}

int evqfuzz_backends(const char **out, int cap) {
  static const char *names[16];
  static int nnames = -1;
  if (nnames < 0) {
    const char *all[16];
    int n = evq_backends(all, 15);
    if (n > 15) n = 15;
    for (int i = 0; i < n; i++)
      if (strcmp(all[i], "io_uring") == 0) all[n++] = SINGLESHOT;
    const char *only = getenv("EVQ_FUZZ_BACKENDS");
    nnames = 0;
    for (int i = 0; i < n; i++)
      if (named(only, all[i])) names[nnames++] = all[i];
  }
  for (int i = 0; i < nnames && i < cap; i++) out[i] = names[i];
  return nnames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static op_t ops[MAX_OPS];
  static const char *names[16];
  static int nnames = -1;
  if (trace_on < 0) {
    const char *t = getenv("EVQ_FUZZ_TRACE");
    trace_on = t && *t == '1';
    ignored_rules = getenv("EVQ_FUZZ_IGNORE");
  }
  if (nnames < 0) nnames = evqfuzz_backends(names, 16);
  int nops = 0;
  for (size_t i = 0; i + 4 <= size && nops < MAX_OPS; i += 4)
    ops[nops++] = (op_t){data[i], data[i + 1], data[i + 2], data[i + 3]};
  for (int b = 0; b < nnames; b++) run_one(names[b], ops, nops);
  return 0;
}
