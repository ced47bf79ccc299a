/*
 * The services every source of events needs from the queue: kicking the
 * waiter, keeping the translation's fast-path flag (telling the waiter of
 * a change and dropping a registration are inline in queue.h). This is
 * the layer below the API and the wait loop (evq.c), translation, and
 * every source (timers, signals, children): they call down into it, and it
 * calls none of them, only the backend, the registry and the lifetime
 * states below it. Under the queue lock unless said.
 */
#include "queue.h"

void evq__kick_once(evq_t *q) {
  if (!atomic_exchange(&q->kick_pending, 1)) q->ops->kick(q->b);
}

/* Out of line: inline, its loads took registers from evq_register. */
void evq__kick_changed(evq_t *q) { evq__kick_waiter(q); }

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

void evq__unwatched_other(evq_t *q) {
  q->watched_others--;
  evq__set_plain(q);
}
