/* Under valgrind (make memcheck): waits on the epoll backend, timed out and
 * ended by a timer, must be right on the path the library takes when the
 * kernel call epoll_pwait2 is refused with ENOSYS (valgrind 3.19 does not
 * know it: it refuses it). check.sh counts valgrind's warnings about the
 * call: one means evq tried it once and then kept to epoll_wait. */
#include "evq.h"

#include <stdio.h>

#define MS ((int64_t)1000000)

int main(void) {
  evq_t *q;
  evq_options_t o = {.backend = "epoll"};
  int rc = evq_create(&q, &o);
  if (rc == EVQ_ENOTSUP) {
    printf("SKIP: no epoll backend in this build\n");
    return 77;
  }
  if (rc != 0) return printf("evq_create: %s\n", evq_strerror(rc)), 1;
  evq_event_t ev[4];
  for (int i = 0; i < 5; i++) {
    int64_t t0 = evq_now();
    int n = evq_wait(q, ev, 4, 3 * MS);
    int64_t took = evq_now() - t0;
    if (n != 0 || took < 3 * MS)
      return printf("wait %d: %d events after %lld ns (timeout 3 ms)\n", i, n, (long long)took), 1;
  }
  evq_timer_t t;
  evq_timer_init(&t);
  int64_t t0 = evq_now();
  evq_timer_start(q, &t, 2 * MS, 0, 7);
  int n = evq_wait(q, ev, 4, EVQ_FOREVER);
  int64_t took = evq_now() - t0;
  if (n != 1 || ev[0].token != 7 || took < 2 * MS)
    return printf("timer: %d events after %lld ns (delay 2 ms)\n", n, (long long)took), 1;
  evq_free(q);
  printf("pwait2: 5 timed-out waits and a timer on epoll, none early\n");
  return 0;
}
