/* io_uring backend (Linux 5.11+): readiness from poll requests in the
 * ring, with no epoll anywhere. ring.c is the little of liburing it needs.
 *
 * Each registration has at most one poll request in flight, whose
 * user_data is the registration's record (a lifetime state, backend.h: the
 * request's completion may come after deregistration, and refers to it).
 * Level is a multishot poll, updated after each delivery (a poll update
 * makes the kernel look at the file again and complete at once while it
 * stays ready, so every wait sees it); updating rather than submitting a
 * new poll keeps polling the file the registration was made with, never
 * another file that took a closed descriptor's number. Edge is the core's
 * emulation over single-shot polls, submitted again once I/O hit
 * would-block: a multishot poll would be edge-triggered too, but the
 * kernel ends one when the completion queue is full, and the poll that
 * replaces it reports the same readiness a second time. (Except where a
 * completion brought only bits not asked for: the kernel adds RDHUP to
 * every poll, so a write-only poll on a socket shut for reading completes
 * at once each time it is submitted; such a registration polls multishot,
 * which completes on wake-ups only.) Oneshot is a
 * single-shot poll not submitted again until evq_modify. Before Linux 5.13
 * (no multishot polls) level is a single-shot poll submitted again after
 * each delivery.
 *
 * Changes are not system calls of their own: registration, modification,
 * deregistration (a poll removal) and re-arming put the record on a to-do
 * list, and the waiter writes the requests into the submission queue just
 * before it waits, so they go in with the io_uring_enter that waits. A
 * change from another thread kicks a blocked waiter (changes_need_kick),
 * which goes round and submits it at once. Only the waiter touches the
 * submission and completion queues, so the rings need no lock.
 *
 * Wake-ups are an eventfd polled in the ring; wait timeouts are the
 * enter's own (IORING_FEAT_EXT_ARG, nanoseconds). Completions that do not
 * fit the completion queue wait in the kernel (IORING_FEAT_NODROP) and are
 * flushed by the next peek; a multishot poll the kernel ends that way is
 * submitted again.
 */
#define _GNU_SOURCE
#include "unix.h"

#include "pollmask.h"
#include "ring.h"
#include "uring_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define UD_IGNORE 0 /* removals: their own completion says nothing */
#define UD_WAKE 1   /* the poll on the wake eventfd */
#define SQ_ENTRIES 256
#define PINNED_FILES 32768 /* the table's size at most (uring_files.h) */

typedef struct ur_reg {
  evq__state_t st; /* first: the core's lifetime record */
  struct ur_reg *todo_next, *todo_prev; /* on the to-do list when linked */
  int fd;            /* what is polled: the descriptor, or a child's pidfd */
  uint32_t slot;     /* its file's slot in the table, or EVQ__NO_SLOT */
  uintptr_t ident;   /* no slot: the file's identity (evq__file_id) that
                        each request by number checks first; 0: none */
  uint32_t dirs;     /* EVQ directions wanted */
  uint32_t polled;   /* poll mask of the request in flight */
  uint8_t mode;
  bool on_todo;
  bool fired;        /* oneshot: reported, silent until modify */
  bool closed;       /* the number was closed: silent until modify */
  bool live;         /* the current request is in flight */
  bool orphan;       /* a replaced request is still in flight */
  uint8_t gen;       /* the current request's parity, in its user_data */
  bool ms;           /* the request in flight is multishot */
  bool again;        /* level: have the kernel look at the file again */
  bool sticky;       /* a completion brought only bits not asked for (the
                        kernel always watches RDHUP): a single-shot poll
                        would complete at once again, so poll multishot */
} ur_reg_t;

typedef struct uring_state {
  evq_t *q;
  evq__ring_t ring;
  evq__wakefd_t wake;
  evq__ufiles_t files;
  bool multishot;    /* the kernel has multishot polls (5.13+) */
  bool wake_armed;   /* the wake eventfd's poll is in flight */
  bool embedded;     /* evq_fd() handed out the ring's descriptor */
  bool kicked;       /* embedded: a kick for pending re-arms is out */
  ur_reg_t todo;     /* list head */
  uint32_t max;
  struct io_uring_cqe **cqes; /* the waiter's: max of them */
} uring_state_t;

/* ---- the to-do list ----------------------------------------------------- */

static void todo_add(uring_state_t *s, ur_reg_t *r) {
  if (r->on_todo) return;
  r->on_todo = true;
  r->todo_next = &s->todo;
  r->todo_prev = s->todo.todo_prev;
  s->todo.todo_prev->todo_next = r;
  s->todo.todo_prev = r;
}

static void todo_remove(ur_reg_t *r) {
  if (!r->on_todo) return;
  r->on_todo = false;
  r->todo_prev->todo_next = r->todo_next;
  r->todo_next->todo_prev = r->todo_prev;
}

/* ---- flags ------------------------------------------------------------- */

/* ---- submissions (the waiter only, under the lock) --------------------- */

static struct io_uring_sqe *sqe_get(uring_state_t *s) {
  struct io_uring_sqe *sqe = evq__ring_sqe(&s->ring);
  if (!sqe) { /* full: hand what is there to the kernel now */
    evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
    sqe = evq__ring_sqe(&s->ring);
  }
  return sqe;
}

/* The kernel reads poll32_events as a little-endian word of two halves. */
static void prep_poll(struct io_uring_sqe *sqe, int fd, uint32_t mask,
                      bool multishot, uint64_t user_data) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  mask = (mask << 16) | (mask >> 16);
#endif
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  sqe->poll32_events = mask;
  sqe->len = multishot ? IORING_POLL_ADD_MULTI : 0;
  sqe->user_data = user_data;
}

static void prep_remove(struct io_uring_sqe *sqe, uint64_t target) {
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->user_data = UD_IGNORE;
}

/* A multishot poll updated to the same mask: the kernel re-arms it and
 * completes it at once if the file is ready. */
static void prep_update(struct io_uring_sqe *sqe, uint64_t target,
                        uint32_t mask) {
  prep_poll(sqe, -1, mask, true, UD_IGNORE);
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->addr = target;
  sqe->len = IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI;
}

static uint32_t want(const ur_reg_t *r) {
  if (r->st.key == 0 || r->fired || r->closed) return 0;
  return evq__poll_mask(r->dirs);
}

/* A request's user_data: r, with the parity of its generation in the low
 * bit (r is at least 8-aligned), so that the completions of a request
 * replaced for a modify are told from those of its successor. */
static uint64_t ud_of(const ur_reg_t *r) {
  return (uint64_t)(uintptr_t)r | r->gen;
}

/* A request by number polls whatever file the number names when it
 * reaches the kernel: only the file the registration was made with may be.
 * A file whose identity the kernel cannot give now (ENOMEM) is taken to be
 * the same: silencing it would lose its events. */
static bool same_file(ur_reg_t *r) {
  if (r->slot != EVQ__NO_SLOT || r->ident == 0) return true;
  int err;
  uintptr_t id = evq__file_id(r->fd, &err);
  if (err == 0 ? id == r->ident : err != EVQ_EBADF) return true;
  r->closed = true; /* as a closed number: quiet until modify */
  return false;
}

/* Makes the ring hold the request r needs: an update of the live request,
 * or a removal of it and, in the same submission, the new request (a wait
 * of 0 right after a modify sees what the new one reports). One replaced
 * request at a time: while one is still in flight, the next replacement
 * waits for its end, which brings r back to the list. */
static void sync_reg(uring_state_t *s, ur_reg_t *r) {
  uint32_t w = want(r);
  bool ms = s->multishot && (r->mode == EVQ_LEVEL || r->sticky);
  if (r->live) {
    bool replace = w == 0 || w != r->polled || ms != r->ms;
    if (!replace && !r->again) return;
    if (replace && r->orphan) return;
    struct io_uring_sqe *sqe = sqe_get(s);
    if (!sqe) {
      todo_add(s, r); /* no room even after a submit: next round */
      return;
    }
    if (!replace) {
      prep_update(sqe, ud_of(r), w);
      /* The update's own completion says nothing worth a slot (5.17+). */
      if (s->ring.features & IORING_FEAT_CQE_SKIP)
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      r->again = false;
      return;
    }
    prep_remove(sqe, ud_of(r));
    r->live = false;
    r->orphan = true;
    r->gen ^= 1;
  }
  if (w == 0 || !same_file(r)) return;
  struct io_uring_sqe *sqe = sqe_get(s);
  if (!sqe) {
    todo_add(s, r);
    return;
  }
  prep_poll(sqe, r->fd, w, ms, ud_of(r));
  if (r->slot != EVQ__NO_SLOT) {
    sqe->fd = (int)r->slot;
    sqe->flags |= IOSQE_FIXED_FILE;
  }
  r->polled = w;
  r->ms = ms;
  r->again = false;
  r->live = true;
  evq__state_submitted(&r->st);
}

static void arm_wake(uring_state_t *s) {
  struct io_uring_sqe *sqe = sqe_get(s);
  if (!sqe) return;
  prep_poll(sqe, s->wake.read_fd, POLLIN, s->multishot, UD_WAKE);
  s->wake_armed = true;
}

static void ur_prepare(void *b) {
  uring_state_t *s = b;
  if (!s->wake_armed) arm_wake(s);
  s->kicked = false;
  /* Files of deregistrations that no registration has taken over. */
  if (evq__ufiles_dirty(&s->files)) evq__ufiles_flush(&s->files, &s->ring);
  while (s->todo.todo_next != &s->todo) {
    ur_reg_t *r = s->todo.todo_next;
    todo_remove(r);
    sync_reg(s, r);
  }
}

/* ---- registration (under the lock) ------------------------------------- */

static int target(const evq__reg_t *reg) {
  return reg->kind == EVQ__KIND_FD ? evq__reg_fd(reg) : (int)reg->handle;
}

/* Priority is not offered (EVQ_ENOTSUP, as on kqueue and IOCP): a poll
 * request completes with the mask of the wake-up that ended it, and a
 * socket's data wake-up names POLLPRI along with POLLIN, so ordinary data
 * would be reported as priority. */
static bool asks_priority(const evq__reg_t *reg) {
  return reg->kind == EVQ__KIND_FD && (reg->interests & EVQ_PRIORITY);
}

/* Pins the file reg names now (uring_files.h); where it cannot, keeps the
 * file's identity for the requests by number to check. Either way a bad
 * descriptor is found now: a poll request would report it only when it
 * completes, too late for evq_register to say so. A child's pidfd is
 * evq's own, and its number cannot change files. */
static int pin(uring_state_t *s, const evq__reg_t *reg, uint32_t *slot,
               uintptr_t *ident) {
  int fd = target(reg), rc = 0;
  *slot = EVQ__NO_SLOT;
  *ident = 0;
  if (reg->kind != EVQ__KIND_FD) return evq__check_fd(fd);
  *slot = evq__ufiles_pin(&s->files, &s->ring, fd);
  if (*slot == EVQ__NO_SLOT) *ident = evq__file_id(fd, &rc);
  return rc;
}

static int ur_add(void *b, evq__reg_t *reg) {
  uring_state_t *s = b;
  int fd = target(reg);
  if (fd < 0) return EVQ_ENOTSUP; /* a child without a pidfd */
  if (asks_priority(reg)) /* after EBADF, as elsewhere */
    return evq__check_fd(fd) ? EVQ_EBADF : EVQ_ENOTSUP;
  uint32_t slot;
  uintptr_t ident;
  int rc = pin(s, reg, &slot, &ident);
  if (rc != 0) return rc;
  ur_reg_t *r = evq__state_new(s->q, reg, sizeof *r);
  if (!r) {
    if (slot != EVQ__NO_SLOT) evq__ufiles_unpin(&s->files, slot);
    return EVQ_ENOMEM;
  }
  r->fd = fd;
  r->slot = slot;
  r->ident = ident;
  r->dirs = reg->interests;
  r->mode = reg->mode;
  todo_add(s, r);
  return 0;
}

static int ur_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  ur_reg_t *r = reg->bstate;
  (void)old; /* the next sync compares the request in flight */
  int rc = evq__check_fd(r->fd);
  if (rc != 0) return rc;
  if (asks_priority(reg)) return EVQ_ENOTSUP;
  r->dirs = reg->interests;
  r->mode = reg->mode;
  r->fired = false;
  r->closed = false;
  todo_add(b, r);
  return 0;
}

/* The core detaches the record next: freed at once with no request in
 * flight, else once the removal's completion of the request comes. */
static int ur_remove(void *b, evq__reg_t *reg, bool closing) {
  (void)closing; /* the poll holds the file: it must be removed anyway */
  uring_state_t *s = b;
  ur_reg_t *r = reg->bstate;
  if (r->slot != EVQ__NO_SLOT) evq__ufiles_unpin(&s->files, r->slot);
  r->slot = EVQ__NO_SLOT;
  todo_add(s, r);
  return 0;
}

static void ur_rearm(void *b, evq__reg_t *reg) {
  ur_reg_t *r = reg->bstate;
  r->dirs = reg->armed;
  todo_add(b, r);
}

static void ur_release(void *b, evq__state_t *st) {
  (void)b;
  todo_remove((ur_reg_t *)st);
}

/* ---- waiting ------------------------------------------------------------ */

/* One io_uring_enter submits the queued changes and waits. A wait that
 * ends with no completion and no -ETIME was interrupted (EVQ_OPT_EINTR
 * needs to know; the enter returns the count submitted, not EINTR, when a
 * signal cuts the wait short after a submission). */
static int enter(uring_state_t *s, int64_t timeout_ns) {
  unsigned submit = evq__ring_flush(&s->ring);
  /* GETEVENTS even when not waiting: a poll that is ready when armed
   * completes through task work, which the kernel runs on that path. */
  if (timeout_ns == 0)
    return submit ? evq__ring_enter(&s->ring, submit, 0,
                                    IORING_ENTER_GETEVENTS, NULL, 0)
                  : 0;
  if (timeout_ns < 0)
    return evq__ring_enter(&s->ring, submit, 1, IORING_ENTER_GETEVENTS, NULL,
                           0);
  struct __kernel_timespec ts = {.tv_sec = timeout_ns / 1000000000,
                                 .tv_nsec = timeout_ns % 1000000000};
  struct io_uring_getevents_arg arg = {.ts = (uint64_t)(uintptr_t)&ts};
  return evq__ring_enter(&s->ring, submit, 1,
                         IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
                         sizeof arg);
}

static int ur_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  uring_state_t *s = b;
  int rc = enter(s, timeout_ns);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
    return evq__from_errno(-rc);
  /* Completions that carry nothing for the caller (removals, updates,
   * the wake poll) take no slot of raw: keep reading past them, and stop
   * at the first one that does not fit. */
  unsigned max = (unsigned)cap < s->max ? (unsigned)cap : s->max;
  unsigned seen;
  int n = 0;
  bool any = false;
  while ((unsigned)n < max &&
         (seen = evq__ring_peek(&s->ring, s->cqes, max - (unsigned)n)) > 0) {
    any = true;
    for (unsigned i = 0; i < seen; i++) {
      struct io_uring_cqe *cqe = s->cqes[i];
      uint64_t ud = cqe->user_data;
      if (ud == UD_WAKE) {
        evq__wakefd_drain(&s->wake);
        if (!(cqe->flags & IORING_CQE_F_MORE)) s->wake_armed = false;
      } else if (ud != UD_IGNORE) {
        raw[n].key = ud;
        raw[n].flags = (uint32_t)cqe->res;
        raw[n].data = cqe->flags;
        n++;
      }
    }
    evq__ring_seen(&s->ring, seen);
  }
  if (!any && timeout_ns != 0 && rc != -ETIME) return EVQ_EINTR;
  /* A single-shot wake poll that fired is armed again before the next
   * wait; a host loop (evq_fd) may not call evq_wait before it needs the
   * next kick, so then it goes in now. */
  if (!s->wake_armed && s->embedded) {
    arm_wake(s);
    evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
  }
  return n;
}

/* Under the lock: the completion of r's request. Its last completion (no
 * F_MORE) ends the request; r then goes back on the list, and the next
 * round submits what it needs (level: the same poll again). */
static bool ur_complete(void *b, evq__raw_t *raw) {
  uring_state_t *s = b;
  ur_reg_t *r = (ur_reg_t *)(uintptr_t)(raw->key & ~(uint64_t)1);
  bool current = (raw->key & 1) == r->gen;
  int res = (int)raw->flags;
  bool last = !(raw->data & IORING_CQE_F_MORE);
  if (!last && r->st.key == 0) return false; /* deregistered */
  if (last) {
    bool stays = r->st.inflight > 1; /* another request keeps r alive */
    if (!evq__state_completed(s->q, &r->st)) {
      /* Deregistered. If the replaced request just ended, the live one
       * still waits for its removal, which waited for this end. */
      if (stays) {
        if (current) r->live = false;
        else r->orphan = false;
        todo_add(s, r);
      }
      return false;
    }
  }
  if (!current) { /* replaced: its successor reports what is ready now */
    if (last) {
      r->orphan = false;
      todo_add(s, r); /* a replacement may have waited for this end */
    }
    return false;
  }
  if (last) r->live = false;
  /* A poll on a number closed before it went in fails at once, and would
   * again each round: as on poll, the registration stays quiet until
   * modify or re-registration (evq.h: a closed descriptor reports
   * nothing). */
  if (last && res == -EBADF) r->closed = true;
  /* The kernel may add bits not asked for: it always watches RDHUP, so a
   * write-only poll on a socket shut for reading completes with RDHUP
   * alone. epoll reports no such thing, and neither does this backend. */
  uint32_t flags = res <= 0 ? 0
      : evq__poll_results((uint32_t)res & (r->polled | POLLHUP | POLLERR));
  /* A delivered level event asks the kernel to look again next round;
   * one that delivers nothing must not, or the look completes at once
   * with the same bits, round after round: a spin. */
  if (!last && flags && r->mode == EVQ_LEVEL) r->again = true;
  if (res > 0 && !flags) r->sticky = true;
  if (last || r->again) {
    todo_add(s, r);
    if (s->embedded && !s->kicked) { /* the host must come back for it */
      s->kicked = true;
      evq__wakefd_signal(&s->wake);
    }
  }
  if (res <= 0) return false; /* removed for a modify, or a bad file */
  /* A request from before a modify may complete after it: it counts as the
   * oneshot's event only if it reports something now wanted. */
  if (r->mode == EVQ_ONESHOT &&
      (flags & (r->dirs | ~(uint32_t)EVQ__DIRECTIONS)))
    r->fired = true;
  raw->key = r->st.key;
  raw->flags = flags;
  raw->data = 0;
  return flags != 0;
}

static bool ur_unsettled(void *b) {
  uring_state_t *s = b;
  return s->todo.todo_next != &s->todo;
}

static void ur_kick(void *b) {
  uring_state_t *s = b;
  evq__wakefd_signal(&s->wake);
}

/* The ring's descriptor is readable while completions wait. */
static intptr_t ur_fd(void *b) {
  uring_state_t *s = b;
  s->embedded = true;
  return s->ring.fd;
}

/* ---- life --------------------------------------------------------------- */

/* Multishot polls came with Linux 5.13; no flag or probe tells. */
static bool kernel_at_least(int major, int minor) {
  struct utsname u;
  int ma = 0, mi = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

static int ring_init(evq_t *q, uring_state_t *s) {
  unsigned cq = 4 * (s->max > 64 ? s->max : 64); /* >= SQ_ENTRIES */
  int rc = evq__ring_init(&s->ring, SQ_ENTRIES, cq);
  if (rc == -ENOSYS) {
    evq__unavailable(q, "io_uring: the kernel has none (Linux 5.1+)");
    return EVQ_ENOTSUP;
  }
  if (rc == -EPERM || rc == -EACCES) {
    evq__unavailable(q, "io_uring: not permitted here (kernel.io_uring_"
                        "disabled, a seccomp filter or a container policy)");
    return EVQ_ENOTSUP;
  }
  if (rc == -ENOMEM) {
    evq__unavailable(q, "io_uring: no memory for the rings (RLIMIT_MEMLOCK?)");
    return EVQ_ENOMEM;
  }
  if (rc < 0) {
    evq__unavailable(q, "io_uring: io_uring_setup failed");
    return evq__from_errno(-rc);
  }
  if (!(s->ring.features & IORING_FEAT_EXT_ARG) ||
      !(s->ring.features & IORING_FEAT_NODROP)) {
    evq__ring_exit(&s->ring);
    evq__unavailable(q, "io_uring: the kernel lacks wait timeouts in the "
                        "enter or lossless completions (Linux 5.11+)");
    return EVQ_ENOTSUP;
  }
  return 0;
}

static int ur_init(evq_t *q, uint32_t max_events, void **out) {
  uring_state_t *s = calloc(1, sizeof *s);
  if (!s) return EVQ_ENOMEM;
  s->q = q;
  s->max = max_events;
  s->todo.todo_next = s->todo.todo_prev = &s->todo;
  s->cqes = malloc(sizeof *s->cqes * max_events);
  int rc = s->cqes ? ring_init(q, s) : EVQ_ENOMEM;
  if (rc == 0) {
    rc = evq__wakefd_open(&s->wake);
    if (rc != 0) evq__ring_exit(&s->ring);
  }
  if (rc != 0) {
    free(s->cqes);
    free(s);
    return rc;
  }
  /* EVQ_IO_URING_NO_MULTISHOT=1 takes the path of kernels before 5.13,
   * so the suite can run it here. */
  const char *no_ms = evq__getenv("EVQ_IO_URING_NO_MULTISHOT");
  s->multishot = kernel_at_least(5, 13) && !(no_ms && *no_ms == '1');
  evq__ufiles_init(&s->files, &s->ring, PINNED_FILES);
  /* The wake-up's poll goes in now, not with the first wait: a host loop
   * (evq_fd) must see kicks before it ever calls evq_wait. */
  arm_wake(s);
  evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
  *out = s;
  return 0;
}

/* The core detached every record before this: what remains has a request
 * in flight; closing the ring ends them all, so they are freed here. */
static void ur_destroy(void *b) {
  uring_state_t *s = b;
  evq__ring_exit(&s->ring);
  evq__state_t *st;
  while ((st = evq__state_next(s->q, NULL)) != NULL) {
    while (st->inflight > 1) st->inflight--;
    (void)evq__state_completed(s->q, st);
  }
  evq__wakefd_close(&s->wake);
  evq__ufiles_free(&s->files);
  free(s->cqes);
  free(s);
}

const evq__backend_t evq__backend_io_uring = {
    .name = "io_uring",
    .emulated_modes = 1u << EVQ_EDGE,
    .changes_need_kick = true,
    /* A multishot poll can complete twice in one batch: merged. */
    .splits_directions = true,
    .keeps_states = true,
    .init = ur_init,
    .destroy = ur_destroy,
    .add = ur_add,
    .modify = ur_modify,
    .remove = ur_remove,
    .rearm = ur_rearm,
    .prepare = ur_prepare,
    .poll = ur_poll,
    .complete = ur_complete,
    .kick = ur_kick,
    .fd = ur_fd,
    .release = ur_release,
    .unsettled = ur_unsettled,
};
