/*
 * The client for the guide's tutorial servers (docs/examples/step1_echo.c,
 * step5_shutdown.c), run by examples/tests/run_signal.sh:
 *
 *   check_steps MODE PORT PID
 *
 *   echo      a short echo; then a 64 MiB payload sent without reading
 *             until the client's writes block, which they must before all
 *             of it is sent (the server stopped reading: back-pressure,
 *             not an ever-growing buffer), then sent and read back at once,
 *             every byte checked in order (partial writes lose nothing);
 *             then SIGTERM with a connection still open, which the server
 *             must close
 *   drain     step 5: after SIGTERM new connections are refused and an
 *             open one is still served until the client closes it
 *   deadline  step 5: after SIGTERM a connection the client keeps open is
 *             closed by the server at its deadline (500 ms), not before
 *
 * Plain blocking sockets with timeouts (examples/tests/testlib.h), not
 * evq, so that the library under test is not also the judge.
 */
#include "../../examples/tests/testlib.h"

#include <fcntl.h>

#define PAYLOAD ((size_t)64 << 20)

static unsigned char pattern(size_t i) {
  return (unsigned char)(i * 7 + (i >> 13));
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the pattern from *sent on, as much as the socket takes now. */
static void write_some(int fd, size_t *sent) {
  unsigned char buf[65536];
  size_t n = PAYLOAD - *sent < sizeof buf ? PAYLOAD - *sent : sizeof buf;
  for (size_t i = 0; i < n; i++) buf[i] = pattern(*sent + i);
  ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
  if (w < 0 && (errno == EAGAIN || errno == EINTR)) return;
  CHECK(w > 0, "send after %zu bytes: %s", *sent, strerror(errno));
  *sent += (size_t)w;
}

/* Reads what is there and checks it against the pattern. */
static void read_some(int fd, size_t *got) {
  unsigned char buf[65536];
  ssize_t r = recv(fd, buf, sizeof buf, 0);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  CHECK(r > 0, "recv after %zu of %zu bytes: %s", *got, PAYLOAD,
        r == 0 ? "end of stream" : strerror(errno));
  for (ssize_t i = 0; i < r; i++)
    CHECK(buf[i] == pattern(*got + (size_t)i), "byte %zu differs",
          *got + (size_t)i);
  *got += (size_t)r;
}

static void back_pressure(int port) {
  int fd = tl_connect(port);
  CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK: %s", strerror(errno));
  size_t sent = 0, got = 0;
  /* Without reading: the writes must block (for 300 ms) before the end. */
  for (;;) {
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, 300) == 0) break;
    write_some(fd, &sent);
    CHECK(sent < PAYLOAD, "all %zu bytes went out without the client "
          "reading: the server does not push back", PAYLOAD);
  }
  printf("ok - writes blocked after %zu bytes: back-pressure\n", sent);
  int64_t end = now_ms() + 20000;
  while (got < PAYLOAD) {
    struct pollfd p = {fd, (short)(POLLIN | (sent < PAYLOAD ? POLLOUT : 0)), 0};
    CHECK(now_ms() < end, "only %zu of %zu bytes back after 20 s (%zu sent)",
          got, PAYLOAD, sent);
    CHECK(poll(&p, 1, 1000) >= 0, "poll: %s", strerror(errno));
    if (p.revents & POLLOUT) write_some(fd, &sent);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) read_some(fd, &got);
  }
  printf("ok - %zu bytes echoed, each in order\n", got);
  CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  CHECK(fcntl(fd, F_SETFL, 0) == 0, "blocking again: %s", strerror(errno));
  tl_expect_eof(fd, 0);
  close(fd);
}

/* Connecting fails with ECONNREFUSED within 10 s (the listener is closed). */
static void expect_refused(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 1000; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc != 0 && err == ECONNREFUSED) return;
    tl_sleep_ms(10);
  }
  CHECK(0, "connections still accepted 10 s after SIGTERM");
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  CHECK(argc == 4, "usage: check_steps echo|drain|deadline PORT PID");
  const char *mode = argv[1];
  int port = atoi(argv[2]);
  pid_t pid = (pid_t)atoi(argv[3]);
  int a = tl_connect(port);
  tl_send_str(a, "hello\n");
  tl_expect(a, "hello\n");
  PASS("a short echo");
  if (strcmp(mode, "echo") == 0) {
    back_pressure(port);
    CHECK(kill(pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    tl_expect_eof(a, 1);
    PASS("SIGTERM: the server closed the open connection");
  } else if (strcmp(mode, "drain") == 0) {
    CHECK(kill(pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    expect_refused(port);
    PASS("SIGTERM: new connections refused");
    tl_send_str(a, "still there?\n");
    tl_expect(a, "still there?\n");
    PASS("the open connection is still served");
    close(a);
  } else if (strcmp(mode, "deadline") == 0) {
    int64_t start = now_ms();
    CHECK(kill(pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    tl_expect_eof(a, 1);
    /* docs/CMakeLists.txt gives the server a deadline of 500 ms. */
    CHECK(now_ms() - start >= 500, "closed after %lld ms, before the deadline",
          (long long)(now_ms() - start));
    PASS("the server closed the open connection at its deadline");
  } else {
    CHECK(0, "unknown mode %s", mode);
  }
  return 0;
}
