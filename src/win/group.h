/* AFD handle groups: the \Device\Afd handles a queue issues its polls on.
 * Sharing a handle among sockets saves kernel objects; capping the share
 * bounds the work the driver does per handle (it keeps the polls of one
 * handle on one list) and what one handle's failure can affect. */
#ifndef EVQ_GROUP_H
#define EVQ_GROUP_H

#include "list.h"
#include "win.h"

typedef struct evq__afd_group {
  evq__link_t link; /* on the queue's list: groups with room first */
  HANDLE afd;
  uint32_t users;
} evq__afd_group_t;

typedef struct evq__afd_groups {
  evq__link_t list;
  HANDLE port;    /* every AFD handle is associated with it */
  ULONG_PTR key;  /* under this completion key */
} evq__afd_groups_t;

void evq__groups_init(evq__afd_groups_t *gs, HANDLE port, ULONG_PTR key);
/* Opens the first handle now: see evq__groups_open_first in group.c. */
int evq__groups_open_first(evq__afd_groups_t *gs);
/* A group with room for one more socket, counted as used. */
int evq__group_acquire(evq__afd_groups_t *gs, evq__afd_group_t **out);
/* Only once none of the socket's polls is in flight. */
void evq__group_release(evq__afd_groups_t *gs, evq__afd_group_t *g);
void evq__groups_free(evq__afd_groups_t *gs);

#endif
