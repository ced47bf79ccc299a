/*
 * Timers live in an intrusive pairing heap: the evq_timer_t the caller owns
 * is the node, so starting a timer never allocates and cannot fail. Insert
 * is O(1); removing the minimum or any node is O(log n) amortised. A pairing
 * heap beats a binary heap of pointers here because the common pattern
 * (start many, fire in order, restart the same timer on every activity) is
 * insert-heavy, and it has no array to grow.
 *
 * Links: child = first child; next = next sibling; prev = previous sibling,
 * or the parent for a first child, or NULL for the root.
 */
#include "evq_internal.h"

static bool before(const evq_timer_t *a, const evq_timer_t *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->seq < b->seq; /* equal deadlines fire in start order */
}

/* Joins two detached roots; the later one becomes the first child. */
static evq_timer_t *meld(evq_timer_t *a, evq_timer_t *b) {
  if (!a) return b;
  if (!b) return a;
  if (before(b, a)) {
    evq_timer_t *t = a;
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
static evq_timer_t *merge_pairs(evq_timer_t *first) {
  evq_timer_t *pairs = NULL;
  while (first) {
    evq_timer_t *a = first, *b = a->next;
    first = b ? b->next : NULL;
    a->prev = a->next = NULL;
    if (b) b->prev = b->next = NULL;
    evq_timer_t *m = meld(a, b);
    m->next = pairs; /* reversed list of pairs */
    pairs = m;
  }
  evq_timer_t *root = NULL;
  while (pairs) {
    evq_timer_t *next = pairs->next;
    pairs->next = NULL;
    root = meld(root, pairs);
    pairs = next;
  }
  return root;
}

void evq__timers_reinsert(evq_timers_t *h, evq_timer_t *t) {
  t->child = t->next = t->prev = NULL;
  h->root = meld(h->root, t);
  h->count++;
}

void evq__timers_insert(evq_timers_t *h, evq_timer_t *t) {
  t->seq = h->seq++;
  evq__timers_reinsert(h, t);
}

void evq__timers_remove(evq_timers_t *h, evq_timer_t *t) {
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
