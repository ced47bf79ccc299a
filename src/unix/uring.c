/* io_uring backend (Linux 5.11+): readiness from poll requests in the
 * ring, with no epoll anywhere. This file registers and keeps the ring;
 * uring_poll.c holds each registration's requests (a state machine), their
 * submission with the wait and their completions; uring_files.c the table
 * of pinned files; ring.c the little of liburing it needs; uring_state.h
 * what they share.
 *
 * Each registration has one current poll request at most, whose
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
#include "uring_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SQ_ENTRIES 256
#define PINNED_FILES 32768 /* the table's size at most (uring_files.h) */

/* ---- registration (under the lock) ------------------------------------- */

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
 * completes, too late for evq_register to say so (a socket with
 * operations is pinned as a registered one is). A child's pidfd is
 * evq's own, and its number cannot change files. */
static int pin(evq__uring_t *s, const evq__reg_t *reg, uint32_t *slot,
               uintptr_t *ident) {
  int fd = (int)evq__reg_handle(reg), rc = 0;
  *slot = EVQ__NO_SLOT;
  *ident = 0;
  if (reg->kind == EVQ__KIND_CHILD) return evq__check_fd(fd);
  /* Not from a thread the ring refuses (EVQ_OPT_ONE_WAITER): identity. */
  if (!evq__ur_foreign(s)) *slot = evq__ufiles_pin(&s->files, &s->ring, fd);
  if (*slot == EVQ__NO_SLOT) *ident = evq__file_id(fd, &rc);
  return rc;
}

static int ur_add(void *b, evq__reg_t *reg) {
  evq__uring_t *s = b;
  int fd = (int)evq__reg_handle(reg);
  if (fd < 0) return EVQ_ENOTSUP; /* a child without a pidfd */
  if (asks_priority(reg)) /* after EBADF, as elsewhere */
    return evq__check_fd(fd) ? EVQ_EBADF : EVQ_ENOTSUP;
  uint32_t slot;
  uintptr_t ident;
  int rc = pin(s, reg, &slot, &ident);
  if (rc != 0) return rc;
  evq__ur_reg_t *r = evq__state_new(s->q, reg, sizeof *r);
  if (!r) {
    if (slot != EVQ__NO_SLOT) evq__ufiles_unpin(&s->files, slot);
    return EVQ_ENOMEM;
  }
  evq__list_init(&r->todo);
  r->fd = fd;
  r->slot = slot;
  r->ident = ident;
  r->dirs = reg->interests;
  r->mode = reg->mode;
  evq__ur_todo(s, r);
  return 0;
}

static int ur_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  evq__ur_reg_t *r = reg->bstate;
  (void)old; /* the next sync compares the request in flight */
  int rc = evq__check_fd(r->fd);
  if (rc != 0) return rc;
  if (asks_priority(reg)) return EVQ_ENOTSUP;
  r->dirs = reg->interests;
  r->mode = reg->mode;
  r->fired = false;
  r->closed = false;
  evq__ur_todo(b, r);
  return 0;
}

/* The core detaches the record next: freed at once with no request in
 * flight, else once the removal's completion of the request comes. */
static int ur_remove(void *b, evq__reg_t *reg, bool closing) {
  (void)closing; /* the poll holds the file: it must be removed anyway */
  evq__uring_t *s = b;
  evq__ur_reg_t *r = reg->bstate;
  if (r->slot != EVQ__NO_SLOT) evq__ufiles_unpin(&s->files, r->slot);
  r->slot = EVQ__NO_SLOT;
  evq__ur_todo(s, r);
  return 0;
}

static void ur_rearm(void *b, evq__reg_t *reg) {
  evq__ur_reg_t *r = reg->bstate;
  r->dirs = reg->armed;
  evq__ur_todo(b, r);
}

static void ur_release(void *b, evq__state_t *st) {
  (void)b;
  evq__ur_reg_t *r = (evq__ur_reg_t *)st;
  if (!evq__list_empty(&r->todo)) evq__list_unlink(&r->todo);
}

static void ur_kick(void *b) {
  evq__uring_t *s = b;
  evq__wakefd_signal(&s->wake);
}

/* The ring's descriptor is readable while completions wait. Not under
 * EVQ_OPT_ONE_WAITER: a ring that has no issuer until the first wait
 * submits nothing before it (the wake-up's poll included), and one that
 * defers its completions to the issuer's enters may hold them without a
 * host loop seeing the descriptor readable. */
static intptr_t ur_fd(void *b) {
  evq__uring_t *s = b;
  if (s->single) return -1;
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

/* Whether a test setting's value is 1. */
static bool on(const char *value) { return value && *value == '1'; }

static bool has_op(const struct io_uring_probe *p, unsigned op) {
  return op <= p->last_op && (p->ops[op].flags & IO_URING_OP_SUPPORTED);
}

/* The kinds of operation this kernel does itself, from the opcodes the
 * probe shows (IORING_REGISTER_PROBE, 5.6), not from the version, which
 * says nothing of back-ports. The socket opcodes count as one set: they
 * all came by 5.6, and one path for all of a socket's operations is what
 * the core is written for. The multishot flags, which no probe shows,
 * are tried: a kernel without one refuses it (uring_io.c). */
static uint32_t native_kinds(evq__uring_t *s) {
  size_t len = sizeof(struct io_uring_probe) +
               256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *p = calloc(1, len);
  if (!p) return 0;
  uint32_t kinds = 0;
  if (evq__ring_register(&s->ring, IORING_REGISTER_PROBE, p, 256) >= 0) {
    static const unsigned char need[] = {
        IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SENDMSG,
        IORING_OP_CONNECT, IORING_OP_ASYNC_CANCEL};
    bool all = true;
    for (size_t i = 0; i < sizeof need; i++) all = all && has_op(p, need[i]);
    if (all)
      kinds = 1u << EVQ_IO_ACCEPT | 1u << EVQ_IO_ACCEPT_MULTI |
              1u << EVQ_IO_RECV | 1u << EVQ_IO_RECV_POOL |
              1u << EVQ_IO_SEND | 1u << EVQ_IO_CONNECT;
    /* A close goes with the next wait's enter instead of a close(2). */
    if (all && has_op(p, IORING_OP_CLOSE)) kinds |= 1u << EVQ_IO_CLOSE;
    /* A pool's receive needs buffer rings (5.19), which no probe shows
     * either: removing one that is not there says -ENOENT where they
     * exist, -EINVAL where not; then every pool is emulated. (A test
     * setting, EVQ_IO_URING_NO_BUF_RING=1, takes that answer here.) */
    struct io_uring_buf_reg none = {.bgid = 0};
    if (kinds && (on(evq__getenv("EVQ_IO_URING_NO_BUF_RING")) ||
                  evq__ring_register(&s->ring, IORING_UNREGISTER_PBUF_RING,
                                     &none, 1) == -EINVAL))
      kinds &= ~(1u << EVQ_IO_RECV_POOL);
  }
  free(p);
  return kinds;
}

/* Operations the kernel carries out; the rest, and all of them under
 * EVQ_IO_EMULATE=1 (the suite runs both paths here), are emulated. The
 * multishot kinds start multishot; a kernel that refuses the flag takes
 * its kind to single requests (uring_io.c). */
static void io_init(evq_t *q, evq__uring_t *s) {
  if (on(evq__getenv("EVQ_IO_EMULATE"))) return;
  uint32_t kinds = native_kinds(s);
  evq__set_io_native(q, kinds);
  s->ms_kinds = kinds & (1u << EVQ_IO_ACCEPT_MULTI | 1u << EVQ_IO_RECV_POOL);
  evq__set_io_multishot(q, s->ms_kinds);
  /* A test setting: the path of a kernel before 5.19 (uring_io.c). */
  s->refuse_ms = on(evq__getenv("EVQ_IO_URING_REFUSE_MULTISHOT"));
}

/* EVQ_OPT_ONE_WAITER's set-up flags, tried from the most the kernel may
 * take down (-EINVAL: it does not know one): SINGLE_ISSUER (6.0) and
 * DEFER_TASKRUN (6.1; TASKRUN_FLAG says when its work waits), the ring
 * disabled until the first wait so that the issuer is the waiter, then
 * SINGLE_ISSUER alone, then none. EVQ_IO_URING_NO_DEFER=1 starts at the
 * second rung (6.0's), so the suite runs it here. */
static const unsigned one_waiter_rungs[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED |
        IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED, 0};

static int ring_setup(evq_t *q, evq__uring_t *s, unsigned cq) {
  size_t rung = 2;
  if (evq__options(q) & EVQ_OPT_ONE_WAITER) {
    const char *no = evq__getenv("EVQ_IO_URING_NO_DEFER");
    rung = no && *no == '1' ? 1 : 0;
  }
  int rc;
  while ((rc = evq__ring_init(&s->ring, SQ_ENTRIES, cq,
                              one_waiter_rungs[rung])) == -EINVAL &&
         rung < 2)
    rung++;
  unsigned f = one_waiter_rungs[rung];
  s->single = rc == 0 && (f & IORING_SETUP_SINGLE_ISSUER);
  s->defer = rc == 0 && (f & IORING_SETUP_DEFER_TASKRUN);
  s->disabled = s->single;
  return rc;
}

/* The first wait's prepare: the ring takes this thread as its issuer. */
void evq__ur_enable(evq__uring_t *s) {
  int rc;
  do rc = evq__ring_register(&s->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
  while (rc == -EINTR);
  if (rc < 0) return; /* still disabled: the wait says so, the next tries */
  s->disabled = false;
  s->issuer = pthread_self();
}

static int ring_init(evq_t *q, evq__uring_t *s) {
  unsigned cq = 4 * (s->max > 64 ? s->max : 64); /* >= SQ_ENTRIES */
  int rc = ring_setup(q, s, cq);
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
  evq__uring_t *s = calloc(1, sizeof *s);
  if (!s) return EVQ_ENOMEM;
  s->q = q;
  s->max = max_events;
  evq__list_init(&s->todo);
  evq__list_init(&s->io_todo);
  evq__list_init(&s->io_flight);
  evq__list_init(&s->io_cancels);
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
  io_init(q, s);
  /* The wake-up's poll goes in now, not with the first wait: a host loop
   * (evq_fd) must see kicks before it ever calls evq_wait. */
  evq__ur_arm_wake(s);
  if (!s->disabled) /* else it goes with the first wait */
    evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
  *out = s;
  return 0;
}

/* The core detached every record before this: what remains has a request
 * in flight; closing the ring ends them all, so they are freed here. */
static void ur_destroy(void *b) {
  evq__uring_t *s = b;
  if (s->detaching) evq__ur_pools_detach(s);
  evq__ring_exit(&s->ring);
  evq__state_t *st;
  while ((st = evq__state_next(s->q, NULL)) != NULL) {
    while (st->inflight > 1) st->inflight--;
    (void)evq__state_completed(s->q, st);
  }
  evq__wakefd_close(&s->wake);
  evq__ufiles_free(&s->files);
  free(s->pools); /* each detached by its pool's end */
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
    .prepare = evq__ur_prepare,
    .poll = evq__ur_poll,
    .complete = evq__ur_complete,
    .kick = ur_kick,
    .fd = ur_fd,
    .release = ur_release,
    .unsettled = evq__ur_unsettled,
    .io_submit = evq__ur_io_submit,
    .io_cancel = evq__ur_io_cancel,
    .pool_attach = evq__ur_pool_attach,
    .pool_detach = evq__ur_pool_detach,
    .pool_put = evq__ur_pool_put,
    .io_drain = evq__ur_io_drain,
};
