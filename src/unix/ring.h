/* A minimal io_uring ring: set-up, the two queues mapped into memory, and
 * the enter call. The io_uring backend needs nothing more, so evq talks to
 * the kernel through <linux/io_uring.h> alone and has no liburing to link
 * or to ship. Only the waiting thread uses a ring (uring.c), so nothing
 * here locks. */
#ifndef EVQ_RING_H
#define EVQ_RING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evq__ring {
  int fd;
  unsigned features;  /* IORING_FEAT_* */
  /* Submission queue: the kernel's head and tail, the index array, the
   * entries, and the tail of what is written but not yet published. */
  unsigned *sq_head, *sq_tail, *sq_flags, *sq_array, sq_mask, sq_entries;
  unsigned sq_local;
  struct io_uring_sqe *sqes;
  /* Completion queue. */
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
} evq__ring_t;

/* Sets up a ring with entries submissions and cq_entries completions, each
 * clamped to the kernel's limit, and the IORING_SETUP_* flags given. 0 or
 * a negative errno value (-EINVAL: a flag this kernel does not know). */
int evq__ring_init(evq__ring_t *r, unsigned entries, unsigned cq_entries,
                   unsigned flags);
void evq__ring_exit(evq__ring_t *r);

/* A zeroed submission entry, or NULL when the queue is full. */
struct io_uring_sqe *evq__ring_sqe(evq__ring_t *r);

/* Requests, as liburing's io_uring_prep_* write them, into a zeroed entry.
 * A poll of mask on fd (a table slot with IOSQE_FIXED_FILE in flags),
 * multishot or not. The kernel reads poll32_events as a little-endian word
 * of two halves. */
static inline void evq__ring_prep_poll(struct io_uring_sqe *sqe, int fd,
                                       uint32_t mask, bool multishot,
                                       uint64_t user_data) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  mask = (mask << 16) | (mask >> 16);
#endif
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  sqe->poll32_events = mask;
  sqe->len = multishot ? IORING_POLL_ADD_MULTI : 0;
  sqe->user_data = user_data;
}

/* The removal of the poll whose user_data is target. */
static inline void evq__ring_prep_poll_remove(struct io_uring_sqe *sqe,
                                              uint64_t target,
                                              uint64_t user_data) {
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->user_data = user_data;
}

/* A multishot poll updated to the same mask: the kernel re-arms it and
 * completes it at once if the file is ready. */
static inline void evq__ring_prep_poll_update(struct io_uring_sqe *sqe,
                                              uint64_t target, uint32_t mask,
                                              uint64_t user_data) {
  evq__ring_prep_poll(sqe, -1, mask, true, user_data);
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->addr = target;
  sqe->len = IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI;
}

/* Publishes the written entries; returns how many the kernel has yet to
 * take (what enter's to_submit should say). */
unsigned evq__ring_flush(evq__ring_t *r);

/* io_uring_enter(2): the count submitted, or a negative errno value. */
int evq__ring_enter(evq__ring_t *r, unsigned submit, unsigned min_complete,
                    unsigned flags, const void *arg, size_t arg_size);

/* io_uring_register(2): its result (>= 0), or a negative errno value.
 * Any thread: the kernel serialises it with the waiter's enter. */
int evq__ring_register(evq__ring_t *r, unsigned opcode, const void *arg,
                       unsigned nr);

/* Whether the kernel holds completions a GETEVENTS enter would post:
 * kept aside when the queue was full, or (IORING_SETUP_TASKRUN_FLAG)
 * work that only runs then, as DEFER_TASKRUN's does. */
static inline bool evq__ring_held(const evq__ring_t *r) {
  return __atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) &
         (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN);
}

/* Up to max completions, in order, left in place until evq__ring_seen;
 * completions the kernel holds (evq__ring_held) are fetched first. */
unsigned evq__ring_peek(evq__ring_t *r, struct io_uring_cqe **out,
                        unsigned max);
void evq__ring_seen(evq__ring_t *r, unsigned n);

#endif
