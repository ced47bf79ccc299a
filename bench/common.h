/*
 * bench/common.h: the tiny harness every benchmark program shares.
 *
 * Each program is one library doing one benchmark. Arguments are key=value
 * pairs (n=1000 active=100 ...); results are printed one line per
 * measurement as space-separated key=value pairs starting with
 * "bench=<name> lib=<lib>", which bench/run.py parses. Nothing here depends
 * on the library under test. It is C, and compiles as C++ too (the Asio
 * servers include it).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef LIB
#error "define LIB before including common.h"
#endif

/* Callgrind client requests: no-ops (a few instructions) outside valgrind.
 * run.py starts callgrind with --collect-atstart=no, so only what lies
 * between BENCH_CG_BEGIN and BENCH_CG_END is counted; BENCH_CG_DUMP writes
 * the counts gathered so far under a name and zeroes them. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_CG_BEGIN() CALLGRIND_TOGGLE_COLLECT
#define BENCH_CG_END() CALLGRIND_TOGGLE_COLLECT
#define BENCH_CG_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#endif
#endif
#ifndef BENCH_CG_BEGIN
#define BENCH_CG_BEGIN() ((void)0)
#define BENCH_CG_NO_VALGRIND 1
#define BENCH_CG_END() ((void)0)
#define BENCH_CG_DUMP(name) ((void)0)
#endif

/* valgrind 3.19 lets a signal in only during a system call it knows may
 * block, which io_uring_enter is not to it. A server whose only system
 * call is io_uring_enter (raw io_uring, evq's native operations) calls
 * this at each new connection: under valgrind a zero nanosleep lets in the
 * SIGTERM run.py sends before its last connection (servers.Server.stop),
 * so that callgrind writes its profile. Nothing outside valgrind, and
 * connections are few in keep-alive. */
static inline void bench_let_signals_in(void) {
#ifndef BENCH_CG_NO_VALGRIND
  if (RUNNING_ON_VALGRIND) {
    struct timespec zero = {0, 0};
    nanosleep(&zero, NULL);
  }
#endif
}

static inline int64_t bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time (user + system) of the whole process, nanoseconds. */
static inline int64_t bench_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static inline void bench_die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", LIB, what, strerror(errno));
  exit(1);
}

static inline void bench_check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "%s: check failed: %s\n", LIB, what);
    exit(1);
  }
}

/* key=value arguments. */
static int bench_argc;
static char **bench_argv;

static inline void bench_args(int argc, char **argv) {
  bench_argc = argc;
  bench_argv = argv;
  for (int i = 1; i < argc; i++)
    if (!strchr(argv[i], '=')) {
      fprintf(stderr, "%s: arguments are key=value, got '%s'\n", LIB, argv[i]);
      exit(2);
    }
}

static inline long bench_arg(const char *key, long def) {
  size_t k = strlen(key);
  for (int i = 1; i < bench_argc; i++)
    if (!strncmp(bench_argv[i], key, k) && bench_argv[i][k] == '=')
      return strtol(bench_argv[i] + k + 1, NULL, 0);
  return def;
}

/* Raises the soft descriptor limit to the hard one. */
static inline long bench_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return (long)rl.rlim_cur;
}

/* Deterministic pseudo-random numbers (xorshift64*): every library draws
 * the same sequence. */
static uint64_t bench_rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t bench_rand(void) {
  uint64_t x = bench_rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  bench_rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static inline void bench_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) bench_die("fcntl");
}

static inline void bench_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A non-blocking listening socket on 127.0.0.1:port (0: any port). */
static inline int bench_listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) bench_die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) bench_die("bind");
  if (listen(fd, 1024) < 0) bench_die("listen");
  return fd;
}

static inline int bench_local_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) bench_die("getsockname");
  return ntohs(a.sin_port);
}

/* Servers print "port=N" once they listen; run.py waits for that line. */
static inline void bench_announce_port(int port) {
  printf("port=%d\n", port);
  fflush(stdout);
}

/* ---- HTTP: the request handling every http server shares ------------- */

static const char bench_http_response[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: bench\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";
#define BENCH_HTTP_RESPONSE_LEN (sizeof bench_http_response - 1)
#define BENCH_HTTP_MAX_PIPELINE 64

/* Counts the requests that end in buf (a request ends at "\r\n\r\n"); *st
 * carries the matcher state from one read to the next, so a request split
 * across reads is still seen once. */
static inline int bench_http_requests(unsigned char *st, const char *buf,
                                      size_t n) {
  int reqs = 0;
  unsigned s = *st;
  for (size_t i = 0; i < n; i++) {
    char c = buf[i];
    if (c == '\r')
      s = (s == 2) ? 3 : 1;
    else if (c == '\n' && (s == 1 || s == 3)) {
      if (s == 3) {
        reqs++;
        s = 0;
      } else
        s = 2;
    } else
      s = 0;
  }
  *st = (unsigned char)s;
  return reqs;
}

/* Fills out with reqs responses and returns the byte count. */
static inline size_t bench_http_fill(char *out, int reqs) {
  if (reqs > BENCH_HTTP_MAX_PIPELINE) reqs = BENCH_HTTP_MAX_PIPELINE;
  for (int i = 0; i < reqs; i++)
    memcpy(out + (size_t)i * BENCH_HTTP_RESPONSE_LEN, bench_http_response,
           BENCH_HTTP_RESPONSE_LEN);
  return (size_t)reqs * BENCH_HTTP_RESPONSE_LEN;
}
#define BENCH_HTTP_OUT_MAX (BENCH_HTTP_MAX_PIPELINE * BENCH_HTTP_RESPONSE_LEN)

/* ---- pipes: parameters and the schedule every library shares ---------- */

typedef struct bench_pipes {
  int npairs, nactive, nwrites, timeouts, rounds;
  int *fds;          /* 2 * npairs: fds[2i] is read, fds[2i+1] written */
  int64_t *tmo_ns;   /* per-pair timeout, 10 s + [0, 1) s */
  /* per round: bytes read, bytes written, writes left, and what went wrong */
  long count, fired, writes, failures, timeouts_fired;
} bench_pipes_t;

static inline void bench_pipes_setup(bench_pipes_t *p, int argc, char **argv) {
  bench_args(argc, argv);
  p->npairs = (int)bench_arg("n", 1000);
  p->nactive = (int)bench_arg("active", 100);
  p->nwrites = (int)bench_arg("writes", 100000);
  p->timeouts = (int)bench_arg("timeouts", 0);
  p->rounds = (int)bench_arg("rounds", 2);
  if (p->nactive > p->npairs) p->nactive = p->npairs;
  if (p->nactive < 1 || p->rounds < 1) {
    fprintf(stderr, "%s: bad parameters\n", LIB);
    exit(2);
  }
  long lim = bench_fd_limit();
  if (2L * p->npairs + 64 > lim) {
    fprintf(stderr, "%s: n=%d needs %d descriptors, the limit is %ld\n", LIB,
            p->npairs, 2 * p->npairs + 64, lim);
    exit(3);
  }
  p->fds = (int *)malloc(sizeof(int) * 2 * (size_t)p->npairs);
  p->tmo_ns = (int64_t *)malloc(sizeof(int64_t) * (size_t)p->npairs);
  if (!p->fds || !p->tmo_ns) bench_die("malloc");
  for (int i = 0; i < p->npairs; i++) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, &p->fds[2 * i]) < 0)
      bench_die("socketpair");
    bench_nonblock(p->fds[2 * i]);
    bench_nonblock(p->fds[2 * i + 1]);
    p->tmo_ns[i] = 10000000000ll + (int64_t)(bench_rand() % 1000000000ull);
  }
}

/* Setup time covers the registrations and the first non-blocking loop
 * iteration after them, where libev and libuv make their epoll_ctl calls.
 * The seed writes: nactive pairs, spread evenly, get one byte each. */
static inline long bench_pipes_seed(const bench_pipes_t *p) {
  int space = p->npairs / p->nactive;
  for (int i = 0; i < p->nactive; i++)
    if (write(p->fds[2 * (i * space) + 1], "e", 1) != 1) bench_die("write");
  return p->nactive;
}

/* Ends a callgrind phase of round r and dumps it as "<what>-<r>". */
static inline void bench_cg_phase(const char *what, int r) {
  BENCH_CG_END();
#ifndef BENCH_CG_NO_VALGRIND
  char name[32];
  snprintf(name, sizeof name, "%s-%d", what, r);
  BENCH_CG_DUMP(name);
#else
  (void)what;
  (void)r;
#endif
}

/* The work every library does when pair idx is readable, written once so
 * that it is the same work: read its byte and, while writes remain, write
 * one to the next pair. */
static inline void bench_pipes_on_read(bench_pipes_t *p, int idx) {
  unsigned char ch;
  ssize_t n = read(p->fds[2 * idx], &ch, 1);
  if (n >= 0) p->count += n; else p->failures++;
  if (p->writes) {
    int next = idx + 1 < p->npairs ? idx + 1 : idx + 1 - p->npairs;
    if (write(p->fds[2 * next + 1], "e", 1) != 1) p->failures++;
    p->writes--;
    p->fired++;
  }
}

static inline void bench_pipes_report(const bench_pipes_t *p, int round,
                                      int64_t setup_ns, int64_t run_ns,
                                      long events, long iterations,
                                      long failures, long timeouts_fired) {
  printf("bench=pipes lib=%s n=%d active=%d writes=%d timeouts=%d round=%d "
         "setup_ns=%lld run_ns=%lld events=%ld iterations=%ld failures=%ld "
         "timeouts_fired=%ld\n",
         LIB, p->npairs, p->nactive, p->nwrites, p->timeouts, round,
         (long long)setup_ns, (long long)run_ns, events, iterations, failures,
         timeouts_fired);
  fflush(stdout);
  if (failures || timeouts_fired) exit(1);
}

/* The measured part of round r, after setup: seed the active pairs, run
 * the library's non-blocking loop until every byte written has been read,
 * and report. */
static inline void bench_pipes_run(bench_pipes_t *p, int r, int64_t setup_ns,
                                   void (*loop_once)(void)) {
  p->fired = bench_pipes_seed(p);
  p->count = 0;
  p->writes = p->nwrites;
  long iters = 0;
  BENCH_CG_BEGIN();
  int64_t t0 = bench_now();
  do {
    loop_once();
    iters++;
  } while (p->count != p->fired);
  int64_t t1 = bench_now();
  bench_cg_phase("run", r);
  bench_pipes_report(p, r, setup_ns, t1 - t0, p->count, iters, p->failures,
                     p->timeouts_fired);
}

#endif
