/* The differential fuzzer's shared state (fuzz/): the model of what a run
 * has done (files, descriptors, registrations, tokens, timers), which
 * exec.c updates as it carries out each operation and oracle.c checks
 * every wait's result against; model.c keeps it. fuzz.h is the interface
 * to the drivers (libFuzzer, replay, seeds); oracle.c states the rules. */
#ifndef EVQ_FUZZ_MODEL_H
#define EVQ_FUZZ_MODEL_H

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
extern const char *const fz_kind_names[]; /* by K_* */

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
  uint32_t must;        /* edge: directions whose fz_readiness must report */
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
  uint64_t drained_at; /* waits when the last one that did not fill its
                          array returned: it took every completion */
  uint64_t rebuild_until; /* an orphaned file closed: a rebuild its stale
                             key asked for may come up to this wait */
  const op_t *ops;
  int nops, cur;
  atomic_int b_done;
  int b_first, b_count, b_pacing;
} run_t;

/* ---- model.c ------------------------------------------------------------ */

/* EVQ_FUZZ_TRACE=1: every call and event on stderr. EVQ_FUZZ_IGNORE:
 * rules to report once and go on. Set by the driver at the first input. */
extern int fz_trace_on;
extern const char *fz_ignored_rules;
/* io_uring's single-shot path, fuzzed as a backend of its own. */
extern const char fz_singleshot[];

/* A broken rule: which, where, on which backend, the operations that led
 * there; then abort, so libFuzzer keeps the input. breach names the rule
 * (EVQ_FUZZ_IGNORE may let it go). */
__attribute__((format(printf, 2, 3), noreturn)) void
fz_violation(run_t *r, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void
fz_breach(run_t *r, const char *rule, const char *fmt, ...);
void fz_trace(run_t *r, const char *fmt, ...);

/* Files and descriptors. */
int fz_new_file(run_t *r, int kind);
void fz_bump(run_t *r, int file);
bool fz_may_be_stale(const run_t *r, int file);
uint64_t fz_activity_of(run_t *r, int file);
void fz_fd_bind(run_t *r, int fd, int file);
void fz_fd_unbind(run_t *r, int fd);
bool fz_rebuild_may_come(const run_t *r);
int fz_free_slot(run_t *r, int skip);
uint32_t fz_readiness(run_t *r, int file);
void fz_snapshot(run_t *r, uint32_t *out);
uint32_t fz_visible(uint32_t raw, uint32_t interests);
void fz_fill_pattern(uint8_t *buf, size_t n, int f, uint64_t from);
void fz_check_pattern(run_t *r, int file, const uint8_t *buf, size_t n);
void fz_settle_tcp(run_t *r, int file, bool closing);
int fz_wait_fd(int fd, short events, int ms);

/* Tokens, and what a call must return. */
uintptr_t fz_new_token(run_t *r, int kind, int idx);
tok_t *fz_tok_of(run_t *r, uintptr_t token);
void fz_kill_token(run_t *r, uintptr_t token, const char *why);
void fz_expect(run_t *r, const char *call, int rc, int want);
void fz_expect_one_of(run_t *r, const char *call, int rc, int a, int b,
                      int c);
const char *fz_flags_str(uint32_t f);
const char *fz_mode_name(int mode);

/* ---- oracle.c: one evq_wait, or evq_next_timeout, and every check of
 * what it returned. single: no other thread runs. */
void fz_wait(run_t *r, int64_t timeout, int cap, bool single);
void fz_next_timeout(run_t *r);

/* ---- ops.c: the operations, made for real and told to the model ------- */
void fz_op_tcp(run_t *r);
void fz_op_register(run_t *r, int fd, uint32_t interests, int mode, bool modify);
void fz_op_deregister(run_t *r, int fd);
void fz_op_deregister_close(run_t *r, int fd);
void fz_op_rearm(run_t *r, int fd, uint32_t dirs);
void fz_op_write(run_t *r, int fd, size_t n, bool fill);
void fz_op_read(run_t *r, int fd, size_t n, bool drain, bool raw);
void fz_op_close(run_t *r, int fd);
void fz_op_dup2(run_t *r, int src, int target);
void fz_op_timer_start(run_t *r, int i, int64_t delay, int64_t period);
void fz_op_timer_stop(run_t *r, int i, bool concurrent);
void fz_add_pair(run_t *r, int fd0, int fd1, int k0, int k1);

/* ---- exec.c ------------------------------------------------------------- */
void fz_print_op(FILE *f, int i, const op_t *o);

#endif
