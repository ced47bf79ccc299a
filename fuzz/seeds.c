/* fuzz_seeds DIR [FINDINGS]: writes the seed corpus (fuzz/corpus/) into
 * DIR, and the inputs of the open findings (fuzz/findings/) into FINDINGS.
 * Each seed is a short scenario written with the operations of fuzz.h,
 * aimed at one part of the contract; libFuzzer mutates from there.
 * Regenerate with
 *   cmake --build build --target fuzz_seeds &&
 *   build/fuzz/fuzz_seeds fuzz/corpus fuzz/findings
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

static void findings(void);

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s DIR [FINDINGS]\n", argv[0]);
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

  /* ---- Completion operations (evq_io.h; fuzz/io.c). Size classes of a
   * receive: 1, 7, 100, 1000, 4096, 65536 bytes; of a send: 1, 7, 100,
   * 1000, 4096, 20000, 256 KiB, 1 MiB (slot + 8: sendv). Pools: 0 (2 x 16
   * bytes), 1 (4 x 512). */

  /* A receive and a send, each one final completion, the bytes in order;
   * the slots are used again. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  WAIT(T1);
  op(FZ_OP_SEND, 1, 2, 1);
  WAIT(T5);
  WAIT(T1);
  op(FZ_OP_SEND, 1, 3, 1);
  op(FZ_OP_RECV, 0, 1, 0);
  op(FZ_OP_RECV, 0, 5, 2);
  WAIT(T5);
  WAIT(T5);
  op(FZ_OP_RECV, 0, 5, 0);
  op(FZ_SHUTDOWN, 1, 1, 0);
  WAIT(T5);
  save("op-recv-send");

  /* Sends of 1 MiB, 1 B and 20,000 B (a sendv) queued on a socket whose
   * peer reads only between waits: each whole, in order, the peer's bytes
   * their concatenation. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_SEND, 0, 7, 0);
  op(FZ_OP_SEND, 0, 0, 1);
  op(FZ_OP_SEND, 0, 5, 10);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T5);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T5);
  save("op-send-order");

  /* A send queued behind one the socket cannot take yet, cancelled: it
   * ends alone, and the sends around it complete, in order. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_SEND, 0, 7, 0);
  op(FZ_OP_SEND, 0, 2, 1);
  op(FZ_OP_SEND, 0, 3, 2);
  WAIT(T1);
  op(FZ_OP_CANCEL, 1, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T5);
  op(FZ_DRAIN, 1, 0, 0);
  save("op-cancel-queued-send");

  /* A send cancelled after some of it went cuts the stream: the sends
   * behind it, and one made later, end cancelled with none of their bytes
   * sent. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_SEND, 0, 7, 0);
  op(FZ_OP_SEND, 0, 2, 1);
  WAIT(T1);
  op(FZ_OP_CANCEL, 0, 0, 0);
  op(FZ_OP_SEND, 0, 2, 2);
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  op(FZ_OP_SEND, 0, 0, 0);
  WAIT(T5);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T1);
  save("op-cancel-cut");

  /* A receive cancelled with data already there: its data or
   * EVQ_ECANCELED, once; then a second cancel is EVQ_ENOENT. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 3, 0);
  op(FZ_WRITE, 1, 2, 0);
  op(FZ_OP_CANCEL, 0, 0, 0);
  WAIT(T1);
  op(FZ_OP_CANCEL, 0, 0, 0);
  op(FZ_OP_RECV, 0, 3, 0);
  WAIT(T1);
  op(FZ_OP_CANCEL, 0, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 0, 0, 0);
  save("op-cancel-recv");

  /* A pool of two 16-byte buffers and 1,000 bytes waiting: two buffers
   * lent, then EVQ_ENOBUFS with the data left in the socket; a put of a
   * buffer not lent is refused; buffers back, receive again, every byte
   * in order. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_WRITE, 1, 3, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  WAIT(T1);
  WAIT(T1);
  op(FZ_POOL_PUT, 2, 0, 0); /* nothing else lent: one not lent */
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  op(FZ_OP_RECV, 0, 1, 1); /* beside a pool receive: EVQ_EBUSY */
  WAIT(T1);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_OP_RECV, 0, 1, 1); /* the pool receive ended: taken */
  WAIT(T1);
  op(FZ_POOL_PUT, 1, 0, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  WAIT(T1);
  save("op-pool-enobufs");

  /* One pool for two sockets: one receive's EVQ_ENOBUFS may come before
   * the other's completions that took the buffers. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 2, 0, 1);
  op(FZ_WRITE, 1, 2, 0);
  op(FZ_WRITE, 3, 2, 0);
  WAIT(T1);
  WAIT(T1);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 2, 0, 1);
  WAIT(T1);
  WAIT(T1);
  save("op-pool-shared");

  /* evq_op_close with a receive, a large send and a queued one in flight:
   * each ends once, cancelled unless done, before the close, which comes
   * last; the number, free again, makes a new socket. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 3, 0);
  op(FZ_OP_SEND, 0, 7, 1);
  op(FZ_OP_SEND, 0, 2, 2);
  WAIT(T1);
  op(FZ_OP_CLOSE, 0, 0, 3);
  op(FZ_OP_SEND, 0, 2, 4); /* a close of the number is under way */
  WAIT(T1);
  op(FZ_DRAIN, 1, 0, 0);
  WAIT(T1);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_WRITE, 2, 2, 0);
  WAIT(T1);
  save("op-close-in-flight");

  /* One model per socket: a registered number refuses operations, a
   * number with operations refuses registration, evq_io_release is busy
   * while one is active and then switches it back. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_CLOSE, 0, 0, 1);
  op(FZ_DEREGISTER, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_IO_RELEASE, 0, 0, 0);
  op(FZ_OP_CANCEL, 0, 0, 0);
  op(FZ_IO_RELEASE, 0, 0, 0);
  WAIT(T1);
  op(FZ_IO_RELEASE, 0, 0, 0);
  op(FZ_IO_RELEASE, 0, 0, 0);
  op(FZ_REGISTER, 0, R, LEVEL);
  op(FZ_WRITE, 1, 0, 0);
  WAIT(T1);
  save("op-mix-eexist");

  /* TCP: a 256 KiB send read through a pool receive, buffers put back
   * between waits; the sender shuts down: the receive ends with 0. */
  op(FZ_TCP, 0, 0, 0);
  op(FZ_OP_SEND, 0, 6, 0);
  op(FZ_OP_RECV_POOL, 1, 1, 1);
  for (int i = 0; i < 6; i++) {
    WAIT(T1);
    op(FZ_POOL_PUT, 0, 1, 0);
    op(FZ_POOL_PUT, 0, 1, 0);
    op(FZ_POOL_PUT, 0, 1, 0);
    op(FZ_POOL_PUT, 0, 1, 0);
    op(FZ_OP_RECV_POOL, 1, 1, 1);
  }
  op(FZ_SHUTDOWN, 0, 1, 0);
  WAIT(T5);
  op(FZ_OP_CLOSE, 1, 0, 2);
  WAIT(T1);
  save("op-tcp-pool");

  /* Another thread submits, cancels and puts while this one waits. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 3, 0);
  op(FZ_OP_RECV_POOL, 2, 0, 1);
  op(FZ_CONCURRENT, 7, 1, 0);
  op(FZ_OP_SEND, 1, 3, 2);
  op(FZ_OP_SEND, 3, 2, 3);
  op(FZ_OP_CANCEL, 0, 0, 0);
  op(FZ_POOL_PUT, 0, 0, 0);
  op(FZ_OP_CANCEL, 1, 0, 0);
  op(FZ_OP_SEND, 1, 7, 4);
  op(FZ_OP_CANCEL, 4, 0, 0);
  WAIT(T1);
  op(FZ_DRAIN, 0, 0, 0);
  WAIT(T1);
  save("op-two-threads");

  /* evq_free with a receive, a pool receive, sends and a close in flight:
   * no completion after, every op inactive, the caller's sockets open. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 3, 0);
  op(FZ_OP_RECV_POOL, 1, 0, 1);
  op(FZ_OP_SEND, 1, 7, 2);
  op(FZ_OP_SEND, 1, 2, 3);
  op(FZ_OP_SEND, 2, 1, 4);
  op(FZ_OP_CLOSE, 3, 0, 5);
  WAIT(T1);
  op(FZ_IO_FREE, 0, 0, 0);
  save("op-free-in-flight");

  /* Operations on a closed number: accepted, and the bad descriptor is the
   * result. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_SEND, 0, 2, 1);
  WAIT(T1);
  op(FZ_IO_RELEASE, 0, 0, 0);
  op(FZ_OP_RECV, 1, 2, 2);
  WAIT(T1);
  save("op-bad-descriptor");

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

  /* And mixes of operations with readiness, on socketpairs and TCP. */
  static const int opmix[] = {
      FZ_OP_RECV, FZ_OP_RECV, FZ_OP_SEND, FZ_OP_SEND, FZ_OP_SEND,
      FZ_OP_RECV_POOL, FZ_OP_CANCEL, FZ_OP_CANCEL, FZ_OP_CLOSE, FZ_POOL_PUT,
      FZ_POOL_PUT, FZ_IO_RELEASE, FZ_WAIT, FZ_WAIT, FZ_WAIT, FZ_WAIT,
      FZ_DRAIN, FZ_READ, FZ_WRITE, FZ_REGISTER, FZ_SHUTDOWN, FZ_CLOSE,
      FZ_SOCKETPAIR, FZ_DUP, FZ_CONCURRENT};
  for (int s = 0; s < 8; s++) {
    op(FZ_SOCKETPAIR, 0, 0, 0);
    op(s % 2 ? FZ_TCP : FZ_SOCKETPAIR, 0, 0, 0);
    for (int i = 0; i < 48; i++) {
      int code = opmix[next() % (sizeof opmix / sizeof opmix[0])];
      if (code == FZ_WAIT)
        op(code, (int)(next() % 4), 2, 0);
      else
        op(code, (int)(next() % 4), (int)next() % 256, (int)next() % 256);
    }
    char name[32];
    snprintf(name, sizeof name, "op-mix-%02d", s);
    save(name);
  }
  if (argc == 3) {
    dir = argv[2];
    findings();
  }
  return 0;
}

/* The smallest input found for each open finding of the operations model
 * (docs/reliability.md): each breaks its rule on the backends named, with
 * EVQ_FUZZ_STRICT=1 (by default the fuzzer lets these rules go, reported
 * once). Once evq keeps a rule, its input joins the corpus. */
static void findings(void) {
  /* [op-order-cancelled] epoll, poll, io_uring_emulated: a send queued
   * behind a 1 MiB one and cancelled completes (EVQ_ECANCELED) before the
   * one ahead of it; evq_io.h promises sends on a socket in submission
   * order (natively on io_uring it holds). */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_SEND, 0, 7, 0);
  op(FZ_OP_SEND, 0, 0, 1);
  op(FZ_OP_CANCEL, 1, 0, 0);
  WAIT(T1);
  save("op-order-cancelled-send");
  /* The same with two receives (receives in submission order). */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_RECV, 0, 2, 1);
  op(FZ_OP_CANCEL, 1, 0, 0);
  WAIT(T1);
  save("op-order-cancelled-recv");

  /* [closing-ebadf] every backend: a send on a number whose evq_op_close
   * has not completed (its completion not yet returned) is accepted;
   * evq_io.h: "until then operations on fd are refused with EVQ_EBADF".
   * Only io_uring, with a request in the kernel (after a wait), refuses. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_CLOSE, 0, 0, 1);
  op(FZ_OP_SEND, 0, 2, 2);
  WAIT(T1);
  save("closing-ebadf");

  /* [release-busy] every backend: evq_io_release of a number whose
   * cancelled receive has not had its final completion returned gives 0;
   * evq_io.h: EVQ_EBUSY while an operation on fd is active. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_CANCEL, 0, 0, 0);
  op(FZ_IO_RELEASE, 0, 0, 0);
  WAIT(T1);
  save("release-busy");

  /* [stale-record] io_uring (both poll paths): a send on a closed number
   * ends EVQ_EBADF, as it should, but leaves the number a record whose
   * stream is broken; the next socket the number names inherits it, and
   * its first send ends EVQ_ECANCELED (and evq_register of it EVQ_EEXIST,
   * on every backend). The emulation fails such a send without breaking
   * the record, so epoll, poll and io_uring_emulated send it. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  op(FZ_OP_SEND, 0, 2, 0);
  WAIT(T1);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_SEND, 0, 2, 1);
  WAIT(T1);
  save("stale-record");
  /* [stale-record] poll: the same leftover record never reports the new
   * socket: a receive on it waits forever with data there. The failed
   * poll add left the record in the registry, which poll() is built
   * from, so the closed number gave POLLNVAL; forget_closed() marks that
   * at the next rebuild, which comes after the add made for the new
   * socket and overwrites it with CLOSED_UNDER_US. (One more wait before
   * the reuse, and it works.) */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_CLOSE, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  WAIT(T1);
  op(FZ_SOCKETPAIR, 0, 0, 0); /* takes the number: h0, peer h2 */
  op(FZ_WRITE, 2, 2, 0);
  op(FZ_OP_RECV, 0, 2, 1);
  WAIT(T5);
  WAIT(T5);
  save("stale-record-poll-stall");

  /* [op-cancel-einval] every backend: evq_op_close refused with EVQ_EBUSY
   * because its evq_op_t is still active (a receive) clears that op's
   * queue, and evq_op_cancel of the receive then fails with EVQ_EINVAL
   * ("active on another queue"): it can no longer be cancelled. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV, 0, 2, 0);
  op(FZ_OP_CLOSE, 1, 0, 0);
  op(FZ_OP_CANCEL, 0, 0, 0);
  WAIT(T1);
  save("op-cancel-einval");

  /* [pool-empty-spin] io_uring (both poll paths): a pool receive
   * submitted while every buffer of its pool is lent, on a socket with
   * nothing to read, spins the waiter: the kernel fails the multishot
   * receive at once (-ENOBUFS: no buffer to select), evq finds no data
   * (evq__io_peek), posts it again, and so on, some 300 turns of the wait
   * loop a millisecond for as long as the socket stays idle. The
   * emulation waits for readability. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_WRITE, 1, 2, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0); /* two buffers lent, then EVQ_ENOBUFS */
  WAIT(T1);
  op(FZ_OP_RECV_POOL, 2, 0, 1);
  WAIT(T5);
  save("pool-empty-spin");

  /* [pool-alone] every backend: a send on a socket whose pool receive
   * runs clears the record's note that a multishot holds its receive side
   * (submit() in src/io.c sets s->multi for every kind), so a receive is
   * then accepted beside the pool receive instead of EVQ_EBUSY. */
  op(FZ_SOCKETPAIR, 0, 0, 0);
  op(FZ_OP_RECV_POOL, 0, 0, 0);
  op(FZ_OP_SEND, 0, 0, 1);
  op(FZ_OP_RECV, 0, 1, 2);
  WAIT(T1);
  save("pool-alone");
}
