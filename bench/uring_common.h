/* What the raw io_uring servers (bench/{http,pingpong,churn}/uring.c)
 * share, written once: the ring, set up as a tuned server would
 * (SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them), a submission
 * entry that never fails, a multishot accept, and a provided buffer ring
 * registered by hand (liburing 2.3 has no io_uring_setup_buf_ring).
 * Include after common.h. */
#ifndef BENCH_URING_COMMON_H
#define BENCH_URING_COMMON_H

#include <liburing.h>

/* A request's user data: the descriptor, and what the request is for. */
#define UD(fd, kind) ((uint64_t)(uint32_t)(fd) << 2 | (kind))

static struct io_uring ring;

/* A submission entry; a full queue is submitted first (never in steady
 * state: the queue holds more than a loop asks for). */
static inline struct io_uring_sqe *sqe_get(void) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
  while (!sqe) {
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

static inline void uring_accept(int lfd, uint64_t data) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, data);
}

static inline void uring_setup(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 8192;
  int rc = io_uring_queue_init_params(1024, &ring, &p);
  if (rc == -EINVAL) { /* a kernel before 6.1: without them */
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    rc = io_uring_queue_init_params(1024, &ring, &p);
  }
  if (rc < 0) {
    errno = -rc;
    bench_die("io_uring_queue_init_params");
  }
  io_uring_register_ring_fd(&ring); /* an optimisation only: 5.18 and up */
}

/* n buffers of size bytes (n a power of two) in a ring registered as
 * group bgid, all given to the kernel; their memory. */
static inline char *uring_buffers(struct io_uring_buf_ring **br, unsigned n,
                                  size_t size, int bgid) {
  long page = sysconf(_SC_PAGESIZE);
  void *mem;
  if (posix_memalign(&mem, (size_t)page, n * sizeof(struct io_uring_buf)))
    bench_die("posix_memalign");
  memset(mem, 0, n * sizeof(struct io_uring_buf));
  *br = mem;
  io_uring_buf_ring_init(*br);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)*br;
  reg.ring_entries = n;
  reg.bgid = (unsigned short)bgid;
  int rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc < 0) {
    errno = -rc;
    bench_die("io_uring_register_buf_ring");
  }
  if (posix_memalign(&mem, (size_t)page, (size_t)n * size))
    bench_die("posix_memalign");
  char *bufs = mem;
  for (unsigned i = 0; i < n; i++)
    io_uring_buf_ring_add(*br, bufs + (size_t)i * size, (unsigned)size,
                          (unsigned short)i, io_uring_buf_ring_mask(n),
                          (int)i);
  io_uring_buf_ring_advance(*br, (int)n);
  return bufs;
}

#endif /* BENCH_URING_COMMON_H */
