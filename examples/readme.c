/* The README's usage example, compiled and run by the test suite. */
#include <evq_net.h>
#include <stdio.h>

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  if (evq_create(&q, NULL) != 0 || evq_socketpair(fds) != 0) return 1;
  evq_register(q, fds[0], EVQ_READABLE, EVQ_EDGE, /*token=*/42);

  evq_timer_t tick;
  evq_timer_init(&tick);
  evq_timer_start(q, &tick, 10 * 1000000, 0, /*token=*/7); /* 10 ms */

  evq_write(q, fds[1], "hello", 5);
  int seen = 0;
  while (seen < 2) {
    evq_event_t ev[16];
    int n = evq_wait(q, ev, 16, EVQ_FOREVER);
    if (n < 0) return fprintf(stderr, "%s\n", evq_strerror(n)), 1;
    for (int i = 0; i < n; i++, seen++) {
      if (ev[i].flags & EVQ_TIMER) {
        printf("timer %lu fired\n", (unsigned long)ev[i].token);
      } else if (ev[i].flags & EVQ_READABLE) {
        char buf[64];
        ptrdiff_t r = evq_read(q, fds[0], buf, sizeof buf);
        printf("token %lu read %td bytes on %s\n",
               (unsigned long)ev[i].token, r, evq_backend(q));
      }
    }
  }
  evq_deregister(q, fds[0]);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  return 0;
}
