/* guide: POSIX only (SIGPIPE, write(2)).
 * SIGPIPE (docs/guide.md, "SIGPIPE"): evq_write() never raises it; your
 * own writes can. Built and run by the suite (guide.sigpipe.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

int main(void) {
  /* SIGPIPE keeps its default action, which ends the process. */
  CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
  evq_fd_t s[2];
  int p[2];
  CHECK(evq_socketpair(s) == 0);
  CHECK(pipe(p) == 0);
  CHECK(evq_close(s[1]) == 0);
  close(p[0]);
  /* evq_write: EVQ_EPIPE, on a socket and on a pipe, and no signal. */
  CHECK(evq_write(NULL, s[0], "x", 1) == EVQ_EPIPE);
  CHECK(evq_write(NULL, p[1], "x", 1) == EVQ_EPIPE);

  /* guide:begin ignore */
  /* Your own write(), send() or a library's: without this, writing to a
   * connection the peer closed ends the process. */
  signal(SIGPIPE, SIG_IGN);
  /* guide:end ignore */
  CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
  evq_close(s[0]);
  close(p[1]);
  puts("sigpipe: ok");
  return 0;
}
