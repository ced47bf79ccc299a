/* amalgamate: part of the io_uring backend */
/* The minimal io_uring ring of ring.h. The shared head and tail words are
 * read with acquire and written with release, which is the ordering the
 * kernel's side pairs with (as documented in io_uring(7)). */
#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned load_acquire(const unsigned *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(unsigned *p, unsigned v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void *at(void *base, unsigned offset) {
  return (char *)base + offset;
}

static int map_queues(evq__ring_t *r, const struct io_uring_params *p) {
  r->sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  r->cq_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  bool single = p->features & IORING_FEAT_SINGLE_MMAP;
  if (single && r->cq_len > r->sq_len) r->sq_len = r->cq_len;
  r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) return -errno;
  r->cq_map = single ? r->sq_map
                     : mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_POPULATE, r->fd,
                            IORING_OFF_CQ_RING);
  if (r->cq_map == MAP_FAILED) return -errno;
  r->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) return -errno;
  r->sq_head = at(r->sq_map, p->sq_off.head);
  r->sq_tail = at(r->sq_map, p->sq_off.tail);
  r->sq_flags = at(r->sq_map, p->sq_off.flags);
  r->sq_array = at(r->sq_map, p->sq_off.array);
  r->sq_mask = *(unsigned *)at(r->sq_map, p->sq_off.ring_mask);
  r->sq_entries = p->sq_entries;
  r->sq_local = *r->sq_tail;
  r->cq_head = at(r->cq_map, p->cq_off.head);
  r->cq_tail = at(r->cq_map, p->cq_off.tail);
  r->cq_mask = *(unsigned *)at(r->cq_map, p->cq_off.ring_mask);
  r->cqes = at(r->cq_map, p->cq_off.cqes);
  /* Submission entries go in the same order as their slots. */
  for (unsigned i = 0; i < r->sq_entries; i++) r->sq_array[i] = i;
  return 0;
}

int evq__ring_init(evq__ring_t *r, unsigned entries, unsigned cq_entries,
                   unsigned flags) {
  memset(r, 0, sizeof *r);
  r->sq_map = r->cq_map = r->sqes = MAP_FAILED;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  /* CLAMP: a completion queue asked for above the kernel's limit (65,536
   * entries today) gets the limit instead of failing the set-up; the
   * queue holds what overflows (IORING_FEAT_NODROP), so a smaller one
   * costs a flush, never an event. */
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | flags;
  p.cq_entries = cq_entries;
  long fd = syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) return -errno;
  r->fd = (int)fd; /* io_uring descriptors are close-on-exec from birth */
  r->features = p.features;
  int rc = map_queues(r, &p);
  if (rc != 0) evq__ring_exit(r);
  return rc;
}

void evq__ring_exit(evq__ring_t *r) {
  if (r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_len);
  if (r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
    munmap(r->cq_map, r->cq_len);
  if (r->sq_map != MAP_FAILED) munmap(r->sq_map, r->sq_len);
  if (r->fd > 0) close(r->fd);
  r->fd = -1;
}

struct io_uring_sqe *evq__ring_sqe(evq__ring_t *r) {
  if (r->sq_local - load_acquire(r->sq_head) >= r->sq_entries) return NULL;
  struct io_uring_sqe *sqe = &r->sqes[r->sq_local & r->sq_mask];
  r->sq_local++;
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

unsigned evq__ring_flush(evq__ring_t *r) {
  store_release(r->sq_tail, r->sq_local);
  return r->sq_local - load_acquire(r->sq_head);
}

int evq__ring_enter(evq__ring_t *r, unsigned submit, unsigned min_complete,
                    unsigned flags, const void *arg, size_t arg_size) {
  long rc = syscall(__NR_io_uring_enter, r->fd, submit, min_complete, flags,
                    arg, arg_size);
  return rc < 0 ? -errno : (int)rc;
}

int evq__ring_register(evq__ring_t *r, unsigned opcode, const void *arg,
                       unsigned nr) {
  long rc = syscall(__NR_io_uring_register, r->fd, opcode, arg, nr);
  return rc < 0 ? -errno : (int)rc;
}

unsigned evq__ring_peek(evq__ring_t *r, struct io_uring_cqe **out,
                        unsigned max) {
  unsigned head = *r->cq_head, tail = load_acquire(r->cq_tail);
  if (head == tail && evq__ring_held(r)) {
    evq__ring_enter(r, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
    tail = load_acquire(r->cq_tail);
  }
  unsigned n = 0;
  for (; head != tail && n < max; head++) out[n++] = &r->cqes[head & r->cq_mask];
  return n;
}

void evq__ring_seen(evq__ring_t *r, unsigned n) {
  if (n) store_release(r->cq_head, *r->cq_head + n);
}
