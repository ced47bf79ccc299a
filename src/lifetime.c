/*
 * Per-registration backend state that outlives its registration while the
 * kernel still holds a request that refers to it (backend.h explains the
 * contract). One mechanism for every completion-based backend, so that
 * "free only once nothing is in flight" is written, and proven, once.
 *
 * Every state is on the queue's list from birth to free, so evq_free can
 * detach all of them and a backend's destroy() can find those in flight.
 * All of this runs under the queue lock (or in evq_free, when no other
 * thread may use the queue).
 */
#include "core.h"

#include <stdlib.h>

void evq__states_init(evq_t *q) { evq__list_init(&q->states); }

void *evq__state_new(evq_t *q, evq__reg_t *reg, size_t size) {
  evq__state_t *st = calloc(1, size < sizeof *st ? sizeof *st : size);
  if (!st) return NULL;
  st->key = evq__key(reg->id, reg->gen);
  evq__list_push_front(&q->states, &st->link);
  reg->bstate = st;
  return st;
}

static void state_free(evq_t *q, evq__state_t *st) {
  if (q->ops->release) q->ops->release(q->b, st);
  evq__list_unlink(&st->link);
  free(st);
}

bool evq__state_completed(evq_t *q, evq__state_t *st) {
  st->inflight--;
  if (st->key != 0) return true;
  if (st->inflight == 0) state_free(q, st);
  return false;
}

void evq__state_detach(evq_t *q, evq__state_t *st) {
  st->key = 0;
  if (st->inflight == 0) state_free(q, st);
}

static evq__state_t *state_of(evq__link_t *l) {
  return EVQ__CONTAINER(l, evq__state_t, link);
}

void evq__states_detach_all(evq_t *q) {
  for (evq__link_t *l = q->states.next, *next; l != &q->states; l = next) {
    next = l->next;
    evq__state_detach(q, state_of(l));
  }
}

evq__state_t *evq__state_next(evq_t *q, evq__state_t *st) {
  evq__link_t *next = st ? st->link.next : q->states.next;
  return next == &q->states ? NULL : state_of(next);
}
