/*
 * Translation: raw kernel events into the caller's events, under the queue
 * lock, on the waiting thread. This is where "nothing after deregister"
 * is kept (a key whose registration is gone or replaced is dropped), where
 * the modes the core emulates act (edge and oneshot on poll and IOCP, edge
 * on io_uring, oneshot on kqueue), where what a kernel reports apart (read
 * and write on kqueue) becomes one event per registration, and where the
 * events of other kinds (a child's exit) go to their source (core.h). Per
 * event it is the hottest path of evq: the plain loop, for a backend like
 * epoll that needs none of that, lives in evq.c (translate_plain).
 */
#include "translate.h"

#include "io.h"

/* Under q->lock: the flags of one raw event that reach the caller, after
 * emulated edge and oneshot (emulated: the backend's emulated_modes); 0 for
 * none. */
static inline uint32_t deliverable(evq_t *q, evq__reg_t *reg,
                                   uint32_t raw_flags, uint32_t emulated) {
  uint32_t flags = evq__wanted_flags(reg, raw_flags);
  if (emulated == 0 || !((emulated >> reg->mode) & 1u))
    return evq__native_oneshot(reg, flags);
  /* Only a delivered armed direction disarms: a raw event for directions
   * no longer armed (the caller modified the registration while the kernel
   * reported) must not silence the new ones. */
  uint32_t dirs = flags & reg->armed & EVQ__DIRECTIONS;
  /* Hang-up and error are reported whatever is asked, and stay: once they
   * come, an emulated registration stops watching until re-armed, or a
   * poll that asks only for what is not armed (priority, say) would wake
   * at once, every round, and deliver nothing: a spin. */
  bool final = (raw_flags & EVQ_ERROR) ||
               (raw_flags & EVQ__HANGUP) == EVQ__HANGUP;
  if (dirs || (final && reg->armed)) {
    reg->armed = reg->mode == EVQ_ONESHOT || final ? 0 : reg->armed & ~dirs;
    q->ops->rearm(q->b, reg);
  }
  return dirs ? dirs | (flags & ~(uint32_t)EVQ__DIRECTIONS) : 0;
}

/* Under q->lock: lets the backend finish the kernel request behind each
 * raw event (complete()), keeping those it does not drop. */
static int complete_all(evq_t *q, evq__raw_t *raw, int count) {
  int n = 0;
  for (int i = 0; i < count; i++)
    if (q->ops->complete(q->b, &raw[i])) raw[n++] = raw[i];
  return n;
}

/* reg->merge: the round (one per translation) and the index of the event a
 * registration got in it. Rounds never wrap in practice (2^44); indexes are
 * below raw_cap, at most EVQ__LIMIT_MAX_EVENTS. */
#define MERGE_INDEX_BITS 20
_Static_assert(EVQ__LIMIT_MAX_EVENTS <= (1u << MERGE_INDEX_BITS), "merge index");

/* translate() for a kernel that reports read and write apart: one event
 * per registration, carrying every flag seen. A second report in the same
 * round adds its flags whatever the first disarmed: it was armed when the
 * round began. */
static int translate_merging(evq_t *q, const evq__raw_t *raw, int count,
                             evq_event_t *out) {
  const uint32_t emulated = q->emulated;
  const uint64_t round = ++q->round;
  int n = 0;
  for (int i = 0; i < count; i++) {
    if (raw[i].flags & EVQ_OP) { /* an operation's, not a registration's */
      n += evq__io_completion(q, &raw[i], out + n);
      continue;
    }
    evq__reg_t *reg = evq__raw_reg(q, &raw[i], true, out, &n);
    if (!reg) continue;
    if (reg->merge >> MERGE_INDEX_BITS == round) {
      out[reg->merge & ((1u << MERGE_INDEX_BITS) - 1)].flags |=
          raw[i].flags & EVQ__RESULTS &
          (reg->interests | ~(uint32_t)EVQ__DIRECTIONS);
      continue;
    }
    uint32_t flags = deliverable(q, reg, raw[i].flags, emulated);
    if (flags == 0) continue;
    reg->merge = round << MERGE_INDEX_BITS | (uint32_t)n;
    out[n++] = (evq_event_t){reg->token, flags, raw[i].data};
  }
  return n;
}

/* Under q->lock: turns raw kernel events into caller events, dropping any
 * whose registration is gone (deregistered or replaced meanwhile),
 * applying emulated modes, merging split reports, and handing events of
 * other kinds (a child's exit) to their source. */
int evq__translate(evq_t *q, evq__raw_t *raw, int count, evq_event_t *out) {
  if (q->ops->complete) count = complete_all(q, raw, count);
  if (q->ops->splits_directions)
    return translate_merging(q, raw, count, out);
  const uint32_t emulated = q->emulated;
  int n = 0;
  for (int i = 0; i < count; i++) {
    if (raw[i].flags & EVQ_OP) {
      n += evq__io_completion(q, &raw[i], out + n);
      continue;
    }
    evq__reg_t *reg = evq__raw_reg(q, &raw[i], true, out, &n);
    if (!reg) continue;
    uint32_t flags = deliverable(q, reg, raw[i].flags, emulated);
    if (flags == 0) continue;
    out[n++] = (evq_event_t){reg->token, flags, raw[i].data};
  }
  return n;
}

