/* The differential fuzzer's interface (fuzz/exec.c): the libFuzzer entry
 * point, and what the replay driver (fuzz/replay.c) and the seed generator
 * (fuzz/seeds.c) share with it. docs/reliability.md describes the model. */
#ifndef EVQ_FUZZ_H
#define EVQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Every input is a sequence of 4-byte operations: an opcode byte (taken
 * modulo FZ_NOPS) and three argument bytes, whose meaning depends on the
 * opcode (exec.c, exec_op). Trailing bytes that do not make a whole
 * operation are ignored. New operations go at the end; FZ_NOPS grew from
 * 23 to 31 with the completion operations, so an older input replays as
 * written with EVQ_FUZZ_OPCODES=23 (the committed ones were rewritten
 * with each opcode byte reduced modulo 23, which means the same). */
enum fz_op {
  FZ_SOCKETPAIR, /* -                                                      */
  FZ_PIPE,       /* -                                                      */
  FZ_TCP,        /* - (a loopback connection: client and accepted ends)   */
  FZ_REGISTER,   /* handle, interests (a % 7 + 1), mode (a % 3 + 1)        */
  FZ_MODIFY,     /* handle, interests, mode                                */
  FZ_DEREGISTER, /* handle                                                 */
  FZ_REARM,      /* handle, directions (a % 3 + 1)                         */
  FZ_WRITE,      /* handle, size class                                     */
  FZ_READ,       /* handle, size class (evq_read)                          */
  FZ_DRAIN,      /* handle (evq_read until would-block or end of stream)   */
  FZ_RAW_READ,   /* handle, size class (read(2): evq is not told)          */
  FZ_FILL,       /* handle (evq_write until would-block)                   */
  FZ_SHUTDOWN,   /* handle, how (read, write, both)                        */
  FZ_CLOSE,      /* handle                                                 */
  FZ_DUP,        /* handle                                                 */
  FZ_DUP2,       /* handle, target handle (its number, open or closed)     */
  FZ_TIMER_START, /* timer, delay class, period class                      */
  FZ_TIMER_STOP, /* timer                                                  */
  FZ_WAKE,       /* -                                                      */
  FZ_WAIT,       /* timeout class, capacity class                          */
  FZ_CONCURRENT, /* count (a % 8 + 1), pacing: the next count operations
                    run on a second thread while this one waits            */
  FZ_NEXT_TIMEOUT, /* -                                                    */
  FZ_DEREGISTER_CLOSE, /* handle (evq_deregister_close)                    */
  /* Completion operations (evq_io.h; fuzz/io.c), on 8 evq_op_t slots: */
  FZ_OP_RECV,    /* handle, size class, slot: evq_op_recv                  */
  FZ_OP_SEND,    /* handle, size class, slot (c / 8 odd: evq_op_sendv)     */
  FZ_OP_RECV_POOL, /* handle, pool (2 x 16 B, 4 x 512 B), slot             */
  FZ_OP_CANCEL,  /* slot                                                   */
  FZ_OP_CLOSE,   /* handle, -, slot: evq_op_close                          */
  FZ_POOL_PUT,   /* which lent buffer (past the last: one not lent), pool  */
  FZ_IO_RELEASE, /* handle: evq_io_release                                 */
  FZ_IO_FREE,    /* -: the run ends in evq_free with operations in flight  */
  FZ_NOPS
};

/* Runs one input on every backend compiled in; aborts (after printing the
 * operation, the backend and the rule broken) on any violation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The backends every input runs on, best first: each compiled in (or
 * those EVQ_FUZZ_BACKENDS names, comma-separated), io_uring's single-shot
 * path as "io_uring_singleshot", and io_uring with its completion
 * operations emulated (EVQ_IO_EMULATE=1) as "io_uring_emulated". Returns
 * how many. */
int evqfuzz_backends(const char **names, int cap);

/* Prints an input's operations, one a line, to stdout. */
void evqfuzz_print(const uint8_t *data, size_t size);

/* The name of an operation. */
const char *evqfuzz_op_name(int op);

#endif
