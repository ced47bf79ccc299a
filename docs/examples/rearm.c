/* Edge mode with your own I/O calls (docs/guide.md, "Edge"): after your
 * recv() said it would block, evq_rearm() tells evq. Built and run by the
 * suite (guide.rearm.<backend>), on every OS. */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#ifdef _WIN32
#include <winsock2.h>
#else
#include <errno.h>
#include <sys/socket.h>
#endif
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

static size_t received;

/* guide:begin rearm */
/* Your own recv() in edge mode: when it says it would block, tell evq, or
 * the backends that emulate edges (poll, io_uring, IOCP) never report this
 * socket again. On epoll and kqueue the call costs nothing. */
static int would_block(void) {
#ifdef _WIN32
  return WSAGetLastError() == WSAEWOULDBLOCK;
#else
  return errno == EAGAIN || errno == EWOULDBLOCK;
#endif
}

static void drain_raw(evq_t *q, evq_fd_t fd) {
  char buf[4096];
  for (;;) {
    long r = (long)recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      received += (size_t)r;
      continue;
    }
    if (r < 0 && would_block()) evq_rearm(q, fd, EVQ_READABLE);
    return; /* 0: end of stream; another error: an error */
  }
}
/* guide:end rearm */

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  CHECK(evq_register(q, fds[0], EVQ_READABLE, EVQ_EDGE, 1) == 0);
  for (int round = 1; round <= 3; round++) {
    CHECK(evq_write(q, fds[1], "0123456789", 10) == 10);
    evq_event_t ev[4];
    int64_t end = evq_now() + 5000000000;
    while (received < (size_t)round * 10 && evq_now() < end) {
      int n = evq_wait(q, ev, 4, 100000000);
      CHECK(n >= 0);
      for (int i = 0; i < n; i++) drain_raw(q, fds[0]);
    }
    /* Without evq_rearm, round 2 would wait forever on poll. */
    CHECK(received == (size_t)round * 10);
  }
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  printf("rearm: %zu bytes on %s\n", received, evq_backend(q));
  evq_free(q);
  return 0;
}
