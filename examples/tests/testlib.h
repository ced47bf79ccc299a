/*
 * Helpers for the example tests (POSIX). The clients use plain blocking
 * sockets with a receive timeout, not evq, so that the library under test
 * is not also the judge. Any unexpected result fails the test at once:
 * "FAIL file:line: what" on stderr, exit status 1.
 */
#ifndef EVQ_EXAMPLE_TESTLIB_H
#define EVQ_EXAMPLE_TESTLIB_H

#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                             \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
      fprintf(stderr, __VA_ARGS__);                                  \
      fputc('\n', stderr);                                           \
      exit(1);                                                       \
    }                                                                \
  } while (0)

#define PASS(what)                  \
  do {                              \
    printf("ok - %s\n", what);      \
    fflush(stdout);                 \
  } while (0)

#define TL_TIMEOUT_S 10

static inline int tl_port(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc == 2 ? atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    exit(2);
  }
  return port;
}

static inline void tl_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A blocking connection to 127.0.0.1:port; reads time out after
 * TL_TIMEOUT_S so that a server that hangs fails the test. */
static inline int tl_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
        "connect to port %d: %s", port, strerror(errno));
  struct timeval tv = {TL_TIMEOUT_S, 0};
  int one = 1;
  CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
        "setsockopt: %s", strerror(errno));
  return fd;
}

/* Sends everything or fails. */
static inline void tl_send(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    CHECK(w > 0, "send: %s", w < 0 ? strerror(errno) : "0 bytes");
    p += w;
    len -= (size_t)w;
  }
}

static inline void tl_send_str(int fd, const char *s) {
  tl_send(fd, s, strlen(s));
}

/* One read: the count, 0 at end of stream, -1 on error (errno set). */
static inline ssize_t tl_recv(int fd, void *buf, size_t cap) {
  ssize_t r;
  do r = recv(fd, buf, cap, 0);
  while (r < 0 && errno == EINTR);
  return r;
}

/* Makes bytes printable for a failure message (four may be in use in one
 * message: each call gets the next of four buffers). */
static inline const char *tl_show(const char *p, size_t n) {
  static char bufs[4][600];
  static unsigned next;
  char *out = bufs[next++ % 4];
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < sizeof bufs[0]; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '\r') o += (size_t)snprintf(out + o, 8, "\\r");
    else if (c == '\n') o += (size_t)snprintf(out + o, 8, "\\n");
    else if (c < 32 || c > 126) o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  if (o + 8 >= sizeof bufs[0]) o += (size_t)snprintf(out + o, 8, "...");
  out[o] = '\0';
  return out;
}

/* Reads until buf holds needle (returns the length read so far, which
 * may run past it) or the stream ends (fails). */
static inline size_t tl_read_until(int fd, char *buf, size_t cap,
                                   const char *needle) {
  size_t len = 0;
  while (!memmem(buf, len, needle, strlen(needle))) {
    CHECK(len < cap, "no '%s' in the first %zu bytes: %s", tl_show(needle,
          strlen(needle)), len, tl_show(buf, len));
    ssize_t r = tl_recv(fd, buf + len, cap - len);
    CHECK(r > 0, "waiting for '%s': %s after '%s'",
          tl_show(needle, strlen(needle)),
          r == 0 ? "end of stream" : strerror(errno), tl_show(buf, len));
    len += (size_t)r;
  }
  return len;
}

/* Reads exactly n bytes and requires them to equal want[0..n). */
static inline void tl_expect_n(int fd, const char *want, size_t n) {
  size_t len = 0;
  char *got = malloc(n + 1);
  CHECK(got != NULL, "out of memory");
  while (len < n) {
    ssize_t r = tl_recv(fd, got + len, n - len);
    CHECK(r > 0, "expected '%s', got %s after '%s'", tl_show(want, n),
          r == 0 ? "end of stream" : strerror(errno), tl_show(got, len));
    len += (size_t)r;
  }
  if (memcmp(got, want, n) != 0) {
    fprintf(stderr, "got      '%s'\n", tl_show(got, n));
    CHECK(0, "expected '%s'", tl_show(want, n));
  }
  free(got);
}

static inline void tl_expect(int fd, const char *want) {
  tl_expect_n(fd, want, strlen(want));
}

/* Requires the peer to close: no further byte, then end of stream (a reset
 * also counts as closed when allow_reset). */
static inline void tl_expect_eof(int fd, int allow_reset) {
  char c;
  ssize_t r = tl_recv(fd, &c, 1);
  if (r < 0 && allow_reset && errno == ECONNRESET) return;
  CHECK(r == 0, "expected end of stream, got %s",
        r > 0 ? tl_show(&c, 1) : strerror(errno));
}

/* Reads and discards until end of stream; returns how many bytes came. */
static inline size_t tl_drain(int fd) {
  char buf[4096];
  size_t total = 0;
  for (;;) {
    ssize_t r = tl_recv(fd, buf, sizeof buf);
    if (r == 0) return total;
    CHECK(r > 0, "drain: %s", strerror(errno));
    total += (size_t)r;
  }
}

/* Closes with a TCP reset instead of a FIN: the rudest way to leave. */
static inline void tl_reset(int fd) {
  struct linger lg = {1, 0};
  CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0,
        "SO_LINGER: %s", strerror(errno));
  close(fd);
}

/* The last step of a test: fds[0..n), connections the server has served
 * (-1 entries skipped), stay open while run.sh stops the server (HOLDING
 * tells it when); the server must close them all. Bytes still on their way
 * are read and ignored. */
static inline void tl_hold_until_stopped(const int *fds, int n) {
  printf("HOLDING\n");
  fflush(stdout);
  struct timeval tv = {60, 0};
  for (int i = 0; i < n; i++) {
    if (fds[i] < 0) continue;
    CHECK(setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0,
          "SO_RCVTIMEO: %s", strerror(errno));
    tl_drain(fds[i]);
    close(fds[i]);
  }
  PASS("stopping the server closes the connections it still has");
}

#endif
