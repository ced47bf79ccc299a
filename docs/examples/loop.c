/* The guide's first loop (docs/guide.md, "Concepts"): one queue, a token
 * that points at the caller's own state, and a batch of events per wait.
 * Built and run by the suite (guide.loop.<backend>). */
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

/* guide:begin loop */
struct conn {
  evq_fd_t fd;
  size_t received;
  int eof;
};

/* One round of an event loop: wait, then handle every event of the batch.
 * The token is a pointer to the connection's own state. */
static int loop_once(evq_t *q, int64_t timeout_ns) {
  evq_event_t ev[64];
  int n = evq_wait(q, ev, 64, timeout_ns);
  if (n < 0) return n; /* an EVQ_E* code */
  for (int i = 0; i < n; i++) {
    struct conn *c = (struct conn *)ev[i].token;
    if (ev[i].flags & EVQ_READABLE) {
      char buf[4096];
      ptrdiff_t r;
      while ((r = evq_read(q, c->fd, buf, sizeof buf)) > 0)
        c->received += (size_t)r;
      if (r == 0) c->eof = 1; /* the peer closed: end of stream */
    }
  }
  return n;
}
/* guide:end loop */

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  /* guide:begin register */
  struct conn *c = calloc(1, sizeof *c);
  if (!c) return 1;
  c->fd = fds[0];
  int rc = evq_register(q, c->fd, EVQ_READABLE, EVQ_EDGE, (uintptr_t)c);
  /* guide:end register */
  CHECK(rc == 0);
  CHECK(evq_write(q, fds[1], "hello", 5) == 5);
  int64_t end = evq_now() + 5000000000;
  while (c->received < 5 && evq_now() < end)
    CHECK(loop_once(q, 100000000) >= 0);
  CHECK(c->received == 5);
  CHECK(!c->eof);
  /* The peer closes: the next event ends the stream. */
  CHECK(evq_close(fds[1]) == 0);
  while (!c->eof && evq_now() < end) CHECK(loop_once(q, 100000000) >= 0);
  CHECK(c->eof);
  CHECK(evq_deregister(q, c->fd) == 0);
  CHECK(evq_close(c->fd) == 0);
  free(c);
  evq_free(q);
  puts("loop: ok");
  return 0;
}
