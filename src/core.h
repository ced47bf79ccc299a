/*
 * The portable core's own declarations. Its files, from the top down (each
 * calls only the ones below it):
 *   evq.c         the API of queues and registrations, the wait loop
 *   translate.c   raw kernel events into the caller's (translate.h)
 *   sources.c     the table of sources other than descriptors:
 *   signal.c, child.c, timer.c   signals, children, timers
 *   queue.c       what every source needs: kick, change, drop (queue.h)
 *   registry.c, lifetime.c   registrations; backend states that outlive one
 * Only core files include this; backends see backend.h alone. Nothing here
 * is OS-specific: "sys.h" (the lock) comes from the platform directory the
 * build puts on the include path.
 */
#ifndef EVQ_CORE_H
#define EVQ_CORE_H

#include "backend.h"
#include "sys.h"

#include <stdatomic.h>

/* a + b for b >= 0, saturating at INT64_MAX (deadlines far away). */
static inline int64_t evq__add_sat(int64_t a, int64_t b) {
#if defined(__GNUC__) || defined(__clang__)
  int64_t r; /* an add and a select: on every timer start */
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
#else
  return a > INT64_MAX - b ? INT64_MAX : a + b;
#endif
}

/* ---- Registry (registry.c): slots with generations; descriptors by index,
 * other idents through a map ---------------------------------------------- */
#define EVQ__BY_FD_MAX (1u << 20)

typedef struct evq__registry {
  evq__reg_t *slots;
  uint32_t nslots, cap, free_head, count;
  uint32_t others; /* live registrations of kinds other than a descriptor */
  uint32_t io;     /* of them, sockets with operations (kind IO) */
  uint32_t *free_next;
  /* Descriptors below EVQ__BY_FD_MAX (the array then takes at most 4 MiB):
   * by_fd[fd] holds slot id + 1, 0 for none; by_fd_cap cells, grown to the
   * highest such descriptor added. */
  uint32_t *by_fd;
  uint32_t by_fd_cap;
  /* Everything else (other kinds, larger descriptors): open addressing,
   * keyed by ident with the kind in the top byte; map_id holds slot id + 1,
   * 0 for an empty cell. */
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
  _Atomic uint64_t raised[EVQ__NSIG / 64]; /* came since its last look
                                    (evq__signal_seen): the child signal's
                                    tells the child source to look */
  uint8_t refs[EVQ__NSIG];       /* why q watches a signal: the caller's
                                    subscription, children watched by it */
} evq__signals_t;

/* ---- The queue --------------------------------------------------------- */
struct evq {
  const evq__backend_t *ops;
  void *b;        /* the backend's state */
  bool plain;     /* translation needs no complete(), merging, emulated
                     modes or kinds other than descriptors (queue.c) */
  bool ops_plain; /* what the backend alone would allow of that */
  uint8_t emulated; /* modes the core emulates (the backend's choice) */
  uint32_t io_native; /* kinds of operation the backend carries out
                         (1u << EVQ_IO_*); the core emulates the rest */
  uint32_t io_multishot; /* of the multishot kinds, those whose kernel
                            request goes on by itself (else evq re-posts) */
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
  uint32_t watched_others; /* registrations of kinds other than a
                              descriptor that the backend watches */
  uint32_t child_fallback; /* children watched through the child signal */
  struct evq__io *io;      /* completion operations (io.c), made at the
                              first operation or pool */
  int options;             /* EVQ_OPT_* */
  char why[96];            /* evq_create: why the backend is unavailable */
};

/* The turns the wait loop has made, for the suite's spin rule
 * (docs/reliability.md): a wait that reports nothing sleeps in the backend
 * once, and a few more turns at most (a kick, a completion that carries
 * nothing for the caller), so many turns in one empty wait are a spin,
 * whatever the machine's load, which CPU time could not tell. */
uint64_t evq__wait_rounds(evq_t *q);

/* lifetime.c: the core's side of evq__state_t. */
void evq__states_init(evq_t *q);
/* The registration behind st is gone: free st now if nothing is in flight. */
void evq__state_detach(evq_t *q, evq__state_t *st);
/* The same for reg's state, if its backend keeps one. */
static inline void evq__state_release(evq_t *q, evq__reg_t *reg) {
  if (q->ops->keeps_states && reg->bstate) evq__state_detach(q, reg->bstate);
  reg->bstate = NULL;
}
/* evq_free, before the backend's destroy(): detach every state. */
void evq__states_detach_all(evq_t *q);

/* The most events one wait fetches from the kernel (max_events' cap). */
#define EVQ__LIMIT_MAX_EVENTS 65536u


/* The flags of a raw event the caller asked for (or always gets). */
static inline uint32_t evq__wanted_flags(const evq__reg_t *reg,
                                         uint32_t raw_flags) {
  return raw_flags & (reg->interests | ~(uint32_t)EVQ__DIRECTIONS) &
         EVQ__RESULTS;
}

/* The flags of a native oneshot's event (the kernel does oneshot: epoll,
 * io_uring): the first since the registration was last armed (evq_register,
 * evq_modify), which disarms it, or none. The kernel delivers one report
 * per arming, but a report it collected for the previous arming, translated
 * after an evq_modify from another thread, counts for the new one: the
 * kernel's own report for it must then not follow (D22 in
 * docs/reliability.md). That the core knows it disarmed also lets a
 * backend rebuilding its kernel state leave it out. */
static inline uint32_t evq__native_oneshot(evq__reg_t *reg, uint32_t flags) {
  if (reg->mode != EVQ_ONESHOT || flags == 0) return flags;
  if (reg->armed == 0) return 0;
  reg->armed = 0;
  return flags;
}

/* ---- Sources of events other than descriptors (sources.c) --------------
 * Each kind of registration that is not a descriptor (signals, children)
 * is one table: the wait loop takes what is pending, evq_next_timeout asks
 * whether anything is, translation hands it a backend's report, and
 * evq_free makes it forget every registration, then frees it. All under
 * the lock. */
typedef struct evq__source {
  /* What is pending, into out (at most cap); what does not fit waits. */
  int (*take)(evq_t *q, evq_event_t *out, int cap);
  /* Whether take() would give something now. */
  bool (*pending)(evq_t *q);
  /* A backend reported reg (a child's pidfd, a socket with operations)
   * with flags: 1 and its event in out, or 0. NULL for kinds no backend
   * watches. */
  int (*event)(evq_t *q, evq__reg_t *reg, uint32_t flags, evq_event_t *out);
  /* reg (a copy: the registry has dropped it) is gone: let go of what the
   * source holds for it. */
  void (*forget)(evq_t *q, const evq__reg_t *reg);
  /* evq_free, once every registration is forgotten. May be NULL. */
  void (*free)(evq_t *q);
  /* take() is asked again after the kernel's events even in a round that
   * took something before the poll: what it gives is new each time
   * (operations' results), where a signal or a wake-up taken twice in a
   * round would be one event reported twice. */
  bool again;
} evq__source_t;

#define EVQ__KINDS 4
/* Indexed by enum evq__kind; NULL for descriptors. */
extern const evq__source_t *const evq__sources[EVQ__KINDS];
extern const evq__source_t evq__source_signal, evq__source_child,
    evq__source_io;

/* signal.c: what other sources need of signals. Under the lock. */
/* Counts a watch of signo by q (the caller's or the child fallback's);
 * subscribes q with the platform at the first. */
int evq__signal_ref(evq_t *q, int signo);
void evq__signal_unref(evq_t *q, int signo);
/* Whether signo came since the last call (and forgets that it did); peek
 * only looks; mark makes the next look see it. For a signal q watches. */
bool evq__signal_seen(evq_t *q, int signo);
bool evq__signal_peek(evq_t *q, int signo);
void evq__signal_mark(evq_t *q, int signo);
/* Called by the platform's handler: async-signal-safe. */
void evq__signal_raised(evq_t *q, int signo);

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
