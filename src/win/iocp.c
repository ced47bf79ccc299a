/*
 * The Windows backend: socket readiness on an I/O completion port.
 *
 * Windows has no readiness API that scales (select and WSAPoll take the
 * whole set at every call), but the Winsock driver, AFD, accepts a poll
 * request, IOCTL_AFD_POLL, that runs asynchronously and completes through
 * a completion port like any overlapped I/O. So each registered socket has
 * one such poll in flight (sock.c), naming the AFD events that match the
 * directions evq wants, on an AFD handle it shares with up to 31 others
 * (group.c), and evq_wait() dequeues their packets in batches with
 * GetQueuedCompletionStatusEx. This is the design of wepoll and mio.
 *
 * An AFD poll is level-triggered and finishes after one result, so the core
 * emulates edge and oneshot, and every socket whose poll ended or whose
 * wants changed goes on a to-do list that prepare() works through just
 * before the next wait. Submitting only then matters: an AFD poll reports
 * the socket as it is when the poll completes, so one submitted while the
 * caller is still handling the last batch (reading the data that made it
 * ready) would report readiness that is gone by the next wait. A change
 * from another thread while the waiter sleeps therefore needs a kick
 * (changes_need_kick), which the core sends.
 *
 * Locking: all of this runs under the queue lock except poll(), which only
 * dequeues packets into its own array (the sockets behind them are looked
 * at in complete(), under the lock), and kick().
 */
#include "iocp_state.h"
#include "proc.h"
#include "sock.h"

#include <stdlib.h>

#define KEY_AFD EVQ__KEY_AFD
#define KEY_WAKE EVQ__KEY_WAKE
#define KEY_CHILD EVQ__KEY_CHILD
#define RAW_PROC EVQ__RAW_PROC

/* How long destroy() waits for the packets of cancelled polls. */
#define DRAIN_MS 2000

typedef evq__iocp_t iocp_t;

/* The operations Windows carries out itself (iocp_io.c); the pool receive
 * is emulated, and so is every kind under EVQ_IO_EMULATE=1 (the suite
 * runs both paths). */
#define NATIVE_KINDS                                                  \
  (1u << EVQ_IO_ACCEPT | 1u << EVQ_IO_ACCEPT_MULTI | 1u << EVQ_IO_RECV | \
   1u << EVQ_IO_SEND | 1u << EVQ_IO_CONNECT)

static void todo_add(iocp_t *b, evq__sock_t *s) {
  if (evq__list_empty(&s->todo)) evq__list_push_back(&b->todo, &s->todo);
}

static uint32_t reg_dirs(const evq__reg_t *reg) {
  return reg->mode == EVQ_LEVEL ? reg->interests : reg->armed;
}

static int iocp_init(evq_t *q, uint32_t max_events, void **out) {
  int rc = evq__winsock_init(); /* WSAIoctl needs it for base handles */
  if (rc != 0) return rc;
  iocp_t *b = calloc(1, sizeof *b);
  if (!b) return EVQ_ENOMEM;
  b->q = q;
  b->cap = max_events;
  evq__list_init(&b->todo);
  evq__iocp_io_init(b);
  b->entries = malloc(sizeof *b->entries * b->cap);
  b->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (!b->entries) rc = EVQ_ENOMEM;
  else if (!b->port) rc = evq__from_win32(GetLastError());
  if (rc == 0) {
    evq__groups_init(&b->groups, b->port, KEY_AFD);
    rc = evq__groups_open_first(&b->groups);
  }
  if (rc != 0) {
    if (b->port) CloseHandle(b->port);
    free(b->entries);
    free(b);
    return rc;
  }
  const char *emulate = evq__getenv("EVQ_IO_EMULATE");
  if (!(emulate && *emulate == '1')) {
    evq__set_io_native(q, NATIVE_KINDS);
    evq__set_io_multishot(q, 1u << EVQ_IO_ACCEPT_MULTI); /* iocp_accept.c */
  }
  *out = b;
  return 0;
}

/* The core detached every state before this, and freed those with no poll
 * in flight; what is left waits for its packet, which frees it. Should the
 * packets not come, the states are leaked rather than freed: a leak is
 * safe, a kernel write into freed memory is not. */
static void iocp_destroy(void *bp) {
  iocp_t *b = bp;
  for (evq__state_t *st = evq__state_next(b->q, NULL); st;
       st = evq__state_next(b->q, st))
    if (((evq__sock_t *)st)->type == EVQ__WIN_SOCK)
      evq__sock_cancel((evq__sock_t *)st);
  while (evq__state_next(b->q, NULL)) {
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(b->port, b->entries, b->cap, &n,
                                     DRAIN_MS, FALSE))
      break;
    for (ULONG i = 0; i < n; i++) evq__iocp_drain_packet(b, &b->entries[i]);
  }
  evq__iocp_io_free(b);
  evq__groups_free(&b->groups);
  CloseHandle(b->port);
  free(b->entries);
  free(b);
}

static int iocp_add(void *bp, evq__reg_t *reg) {
  iocp_t *b = bp;
  if (reg->kind == EVQ__KIND_CHILD)
    return evq__proc_add(b->q, reg, b->port, KEY_CHILD);
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  SOCKET base;
  int type = 0;
  int rc = evq__afd_base_socket((SOCKET)evq__reg_fd(reg), &base, &type);
  evq__afd_group_t *g = NULL;
  if (rc == 0) rc = evq__group_acquire(&b->groups, &g);
  if (rc != 0) return rc;
  evq__sock_t *s = evq__state_new(b->q, reg, sizeof *s);
  if (!s) {
    evq__group_release(&b->groups, g);
    return EVQ_ENOMEM;
  }
  evq__list_init(&s->todo);
  s->type = EVQ__WIN_SOCK;
  s->group = g;
  s->base = base;
  s->dgram = type == SOCK_DGRAM;
  s->dirs = reg_dirs(reg);
  s->mode = reg->mode;
  todo_add(b, s);
  return 0;
}

static int iocp_modify(void *bp, evq__reg_t *reg, evq__conf_t old) {
  evq__sock_t *s = reg->bstate;
  (void)old; /* the next sync compares the want with the poll in flight */
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  if (s->closed) return EVQ_EBADF;
  s->dirs = reg_dirs(reg);
  s->mode = reg->mode;
  todo_add(bp, s);
  return 0;
}

/* The core detaches the state next: freed at once if no poll is in flight,
 * else when the cancelled poll's packet comes. */
static int iocp_remove(void *bp, evq__reg_t *reg, bool closing) {
  iocp_t *b = bp;
  (void)closing; /* the poll in flight must end before its record goes */
  if (reg->kind == EVQ__KIND_CHILD)
    evq__proc_remove(b->q, reg->bstate);
  else
    evq__sock_cancel(reg->bstate);
  return 0;
}

static void iocp_rearm(void *bp, evq__reg_t *reg) {
  evq__sock_t *s = reg->bstate;
  s->dirs = reg_dirs(reg);
  todo_add(bp, s);
}

static void iocp_release(void *bp, evq__state_t *st) {
  iocp_t *b = bp;
  evq__sock_t *s = (evq__sock_t *)st;
  if (s->type != EVQ__WIN_SOCK) return; /* a process: nothing hangs on it */
  if (!evq__list_empty(&s->todo)) evq__list_unlink(&s->todo);
  evq__group_release(&b->groups, s->group);
}

/* A socket whose submission failed for want of resources stays on the
 * list and is tried again before the next wait. */
static void iocp_prepare(void *bp) {
  iocp_t *b = bp;
  evq__iocp_io_prepare(b);
  evq__link_t retry;
  evq__list_init(&retry);
  while (!evq__list_empty(&b->todo)) {
    evq__sock_t *s = EVQ__CONTAINER(b->todo.next, evq__sock_t, todo);
    evq__list_unlink(&s->todo);
    if (evq__sock_sync(s) != 0) evq__list_push_back(&retry, &s->todo);
  }
  if (!evq__list_empty(&retry)) { /* move retry's members onto todo */
    b->todo.next = retry.next;
    b->todo.prev = retry.prev;
    retry.next->prev = &b->todo;
    retry.prev->next = &b->todo;
  }
}

/* INFINITE is a DWORD value of its own, so finite waits stop below it. */
static DWORD timeout_ms(int64_t ns) {
  int64_t ms = evq__timeout_ms(ns, (int64_t)INFINITE - 1);
  return ms < 0 ? INFINITE : (DWORD)ms;
}

/* Operations that ended at issue first, in at most half the room, so
 * that a stream of them cannot keep the port's packets waiting; then the
 * port, without waiting if there were some. */
static int iocp_poll(void *bp, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  iocp_t *b = bp;
  int count = evq__iocp_io_ready(b, raw, cap > 1 ? cap / 2 : cap);
  ULONG n = 0, room = (ULONG)(cap - count);
  ULONG max = room < b->cap ? room : b->cap;
  if (max == 0) return count;
  if (!GetQueuedCompletionStatusEx(b->port, b->entries, max, &n,
                                   count ? 0 : timeout_ms(timeout_ns),
                                   FALSE)) {
    DWORD err = GetLastError();
    return err == WAIT_TIMEOUT || count ? count : evq__from_win32(err);
  }
  for (ULONG i = 0; i < n; i++) {
    ULONG_PTR key = b->entries[i].lpCompletionKey;
    if (key == KEY_WAKE) continue; /* the core reads wake-ups from a flag */
    OVERLAPPED *o = b->entries[i].lpOverlapped;
    if (key == EVQ__KEY_OP) {
      evq__iocp_io_raw(&raw[count++], o,
                       b->entries[i].dwNumberOfBytesTransferred);
      continue;
    }
    raw[count].key = key == KEY_CHILD ? (uintptr_t)o : (uintptr_t)evq__sock_of(o);
    raw[count].flags = key == KEY_CHILD ? RAW_PROC : 0;
    raw[count].data = 0;
    count++;
  }
  return count;
}

/* Under the lock: the packet's poll is over. A live socket goes back on the
 * to-do list (the next poll is submitted before the next wait); a
 * deregistered one may be freed here, so nothing of it is read after. */
static bool iocp_complete(void *bp, evq__raw_t *raw) {
  iocp_t *b = bp;
  if (raw->flags & (EVQ__RAW_OP | EVQ__RAW_OP_DONE | EVQ__RAW_SLOT))
    return evq__iocp_io_complete(b, raw);
  if (raw->flags & RAW_PROC) { /* the core reaps it: kind CHILD */
    evq__proc_t *p = (evq__proc_t *)(uintptr_t)raw->key;
    evq__proc_done(p);
    uint64_t key = p->st.key;
    if (!evq__state_completed(b->q, &p->st)) return false;
    raw->key = key;
    raw->flags = 0;
    return true;
  }
  evq__sock_t *s = (evq__sock_t *)(uintptr_t)raw->key;
  uint32_t flags = evq__sock_completed(s);
  uint64_t key = s->st.key;
  if (!evq__state_completed(b->q, &s->st)) return false;
  todo_add(b, s);
  raw->key = key;
  raw->flags = flags;
  return flags != 0;
}

/* Posting cannot block and needs no lock. */
static void iocp_kick(void *bp) {
  iocp_t *b = bp;
  PostQueuedCompletionStatus(b->port, 0, KEY_WAKE, NULL);
}

const evq__backend_t evq__backend_iocp = {
    .name = "iocp",
    .emulated_modes = (1u << EVQ_EDGE) | (1u << EVQ_ONESHOT),
    .changes_need_kick = true,
    .splits_directions = false,
    .keeps_states = true,
    .init = iocp_init,
    .destroy = iocp_destroy,
    .add = iocp_add,
    .modify = iocp_modify,
    .remove = iocp_remove,
    .rearm = iocp_rearm,
    .prepare = iocp_prepare,
    .poll = iocp_poll,
    .complete = iocp_complete,
    .kick = iocp_kick,
    .release = iocp_release,
    .io_adopt = evq__iocp_io_adopt,
    .io_submit = evq__iocp_io_submit,
    .io_cancel = evq__iocp_io_cancel,
    .io_drain = evq__iocp_io_drain,
};
