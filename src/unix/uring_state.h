/* The io_uring backend's state (the ring's, and each registration's) and
 * the declarations its files share:
 *   uring.c        the backend interface (backend.h): registration, the
 *                  ring's life
 *   uring_poll.c   a registration's poll requests, as a state machine, from
 *                  their submission with the wait to their completions
 *   uring_files.c  the table of pinned files
 *   ring.c         the little of liburing it needs */
#ifndef EVQ_URING_STATE_H
#define EVQ_URING_STATE_H

#include "unix.h"

#include "list.h"
#include "ring.h"
#include "uring_files.h"

#include <pthread.h>

/* A request's user_data: its registration's record (a pointer, at least
 * 8-aligned) with, in the low bits, the parity of the poll request it is or
 * acts on (bit 0) and what it is: a poll, its removal (EVQ__UD_REMOVE) or
 * its update (EVQ__UD_UPDATE). The poll on the wake eventfd is no
 * registration's: EVQ__UD_WAKE. */
#define EVQ__UD_WAKE 1
#define EVQ__UD_REMOVE 2
#define EVQ__UD_UPDATE 4
#define EVQ__UD_TAGS 7
/* A completion operation's request (uring_io.c): the pointer is the op's
 * evq__bop_t; and a cancel made for one. No poll request has both the
 * removal and the update bit. */
#define EVQ__UD_OP 6
#define EVQ__UD_OP_CANCEL 7

/* Where a registration's poll requests stand (uring_poll.c draws them). */
typedef enum evq__ur_phase {
  EVQ__UR_IDLE,      /* no request in flight */
  EVQ__UR_POLLING,   /* the current request in flight */
  EVQ__UR_REPLACING, /* a replaced request still in flight, no current one */
  EVQ__UR_SWAPPING   /* a replaced request and its successor in flight */
} evq__ur_phase_t;

/* One registration's record: a lifetime state (backend.h), because its
 * requests' completions may come after deregistration and refer to it. */
typedef struct evq__ur_reg {
  evq__state_t st;   /* first: the core's lifetime record */
  evq__link_t todo;  /* on the to-do list when linked */
  int fd;            /* what is polled: the descriptor, or a child's pidfd */
  uint32_t slot;     /* its file's slot in the table, or EVQ__NO_SLOT */
  uintptr_t ident;   /* no slot: the file's identity (evq__file_id) that
                        each request by number checks first; 0: none */
  uint32_t dirs;     /* EVQ directions wanted */
  uint32_t polled;   /* poll mask of the current request */
  uint8_t mode;      /* evq_mode_t */
  uint8_t phase;     /* evq__ur_phase_t */
  uint8_t gen;       /* the current request's parity, in its user_data */
  bool ms;           /* the current request is multishot */
  bool fired;        /* oneshot: reported, silent until modify */
  bool closed;       /* the number was closed: silent until modify */
  bool again;        /* level: have the kernel look at the file again */
  bool remove_again; /* the replaced request's removal found it busy
                        (-EALREADY): it runs on, send the removal again */
  bool sticky;       /* a completion brought only bits not asked for (the
                        kernel always watches RDHUP): a single-shot poll
                        would complete at once again, so poll multishot */
} evq__ur_reg_t;

typedef struct evq__uring {
  evq_t *q;
  evq__ring_t ring;
  evq__wakefd_t wake;
  evq__ufiles_t files;
  bool multishot;    /* the kernel has multishot polls (5.13+) */
  bool wake_armed;   /* the wake eventfd's poll is in flight */
  bool embedded;     /* evq_fd() handed out the ring's descriptor */
  bool kicked;       /* embedded: a kick for pending re-arms is out */
  /* EVQ_OPT_ONE_WAITER (uring.c): the ring takes submissions and
   * registrations from one thread (SINGLE_ISSUER), that of the first wait
   * (it starts disabled: no issuer until then), and may run completions
   * only in that thread's GETEVENTS enters (DEFER_TASKRUN). */
  bool single;       /* IORING_SETUP_SINGLE_ISSUER taken */
  bool defer;        /* IORING_SETUP_DEFER_TASKRUN taken */
  bool disabled;     /* IORING_SETUP_R_DISABLED, not yet enabled */
  bool detaching;    /* a pool's buffer ring waits for the issuer to go */
  pthread_t issuer;
  evq__link_t todo;  /* records whose requests must change */
  /* Completion operations (uring_io.c): to submit, in the kernel, to
   * cancel; and the pools' buffer rings, by group. */
  evq__link_t io_todo, io_flight, io_cancels;
  uint32_t io_inflight;
  /* Multishot operations, tried (uring_io.c): the kinds the kernel is
   * asked to keep running (the queue's io_multishot), and of them those
   * a completion with F_MORE showed the kernel knows. refuse_ms is a test
   * setting (EVQ_IO_URING_REFUSE_MULTISHOT=1): the backend answers its
   * own requests with the 5.19 flags -EINVAL, as older kernels do. */
  uint32_t ms_kinds, ms_known;
  bool refuse_ms;
  struct evq__ur_pool *pools;
  uint32_t npools;
  uint32_t max;
  struct io_uring_cqe **cqes; /* the waiter's: max of them */
} evq__uring_t;

/* Whether this thread may not register with the ring (io_uring_register
 * from another than the issuer fails with -EEXIST): a registration then
 * falls back, or waits for the issuer. Under the lock. */
static inline bool evq__ur_foreign(const evq__uring_t *s) {
  return s->single && !s->disabled && !pthread_equal(s->issuer, pthread_self());
}

/* uring.c: the first wait makes its thread the ring's issuer. */
void evq__ur_enable(evq__uring_t *s);

/* Puts r on the to-do list: the next prepare() syncs its requests. */
static inline void evq__ur_todo(evq__uring_t *s, evq__ur_reg_t *r) {
  if (evq__list_empty(&r->todo)) evq__list_push_back(&s->todo, &r->todo);
}

/* uring_poll.c: the poll requests, from submission to completion (the
 * backend's prepare, poll, complete and unsettled). Under the lock, on the
 * waiter, but for poll (the waiter, without the lock). */
void evq__ur_prepare(void *b);
int evq__ur_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns);
bool evq__ur_complete(void *b, evq__raw_t *raw);
bool evq__ur_unsettled(void *b);
/* Puts the wake eventfd's poll in the submission queue. */
void evq__ur_arm_wake(evq__uring_t *s);
/* A submission entry, handing what is queued to the kernel first when the
 * queue is full; NULL if it stays full. */
struct io_uring_sqe *evq__ur_sqe(evq__uring_t *s);

/* uring_io.c: completion operations (backend.h's io_* and pool_*). */
void evq__ur_io_submit(void *b, evq__bop_t *op);
bool evq__ur_io_cancel(void *b, evq__bop_t *op);
int evq__ur_pool_attach(void *b, void *mem, uint32_t count, uint32_t size,
                        uint16_t *group);
void evq__ur_pool_put(void *b, uint16_t group, uint32_t id);
void evq__ur_pool_detach(void *b, uint16_t group);
void evq__ur_io_drain(void *b);
/* prepare(): the buffer rings of pools freed by another thread than the
 * issuer leave the kernel now. */
void evq__ur_pools_detach(evq__uring_t *s);
void evq__ur_io_prepare(evq__uring_t *s);
bool evq__ur_io_pending(const evq__uring_t *s);
bool evq__ur_io_complete(evq__uring_t *s, evq__raw_t *raw);

#endif
