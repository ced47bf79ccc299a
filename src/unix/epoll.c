/* epoll backend (Linux). The kernel does edge, level and oneshot itself,
 * so this file mostly translates flags. epoll_pwait2 gives nanosecond
 * timeouts where the kernel has it (5.11+); older kernels fall back to
 * epoll_wait with the timeout rounded up to milliseconds.
 *
 * The one hard part is libev's "special problem of dup'ed descriptors".
 * epoll's interest is in the open file, keyed by (file, number), and goes
 * away when the file does. A descriptor closed while registered, whose file
 * another descriptor keeps open (a dup, a child's copy), leaves its entry
 * behind, and no EPOLL_CTL_DEL can reach it any more: it has no number. A
 * level entry then reports at every wait, under a key evq dropped, and the
 * wait would spin. A key no registration has (stale) is legitimate only
 * for a registration removed since the wait began (the kernel had queued
 * its event); so more stale keys in a wait than removals since it began
 * make the backend rebuild the epoll instance from the registry, which
 * leaves such entries behind (counting, not remembering keys: any number
 * of entries, reported in any order, is found in one wait); and an
 * EPOLL_CTL_ADD that finds such an entry (EEXIST for a number the registry
 * does not have) deletes it first. A host loop given evq_fd() watches a
 * front epoll instance that holds the real one, so a rebuild does not
 * change the descriptor it watches.
 *
 * Deregistration is lazy, as libev's stop is: EPOLL_CTL_DEL waits for the
 * next wait, and a number registered again before then gets EPOLL_CTL_MOD
 * (one call instead of two: deregister + register is how a server hands a
 * descriptor between roles). The key's generation already keeps the old
 * registration's events out; the DEL before the wait keeps its entry from
 * waking it. Not while a thread sleeps in epoll_wait (it must see the
 * change at once) nor once a host loop watches evq_fd(). */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAKE_KEY UINT64_MAX

#define LAZY_FDS (1 << 20) /* numbers above are removed at once */
enum { LAZY_NONE, LAZY_DEL, LAZY_KEPT };

typedef struct epoll_state {
  evq_t *q;
  int epfd;
  int front; /* evq_fd()'s descriptor: an epoll holding epfd; -1 until asked */
  bool no_pwait2;
  bool rebuild; /* an entry was left behind: rebuild before the next wait */
  uint32_t removed, stale; /* since the current wait began (prepare) */
  atomic_bool sleeping; /* the waiter is in epoll_wait: no lazy removal */
  /* Lazy removals (the top): their numbers, and by number NONE, DEL (to
   * delete at the next wait) or KEPT (registered again since). */
  int *lazy;
  uint32_t nlazy; /* lazy has lazy_states cells */
  uint8_t *lazy_state;
  uint32_t lazy_states;
  evq__wakefd_t wake;
  struct epoll_event events[]; /* max_events of them */
} epoll_state_t;

/* Half-close (RDHUP) is asked for with READABLE only, as the poll backend
 * does: a write-only registration must not spin on a peer's shutdown. Two
 * table lookups (directions, mode) instead of five branches: this is on
 * every registration's path (19 of its instructions, issue 23). */
#define DIR(i)                                                              \
  (((i) & EVQ_READABLE ? EPOLLIN | EPOLLRDHUP : 0) |                       \
   ((i) & EVQ_WRITABLE ? EPOLLOUT : 0) | ((i) & EVQ_PRIORITY ? EPOLLPRI : 0))
static const uint32_t dir_bits[8] = {DIR(0), DIR(1), DIR(2), DIR(3),
                                     DIR(4), DIR(5), DIR(6), DIR(7)};
static const uint32_t mode_bits[4] = {
    [EVQ_EDGE] = EPOLLET, [EVQ_LEVEL] = 0, [EVQ_ONESHOT] = EPOLLONESHOT};
_Static_assert(EVQ__DIRECTIONS == 7 && EVQ_ONESHOT <= 3, "table indices");

static uint32_t to_epoll(const evq__reg_t *reg) {
  return dir_bits[reg->interests & 7] | mode_bits[reg->mode & 3];
}

/* Hang-up and error make reads and writes return at once, so they also
 * count as readable and writable (the core keeps only what was asked).
 * EPOLLIN, PRI, OUT, ERR and HUP are the low five bits on every Linux
 * architecture, so one table lookup maps them; RDHUP is added apart. */
#define HUP (EVQ_READ_CLOSED | EVQ_WRITE_CLOSED | EVQ_READABLE | EVQ_WRITABLE)
#define ERR (EVQ_ERROR | EVQ_READABLE | EVQ_WRITABLE)
#define ROW(b)                                                              \
  (((b) & 1 ? EVQ_READABLE : 0) | ((b) & 2 ? EVQ_PRIORITY : 0) |           \
   ((b) & 4 ? EVQ_WRITABLE : 0) | ((b) & 8 ? ERR : 0) | ((b) & 16 ? HUP : 0))
#define ROW4(b) ROW(b), ROW(b + 1), ROW(b + 2), ROW(b + 3)
static const uint8_t low_bits[32] = {ROW4(0),  ROW4(4),  ROW4(8),  ROW4(12),
                                     ROW4(16), ROW4(20), ROW4(24), ROW4(28)};
_Static_assert(EPOLLIN == 1 && EPOLLPRI == 2 && EPOLLOUT == 4 &&
                   EPOLLERR == 8 && EPOLLHUP == 16,
               "epoll flag layout");
_Static_assert((HUP | ERR) <= UINT8_MAX, "results fit the table");

static uint32_t from_epoll(uint32_t e) {
  return low_bits[e & 31] | (e & EPOLLRDHUP ? EVQ_READ_CLOSED : 0);
}

/* The kernel's result as epoll_ctl gives it: 0, or -1 and errno. */
static inline int ep_ctl_raw(epoll_state_t *s, int op, int fd,
                             evq__reg_t *reg) {
  struct epoll_event ev = {.events = to_epoll(reg),
                           .data.u64 = evq__key(reg->id, reg->gen)};
  return epoll_ctl(s->epfd, op, fd, &ev);
}

static int ep_ctl(epoll_state_t *s, int op, evq__reg_t *reg) {
  if (ep_ctl_raw(s, op, (int)evq__reg_handle(reg), reg) == 0) return 0;
  if (errno == ENOENT) return EVQ_EBADF; /* closed while registered */
  return evq__from_errno(errno);
}

/* ep_add's first try failed (errno): a MOD of a lazily removed entry the
 * number no longer has, or an ADD that finds an entry left by a close. */
__attribute__((noinline)) static int ep_add_retry(epoll_state_t *s, int op,
                                                  evq__reg_t *reg) {
  int rc = errno == ENOENT ? EVQ_EBADF : evq__from_errno(errno);
  if (op == EPOLL_CTL_MOD) {
    if (rc != EVQ_EBADF) return rc;
    rc = ep_ctl(s, EPOLL_CTL_ADD, reg);
  }
  if (rc == EVQ_EEXIST) {
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, (int)evq__reg_handle(reg), NULL);
    rc = ep_ctl(s, EPOLL_CTL_ADD, reg);
  }
  return rc;
}

/* EEXIST: the registry has no registration on this number, so the
 * kernel's entry is one left by a close (see the top): replace it. A
 * number removed lazily still has its entry: MOD takes it over, unless
 * the number is another file's by now (ENOENT, our EBADF), which ADD then
 * names. */
static int ep_add(void *b, evq__reg_t *reg) {
  epoll_state_t *s = b;
  if (reg->kind == EVQ__KIND_CHILD && reg->handle < 0) return EVQ_ENOTSUP;
  int fd = (int)evq__reg_handle(reg), op = EPOLL_CTL_ADD;
  if ((uint32_t)fd < s->lazy_states && s->lazy_state[fd] == LAZY_DEL) {
    s->lazy_state[fd] = LAZY_KEPT;
    op = EPOLL_CTL_MOD;
  }
  return ep_ctl_raw(s, op, fd, reg) == 0 ? 0 : ep_add_retry(s, op, reg);
}

/* EPOLL_CTL_MOD takes the whole new set and mode, so the old one does not
 * matter. ENOENT: a rebuild left out a oneshot that had fired, or the
 * number names another file by now (closed while registered, and taken):
 * add it. In the second case the old file's entry lives on while a dup
 * keeps that file open, under the registration's key, and one wait would
 * report the registration twice; so the registration takes a new key
 * first, the old entry's reports turn stale, and the next wait rebuilds
 * without it (the top). */
static int ep_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  epoll_state_t *s = b;
  (void)old;
  struct epoll_event ev = {.events = to_epoll(reg),
                           .data.u64 = evq__key(reg->id, reg->gen)};
  if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, (int)evq__reg_handle(reg), &ev) == 0)
    return 0;
  if (errno != ENOENT) return evq__from_errno(errno);
  (void)evq__registry_rekey(s->q, reg);
  return ep_add(b, reg);
}

/* Room in lazy_state for fd, and in lazy for as many numbers (each is
 * listed once, so the list then never runs out); false if there is no
 * memory. Rare: the arrays grow to the highest number removed. */
__attribute__((noinline)) static bool lazy_grow(epoll_state_t *s, int fd) {
  uint32_t n = s->lazy_states ? s->lazy_states : 64;
  while (n <= (uint32_t)fd) n *= 2;
  int *l = realloc(s->lazy, n * sizeof *l);
  if (!l) return false;
  s->lazy = l;
  uint8_t *st = realloc(s->lazy_state, n);
  if (!st) return false;
  memset(st + s->lazy_states, LAZY_NONE, n - s->lazy_states);
  s->lazy_state = st;
  s->lazy_states = n;
  return true;
}

/* Notes fd's removal for the next wait (the top); false: do it now (a
 * thread sleeps in epoll_wait, a host loop watches, or no memory).
 * lazy_states stays within LAZY_FDS, so its bound is the only one. */
static bool lazy_remove(epoll_state_t *s, int fd) {
  if (s->front >= 0 ||
      atomic_load_explicit(&s->sleeping, memory_order_acquire))
    return false;
  if ((uint32_t)fd >= s->lazy_states &&
      (fd < 0 || fd >= LAZY_FDS || !lazy_grow(s, fd)))
    return false;
  if (s->lazy_state[fd] == LAZY_NONE) s->lazy[s->nlazy++] = fd;
  s->lazy_state[fd] = LAZY_DEL;
  return true;
}

/* Before a wait: the removals noted since the last one. Errors mean the
 * number was closed (the close took the entry, or left it to a rebuild)
 * or is another file's, which has no entry under it. */
static void lazy_flush(epoll_state_t *s) {
  /* Locals: through s, every epoll_ctl would make the compiler reload. */
  const int *lazy = s->lazy;
  uint8_t *state = s->lazy_state;
  for (uint32_t i = 0, n = s->nlazy; i < n; i++) {
    int fd = lazy[i];
    if (state[fd] == LAZY_DEL) epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
    state[fd] = LAZY_NONE;
  }
  s->nlazy = 0;
}

/* closing: the close drops the entry, unless another descriptor keeps the
 * file open; such a leftover is found and cleared as any other (the top). */
__attribute__((noinline)) static int ep_del(epoll_state_t *s, int fd) {
  return epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL) == 0
             ? 0 : evq__from_errno(errno);
}

/* The kernel call apart (ep_del): the lazy path then needs no frame. */
static int ep_remove(void *b, evq__reg_t *reg, bool closing) {
  epoll_state_t *s = b;
  s->removed++;
  if (closing) return 0;
  if (reg->kind == EVQ__KIND_FD && lazy_remove(s, evq__reg_fd(reg))) return 0;
  return ep_del(s, (int)evq__reg_handle(reg));
}

/* An epoll instance with the wake descriptor in it, or -1 and errno. */
static int new_instance(epoll_state_t *s) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_KEY};
  if (fd >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, s->wake.read_fd, &ev) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* Under the lock, on the waiter before it waits: a new instance with every
 * live registration (a oneshot that fired stays out until modify), in
 * place of the old one and whatever it held that no number could reach.
 * Only what the old instance watches under that number moves: a number
 * closed while registered may name another file by now (a dup2, a new
 * socket), which the registration never watched, and a no-op
 * EPOLL_CTL_MOD on the old instance finds no entry for it (ENOENT; EBADF
 * if closed). Such registrations stay silent, as closed ones. Any other
 * failure (an add refused for want of memory, ENOMEM or ENOSPC) keeps the
 * old instance, which still works, and the next wait tries again: a live
 * registration is never dropped. */
__attribute__((noinline)) /* rare: keep ep_prepare a few instructions */
static void rebuild(epoll_state_t *s) {
  int fd = new_instance(s);
  if (fd < 0) return; /* no descriptor or memory now: try again later */
  uint32_t cursor = 0;
  for (evq__reg_t *reg; (reg = evq__registry_next(s->q, &cursor));) {
    int target = (int)evq__reg_handle(reg);
    if (reg->kind == EVQ__KIND_SIGNAL || target < 0) continue;
    if (reg->mode == EVQ_ONESHOT && reg->armed == 0) continue;
    struct epoll_event ev = {.events = to_epoll(reg),
                             .data.u64 = evq__key(reg->id, reg->gen)};
    bool moved = epoll_ctl(s->epfd, EPOLL_CTL_MOD, target, &ev) == 0;
    if (!moved && (errno == ENOENT || errno == EBADF)) continue; /* not its */
    if (!moved || (epoll_ctl(fd, EPOLL_CTL_ADD, target, &ev) != 0 &&
                   (errno == ENOMEM || errno == ENOSPC))) {
      close(fd); /* the kernel failed us: keep the old one, try again */
      return;
    }
  }
  /* Same number as before: the caller may have taken the number the new
   * instance got (it is one they just freed) for a dup2 of their own. The
   * old instance goes with the number, and the front forgets it with it. */
  if (dup3(fd, s->epfd, O_CLOEXEC) < 0) {
    close(fd);
    return;
  }
  close(fd);
  if (s->front >= 0) {
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(s->front, EPOLL_CTL_ADD, s->epfd, &ev);
  }
  s->rebuild = false;
}

static void ep_prepare(void *b) {
  epoll_state_t *s = b;
  if (s->nlazy) lazy_flush(s); /* the test keeps a wait's cost as it was */
  if (s->rebuild) rebuild(s);
  s->removed = s->stale = 0;
  atomic_store_explicit(&s->sleeping, true, memory_order_relaxed);
}

/* Under the lock: a reported key no registration has. epoll reports an
 * entry once per wait, so each removal since the wait began accounts for
 * one; one more is an entry left behind by a close (see the top). */
static void ep_stale(void *b, uint64_t key) {
  epoll_state_t *s = b;
  (void)key;
  if (++s->stale > s->removed) s->rebuild = true;
}

static int ep_init(evq_t *q, uint32_t max_events, void **out) {
  epoll_state_t *s = calloc(1, sizeof *s + sizeof s->events[0] * max_events);
  if (!s) return EVQ_ENOMEM;
  s->q = q;
  s->front = -1;
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  int rc = s->epfd < 0 ? evq__from_errno(errno) : evq__wakefd_open(&s->wake);
  if (rc == 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_KEY};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake.read_fd, &ev) != 0) {
      rc = evq__from_errno(errno);
      evq__wakefd_close(&s->wake);
    }
  }
  if (rc != 0) {
    if (s->epfd >= 0) close(s->epfd);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void ep_destroy(void *b) {
  epoll_state_t *s = b;
  evq__wakefd_close(&s->wake);
  close(s->epfd);
  if (s->front >= 0) close(s->front);
  free(s->lazy);
  free(s->lazy_state);
  free(s);
}

static int ep_syscall(epoll_state_t *s, int cap, int64_t timeout_ns) {
#ifdef SYS_epoll_pwait2
  if (!s->no_pwait2 && timeout_ns > 0) {
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000,
                          .tv_nsec = timeout_ns % 1000000000};
    long r = syscall(SYS_epoll_pwait2, s->epfd, s->events, cap, &ts, NULL, 0);
    if (r >= 0 || errno != ENOSYS) return (int)r;
    s->no_pwait2 = true;
  }
#endif
  int ms = (int)evq__timeout_ms(timeout_ns, INT_MAX);
  return epoll_wait(s->epfd, s->events, cap, ms);
}

static int ep_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  epoll_state_t *s = b;
  int r = ep_syscall(s, cap, timeout_ns);
  atomic_store_explicit(&s->sleeping, false, memory_order_release);
  if (r < 0) return evq__from_errno(errno); /* EINTR: EVQ_EINTR */
  /* By pointer: indices cost a sign extension and a multiply per event. */
  evq__raw_t *o = raw;
  for (const struct epoll_event *e = s->events, *end = e + r; e < end; e++) {
    uint64_t key = e->data.u64;
    if (key == WAKE_KEY) {
      evq__wakefd_drain(&s->wake);
      continue;
    }
    o->key = key;
    o->flags = from_epoll(e->events);
    o->data = 0;
    o++;
  }
  return (int)(o - raw);
}

static void ep_kick(void *b) {
  epoll_state_t *s = b;
  evq__wakefd_signal(&s->wake);
}

/* Under the lock. The front instance holds only epfd, so it is readable
 * exactly when epfd is, and a rebuild swaps what it holds. */
static intptr_t ep_fd(void *b) {
  epoll_state_t *s = b;
  if (s->front < 0) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (fd < 0 || epoll_ctl(fd, EPOLL_CTL_ADD, s->epfd, &ev) != 0) {
      if (fd >= 0) close(fd);
      return -1;
    }
    s->front = fd;
    lazy_flush(s); /* the host loop must not be woken by them */
  }
  return s->front;
}

/* The kernel does every mode, applies changes at once (also to a waiter
 * blocked in epoll_wait) and reports each descriptor once per call. */
const evq__backend_t evq__backend_epoll = {
    .name = "epoll",
    .emulated_modes = 0,
    .changes_need_kick = false,
    .splits_directions = false,
    .keeps_states = false,
    .init = ep_init,
    .destroy = ep_destroy,
    .add = ep_add,
    .modify = ep_modify,
    .remove = ep_remove,
    .prepare = ep_prepare,
    .poll = ep_poll,
    .kick = ep_kick,
    .fd = ep_fd,
    .stale = ep_stale,
};
