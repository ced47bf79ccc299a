/*
 * The fault injector's run-time: one wrapper per function of functions.h.
 * The build copies libevq.a and renames, with objcopy --redefine-syms, every
 * call the library makes to such a function: read becomes evqf_read. Only
 * the library's calls are renamed, so the scenario's own calls are never
 * faulted, and the wrappers call the real function (or the sanitizer's
 * interceptor of it): every sanitizer keeps working.
 *
 * A call site is the wrapper's return address, as an offset in the
 * executable. EVQ_FAULT_MODE selects what happens:
 *   record   count the hits of every site; evqf_dump() writes them to
 *            EVQ_FAULT_OUT, one "offset function hits" a line
 *   inject   as record, and make hit EVQ_FAULT_HIT of the site at offset
 *            EVQ_FAULT_SITE fail with EVQ_FAULT_ERRNO (a number)
 * With neither, the wrappers only count allocations.
 *
 * Everything here may run in a signal handler (evq's handler writes to the
 * wake descriptor): atomics only, no locks, no allocation.
 */
#define _GNU_SOURCE
#include "faultlib.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/futex.h>

extern char __executable_start;

/* ---- the table of functions (functions.h) -------------------------------- */

const evqf_function_t evqf_functions[] = {
#define F(name, errs) {#name, errs, 1, NULL, NULL},
#define S(name, errs) {#name, errs, 1, NULL, NULL},
#define N(name, why) {#name, why, 0, NULL, NULL},
#define SITE(name, fn, errs) {#name, errs, 2, fn, NULL},
#define DEAD(fn, name, line, why) {#name, why, 3, fn, line},
#include "functions.h"
#undef F
#undef S
#undef N
#undef SITE
#undef DEAD
    {NULL, NULL, 0, NULL, NULL}};

static const struct {
  const char *name;
  int value;
} errno_names[] = {
#define E(x) {#x, x},
    E(EAGAIN) E(EINTR) E(EIO) E(ECONNRESET) E(ENOTCONN) E(ETIMEDOUT) E(EBADF)
    E(EPIPE) E(ENOSPC) E(EDQUOT) E(EMFILE) E(ENFILE) E(ENOTTY) E(EINVAL)
    E(ENOMEM) E(EEXIST) E(ENOENT) E(EPERM) E(ELOOP) E(ENODEV) E(ENOBUFS)
    E(EACCES) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ECONNREFUSED)
    E(ENETUNREACH) E(ECONNABORTED) E(EPROTO) E(ENOTSOCK) E(ECHILD) E(ESRCH)
    E(ENOSYS) E(EBUSY)
#undef E
    /* getaddrinfo's own codes (negative in glibc) */
    {"EAI_AGAIN", EAI_AGAIN}, {"EAI_FAIL", EAI_FAIL},
    {"EAI_MEMORY", EAI_MEMORY}, {"EAI_NONAME", EAI_NONAME},
    {"EAI_SYSTEM", EAI_SYSTEM},
    {NULL, 0}};

int evqf_errno_value(const char *name) {
  for (int i = 0; errno_names[i].name; i++)
    if (strcmp(errno_names[i].name, name) == 0) return errno_names[i].value;
  return 0;
}

const char *evqf_errno_name(int value) {
  for (int i = 0; errno_names[i].name; i++)
    if (errno_names[i].value == value) return errno_names[i].name;
  return "?";
}

/* ---- sites -------------------------------------------------------------- */

/* A site's contexts: the caller of the function making the call,
 * each with the hit at which it first called; a site is failed once per
 * context, since an error path can depend on who called (a socket helper
 * shared by two callers, one of which cleans up differently). */
enum { NSITES = 4096, NCTX = 8, CTX_FRAMES = 1 };
static struct site {
  _Atomic uintptr_t off; /* 0: empty */
  const char *fn;
  atomic_ulong hits;
  _Atomic uint64_t ctx[NCTX];
  atomic_ulong ctx_hit[NCTX];
} sites[NSITES];

static int mode = -1; /* 0 off, 1 record, 2 inject */
/* [0]: the fault under test; [1]: an enabling fault, made first so that
 * a call only reached on an error path (a close after a failed bind) can
 * be reached and failed in turn. */
static uintptr_t target[2];
static unsigned long target_hit[2];
static int target_errno[2];
static atomic_int fired[2];
static atomic_long live_allocs;
static const char *out_path;

static void init(void) {
  const char *m = getenv("EVQ_FAULT_MODE");
  int md = 0;
  if (m && strcmp(m, "record") == 0) md = 1;
  if (m && strcmp(m, "inject") == 0) {
    md = 2;
    for (int i = 0; i < 2; i++) {
      const char *s = getenv(i ? "EVQ_FAULT_SITE2" : "EVQ_FAULT_SITE"),
                 *e = getenv(i ? "EVQ_FAULT_ERRNO2" : "EVQ_FAULT_ERRNO"),
                 *h = getenv(i ? "EVQ_FAULT_HIT2" : "EVQ_FAULT_HIT");
      target[i] = s ? (uintptr_t)strtoull(s, NULL, 0) : 0;
      target_errno[i] = e ? atoi(e) : 0;
      target_hit[i] = h ? strtoul(h, NULL, 0) : 1;
    }
  }
  out_path = getenv("EVQ_FAULT_OUT");
  mode = md;
}

__attribute__((constructor)) static void evqf_init(void) {
  init();
  /* backtrace() loads its unwinder at the first call: do it now, not in
   * a wrapper running in a signal handler. */
  void *bt[2];
  backtrace(bt, 2);
}

static uint64_t context_hash(void) {
  void *bt[3 + CTX_FRAMES];
  int n = backtrace(bt, 3 + CTX_FRAMES);
  uint64_t h = 1469598103934665603ull;
  /* bt[0] is here, bt[1] check(), bt[2] the wrapper: the callers follow. */
  for (int i = 3; i < n; i++)
    h = (h ^ ((uintptr_t)bt[i] - (uintptr_t)&__executable_start)) * 1099511628211ull;
  return h ? h : 1;
}

static void note_context(struct site *s, unsigned long hit) {
  uint64_t h = context_hash();
  for (int i = 0; i < NCTX; i++) {
    uint64_t cur = atomic_load(&s->ctx[i]);
    if (cur == h) return;
    if (cur == 0) {
      uint64_t zero = 0;
      if (atomic_compare_exchange_strong(&s->ctx[i], &zero, h)) {
        atomic_store(&s->ctx_hit[i], hit);
        return;
      }
      if (zero == h) return;
    }
  }
}

static struct site *site_of(uintptr_t off, const char *fn) {
  uint32_t i = (uint32_t)((off * 0x9E3779B97F4A7C15ull) >> 40) % NSITES;
  for (int n = 0; n < NSITES; n++, i = (i + 1) % NSITES) {
    uintptr_t cur = atomic_load(&sites[i].off);
    if (cur == off) return &sites[i];
    if (cur == 0) {
      uintptr_t zero = 0;
      if (atomic_compare_exchange_strong(&sites[i].off, &zero, off)) {
        sites[i].fn = fn;
        return &sites[i];
      }
      if (zero == off) return &sites[i];
    }
  }
  return NULL; /* full: not expected (a library has far fewer sites) */
}

/* The error to inject at this call (0: none), after counting it. fn names
 * the function (for syscall: syscall_<what>). */
static int check(const char *fn, void *ret) {
  if (mode <= 0) return 0;
  uintptr_t off = (uintptr_t)ret - (uintptr_t)&__executable_start;
  struct site *s = site_of(off, fn);
  if (!s) return 0;
  unsigned long hit = atomic_fetch_add(&s->hits, 1) + 1;
  note_context(s, hit);
  if (mode == 2)
    for (int i = 0; i < 2; i++)
      if (off == target[i] && hit == target_hit[i]) {
        atomic_store(&fired[i], 1);
        return target_errno[i];
      }
  return 0;
}

#define RET __builtin_return_address(0)

int evqf_fired(void) { return atomic_load(&fired[0]) || atomic_load(&fired[1]); }

long evqf_live_allocations(void) { return atomic_load(&live_allocs); }

unsigned long evqf_hits(const char *fn) {
  unsigned long n = 0;
  for (int i = 0; i < NSITES; i++)
    if (atomic_load(&sites[i].off) && sites[i].fn && strcmp(sites[i].fn, fn) == 0)
      n += atomic_load(&sites[i].hits);
  return n;
}

int evqf_target_is(const char *fn) {
  if (mode != 2) return 0;
  for (int i = 0; i < NSITES; i++)
    if (atomic_load(&sites[i].off) == target[0])
      return sites[i].fn && strcmp(sites[i].fn, fn) == 0;
  return 0;
}

int evqf_mode(void) { return mode; }

void evqf_dump(void) { evqf_dump_to(out_path); }

/* A forked child writes its own: the calls it made after the fork (evq's
 * fork handler) are sites too. */
void evqf_dump_child(void) {
  if (mode <= 0 || !out_path) return;
  char path[512];
  snprintf(path, sizeof path, "%s.child.%ld", out_path, (long)getpid());
  evqf_dump_to(path);
}

void evqf_dump_to(const char *out) {
  if (mode <= 0 || !out) return;
  FILE *f = fopen(out, "w");
  if (!f) {
    perror(out);
    return;
  }
  for (int i = 0; i < NSITES; i++) {
    uintptr_t off = atomic_load(&sites[i].off);
    if (!off) continue;
    /* offset function hits first-hit-of-each-context... */
    fprintf(f, "0x%lx %s %lu", (unsigned long)off, sites[i].fn,
            atomic_load(&sites[i].hits));
    for (int c = 0; c < NCTX; c++)
      if (atomic_load(&sites[i].ctx[c]))
        fprintf(f, " %lu", atomic_load(&sites[i].ctx_hit[c]));
    fputc('\n', f);
  }
  if (mode == 2)
    fprintf(f, "fired %d %d\n", atomic_load(&fired[0]), atomic_load(&fired[1]));
  fclose(f);
}

/* ---- the wrappers ------------------------------------------------------- */

#define FAIL_WITH(e, value) \
  do {                      \
    errno = (e);            \
    return (value);         \
  } while (0)

void *evqf_malloc(size_t n) {
  if (check("malloc", RET)) FAIL_WITH(ENOMEM, NULL);
  void *p = malloc(n);
  if (p) atomic_fetch_add(&live_allocs, 1);
  return p;
}

void *evqf_calloc(size_t n, size_t size) {
  if (check("calloc", RET)) FAIL_WITH(ENOMEM, NULL);
  void *p = calloc(n, size);
  if (p) atomic_fetch_add(&live_allocs, 1);
  return p;
}

void *evqf_realloc(void *old, size_t n) {
  if (check("realloc", RET)) FAIL_WITH(ENOMEM, NULL);
  void *p = realloc(old, n);
  if (p && !old) atomic_fetch_add(&live_allocs, 1);
  return p;
}

void evqf_free(void *p) {
  if (p) atomic_fetch_sub(&live_allocs, 1);
  free(p);
}

/* Linux closes the descriptor even when close() reports an error. */
int evqf_close(int fd) {
  int e = check("close", RET);
  int r = close(fd);
  if (e) FAIL_WITH(e, -1);
  return r;
}

ssize_t evqf_read(int fd, void *buf, size_t n) {
  int e = check("read", RET);
  if (e) FAIL_WITH(e, -1);
  return read(fd, buf, n);
}

ssize_t evqf_write(int fd, const void *buf, size_t n) {
  int e = check("write", RET);
  if (e) FAIL_WITH(e, -1);
  return write(fd, buf, n);
}

int evqf_fcntl(int fd, int cmd, ...) {
  int e = check("fcntl", RET);
  if (e) FAIL_WITH(e, -1);
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl(fd, cmd, arg);
}

int evqf_pipe(int p[2]) {
  int e = check("pipe", RET);
  if (e) FAIL_WITH(e, -1);
  return pipe(p);
}

int evqf_pipe2(int p[2], int flags) {
  int e = check("pipe2", RET);
  if (e) FAIL_WITH(e, -1);
  return pipe2(p, flags);
}

int evqf_dup(int fd) {
  int e = check("dup", RET);
  if (e) FAIL_WITH(e, -1);
  return dup(fd);
}

int evqf_dup3(int fd, int to, int flags) {
  int e = check("dup3", RET);
  if (e) FAIL_WITH(e, -1);
  return dup3(fd, to, flags);
}

int evqf_open(const char *path, int flags, ...) {
  int e = check("open", RET);
  if (e) FAIL_WITH(e, -1);
  va_list ap;
  va_start(ap, flags);
  int perm = (flags & O_CREAT) ? va_arg(ap, int) : 0;
  va_end(ap);
  return open(path, flags, perm);
}

int evqf_fstat(int fd, struct stat *st) {
  int e = check("fstat", RET);
  if (e) FAIL_WITH(e, -1);
  return fstat(fd, st);
}

ssize_t evqf_readv(int fd, const struct iovec *iov, int n) {
  int e = check("readv", RET);
  if (e) FAIL_WITH(e, -1);
  return readv(fd, iov, n);
}

ssize_t evqf_writev(int fd, const struct iovec *iov, int n) {
  int e = check("writev", RET);
  if (e) FAIL_WITH(e, -1);
  return writev(fd, iov, n);
}

void *evqf_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  int e = check("mmap", RET);
  if (e) FAIL_WITH(e, MAP_FAILED);
  return mmap(addr, len, prot, flags, fd, off);
}

ssize_t evqf_sendto(int fd, const void *b, size_t n, int flags,
                    const struct sockaddr *to, socklen_t tl) {
  int e = check("sendto", RET);
  if (e) FAIL_WITH(e, -1);
  return sendto(fd, b, n, flags, to, tl);
}

ssize_t evqf_recvfrom(int fd, void *b, size_t n, int flags,
                      struct sockaddr *from, socklen_t *fl) {
  int e = check("recvfrom", RET);
  if (e) FAIL_WITH(e, -1);
  return recvfrom(fd, b, n, flags, from, fl);
}

int evqf_recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags,
                  struct timespec *t) {
  int e = check("recvmmsg", RET);
  if (e) FAIL_WITH(e, -1);
  return recvmmsg(fd, m, n, flags, t);
}

int evqf_ioctl(int fd, unsigned long req, ...) {
  int e = check("ioctl", RET);
  if (e) FAIL_WITH(e, -1);
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return ioctl(fd, req, arg);
}

int evqf_poll(struct pollfd *p, nfds_t n, int ms) {
  int e = check("poll", RET);
  if (e) FAIL_WITH(e, -1);
  return poll(p, n, ms);
}

int evqf_epoll_create1(int flags) {
  int e = check("epoll_create1", RET);
  if (e) FAIL_WITH(e, -1);
  return epoll_create1(flags);
}

int evqf_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) {
  int e = check("epoll_ctl", RET);
  if (e) FAIL_WITH(e, -1);
  return epoll_ctl(ep, op, fd, ev);
}

int evqf_epoll_wait(int ep, struct epoll_event *ev, int n, int ms) {
  int e = check("epoll_wait", RET);
  if (e) FAIL_WITH(e, -1);
  return epoll_wait(ep, ev, n, ms);
}

int evqf_eventfd(unsigned int v, int flags) {
  int e = check("eventfd", RET);
  if (e) FAIL_WITH(e, -1);
  return eventfd(v, flags);
}

int evqf_socket(int d, int t, int p) {
  int e = check("socket", RET);
  if (e) FAIL_WITH(e, -1);
  return socket(d, t, p);
}

int evqf_socketpair(int d, int t, int p, int sv[2]) {
  int e = check("socketpair", RET);
  if (e) FAIL_WITH(e, -1);
  return socketpair(d, t, p, sv);
}

int evqf_bind(int fd, const struct sockaddr *a, socklen_t l) {
  int e = check("bind", RET);
  if (e) FAIL_WITH(e, -1);
  return bind(fd, a, l);
}

int evqf_listen(int fd, int backlog) {
  int e = check("listen", RET);
  if (e) FAIL_WITH(e, -1);
  return listen(fd, backlog);
}

int evqf_connect(int fd, const struct sockaddr *a, socklen_t l) {
  int e = check("connect", RET);
  if (e) FAIL_WITH(e, -1);
  return connect(fd, a, l);
}

int evqf_accept4(int fd, struct sockaddr *a, socklen_t *l, int flags) {
  int e = check("accept4", RET);
  if (e) FAIL_WITH(e, -1);
  return accept4(fd, a, l, flags);
}

int evqf_accept(int fd, struct sockaddr *a, socklen_t *l) {
  int e = check("accept", RET);
  if (e) FAIL_WITH(e, -1);
  return accept(fd, a, l);
}

ssize_t evqf_send(int fd, const void *b, size_t n, int flags) {
  int e = check("send", RET);
  if (e) FAIL_WITH(e, -1);
  return send(fd, b, n, flags);
}

ssize_t evqf_recv(int fd, void *b, size_t n, int flags) {
  int e = check("recv", RET);
  if (e) FAIL_WITH(e, -1);
  return recv(fd, b, n, flags);
}

ssize_t evqf_sendmsg(int fd, const struct msghdr *m, int flags) {
  int e = check("sendmsg", RET);
  if (e) FAIL_WITH(e, -1);
  return sendmsg(fd, m, flags);
}

ssize_t evqf_recvmsg(int fd, struct msghdr *m, int flags) {
  int e = check("recvmsg", RET);
  if (e) FAIL_WITH(e, -1);
  return recvmsg(fd, m, flags);
}

int evqf_shutdown(int fd, int how) {
  int e = check("shutdown", RET);
  if (e) FAIL_WITH(e, -1);
  return shutdown(fd, how);
}

int evqf_setsockopt(int fd, int lvl, int opt, const void *v, socklen_t l) {
  int e = check("setsockopt", RET);
  if (e) FAIL_WITH(e, -1);
  return setsockopt(fd, lvl, opt, v, l);
}

int evqf_getsockopt(int fd, int lvl, int opt, void *v, socklen_t *l) {
  int e = check("getsockopt", RET);
  if (e) FAIL_WITH(e, -1);
  return getsockopt(fd, lvl, opt, v, l);
}

int evqf_getsockname(int fd, struct sockaddr *a, socklen_t *l) {
  int e = check("getsockname", RET);
  if (e) FAIL_WITH(e, -1);
  return getsockname(fd, a, l);
}

int evqf_getpeername(int fd, struct sockaddr *a, socklen_t *l) {
  int e = check("getpeername", RET);
  if (e) FAIL_WITH(e, -1);
  return getpeername(fd, a, l);
}

int evqf_getaddrinfo(const char *node, const char *svc,
                     const struct addrinfo *hints, struct addrinfo **res) {
  int e = check("getaddrinfo", RET);
  if (e) {
    if (e == EAI_SYSTEM) errno = EIO;
    return e;
  }
  return getaddrinfo(node, svc, hints, res);
}

int evqf_sigaction(int sig, const struct sigaction *sa, struct sigaction *old) {
  int e = check("sigaction", RET);
  if (e) FAIL_WITH(e, -1);
  return sigaction(sig, sa, old);
}

int evqf_waitid(idtype_t t, id_t id, siginfo_t *info, int options) {
  int e = check("waitid", RET);
  if (e) FAIL_WITH(e, -1);
  return waitid(t, id, info, options);
}

/* pthread_atfork returns the error rather than setting errno. */
int evqf_pthread_atfork(void (*prepare)(void), void (*parent)(void),
                        void (*child)(void)) {
  int e = check("pthread_atfork", RET);
  if (e) return e;
  return pthread_atfork(prepare, parent, child);
}

/* syscall(2): the site's function is named after the call it makes. */
long evqf_syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  const char *fn = "syscall_other";
#ifdef SYS_futex
  if (nr == SYS_futex)
    fn = (a[1] & ~FUTEX_PRIVATE_FLAG) == FUTEX_WAIT ? "syscall_futex_wait"
                                                    : "syscall_futex_wake";
#endif
#ifdef SYS_epoll_pwait2
  if (nr == SYS_epoll_pwait2) fn = "syscall_epoll_pwait2";
#endif
#ifdef SYS_pidfd_open
  if (nr == SYS_pidfd_open) fn = "syscall_pidfd_open";
#endif
#ifdef SYS_io_uring_setup
  if (nr == SYS_io_uring_setup) fn = "syscall_io_uring_setup";
  if (nr == SYS_io_uring_enter) fn = "syscall_io_uring_enter";
  if (nr == SYS_io_uring_register) fn = "syscall_io_uring_register";
#endif
  int e = check(fn, RET);
  if (e) FAIL_WITH(e, -1);
  return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
