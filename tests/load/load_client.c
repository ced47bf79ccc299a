/*
 * load_client: the load generator of the load tests (docs/reliability.md).
 * Linux only, and independent of evq on purpose: it uses epoll directly,
 * so a defect in evq cannot hide itself on both ends.
 *
 *   load_client --server "COMMAND ARGS" --conns N [--procs P] [--bytes B]
 *               [--soak SECONDS]
 *
 * Starts the server (load_server, or the Windows one under wine), reads
 * its port, and forks P worker processes (each has its own descriptor
 * table: a process may hold at most 20,000 here). Then:
 *  1. every worker opens its share of the N connections and holds them;
 *  2. once the server reports all N open at the same time, every
 *     connection sends a header and B bytes of its stream, in chunks of
 *     random size, and reads the echo; client and server check every byte;
 *  3. then each connection half-closes, the server closes, and the server
 *     reports how many connections completed and how many bytes it checked.
 * The test passes if N connections were open at once, all N completed, and
 * not one byte was lost or corrupted on either side. If a limit stops it
 * (descriptors, ports, memory) it fails and says which and where: it never
 * runs fewer connections than asked.
 *
 * --soak SECONDS: instead, every worker opens, exchanges and closes its
 * connections over and over until the time is up; then the server is told
 * to stop and must report no error, and every byte must have been checked.
 */
#define _GNU_SOURCE
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* LOAD_PATIENCE multiplies every deadline (under wine, wineserver's
 * handling of socket events grows with the square of the sockets). */
static int64_t patience = 1;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a worker: its share of the connections ------------------------------ */

typedef struct {
  int fd;
  int state; /* 0 connecting, 1 connected, 2 exchanging, 3 verified,
                4 half-closed, 5 closed */
  uint64_t seed, total, sent, got;
  uint8_t hdr_sent;
} wconn_t;

static int to_parent = -1;

__attribute__((format(printf, 1, 2))) static void tell(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  if (write(to_parent, line, (size_t)n) < 0) _exit(3);
}

__attribute__((format(printf, 1, 2), noreturn)) static void wfail(const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tell("failed %s", msg);
  _exit(1);
}

/* Waits for a command line from the parent. */
static void await(int from_parent, const char *cmd) {
  char buf[64];
  size_t n = 0;
  while (n < sizeof buf - 1) {
    ssize_t r = read(from_parent, buf + n, 1);
    if (r <= 0) _exit(2); /* the parent is gone */
    if (buf[n] == '\n') break;
    n++;
  }
  buf[n] = 0;
  if (strcmp(buf, cmd) != 0) wfail("expected '%s' from the parent, got '%s'", cmd, buf);
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

/* Opens n connections (at most 256 connecting at a time); returns them
 * connected, or fails saying what stopped it and after how many. */
static wconn_t *connect_all(int ep, int port, int n, uint64_t seed_base,
                            uint64_t bytes, int64_t deadline) {
  wconn_t *c = calloc((size_t)n, sizeof *c);
  if (!c) wfail("out of memory for %d connections", n);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int started = 0, done = 0, inflight = 0;
  struct epoll_event evs[256];
  while (done < n) {
    while (started < n && inflight < 256) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0)
        wfail("socket: %s after %d connections%s", strerror(errno), started,
              errno == EMFILE ? " (the per-process descriptor limit)" : "");
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        wfail("connect: %s after %d connections%s", strerror(errno), started,
              errno == EADDRNOTAVAIL ? " (out of local ports)" : "");
      c[started] = (wconn_t){.fd = fd, .seed = seed_base + (uint64_t)started,
                             .total = bytes};
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)started};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) wfail("epoll_ctl: %s", strerror(errno));
      started++;
      inflight++;
    }
    int k = epoll_wait(ep, evs, 256, 1000);
    if (k < 0 && errno != EINTR) wfail("epoll_wait: %s", strerror(errno));
    if (now_ms() > deadline)
      wfail("only %d of %d connections established in time", done, n);
    for (int i = 0; i < k; i++) {
      wconn_t *w = &c[evs[i].data.u32];
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) wfail("connect: %s after %d connections", strerror(err), done);
      struct epoll_event ev = {.events = 0, .data.u32 = evs[i].data.u32};
      epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &ev);
      w->state = 1;
      done++;
      inflight--;
    }
  }
  return c;
}

/* Sends each connection's header and stream, checks every echoed byte. */
static uint64_t exchange(int ep, wconn_t *c, int n, int64_t deadline) {
  for (int i = 0; i < n; i++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c[i].fd, &ev) != 0) wfail("epoll_ctl: %s", strerror(errno));
    c[i].state = 2;
  }
  int verified = 0;
  uint64_t total = 0;
  static uint8_t buf[65536];
  struct epoll_event evs[512];
  while (verified < n) {
    int k = epoll_wait(ep, evs, 512, 1000);
    if (k < 0 && errno != EINTR) wfail("epoll_wait: %s", strerror(errno));
    if (now_ms() > deadline) wfail("only %d of %d connections echoed everything in time", verified, n);
    for (int i = 0; i < k; i++) {
      wconn_t *w = &c[evs[i].data.u32];
      if (w->state != 2) continue;
      /* Send: the header, then the stream in chunks of 1 to 4096 bytes. */
      while (w->hdr_sent < sizeof(load_header_t) || w->sent < w->total) {
        ssize_t r;
        if (w->hdr_sent < sizeof(load_header_t)) {
          load_header_t h = {.magic = LOAD_MAGIC, .seed = w->seed, .total = w->total};
          r = send(w->fd, (uint8_t *)&h + w->hdr_sent, sizeof h - w->hdr_sent, MSG_NOSIGNAL);
          if (r > 0) w->hdr_sent = (uint8_t)(w->hdr_sent + r);
        } else {
          size_t chunk = 1 + rnd() % 4096;
          if (chunk > w->total - w->sent) chunk = (size_t)(w->total - w->sent);
          load_fill(w->seed, w->sent, buf, chunk);
          r = send(w->fd, buf, chunk, MSG_NOSIGNAL);
          if (r > 0) w->sent += (uint64_t)r;
        }
        if (r < 0 && errno == EAGAIN) break;
        if (r < 0) wfail("send on connection %llu: %s", (unsigned long long)w->seed, strerror(errno));
      }
      /* Receive the echo and check it. */
      for (;;) {
        ssize_t r = recv(w->fd, buf, sizeof buf, 0);
        if (r > 0) {
          if (w->got + (uint64_t)r > w->total)
            wfail("connection %llu: %llu bytes echoed, %llu sent", (unsigned long long)w->seed,
                  (unsigned long long)(w->got + (uint64_t)r), (unsigned long long)w->total);
          size_t bad = load_check(w->seed, w->got, buf, (size_t)r);
          if (bad != (size_t)r)
            wfail("connection %llu: echoed byte %llu corrupted", (unsigned long long)w->seed,
                  (unsigned long long)(w->got + bad));
          w->got += (uint64_t)r;
          continue;
        }
        if (r == 0) wfail("connection %llu closed by the server after %llu of %llu bytes",
                          (unsigned long long)w->seed, (unsigned long long)w->got,
                          (unsigned long long)w->total);
        if (errno == EAGAIN) break;
        wfail("recv on connection %llu: %s", (unsigned long long)w->seed, strerror(errno));
      }
      if (w->got == w->total && w->sent == w->total) {
        w->state = 3;
        verified++;
        total += w->total;
      }
    }
  }
  return total;
}

/* Half-closes every connection, waits for the server's end of stream,
 * closes. */
static void close_all(int ep, wconn_t *c, int n, int64_t deadline) {
  for (int i = 0; i < n; i++) {
    if (shutdown(c[i].fd, SHUT_WR) != 0) wfail("shutdown: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_MOD, c[i].fd, &ev);
    c[i].state = 4;
  }
  int closed = 0;
  struct epoll_event evs[512];
  char b[64];
  while (closed < n) {
    int k = epoll_wait(ep, evs, 512, 1000);
    if (k < 0 && errno != EINTR) wfail("epoll_wait: %s", strerror(errno));
    if (now_ms() > deadline) wfail("the server closed only %d of %d connections in time", closed, n);
    for (int i = 0; i < k; i++) {
      wconn_t *w = &c[evs[i].data.u32];
      if (w->state != 4) continue;
      ssize_t r = recv(w->fd, b, sizeof b, 0);
      if (r > 0) wfail("data after the echo on connection %llu", (unsigned long long)w->seed);
      if (r < 0 && errno == EAGAIN) continue;
      if (r < 0) wfail("recv at close: %s", strerror(errno));
      close(w->fd);
      w->state = 5;
      closed++;
    }
  }
}

static void worker(int id, int port, int n, uint64_t bytes, int from_parent,
                   int soak_s) {
  rng_state = (uint64_t)id * 7919 + 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) wfail("epoll_create1: %s", strerror(errno));
  uint64_t seed_base = (uint64_t)(id + 1) << 40;
  if (soak_s) {
    int64_t end = now_ms() + (int64_t)soak_s * 1000;
    uint64_t total = 0, conns = 0, rounds = 0;
    while (now_ms() < end) {
      wconn_t *c = connect_all(ep, port, n, seed_base, bytes, now_ms() + 120000 * patience);
      total += exchange(ep, c, n, now_ms() + 120000 * patience);
      close_all(ep, c, n, now_ms() + 120000 * patience);
      free(c);
      conns += (uint64_t)n;
      rounds++;
      seed_base += (uint64_t)n;
    }
    tell("soaked %llu %llu %llu", (unsigned long long)conns,
         (unsigned long long)total, (unsigned long long)rounds);
    _exit(0);
  }
  wconn_t *c = connect_all(ep, port, n, seed_base, bytes, now_ms() + 180000 * patience);
  tell("connected %d", n);
  await(from_parent, "go");
  uint64_t total = exchange(ep, c, n, now_ms() + 300000 * patience);
  tell("verified %d %llu", n, (unsigned long long)total);
  await(from_parent, "close");
  close_all(ep, c, n, now_ms() + 120000 * patience);
  tell("closed %d", n);
  _exit(0);
}

/* ---- the parent ----------------------------------------------------------- */

static pid_t server_pid;
static FILE *server_out;

static void stop_everything(void) {
  if (server_pid > 0) kill(server_pid, SIGKILL);
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("load: FAILED: ");
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  stop_everything();
  exit(1);
}

/* A line from the server (echoed to our output); NULL at its end. */
static char *server_line(char *buf, size_t len) {
  if (!fgets(buf, (int)len, server_out)) return NULL;
  printf("  %s", buf);
  fflush(stdout);
  return buf;
}

typedef struct {
  pid_t pid;
  int to, from;
  int n;
  FILE *in;
} wk_t;

static char *worker_line(wk_t *w, char *buf, size_t len) {
  if (!fgets(buf, (int)len, w->in)) return NULL;
  buf[strcspn(buf, "\n")] = 0;
  return buf;
}

int main(int argc, char **argv) {
  const char *server = NULL;
  int conns = 0, procs = 4, soak = 0;
  uint64_t bytes = 16384;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--server") == 0) server = argv[i + 1];
    else if (strcmp(argv[i], "--conns") == 0) conns = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--procs") == 0) procs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--bytes") == 0) bytes = strtoull(argv[i + 1], NULL, 0);
    else if (strcmp(argv[i], "--soak") == 0) soak = atoi(argv[i + 1]);
  }
  if (!server || conns <= 0 || procs <= 0 || procs > conns) {
    fprintf(stderr, "usage: %s --server \"CMD ARGS\" --conns N [--procs P] [--bytes B] [--soak S]\n",
            argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they happen */
  const char *pat = getenv("LOAD_PATIENCE");
  if (pat && atoi(pat) > 0) patience = atoi(pat);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  printf("load: %d connections over %d client processes (descriptor limit %llu each), "
         "%llu bytes each way per connection%s\n",
         conns, procs, (unsigned long long)rl.rlim_cur, (unsigned long long)bytes,
         soak ? ", soak" : "");
  if (!soak && (rlim_t)(conns / procs + 64) > rl.rlim_cur)
    fail("%d connections per client process need more than the %llu descriptors a "
         "process may open: use more --procs",
         conns / procs, (unsigned long long)rl.rlim_cur);

  /* The server, its standard output piped to us. */
  int sp[2];
  if (pipe2(sp, O_CLOEXEC) != 0) fail("pipe: %s", strerror(errno));
  server_pid = fork();
  if (server_pid < 0) fail("fork: %s", strerror(errno));
  if (server_pid == 0) {
    dup2(sp[1], 1);
    char *args[64];
    int na = 0;
    char *copy = strdup(server);
    for (char *t = strtok(copy, " "); t && na < 63; t = strtok(NULL, " ")) args[na++] = t;
    args[na] = NULL;
    execvp(args[0], args);
    printf("exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(sp[1]);
  server_out = fdopen(sp[0], "r");
  char line[512];
  int port = 0;
  while (server_line(line, sizeof line))
    if (sscanf(line, "listening on %d", &port) == 1) break;
  if (port <= 0) fail("the server did not start");

  wk_t *w = calloc((size_t)procs, sizeof *w);
  for (int i = 0; i < procs; i++) {
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) fail("pipe: %s", strerror(errno));
    w[i].n = conns / procs + (i < conns % procs);
    w[i].pid = fork();
    if (w[i].pid < 0) fail("fork: %s", strerror(errno));
    if (w[i].pid == 0) {
      fclose(server_out);
      close(down[1]);
      close(up[0]);
      for (int j = 0; j < i; j++) {
        close(w[j].to);
        fclose(w[j].in);
      }
      to_parent = up[1];
      worker(i, port, w[i].n, bytes, down[0], soak);
    }
    close(down[0]);
    close(up[1]);
    w[i].to = down[1];
    w[i].in = fdopen(up[0], "r");
  }
  int64_t t0 = now_ms();

  if (soak) {
    uint64_t total = 0, cn = 0, rounds = 0;
    for (int i = 0; i < procs; i++) {
      unsigned long long a, b, c;
      if (!worker_line(&w[i], line, sizeof line)) fail("client %d ended early", i);
      if (sscanf(line, "soaked %llu %llu %llu", &a, &b, &c) != 3) fail("client %d: %s", i, line);
      cn += a;
      total += b;
      rounds += c;
    }
    /* Tell the server to stop: a connection with a STOP header. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    load_header_t h = {.magic = LOAD_STOP};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || send(fd, &h, sizeof h, 0) != sizeof h)
      fail("could not reach the server to stop it: %s", strerror(errno));
    long accepted = -1, peak = -1, completed = -1, errs = -1;
    unsigned long long sb = 0;
    while (server_line(line, sizeof line))
      if (strstr(line, ": accepted ")) {
        sscanf(strstr(line, ": accepted "), ": accepted %ld, peak %ld open, completed %ld, %llu bytes verified and echoed, %ld errors",
               &accepted, &peak, &completed, &sb, &errs);
        break;
      }
    int st;
    waitpid(server_pid, &st, 0);
    server_pid = 0;
    close(fd);
    if (errs != 0 || completed != (long)cn || sb != total)
      fail("soak: the clients completed %llu connections and checked %llu bytes; the server "
           "completed %ld and checked %llu, with %ld errors",
           (unsigned long long)cn, (unsigned long long)total, completed, sb, errs);
    printf("load: soak of %.0f s: %llu connections in %llu rounds of %d, %llu bytes each way, "
           "every byte checked by both ends: 0 lost, 0 corrupted, 0 errors\n",
           (now_ms() - t0) / 1000.0, (unsigned long long)cn, (unsigned long long)rounds,
           conns, (unsigned long long)total);
    free(w);
    return 0;
  }

  /* 1. Every connection open. */
  for (int i = 0; i < procs; i++) {
    if (!worker_line(&w[i], line, sizeof line)) fail("client %d ended early", i);
    if (strncmp(line, "connected ", 10) != 0) fail("client %d: %s", i, line);
  }
  printf("load: %d connections established by the clients in %.1f s\n", conns,
         (now_ms() - t0) / 1000.0);
  /* The server must hold all of them at the same time. */
  int open = 0;
  while (!open && server_line(line, sizeof line))
    if (sscanf(line, "open %d", &open) == 1 && open != conns)
      fail("the server reports %d open", open);
  if (open != conns) fail("the server stopped before holding %d connections", conns);
  /* 2. Exchange. */
  for (int i = 0; i < procs; i++)
    if (write(w[i].to, "go\n", 3) != 3) fail("client %d is gone", i);
  uint64_t total = 0;
  for (int i = 0; i < procs; i++) {
    unsigned long long b;
    int n;
    if (!worker_line(&w[i], line, sizeof line)) fail("client %d ended early", i);
    if (sscanf(line, "verified %d %llu", &n, &b) != 2) fail("client %d: %s", i, line);
    total += b;
  }
  printf("load: %llu bytes sent and echoed through %d open connections in %.1f s, every byte "
         "checked by both ends\n",
         (unsigned long long)total, conns, (now_ms() - t0) / 1000.0);
  /* 3. Close; the server reports. */
  for (int i = 0; i < procs; i++)
    if (write(w[i].to, "close\n", 6) != 6) fail("client %d is gone", i);
  for (int i = 0; i < procs; i++) {
    if (!worker_line(&w[i], line, sizeof line)) fail("client %d ended early", i);
    if (strncmp(line, "closed ", 7) != 0) fail("client %d: %s", i, line);
    int st;
    waitpid(w[i].pid, &st, 0);
  }
  long accepted = -1, peak = -1, completed = -1, errs = -1;
  unsigned long long sb = 0;
  while (server_line(line, sizeof line))
    if (strstr(line, ": accepted ")) {
      sscanf(strstr(line, ": accepted "), ": accepted %ld, peak %ld open, completed %ld, %llu bytes verified and echoed, %ld errors",
             &accepted, &peak, &completed, &sb, &errs);
      break;
    }
  int st = 0;
  waitpid(server_pid, &st, 0);
  server_pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("the server exited with status %d", st);
  if (accepted != conns || peak != conns || completed != conns || errs != 0 || sb != total)
    fail("the server accepted %ld, held %ld at once, completed %ld, checked %llu bytes with %ld "
         "errors; expected %d, %d, %d, %llu and 0",
         accepted, peak, completed, sb, errs, conns, conns, conns, (unsigned long long)total);
  printf("load: %d connections held at once through evq, %llu bytes each way checked by both "
         "ends: 0 lost, 0 corrupted (%.1f s)\n",
         conns, (unsigned long long)total, (now_ms() - t0) / 1000.0);
  free(w);
  return 0;
}
