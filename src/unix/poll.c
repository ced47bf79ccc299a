/* poll(2) backend: the portable fallback for any POSIX system.
 *
 * poll is level-triggered and stateless, so edge and oneshot are emulated:
 * the core clears a registration's armed directions as it delivers them,
 * and this file watches only armed directions. The waiter polls a private
 * pollfd array that it rebuilds from the registry, under the queue lock,
 * whenever a registration changed; other threads never touch that array,
 * they mark it stale and kick the waiter. */
#define _GNU_SOURCE
#include "unix.h"
#include "pollmask.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>


typedef struct poll_state {
  evq_t *q; /* for the registry walk in prepare() */
  evq__wakefd_t wake;
  bool stale;
  struct pollfd *pfd; /* [0] is the wake descriptor; the waiter's alone */
  uint64_t *keys;     /* key of the registration behind pfd[i] */
  uintptr_t *ids;     /* identity of the file it was registered with */
  uint32_t n, cap, next; /* next: where the scan starts, for fairness */
  bool saw_closed;       /* poll() met POLLNVAL: see pl_prepare */
  /* Room for growth, made by registering threads and swapped in by the
   * waiter in prepare(): the arrays above may be inside poll() right now,
   * so no other thread may move them. */
  struct pollfd *spare_pfd;
  uint64_t *spare_keys;
  uintptr_t *spare_ids;
  uint32_t spare_cap;
} poll_state_t;

/* reg->bstate: a registration whose descriptor was closed under it. */
#define CLOSED_UNDER_US ((void *)1)

/* reg->bstate otherwise: the file's identity when it was registered
 * (evq__file_id). poll() watches numbers, so a descriptor closed while
 * registered and its number taken by a new file would report the new
 * file; an event whose file no longer has that identity is the old
 * registration's no more (as if closed). */

static short to_poll(const evq__reg_t *reg) {
  return (short)evq__poll_mask(reg->mode == EVQ_LEVEL ? reg->interests
                                                      : reg->armed);
}

/* Under the lock: makes sure the next rebuild has room for want entries,
 * allocating into the spare arrays (never the live ones). Growth doubles
 * the larger of the two, so registrations without a wait in between cost
 * amortised O(1), not a reallocation each. */
static int pl_reserve(poll_state_t *s, uint32_t want) {
  if (want <= s->cap || want <= s->spare_cap) return 0;
  uint32_t have = s->cap > s->spare_cap ? s->cap : s->spare_cap;
  uint32_t cap = have * 2 > want ? have * 2 : want;
  struct pollfd *pfd = realloc(s->spare_pfd, sizeof *pfd * cap);
  if (!pfd) return EVQ_ENOMEM;
  s->spare_pfd = pfd;
  uint64_t *keys = realloc(s->spare_keys, sizeof *keys * cap);
  if (!keys) return EVQ_ENOMEM;
  s->spare_keys = keys;
  uintptr_t *ids = realloc(s->spare_ids, sizeof *ids * cap);
  if (!ids) return EVQ_ENOMEM;
  s->spare_ids = ids;
  s->spare_cap = cap;
  return 0;
}

/* Waiter only, under the lock, outside poll(): adopt grown arrays. */
static void adopt_spare(poll_state_t *s) {
  if (!s->spare_cap) return;
  free(s->pfd);
  free(s->keys);
  free(s->ids);
  s->pfd = s->spare_pfd;
  s->keys = s->spare_keys;
  s->ids = s->spare_ids;
  s->cap = s->spare_cap;
  s->spare_pfd = NULL;
  s->spare_keys = NULL;
  s->spare_ids = NULL;
  s->spare_cap = 0;
}

/* Registration calls reserve room up front so the rebuild in prepare(),
 * on the waiter's path, never allocates. */
static int pl_add(void *b, evq__reg_t *reg) {
  poll_state_t *s = b;
  int fd = (int)evq__reg_handle(reg), rc;
  if (fd < 0) return EVQ_ENOTSUP; /* a child without a pidfd */
  reg->bstate = (void *)evq__file_id(fd, &rc);
  if (rc == 0) rc = pl_reserve(s, evq__registry_count(s->q) + 1);
  s->stale = true;
  return rc;
}

/* The set is rebuilt from the registry, so the old configuration does not
 * matter. */
static int pl_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  poll_state_t *s = b;
  (void)old;
  s->stale = true;
  int rc;
  reg->bstate = (void *)evq__file_id((int)evq__reg_handle(reg), &rc);
  return rc;
}

/* A descriptor closed while registered makes poll() return POLLNVAL at
 * once, every time. epoll and IOCP simply stop reporting such a
 * descriptor, so poll does the same: the waiter marks it here, under the
 * lock, and the rebuild leaves it out until modify or re-registration. */
static void forget_closed(poll_state_t *s) {
  for (uint32_t i = 1; i < s->n; i++) {
    if (s->pfd[i].fd >= 0) continue;
    evq__reg_t *reg = evq__registry_lookup(s->q, s->keys[i]);
    if (reg) reg->bstate = CLOSED_UNDER_US;
  }
  s->saw_closed = false;
  s->stale = true;
}

static int pl_remove(void *b, evq__reg_t *reg, bool closing) {
  poll_state_t *s = b;
  (void)reg, (void)closing;
  s->stale = true;
  return 0;
}

/* Only edge and oneshot registrations (the emulated modes) get here: their
 * armed set changed, so what poll() watches must too. */
static void pl_rearm(void *b, evq__reg_t *reg) {
  poll_state_t *s = b;
  (void)reg;
  s->stale = true;
}

static void pl_prepare(void *b) {
  poll_state_t *s = b;
  if (s->saw_closed) forget_closed(s);
  if (!s->stale) return;
  adopt_spare(s);
  s->pfd[0] = (struct pollfd){.fd = s->wake.read_fd, .events = POLLIN};
  uint32_t n = 1, cursor = 0;
  for (evq__reg_t *reg; (reg = evq__registry_next(s->q, &cursor));) {
    int fd = (int)evq__reg_handle(reg);
    short events = reg->bstate == CLOSED_UNDER_US || fd < 0 ? 0 : to_poll(reg);
    if (events == 0) continue;
    s->pfd[n] = (struct pollfd){.fd = fd, .events = events};
    s->keys[n] = evq__key(reg->id, reg->gen);
    s->ids[n] = (uintptr_t)reg->bstate;
    n++;
  }
  s->n = n;
  s->stale = false;
}

static int pl_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  poll_state_t *s = b;
  int ms = (int)evq__timeout_ms(timeout_ns, INT_MAX);
  int r = poll(s->pfd, s->n, ms);
  if (r < 0) return evq__from_errno(errno); /* EINTR: EVQ_EINTR */
  if (s->pfd[0].revents) {
    evq__wakefd_drain(&s->wake);
    r--;
  }
  uint32_t count = s->n - 1, start = count ? s->next % count : 0;
  int n = 0;
  for (uint32_t k = 0; k < count && r > 0 && n < cap; k++) {
    uint32_t i = 1 + (start + k) % count;
    if (!s->pfd[i].revents) continue;
    r--;
    /* Closed (POLLNVAL), or its number now names another file. A file
     * whose identity the kernel cannot give now (ENOMEM) is taken to be
     * the same: silencing it would lose its events. */
    bool gone = s->pfd[i].revents & POLLNVAL;
    if (!gone) {
      int err;
      uintptr_t id = evq__file_id(s->pfd[i].fd, &err);
      gone = err == 0 ? id != s->ids[i] : err == EVQ_EBADF;
    }
    if (gone) {
      s->pfd[i].fd = -1; /* poll() skips it from now on */
      s->saw_closed = true;
      continue;
    }
    raw[n].key = s->keys[i];
    raw[n].flags = evq__poll_results((uint16_t)s->pfd[i].revents);
    raw[n].data = 0;
    n++;
    s->next = (start + k + 1) % count;
  }
  return n;
}

static int pl_init(evq_t *q, uint32_t max_events, void **out) {
  (void)max_events; /* poll() fills the whole set; pl_poll stops at cap */
  poll_state_t *s = calloc(1, sizeof *s);
  if (!s) return EVQ_ENOMEM;
  s->q = q;
  int rc = pl_reserve(s, 64);
  adopt_spare(s);
  if (rc == 0) rc = evq__wakefd_open(&s->wake);
  if (rc != 0) {
    free(s->pfd);
    free(s->keys);
    free(s->ids);
    free(s->spare_pfd); /* a reserve that failed half way */
    free(s->spare_keys);
    free(s->spare_ids);
    free(s);
    return rc;
  }
  s->stale = true; /* the first prepare() writes the wake entry */
  *out = s;
  return 0;
}

static void pl_destroy(void *b) {
  poll_state_t *s = b;
  evq__wakefd_close(&s->wake);
  free(s->pfd);
  free(s->keys);
  free(s->ids);
  free(s->spare_pfd);
  free(s->spare_keys);
  free(s->spare_ids);
  free(s);
}

static void pl_kick(void *b) {
  poll_state_t *s = b;
  evq__wakefd_signal(&s->wake);
}

/* poll(2) is level-triggered and stateless: edge and oneshot are the
 * core's, and every change lands in the next rebuild. */
const evq__backend_t evq__backend_poll = {
    .name = "poll",
    .emulated_modes = (1u << EVQ_EDGE) | (1u << EVQ_ONESHOT),
    .changes_need_kick = true,
    .splits_directions = false,
    .keeps_states = false,
    .init = pl_init,
    .destroy = pl_destroy,
    .add = pl_add,
    .modify = pl_modify,
    .remove = pl_remove,
    .rearm = pl_rearm,
    .prepare = pl_prepare,
    .poll = pl_poll,
    .kick = pl_kick,
};
