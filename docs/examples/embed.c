/* guide: POSIX only (a poll(2) host loop).
 * Embedding (docs/guide.md, "Embedding evq in another loop"): a host loop
 * that has its own poll() watches the queue's descriptor and sleeps no
 * longer than its next timer. Built and run by the suite
 * (guide.embed.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#include <limits.h>
#include <poll.h>
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

/* The suite's libkqueue builds define it: kqueue there has no descriptor
 * to nest either (evq.h, evq_fd). */
#ifndef GUIDE_LIBKQUEUE
#define GUIDE_LIBKQUEUE 0
#endif

enum { SOCKET_TOKEN = 1, TIMER_TOKEN = 2 };
static int socket_events, timer_events;

static void handle(evq_t *q, const evq_event_t *ev) {
  (void)q;
  if (ev->token == SOCKET_TOKEN) socket_events++;
  if (ev->token == TIMER_TOKEN) timer_events++;
}

/* guide:begin host */
/* One round of a host loop that owns poll(2) and nests an evq queue: watch
 * the queue's descriptor, sleep no longer than its next timer, and collect
 * with a wait that does not block. */
static void host_round(evq_t *q, evq_fd_t qfd) {
  struct pollfd pfd = {.fd = qfd, .events = POLLIN};
  int64_t ns = evq_next_timeout(q); /* EVQ_FOREVER: no timer */
  int64_t ms = ns < 0 ? -1 : (ns + 999999) / 1000000; /* round up */
  poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms); /* ...and the host's */
  evq_event_t ev[64];
  int n = evq_wait(q, ev, 64, 0);
  for (int i = 0; i < n; i++) handle(q, &ev[i]);
}
/* guide:end host */

int main(void) {
  evq_t *q;
  CHECK(evq_create(&q, NULL) == 0);
  /* guide:begin fd */
  evq_fd_t qfd;
  int rc = evq_fd(q, &qfd);
  if (rc == EVQ_ENOTSUP) {
    /* poll and iocp have no such descriptor: run evq_wait on a thread
     * of its own instead, or pick epoll, io_uring or kqueue */
  }
  /* guide:end fd */
  if (rc == EVQ_ENOTSUP) { /* documented for these only (evq.h) */
    const char *name = evq_backend(q);
    CHECK(strcmp(name, "poll") == 0 || strcmp(name, "iocp") == 0 ||
          (GUIDE_LIBKQUEUE && strcmp(name, "kqueue") == 0));
    printf("embed: %s has no descriptor to nest (EVQ_ENOTSUP)\n", name);
    evq_free(q);
    return 0;
  }
  CHECK(rc == 0);
  evq_fd_t fds[2];
  evq_timer_t t;
  CHECK(evq_socketpair(fds) == 0);
  CHECK(evq_register(q, fds[0], EVQ_READABLE, EVQ_EDGE, SOCKET_TOKEN) == 0);
  evq_timer_init(&t);
  /* Read before the start: the promise is "not before 20 ms after the
   * call", and a clock read after it (a thread descheduled in between)
   * would make a timer on time look early. */
  int64_t start = evq_now(), end = start + 5000 * (int64_t)1000000;
  CHECK(evq_timer_start(q, &t, 20 * (int64_t)1000000, 0, TIMER_TOKEN) == 0);
  CHECK(evq_write(q, fds[1], "x", 1) == 1);
  while ((socket_events < 1 || timer_events < 1) && evq_now() < end)
    host_round(q, qfd);
  CHECK(socket_events == 1 && timer_events == 1);
  CHECK(evq_now() - start >= 20 * (int64_t)1000000); /* the timer, not early */
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  puts("embed: ok");
  return 0;
}
