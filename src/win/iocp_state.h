/* The IOCP backend's state, shared by its files: iocp.c (readiness
 * through AFD polls, child processes, the port), iocp_io.c (completion
 * operations the kernel carries out: ConnectEx, WSARecv, WSASend) and,
 * below it, iocp_accept.c (AcceptEx). One port carries every packet; the
 * completion key says whose it is. Calls go down that list only; what
 * two of them share is here. */
#ifndef EVQ_IOCP_STATE_H
#define EVQ_IOCP_STATE_H

#include "proc.h"
#include "sock.h"

#define EVQ__KEY_AFD 1   /* every AFD handle's */
#define EVQ__KEY_WAKE 2  /* kick() packets */
#define EVQ__KEY_CHILD 3 /* ended processes (proc.c) */
#define EVQ__KEY_OP 4    /* sockets with native operations (iocp_io.c) */

/* raw->flags until complete() has seen the raw event: a process's packet,
 * an operation's packet (data: the bytes transferred), an operation whose
 * request ended when it was issued (its result is in the op). */
#define EVQ__RAW_PROC (1u << 31)
#define EVQ__RAW_OP (1u << 30)
#define EVQ__RAW_OP_DONE (1u << 29)
#define EVQ__RAW_SLOT (1u << 28)

typedef struct evq__iocp {
  evq_t *q;
  HANDLE port;
  evq__afd_groups_t groups;
  evq__link_t todo; /* socks to (re)submit or cancel before the next wait */
  OVERLAPPED_ENTRY *entries;
  ULONG cap;
  /* Operations (iocp_io.c), all under the lock but io_ready. */
  evq__link_t io_flight; /* issued; their packet is to come */
  evq__link_t io_done;   /* ended at issue, no packet: reported next wait */
  evq__link_t io_ready;  /* the waiter's: io_done as prepare() took it */
  uint32_t io_inflight;
  struct evq__accept_slot *slots; /* AcceptEx's sockets and buffers, free */
  LPFN_ACCEPTEX accept_ex;
  LPFN_CONNECTEX connect_ex;
  bool no_skip; /* EVQ_IOCP_NO_SKIP=1: every success posts its packet */
  long accept_sockets; /* EVQ_IOCP_ACCEPT_SOCKETS=N: AcceptEx sockets the
                          queue may still make (-1: no limit) */
} evq__iocp_t;

/* ---- operations (iocp_io.c, iocp_accept.c) ------------------------------ */

/* What follows every OVERLAPPED of an operation's request, so that a
 * packet tells whose it is: an op's own (the OVERLAPPED in its area) or
 * one of an accept's slots (iocp_accept.c). */
typedef struct evq__iocp_req {
  OVERLAPPED ov;
  uint32_t slot; /* 1: an accept slot's */
} evq__iocp_req_t;

/* Room for one address in AcceptEx's buffer: the largest, and the 16
 * bytes Windows asks for above it. */
#define EVQ__ADDR_ROOM (sizeof(SOCKADDR_STORAGE) + 16)

/* One AcceptEx in flight (iocp_accept.c): the socket made for it, the
 * buffer it writes the two addresses into, its request. */
typedef struct evq__accept_slot {
  evq__iocp_req_t req; /* first: a packet's OVERLAPPED is its slot */
  struct evq__bop *op;
  struct evq__accept_slot *next; /* the op's slots, or the free ones */
  SOCKET sock;
  int af;
  char addrs[2 * EVQ__ADDR_ROOM];
} evq__accept_slot_t;

/* What the backend keeps in an op's area (evq__bop_t). */
typedef struct evq__iocp_op {
  evq__iocp_req_t req;            /* the op's own request */
  DWORD flags;                    /* WSARecv's, written until its end */
  int32_t res;                    /* an op that ended at issue: its result */
  evq__accept_slot_t *slots;      /* an accept's requests in flight */
  uint16_t nslots;
  int32_t err;                    /* what ends a multishot accept */
} evq__iocp_op_t;

_Static_assert(sizeof(evq__iocp_op_t) <= sizeof(((evq__bop_t *)0)->area),
               "evq__bop_t's area holds IOCP's per-op state");

static inline evq__iocp_op_t *evq__iocp_op(evq__bop_t *op) {
  return (evq__iocp_op_t *)(void *)op->area;
}

/* op->where: in the kernel (a packet to come), or ended at issue. */
enum { EVQ__IOCP_FLIGHT = 1, EVQ__IOCP_DONE = 2 };

/* sock_flags from io_adopt: the socket's successes post no packet. */
#define EVQ__IOCP_SKIP 1u

/* One packet dequeued while evq_free drains the port: what destroy() does
 * with it (an AFD poll's or a process's end; a wake-up is nothing). Here,
 * so that iocp_io.c's drain calls nothing above it. */
static inline void evq__iocp_drain_packet(evq__iocp_t *b,
                                          const OVERLAPPED_ENTRY *e) {
  if (e->lpCompletionKey == EVQ__KEY_CHILD) {
    evq__proc_t *p = (evq__proc_t *)e->lpOverlapped;
    evq__proc_done(p);
    (void)evq__state_completed(b->q, &p->st); /* frees p, once detached */
  } else if (e->lpCompletionKey == EVQ__KEY_AFD) {
    evq__sock_t *s = evq__sock_of(e->lpOverlapped);
    evq__sock_completed(s);
    (void)evq__state_completed(b->q, &s->st); /* frees s, once detached */
  }
}

/* ---- iocp_io.c: the backend.h hooks of operations ---------------------- */
void evq__iocp_io_init(evq__iocp_t *b);
int evq__iocp_io_adopt(void *b, intptr_t fd);
void evq__iocp_io_submit(void *b, evq__bop_t *op);
bool evq__iocp_io_cancel(void *b, evq__bop_t *op);
void evq__iocp_io_drain(void *b);
/* prepare(): the ops that ended at issue become the waiter's to report. */
void evq__iocp_io_prepare(evq__iocp_t *b);
/* poll(), without the lock: those as raw events, at most cap. */
int evq__iocp_io_ready(evq__iocp_t *b, evq__raw_t *raw, int cap);
/* The raw event of an op's packet (o: its OVERLAPPED). */
void evq__iocp_io_raw(evq__raw_t *raw, OVERLAPPED *o, DWORD bytes);
/* complete(): the raw event becomes the core's (EVQ_OP, the bop, its
 * result); false drops it (an accept whose connection was reset goes on
 * with the next). */
bool evq__iocp_io_complete(evq__iocp_t *b, evq__raw_t *raw);
/* destroy(): the slots' memory. */
void evq__iocp_io_free(evq__iocp_t *b);
/* op's request ended as it was issued, with res: reported next wait.
 * (Here, not in iocp_io.c, so that iocp_accept.c calls nothing above it.) */
static inline void evq__iocp_ended_now(evq__iocp_t *b, evq__bop_t *op,
                                       int32_t res) {
  evq__iocp_op(op)->res = res;
  op->where = EVQ__IOCP_DONE;
  evq__list_push_back(&b->io_done, &op->link);
}

/* The Winsock error of op's request (o) whose packet says it failed. */
static inline DWORD evq__iocp_error(evq__bop_t *op, OVERLAPPED *o) {
  DWORD n = 0, flags = 0;
  if (WSAGetOverlappedResult((SOCKET)op->fd, o, &n, FALSE, &flags))
    return WSAEINVAL; /* never: the status said it failed */
  return (DWORD)WSAGetLastError();
}

/* ---- iocp_accept.c ------------------------------------------------------- */
void evq__iocp_accept_submit(evq__iocp_t *b, evq__bop_t *op);
void evq__iocp_accept_cancel(evq__bop_t *op);
/* A slot's packet (raw key: the slot), in complete(). */
bool evq__iocp_accept_complete(evq__iocp_t *b, evq__raw_t *raw);
/* evq_free: the packet of a slot is in; its socket is closed. */
void evq__iocp_accept_forget(evq__iocp_t *b, evq__accept_slot_t *slot);
void evq__iocp_accept_free(evq__iocp_t *b);

#endif /* EVQ_IOCP_STATE_H */
