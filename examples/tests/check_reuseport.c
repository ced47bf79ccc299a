/* Test client for evq_reuseport, started by run.sh with the server's port.
 * The server runs with --threads 2 --max-conns 40 (per thread). run.sh
 * then checks the per-thread counts the server prints at exit. */
#include "testlib.h"

#define THREADS 2
#define MAX_CONNS 40

/* A connection that echoes a probe, or -1 if the server closed it (the
 * thread the kernel chose for it was full). */
static int try_open(int port, int i) {
  int fd = tl_connect(port);
  char msg[32], buf[32];
  int n = snprintf(msg, sizeof msg, "connection %d\n", i);
  size_t len = 0;
  if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) == n) {
    while (len < (size_t)n) {
      ssize_t r = tl_recv(fd, buf + len, (size_t)n - len);
      if (r == 0 || (r < 0 && errno == ECONNRESET)) break;
      CHECK(r > 0, "probe: %s", strerror(errno));
      len += (size_t)r;
    }
  }
  if (len < (size_t)n) {
    close(fd);
    return -1;
  }
  CHECK(memcmp(msg, buf, (size_t)n) == 0, "echoed '%s'", tl_show(buf, len));
  return fd;
}

int main(int argc, char **argv) {
  int port = tl_port(argc, argv);

  /* As many connections as one thread takes, all open at once: each is
   * served, whichever thread the kernel gave it to. */
  int fds[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; i++) {
    fds[i] = try_open(port, i);
    CHECK(fds[i] >= 0, "connection %d refused", i);
  }
  for (int i = 0; i < MAX_CONNS; i++) {  /* and still served, in any order */
    char msg[32];
    snprintf(msg, sizeof msg, "again %d\n", i);
    tl_send_str(fds[MAX_CONNS - 1 - i], msg);
    tl_expect(fds[MAX_CONNS - 1 - i], msg);
  }
  tl_send_str(fds[0], "bye");
  CHECK(shutdown(fds[0], SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect(fds[0], "bye");
  tl_expect_eof(fds[0], 0);
  for (int i = 0; i < MAX_CONNS; i++) close(fds[i]);
  PASS("40 concurrent connections echoed; half-close honoured");

  /* The cap is per thread: of 100 more, at most THREADS * MAX_CONNS are
   * kept, the rest closed at once. */
  enum { MORE = 100 };
  int more[MORE], accepted = 0;
  for (int i = 0; i < MORE; i++) {
    more[i] = try_open(port, i);
    accepted += more[i] >= 0;
  }
  printf("# %d of %d accepted\n", accepted, MORE);
  CHECK(accepted <= THREADS * MAX_CONNS, "%d accepted past %d threads x %d",
        accepted, THREADS, MAX_CONNS);
  CHECK(accepted >= 1, "none accepted");
  PASS("connections past --max-conns per thread are closed");
  tl_hold_until_stopped(more, MORE); /* on both threads */
  return 0;
}
