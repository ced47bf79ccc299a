/*
 * Internal interfaces of evq: what the portable core (evq.c, timer.c,
 * registry.c) shares with the backends (one file each) and the platform
 * layer (src/unix/, src/win/). Nothing here is OS-specific; "sys.h" is found
 * on the include path the build sets per platform.
 */
#ifndef EVQ_INTERNAL_H
#define EVQ_INTERNAL_H

#include "evq.h"
#include "sys.h" /* evq_mutex_t, per platform */

#include <stdatomic.h>
#include <stdbool.h>

#define EVQ_DIRECTIONS (EVQ_READABLE | EVQ_WRITABLE | EVQ_PRIORITY)
#define EVQ_RESULTS                                                          \
  (EVQ_DIRECTIONS | EVQ_ERROR | EVQ_READ_CLOSED | EVQ_WRITE_CLOSED)

/* One registered descriptor. Lives in the registry's slot array, so its
 * address changes when the array grows: backends keep the id, not a
 * pointer. */
typedef struct evq_reg {
  evq_fd_t fd;
  uint32_t id;        /* slot index */
  uint32_t gen;       /* changes at every free and reuse of the slot */
  uintptr_t token;
  uint32_t interests; /* EVQ_DIRECTIONS the caller asked for */
  uint32_t armed;     /* directions that may still report (edge/oneshot) */
  uint8_t mode;       /* evq_mode_t */
  uintptr_t bdata;    /* backend's own per-registration value */
} evq_reg_t;

/* A kernel event as a backend hands it to the core: which registration
 * (slot id + generation, so a stale event for a reused slot is dropped) and
 * the EVQ_RESULTS flags seen. */
typedef struct evq_raw {
  uint64_t key; /* evq_key(id, gen) */
  uint32_t flags;
} evq_raw_t;

static inline uint64_t evq_key(uint32_t id, uint32_t gen) {
  return ((uint64_t)gen << 32) | id;
}

/* A timeout for kernels that take whole milliseconds: rounded up, so a
 * wait never ends early; at most max_ms (the core goes round again with
 * what is left); -1 for forever. */
static inline int64_t evq__timeout_ms(int64_t ns, int64_t max_ms) {
  if (ns < 0) return -1;
  int64_t ms = ns / 1000000 + (ns % 1000000 != 0);
  return ms > max_ms ? max_ms : ms;
}

/* Registry: slot array + descriptor -> slot map (registry.c). */
typedef struct evq_registry {
  evq_reg_t *slots;
  uint32_t nslots, cap, free_head, count;
  uint32_t *free_next;
  /* open-addressing map fd -> id+1 (0 = empty) */
  uint64_t *map_fd;
  uint32_t *map_id;
  uint32_t map_cap, map_used;
} evq_registry_t;

int evq__registry_init(evq_registry_t *r);
void evq__registry_free(evq_registry_t *r);
evq_reg_t *evq__registry_find(evq_registry_t *r, evq_fd_t fd);
/* Adds fd: 0 and *out, EVQ_EEXIST if present, or EVQ_ENOMEM. */
int evq__registry_add(evq_registry_t *r, evq_fd_t fd, evq_reg_t **out);
void evq__registry_remove(evq_registry_t *r, evq_reg_t *reg);
static inline evq_reg_t *evq__registry_get(evq_registry_t *r, uint64_t key) {
  uint32_t id = (uint32_t)key, gen = (uint32_t)(key >> 32);
  if (id >= r->nslots || r->slots[id].gen != gen) return NULL;
  return &r->slots[id];
}

/* Timer heap (timer.c): an intrusive pairing heap, ordered by deadline then
 * start sequence. */
typedef struct evq_timers {
  evq_timer_t *root;
  uint64_t seq;
  size_t count;
} evq_timers_t;

void evq__timers_insert(evq_timers_t *h, evq_timer_t *t); /* new seq */
void evq__timers_reinsert(evq_timers_t *h, evq_timer_t *t); /* keeps seq */
void evq__timers_remove(evq_timers_t *h, evq_timer_t *t);
static inline evq_timer_t *evq__timers_min(const evq_timers_t *h) {
  return h->root;
}

/* The backend interface. Each backend is one file defining one of these.
 * The core calls add/modify/remove/update/prepare with q->lock held; poll()
 * runs without it, on the one waiting thread, and must not touch the
 * registry (other threads change it meanwhile).
 */
typedef struct evq_backend_ops {
  const char *name;
  /* True when the backend emulates edge and oneshot (poll, IOCP): the core
   * then clears reg->armed bits as it delivers and calls update() for every
   * delivered registration. Native backends (epoll, kqueue) leave modes to
   * the kernel. */
  bool emulates_modes;
  /* True when a registration change made by another thread only takes
   * effect once the waiter goes round again (poll): the core kicks it. */
  bool changes_need_kick;
  int (*init)(evq_t *q);
  void (*destroy)(evq_t *q);
  int (*add)(evq_t *q, evq_reg_t *reg);
  int (*modify)(evq_t *q, evq_reg_t *reg);
  /* Must succeed for a descriptor closed while registered. */
  int (*remove)(evq_t *q, evq_reg_t *reg);
  /* An event for reg was delivered or reg->armed changed (emulating
   * backends only; may be NULL otherwise). */
  void (*update)(evq_t *q, evq_reg_t *reg);
  /* Called by the waiter just before poll(); may be NULL. */
  void (*prepare)(evq_t *q);
  /* Blocks up to timeout_ns (-1: forever, 0: not at all; the backend rounds
   * up to its resolution) and stores at most cap raw events. Returns the
   * count (0 on timeout, on EINTR, or when only the wake mechanism fired:
   * the core learns of wake-ups from q->wake_pending, not from here) or a
   * negative EVQ_E* code for a real error. */
  int (*poll)(evq_t *q, evq_raw_t *raw, int cap, int64_t timeout_ns);
  /* Makes a blocked poll() return; async-signal-safe. */
  void (*kick)(evq_t *q);
} evq_backend_ops_t;

/* Compiled-in backends, best first (backends.c). */
extern const evq_backend_ops_t *const evq__backends[];

struct evq {
  const evq_backend_ops_t *ops;
  void *bdata; /* backend state */
  evq_mutex_t lock;
  evq_registry_t reg;
  evq_timers_t timers;
  evq_raw_t *raw;
  uint32_t raw_cap;
  uintptr_t wake_token;
  atomic_int waiting;      /* a thread is inside evq_wait() */
  atomic_int sleeping;     /* that thread is (about to be) blocked in poll;
                              backends may read it under the lock (IOCP
                              submits at once only when it is set) */
  atomic_int wake_pending; /* evq_wake() called, event not yet delivered */
  atomic_int kick_pending; /* a kick is in flight */
  int64_t sleep_until;     /* deadline the sleeping waiter uses; -1 none */
};

/* Platform layer (src/unix/, src/win/). */
/* evq__mutex_lock and evq__mutex_unlock are declared by sys.h, which may
 * define them inline. */
int evq__mutex_init(evq_mutex_t *m);
void evq__mutex_free(evq_mutex_t *m);
const char *evq__getenv(const char *name);

/* Called by the I/O helpers when an operation hit would-block. */
void evq__io_blocked(evq_t *q, evq_fd_t fd, uint32_t directions);

#endif /* EVQ_INTERNAL_H */
