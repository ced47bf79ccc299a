/*
 * The services every source of events needs from the queue: kicking the
 * waiter, telling it of a change, dropping a registration, keeping the
 * translation's fast-path flag. This is the layer below the API and the
 * wait loop (evq.c), translation, and every source (timers, signals,
 * children): they call down into it, and it calls none of them, only the
 * backend, the registry and the lifetime states below it. Under the queue
 * lock unless said.
 */
#include "queue.h"

void evq__kick_waiter(evq_t *q) {
  if ((atomic_load(&q->sleeping) || atomic_load(&q->embedded)) &&
      !atomic_exchange(&q->kick_pending, 1))
    q->ops->kick(q->b);
}

/* Any thread, and signal handlers: atomics and the backend's kick. */
void evq__kick_if_needed(evq_t *q) {
  if (atomic_load(&q->sleeping) || atomic_load(&q->embedded))
    q->ops->kick(q->b);
}

void evq__report_stale(evq_t *q, uint64_t key) {
  if (q->ops->stale) q->ops->stale(q->b, key);
}

/* Translation may take the plain loop (evq.c) while the backend needs none
 * of complete(), merging and emulated modes, and reports descriptors
 * only. */
void evq__set_plain(evq_t *q) {
  q->plain = q->ops_plain && q->watched_others == 0;
}

/* Whatever the kernel says (a descriptor may be closed already), the
 * slot's generation changes, so no queued event can reach the caller. */
void evq__drop(evq_t *q, evq__reg_t *reg, bool closing) {
  if (reg->watched) {
    (void)q->ops->remove(q->b, reg, closing);
    if (reg->kind != EVQ__KIND_FD) {
      q->watched_others--;
      evq__set_plain(q);
    }
  }
  evq__state_release(q, reg);
  evq__registry_remove(&q->registry, reg);
  evq__changed(q);
}
