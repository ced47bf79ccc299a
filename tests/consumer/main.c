/* A program outside evq, built against an installed (or vendored) copy by
 * tests/consumer/run.sh: it must compile with the installed header alone,
 * link, and see the library it was compiled for. */
#include <evq_net.h>

#include <stdio.h>
#include <string.h>

#define FAIL(...) (fprintf(stderr, "consumer: " __VA_ARGS__), 1)

int main(void) {
  if (evq_version() != EVQ_VERSION_HEX)
    return FAIL("library is %#x, header %#x\n", evq_version(),
                (unsigned)EVQ_VERSION_HEX);
  if (strcmp(evq_version_string(), EVQ_VERSION_STRING) != 0)
    return FAIL("library is %s, header %s\n", evq_version_string(),
                EVQ_VERSION_STRING);

  evq_t *q;
  evq_fd_t fds[2];
  if (evq_create(&q, NULL) != 0 || evq_socketpair(fds) != 0)
    return FAIL("cannot create a queue and a socket pair\n");
  int rc = evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, 99);
  if (rc != 0) return FAIL("register: %s\n", evq_strerror(rc));
  if (evq_write(q, fds[1], "x", 1) != 1) return FAIL("write failed\n");
  evq_event_t ev[4];
  int n = evq_wait(q, ev, 4, 5000 * (int64_t)1000000);
  if (n != 1 || ev[0].token != 99 || !(ev[0].flags & EVQ_READABLE))
    return FAIL("expected one readable event for token 99, got %d\n", n);
  printf("consumer: evq %s, backend %s: ok\n", evq_version_string(),
         evq_backend(q));
  evq_deregister(q, fds[0]);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  return 0;
}
