/* One registered socket on the Windows backend and its poll state machine.
 *
 * A socket has at most one IOCTL_AFD_POLL in flight, and every poll
 * submitted produces exactly one completion packet, whether it finished,
 * failed or was cancelled. The states:
 *
 *   IDLE --submit--> PENDING --packet--> IDLE
 *                      |
 *                   cancel (the poll no longer covers what is wanted)
 *                      v
 *                  CANCELLING --packet--> IDLE
 *
 * The record is an evq__state_t (backend.h), so the core keeps it until
 * its registration is gone and no poll is in flight: the kernel writes the
 * poll's buffers until the packet comes. */
#ifndef EVQ_SOCK_H
#define EVQ_SOCK_H

#include "afd.h"
#include "group.h"

enum { EVQ__SOCK_IDLE, EVQ__SOCK_PENDING, EVQ__SOCK_CANCELLING };

typedef struct evq__sock {
  evq__state_t st;        /* first: the core's lifetime record */
  uint8_t type;           /* EVQ__WIN_SOCK (proc.h's records share states) */
  evq__afd_poll_t poll;   /* a packet's lpOverlapped points here */
  evq__link_t todo;       /* on the backend's to-do list when linked */
  evq__afd_group_t *group;
  SOCKET base;            /* what AFD polls: the base provider's socket */
  uint32_t dirs;          /* EVQ directions to watch */
  ULONG polled;           /* AFD events of the poll in flight */
  uint8_t mode;           /* evq_mode_t of the registration */
  uint8_t state;          /* EVQ__SOCK_* */
  bool closed;            /* handle gone (closed under us): nothing to poll */
  bool rd_closed;         /* end of stream (or reset) has been reported */
  bool dgram;             /* a datagram socket: no connection to lose */
} evq__sock_t;

/* The socket of a dequeued packet. */
static inline evq__sock_t *evq__sock_of(OVERLAPPED *packet) {
  return EVQ__CONTAINER(packet, evq__sock_t, poll);
}

/* Makes the kernel watch what s wants now: keeps a poll in flight that
 * covers it, cancels one that does not (its packet brings s back), or
 * submits one. 0, or an EVQ_E* code when a submission failed for want of
 * resources (try again later). */
int evq__sock_sync(evq__sock_t *s);

/* Cancels the poll in flight, if any; its packet still comes. */
void evq__sock_cancel(evq__sock_t *s);

/* s's packet was dequeued: its poll is over. The EVQ flags it reports, 0
 * for none. */
uint32_t evq__sock_completed(evq__sock_t *s);

#endif
