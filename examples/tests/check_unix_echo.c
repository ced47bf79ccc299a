/* Test client for evq_unix_echo, started by run.sh with the socket's path
 * (the server printed "listening on PATH"): echoes on several connections
 * at once, a large transfer, a half-close that still gets every byte
 * back, and the path refused to a second server while the first lives.
 * Ends holding a connection the server must close when it stops. */
#include "testlib.h"

#include <sys/un.h>

static int unix_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(fd >= 0, "socket: %s", strerror(errno));
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  CHECK(strlen(path) < sizeof sa.sun_path, "path too long");
  strcpy(sa.sun_path, path);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
        "connect to %s: %s", path, strerror(errno));
  struct timeval tv = {TL_TIMEOUT_S, 0};
  CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0,
        "SO_RCVTIMEO: %s", strerror(errno));
  return fd;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  CHECK(argc == 2 && argv[1][0] == '/', "usage: %s PATH", argv[0]);
  const char *path = argv[1];

  int fds[3];
  for (int i = 0; i < 3; i++) fds[i] = unix_connect(path);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 3; i++) {
      char msg[32];
      snprintf(msg, sizeof msg, "conn %d round %d\n", i, round);
      tl_send_str(fds[i], msg);
      tl_expect(fds[i], msg);
    }
  PASS("three connections at once, each echoed");

  /* 1 MB while reading: more than the socket buffers hold. */
  enum { BIG = 1 << 20 };
  static char out[BIG], in[BIG];
  for (size_t i = 0; i < BIG; i++) out[i] = (char)(i * 13 + i / 4093);
  size_t sent = 0, got = 0;
  while (got < BIG) {
    if (sent < BIG) {
      ssize_t w = send(fds[0], out + sent, BIG - sent < 65536 ? BIG - sent
                       : 65536, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0) sent += (size_t)w;
      else CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s",
                 strerror(errno));
    }
    ssize_t r = recv(fds[0], in + got, BIG - got, MSG_DONTWAIT);
    if (r > 0) got += (size_t)r;
    else if (r == 0) CHECK(0, "end of stream after %zu bytes", got);
    else if (errno == EAGAIN || errno == EWOULDBLOCK) tl_sleep_ms(1);
    else CHECK(0, "recv: %s", strerror(errno));
  }
  CHECK(memcmp(out, in, BIG) == 0, "1 MB came back changed");
  PASS("1 MB echoed intact");

  /* Half-close: every byte still comes back, then end of stream. */
  tl_send(fds[1], out, 100000);
  CHECK(shutdown(fds[1], SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect_n(fds[1], out, 100000);
  tl_expect_eof(fds[1], 0);
  close(fds[1]);
  PASS("after a half-close every byte comes back, then end of stream");

  /* While the server lives, its path cannot be taken by another. */
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  CHECK(bind(other, (struct sockaddr *)&sa, sizeof sa) != 0 &&
            errno == EADDRINUSE,
        "a second bind to %s did not fail with EADDRINUSE", path);
  close(other);
  PASS("the path is the server's while it runs");

  close(fds[0]);
  int hold[1] = {fds[2]};
  tl_hold_until_stopped(hold, 1);
  return 0;
}
