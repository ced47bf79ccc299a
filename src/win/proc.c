/* Process watches for the IOCP backend (proc.h). */
#include "proc.h"

static VOID CALLBACK proc_ended(PVOID ctx, BOOLEAN timed_out) {
  evq__proc_t *p = ctx;
  (void)timed_out; /* INFINITE: never */
  InterlockedExchange(&p->posted, 1);
  PostQueuedCompletionStatus(p->port, 0, p->key, (LPOVERLAPPED)p);
}

int evq__proc_add(evq_t *q, evq__reg_t *reg, HANDLE port, ULONG_PTR key) {
  evq__proc_t *p = evq__state_new(q, reg, sizeof *p);
  if (!p) return EVQ_ENOMEM;
  p->type = EVQ__WIN_PROC;
  p->port = port;
  p->key = key;
  evq__state_submitted(&p->st);
  if (!RegisterWaitForSingleObject(&p->wait, (HANDLE)reg->handle, proc_ended,
                                   p, INFINITE, WT_EXECUTEONLYONCE)) {
    int rc = evq__from_win32(GetLastError());
    (void)evq__state_completed(q, &p->st);
    p->wait = NULL;
    return rc; /* the core detaches (and frees) the state */
  }
  return 0;
}

/* INVALID_HANDLE_VALUE: returns once a callback that was running has
 * finished, so posted is then final. */
void evq__proc_remove(evq_t *q, evq__proc_t *p) {
  if (!p->wait) return;
  UnregisterWaitEx(p->wait, INVALID_HANDLE_VALUE);
  p->wait = NULL;
  if (!InterlockedCompareExchange(&p->posted, 0, 0))
    (void)evq__state_completed(q, &p->st);
}

/* A fired WT_EXECUTEONLYONCE wait must still be unregistered; it no longer
 * runs, so this does not block. */
void evq__proc_done(evq__proc_t *p) {
  if (p->wait) UnregisterWaitEx(p->wait, NULL);
  p->wait = NULL;
}
