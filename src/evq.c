/*
 * The portable core: queue lifecycle, registration, the wait loop, wake-ups
 * and timers. It knows nothing of any OS; backends (one file each) and the
 * platform layer do the system work behind evq_internal.h.
 *
 * Concurrency model. One thread at a time may be inside evq_wait(); it
 * blocks in the backend without holding q->lock and takes the lock only to
 * turn raw kernel events into evq_event_t. Every other call takes the lock,
 * so a deregistration is ordered either entirely before that translation
 * (the event is dropped by the generation check) or after it (the event was
 * already handed out). When a change from another thread must reach a
 * sleeping waiter (a nearer timer, a poll-set change), the core kicks it.
 */
#include "evq_internal.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_EVENTS 256u
#define LIMIT_MAX_EVENTS 65536u

static int64_t add_sat(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* A timer's owner is read without the owning queue's lock (by
 * evq_timer_active, and by a start on another queue), so it is accessed
 * atomically; the heap links are only touched under the owner's lock. */
static evq_t *owner_of(const evq_timer_t *t) {
  return atomic_load_explicit((_Atomic(evq_t *) *)&t->owner,
                              memory_order_acquire);
}

static void set_owner(evq_timer_t *t, evq_t *q) {
  atomic_store_explicit((_Atomic(evq_t *) *)&t->owner, q,
                        memory_order_release);
}

/* Claims an idle timer for q; fails if another queue got it first. */
static bool claim(evq_timer_t *t, evq_t *q) {
  evq_t *idle = NULL;
  return atomic_compare_exchange_strong((_Atomic(evq_t *) *)&t->owner,
                                        &idle, q);
}

/* ---- lifecycle --------------------------------------------------------- */

static const evq_backend_ops_t *find_backend(const char *name) {
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

int evq_create(evq_t **out, const evq_options_t *opts) {
  static const evq_options_t defaults = {0};
  if (!out) return EVQ_EINVAL;
  *out = NULL;
  if (!opts) opts = &defaults;
  const char *name = opts->backend ? opts->backend : evq__getenv("EVQ_BACKEND");
  const evq_backend_ops_t *ops = find_backend(name);
  if (!ops) return EVQ_ENOTSUP;
  uint32_t max = opts->max_events ? opts->max_events : DEFAULT_MAX_EVENTS;
  if (max > LIMIT_MAX_EVENTS) max = LIMIT_MAX_EVENTS;

  evq_t *q = calloc(1, sizeof *q);
  if (!q) return EVQ_ENOMEM;
  q->ops = ops;
  q->wake_token = opts->wake_token;
  q->raw_cap = max;
  q->sleep_until = -1;
  q->raw = malloc(sizeof *q->raw * max);
  int rc = q->raw ? evq__mutex_init(&q->lock) : EVQ_ENOMEM;
  if (rc != 0) {
    free(q->raw);
    free(q);
    return rc;
  }
  evq__registry_init(&q->reg);
  rc = ops->init(q);
  if (rc != 0) {
    evq__mutex_free(&q->lock);
    free(q->raw);
    free(q);
    return rc;
  }
  *out = q;
  return 0;
}

void evq_free(evq_t *q) {
  if (!q) return;
  /* Timer storage is the caller's: leave every timer marked stopped. */
  while (q->timers.root) {
    evq_timer_t *t = q->timers.root;
    evq__timers_remove(&q->timers, t);
    set_owner(t, NULL);
  }
  q->ops->destroy(q);
  evq__registry_free(&q->reg);
  evq__mutex_free(&q->lock);
  free(q->raw);
  free(q);
}

const char *evq_backend(const evq_t *q) { return q ? q->ops->name : NULL; }

/* ---- registration ------------------------------------------------------ */

/* Under q->lock: make a change visible to a waiter blocked in the kernel. */
static void kick_waiter(evq_t *q) {
  if (atomic_load(&q->sleeping) && !atomic_exchange(&q->kick_pending, 1))
    q->ops->kick(q);
}

static int check_args(evq_t *q, evq_fd_t fd, uint32_t interests,
                      evq_mode_t mode) {
  if (!q) return EVQ_EINVAL;
  if (interests == 0 || (interests & ~(uint32_t)EVQ_DIRECTIONS))
    return EVQ_EINVAL;
  if (mode != EVQ_EDGE && mode != EVQ_LEVEL && mode != EVQ_ONESHOT)
    return EVQ_EINVAL;
  if ((intptr_t)fd < 0) return EVQ_EBADF;
  return 0;
}

int evq_register(evq_t *q, evq_fd_t fd, uint32_t interests, evq_mode_t mode,
                 uintptr_t token) {
  int rc = check_args(q, fd, interests, mode);
  if (rc != 0) return rc;
  evq__mutex_lock(&q->lock);
  evq_reg_t *reg = NULL;
  rc = evq__registry_add(&q->reg, fd, &reg);
  if (rc == 0) {
    reg->token = token;
    reg->interests = reg->armed = interests;
    reg->mode = (uint8_t)mode;
    rc = q->ops->add(q, reg);
    if (rc != 0)
      evq__registry_remove(&q->reg, reg);
    else if (q->ops->changes_need_kick)
      kick_waiter(q);
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_modify(evq_t *q, evq_fd_t fd, uint32_t interests, evq_mode_t mode,
               uintptr_t token) {
  int rc = check_args(q, fd, interests, mode);
  if (rc != 0) return rc;
  evq__mutex_lock(&q->lock);
  evq_reg_t *reg = evq__registry_find(&q->reg, fd);
  if (!reg) {
    rc = EVQ_ENOENT;
  } else {
    evq_reg_t old = *reg;
    reg->token = token;
    reg->interests = reg->armed = interests;
    reg->mode = (uint8_t)mode;
    rc = q->ops->modify(q, reg);
    if (rc != 0)
      *reg = old;
    else if (q->ops->changes_need_kick)
      kick_waiter(q);
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_deregister(evq_t *q, evq_fd_t fd) {
  if (!q) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq_reg_t *reg = evq__registry_find(&q->reg, fd);
  if (reg) {
    /* Whatever the kernel says (the fd may be closed already), the slot's
     * generation changes, so no queued event can reach the caller. */
    (void)q->ops->remove(q, reg);
    evq__registry_remove(&q->reg, reg);
    if (q->ops->changes_need_kick) kick_waiter(q);
  }
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

int evq_rearm(evq_t *q, evq_fd_t fd, uint32_t directions) {
  if (!q || directions == 0 ||
      (directions & ~(uint32_t)(EVQ_READABLE | EVQ_WRITABLE)))
    return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq_reg_t *reg = evq__registry_find(&q->reg, fd);
  if (reg && q->ops->emulates_modes && reg->mode == EVQ_EDGE) {
    uint32_t armed = reg->armed | (directions & reg->interests);
    if (armed != reg->armed) {
      reg->armed = armed;
      q->ops->update(q, reg);
      if (q->ops->changes_need_kick) kick_waiter(q);
    }
  }
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

void evq__io_blocked(evq_t *q, evq_fd_t fd, uint32_t directions) {
  if (q && q->ops->emulates_modes) (void)evq_rearm(q, fd, directions);
}

/* ---- timers ------------------------------------------------------------ */

void evq_timer_init(evq_timer_t *t) {
  if (t) memset(t, 0, sizeof *t);
}

int evq_timer_active(const evq_timer_t *t) {
  return t && owner_of(t) != NULL;
}

int evq_timer_start(evq_t *q, evq_timer_t *t, int64_t delay_ns,
                    int64_t period_ns, uintptr_t token) {
  if (!q || !t || delay_ns < 0 || period_ns < 0) return EVQ_EINVAL;
  int rc = 0;
  evq__mutex_lock(&q->lock);
  /* Under q's lock, owned by q means in q's heap. */
  bool running = owner_of(t) == q;
  if (!running && !claim(t, q)) {
    rc = EVQ_EBUSY;
  } else {
    int64_t due = add_sat(evq_now(), delay_ns);
    t->period = period_ns;
    t->token = token;
    t->due = due;
    if (running && due > t->deadline) {
      /* Pushed later (a timeout reset on activity): the node stays where
       * it is, its key now a lower bound; expire_timers re-keys it if it
       * reaches the top. O(1) instead of a heap removal. The restart's
       * place in start order is kept aside: changing seq in place would
       * break the heap's order among equal keys. */
      t->restart_seq = q->timers.seq++;
    } else {
      if (running) evq__timers_remove(&q->timers, t);
      t->deadline = due;
      evq__timers_insert(&q->timers, t);
      if (q->sleep_until < 0 || due < q->sleep_until) kick_waiter(q);
    }
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_timer_stop(evq_t *q, evq_timer_t *t) {
  if (!q || !t) return EVQ_EINVAL;
  int rc = EVQ_ENOENT;
  evq__mutex_lock(&q->lock);
  if (owner_of(t) == q) {
    evq__timers_remove(&q->timers, t);
    set_owner(t, NULL);
    rc = 0;
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

/* Under q->lock: moves due timers into out. A periodic timer goes back in at
 * its next scheduled expiry after now, so lateness never shifts its
 * schedule; the expiries it skipped are counted in data. */
static int expire_timers(evq_t *q, evq_event_t *out, int cap, int64_t now) {
  int n = 0;
  evq_timer_t *t;
  while (n < cap && (t = evq__timers_min(&q->timers)) && t->deadline <= now) {
    evq__timers_remove(&q->timers, t);
    if (t->due > t->deadline) { /* restarted later meanwhile: re-key */
      t->deadline = t->due;
      t->seq = t->restart_seq;
      evq__timers_reinsert(&q->timers, t);
      continue;
    }
    uint64_t count = 1;
    if (t->period > 0) {
      uint64_t missed = (uint64_t)(now - t->due) / (uint64_t)t->period;
      count += missed;
      int64_t step = missed + 1 > (uint64_t)(INT64_MAX / t->period)
                         ? INT64_MAX
                         : (int64_t)(missed + 1) * t->period;
      t->deadline = t->due = add_sat(t->due, step);
      evq__timers_insert(&q->timers, t);
    }
    out[n].token = t->token;
    out[n].flags = EVQ_TIMER;
    out[n].data = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
    n++;
    /* Released last: once idle, another thread may start it anywhere. */
    if (t->period == 0) set_owner(t, NULL);
  }
  return n;
}

/* ---- waiting ----------------------------------------------------------- */

/* Under q->lock: turns raw kernel events into caller events, dropping any
 * whose registration is gone and applying emulated edge/oneshot. */
static int translate(evq_t *q, const evq_raw_t *raw, int count,
                     evq_event_t *out) {
  const bool emulated = q->ops->emulates_modes;
  int n = 0;
  for (int i = 0; i < count; i++) {
    evq_reg_t *reg = evq__registry_get(&q->reg, raw[i].key);
    if (!reg) continue; /* deregistered (or replaced) meanwhile */
    uint32_t flags = raw[i].flags & (reg->interests | ~EVQ_DIRECTIONS);
    flags &= EVQ_RESULTS;
    if (emulated && reg->mode != EVQ_LEVEL) {
      /* Only a delivered armed direction disarms: a raw event for
       * directions no longer armed (the caller modified the registration
       * while the kernel reported) must not silence the new ones. */
      uint32_t dirs = flags & reg->armed & EVQ_DIRECTIONS;
      flags = dirs ? dirs | (flags & ~EVQ_DIRECTIONS) : 0;
      if (dirs)
        reg->armed = reg->mode == EVQ_ONESHOT ? 0 : reg->armed & ~dirs;
    }
    if (emulated) q->ops->update(q, reg);
    if (flags == 0) continue;
    out[n].token = reg->token;
    out[n].flags = flags;
    out[n].data = 0;
    n++;
  }
  return n;
}

static int take_wake(evq_t *q, evq_event_t *out) {
  if (!atomic_load(&q->wake_pending) || !atomic_exchange(&q->wake_pending, 0))
    return 0;
  out->token = q->wake_token;
  out->flags = EVQ_WAKE;
  out->data = 0;
  return 1;
}

/* The loop behind evq_wait(): collect what is due, else sleep in the
 * backend until the nearer of the caller's deadline and the first timer,
 * and go round again after a kick or EINTR with the time that is left. */
static int wait_loop(evq_t *q, evq_event_t *ev, int cap, int64_t deadline) {
  for (;;) {
    evq__mutex_lock(&q->lock);
    /* The clock is read only when a timer or a deadline needs it. */
    int64_t now = q->timers.root || deadline >= 0 ? evq_now() : 0;
    int timers = q->timers.root ? expire_timers(q, ev, cap, now) : 0;
    int n = timers;
    /* Published before looking for a wake-up, while evq_wake publishes
     * the wake-up before looking at this: one of the two always sees the
     * other, so evq_wake can skip the syscall when we are not asleep. */
    atomic_store(&q->sleeping, 1);
    if (n < cap) n += take_wake(q, ev + n);
    int64_t until = deadline;
    evq_timer_t *first = evq__timers_min(&q->timers);
    if (first && (until < 0 || first->deadline < until)) until = first->deadline;
    int64_t timeout = n > 0 ? 0 : until < 0 ? -1 : until > now ? until - now : 0;
    if (q->ops->prepare) q->ops->prepare(q);
    q->sleep_until = until;
    atomic_store(&q->kick_pending, 0);
    if (timeout == 0) atomic_store(&q->sleeping, 0);
    evq__mutex_unlock(&q->lock);

    int room = cap - n < (int)q->raw_cap ? cap - n : (int)q->raw_cap;
    int r = room > 0 ? q->ops->poll(q, q->raw, room, timeout) : 0;

    evq__mutex_lock(&q->lock);
    atomic_store(&q->sleeping, 0);
    q->sleep_until = -1;
    if (r > 0) n += translate(q, q->raw, r, ev + n);
    /* Timers that came due while we slept; not when this round already
     * collected some, or a short period could report twice in a batch. */
    if (timers == 0 && n < cap && q->timers.root)
      n += expire_timers(q, ev + n, cap - n, evq_now());
    if (n < cap) n += take_wake(q, ev + n);
    evq__mutex_unlock(&q->lock);

    if (n > 0) return n;
    if (r < 0) return r;
    if (deadline >= 0 && evq_now() >= deadline) return 0;
  }
}

int evq_wait(evq_t *q, evq_event_t *events, int capacity,
             int64_t timeout_ns) {
  if (!q || !events || capacity < 1 || timeout_ns < -1) return EVQ_EINVAL;
  int idle = 0;
  if (!atomic_compare_exchange_strong(&q->waiting, &idle, 1))
    return EVQ_EBUSY;
  int64_t deadline = timeout_ns < 0 ? -1 : add_sat(evq_now(), timeout_ns);
  int n = wait_loop(q, events, capacity, deadline);
  atomic_store(&q->waiting, 0);
  return n;
}

int evq_wake(evq_t *q) {
  if (!q) return EVQ_EINVAL;
  if (!atomic_exchange(&q->wake_pending, 1) && atomic_load(&q->sleeping))
    q->ops->kick(q);
  return 0;
}
