/* An intrusive doubly linked list, circular around a head link: the
 * queue's lifetime states (lifetime.c), io_uring's and the Windows
 * backend's to-do lists, and the Windows backend's AFD handle groups.
 * Unlinking is O(1) and needs no head, which is what lets a record leave a
 * to-do list when its state is freed; an unlinked link points at itself,
 * so a record can tell whether it is on a list (evq__list_empty of the
 * record's own link). */
#ifndef EVQ_LIST_H
#define EVQ_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct evq__link {
  struct evq__link *next, *prev;
} evq__link_t;

#define EVQ__CONTAINER(p, type, member) \
  ((type *)(void *)((char *)(p) - offsetof(type, member)))

static inline void evq__list_init(evq__link_t *l) { l->next = l->prev = l; }

static inline bool evq__list_empty(const evq__link_t *l) {
  return l->next == l;
}

/* Unlinks e and leaves it empty, so it can tell it is on no list. */
static inline void evq__list_unlink(evq__link_t *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  evq__list_init(e);
}

static inline void evq__list_push_front(evq__link_t *l, evq__link_t *e) {
  e->next = l->next;
  e->prev = l;
  l->next->prev = e;
  l->next = e;
}

static inline void evq__list_push_back(evq__link_t *l, evq__link_t *e) {
  evq__list_push_front(l->prev, e);
}

#endif
