/* The fuzzer's model (model.h): what it knows of files, descriptors,
 * registrations and tokens, updated by exec.c as it carries out each
 * operation, and how a broken rule is reported. */
#define _GNU_SOURCE
#include "model.h"

int fz_trace_on = -1;
const char fz_singleshot[] = "io_uring_singleshot";
const char fz_io_emulated[] = "io_uring_emulated";
const char *const fz_kind_names[] = {"unix", "pipe-r", "pipe-w", "tcp"};

/* A broken rule: say which, where, on which backend, and the operations
 * that led there; then abort, so libFuzzer keeps the input. */
__attribute__((format(printf, 2, 3), noreturn)) void
fz_violation(run_t *r, const char *fmt, ...) {
  fflush(stdout);
  fprintf(stderr, "\nevq fuzz: VIOLATION on backend %s at operation #%d: ",
          r->backend, r->cur);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\noperations up to there:\n");
  for (int i = 0; i < r->nops && i <= r->cur; i++) fz_print_op(stderr, i, &r->ops[i]);
  fflush(stderr);
  abort();
}

/* Rules evq breaks today, each an open finding of the operations model
 * (docs/reliability.md, "Open findings"): let go by default, each
 * reported once per process, so that the committed corpus and make fuzz
 * hold evq to everything else; EVQ_FUZZ_STRICT=1 holds these too, and
 * EVQ_FUZZ_IGNORE replaces the list. fuzz/findings/ has an input for each.
 * Take a rule out once evq keeps it. */
const char fz_open_findings[] = "";

/* Whether a comma-separated list names rule. */
static bool listed(const char *list, const char *rule) {
  size_t len = strlen(rule);
  for (const char *p = list; (p = strstr(p, rule)) != NULL; p++)
    if ((p == list || p[-1] == ',') && (!p[len] || p[len] == ',')) return true;
  return false;
}

/* A broken rule of the model (rule: a short name). EVQ_FUZZ_IGNORE lists
 * rules to report once and go on, to look past a known defect while
 * exploring; make fuzz and the suite never set it (they let go only the
 * open findings above). */
const char *fz_ignored_rules;
__attribute__((format(printf, 3, 4))) void
fz_breach(run_t *r, const char *rule, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (fz_ignored_rules && listed(fz_ignored_rules, rule)) {
    static char seen[32][24];
    for (int i = 0; i < 32; i++) {
      if (strcmp(seen[i], rule) == 0) return;
      if (!seen[i][0]) {
        snprintf(seen[i], sizeof seen[i], "%s", rule);
        fprintf(stderr, "evq fuzz: ignoring [%s] (%s) on %s: %s\n", rule,
                fz_ignored_rules == fz_open_findings
                    ? "an open finding; EVQ_FUZZ_STRICT=1 holds it"
                    : "EVQ_FUZZ_IGNORE",
                r->backend, msg);
        return;
      }
    }
    return;
  }
  fz_violation(r, "[%s] %s", rule, msg);
}

void fz_trace(run_t *r, const char *fmt, ...) {
  if (!fz_trace_on) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[%s] ", r->backend);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static uint64_t tick(run_t *r) { return atomic_fetch_add(&r->seq, 1) + 1; }
uint64_t fz_tick(run_t *r) { return tick(r); }

/* ---- descriptors and files --------------------------------------------- */

int fz_new_file(run_t *r, int kind) {
  if (r->nfiles >= MAX_FILES) return -1;
  file_t *f = &r->files[r->nfiles];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->peer = -1;
  f->op_fd = -1;
  f->cut_no = -1;
  return r->nfiles++;
}

void fz_bump(run_t *r, int file) {
  if (file < 0) return;
  r->files[file].activity++;
  r->files[file].io_wait = r->waits;
  if (r->files[file].peer >= 0) {
    r->files[r->files[file].peer].activity++;
    r->files[r->files[file].peer].io_wait = r->waits;
  }
}

/* io_uring reports readiness as it was when a poll request completed,
 * which may be before I/O (or a close of its peer) changed it (evq.h,
 * evq_event_t): I/O since the last wait, or since an earlier one if every
 * wait since filled its array, which leaves completions in the ring for
 * the next. */
bool fz_may_be_stale(const run_t *r, int file) {
  return r->watch == HOLD_FILE && r->files[file].io_wait >= r->drained_at;
}

uint64_t fz_activity_of(run_t *r, int file) {
  uint64_t a = r->files[file].activity;
  if (r->files[file].peer >= 0) a += r->files[r->files[file].peer].activity;
  return a;
}

/* Number fd now refers to file. */
void fz_fd_bind(run_t *r, int fd, int file) {
  r->fd_file[fd] = file;
  r->files[file].refs++;
  if (fd > r->max_fd) r->max_fd = fd;
  reg_t *g = &r->regs[fd];
  if (g->live && g->file == file) g->unbound_seq = 0;
}

/* Number fd was closed (or dup2'ed over): it no longer refers to its
 * file, which may have lost its last descriptor. */
void fz_fd_unbind(run_t *r, int fd) {
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
     * fz_readiness again, those made until the rebuild too (fz_rebuild_may_come). */
    fl->orphaned = true;
    for (int i = 0; i <= r->max_fd; i++)
      if (r->regs[i].live && r->regs[i].mode == EVQ_EDGE)
        r->regs[i].may_repeat = DIRS;
  }
  fz_bump(r, file);
  if (g->live && g->file == file && !g->unbound_seq) {
    g->unbound_seq = s;
    g->tainted = true;
  }
}

/* Whether epoll may still rebuild for an entry a close left behind: while
 * such a file is open, and until the wait after its last close (the
 * stale key seen in one wait has the next one rebuild). */
bool fz_rebuild_may_come(const run_t *r) {
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
int fz_free_slot(run_t *r, int skip) {
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

/* The file's fz_readiness, asked of the kernel through any of its
 * descriptors; 0 for a file no descriptor refers to. */
uint32_t fz_readiness(run_t *r, int file) {
  int fd = any_fd(r, file);
  if (fd < 0) return 0;
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP};
  if (poll(&p, 1, 0) < 0) return 0;
  return from_poll(p.revents);
}

/* What of a fz_readiness an event may carry for these interests. */
uint32_t fz_visible(uint32_t raw, uint32_t interests) {
  return raw & (interests | (RESULTS & ~(uint32_t)DIRS));
}

/* Bytes of the stream a file sends: position k of file f's output. */
static uint8_t pattern(int f, uint64_t k) {
  return (uint8_t)(k * 7 + (uint64_t)f * 13 + (k >> 8));
}

void fz_fill_pattern(uint8_t *buf, size_t n, int f, uint64_t from) {
  for (size_t i = 0; i < n; i++) buf[i] = pattern(f, from + i);
}

void fz_check_pattern(run_t *r, int file, const uint8_t *buf, size_t n) {
  int src = r->files[file].peer;
  if (src < 0) return;
  uint64_t at = r->files[file].rx;
  for (size_t i = 0; i < n; i++) {
    /* Past what evq_write wrote come the peer's send operations. */
    if (r->files[src].op_sent && at + i >= r->files[src].raw_end) {
      fz_io_check_sends(r, file, buf + i, n - i);
      return;
    }
    if (buf[i] != pattern(src, at + i))
      fz_breach(r, "data", "byte %llu read from %s file %d is corrupted (0x%02x, "
                   "expected 0x%02x)",
                (unsigned long long)(at + i), fz_kind_names[r->files[file].kind],
                file, buf[i], pattern(src, at + i));
  }
}

/* TCP delivers on its own time: after a write or a close, let the bytes
 * (or the end of stream) reach the peer, so that the model's "ready
 * before and after the wait" rarely has to give up. Bounded: a peer with
 * a full receive buffer never gets them all. */
void fz_settle_tcp(run_t *r, int file, bool closing) {
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

int fz_wait_fd(int fd, short events, int ms) {
  struct pollfd p = {.fd = fd, .events = events};
  return poll(&p, 1, ms);
}

/* ---- tokens ------------------------------------------------------------ */

uintptr_t fz_new_token(run_t *r, int kind, int idx) {
  if (r->ntoks >= MAX_TOKENS) fz_violation(r, "fuzzer: out of tokens");
  tok_t *t = &r->toks[r->ntoks];
  t->kind = kind;
  t->idx = idx;
  t->dead_seq = 0;
  t->why = NULL;
  return TOKEN_BASE + (uintptr_t)r->ntoks++;
}

tok_t *fz_tok_of(run_t *r, uintptr_t token) {
  if (token < TOKEN_BASE || token >= TOKEN_BASE + (uintptr_t)r->ntoks)
    return NULL;
  return &r->toks[token - TOKEN_BASE];
}

void fz_kill_token(run_t *r, uintptr_t token, const char *why) {
  tok_t *t = fz_tok_of(r, token);
  if (t && !t->dead_seq) {
    t->dead_seq = tick(r);
    t->why = why;
  }
}

/* ---- expectations of return codes ---------------------------------------- */

void fz_expect(run_t *r, const char *call, int rc, int want) {
  if (rc != want)
    fz_breach(r, "rc", "%s returned %d (%s), expected %d (%s)", call, rc,
              evq_errname(rc), want, evq_errname(want));
}

void fz_expect_one_of(run_t *r, const char *call, int rc, int a, int b,
                          int c) {
  if (rc != a && rc != b && rc != c)
    fz_breach(r, "rc", "%s returned %d (%s), expected %s, %s or %s", call, rc,
              evq_errname(rc), evq_errname(a), evq_errname(b),
              evq_errname(c));
}

void fz_snapshot(run_t *r, uint32_t *out) {
  for (int f = 0; f < r->nfiles; f++)
    out[f] = r->files[f].refs ? fz_readiness(r, f) : 0;
}

const char *fz_flags_str(uint32_t f) {
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

const char *fz_mode_name(int m) {
  return m == EVQ_EDGE ? "edge" : m == EVQ_LEVEL ? "level" : "oneshot";
}
