/* The differential fuzzer's shared state (fuzz/): the model of what a run
 * has done (files, descriptors, registrations, tokens, timers, completion
 * operations and the byte streams they send), which exec.c updates as it
 * carries out each operation and oracle.c checks every wait's result
 * against; model.c keeps it. fuzz.h is the interface to the drivers
 * (libFuzzer, replay, seeds); oracle.c and io.c state the rules. */
#ifndef EVQ_FUZZ_MODEL_H
#define EVQ_FUZZ_MODEL_H

#include "fuzz.h"

#include "evq.h"
#include "evq_io.h"
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
  /* Completion operations (io.c). As a sender: */
  bool op_sent;        /* a send operation was submitted on it: its stream
                          is raw_end bytes of evq_write, then the sends */
  uint64_t raw_end;
  int nsends;          /* sends submitted on it (their numbers) */
  int stream;          /* STREAM_*: whether a send cut its stream */
  int cut_no;          /* the send that cut it (STREAM_CUT), or the one
                          that may have (STREAM_MAYBE_CUT) */
  bool stream_lost;    /* its record ended with the stream maybe cut, and
                          a later record may send again: bytes unchecked */
  int op_fd;           /* the number its operations go through, or -1 */
  int send_rec;        /* the record its last send went through */
  bool shut;           /* shutdown(2) on it */
  /* As a receiver, where it is in its peer's sends: */
  int rd_no;           /* the send whose bytes come next */
  size_t rd_off;       /* bytes of it read */
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
  int kind; /* 0 none, 1 descriptor, 2 timer, 3 operation (io.c) */
  int idx;  /* number, timer index or operation slot */
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

/* ---- completion operations (io.c) ---- */
enum {
  NSLOTS = 8,        /* evq_op_t storage: operations in flight at most */
  NPOOLS = 2,
  POOL_MAX_BUFS = 8,
  MAX_SENDS = MAX_OPS
};
enum { OPK_NONE, OPK_RECV, OPK_POOL, OPK_SEND, OPK_CLOSE };
enum { SEND_PENDING, SEND_OK, SEND_CANCELLED, SEND_FAILED };
enum { STREAM_WHOLE, STREAM_MAYBE_CUT, STREAM_CUT };

/* One slot's operation, as the model knows it. */
typedef struct {
  bool active;      /* submitted (0 returned), final completion not seen */
  int kind;         /* OPK_* */
  int fd, file;     /* file: what fd named at submission, or -1 */
  int rec;          /* the model's id of fd's record; a close: the one it
                       ends (0: fd had none) */
  int send;         /* OPK_SEND: index in run_t.sends, or -1 */
  int pool;         /* OPK_POOL */
  size_t len;
  uintptr_t token;
  uint64_t sub_seq; /* model sequence at submission */
  bool asked;       /* evq_op_cancel returned 0 for it, or an evq_op_close
                       of its socket came: ECANCELED is allowed */
  uint64_t completions;
  bool uncancellable; /* its cancel failed (a rule let go) */
} fop_t;

/* One send, in submission order on its file. */
typedef struct {
  int file, no, slot, state; /* SEND_* */
  size_t len;
  bool asked;     /* cancel asked or closing before its end */
  bool skipped;   /* the peer's stream went on with a later send's bytes
                     where this one would have begun: none of it went */
  bool must_cut;  /* a later send ended cancelled by a broken stream that
                     only this one can have cut: some of it went */
  size_t seen;    /* bytes of it the peer read */
} fsend_t;

typedef struct {
  evq_pool_t *p;
  uint32_t count, size;
  bool lent[POOL_MAX_BUFS];
  uint32_t nlent;
  uint64_t exhausted_seq; /* when every buffer was last lent */
  int owed;       /* buffers an EVQ_ENOBUFS still has to see lent (the
                     pool is shared: other receives' completions may
                     deliver the buffers they took before it) */
} fpool_t;

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
  /* Completion operations (io.c). */
  evq_op_t op[NSLOTS];
  fop_t slot[NSLOTS];
  fsend_t sends[MAX_SENDS];
  int nsends;
  fpool_t pools[NPOOLS];
  int iorec[MAX_FD];   /* the number's record on the queue (model id), 0 */
  int closing[MAX_FD]; /* slot + 1 of an evq_op_close of the number whose
                          final completion has not come, 0 */
  int nrecs;
  bool rec_born_closed[MAX_OPS + 2]; /* by record id: made by an operation
                                        on a number that was not open */
  bool rec_badf[MAX_OPS + 2]; /* by record id: an operation of it ended
                                 EVQ_EBADF (the record ends once idle) */
  bool free_in_flight; /* FZ_IO_FREE: evq_free with operations in flight */
  bool io_busy[MAX_FILES]; /* the file or its peer had an operation in
                              flight when the current wait began */
} run_t;

/* ---- model.c ------------------------------------------------------------ */

/* EVQ_FUZZ_TRACE=1: every call and event on stderr. EVQ_FUZZ_IGNORE:
 * rules to report once and go on. Set by the driver at the first input. */
extern int fz_trace_on;
extern const char *fz_ignored_rules;
extern const char fz_open_findings[]; /* the default of fz_ignored_rules */
/* io_uring's single-shot path, fuzzed as a backend of its own. */
extern const char fz_singleshot[];
/* io_uring with its completion operations emulated (EVQ_IO_EMULATE=1). */
extern const char fz_io_emulated[];

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
uint64_t fz_tick(run_t *r);
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

/* ---- io.c: completion operations (evq_io.h), made for real, their
 * completions checked against the model ------------------------------- */
void fz_io_submit(run_t *r, int kind, int h, int size, int slot, bool concurrent);
void fz_io_cancel(run_t *r, int slot, bool concurrent);
void fz_io_close(run_t *r, int h, int slot, bool concurrent);
void fz_io_put(run_t *r, int pool, int which, bool concurrent);
void fz_io_release(run_t *r, int h, bool concurrent);
/* Gates for the readiness operations: what they must leave alone. */
bool fz_io_number_held(const run_t *r, int fd); /* a record, or closing */
bool fz_io_may_close(run_t *r, int fd); /* released first; false: skip */
/* An operation submitted on the number while it named nothing is in
 * flight: it acts on whatever the number names when evq does its I/O, so
 * the model gives the number to no new file meanwhile. */
bool fz_io_number_claimed(const run_t *r, int fd);
bool fz_io_receiving(const run_t *r, int file);  /* a receive in flight */
bool fz_io_any_active(const run_t *r);
/* A pool receive in flight whose pool has every buffer lent (a spin
 * then is finding pool-empty-spin, not the general one). */
bool fz_io_empty_pool_waiting(const run_t *r);
/* The bytes of a file's peer's sends, from the reader's place in them
 * (fz_check_pattern hands over once the raw bytes are read). */
void fz_io_check_sends(run_t *r, int file, const uint8_t *buf, size_t n);
/* Each wait: before (what is busy; single: evq_op_active agrees), one
 * completion, after (evq_op_active agrees). */
void fz_io_before_wait(run_t *r, bool single);
void fz_io_event(run_t *r, const evq_event_t *e, tok_t *t);
void fz_io_after_wait(run_t *r);
/* The end of a run: every operation ends, records and pools go. */
void fz_io_wind_down(run_t *r);
void fz_io_after_free(run_t *r);
void fz_print_io_op(FILE *f, int op, const op_t *o);

/* ---- exec.c ------------------------------------------------------------- */
void fz_print_op(FILE *f, int i, const op_t *o);

#endif
