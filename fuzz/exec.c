/* The fuzzer's executor: reads an input as operations (fuzz.h), carries
 * each out on the backend under test (a second thread runs some of them
 * while the first waits), tells the model (model.c) what it did, and has
 * the oracle (oracle.c) check every wait; completion operations are
 * io.c's. One run per backend compiled in, and two more on io_uring: its
 * single-shot path, and its operations emulated. */
#define _GNU_SOURCE
#include "model.h"

#include "../tests/fd_race.h"

static run_t R; /* one run at a time; static: it is large */

const char *evqfuzz_op_name(int op) {
  static const char *const names[FZ_NOPS] = {
      "socketpair", "pipe",      "tcp",         "register",   "modify",
      "deregister", "rearm",     "write",       "read",       "drain",
      "raw_read",   "fill",      "shutdown",    "close",      "dup",
      "dup2",       "timer_start", "timer_stop", "wake",      "wait",
      "concurrent", "next_timeout", "deregister_close", "op_recv",
      "op_send",    "op_recv_pool", "op_cancel", "op_close", "pool_put",
      "io_release", "io_free"};
  return op >= 0 && op < FZ_NOPS ? names[op] : "?";
}

static const int64_t timeouts_ms[] = {0, 0, 1, 5, 20};
static const size_t sizes[] = {1, 7, 100, 1000, 4096, 20000};
static const int64_t delays_ms[] = {0, 1, 2, 5, 10, 50};
static const int64_t periods_ms[] = {0, 0, 0, 1, 3, 10};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t op_interests(uint8_t a) { return (uint32_t)(a % 7) + 1; }
static int op_mode(uint8_t a) { return a % 3 + 1; }


void fz_print_op(FILE *f, int i, const op_t *o) {
  int op = o->op % FZ_NOPS;
  fprintf(f, "  #%d %s", i, evqfuzz_op_name(op));
  switch (op) {
  case FZ_REGISTER:
  case FZ_MODIFY:
    fprintf(f, " h%d interests=%s%s%s %s", o->a % MAX_H,
            op_interests(o->b) & EVQ_READABLE ? "R" : "",
            op_interests(o->b) & EVQ_WRITABLE ? "W" : "",
            op_interests(o->b) & EVQ_PRIORITY ? "P" : "",
            fz_mode_name(op_mode(o->c)));
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
  default:
    fz_print_io_op(f, op, o);
  }
  fputc('\n', f);
}

/* How many opcodes an input was written for: FZ_NOPS, or what
 * EVQ_FUZZ_OPCODES says (23: an input from before the completion
 * operations, whose opcode bytes were taken modulo 23). */
static int fz_opcodes(void) {
  static int m;
  if (!m) {
    const char *e = getenv("EVQ_FUZZ_OPCODES");
    m = e ? atoi(e) : 0;
    if (m < 1 || m > FZ_NOPS) m = FZ_NOPS;
  }
  return m;
}

void evqfuzz_print(const uint8_t *data, size_t size) {
  int m = fz_opcodes();
  for (size_t i = 0; i + 4 <= size && i / 4 < MAX_OPS; i += 4) {
    op_t o = {(uint8_t)(data[i] % m), data[i + 1], data[i + 2], data[i + 3]};
    fz_print_op(stdout, (int)(i / 4), &o);
  }
}

/* ---- one operation ------------------------------------------------------- */

static void exec_op(run_t *r, const op_t *o, bool concurrent) {
  int op = o->op % FZ_NOPS;
  int h = o->a % MAX_H;
  int fd = r->hfd[h];
  int file = fd >= 0 ? r->fd_file[fd] : -1;
  /* A number whose evq_op_close has not completed is evq's until it
   * does: readiness calls leave it alone. */
  bool evqs = fd >= 0 && file < 0 && r->closing[fd];
  switch (op) {
  case FZ_SOCKETPAIR: {
    evq_fd_t p[2];
    int rc = tq_fd_socketpair(p);
    if (rc != 0) fz_violation(r, "evq_socketpair: %s", evq_strerror(rc));
    fz_add_pair(r, p[0], p[1], K_UNIX, K_UNIX);
    break;
  }
  case FZ_PIPE: {
    int p[2];
    if (tq_fd_pipe(p) != 0)
      fz_violation(r, "pipe2: %s", strerror(errno));
    fz_add_pair(r, p[0], p[1], K_PIPE_R, K_PIPE_W);
    break;
  }
  case FZ_TCP:
    fz_op_tcp(r);
    break;
  case FZ_REGISTER:
  case FZ_MODIFY:
    if (fd >= 0 && !evqs)
      fz_op_register(r, fd, op_interests(o->b), op_mode(o->c), op == FZ_MODIFY);
    break;
  case FZ_DEREGISTER:
    if (fd >= 0 && !evqs) fz_op_deregister(r, fd);
    break;
  case FZ_REARM:
    if (fd >= 0 && !evqs) fz_op_rearm(r, fd, (uint32_t)(o->b % 3) + 1);
    break;
  case FZ_WRITE:
  case FZ_FILL:
    /* Once send operations write a file's stream, only they do. */
    if (file >= 0 && !r->files[file].op_sent)
      fz_op_write(r, fd, sizes[o->b % COUNT(sizes)], op == FZ_FILL);
    break;
  case FZ_READ:
  case FZ_DRAIN:
  case FZ_RAW_READ:
    /* Not beside a receive operation: which bytes each got is a race. */
    if (file >= 0 && !fz_io_receiving(r, file))
      fz_op_read(r, fd, sizes[o->b % COUNT(sizes)], op == FZ_DRAIN,
              op == FZ_RAW_READ);
    break;
  case FZ_SHUTDOWN:
    if (file >= 0 && (r->files[file].kind == K_UNIX ||
                      r->files[file].kind == K_TCP)) {
      int how = o->b % 3 == 0 ? SHUT_RD : o->b % 3 == 1 ? SHUT_WR : SHUT_RDWR;
      if (shutdown(fd, how) != 0 && errno != ENOTCONN)
        fz_violation(r, "shutdown: %s", strerror(errno));
      r->files[file].shut = true;
      fz_bump(r, file);
      if (how != SHUT_RD) fz_settle_tcp(r, file, true);
    }
    break;
  case FZ_CLOSE:
    if (file >= 0) fz_op_close(r, fd);
    break;
  case FZ_OP_RECV:
    fz_io_submit(r, OPK_RECV, h, o->b, o->c, concurrent);
    break;
  case FZ_OP_SEND:
    fz_io_submit(r, OPK_SEND, h, o->b, o->c, concurrent);
    break;
  case FZ_OP_RECV_POOL:
    fz_io_submit(r, OPK_POOL, h, o->b, o->c, concurrent);
    break;
  case FZ_OP_CANCEL:
    fz_io_cancel(r, o->a, concurrent);
    break;
  case FZ_OP_CLOSE:
    fz_io_close(r, h, o->c, concurrent);
    break;
  case FZ_POOL_PUT:
    fz_io_put(r, o->b, o->a, concurrent);
    break;
  case FZ_IO_RELEASE:
    fz_io_release(r, h, concurrent);
    break;
  case FZ_IO_FREE:
    r->free_in_flight = true;
    break;
  case FZ_DUP:
    if (file >= 0) {
      int slot = fz_free_slot(r, -1);
      if (slot < 0) break;
      int d = tq_fd_dup(fd);
      if (d < 0) fz_violation(r, "dup: %s", strerror(errno));
      if (d >= MAX_FD || fz_io_number_claimed(r, d)) {
        close(d);
        break;
      }
      r->hfd[slot] = d;
      fz_fd_bind(r, d, file);
      fz_trace(r, "  dup(%d) = %d (h%d)", fd, d, slot);
    }
    break;
  case FZ_DUP2:
    if (file >= 0) fz_op_dup2(r, fd, r->hfd[o->b % MAX_H]);
    break;
  case FZ_TIMER_START:
    fz_op_timer_start(r, o->a % NTIMERS, delays_ms[o->b % COUNT(delays_ms)] * MS,
                   periods_ms[o->c % COUNT(periods_ms)] * MS);
    break;
  case FZ_TIMER_STOP:
    fz_op_timer_stop(r, o->a % NTIMERS, concurrent);
    break;
  case FZ_WAKE:
    atomic_fetch_add(&r->wake_started, 1);
    fz_expect(r, "evq_wake", evq_wake(r->q), 0);
    atomic_fetch_add(&r->wake_done, 1);
    break;
  case FZ_WAIT:
    if (!concurrent)
      fz_wait(r, timeouts_ms[o->a % COUNT(timeouts_ms)] * MS,
              o->b % 8 == 0 ? 1 : o->b % 8 == 1 ? 2 : EV_CAP, true);
    break;
  case FZ_NEXT_TIMEOUT:
    if (!concurrent) fz_next_timeout(r);
    break;
  case FZ_DEREGISTER_CLOSE:
    if (fd >= 0 && !evqs) fz_op_deregister_close(r, fd);
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
    fz_trace(r, "B #%d %s", i, evqfuzz_op_name(r->ops[i].op % FZ_NOPS));
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
    fz_violation(r, "fuzzer: pthread_create failed");
  do fz_wait(r, 2 * MS, EV_CAP, false);
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

  /* io_uring's variants: its single-shot poll path, and its operations
   * emulated (the path of kernels before 6.0). */
  bool single_shot = strcmp(backend, fz_singleshot) == 0;
  bool emulated = strcmp(backend, fz_io_emulated) == 0;
  evq_options_t o = {.backend = single_shot || emulated ? "io_uring" : backend,
                     .wake_token = WAKE_TOKEN};
  if (single_shot) setenv("EVQ_IO_URING_NO_MULTISHOT", "1", 1);
  if (emulated) setenv("EVQ_IO_EMULATE", "1", 1);
  int rc = evq_create(&r->q, &o);
  if (single_shot) unsetenv("EVQ_IO_URING_NO_MULTISHOT");
  if (emulated) unsetenv("EVQ_IO_EMULATE");
  if (rc != 0) fz_violation(r, "evq_create(%s): %s", backend, evq_strerror(rc));
  if (strcmp(evq_backend(r->q), o.backend) != 0)
    fz_violation(r, "asked for %s, got %s", o.backend, evq_backend(r->q));
  rc = evq_tcp_listen(&r->listener, NULL, 0, 64);
  if (rc != 0) fz_violation(r, "evq_tcp_listen: %s", evq_strerror(rc));

  for (int i = 0; i < nops; i++) {
    r->cur = i;
    const op_t *op = &ops[i];
    fz_trace(r, "#%d %s", i, evqfuzz_op_name(op->op % FZ_NOPS));
    if (op->op % FZ_NOPS == FZ_CONCURRENT) {
      int count = op->a % 8 + 1;
      if (count > nops - i - 1) count = nops - i - 1;
      if (count > 0) run_concurrent(r, i + 1, count, op->b % 4);
      i += count;
      continue;
    }
    exec_op(r, op, false);
  }

  /* Wind down: every operation ends (cancelled) and its record goes
   * (io.c), unless the input asked for evq_free with them in flight;
   * deregister everything (closed or not: must succeed), stop the timers,
   * collect a pending wake-up; then a wait must report nothing and must
   * not spin on something evq left in the kernel. */
  r->cur = nops;
  fz_io_wind_down(r);
  for (int fd = 0; fd <= r->max_fd; fd++)
    if (r->regs[fd].live) fz_op_deregister(r, fd);
  for (int i = 0; i < NTIMERS; i++)
    if (r->timers[i].running) fz_op_timer_stop(r, i, false);
  fz_wait(r, 0, EV_CAP, true);
  r->sleep_left = 4 * MS;
  fz_wait(r, 4 * MS, EV_CAP, true);
  /* With operations in flight, evq_free comes first: their sockets are
   * the caller's, to close after it. */
  if (r->free_in_flight) {
    evq_free(r->q);
    r->q = NULL;
    fz_io_after_free(r);
  }
  for (int fd = 0; fd <= r->max_fd; fd++)
    if (r->fd_file[fd] >= 0) {
      close(fd);
      r->fd_file[fd] = -1;
    }
  evq_close(r->listener);
  if (r->q) {
    evq_free(r->q);
    r->q = NULL;
    fz_io_after_free(r);
  }
  pthread_mutex_destroy(&r->mu);
  int fds_after = count_fds();
  if (fds_after < 0)
    fz_breach(r, "fd-leak", "%d spare descriptors (open(\"/\")): evq keeps one per process",
           -fds_after);
  else if (fds_after != fds_before)
    fz_breach(r, "fd-leak", "the process had %d descriptors before the run and %d after "
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
    int n = evq_backends(all, 14);
    if (n > 14) n = 14;
    for (int i = 0, m = n; i < m; i++)
      if (strcmp(all[i], "io_uring") == 0) {
        all[n++] = fz_singleshot;
        all[n++] = fz_io_emulated;
      }
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
  if (fz_trace_on < 0) {
    const char *t = getenv("EVQ_FUZZ_TRACE");
    fz_trace_on = t && *t == '1';
    fz_ignored_rules = getenv("EVQ_FUZZ_IGNORE");
    const char *strict = getenv("EVQ_FUZZ_STRICT");
    if (!fz_ignored_rules && !(strict && *strict == '1'))
      fz_ignored_rules = fz_open_findings;
  }
  if (nnames < 0) nnames = evqfuzz_backends(names, 16);
  int nops = 0, m = fz_opcodes();
  for (size_t i = 0; i + 4 <= size && nops < MAX_OPS; i += 4)
    ops[nops++] = (op_t){(uint8_t)(data[i] % m), data[i + 1], data[i + 2],
                         data[i + 3]};
  for (int b = 0; b < nnames; b++) run_one(names[b], ops, nops);
  return 0;
}
