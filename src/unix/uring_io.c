/* amalgamate: part of the io_uring backend */
/* Completion operations the kernel carries out on io_uring (backend.h,
 * evq__bop_t; docs/completion.md): the requests written with the wait's
 * submissions, their completions turned into raw events, cancels, and
 * the buffer rings the kernel receives pool data into; and the multishot
 * flags, tried, with the fall back to single requests where the kernel
 * refuses one. The core decides what each completion means
 * (src/io_native.c); this file only speaks to the kernel.
 *
 * Like the poll requests, operations reach the kernel in the waiter's
 * io_uring_enter: a submission or a cancel from any thread goes on a list
 * under the lock, and prepare() writes it into the submission queue. */
#define _GNU_SOURCE
#include "uring_state.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* valgrind sees the bytes read() and recv() write, not those the kernel
 * writes through the ring: under make memcheck a receive's bytes are
 * declared written, or every read of them looks uninitialised. */
#ifdef EVQ__MEMCHECK
#include <valgrind/memcheck.h>
#define KERNEL_WROTE(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)
#else
#define KERNEL_WROTE(p, n) ((void)0)
#endif

/* What the backend keeps in an op's area (full: a send's header and a
 * multishot's marks share it). */
typedef struct ur_op {
  evq__link_t cancel; /* on the cancel list when linked */
  union {
    struct msghdr msg; /* a vector send's header: read at submission */
    struct {
      bool multi;      /* the request in the kernel is a multishot */
      bool refused;    /* ... that EVQ_IO_URING_REFUSE_MULTISHOT answers */
      bool confirm;    /* the single request after a refused multishot */
    } ms;
  } u;
} ur_op_t;

/* op->where: on the to-do list, in the kernel, or neither. */
enum { OP_TODO = 1, OP_KERNEL = 2 };

_Static_assert(sizeof(ur_op_t) <= sizeof(((evq__bop_t *)0)->area),
               "evq__bop_t's area holds io_uring's per-op state");

static ur_op_t *area(evq__bop_t *op) { return (ur_op_t *)(void *)op->area; }

static uint64_t ud_op(const evq__bop_t *op) {
  return (uint64_t)(uintptr_t)op | EVQ__UD_OP;
}

void evq__ur_io_submit(void *b, evq__bop_t *op) {
  evq__uring_t *s = b;
  ur_op_t *u = area(op);
  if (op->where == 0) evq__list_init(&u->cancel);
  if (evq__op_multi(op->kind)) u->u.ms.confirm = false; /* the core's post */
  op->where = OP_TODO;
  evq__list_push_back(&s->io_todo, &op->link);
}

bool evq__ur_io_cancel(void *b, evq__bop_t *op) {
  evq__uring_t *s = b;
  ur_op_t *u = area(op);
  if (op->where == OP_TODO) { /* the kernel never saw it */
    evq__list_unlink(&op->link);
    op->where = 0;
    return false;
  }
  if (evq__list_empty(&u->cancel)) evq__list_push_back(&s->io_cancels, &u->cancel);
  return true;
}

/* The request for op, as liburing's prep helpers would write it. */
static void prep_op(struct io_uring_sqe *sqe, evq__bop_t *op) {
  sqe->fd = (int)op->fd;
  sqe->user_data = ud_op(op);
  switch (op->kind) {
  case EVQ_IO_ACCEPT_MULTI:
    if (!op->single) sqe->ioprio = IORING_ACCEPT_MULTISHOT;
    /* fall through */
  case EVQ_IO_ACCEPT:
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    break;
  case EVQ_IO_RECV_POOL:
    if (op->wait_data) { /* readable: data, an end or an error */
      evq__ring_prep_poll(sqe, (int)op->fd, POLLIN, false, ud_op(op));
      break;
    }
    sqe->opcode = IORING_OP_RECV;
    if (!op->single) sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = op->group;
    break;
  case EVQ_IO_RECV:
    sqe->opcode = IORING_OP_RECV;
    sqe->addr = (uint64_t)(uintptr_t)op->buf;
    sqe->len = (uint32_t)op->len;
    break;
  case EVQ_IO_SEND:
    /* MSG_WAITALL: the kernel itself finishes a short stream send (5.18),
     * which saves evq posting the remainder. */
    sqe->msg_flags = MSG_NOSIGNAL | MSG_WAITALL;
    if (op->iov) {
      struct msghdr *m = &area(op)->u.msg;
      memset(m, 0, sizeof *m);
      m->msg_iov = (struct iovec *)(uintptr_t)op->iov;
      m->msg_iovlen = (size_t)(op->niov < 1024 ? op->niov : 1024);
      sqe->opcode = IORING_OP_SENDMSG;
      sqe->addr = (uint64_t)(uintptr_t)m;
      sqe->len = 1;
    } else {
      sqe->opcode = IORING_OP_SEND;
      sqe->addr = (uint64_t)(uintptr_t)op->buf;
      sqe->len = (uint32_t)op->len;
    }
    break;
  case EVQ_IO_CONNECT:
    sqe->opcode = IORING_OP_CONNECT;
    sqe->addr = (uint64_t)(uintptr_t)op->addr;
    sqe->off = op->addrlen;
    break;
  case EVQ_IO_CLOSE:
    sqe->opcode = IORING_OP_CLOSE;
    break;
  default:
    sqe->opcode = IORING_OP_NOP;
  }
}

/* A multishot request under EVQ_IO_URING_REFUSE_MULTISHOT=1, a test
 * setting: a no-op whose completion says -EINVAL, as a kernel before
 * 5.19 answers the flag it does not know, so the fallback runs here. */
static void refuse(struct io_uring_sqe *sqe, evq__bop_t *op) {
  uint64_t ud = sqe->user_data;
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_NOP;
  sqe->user_data = ud;
  area(op)->u.ms.refused = true;
}

/* op's request, and what a multishot kind's completion needs to know of
 * it (multishot_seen). */
static void prep(evq__uring_t *s, struct io_uring_sqe *sqe, evq__bop_t *op) {
  prep_op(sqe, op);
  if (!evq__op_multi(op->kind)) return;
  ur_op_t *u = area(op);
  u->u.ms.multi = !op->single && !op->wait_data;
  u->u.ms.refused = false;
  if (u->u.ms.multi && s->refuse_ms) refuse(sqe, op);
}

static void prep_cancel(struct io_uring_sqe *sqe, evq__bop_t *op) {
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = ud_op(op);
  sqe->user_data = (uint64_t)(uintptr_t)op | EVQ__UD_OP_CANCEL;
}

/* prepare(): the operations' requests and cancels go in with the wait. */
void evq__ur_io_prepare(evq__uring_t *s) {
  while (!evq__list_empty(&s->io_todo)) {
    evq__bop_t *op = EVQ__CONTAINER(s->io_todo.next, evq__bop_t, link);
    struct io_uring_sqe *sqe = evq__ur_sqe(s);
    if (!sqe) return; /* the kernel took none: next round */
    evq__list_unlink(&op->link);
    prep(s, sqe, op);
    op->where = OP_KERNEL;
    evq__list_push_back(&s->io_flight, &op->link);
    s->io_inflight++;
  }
  while (!evq__list_empty(&s->io_cancels)) {
    ur_op_t *u = EVQ__CONTAINER(s->io_cancels.next, ur_op_t, cancel);
    evq__bop_t *op = EVQ__CONTAINER((uint64_t *)(void *)u, evq__bop_t, area);
    struct io_uring_sqe *sqe = evq__ur_sqe(s);
    if (!sqe) return;
    evq__list_unlink(&u->cancel);
    if (op->where == OP_KERNEL) prep_cancel(sqe, op);
    else sqe->opcode = IORING_OP_NOP, sqe->user_data = EVQ__UD_OP_CANCEL;
  }
}

bool evq__ur_io_pending(const evq__uring_t *s) {
  return !evq__list_empty(&s->io_todo) || !evq__list_empty(&s->io_cancels);
}

/* ---- multishot, tried ------------------------------------------------
 * The multishot flags came with Linux 5.19 (accept) and 6.0 (receive),
 * and no probe shows them: a kernel without one answers the request
 * -EINVAL at once. So does a kernel with it when the op itself is wrong
 * (an accept on a socket that does not listen). The rule that tells the
 * two apart (docs/completion.md, 4.6):
 *   - once a request of the kind completed with F_MORE, the kernel knows
 *     the flag: an -EINVAL is the op's;
 *   - until then, a multishot request's -EINVAL is not the caller's yet:
 *     the same op goes once more as a single request, with no completion
 *     (or, when the core asked for its end, ends cancelled);
 *   - that request ending -EINVAL too, the EINVAL is the op's and the
 *     kind stays multishot; any other end means the kernel took the op
 *     but not the flag: the kind leaves the queue's multishot mask (its
 *     requests are single from then on, the core posts each again, and
 *     evq_io_path says NATIVE) and the result is the op's.
 * A wrong guess costs a re-post, never a result: a kind taken to single
 * requests by mistake is slower, not wrong. */

/* The single request after a refused multishot ended with res. */
static void confirmed(evq__uring_t *s, evq__bop_t *op, int res) {
  area(op)->u.ms.confirm = false;
  if (res == -EINVAL) return;
  s->ms_kinds &= ~(1u << op->kind);
  evq__set_io_multishot(s->q, s->ms_kinds);
}

/* A completion of a multishot kind's request (res may change): false if
 * it is dropped, the op posted again as a single request. */
static bool multishot_seen(evq__uring_t *s, evq__bop_t *op, int *res,
                           uint32_t cflags) {
  ur_op_t *u = area(op);
  uint32_t bit = 1u << op->kind;
  if (u->u.ms.refused) *res = -EINVAL;
  if (cflags & IORING_CQE_F_MORE) {
    s->ms_known |= bit;
    return true;
  }
  if (u->u.ms.confirm) {
    confirmed(s, op, *res);
    return true;
  }
  if (!u->u.ms.multi || *res != -EINVAL || (s->ms_known & bit)) return true;
  if (op->cancel) { /* asked to end: it has, whatever the EINVAL was */
    *res = -ECANCELED;
    return true;
  }
  evq__list_unlink(&op->link);
  s->io_inflight--;
  op->single = true;
  u->u.ms.confirm = true;
  op->where = OP_TODO;
  evq__list_push_back(&s->io_todo, &op->link);
  return false;
}

/* A completion of an op's request, into the raw event the core reads. */
bool evq__ur_io_complete(evq__uring_t *s, evq__raw_t *raw) {
  uint64_t ud = raw->key;
  if ((ud & EVQ__UD_TAGS) == EVQ__UD_OP_CANCEL) return false; /* its own */
  evq__bop_t *op = (evq__bop_t *)(uintptr_t)(ud & ~(uint64_t)EVQ__UD_TAGS);
  int res = (int)raw->flags;
  uint32_t cflags = raw->data, flags = EVQ_OP;
  if (evq__op_multi(op->kind) && !multishot_seen(s, op, &res, cflags))
    return false;
  if (cflags & IORING_CQE_F_MORE) {
    flags |= EVQ_OP_MORE;
    /* A multishot that goes on after the core asked for its end: the
     * cancel raced it; ask again. */
    if (op->cancel) evq__ur_io_cancel(s, op);
  } else {
    /* Its last completion: a cancel still waiting to be written is moot,
     * and must leave its list before the op can be the caller's again (a
     * new submission resets the area it is linked through). */
    ur_op_t *u = area(op);
    if (!evq__list_empty(&u->cancel)) evq__list_unlink(&u->cancel);
    evq__list_unlink(&op->link);
    op->where = 0;
    s->io_inflight--;
  }
  if (cflags & IORING_CQE_F_BUFFER)
    flags |= EVQ_OP_BUFFER | (cflags >> IORING_CQE_BUFFER_SHIFT)
                                 << EVQ_OP_BUFFER_SHIFT;
  if (res > 0 && op->kind == EVQ_IO_RECV) KERNEL_WROTE(op->buf, (size_t)res);
  raw->key = (uint64_t)(uintptr_t)op;
  raw->flags = flags;
  /* The kernel's ENOBUFS with a buffer group is the pool's emptiness. */
  int rc = res == -ENOBUFS && op->kind == EVQ_IO_RECV_POOL
               ? EVQ_ENOBUFS
               : res < 0 ? evq__from_errno(-res) : res;
  raw->data = (uint32_t)rc;
  return true;
}

/* ---- buffer rings ---------------------------------------------------- */

typedef struct evq__ur_pool {
  struct io_uring_buf_ring *ring;
  size_t map_len;
  unsigned char *mem;
  uint32_t size, mask;
  uint16_t tail;
  bool used;
  bool detach;  /* freed by a thread the ring refuses: the issuer ends it */
} evq__ur_pool_t;

static void ring_add(evq__ur_pool_t *p, uint32_t id) {
  struct io_uring_buf *buf = &p->ring->bufs[p->tail & p->mask];
  buf->addr = (uint64_t)(uintptr_t)(p->mem + (size_t)id * p->size);
  buf->len = p->size;
  buf->bid = (uint16_t)id;
  p->tail++;
}

static void ring_publish(evq__ur_pool_t *p) {
  __atomic_store_n(&p->ring->tail, p->tail, __ATOMIC_RELEASE);
}

int evq__ur_pool_attach(void *b, void *mem, uint32_t count, uint32_t size,
                        uint16_t *group) {
  evq__uring_t *s = b;
  /* The kernel takes no buffer ring from this thread (EVQ_OPT_ONE_WAITER,
   * after the first wait): the core emulates the pool, same results. */
  if (evq__ur_foreign(s)) return EVQ_ENOTSUP;
  uint32_t g = 0;
  while (g < s->npools && s->pools[g].used) g++;
  if (g == s->npools) {
    evq__ur_pool_t *a = realloc(s->pools, sizeof *a * (g + 1));
    if (!a) return EVQ_ENOMEM;
    s->pools = a;
    s->npools = g + 1;
  }
  evq__ur_pool_t *p = &s->pools[g];
  uint32_t entries = 1;
  while (entries < count) entries <<= 1;
  memset(p, 0, sizeof *p);
  p->map_len = entries * sizeof(struct io_uring_buf);
  void *ring = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring == MAP_FAILED) return EVQ_ENOMEM;
  struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)ring,
                                 .ring_entries = entries,
                                 .bgid = (uint16_t)g};
  int rc = evq__ring_register(&s->ring, IORING_REGISTER_PBUF_RING, &reg, 1);
  if (rc < 0) {
    munmap(ring, p->map_len);
    return evq__from_errno(-rc);
  }
  p->ring = ring;
  p->mem = mem;
  p->size = size;
  p->mask = entries - 1;
  p->used = true;
  for (uint32_t i = 0; i < count; i++) ring_add(p, i);
  ring_publish(p);
  *group = (uint16_t)g;
  return 0;
}

void evq__ur_pool_put(void *b, uint16_t group, uint32_t id) {
  evq__uring_t *s = b;
  evq__ur_pool_t *p = &s->pools[group];
  ring_add(p, id);
  ring_publish(p);
}

static void detach(evq__uring_t *s, uint16_t group) {
  evq__ur_pool_t *p = &s->pools[group];
  struct io_uring_buf_reg reg = {.bgid = group};
  evq__ring_register(&s->ring, IORING_UNREGISTER_PBUF_RING, &reg, 1);
  munmap(p->ring, p->map_len);
  p->used = false;
  p->detach = false;
}

/* The pool's memory is the core's to free now: the kernel, which selects
 * buffers only for a receive (none runs on a pool being freed), never
 * reads the ring again. From a thread the ring refuses, the ring leaves
 * the kernel at the issuer's next prepare (its group stays taken). */
void evq__ur_pool_detach(void *b, uint16_t group) {
  evq__uring_t *s = b;
  if (!evq__ur_foreign(s)) {
    detach(s, group);
    return;
  }
  s->pools[group].detach = true;
  s->detaching = true;
}

void evq__ur_pools_detach(evq__uring_t *s) {
  for (uint32_t g = 0; g < s->npools; g++)
    if (s->pools[g].detach) detach(s, (uint16_t)g);
  s->detaching = false;
}

/* ---- the end ------------------------------------------------------------ */

/* Every request in the kernel cancelled: by one request (CANCEL_ANY,
 * 5.19), or, each (where the kernel refused that flag: -EINVAL; a test
 * setting, EVQ_IO_URING_REFUSE_MULTISHOT=1, refuses it too), by one per
 * request, as they go by user_data since 5.5. */
static void cancel_all(evq__uring_t *s, bool each) {
  for (evq__link_t *l = s->io_flight.next; each && l != &s->io_flight;
       l = l->next) {
    struct io_uring_sqe *sqe = evq__ur_sqe(s);
    if (sqe) prep_cancel(sqe, EVQ__CONTAINER(l, evq__bop_t, link));
  }
  struct io_uring_sqe *sqe = each ? NULL : evq__ur_sqe(s);
  if (!sqe) return;
  sqe->opcode = s->refuse_ms ? IORING_OP_NOP : IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  if (!s->refuse_ms)
    sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
  sqe->user_data = EVQ__UD_OP_CANCEL;
}

/* evq_free: every request in the kernel is cancelled, and its last
 * completion awaited; a socket an accept brings is closed. */
void evq__ur_io_drain(void *b) {
  evq__uring_t *s = b;
  while (!evq__list_empty(&s->io_todo)) {
    evq__bop_t *op = EVQ__CONTAINER(s->io_todo.next, evq__bop_t, link);
    evq__list_unlink(&op->link);
    op->where = 0;
    op->wait_data = false;
  }
  evq__list_init(&s->io_cancels);
  if (s->io_inflight == 0) return;
  bool each = false;
  cancel_all(s, each);
  while (s->io_inflight > 0) {
    int rc = evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 1,
                             IORING_ENTER_GETEVENTS, NULL, 0);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) break;
    unsigned n = evq__ring_peek(&s->ring, s->cqes, s->max);
    for (unsigned i = 0; i < n; i++) {
      struct io_uring_cqe *cqe = s->cqes[i];
      if (cqe->user_data == EVQ__UD_OP_CANCEL && !each &&
          (cqe->res == -EINVAL || s->refuse_ms)) {
        each = true;
        cancel_all(s, each);
      }
      if ((cqe->user_data & EVQ__UD_TAGS) != EVQ__UD_OP) continue;
      evq__bop_t *op =
          (evq__bop_t *)(uintptr_t)(cqe->user_data & ~(uint64_t)EVQ__UD_TAGS);
      /* (A refused request's no-op brings none.) */
      bool accept = op->kind == EVQ_IO_ACCEPT ||
                    (op->kind == EVQ_IO_ACCEPT_MULTI &&
                     !area(op)->u.ms.refused);
      if (accept && cqe->res >= 0) close(cqe->res);
      if (!(cqe->flags & IORING_CQE_F_MORE)) {
        evq__list_unlink(&op->link);
        op->where = 0;
        op->wait_data = false; /* the op is the caller's, for a new use */
        s->io_inflight--;
      }
    }
    evq__ring_seen(&s->ring, n);
  }
}
