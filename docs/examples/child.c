/* guide: POSIX only (fork; on Windows evq_child_add takes the id of a
 * process made with CreateProcess).
 * Child processes as events (docs/guide.md, "Child processes"). Built and
 * run by the suite (guide.child.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq.h>

#include <errno.h>
#include <signal.h>
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

enum { WORKER = 1, STUCK = 2 };

static int exit_code = -1, killed_by = -1;

/* guide:begin event */
static void on_child(const evq_event_t *ev) {
  if (!(ev->flags & EVQ_CHILD)) return;
  if (ev->flags & EVQ_CHILD_SIGNALED)
    killed_by = (int)ev->data; /* the signal that ended it */
  else
    exit_code = (int)ev->data; /* its exit status, 0 to 255 */
  /* evq has reaped it: no waitpid() here */
}
/* guide:end event */

static void wait_for(evq_t *q, int *what) {
  int64_t end = evq_now() + 5000 * (int64_t)1000000;
  while (*what < 0 && evq_now() < end) {
    evq_event_t ev[4];
    int n = evq_wait(q, ev, 4, 100 * (int64_t)1000000);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++) on_child(&ev[i]);
  }
}

int main(void) {
  evq_t *q;
  CHECK(evq_create(&q, NULL) == 0);
  fflush(stdout);
  /* guide:begin watch */
  pid_t pid = fork();
  if (pid == 0) _exit(3); /* the child: its work, then its exit code */
  evq_child_add(q, pid, WORKER);
  /* guide:end watch */
  CHECK(pid > 0);
  wait_for(q, &exit_code);
  CHECK(exit_code == 3);
  /* Reaped by evq, so the watch is over and waitpid finds nothing. */
  CHECK(evq_child_remove(q, pid) == EVQ_ENOENT);
  CHECK(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);

  /* A child ended by a signal says which. */
  pid_t stuck = fork();
  if (stuck == 0) {
    for (;;) pause();
  }
  CHECK(stuck > 0);
  CHECK(evq_child_add(q, stuck, STUCK) == 0);
  CHECK(kill(stuck, SIGKILL) == 0);
  wait_for(q, &killed_by);
  CHECK(killed_by == SIGKILL);
  evq_free(q);
  puts("child: ok");
  return 0;
}
