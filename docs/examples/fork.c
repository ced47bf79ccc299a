/* guide: POSIX only (fork).
 * fork() (docs/guide.md, "fork"): the child leaves the inherited queue to
 * the parent and makes its own. Built and run by the suite
 * (guide.fork.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

enum { PARENT_TOKEN = 1, CHILD_TOKEN = 2 };

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

  /* guide:begin fork */
  pid_t pid = fork();
  if (pid == 0) {
    /* The child: q is the parent's (on epoll it shares the parent's
     * kernel object, on kqueue it is gone). Free it at once, before this
     * process opens anything, never use it, and make a queue of its own. */
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
  /* The parent's queue and its registration are untouched by the child. */
  CHECK(evq_write(q, fds[1], "p", 1) == 1);
  evq_event_t ev[4];
  CHECK(evq_wait(q, ev, 4, 5000 * (int64_t)1000000) == 1);
  CHECK(ev[0].token == PARENT_TOKEN);
  CHECK(evq_deregister(q, fds[0]) == 0);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
  puts("fork: ok");
  return 0;
}
