/* Oneshot mode (docs/guide.md, "Oneshot"): one event, then silence until
 * evq_modify() re-arms the registration. Built and run by the suite
 * (guide.oneshot.<backend>). */
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

struct request {
  evq_fd_t fd;
  int handled;
};

/* guide:begin oneshot */
/* Oneshot: the event disarmed the registration, so no other event for this
 * descriptor can arrive while we work on it, on this thread or another.
 * Re-arm when ready for the next one (from any thread). */
static void on_request(evq_t *q, struct request *r) {
  char buf[512];
  while (evq_read(q, r->fd, buf, sizeof buf) > 0) {
    /* ...handle the request... */
  }
  r->handled++;
  evq_modify(q, r->fd, EVQ_READABLE, EVQ_ONESHOT, (uintptr_t)r);
}
/* guide:end oneshot */

static int wait_events(evq_t *q, struct request *r, int64_t timeout_ns) {
  evq_event_t ev[4];
  int n = evq_wait(q, ev, 4, timeout_ns);
  CHECK(n >= 0);
  for (int i = 0; i < n; i++) CHECK(ev[i].token == (uintptr_t)r);
  return n;
}

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  struct request r = {0};
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  r.fd = fds[0];
  CHECK(evq_register(q, r.fd, EVQ_READABLE, EVQ_ONESHOT, (uintptr_t)&r) == 0);
  CHECK(evq_write(q, fds[1], "a", 1) == 1);
  CHECK(wait_events(q, &r, 5000000000) == 1);
  /* Disarmed: more data, but no event until we re-arm. */
  CHECK(evq_write(q, fds[1], "b", 1) == 1);
  CHECK(wait_events(q, &r, 30000000) == 0);
  on_request(q, &r); /* reads "ab", re-arms */
  CHECK(r.handled == 1);
  CHECK(evq_write(q, fds[1], "c", 1) == 1);
  CHECK(wait_events(q, &r, 5000000000) == 1);
  on_request(q, &r);
  CHECK(r.handled == 2);
  CHECK(wait_events(q, &r, 30000000) == 0);
  CHECK(evq_deregister(q, r.fd) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  puts("oneshot: ok");
  return 0;
}
