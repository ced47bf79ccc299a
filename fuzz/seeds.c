/* fuzz_seeds DIR: writes the seed corpus (fuzz/corpus/) into DIR. Each seed
 * is a short scenario written with the operations of fuzz.h, aimed at one
 * part of the contract; libFuzzer mutates from there. Regenerate with
 *   cmake --build build --target fuzz_seeds && build/fuzz/fuzz_seeds fuzz/corpus
 * (the files are committed; this program documents what each one is). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char buf[4096];
static size_t len;
static const char *dir;

static void op(int code, int a, int b, int c) {
  buf[len++] = (unsigned char)code;
  buf[len++] = (unsigned char)a;
  buf[len++] = (unsigned char)b;
  buf[len++] = (unsigned char)c;
}

static void save(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  len = 0;
}

/* Argument encodings (exec.c): interests = b % 7 + 1, mode = c % 3 + 1. */
enum { R = 0, W = 1, RW = 2, P = 3, RP = 4, WP = 5, RWP = 6 };
enum { EDGE = 0, LEVEL = 1, ONESHOT = 2 };
/* Size classes: 1, 7, 100, 1000, 4096, 20000 bytes. Timeouts: 0, 0, 1, 5,
 * 20 ms. Capacity class 2: a large capacity; 0: one event. */
enum { T0 = 0, T1 = 2, T5 = 3, T20 = 4 };
#define WAIT(t) op(FZ_WAIT, t, 2, 0)
#define WAIT1(t) op(FZ_WAIT, t, 0, 0)

/* Handles: every pair takes the two lowest free handles, so the first
 * socketpair is h0 (h1 its peer), the next h2/h3, and so on. */

static unsigned rng = 12345;
static unsigned next(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 8;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  dir = argv[1];

  /* Level: reported while unread data waits, every wait. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  WAIT(T1);
  op(FZ_WRITE, 1, 2, 0);
  WAIT(T5);
  WAIT(T0);
  op(FZ_READ, 0, 1, 0);
  WAIT(T0);
  op(FZ_DRAIN, 0, 0, 0);
  WAIT(T5);
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T5);
  save("level-basic");

  /* Edge: once per readiness; again after would-block. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, RW, EDGE);
  WAIT(T1);
  op(FZ_WRITE, 1, 2, 0);
  WAIT(T1);
  op(FZ_READ, 0, 1, 0);
  WAIT(T1);
  op(FZ_DRAIN, 0, 0, 0);
  op(FZ_WRITE, 1, 3, 0);
  WAIT(T1);
  op(FZ_FILL, 0, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T5);
  save("edge-basic");

  /* Edge re-armed by evq_rearm after the caller's own read. */
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_REGISTER, 0, R, EDGE);
  op(FZ_WRITE, 1, 3, 0);
  WAIT(T1);
  op(FZ_RAW_READ, 0, 5, 0);
  op(FZ_RAW_READ, 0, 5, 0);
  op(FZ_WRITE, 1, 1, 0);
  WAIT(T1);
  op(FZ_REARM, 0, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 0, 0, 0);
  op(FZ_WRITE, 1, 1, 0);
  WAIT(T1);
  save("edge-rearm");

  /* Oneshot: one event until evq_modify. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, RW, ONESHOT);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T1);
  WAIT(T5);
  op(FZ_MODIFY, 0, R, ONESHOT);
  WAIT(T1);
  op(FZ_MODIFY, 0, W, LEVEL);
  WAIT(T0);
  op(FZ_MODIFY, 0, RW, EDGE);
  WAIT(T0);
  save("oneshot-modify");

  /* Oneshot with I/O between waits: no second event before evq_modify,
   * even where readiness may be stale (io_uring), which relaxes what an
   * event's flags may be, never whether it may come again. A planted
   * io_uring oneshot that never disarms passed the model when that
   * relaxation also skipped the oneshot rule (issue 18). */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, ONESHOT);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T1);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T1);
  save("oneshot-again-after-io");

  /* Timers: oneshot, periodic, restart, stop; next timeout. */
  op(FZ_TIMER_START, 0, 1, 0);
  op(FZ_TIMER_START, 1, 0, 3);
  op(FZ_NEXT_TIMEOUT, 0, 0, 0);
  WAIT(T5);
  WAIT(T5);
  op(FZ_TIMER_START, 0, 3, 0);
  op(FZ_TIMER_STOP, 0, 0, 0);
  WAIT(T1);
  op(FZ_TIMER_STOP, 1, 0, 0);
  op(FZ_NEXT_TIMEOUT, 0, 0, 0);
  op(FZ_TIMER_START, 2, 0, 0);
  WAIT1(T0);
  save("timers");

  /* Wake-ups coalesce and are never lost, also with a full array. */
  op(FZ_WAKE, 0, 0, 0);
  op(FZ_WAKE, 0, 0, 0);
  op(FZ_NEXT_TIMEOUT, 0, 0, 0);
  WAIT(T1);
  WAIT(T1);
  op(FZ_TIMER_START, 0, 0, 0);
  op(FZ_WAKE, 0, 0, 0);
  WAIT1(T0);
  WAIT1(T0);
  WAIT(T1);
  save("wake");

  /* TCP: data, half-close, close. */
  op(FZ_TCP, 0, 0, 0);
  op(FZ_REGISTER, 0, RW, LEVEL);
  op(FZ_REGISTER, 1, R, EDGE);
  WAIT(T1);
  op(FZ_WRITE, 0, 4, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  op(FZ_SHUTDOWN, 0, 1, 0);
  WAIT(T1);
  op(FZ_CLOSE, 1, 0, 0);
  WAIT(T5);
  op(FZ_DEREGISTER, 1, 0, 0);
  save("tcp");

  /* A dup keeps a closed descriptor's file open: epoll may report it
   * until deregistered; after that nothing, no spin, and the number can be
   * registered again (issue 13's epoll defect). */
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_WRITE, 1, 1, 0);
  op(FZ_DUP, 0, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  WAIT(T1);
  op(FZ_DEREGISTER, 0, 0, 0);
  WAIT(T5);
  WAIT(T5);
  op(FZ_DUP2, 2, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  WAIT(T1);
  save("dup-close-epoll");

  /* A closed, still registered number reused by a new file: never
   * reported under the old registration (issue 13's poll defect). */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  WAIT(T1);
  op(FZ_CLOSE, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0); /* takes the old number, in h0; peer h2 */
  op(FZ_WRITE, 2, 1, 0);
  WAIT(T1);
  op(FZ_REGISTER, 0, R, LEVEL); /* still registered: EEXIST */
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  WAIT(T1);
  save("close-reuse-poll");

  /* dup2 over a registered number: the number now names another file. */
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 2, R, EDGE);
  op(FZ_DUP2, 0, 2, 0);
  op(FZ_WRITE, 1, 2, 0);
  WAIT(T1);
  op(FZ_MODIFY, 2, R, LEVEL);
  WAIT(T1);
  op(FZ_DEREGISTER, 2, 0, 0);
  save("dup2-over-registered");

  /* Closing without deregistering, with and without a dup alive, then
   * deregistering: must succeed, and the number registers again. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, RW, EDGE);
  op(FZ_REGISTER, 1, RW, ONESHOT);
  op(FZ_DUP, 1, 0, 0);
  op(FZ_CLOSE, 1, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  WAIT(T5);
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_DEREGISTER, 1, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_REGISTER, 1, R, LEVEL);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T1);
  save("close-then-deregister");

  /* A close that a dup outlives leaves an epoll entry no number reaches;
   * when its stale key comes back evq rebuilds the instance, and an edge
   * registration made after that close reports its readiness once more
   * (evq.h, EVQ_EDGE). Found by a 60 s CI run. */
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_WRITE, 1, 1, 0);
  op(FZ_DUP, 0, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  WAIT(T1);
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_REGISTER, 1, W, LEVEL);
  op(FZ_REGISTER, 2, RW, EDGE);
  op(FZ_CLOSE, 3, 0, 0);
  op(FZ_CLOSE, 1, 0, 0);
  WAIT(T1);
  op(FZ_CLOSE, 0, 0, 0);
  WAIT(T1);
  WAIT(T1);
  save("edge-after-orphan");

  /* Edge, interests R|P, peer gone: R is reported and disarmed, P stays
   * armed; a hang-up maps to no armed direction, yet poll(2) reports it
   * whatever was asked: an emulated edge must not spin on it. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, RP, EDGE);
  op(FZ_CLOSE, 1, 0, 0);
  WAIT(T1);
  WAIT(T5);
  WAIT(T5);
  save("edge-hangup-spin");

  /* evq_deregister_close, registered or not, open or closed, with a dup
   * alive (the kernel's entry is cleared later: no event, no spin). */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_REGISTER, 2, R, EDGE);
  op(FZ_DUP, 2, 0, 0);
  op(FZ_WRITE, 3, 2, 0);
  op(FZ_DEREGISTER_CLOSE, 2, 0, 0);
  WAIT(T5);
  op(FZ_DEREGISTER_CLOSE, 1, 0, 0); /* not registered: left open */
  op(FZ_CLOSE, 0, 0, 0);
  op(FZ_DEREGISTER_CLOSE, 0, 0, 0); /* registered, closed: EBADF */
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T5);
  save("deregister-close");

  /* Hang-up and error flags: peer closed, pipe reader gone. */
  op(FZ_PIPE, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_REGISTER, 1, W, LEVEL);
  op(FZ_REGISTER, 2, RW, EDGE);
  op(FZ_CLOSE, 3, 0, 0);
  op(FZ_CLOSE, 1, 0, 0);
  WAIT(T1);
  op(FZ_CLOSE, 0, 0, 0);
  WAIT(T1);
  op(FZ_SHUTDOWN, 2, 2, 0);
  WAIT(T1);
  save("hangup");

  /* Another thread registers, writes, deregisters, closes, wakes and
   * starts timers while this one waits. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_CONCURRENT, 7, 1, 0);
  op(FZ_WRITE, 1, 0, 0);
  op(FZ_REGISTER, 2, RW, EDGE);
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_WAKE, 0, 0, 0);
  op(FZ_TIMER_START, 0, 0, 0);
  op(FZ_MODIFY, 2, R, ONESHOT);
  op(FZ_CLOSE, 3, 0, 0);
  op(FZ_CONCURRENT, 5, 0, 0);
  op(FZ_CLOSE, 2, 0, 0);
  op(FZ_DEREGISTER, 2, 0, 0);
  op(FZ_REGISTER, 1, RW, LEVEL);
  op(FZ_TIMER_STOP, 0, 0, 0);
  op(FZ_WAKE, 0, 0, 0);
  WAIT(T1);
  WAIT(T1);
  save("two-threads");

  /* Capacity 1: what does not fit stays for the next wait. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, W, LEVEL);
  op(FZ_REGISTER, 2, W, ONESHOT);
  op(FZ_REGISTER, 3, W, EDGE);
  op(FZ_TIMER_START, 0, 0, 0);
  op(FZ_WAKE, 0, 0, 0);
  WAIT1(T0);
  WAIT1(T0);
  WAIT1(T0);
  WAIT1(T0);
  WAIT(T0);
  save("capacity-one");

  /* Random mixes, biased towards operations that change state. */
  static const int mix[] = {
      FZ_SOCKETPAIR, FZ_PIPE, FZ_REGISTER, FZ_REGISTER, FZ_MODIFY,
      FZ_DEREGISTER, FZ_REARM, FZ_WRITE, FZ_WRITE, FZ_READ, FZ_DRAIN,
      FZ_RAW_READ, FZ_FILL, FZ_SHUTDOWN, FZ_CLOSE, FZ_DUP, FZ_DUP2,
      FZ_TIMER_START, FZ_TIMER_STOP, FZ_WAKE, FZ_WAIT, FZ_WAIT, FZ_WAIT,
      FZ_NEXT_TIMEOUT, FZ_TCP, FZ_CONCURRENT, FZ_DEREGISTER_CLOSE};
  for (int s = 0; s < 12; s++) {
    op(FZ_SOCKETPAIR, 0, 0, 0);
    op(FZ_PIPE, 0, 0, 0);
    for (int i = 0; i < 48; i++) {
      int code = mix[next() % (sizeof mix / sizeof mix[0])];
      if (code == FZ_TCP && s % 3) code = FZ_WAIT;
      if (code == FZ_WAIT)
        op(code, (int)(next() % 4), 2, 0);
      else
        op(code, (int)(next() % 6), (int)next() % 256, (int)next() % 256);
    }
    char name[32];
    snprintf(name, sizeof name, "mix-%02d", s);
    save(name);
  }
  return 0;
}
