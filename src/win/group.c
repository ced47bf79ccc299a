/* AFD handle groups (group.h): up to GROUP_SIZE sockets per handle. */
#include "group.h"

#include "afd.h"

#include <stdlib.h>

#define GROUP_SIZE 32

void evq__groups_init(evq__afd_groups_t *gs, HANDLE port, ULONG_PTR key) {
  evq__list_init(&gs->list);
  gs->port = port;
  gs->key = key;
}

int evq__group_acquire(evq__afd_groups_t *gs, evq__afd_group_t **out) {
  evq__afd_group_t *g = EVQ__CONTAINER(gs->list.next, evq__afd_group_t, link);
  if (evq__list_empty(&gs->list) || g->users >= GROUP_SIZE) {
    g = calloc(1, sizeof *g);
    if (!g) return EVQ_ENOMEM;
    int rc = evq__afd_open(gs->port, gs->key, &g->afd);
    if (rc != 0) {
      free(g);
      return rc;
    }
    evq__list_push_front(&gs->list, &g->link);
  }
  if (++g->users == GROUP_SIZE) { /* full: let the next one be found first */
    evq__list_unlink(&g->link);
    evq__list_push_back(&gs->list, &g->link);
  }
  *out = g;
  return 0;
}

/* The first AFD handle is opened when the queue is made, not at the first
 * registration: a handle opened then could take the number of a socket the
 * caller has just closed, and under wine an AFD handle even passes for a
 * socket, so registering that stale number would wrongly succeed. */
int evq__groups_open_first(evq__afd_groups_t *gs) {
  evq__afd_group_t *g;
  int rc = evq__group_acquire(gs, &g);
  if (rc == 0) g->users--; /* held by no socket; release keeps the last */
  return rc;
}

static void group_free(evq__afd_group_t *g) {
  evq__list_unlink(&g->link);
  CloseHandle(g->afd);
  free(g);
}

/* Closing the handle would cancel polls, hence "only once none is in
 * flight". One empty group is kept so a queue that registers and
 * deregisters one socket at a time does not reopen AFD each time. */
void evq__group_release(evq__afd_groups_t *gs, evq__afd_group_t *g) {
  g->users--;
  evq__list_unlink(&g->link);
  evq__list_push_front(&gs->list, &g->link);
  if (g->users == 0 && g->link.next != &gs->list) group_free(g);
}

void evq__groups_free(evq__afd_groups_t *gs) {
  while (!evq__list_empty(&gs->list))
    group_free(EVQ__CONTAINER(gs->list.next, evq__afd_group_t, link));
}
