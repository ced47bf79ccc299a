/*
 * The Windows backend: socket readiness on an I/O completion port.
 *
 * Windows has no readiness API that scales (select and WSAPoll take the
 * whole set at every call), but the Winsock driver, AFD, accepts a poll
 * request, IOCTL_AFD_POLL, that runs asynchronously and completes through
 * a completion port like any overlapped I/O. So each registered socket has
 * one such poll in flight, naming the AFD events that match the directions
 * evq wants, and evq_wait() dequeues their completion packets in batches
 * with GetQueuedCompletionStatusEx. This is the design of wepoll and mio.
 *
 * An AFD poll is level-triggered and finishes after one result, so the core
 * emulates edge and oneshot (emulates_modes): it clears reg->armed bits as
 * it delivers and calls update(), and update() resubmits a poll for exactly
 * what is still armed (or all interests in level mode).
 *
 * Per socket state (sock_t) holds the buffers the kernel writes to. Rule:
 * every submitted poll produces exactly one completion packet, whether it
 * finished, failed later or was cancelled, and a sock_t is freed only once
 * no poll of its is in flight. Deregistration therefore cancels and leaves
 * the freeing to whoever dequeues the packet (poll(), or destroy()).
 *
 * Locking: everything here runs under q->lock except the blocking
 * GetQueuedCompletionStatusEx in poll(), which touches only the port and the
 * entries array of the one waiting thread.
 */
#include "afd.h"

#include <stdlib.h>

#define KEY_AFD 1  /* completion key of every AFD handle */
#define KEY_WAKE 2 /* completion key of kick() packets */

/* Sockets per AFD handle. Sharing a handle saves kernel objects; capping
 * the share bounds the work the driver does per handle (it keeps the polls
 * of one handle on one list) and what one handle's failure can affect. */
#define GROUP_SIZE 32

/* How long destroy() waits for the packets of cancelled polls. */
#define DRAIN_MS 2000

typedef struct link {
  struct link *next, *prev;
} link_t;

/* One AFD handle and how many socks use it. */
typedef struct group {
  link_t link; /* first: the list holds groups by this member */
  HANDLE afd;
  uint32_t users;
} group_t;

enum { IDLE, PENDING, CANCELLING };

typedef struct sock {
  evq_afd_poll_t poll; /* first: a packet's lpOverlapped is this sock */
  link_t link;         /* all socks of the queue, for destroy() */
  struct sock *next_dirty;
  group_t *group;
  SOCKET base;        /* what AFD polls: the base provider's socket */
  uint32_t id, gen;   /* the registration, as a key (regs move) */
  uint32_t dirs;      /* EVQ directions to watch */
  ULONG polled;       /* AFD events of the poll in flight */
  uint8_t mode;       /* evq_mode_t of the registration */
  uint8_t state;      /* IDLE, PENDING or CANCELLING */
  bool dirty;         /* on the dirty list */
  bool deleted;       /* deregistered: free once idle */
  bool closed;        /* handle gone (closed under us): nothing to poll */
  bool rd_closed;     /* end of stream (or reset) has been reported */
} sock_t;

typedef struct iocp {
  HANDLE port;
  link_t groups; /* groups with room first, full ones last */
  link_t socks;
  sock_t *dirty; /* socks to (re)submit before the next wait */
  size_t in_flight;
  OVERLAPPED_ENTRY *entries;
  ULONG cap;
} iocp_t;

#define CONTAINER(p, type, member) \
  ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- lists -------------------------------------------------------------- */

static void list_init(link_t *l) { l->next = l->prev = l; }

static void list_unlink(link_t *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
}

static void list_push_front(link_t *l, link_t *e) {
  e->next = l->next;
  e->prev = l;
  l->next->prev = e;
  l->next = e;
}

static void list_push_back(link_t *l, link_t *e) {
  list_push_front(l->prev, e);
}

/* ---- AFD handle groups -------------------------------------------------- */

static int group_acquire(iocp_t *b, group_t **out) {
  group_t *g = CONTAINER(b->groups.next, group_t, link);
  if (b->groups.next == &b->groups || g->users >= GROUP_SIZE) {
    g = calloc(1, sizeof *g);
    if (!g) return EVQ_ENOMEM;
    int rc = evq__afd_open(b->port, KEY_AFD, &g->afd);
    if (rc != 0) {
      free(g);
      return rc;
    }
    list_push_front(&b->groups, &g->link);
  }
  if (++g->users == GROUP_SIZE) { /* full: let the next one be found first */
    list_unlink(&g->link);
    list_push_back(&b->groups, &g->link);
  }
  *out = g;
  return 0;
}

static void group_free(group_t *g) {
  list_unlink(&g->link);
  CloseHandle(g->afd);
  free(g);
}

/* Called once no poll of the sock is in flight, so closing the handle
 * cancels nothing. One empty group is kept so a queue that registers and
 * deregisters one socket at a time does not reopen AFD each time. */
static void group_release(iocp_t *b, group_t *g) {
  g->users--;
  list_unlink(&g->link);
  list_push_front(&b->groups, &g->link);
  if (g->users == 0 && g->link.next != &b->groups) group_free(g);
}

/* ---- socks -------------------------------------------------------------- */

static uint32_t reg_dirs(const evq_reg_t *reg) {
  return reg->mode == EVQ_LEVEL ? reg->interests : reg->armed;
}

static void mark_dirty(iocp_t *b, sock_t *s) {
  if (s->dirty) return;
  s->dirty = true;
  s->next_dirty = b->dirty;
  b->dirty = s;
}

static void sock_free(iocp_t *b, sock_t *s) {
  list_unlink(&s->link);
  group_release(b, s->group);
  free(s);
}

static int sock_submit(iocp_t *b, sock_t *s, ULONG events) {
  int rc = evq__afd_poll(s->group->afd, &s->poll, s->base, events);
  if (rc != 0) return rc;
  s->state = PENDING;
  s->polled = events;
  b->in_flight++;
  return 0;
}

/* The AFD events s needs watched. Once end of stream has been reported, an
 * edge registration has nothing left to learn from the read side (no data
 * can follow a FIN), so a re-arm after reading EOF reports nothing new. */
static ULONG sock_want(const sock_t *s) {
  if (s->deleted) return 0;
  uint32_t dirs = s->dirs;
  if (s->rd_closed && s->mode == EVQ_EDGE) dirs &= ~(uint32_t)EVQ_READABLE;
  return evq__afd_events(dirs);
}

/* Makes the kernel watch what s wants: keeps a poll in flight that covers
 * it (a wider one costs at most one completion that reports nothing),
 * cancels one that does not (the cancellation's packet brings s back here
 * via the dirty list), or submits a new one.
 *
 * A new poll is submitted at once only if the waiter is blocked (now):
 * otherwise it waits for prepare(), just before the next wait. An AFD poll
 * reports the socket as it is when the poll completes, so one submitted
 * while the caller is still handling the last batch (reading the data that
 * made it ready) would report readiness that is gone by the next wait. */
static void sock_sync(iocp_t *b, sock_t *s, bool now) {
  if (s->state == CANCELLING || s->closed) return;
  ULONG want = sock_want(s);
  if (s->state == PENDING) {
    if (want != 0 && (want & ~s->polled) == 0) return;
    evq__afd_cancel(s->group->afd, &s->poll);
    s->state = CANCELLING;
    return;
  }
  if (want == 0) return;
  if (!now) {
    mark_dirty(b, s);
    return;
  }
  int rc = sock_submit(b, s, want);
  if (rc == EVQ_EBADF)
    s->closed = true; /* closed while registered: wait for deregister */
  else if (rc != 0)
    mark_dirty(b, s); /* short of resources: retry before the next wait */
}

/* A packet for s was dequeued: its poll is over. Returns the EVQ flags to
 * report (0 for none). */
static uint32_t sock_complete(iocp_t *b, sock_t *s) {
  bool cancelled = s->state == CANCELLING;
  b->in_flight--;
  s->state = IDLE;
  if (s->deleted) {
    if (!s->dirty) sock_free(b, s); /* else prepare() frees it */
    return 0;
  }
  /* The core calls update() for what it delivers, which resubmits; the
   * dirty list catches everything else (cancellations, events the core
   * drops) before the next wait. */
  mark_dirty(b, s);
  /* A poll we cancelled may have finished first; its result is for a set
   * of events no longer wanted, and the fresh poll will see the same
   * readiness if it still holds. */
  NTSTATUS st = s->poll.iosb.Status;
  if (cancelled || st == EVQ_STATUS_CANCELLED) return 0;
  if (st < 0) {
    if (st == EVQ_STATUS_INVALID_HANDLE) s->closed = true;
    return s->closed ? 0 : EVQ_ERROR;
  }
  if (s->poll.info.count == 0) return 0;
  ULONG events = s->poll.info.handles[0].events;
  if (events & AFD_POLL_LOCAL_CLOSE) {
    s->closed = true; /* like epoll: a closed descriptor reports nothing */
    return 0;
  }
  if (events & (AFD_POLL_DISCONNECT | AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL))
    s->rd_closed = true;
  return evq__afd_results(events);
}

/* ---- backend operations --------------------------------------------------- */

/* Whether the waiting thread is (about to be) blocked in poll(). The core
 * changes this only under q->lock, which every caller here holds. */
static bool waiter_blocked(evq_t *q) { return atomic_load(&q->sleeping) != 0; }

static int iocp_init(evq_t *q) {
  int rc = evq__winsock_init(); /* WSAIoctl needs it for base handles */
  if (rc != 0) return rc;
  iocp_t *b = calloc(1, sizeof *b);
  if (!b) return EVQ_ENOMEM;
  b->cap = q->raw_cap;
  b->entries = malloc(sizeof *b->entries * b->cap);
  if (!b->entries) {
    free(b);
    return EVQ_ENOMEM;
  }
  b->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (!b->port) {
    rc = evq__from_win32(GetLastError());
    free(b->entries);
    free(b);
    return rc;
  }
  list_init(&b->groups);
  list_init(&b->socks);
  /* The first AFD handle is opened now, not at the first registration: a
   * handle opened then could take the number of a socket the caller has
   * just closed, and under wine an AFD handle even passes for a socket, so
   * registering that stale number would wrongly succeed. */
  group_t *g;
  rc = group_acquire(b, &g);
  if (rc != 0) {
    CloseHandle(b->port);
    free(b->entries);
    free(b);
    return rc;
  }
  g->users--; /* held by no sock: group_release keeps the last group */
  q->bdata = b;
  return 0;
}

/* Waits for the packet of every poll still in flight, so no buffer the
 * kernel may write is freed under it. Should the packets not come, the
 * socks are leaked rather than freed: a leak is safe, a write into freed
 * memory is not. */
static void drain(iocp_t *b) {
  while (b->in_flight > 0) {
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(b->port, b->entries, b->cap, &n,
                                     DRAIN_MS, FALSE))
      return;
    for (ULONG i = 0; i < n; i++) {
      if (b->entries[i].lpCompletionKey != KEY_AFD) continue;
      sock_t *s = (sock_t *)b->entries[i].lpOverlapped;
      b->in_flight--;
      sock_free(b, s);
    }
  }
}

static void iocp_destroy(evq_t *q) {
  iocp_t *b = q->bdata;
  for (link_t *l = b->socks.next, *next; l != &b->socks; l = next) {
    next = l->next;
    sock_t *s = CONTAINER(l, sock_t, link);
    if (s->state == IDLE) {
      sock_free(b, s);
    } else if (s->state == PENDING) {
      evq__afd_cancel(s->group->afd, &s->poll);
      s->state = CANCELLING;
    }
  }
  drain(b);
  while (b->groups.next != &b->groups)
    group_free(CONTAINER(b->groups.next, group_t, link));
  CloseHandle(b->port);
  free(b->entries);
  free(b);
  q->bdata = NULL;
}

static int iocp_add(evq_t *q, evq_reg_t *reg) {
  iocp_t *b = q->bdata;
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  SOCKET base;
  int rc = evq__afd_base_socket((SOCKET)reg->fd, &base);
  if (rc != 0) return rc;
  sock_t *s = calloc(1, sizeof *s);
  if (!s) return EVQ_ENOMEM;
  rc = group_acquire(b, &s->group);
  if (rc != 0) {
    free(s);
    return rc;
  }
  s->base = base;
  s->id = reg->id;
  s->gen = reg->gen;
  s->dirs = reg_dirs(reg);
  s->mode = reg->mode;
  list_push_back(&b->socks, &s->link);
  reg->bdata = (uintptr_t)s;
  sock_sync(b, s, waiter_blocked(q));
  return 0;
}

static int iocp_modify(evq_t *q, evq_reg_t *reg) {
  sock_t *s = (sock_t *)reg->bdata;
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  if (s->closed) return EVQ_EBADF;
  s->dirs = reg_dirs(reg);
  s->mode = reg->mode;
  sock_sync(q->bdata, s, waiter_blocked(q));
  return 0;
}

static int iocp_remove(evq_t *q, evq_reg_t *reg) {
  iocp_t *b = q->bdata;
  sock_t *s = (sock_t *)reg->bdata;
  reg->bdata = 0;
  s->deleted = true;
  if (s->state == IDLE && !s->dirty)
    sock_free(b, s);
  else
    sock_sync(b, s, false); /* cancels a poll in flight; its packet frees s */
  return 0;
}

static void iocp_update(evq_t *q, evq_reg_t *reg) {
  sock_t *s = (sock_t *)reg->bdata;
  if (!s) return;
  s->dirs = reg_dirs(reg);
  sock_sync(q->bdata, s, waiter_blocked(q));
}

static void iocp_prepare(evq_t *q) {
  iocp_t *b = q->bdata;
  sock_t *s = b->dirty;
  b->dirty = NULL; /* sock_sync may put a sock back for the next round */
  while (s) {
    sock_t *next = s->next_dirty;
    s->dirty = false;
    if (s->deleted && s->state == IDLE)
      sock_free(b, s);
    else
      sock_sync(b, s, true);
    s = next;
  }
}

/* INFINITE is a DWORD value of its own, so finite waits stop below it. */
static DWORD timeout_ms(int64_t ns) {
  int64_t ms = evq__timeout_ms(ns, (int64_t)INFINITE - 1);
  return ms < 0 ? INFINITE : (DWORD)ms;
}

static int iocp_poll(evq_t *q, evq_raw_t *raw, int cap, int64_t timeout_ns) {
  iocp_t *b = q->bdata;
  ULONG n = 0, max = (ULONG)cap < b->cap ? (ULONG)cap : b->cap;
  if (!GetQueuedCompletionStatusEx(b->port, b->entries, max, &n,
                                   timeout_ms(timeout_ns), FALSE)) {
    DWORD err = GetLastError();
    return err == WAIT_TIMEOUT ? 0 : evq__from_win32(err);
  }
  int count = 0;
  evq__mutex_lock(&q->lock);
  for (ULONG i = 0; i < n; i++) {
    if (b->entries[i].lpCompletionKey == KEY_WAKE)
      continue; /* the core reads wake-ups from q->wake_pending */
    sock_t *s = (sock_t *)b->entries[i].lpOverlapped;
    uint64_t key = evq_key(s->id, s->gen);
    uint32_t flags = sock_complete(b, s); /* may free s */
    if (flags == 0) continue;
    raw[count].key = key;
    raw[count].flags = flags;
    count++;
  }
  evq__mutex_unlock(&q->lock);
  return count;
}

/* Posting cannot block and needs no lock. */
static void iocp_kick(evq_t *q) {
  iocp_t *b = q->bdata;
  PostQueuedCompletionStatus(b->port, 0, KEY_WAKE, NULL);
}

const evq_backend_ops_t evq__backend_iocp = {
    .name = "iocp",
    .emulates_modes = true,
    .changes_need_kick = false, /* a poll submitted by any thread reaches
                                   the port the waiter blocks on */
    .init = iocp_init,
    .destroy = iocp_destroy,
    .add = iocp_add,
    .modify = iocp_modify,
    .remove = iocp_remove,
    .update = iocp_update,
    .prepare = iocp_prepare,
    .poll = iocp_poll,
    .kick = iocp_kick,
};
