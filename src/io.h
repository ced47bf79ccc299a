/*
 * Completion operations inside (include/evq_io.h is the contract,
 * docs/completion.md the design): the layout behind evq_op_t, a socket's
 * record, pools, and what the three files share. From the top down:
 *   io.c        the calls, the records, delivery: the source of kind IO
 *   io_emul.c   one operation's I/O when its socket is ready, over net.h
 *   io_pool.c   pools: buffers, their free list and who holds each
 * All of it runs under the queue lock.
 */
#ifndef EVQ__IO_H
#define EVQ__IO_H

#include "queue.h"
#include "evq_io.h"

#include <stdatomic.h>

typedef struct evq__io_sock evq__io_sock_t;

/* A pool: count buffers of size bytes; free ids on a stack; lent[] says
 * which the caller holds (a put of one not lent is refused). */
typedef struct evq__pool {
  evq_t *q;
  evq__link_t link;   /* on the queue's list of pools */
  unsigned char *mem;
  uint32_t count, size, nfree, users;
  uint32_t nlent;
  bool native;        /* the backend's buffer group holds the free ones */
  uint16_t group;
  uint16_t *free_ids;
  uint8_t *lent;
} evq__pool_t;

enum { EVQ__OP_IDLE = 0, EVQ__OP_QUEUED = 1, EVQ__OP_DONE = 2 };

/* The layout behind evq_op_t. kind is enum evq_io_kind (a sendv is a
 * send with iov). */
typedef struct evq__op {
  evq__bop_t b;           /* what a backend with native operations sees */
  evq__link_t link;       /* its socket's queue, or the done list */
  evq__io_sock_t *sock;   /* while queued */
  evq_t *q;               /* the queue it is active on */
  uintptr_t token;
  void *buf;              /* recv, send: the bytes; accept: the peer;
                             connect: the address */
  const evq_iovec_t *iov; /* sendv: the caller's array */
  evq__pool_t *pool;      /* recv_pool */
  size_t len;             /* bytes (a sendv: the total) */
  size_t done;            /* a send: bytes sent so far */
  int niov;
  evq_fd_t fd;            /* the socket (a connect: the one evq made) */
  int32_t result;         /* DONE: the final result */
  uint32_t hint;          /* the registry slot of the record its last
                             submission went to: checked before use */
  uint8_t kind;
  bool kernel;            /* a native request of it is in the kernel */
  atomic_int state;       /* EVQ__OP_*; read by evq_op_active */
} evq__op_t;

_Static_assert(sizeof(evq__op_t) <= sizeof(evq_op_t), "evq_op_t too small");

static inline evq__op_t *evq__op(evq_op_t *op) {
  return (evq__op_t *)(void *)op;
}

/* The direction an op waits for: a send or a connect needs room to write,
 * everything else data (or a connection) to read. */
static inline uint32_t evq__op_dir(const evq__op_t *op) {
  return op->kind == EVQ_IO_SEND || op->kind == EVQ_IO_CONNECT
             ? EVQ_WRITABLE
             : EVQ_READABLE;
}

/* A socket's admission for native ops (the backend's io_adopt), asked at
 * its first native op: taken, or refused and its ops emulated for good. */
enum evq__adoption { EVQ__UNASKED = 0, EVQ__ADOPTED, EVQ__FOREIGN };

/* A socket used with operations: a registration of kind IO (ident the
 * socket) whose token points here. rd holds accepts and receives, wr
 * sends and a connect, each in submission order; ready the directions
 * believed ready (the I/O tells, at would-block). */
struct evq__io_sock {
  evq__link_t rd, wr;
  evq__link_t run;      /* on the run list: ready with work */
  uint64_t key;         /* its registration */
  evq_fd_t fd;
  uint32_t ready;
  uint32_t ops;         /* operations queued on it */
  uint32_t kernel;      /* of them, those with a request in the kernel */
  evq__op_t *closer;    /* evq_op_close's op, waiting for the kernel */
  bool watched;         /* the backend reports its readiness */
  bool broken;          /* a send failed: later sends are cancelled */
  bool gone;            /* its connect failed: the record ends */
  bool multi;           /* a multishot op holds rd */
  bool hup;             /* the backend reported the read side's end */
  bool badf;            /* an op's I/O met EVQ_EBADF: the number named no
                           socket; the record ends once idle */
  bool family_known;    /* unix_family was asked (evq__io_unix) */
  bool unix_family;     /* a Unix-domain socket: no kernel multishot */
  uint8_t adoption;     /* enum evq__adoption: what io_adopt answered */
  uint8_t sock_flags;   /* what the backend's io_adopt said of it */
};

/* A queue's operations state, made at its first operation or pool. */
typedef struct evq__io {
  evq__link_t done;     /* final results waiting for a wait */
  evq__link_t run;      /* records with work and a ready direction */
  evq__link_t pools;
  evq__io_sock_t **spare; /* records to reuse */
  uint32_t nspare, spare_cap;
  uint32_t socks;       /* live records */
  uint32_t stale;       /* of them, those marked badf */
  uint32_t closes;      /* close ops on the done list */
} evq__io_t;

/* ---- io_source.c: records, queues, delivery ---------------------------- */
/* fd's record on q, made at the first op (hint: a registry slot that may
 * hold it, which saves the lookup): 0 and *out; EVQ_EEXIST (fd is
 * registered for readiness) or EVQ_ENOMEM, which refuse the submission;
 * or the backend's code for the socket (EVQ_EBADF), which is the op's
 * result. */
int evq__io_sock(evq_t *q, evq_fd_t fd, uint32_t hint, evq__io_sock_t **out);
/* Ends s's registration (closing: the socket is closed next) and keeps
 * the record for reuse. Its queues are empty. */
void evq__io_sock_end(evq_t *q, evq__io_sock_t *s, bool closing);
/* op (checked, filled) goes on s's queue; the waiter is woken if s is
 * ready for it. */
void evq__io_queue(evq_t *q, evq__op_t *op, evq__io_sock_t *s);
/* The head of s's queue for dir gets going (after a submission or the
 * end of the head before it). */
void evq__io_advance(evq_t *q, evq__io_sock_t *s, uint32_t dir);
/* Hands a native op (queued, head) to the kernel. */
void evq__io_submit(evq_t *q, evq__op_t *op);
/* The event of one of op's results; a final one makes op the caller's. */
evq_event_t evq__io_deliver(evq__op_t *op, int32_t result, uint32_t flags);
/* After a final delivery of an op of fd (hint: its last record's slot):
 * a record marked badf with nothing left to run or deliver ends, so the
 * number's next socket starts with a record of its own. */
void evq__io_settle(evq_t *q, evq_fd_t fd, uint32_t hint);
/* A queued op leaves its socket's queue. */
void evq__io_unqueue(evq__op_t *op);
/* op (on no list) ends with result at the next delivery. */
void evq__io_finish(evq_t *q, evq__op_t *op, int32_t result);
/* Whether a final result of an op of fd waits on the done list. */
bool evq__io_undelivered(const evq__io_t *io, evq_fd_t fd);
/* Whether a close of fd has ended but its completion is not returned yet:
 * the number is refused (EVQ_EBADF) until then, on every backend. */
bool evq__io_closing(evq_t *q, evq_fd_t fd);
/* A send failed or was cancelled part-way: the sends queued behind it end
 * with EVQ_ECANCELED, and so will later ones. */
void evq__io_break(evq_t *q, evq__io_sock_t *s);
/* Closes a socket evq made or was asked to close (evq_close). */
int evq__io_close(evq_fd_t fd);
/* A kernel's completion of a native op (raw: EVQ_OP, backend.h): 1 and
 * its event in out, or 0 (a remainder or a re-post went to the kernel). */
int evq__io_completion(evq_t *q, const evq__raw_t *raw, evq_event_t *out);
/* Whether q's backend carries out op itself. */
bool evq__io_native(const evq_t *q, const evq__op_t *op);
/* Asks for op's end: true if it ended now (its result ECANCELED is on
 * the done list), false if the kernel will report it. op is queued. */
bool evq__io_cancel(evq_t *q, evq__op_t *op);
/* The record's last op in the kernel ended, or none was: the socket is
 * closed and the close op completes (native: the kernel closes it, and
 * the record ends with the close's completion, io_native.c). */
void evq__io_close_now(evq_t *q, evq__io_sock_t *s);

extern const evq__source_t evq__source_io;

/* ---- io_emul.c: one step of an operation's I/O -------------------------
 * What a step came to: the op waits (its direction was not ready after
 * all: the record's ready bit is cleared), gave a result that ends it, or
 * gave one with more to come (multishot). */
enum { EVQ__STEP_BLOCKED = 0, EVQ__STEP_FINAL = 1, EVQ__STEP_MORE = 2 };
/* Or'ed to a receive's FINAL or MORE: it read less than it had room for,
 * so the stream socket had no more then (the next read would block). */
#define EVQ__STEP_SHORT 4

/* Carries out op's I/O once; *res is the result, *flags EVQ_OP_BUFFER and
 * the id when a pool buffer was lent. */
int evq__io_step(evq__op_t *op, int32_t *res, uint32_t *flags);
/* A connect's socket, made and started: 0 or the code that is its
 * result. */
int evq__io_connect_start(const evq_addr_t *addr, evq_fd_t *out);
/* A connect's socket for the kernel to connect: made (non-blocking,
 * TCP_NODELAY) but not connected, and the OS's form of addr. */
int evq__io_connect_socket(const evq_addr_t *addr, evq_fd_t *out);
void evq__io_os_addr(const evq_addr_t *addr, const void **sa, uint32_t *len);
/* Whether fd is a Unix-domain socket. */
bool evq__io_unix(evq_fd_t fd);
/* Whether a socket has data (1), is at its end (0), neither yet
 * (EVQ_EAGAIN), or a code: the native pool receive's EVQ_ENOBUFS rule. */
int evq__io_peek(evq_fd_t fd);
/* A multishot accept met EVQ_EMFILE in the kernel: refuses what is
 * pending with the spare descriptor where the OS can (0), else
 * EVQ_EMFILE. */
int evq__io_drain(evq_fd_t listener);

/* ---- io_pool.c ---------------------------------------------------------- */
/* q's operations state, made at the first need; NULL when out of memory. */
evq__io_t *evq__io_state(evq_t *q);
/* A free buffer's id, or -1 (and nothing taken). */
int32_t evq__pool_take(evq__pool_t *p);
/* A buffer taken but not lent goes back. */
void evq__pool_untake(evq__pool_t *p, uint32_t id);
/* evq_free: every pool of q. */
void evq__pools_free(evq__io_t *io);

#endif /* EVQ__IO_H */
