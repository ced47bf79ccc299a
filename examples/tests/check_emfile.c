/* Test client for evq_echo run out of descriptors: run.sh starts it under
 * `ulimit -n 32`, so it can hold about 25 connections. Of 40, evq_accept
 * takes what it can; the connections beyond the limit are accepted and
 * closed at once by evq's spare descriptor (evq.h, "Accepting when out of
 * descriptors"), so their clients see them closed instead of waiting in
 * the backlog. Once descriptors are freed, new connections are served. */
#include "testlib.h"

#define CONNS 40
#define LATER 8

int main(int argc, char **argv) {
  int port = tl_port(argc, argv);
  int fds[CONNS], served[CONNS] = {0}, nserved = 0, nclosed = 0;
  char msg[CONNS][16];
  for (int i = 0; i < CONNS; i++) {
    fds[i] = tl_connect(port);
    snprintf(msg[i], sizeof msg[i], "probe %d\n", i);
    tl_send_str(fds[i], msg[i]);
  }
  /* Every connection gets an answer: its echo, or its close (a reset, as
   * the probe was unread). None is left hanging (SO_RCVTIMEO: 10 s). */
  for (int i = 0; i < CONNS; i++) {
    char buf[16];
    size_t want = strlen(msg[i]), len = 0;
    ssize_t r = 1;
    while (len < want && (r = tl_recv(fds[i], buf + len, want - len)) > 0)
      len += (size_t)r;
    if (len == want) {
      CHECK(memcmp(buf, msg[i], want) == 0, "connection %d: wrong echo", i);
      served[i] = 1;
      nserved++;
    } else {
      CHECK(len == 0 && (r == 0 || errno == ECONNRESET),
            "connection %d: neither echoed nor closed: %s", i,
            r < 0 ? strerror(errno) : "partial echo");
      nclosed++;
      close(fds[i]);
    }
  }
  printf("# %d of %d served, %d closed at once\n", nserved, CONNS, nclosed);
  CHECK(nserved > 0, "no connection served at all");
  CHECK(nclosed > 0, "all served: the descriptor limit was not reached");
  PASS("out of descriptors: connections beyond the limit are closed, not left waiting");
  for (int i = 0; i < CONNS; i++)
    if (served[i]) close(fds[i]);
  /* The server learns of those closes when it next reads them; give a new
   * connection a few tries. */
  for (int i = 0; i < LATER; i++) {
    int ok = 0;
    for (int attempt = 0; attempt < 50 && !ok; attempt++) {
      int fd = tl_connect(port);
      tl_send_str(fd, "later\n");
      char buf[8];
      size_t len = 0;
      ssize_t r = 1;
      while (len < 6 && (r = tl_recv(fd, buf + len, 6 - len)) > 0)
        len += (size_t)r;
      ok = len == 6 && memcmp(buf, "later\n", 6) == 0;
      if (ok) fds[i] = fd;
      else {
        close(fd);
        tl_sleep_ms(100);
      }
    }
    CHECK(ok, "a new connection was not served after descriptors were freed");
  }
  PASS("once descriptors are free, new connections are served");
  tl_hold_until_stopped(fds, LATER);
  return 0;
}
