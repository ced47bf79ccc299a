/* A program outside evq, built against an installed (or vendored) copy by
 * tests/packaging/consumer.sh, debian.sh and dist.sh: it must compile with
 * the installed headers alone (evq_io.h, which includes evq_net.h and
 * evq.h), link, and see the library it was compiled for. */
#include <evq_io.h>

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
  evq_deregister(q, fds[0]);

  /* A completion operation (evq_io.h): a send on the other end. */
  if (evq_io_path(q, EVQ_IO_SEND) < EVQ_PATH_EMULATED)
    return FAIL("evq_io_path: %d\n", evq_io_path(q, EVQ_IO_SEND));
  evq_op_t op;
  evq_op_init(&op);
  rc = evq_op_send(q, &op, fds[1], "y", 1, 7);
  if (rc != 0) return FAIL("evq_op_send: %s\n", evq_strerror(rc));
  for (int i = 0; i < 3 && evq_op_active(&op); i++) {
    n = evq_wait(q, ev, 4, 5000 * (int64_t)1000000);
    for (int j = 0; j < n; j++)
      if (ev[j].token == 7 &&
          (!(ev[j].flags & EVQ_OP) || evq_op_result(&ev[j]) != 1))
        return FAIL("the send completed with flags %#x, result %d\n",
                    (unsigned)ev[j].flags, (int)evq_op_result(&ev[j]));
  }
  if (evq_op_active(&op)) return FAIL("the send did not complete\n");
  rc = evq_io_release(q, fds[1]);
  if (rc != 0) return FAIL("evq_io_release: %s\n", evq_strerror(rc));

  printf("consumer: evq %s, backend %s: ok\n", evq_version_string(),
         evq_backend(q));
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  return 0;
}
