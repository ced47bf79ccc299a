/*
 * queue.c's services: what every source of events needs from the queue.
 * The layer below the API and the wait loop (evq.c), translation and the
 * sources (signal.c, child.c, timer.c): they call down into it, it calls
 * none of them. Under the lock unless said.
 */
#ifndef EVQ_QUEUE_H
#define EVQ_QUEUE_H

#include "registry.h"

/* evq__kick_waiter's kick, once per sleep. */
void evq__kick_once(evq_t *q);
/* Makes a change visible to a waiter blocked in the kernel (a nearer
 * timer; a change the backend applies in prepare()). Inline: with no
 * waiter asleep (the waiter sets sleeping under the lock) it is two loads
 * on the path of every timer start. */
static inline void evq__kick_waiter(evq_t *q) {
  if (atomic_load(&q->sleeping) || atomic_load(&q->embedded))
    evq__kick_once(q);
}
/* Kicks the waiter if it sleeps, or always once embedded; async-signal-
 * safe (evq_wake and the signal handler use it). */
void evq__kick_if_needed(evq_t *q);
/* Sets q->plain from the backend and what it watches now. */
void evq__set_plain(evq_t *q);
/* A raw event whose registration is gone: the backend may clean up. */
void evq__report_stale(evq_t *q, uint64_t key);
/* A registration changed: kick the waiter if the backend needs it to go
 * round for the change to reach the kernel. Inline, as the next two: the
 * path of every registration. */
void evq__kick_changed(evq_t *q);
static inline void evq__changed(evq_t *q) {
  if (q->ops->changes_need_kick) evq__kick_changed(q);
}
/* The backend's add() took reg: its remove() must go at the drop. */
static inline void evq__watched(evq_t *q, evq__reg_t *reg) {
  reg->watched = true;
  if (reg->kind == EVQ__KIND_FD) return;
  q->watched_others++;
  evq__set_plain(q);
}
/* A registration of another kind than a descriptor left the backend. */
void evq__unwatched_other(evq_t *q);
/* Removes a live registration: from the backend if it watches it, its
 * lifetime state, the registry. What a source of another kind holds for
 * it (a process handle, a signal) is the source's to let go, after.
 * Whatever the kernel says (a descriptor may be closed already), the
 * slot's generation changes, so no queued event can reach the caller.
 * Inline: the path of every deregistration. */
static inline void evq__drop(evq_t *q, evq__reg_t *reg, bool closing) {
  if (reg->watched) {
    (void)q->ops->remove(q->b, reg, closing);
    if (reg->kind != EVQ__KIND_FD) evq__unwatched_other(q);
  }
  evq__state_release(q, reg);
  evq__registry_drop(&q->registry, reg);
  evq__changed(q);
}

#endif /* EVQ_QUEUE_H */
