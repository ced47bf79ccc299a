/* Test client for evq_shutdown, started by run_signal.sh as
 *
 *   check_shutdown MODE PORT PID
 *
 * (the MODE first, given in CMakeLists.txt; run_signal.sh adds PORT and
 * PID). The client signals the server itself, at the moment the test needs.
 *
 *   drain     SIGTERM with one idle and four busy connections: the idle one
 *             is closed at once, new connections are refused, the busy ones
 *             are still served until their lines end (one over 200 KB),
 *             then closed; one that resets mid-line is simply gone.
 *   deadline  SIGINT, server run with --drain-ms DRAIN_MS: a client that
 *             never ends its line and one that never reads are cut at the
 *             deadline (not before it), one that ends its line is not.
 *   twice     SIGTERM then SIGINT during a long drain: the busy connection
 *             is closed at once, not at the deadline.
 *
 * What the server prints and its exit status are checked by the script. */
#include "testlib.h"

#include <fcntl.h>

#define DRAIN_MS 1000 /* the deadline mode's --drain-ms */

static int port;
static pid_t server;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A connection the server has accepted and read: first is echoed back. */
static int open_with(const char *first) {
  int fd = tl_connect(port);
  tl_send_str(fd, first);
  tl_expect(fd, first);
  return fd;
}

static void send_signal(int signo, const char *name) {
  CHECK(kill(server, signo) == 0, "kill %s: %s", name, strerror(errno));
  printf("# sent %s\n", name);
  fflush(stdout);
}

static void expect_refused(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  CHECK(rc != 0 && errno == ECONNREFUSED,
        "connect after the signal: %s, expected refused",
        rc == 0 ? "accepted" : strerror(errno));
  close(fd);
}

/* Fills the connection without reading until the server stops reading it
 * too (its writes back are blocked): the server then holds echo it cannot
 * send, so this connection stays busy. */
static void flood_until_blocked(int fd) {
  static char chunk[65536];
  memset(chunk, 'f', sizeof chunk);
  CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0,
        "fcntl: %s", strerror(errno));
  size_t sent = 0;
  for (;;) {
    ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
    if (w > 0) {
      sent += (size_t)w;
      CHECK(sent < (64u << 20), "server kept reading past 64 MiB unread");
      continue;
    }
    CHECK(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "flood send: %s", strerror(errno));
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 500) == 0) break; /* blocked for 0.5 s: pushed back */
  }
  CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0,
        "fcntl: %s", strerror(errno));
  printf("# flood blocked after %zu bytes\n", sent);
}

/* Reads (and discards) until the server ends the connection, by a close
 * or, having unread input, by a reset. */
static void expect_ended(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = tl_recv(fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return;
    CHECK(r > 0, "waiting for the server to end the connection: %s",
          strerror(errno));
  }
}

/* Sends n bytes of c and requires them echoed (n fits in the loopback
 * buffers, so sending all before reading cannot deadlock). */
static void echo_run(int fd, char c, size_t n) {
  char *buf = malloc(n);
  CHECK(buf != NULL, "out of memory");
  memset(buf, c, n);
  tl_send(fd, buf, n);
  tl_expect_n(fd, buf, n);
  free(buf);
}

static void drain(void) {
  int idle = open_with("hello\n");
  int busy1 = open_with("partial");
  int busy2 = open_with("one\ntwo");
  int long_line = tl_connect(port); /* a line longer than the buffer */
  echo_run(long_line, 'x', 100000);
  int rude = open_with("interrupted");
  send_signal(SIGTERM, "SIGTERM");

  tl_expect_eof(idle, 0);
  close(idle);
  PASS("an idle connection is closed at once");
  expect_refused();
  PASS("new connections are refused once the drain began");
  tl_reset(rude); /* gone mid-line: the drain must not wait for it */

  /* Still served: more of the line, without its end, is echoed. */
  tl_send_str(busy1, " more");
  tl_expect(busy1, " more");
  tl_send_str(busy1, " end\n");
  tl_expect(busy1, " end\n");
  tl_expect_eof(busy1, 0);
  close(busy1);
  tl_send_str(busy2, " three\n");
  tl_expect(busy2, " three\n");
  tl_expect_eof(busy2, 0);
  close(busy2);
  echo_run(long_line, 'y', 100000);
  tl_send_str(long_line, "\n");
  tl_expect(long_line, "\n");
  tl_expect_eof(long_line, 0);
  close(long_line);
  PASS("busy connections finish their line, get its echo, then the close");
}

static void deadline(void) {
  int idle = open_with("a\n");
  int stuck = open_with("no end of line");
  int finishes = open_with("e");
  int flood = tl_connect(port);
  flood_until_blocked(flood);

  double t0 = now_ms();
  send_signal(SIGINT, "SIGINT");
  tl_expect_eof(idle, 0);
  close(idle);
  expect_refused();
  tl_send_str(finishes, "nd\n");
  tl_expect(finishes, "nd\n");
  tl_expect_eof(finishes, 0);
  close(finishes);
  PASS("during the drain a line that ends is echoed and its connection "
       "closed");

  tl_expect_eof(stuck, 0);
  double t = now_ms() - t0;
  close(stuck);
  printf("# the unfinished line was cut %.0f ms after the signal\n", t);
  CHECK(t >= DRAIN_MS, "cut after %.0f ms, before --drain-ms %d", t,
        DRAIN_MS);
  expect_ended(flood);
  close(flood);
  PASS("an unfinished line and an unread echo are cut at the deadline, "
       "not before");
}

static void twice(void) {
  int idle = open_with("x\n");
  int busy = open_with("no end of line");
  send_signal(SIGTERM, "SIGTERM");
  tl_expect_eof(idle, 0); /* the drain has begun */
  close(idle);

  double t0 = now_ms();
  send_signal(SIGINT, "SIGINT");
  tl_expect_eof(busy, 0); /* the deadline is 30 s; the recv timeout 10 s */
  printf("# closed %.0f ms after the second signal\n", now_ms() - t0);
  close(busy);
  PASS("a second signal during the drain closes everything at once");
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc != 4) {
    fprintf(stderr, "usage: check_shutdown drain|deadline|twice PORT PID\n");
    return 2;
  }
  port = atoi(argv[2]);
  server = (pid_t)atoi(argv[3]);
  CHECK(port > 0 && port <= 65535 && server > 0, "bad PORT or PID");
  if (strcmp(argv[1], "drain") == 0) drain();
  else if (strcmp(argv[1], "deadline") == 0) deadline();
  else if (strcmp(argv[1], "twice") == 0) twice();
  else CHECK(0, "unknown mode %s", argv[1]);
  return 0;
}
