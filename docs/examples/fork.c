/* guide: POSIX only (fork).
 * fork() (docs/guide.md, "fork"): the child leaves the inherited queue to
 * the parent and makes its own; the parent's registrations and child
 * watches are untouched. Built and run by the suite (guide.fork.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

enum { PARENT_TOKEN = 1, CHILD_TOKEN = 2, WORKER_TOKEN = 3 };

/* The child's own loop: a 10 ms timer on a queue of its own. */
static int child_main(evq_t *q) {
  evq_timer_t t;
  evq_event_t ev[4];
  evq_timer_init(&t);
  if (evq_timer_start(q, &t, 10 * 1000000, 0, CHILD_TOKEN) != 0) return 1;
  int n = evq_wait(q, ev, 4, 5000 * (int64_t)1000000);
  return n == 1 && ev[0].token == CHILD_TOKEN ? 0 : 1;
}

int main(void) {
  evq_t *q;
  evq_fd_t fds[2];
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_socketpair(fds) == 0);
  CHECK(evq_register(q, fds[0], EVQ_READABLE, EVQ_LEVEL, PARENT_TOKEN) == 0);
  fflush(stdout);
  /* The parent also watches a worker process that ends after 300 ms. */
  pid_t worker = fork();
  if (worker == 0) {
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL);
    _exit(4);
  }
  CHECK(worker > 0);
  CHECK(evq_child_add(q, worker, WORKER_TOKEN) == 0);

  /* guide:begin fork */
  pid_t pid = fork();
  if (pid == 0) {
    /* The child: q is the parent's (on epoll and io_uring it shares the
     * parent's kernel object, on kqueue it is gone). Free it, which touches
     * nothing of the parent's, and make a queue of its own. */
    evq_free(q);
    evq_t *mine;
    if (evq_create(&mine, NULL) != 0) _exit(1);
    int status = child_main(mine);
    evq_free(mine);
    _exit(status);
  }
  /* guide:end fork */

  CHECK(pid > 0);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* The parent's queue, its registration and its child watch are
   * untouched by the second child. */
  CHECK(evq_write(q, fds[1], "p", 1) == 1);
  int got_data = 0, worker_code = -1;
  int64_t end = evq_now() + 5000 * (int64_t)1000000;
  while ((!got_data || worker_code < 0) && evq_now() < end) {
    evq_event_t ev[4];
    int n = evq_wait(q, ev, 4, 100 * (int64_t)1000000);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++) {
      if (ev[i].token == PARENT_TOKEN) {
        char c;
        CHECK(evq_read(q, fds[0], &c, 1) == 1);
        got_data = 1;
      } else {
        CHECK(ev[i].token == WORKER_TOKEN && (ev[i].flags & EVQ_CHILD));
        worker_code = (int)ev[i].data;
      }
    }
  }
  CHECK(got_data && worker_code == 4);
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  puts("fork: ok");
  return 0;
}
