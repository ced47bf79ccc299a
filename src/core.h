/*
 * The portable core's own declarations: the queue, the registry and the
 * timers. Only the core files (evq.c, registry.c, timer.c, lifetime.c)
 * include this; backends see backend.h alone. Nothing here is
 * OS-specific: "sys.h" (the lock) comes from the platform directory the
 * build puts on the include path.
 */
#ifndef EVQ_CORE_H
#define EVQ_CORE_H

#include "backend.h"
#include "sys.h"

#include <stdatomic.h>

/* a + b for b >= 0, saturating at INT64_MAX (deadlines far away). */
static inline int64_t evq__add_sat(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---- Registry (registry.c): slots with generations, ident -> slot map -- */
typedef struct evq__registry {
  evq__reg_t *slots;
  uint32_t nslots, cap, free_head, count;
  uint32_t *free_next;
  /* Open addressing, keyed by ident with the kind in the top byte: map_id
   * holds slot id + 1, 0 for an empty cell. */
  uint64_t *map_key;
  uint32_t *map_id;
  uint32_t map_cap, map_used;
} evq__registry_t;

void evq__registry_init(evq__registry_t *r);
void evq__registry_free(evq__registry_t *r);
evq__reg_t *evq__registry_find(evq__registry_t *r, uint8_t kind,
                               uint64_t ident);
/* Adds (kind, ident): 0 and *out, EVQ_EEXIST if present, or EVQ_ENOMEM. */
int evq__registry_add(evq__registry_t *r, uint8_t kind, uint64_t ident,
                      evq__reg_t **out);
void evq__registry_remove(evq__registry_t *r, evq__reg_t *reg);
static inline evq__reg_t *evq__registry_get(evq__registry_t *r,
                                            uint64_t key) {
  uint32_t id = (uint32_t)key, gen = (uint32_t)(key >> 32);
  if (id >= r->nslots || r->slots[id].gen != gen) return NULL;
  return &r->slots[id];
}

/* ---- Timers (timer.c) --------------------------------------------------
 * The layout behind the caller's opaque evq_timer_t. The heap is ordered by
 * (lower_bound, seq). lower_bound is never later than due: a timer pushed
 * later keeps its place with a stale key and is re-keyed when it reaches
 * the top, which makes the common restart O(1). */
typedef struct evq__timer {
  struct evq__timer *child, *next, *prev; /* pairing-heap links */
  _Atomic(evq_t *) owner; /* the queue it runs on; NULL when idle */
  int64_t lower_bound;    /* heap key: a lower bound of due */
  int64_t due;            /* when it really expires */
  int64_t period;
  uint64_t seq;           /* tie-break: start order */
  uint64_t restart_seq;   /* start order of a restart not yet re-keyed */
  uintptr_t token;
} evq__timer_t;

typedef struct evq__timers {
  evq__timer_t *root;
  uint64_t seq;
  size_t count;
} evq__timers_t;

/* The heap itself; exposed for the unit test of its order. insert gives t
 * the next start sequence, reinsert keeps t's. */
void evq__timers_insert(evq__timers_t *h, evq__timer_t *t);
void evq__timers_reinsert(evq__timers_t *h, evq__timer_t *t);
void evq__timers_remove(evq__timers_t *h, evq__timer_t *t);
/* Under the lock: moves due timers into out (at most cap) and returns how
 * many; periodic ones go back in at their next expiry after now. */
int evq__timers_expire(evq_t *q, evq_event_t *out, int cap, int64_t now);
/* evq_free: leaves every timer of q stopped (the storage is the caller's). */
void evq__timers_drop(evq_t *q);
/* The earliest heap key, or -1 with no timer running. */
static inline int64_t evq__timers_next(const evq__timers_t *h) {
  return h->root ? h->root->lower_bound : -1;
}

/* ---- Signals and children (signal.c, child.c) --------------------------
 * A queue's signal state, made at its first subscription. The platform's
 * handler reaches it through evq__signal_raised, from any thread and in
 * signal context, so what it touches is atomic. */
#define EVQ__NSIG 128
typedef struct evq__signals {
  _Atomic uint64_t wanted[EVQ__NSIG / 64]; /* signals q counts */
  atomic_uint count[EVQ__NSIG];  /* deliveries not yet reported */
  atomic_int pending;            /* some count may be non-zero */
  atomic_int child_pending;      /* the child signal came: scan children */
  uint8_t refs[EVQ__NSIG];       /* why q watches a signal: the caller's
                                    subscription, children watched by it */
} evq__signals_t;

/* ---- The queue --------------------------------------------------------- */
struct evq {
  const evq__backend_t *ops;
  void *b;        /* the backend's state */
  bool plain;     /* translation needs no complete(), merging, emulated
                     modes or kinds other than descriptors */
  bool ops_plain; /* what the backend alone would allow of that */
  uint8_t emulated; /* modes the core emulates (the backend's choice) */
  evq__mutex_t lock;
  evq__registry_t registry;
  evq__timers_t timers;
  evq__link_t states;  /* list of the per-registration states */
  evq__raw_t *raw;
  uint32_t raw_cap;
  uint64_t round;          /* translations so far: tags merged events */
  uint64_t rounds;         /* turns of the wait loop: evq__wait_rounds */
  uintptr_t wake_token;
  atomic_int waiting;      /* a thread is inside evq_wait() */
  atomic_int sleeping;     /* that thread is (about to be) blocked in poll */
  atomic_int wake_pending; /* evq_wake() called, event not yet delivered */
  atomic_int kick_pending; /* a kick is in flight */
  int64_t sleep_until;     /* deadline the sleeping waiter uses; -1 none */
  atomic_int embedded;     /* evq_fd() was asked: kick even when no thread
                              sleeps, so a host loop sees the change */
  _Atomic(evq__signals_t *) sig;
  uint32_t child_native;   /* children the backend watches */
  uint32_t child_fallback; /* children watched through the child signal */
  int options;             /* EVQ_OPT_* */
  char why[96];            /* evq_create: why the backend is unavailable */
};

/* The turns the wait loop has made, for the suite's spin rule
 * (docs/reliability.md): a wait that reports nothing sleeps in the backend
 * once, and a few more turns at most (a kick, a completion that carries
 * nothing for the caller), so many turns in one empty wait are a spin,
 * whatever the machine's load, which CPU time could not tell. */
uint64_t evq__wait_rounds(evq_t *q);

/* Under the lock: makes a change visible to a waiter blocked in the kernel
 * (a nearer timer; a change the backend applies in prepare()). */
void evq__kick_waiter(evq_t *q);

/* lifetime.c: the core's side of evq__state_t. */
void evq__states_init(evq_t *q);
/* The registration behind st is gone: free st now if nothing is in flight. */
void evq__state_detach(evq_t *q, evq__state_t *st);
/* evq_free, before the backend's destroy(): detach every state. */
void evq__states_detach_all(evq_t *q);

/* The most events one wait fetches from the kernel (max_events' cap). */
#define EVQ__LIMIT_MAX_EVENTS 65536u

/* translate.c: raw kernel events into caller events, under the lock, for
 * a backend that is not q->plain (evq.c keeps the plain loop, the hottest
 * path, where the call it would cost is not paid). */
int evq__translate(evq_t *q, evq__raw_t *raw, int count, evq_event_t *out);
/* A raw event whose registration is gone: the backend may clean up. */
void evq__report_stale(evq_t *q, uint64_t key);

/* The flags of a raw event the caller asked for (or always gets). */
static inline uint32_t evq__wanted_flags(const evq__reg_t *reg,
                                         uint32_t raw_flags) {
  return raw_flags & (reg->interests | ~(uint32_t)EVQ__DIRECTIONS) &
         EVQ__RESULTS;
}

/* Kicks the waiter if it sleeps, or always once embedded; async-signal-
 * safe (evq_wake and the signal handler use it). */
void evq__kick_if_needed(evq_t *q);

/* Removes a live registration: backend, lifetime state, platform handle,
 * registry. Under the lock. */
void evq__drop(evq_t *q, evq__reg_t *reg, bool closing);

/* signal.c: the core's side of signals. */
int evq__signals_take(evq_t *q, evq_event_t *out, int cap);
void evq__signals_free(evq_t *q);
/* Counts a watch of signo by q (the caller's or the child fallback's);
 * subscribes q with the platform at the first. Under the lock. */
int evq__signal_ref(evq_t *q, int signo);
void evq__signal_unref(evq_t *q, int signo);
/* Called by the platform's handler: async-signal-safe. */
void evq__signal_raised(evq_t *q, int signo);

/* child.c: the core's side of child processes. */
int evq__child_event(evq_t *q, evq__reg_t *reg, evq_event_t *out);
void evq__child_dropped(evq_t *q, evq__reg_t *reg);
int evq__children_take(evq_t *q, evq_event_t *out, int cap);
void evq__children_free(evq_t *q);

/* Platform layer (src/unix/, src/win/). */
/* One line to stderr (EVQ_BACKEND named a backend that cannot be used). */
void evq__complain(const char *fmt, const char *a, const char *b);
int evq__mutex_init(evq__mutex_t *m);
void evq__mutex_free(evq__mutex_t *m);
/* Signals: 0 if signo can be caught, else EVQ_EINVAL. */
int evq__sig_check(int signo);
/* Puts q on the handler's list for signo (installing the handler at the
 * first queue), or takes it off (restoring the disposition at the last);
 * after unwatch returns no handler touches q for signo. Any thread. */
int evq__sig_watch(evq_t *q, int signo);
void evq__sig_unwatch(evq_t *q, int signo);
/* Children: the signal that says a child changed state (SIGCHLD), or 0. */
int evq__child_signal(void);
/* Checks pid is a child this process can wait for and sets reg->handle to
 * what a backend can poll (a pidfd, a process handle) or -1. 0, EVQ_ENOENT
 * or EVQ_ENOMEM. */
int evq__child_open(evq__reg_t *reg);
/* 1 and the event's flags and data if the child ended (and is reaped),
 * 0 if it still runs, or an EVQ_E* code. */
int evq__child_reap(evq__reg_t *reg, uint32_t *flags, uint32_t *data);
void evq__child_close(evq__reg_t *reg);

#endif /* EVQ_CORE_H */
