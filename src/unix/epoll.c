/* epoll backend (Linux). The kernel does edge, level and oneshot itself,
 * so this file only translates flags. epoll_pwait2 gives nanosecond
 * timeouts where the kernel has it (5.11+); older kernels fall back to
 * epoll_wait with the timeout rounded up to milliseconds. */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAKE_KEY UINT64_MAX

typedef struct epoll_state {
  int epfd;
  bool no_pwait2;
  evq__wakefd_t wake;
  struct epoll_event events[]; /* max_events of them */
} epoll_state_t;

/* Half-close (RDHUP) is asked for with READABLE only, as the poll backend
 * does: a write-only registration must not spin on a peer's shutdown. */
static uint32_t to_epoll(const evq__reg_t *reg) {
  uint32_t e = 0;
  if (reg->interests & EVQ_READABLE) e |= EPOLLIN | EPOLLRDHUP;
  if (reg->interests & EVQ_WRITABLE) e |= EPOLLOUT;
  if (reg->interests & EVQ_PRIORITY) e |= EPOLLPRI;
  if (reg->mode == EVQ_EDGE) e |= EPOLLET;
  if (reg->mode == EVQ_ONESHOT) e |= EPOLLONESHOT;
  return e;
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

static int ep_ctl(epoll_state_t *s, int op, evq__reg_t *reg) {
  struct epoll_event ev = {.events = to_epoll(reg),
                           .data.u64 = evq__key(reg->id, reg->gen)};
  if (epoll_ctl(s->epfd, op, evq__reg_fd(reg), &ev) == 0) return 0;
  if (errno == ENOENT) return EVQ_EBADF; /* closed while registered */
  return evq__from_errno(errno);
}

static int ep_add(void *b, evq__reg_t *reg) {
  return ep_ctl(b, EPOLL_CTL_ADD, reg);
}

/* EPOLL_CTL_MOD takes the whole new set and mode, so the old one does not
 * matter. */
static int ep_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  (void)old;
  return ep_ctl(b, EPOLL_CTL_MOD, reg);
}

static int ep_remove(void *b, evq__reg_t *reg) {
  epoll_state_t *s = b;
  return epoll_ctl(s->epfd, EPOLL_CTL_DEL, evq__reg_fd(reg), NULL) == 0
             ? 0 : evq__from_errno(errno);
}

static int ep_init(evq_t *q, uint32_t max_events, void **out) {
  (void)q;
  epoll_state_t *s = malloc(sizeof *s + sizeof s->events[0] * max_events);
  if (!s) return EVQ_ENOMEM;
  s->no_pwait2 = false;
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
  if (r < 0) return errno == EINTR ? 0 : evq__from_errno(errno);
  int n = 0;
  for (int i = 0; i < r; i++) {
    if (s->events[i].data.u64 == WAKE_KEY) {
      evq__wakefd_drain(&s->wake);
      continue;
    }
    raw[n].key = s->events[i].data.u64;
    raw[n].flags = from_epoll(s->events[i].events);
    raw[n].data = 0;
    n++;
  }
  return n;
}

static void ep_kick(void *b) {
  epoll_state_t *s = b;
  evq__wakefd_signal(&s->wake);
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
    .poll = ep_poll,
    .kick = ep_kick,
};
