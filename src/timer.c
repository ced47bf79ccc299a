/*
 * Timers: start, stop, restart and expiry, and the heap they live in.
 *
 * The heap is an intrusive pairing heap: the evq_timer_t the caller owns
 * is the node, so starting a timer never allocates and cannot fail. Insert
 * is O(1); removing the minimum or any node is O(log n) amortised. A pairing
 * heap beats a binary heap of pointers here because the common pattern
 * (start many, fire in order, restart the same timer on every activity) is
 * insert-heavy, and it has no array to grow.
 *
 * Links: child = first child; next = next sibling; prev = previous sibling,
 * or the parent for a first child, or NULL for the root.
 *
 * A timer's owner is read without the owning queue's lock (by
 * evq_timer_active, and by a start on another queue), so it is atomic; the
 * links and times are only touched under the owner's lock.
 */
#include "queue.h"

#include <string.h>

_Static_assert(sizeof(evq__timer_t) <= sizeof(evq_timer_t),
               "evq_timer_t storage holds the timer");
_Static_assert(_Alignof(evq__timer_t) <= _Alignof(evq_timer_t),
               "evq_timer_t storage is aligned for the timer");

static evq__timer_t *timer_of(evq_timer_t *t) {
  return (evq__timer_t *)(void *)t;
}

/* ---- the pairing heap --------------------------------------------------- */

static bool before(const evq__timer_t *a, const evq__timer_t *b) {
  if (a->lower_bound != b->lower_bound) return a->lower_bound < b->lower_bound;
  return a->seq < b->seq; /* equal deadlines fire in start order */
}

/* Joins two detached roots; the later one becomes the first child. */
static evq__timer_t *meld(evq__timer_t *a, evq__timer_t *b) {
  if (!a) return b;
  if (!b) return a;
  if (before(b, a)) {
    evq__timer_t *t = a;
    a = b;
    b = t;
  }
  b->prev = a;
  b->next = a->child;
  if (a->child) a->child->prev = b;
  a->child = b;
  return a;
}

/* Two-pass pairing: meld siblings pairwise left to right, then fold the
 * pairs right to left. Iterative, so deep heaps cannot overflow the stack. */
static evq__timer_t *merge_pairs(evq__timer_t *first) {
  evq__timer_t *pairs = NULL;
  while (first) {
    evq__timer_t *a = first, *b = a->next;
    first = b ? b->next : NULL;
    a->prev = a->next = NULL;
    if (b) b->prev = b->next = NULL;
    evq__timer_t *m = meld(a, b);
    m->next = pairs; /* reversed list of pairs */
    pairs = m;
  }
  evq__timer_t *root = NULL;
  while (pairs) {
    evq__timer_t *next = pairs->next;
    pairs->next = NULL;
    root = meld(root, pairs);
    pairs = next;
  }
  return root;
}

/* Keeps t's seq: a re-keyed restart keeps its place in start order.
 * Inline in this file: a timer start is mostly this. */
static inline void push(evq__timers_t *h, evq__timer_t *t) {
  t->child = t->next = t->prev = NULL;
  h->root = meld(h->root, t);
  h->count++;
}

void evq__timers_reinsert(evq__timers_t *h, evq__timer_t *t) { push(h, t); }

/* push for a timer given the next start sequence, which no node has: it
 * goes before the root only by its key (a tie keeps the root, earlier in
 * start order), so meld's comparison of sequences drops out. */
static inline void push_new(evq__timers_t *h, evq__timer_t *t) {
  evq__timer_t *root = h->root;
  t->seq = h->seq++;
  t->prev = t->next = t->child = NULL;
  if (!root) {
    h->root = t;
  } else if (t->lower_bound < root->lower_bound) {
    root->prev = t; /* a root has no siblings: its next stays NULL */
    t->child = root;
    h->root = t;
  } else {
    t->prev = root;
    t->next = root->child;
    if (root->child) root->child->prev = t;
    root->child = t;
  }
  h->count++;
}

void evq__timers_insert(evq__timers_t *h, evq__timer_t *t) {
  t->seq = h->seq++;
  push(h, t);
}

void evq__timers_remove(evq__timers_t *h, evq__timer_t *t) {
  if (t == h->root) {
    h->root = merge_pairs(t->child);
  } else {
    if (t->prev->child == t)
      t->prev->child = t->next;
    else
      t->prev->next = t->next;
    if (t->next) t->next->prev = t->prev;
    h->root = meld(h->root, merge_pairs(t->child));
  }
  if (h->root) h->root->prev = NULL;
  t->child = t->next = t->prev = NULL;
  h->count--;
}

/* ---- ownership ---------------------------------------------------------- */

static evq_t *owner_of(const evq__timer_t *t) {
  return atomic_load_explicit(&t->owner, memory_order_acquire);
}

static void set_owner(evq__timer_t *t, evq_t *q) {
  atomic_store_explicit(&t->owner, q, memory_order_release);
}

/* Claims an idle timer for q; fails if another queue got it first. */
static bool claim(evq__timer_t *t, evq_t *q) {
  evq_t *idle = NULL;
  return atomic_compare_exchange_strong(&t->owner, &idle, q);
}

/* ---- the public calls --------------------------------------------------- */

void evq_timer_init(evq_timer_t *t) {
  if (t) memset(t, 0, sizeof *t);
}

int evq_timer_active(const evq_timer_t *t) {
  return t && owner_of((const evq__timer_t *)(const void *)t) != NULL;
}

/* The clock is read before the lock: "never early" needs a reading no
 * older than the call, and the lock is then held for the heap alone. */
int evq_timer_start(evq_t *q, evq_timer_t *timer, int64_t delay_ns,
                    int64_t period_ns, uintptr_t token) {
  if (!q || !timer || (delay_ns | period_ns) < 0) return EVQ_EINVAL;
  evq__timer_t *t = timer_of(timer);
  int64_t due = evq__add_sat(evq_now(), delay_ns);
  evq__mutex_lock(&q->lock);
  /* Under q's lock, owned by q means in q's heap. */
  bool running = owner_of(t) == q;
  if (!running && !claim(t, q)) {
    evq__mutex_unlock(&q->lock);
    return EVQ_EBUSY;
  }
  t->period = period_ns;
  t->token = token;
  t->due = due;
  if (running && due > t->lower_bound) {
    /* Pushed later (a timeout reset on activity): the node stays where
     * it is, its key now a lower bound; expiry re-keys it if it reaches
     * the top. O(1) instead of a heap removal. The restart's place in
     * start order is kept aside: changing seq in place would break the
     * heap's order among equal keys. */
    t->restart_seq = q->timers.seq++;
  } else {
    if (running) evq__timers_remove(&q->timers, t);
    t->lower_bound = due;
    push_new(&q->timers, t);
    /* Whether a thread sleeps first: with none (the common start from
     * the loop's own thread) sleep_until is not even read. */
    if ((atomic_load(&q->sleeping) || atomic_load(&q->embedded)) &&
        (q->sleep_until < 0 || due < q->sleep_until))
      evq__kick_once(q);
  }
  evq__mutex_unlock(&q->lock);
  return 0;
}

int evq_timer_stop(evq_t *q, evq_timer_t *timer) {
  if (!q || !timer) return EVQ_EINVAL;
  evq__timer_t *t = timer_of(timer);
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

/* A periodic timer goes back in at its next scheduled expiry after now, so
 * lateness never shifts its schedule; the expiries it skipped are counted
 * in data. */
int evq__timers_expire(evq_t *q, evq_event_t *out, int cap, int64_t now) {
  int n = 0;
  evq__timer_t *t;
  while (n < cap && (t = q->timers.root) && t->lower_bound <= now) {
    evq__timers_remove(&q->timers, t);
    if (t->due > t->lower_bound) { /* restarted later meanwhile: re-key */
      t->lower_bound = t->due;
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
      t->lower_bound = t->due = evq__add_sat(t->due, step);
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

void evq__timers_drop(evq_t *q) {
  while (q->timers.root) {
    evq__timer_t *t = q->timers.root;
    evq__timers_remove(&q->timers, t);
    set_owner(t, NULL);
  }
}
