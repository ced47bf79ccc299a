/*
 * The portable core: queue lifecycle, registration, the wait loop and
 * wake-ups (timers are in timer.c). It knows nothing of any OS; backends
 * (one file each, behind backend.h) and the platform layer do the system
 * work.
 *
 * Concurrency model. One thread at a time may be inside evq_wait(); it
 * blocks in the backend without holding q->lock and takes the lock only to
 * turn raw kernel events into evq_event_t. Every other call takes the lock,
 * so a deregistration is ordered either entirely before that translation
 * (the event is dropped by the generation check) or after it (the event was
 * already handed out). When a change from another thread must reach a
 * sleeping waiter (a nearer timer, a change the backend applies in
 * prepare()), the core kicks it.
 */
#include "translate.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_EVENTS 256u

/* ---- lifecycle --------------------------------------------------------- */

static const evq__backend_t *find_backend(const char *name) {
  if (!name || !*name) return evq__backends[0];
  for (int i = 0; evq__backends[i]; i++)
    if (strcmp(evq__backends[i]->name, name) == 0) return evq__backends[i];
  return NULL;
}

int evq_backends(const char **names, int cap) {
  int n = 0;
  for (; evq__backends[n]; n++)
    if (names && n < cap) names[n] = evq__backends[n]->name;
  return n;
}

static bool options_ok(const evq_options_t *o) {
  if (o->flags & ~(uint32_t)(EVQ_OPT_EINTR | EVQ_OPT_ONE_WAITER)) return false;
  for (size_t i = 0; i < sizeof o->reserved / sizeof o->reserved[0]; i++)
    if (o->reserved[i]) return false;
  return true;
}

/* Makes a queue on ops; on failure why (if not NULL) says why in words. */
static int create(evq_t **out, const evq__backend_t *ops,
                  const evq_options_t *opts, char *why, size_t cap) {
  uint32_t max = opts->max_events ? opts->max_events : DEFAULT_MAX_EVENTS;
  if (max > EVQ__LIMIT_MAX_EVENTS) max = EVQ__LIMIT_MAX_EVENTS;
  evq_t *q = calloc(1, sizeof *q);
  if (!q) return EVQ_ENOMEM;
  q->ops = ops;
  q->emulated = ops->emulated_modes;
  q->options = (int)opts->flags;
  q->wake_token = opts->wake_token;
  q->raw_cap = max;
  q->sleep_until = -1;
  evq__registry_init(&q->registry);
  evq__states_init(q);
  q->raw = malloc(sizeof *q->raw * max);
  int rc = q->raw ? evq__mutex_init(&q->lock) : EVQ_ENOMEM;
  if (rc == 0) {
    rc = ops->init(q, max, &q->b);
    if (rc != 0) evq__mutex_free(&q->lock);
  }
  if (rc != 0) {
    if (why && cap) {
      const char *w = q->why[0] ? q->why : evq_strerror(rc);
      size_t n = strlen(w) < cap - 1 ? strlen(w) : cap - 1;
      memcpy(why, w, n);
      why[n] = '\0';
    }
    free(q->raw);
    free(q);
    return rc;
  }
  /* Known once init chose the modes it emulates. */
  q->ops_plain = !ops->complete && !ops->splits_directions && !q->emulated;
  evq__set_plain(q);
  *out = q;
  return 0;
}

/* Appends text to buf (cap bytes, *n used), cutting it to fit. */
static void append(char *buf, size_t cap, size_t *n, const char *text) {
  while (*text && *n + 1 < cap) buf[(*n)++] = *text++;
  buf[*n] = '\0';
}

/* Why a name is no backend here, in the same words for evq_backend_check()
 * and for EVQ_BACKEND: "not a backend of this build (it has: epoll, poll)". */
static void absent(char *why, size_t cap) {
  size_t n = 0;
  if (!why || !cap) return;
  append(why, cap, &n, "not a backend of this build (it has: ");
  for (int i = 0; evq__backends[i]; i++) {
    append(why, cap, &n, evq__backends[i]->name);
    append(why, cap, &n, evq__backends[i + 1] ? ", " : ")");
  }
}

int evq_create(evq_t **out, const evq_options_t *opts) {
  static const evq_options_t defaults = {0};
  if (!out) return EVQ_EINVAL;
  *out = NULL;
  if (!opts) opts = &defaults;
  if (!options_ok(opts)) return EVQ_EINVAL;
  const char *env = opts->backend ? NULL : evq__getenv("EVQ_BACKEND");
  const char *name = opts->backend ? opts->backend : env;
  const evq__backend_t *ops = find_backend(name);
  char why[128];
  int rc = ops ? create(out, ops, opts, why, sizeof why) : EVQ_ENOTSUP;
  if (!ops) absent(why, sizeof why);
  /* The variable is set by a person trying a backend: tell them why it
   * cannot be used, once per failed creation. A program that names one in
   * evq_options_t gets the same words from evq_backend_check(). */
  if (rc != 0 && env && *env)
    evq__complain("evq: EVQ_BACKEND=%s: %s\n", env, why);
  return rc;
}

int evq_backend_check(const char *name, char *why, size_t cap) {
  static const evq_options_t defaults = {0};
  if (!name) return EVQ_EINVAL;
  const evq__backend_t *ops = find_backend(*name ? name : NULL);
  if (!ops) {
    absent(why, cap);
    return EVQ_ENOTSUP;
  }
  evq_t *q;
  int rc = create(&q, ops, &defaults, why, cap);
  if (rc == 0) {
    evq_free(q);
    if (why && cap) why[0] = '\0';
  }
  return rc;
}

void evq__set_emulated_modes(evq_t *q, uint8_t modes) { q->emulated = modes; }

void evq__set_io_native(evq_t *q, uint32_t kinds) { q->io_native = kinds; }

void evq__set_io_multishot(evq_t *q, uint32_t kinds) {
  q->io_multishot = kinds;
}

uint32_t evq__options(const evq_t *q) { return (uint32_t)q->options; }

void evq__unavailable(evq_t *q, const char *why) {
  size_t n = strlen(why) < sizeof q->why - 1 ? strlen(why) : sizeof q->why - 1;
  memcpy(q->why, why, n);
  q->why[n] = '\0';
}

/* evq_free: every registration of another kind than a descriptor is
 * dropped and forgotten by its source (a child's watch ends without
 * reaping; a signal's subscription ends), then each source is freed (after
 * signal.c's, no signal handler touches q). As for a descriptor about to be
 * closed, backends skip kernel calls the queue's end makes moot: in a
 * child made by fork() the epoll instance is the parent's, and a removal
 * there would end the parent's watch. */
static void sources_free(evq_t *q) {
  uint32_t cursor = 0;
  evq__reg_t *reg;
  while (q->registry.others && (reg = evq__registry_next(q, &cursor))) {
    if (reg->kind == EVQ__KIND_FD) continue;
    evq__reg_t gone = *reg;
    evq__drop(q, reg, true);
    evq__sources[gone.kind]->forget(q, &gone);
  }
  for (int k = 0; k < EVQ__KINDS; k++)
    if (evq__sources[k] && evq__sources[k]->free) evq__sources[k]->free(q);
}

void evq_free(evq_t *q) {
  if (!q) return;
  sources_free(q);
  evq__timers_drop(q);
  evq__states_detach_all(q);
  q->ops->destroy(q->b);
  evq__registry_free(&q->registry);
  evq__mutex_free(&q->lock);
  free(q->raw);
  free(q);
}

const char *evq_backend(const evq_t *q) { return q ? q->ops->name : NULL; }

/* ---- registration ------------------------------------------------------ */

/* One unsigned compare per range (interests 1..7, modes 1..3). */
_Static_assert(EVQ__DIRECTIONS == 7 && EVQ_EDGE == 1 && EVQ_LEVEL == 2 &&
                   EVQ_ONESHOT == 3,
               "check_args' ranges");
static int check_args(evq_t *q, evq_fd_t fd, uint32_t interests,
                      evq_mode_t mode) {
  if (!q) return EVQ_EINVAL;
  if (interests - 1 >= EVQ__DIRECTIONS) return EVQ_EINVAL;
  if ((unsigned)mode - 1 >= 3) return EVQ_EINVAL;
  if ((intptr_t)fd < 0) return EVQ_EBADF;
  return 0;
}

static evq__reg_t *find_fd(evq_t *q, evq_fd_t fd) {
  return evq__registry_find_fd(&q->registry, fd);
}

int evq_register(evq_t *q, evq_fd_t fd, uint32_t interests, evq_mode_t mode,
                 uintptr_t token) {
  int rc = check_args(q, fd, interests, mode);
  if (rc != 0) return rc;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg = NULL;
  /* One model per socket (evq_io.h): not while it has operations here. */
  if (q->io && evq__registry_find(&q->registry, EVQ__KIND_IO, (uint64_t)fd))
    rc = EVQ_EEXIST;
  else
    rc = evq__registry_add_fd(&q->registry, fd, interests, (uint8_t)mode,
                              token, &reg);
  if (rc == 0) {
    rc = q->ops->add(q->b, reg);
    if (rc != 0) {
      evq__state_release(q, reg);
      evq__registry_drop(&q->registry, reg);
    } else {
      reg->watched = true; /* evq__watched: a descriptor counts nowhere */
      evq__changed(q);
    }
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_modify(evq_t *q, evq_fd_t fd, uint32_t interests, evq_mode_t mode,
               uintptr_t token) {
  int rc = check_args(q, fd, interests, mode);
  if (rc != 0) return rc;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg = find_fd(q, fd);
  if (!reg) {
    rc = EVQ_ENOENT;
  } else {
    evq__reg_t saved = *reg;
    evq__conf_t old = {.interests = reg->interests, .mode = reg->mode};
    reg->token = token;
    reg->interests = reg->armed = interests;
    reg->mode = (uint8_t)mode;
    rc = q->ops->modify(q->b, reg, old);
    if (rc != 0)
      *reg = saved;
    else
      evq__changed(q);
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_deregister(evq_t *q, evq_fd_t fd) {
  if (!q) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg = find_fd(q, fd);
  if (reg) evq__drop(q, reg, false);
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

int evq_deregister_close(evq_t *q, evq_fd_t fd) {
  if (!q) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg = find_fd(q, fd);
  if (reg) evq__drop(q, reg, true);
  evq__mutex_unlock(&q->lock);
  if (!reg) return EVQ_ENOENT;
  return evq_close(fd);
}

int evq_rearm(evq_t *q, evq_fd_t fd, uint32_t directions) {
  if (!q || directions == 0 ||
      (directions & ~(uint32_t)(EVQ_READABLE | EVQ_WRITABLE)))
    return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg = find_fd(q, fd);
  if (reg && reg->mode == EVQ_EDGE &&
      (q->emulated & (1u << EVQ_EDGE))) {
    uint32_t armed = reg->armed | (directions & reg->interests);
    if (armed != reg->armed) {
      reg->armed = armed;
      q->ops->rearm(q->b, reg);
      evq__changed(q);
    }
  }
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

void evq__io_blocked(evq_t *q, evq_fd_t fd, uint32_t directions) {
  if (q && (q->emulated & (1u << EVQ_EDGE)))
    (void)evq_rearm(q, fd, directions);
}

/* ---- waiting ----------------------------------------------------------- */

static int take_wake(evq_t *q, evq_event_t *out) {
  if (!atomic_load(&q->wake_pending) || !atomic_exchange(&q->wake_pending, 0))
    return 0;
  out->token = q->wake_token;
  out->flags = EVQ_WAKE;
  out->data = 0;
  return 1;
}

/* Under the lock: what the sources other than descriptors have pending
 * (signals, children through the child signal, operations' results);
 * again: only those whose take() may run twice in a round. */
static int take_sources(evq_t *q, evq_event_t *out, int cap, bool again) {
  /* A queue whose only other registrations are sockets with operations
   * (the common server) asks no signal or child source. */
  bool only_io = q->registry.others == q->registry.io;
  int n = 0;
  for (int k = 0; k < EVQ__KINDS && n < cap; k++)
    if (evq__sources[k] && (!again || evq__sources[k]->again) &&
        (!only_io || k == EVQ__KIND_IO))
      n += evq__sources[k]->take(q, out + n, cap - n);
  return n;
}

/* Some source may have something: a registration of another kind than a
 * descriptor, or operations' state (a result can wait with no record). */
static inline bool has_sources(const evq_t *q) {
  return q->registry.others || q->io;
}

static bool sources_pending(evq_t *q) {
  for (int k = 0; k < EVQ__KINDS; k++)
    if (evq__sources[k] && evq__sources[k]->pending(q)) return true;
  return false;
}

/* Under the lock: what is pending without the kernel's help. Inline, with
 * the sources behind one test: a queue with no registration of another
 * kind than a descriptor walks none of them, and each wait (which asks
 * twice) would otherwise pay about 75 instructions, a sixth of a
 * one-connection round trip (docs/performance.md). */
static inline int take_pending(evq_t *q, evq_event_t *out, int cap) {
  if (cap < 1) return 0;
  int n = take_wake(q, out);
  if (has_sources(q)) n += take_sources(q, out + n, cap - n, false);
  return n;
}

/* translate() for a backend that needs none of complete(), merging and
 * emulated modes, with only descriptors to report (epoll, mostly): the
 * per-event path with nothing else in it. */
static int translate_plain(evq_t *q, const evq__raw_t *raw, int count,
                           evq_event_t *out) {
  /* The slot table in locals and the output by pointer: a store into out
   * (a uint32_t flags) may alias the registry's uint32_t fields, and the
   * compiler would reload them and the index arithmetic at every event
   * (issue 23). The table moves only when a registration is added, which
   * nothing called from here does (a stale report goes to the backend). */
  evq__reg_t *slots = q->registry.slots;
  uint32_t nslots = q->registry.nslots;
  evq_event_t *o = out;
  for (const evq__raw_t *r = raw, *end = raw + count; r < end; r++) {
    uint32_t id = (uint32_t)r->key, gen = (uint32_t)(r->key >> 32);
    if (id >= nslots || slots[id].gen != gen) { /* evq__registry_get */
      evq__report_stale(q, r->key);
      continue;
    }
    evq__reg_t *reg = &slots[id];
    uint32_t flags =
        evq__native_oneshot(reg, evq__wanted_flags(reg, r->flags));
    if (flags == 0) continue;
    o->token = reg->token;
    o->flags = flags;
    o->data = r->data;
    o++;
  }
  return (int)(o - out);
}

/* The loop behind evq_wait(): collect what is due, else sleep in the
 * backend until the nearer of the caller's deadline and the first timer,
 * and go round again after a kick or EINTR with the time that is left
 * (or, with EVQ_OPT_EINTR, return EVQ_EINTR after a signal handler ran). */
static int wait_loop(evq_t *q, evq_event_t *ev, int cap, int64_t deadline) {
  /* Rounds past the deadline for a backend with changes in flight: a few
   * suffice (a replaced request settles in one), and a bound keeps a
   * kernel that disagrees from turning a wait of 0 into a spin. */
  int extra = 4;
  for (;;) {
    evq__mutex_lock(&q->lock);
    q->rounds++;
    /* The clock is read only when a timer or a deadline needs it. */
    int64_t now = q->timers.root || deadline >= 0 ? evq_now() : 0;
    int timers = q->timers.root ? evq__timers_expire(q, ev, cap, now) : 0;
    int n = timers;
    /* Published before looking for a wake-up, while evq_wake publishes
     * the wake-up before looking at this: one of the two always sees the
     * other, so evq_wake can skip the syscall when we are not asleep. */
    atomic_store(&q->sleeping, 1);
    int pending = take_pending(q, ev + n, cap - n);
    n += pending;
    int64_t until = deadline, first = evq__timers_next(&q->timers);
    if (first >= 0 && (until < 0 || first < until)) until = first;
    int64_t timeout = n > 0 ? 0 : until < 0 ? -1 : until > now ? until - now : 0;
    if (q->ops->prepare) q->ops->prepare(q->b);
    q->sleep_until = until;
    atomic_store(&q->kick_pending, 0);
    if (timeout == 0) atomic_store(&q->sleeping, 0);
    evq__mutex_unlock(&q->lock);

    int room = cap - n < (int)q->raw_cap ? cap - n : (int)q->raw_cap;
    int r = room > 0 ? q->ops->poll(q->b, q->raw, room, timeout) : 0;
    bool interrupted = r == EVQ_EINTR;
    if (interrupted) r = 0;

    evq__mutex_lock(&q->lock);
    atomic_store(&q->sleeping, 0);
    q->sleep_until = -1;
    if (r > 0)
      n += q->plain ? translate_plain(q, q->raw, r, ev + n)
                    : evq__translate(q, q->raw, r, ev + n);
    /* Timers that came due while we slept; not when this round already
     * collected some, or a short period could report twice in a batch. */
    if (timers == 0 && n < cap && q->timers.root)
      n += evq__timers_expire(q, ev + n, cap - n, evq_now());
    /* Once per round: a signal or wake-up taken before the poll and
     * arriving again during it would be a second event for one token in
     * one batch. What arrives now waits for the next round. */
    if (pending == 0)
      n += take_pending(q, ev + n, cap - n);
    else if (q->io && n < cap)
      n += take_sources(q, ev + n, cap - n, true);
    bool again = n == 0 && r > 0 && q->ops->unsettled && extra > 0 &&
                 q->ops->unsettled(q->b);
    evq__mutex_unlock(&q->lock);

    if (n > 0) return n;
    if (r < 0) return r;
    if (interrupted && (q->options & EVQ_OPT_EINTR)) return EVQ_EINTR;
    if (again) {
      extra--;
      continue;
    }
    if (deadline >= 0 && evq_now() >= deadline) return 0;
  }
}

uint64_t evq__wait_rounds(evq_t *q) {
  evq__mutex_lock(&q->lock);
  uint64_t n = q->rounds;
  evq__mutex_unlock(&q->lock);
  return n;
}

int evq_wait(evq_t *q, evq_event_t *events, int capacity,
             int64_t timeout_ns) {
  if (!q || !events || capacity < 1 || timeout_ns < -1) return EVQ_EINVAL;
  int idle = 0;
  if (!atomic_compare_exchange_strong(&q->waiting, &idle, 1))
    return EVQ_EBUSY;
  int64_t deadline = timeout_ns < 0 ? -1 : evq__add_sat(evq_now(), timeout_ns);
  int n = wait_loop(q, events, capacity, deadline);
  atomic_store(&q->waiting, 0);
  return n;
}

int evq_wake(evq_t *q) {
  if (!q) return EVQ_EINVAL;
  if (!atomic_exchange(&q->wake_pending, 1)) evq__kick_if_needed(q);
  return 0;
}

/* ---- embedding --------------------------------------------------------- */

int evq_fd(evq_t *q, evq_fd_t *fd) {
  if (!q || !fd) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  intptr_t h = q->ops->fd ? q->ops->fd(q->b) : -1;
  evq__mutex_unlock(&q->lock);
  if (h < 0) return EVQ_ENOTSUP;
  /* From now on changes that a blocked waiter would need a kick for kick
   * anyway: the host loop is the waiter. */
  atomic_store(&q->embedded, 1);
  *fd = (evq_fd_t)h;
  return 0;
}

int64_t evq_next_timeout(evq_t *q) {
  if (!q) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  int64_t first = evq__timers_next(&q->timers), left;
  if (atomic_load(&q->wake_pending) ||
      (has_sources(q) && sources_pending(q)))
    left = 0;
  else if (first < 0)
    left = EVQ_FOREVER;
  else {
    int64_t now = evq_now();
    left = first > now ? first - now : 0;
  }
  evq__mutex_unlock(&q->lock);
  return left;
}
