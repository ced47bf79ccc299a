/* Process watches for the IOCP backend: a thread-pool wait on the process
 * handle posts a completion packet to the queue's port when it ends. The
 * record is a lifetime state (backend.h): the posted packet refers to it,
 * so it lives until that packet is dequeued. */
#ifndef EVQ_PROC_H
#define EVQ_PROC_H

#include "win.h"

typedef struct evq__proc {
  evq__state_t st;   /* first: the core's lifetime record */
  uint8_t type;      /* EVQ__WIN_PROC */
  HANDLE wait;       /* RegisterWaitForSingleObject's handle */
  HANDLE port;       /* where the packet goes */
  ULONG_PTR key;     /* under this completion key */
  volatile LONG posted; /* the callback posted its packet */
} evq__proc_t;

/* Starts waiting for reg's process (reg->handle). */
int evq__proc_add(evq_t *q, evq__reg_t *reg, HANDLE port, ULONG_PTR key);

/* Ends the wait. If its packet was never posted, the request is over now;
 * else the packet still comes and ends it. */
void evq__proc_remove(evq_t *q, evq__proc_t *p);

/* The packet of p was dequeued: the wait is over. */
void evq__proc_done(evq__proc_t *p);

#endif
