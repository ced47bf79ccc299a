/*
 * Translation (translate.c): raw kernel events into the caller's, under the
 * lock, on the waiter. Above the sources, whose events it hands on.
 */
#ifndef EVQ_TRANSLATE_H
#define EVQ_TRANSLATE_H

#include "queue.h"

/* translate.c: raw kernel events into caller events, under the lock, for
 * a backend that is not q->plain (evq.c keeps the plain loop, the hottest
 * path, where the call it would cost is not paid). */
int evq__translate(evq_t *q, evq__raw_t *raw, int count, evq_event_t *out);

/* The descriptor registration a raw event is for, or NULL: a key no
 * registration has is reported stale; with others set, an event for
 * another kind of source becomes that source's event at out[*n]. Inline:
 * the per-event path of every translation loop. */
static inline evq__reg_t *evq__raw_reg(evq_t *q, const evq__raw_t *raw,
                                       bool others, evq_event_t *out,
                                       int *n) {
  evq__reg_t *reg = evq__registry_get(&q->registry, raw->key);
  if (!reg) {
    evq__report_stale(q, raw->key);
    return NULL;
  }
  if (others && reg->kind != EVQ__KIND_FD) {
    *n += evq__sources[reg->kind]->event(q, reg, raw->flags, out + *n);
    return NULL;
  }
  return reg;
}

#endif /* EVQ_TRANSLATE_H */
