/* Edge-triggered mode (docs/guide.md, "Edge"): one event per new
 * readiness; drain until EVQ_EAGAIN, and the next readiness is reported.
 * Built and run by the suite (guide.edge.<backend>). */
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

struct conn {
  evq_fd_t fd;
  size_t received;
  int closed;
};

/* guide:begin edge */
/* Edge mode: read until EVQ_EAGAIN. Stopping earlier (the buffer full, a
 * quota reached) is fine only if you come back to it yourself: no other
 * event is guaranteed until a read has returned would-block. */
static void on_readable(evq_t *q, struct conn *c) {
  char buf[4096];
  for (;;) {
    ptrdiff_t r = evq_read(q, c->fd, buf, sizeof buf);
    if (r > 0) {
      c->received += (size_t)r; /* ...use the data... */
    } else if (r == EVQ_EAGAIN) {
      return; /* drained: the next readiness will be reported */
    } else {
      c->closed = 1; /* 0: end of stream; < 0: an error such as reset */
      return;
    }
  }
}
/* guide:end edge */

static int wait_and_handle(evq_t *q, int64_t timeout_ns) {
  evq_event_t ev[8];
  int n = evq_wait(q, ev, 8, timeout_ns);
  CHECK(n >= 0);
  for (int i = 0; i < n; i++) /* writable: room to write, nothing to send */
    if (ev[i].flags & EVQ_READABLE) on_readable(q, (struct conn *)ev[i].token);
  return n;
}

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  struct conn c = {0};
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  c.fd = fds[0];
  /* guide:begin register */
  evq_register(q, c.fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE, (uintptr_t)&c);
  /* guide:end register */
  /* The socket is writable at once; edge mode reports that once. */
  char data[10000];
  memset(data, 'e', sizeof data);
  for (int round = 1; round <= 3; round++) {
    CHECK(evq_write(q, fds[1], data, sizeof data) == (ptrdiff_t)sizeof data);
    int64_t end = evq_now() + 5000000000;
    while (c.received < round * sizeof data && evq_now() < end)
      wait_and_handle(q, 100000000);
    CHECK(c.received == round * sizeof data);
  }
  /* Drained, and nothing new: no event (whatever the kernel's edges). */
  CHECK(wait_and_handle(q, 20000000) == 0);
  /* The peer closes: one more readiness, and the read says end of stream. */
  CHECK(evq_close(fds[1]) == 0);
  int64_t end = evq_now() + 5000000000;
  while (!c.closed && evq_now() < end) wait_and_handle(q, 100000000);
  CHECK(c.closed);
  CHECK(evq_deregister(q, c.fd) == 0);
  evq_close(c.fd);
  evq_free(q);
  printf("edge: %zu bytes\n", c.received);
  return 0;
}
