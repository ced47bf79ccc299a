/* The IOCP backend's state, shared by its two files: iocp.c (readiness
 * through AFD polls, child processes, the port) and iocp_io.c (completion
 * operations the kernel carries out: AcceptEx, ConnectEx, WSARecv,
 * WSASend). One port carries every packet; the completion key says whose
 * it is. */
#ifndef EVQ_IOCP_H
#define EVQ_IOCP_H

#include "group.h"

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
} evq__iocp_t;

/* One packet dequeued while evq_free drains the port: what destroy() does
 * with it (an AFD poll's or a process's end; a wake-up is nothing). */
void evq__iocp_drain_packet(evq__iocp_t *b, const OVERLAPPED_ENTRY *e);

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
/* The raw event of an op's packet (key the OVERLAPPED) or end. */
void evq__iocp_io_raw(evq__raw_t *raw, OVERLAPPED *o, DWORD bytes);
/* complete(): the raw event becomes the core's (EVQ_OP, the bop, its
 * result); false drops it (an accept whose connection was reset goes on
 * with the next). */
bool evq__iocp_io_complete(evq__iocp_t *b, evq__raw_t *raw);
/* destroy(): the slots' memory. */
void evq__iocp_io_free(evq__iocp_t *b);

#endif
