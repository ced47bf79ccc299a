/* guide: POSIX only (fork and kill; on Windows evq_child_add takes a
 * process made with CreateProcess, and the signals are Ctrl-C's).
 * The guide's step 4 (docs/guide.md, "Step 4: signals and child
 * processes"), shown there whole. Built and run by the suite on every
 * backend (guide.step4_children.<backend>); it checks what it was told. */
/* guide:begin program */
/* Two children and a SIGTERM, all as events of one queue. */
#define _POSIX_C_SOURCE 200809L /* kill(), with -std=c11 */
#include <evq.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

enum { QUICK = 1, SLOW = 2, TERM = 3 }; /* tokens */

/* A child that exits with code at once, or (code < 0) waits to be killed. */
static pid_t spawn(int code) {
  pid_t pid = fork();
  if (pid == 0) {
    if (code >= 0) _exit(code);
    for (;;) pause();
  }
  return pid;
}

int main(void) {
  evq_t *q;
  if (evq_create(&q, NULL) != 0) return 1;
  evq_signal_add(q, SIGTERM, TERM); /* from now on a SIGTERM is an event */
  pid_t quick = spawn(3), slow = spawn(-1);
  if (quick < 0 || slow < 0) return 1;
  evq_child_add(q, quick, QUICK); /* evq reaps them: no waitpid() */
  evq_child_add(q, slow, SLOW);
  kill(getpid(), SIGTERM); /* as `kill PID` from a shell would */

  int ended = 0, ok = 1;
  while (ended < 2) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, EVQ_FOREVER);
    for (int i = 0; i < n; i++) {
      if (ev[i].flags & EVQ_SIGNAL) {
        printf("SIGTERM: stopping the slow child\n");
        /* Only while its watch runs: the pid cannot have been reused. */
        kill(slow, SIGTERM);
      } else if (ev[i].flags & EVQ_CHILD_SIGNALED) {
        printf("child %lu: killed by signal %d\n",
               (unsigned long)ev[i].token, (int)ev[i].data);
        ok &= ev[i].token == SLOW && ev[i].data == SIGTERM;
        ended++;
      } else if (ev[i].flags & EVQ_CHILD) {
        printf("child %lu: exit code %d\n", (unsigned long)ev[i].token,
               (int)ev[i].data);
        ok &= ev[i].token == QUICK && ev[i].data == 3;
        ended++;
      }
    }
  }
  evq_free(q); /* also puts back SIGTERM's old disposition */
  return ok ? 0 : 1;
}
/* guide:end program */
