/* Level-triggered mode (docs/guide.md, "Level"): each event handles a
 * bounded slice, and the next wait reports the descriptor again while data
 * remains. Built and run by the suite (guide.level.<backend>). */
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

#define SLICE 16

/* guide:begin level */
/* Reads at most SLICE bytes per event, so one busy peer cannot hold the
 * loop; level mode reports the descriptor again while data remains. */
static size_t on_readable(evq_t *q, evq_fd_t fd) {
  char buf[SLICE];
  ptrdiff_t r = evq_read(q, fd, buf, sizeof buf);
  return r > 0 ? (size_t)r : 0; /* EVQ_EAGAIN: nothing after all */
}
/* guide:end level */

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  /* guide:begin register */
  evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, /*token=*/1);
  /* guide:end register */
  char data[100];
  memset(data, 'x', sizeof data);
  CHECK(evq_write(q, fds[1], data, sizeof data) == (ptrdiff_t)sizeof data);

  size_t total = 0;
  int events = 0;
  int64_t end = evq_now() + 5000000000;
  while (total < sizeof data && evq_now() < end) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, 100000000);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++) {
      CHECK(ev[i].token == 1 && (ev[i].flags & EVQ_READABLE));
      total += on_readable(q, fds[0]);
      events++;
    }
  }
  CHECK(total == sizeof data);
  /* 100 bytes, 16 at a time: level mode reported the rest 6 more times. */
  CHECK(events >= (int)((sizeof data + SLICE - 1) / SLICE));
  /* Drained: level mode reports nothing more. */
  evq_event_t ev[8];
  CHECK(evq_wait(q, ev, 8, 20000000) == 0);
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  printf("level: %zu bytes in %d events\n", total, events);
  return 0;
}
