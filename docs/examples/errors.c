/* Error handling (docs/guide.md, "Errors"): negative EVQ_E* codes, the
 * same on every OS, named by evq_strerror() and evq_errname(). Built and
 * run by the suite (guide.errors.<backend>). */
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

static char last_message[128];

/* guide:begin watch */
/* Registration errors name what is wrong with the call; a failed call
 * changed nothing, so the caller decides what to do. */
static int watch(evq_t *q, evq_fd_t fd, uintptr_t token) {
  int rc = evq_register(q, fd, EVQ_READABLE, EVQ_EDGE, token);
  if (rc == EVQ_EEXIST) /* already watched: update it instead */
    rc = evq_modify(q, fd, EVQ_READABLE, EVQ_EDGE, token);
  if (rc < 0)
    snprintf(last_message, sizeof last_message, "watch: %s",
             evq_strerror(rc)); /* "watch: EVQ_EBADF: bad descriptor" */
  return rc;
}
/* guide:end watch */

/* guide:begin io */
/* I/O results: a count, 0 at end of stream, or a code. EVQ_EAGAIN is not
 * a failure; the codes a peer can cause end the connection. */
static int pump(evq_t *q, evq_fd_t fd) {
  char buf[1024];
  for (;;) {
    ptrdiff_t r = evq_read(q, fd, buf, sizeof buf);
    if (r > 0) continue;               /* ...use buf... */
    if (r == EVQ_EAGAIN) return 0;     /* wait for the next event */
    if (r == 0) return 1;              /* end of stream: close */
    if (r == EVQ_ECONNRESET) return 1; /* the peer reset: close */
    fprintf(stderr, "read: %s\n", evq_errname((int)r));
    return 1; /* anything else: close too, and log it */
  }
}
/* guide:end io */

/* guide:begin xmacro */
/* EVQ_ERRNO_MAP lists every code once; expand it to build tables of your
 * own that follow evq's, such as a binding's constants. */
#define NAME_AND_VALUE(name, value, text) {"EVQ_" #name, value},
static const struct {
  const char *name;
  int value;
} evq_codes[] = {EVQ_ERRNO_MAP(NAME_AND_VALUE)};
#undef NAME_AND_VALUE
/* guide:end xmacro */

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  CHECK(watch(q, fds[0], 1) == 0);
  CHECK(watch(q, fds[0], 2) == 0); /* EVQ_EEXIST turned into a modify */
  CHECK(watch(q, EVQ_INVALID_FD, 3) == EVQ_EBADF);
  CHECK(strcmp(last_message, "watch: EVQ_EBADF: bad descriptor") == 0);
  CHECK(strcmp(evq_errname(EVQ_EEXIST), "EVQ_EEXIST") == 0);
  CHECK(strcmp(evq_strerror(12345), "EVQ_E?: unknown error") == 0);
  /* A failed call changed nothing: the registration still has token 2. */
  CHECK(evq_write(q, fds[1], "hi", 2) == 2);
  evq_event_t ev[4];
  CHECK(evq_wait(q, ev, 4, 5000000000) == 1 && ev[0].token == 2);
  CHECK(pump(q, fds[0]) == 0); /* read "hi", then EVQ_EAGAIN */
  CHECK(evq_close(fds[1]) == 0);
  CHECK(evq_wait(q, ev, 4, 5000000000) == 1);
  CHECK(pump(q, fds[0]) == 1); /* end of stream */
  /* The table of codes: every entry named and valued as the enum says. */
  size_t count = sizeof evq_codes / sizeof evq_codes[0];
  CHECK(count >= 17);
  CHECK(strcmp(evq_errname(-(int)count - 1), "EVQ_E?") == 0); /* all of them */
  for (size_t i = 0; i < count; i++) {
    CHECK(evq_codes[i].value == -(int)(i + 1));
    CHECK(strcmp(evq_errname(evq_codes[i].value), evq_codes[i].name) == 0);
  }
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_free(q);
  puts("errors: ok");
  return 0;
}
