/* kqueue backend (macOS, FreeBSD, OpenBSD, NetBSD, DragonFly; on Linux
 * through libkqueue, for testing).
 *
 * A registration is up to two knotes, EVFILT_READ and EVFILT_WRITE, each
 * carrying the registration's key as udata. Level is plain, edge is
 * EV_CLEAR, oneshot is EV_DISPATCH per filter plus the core's emulation
 * (emulated_modes): when one filter fires the core disarms the registration
 * and rearm() disables the other filter. The kernel reports the two filters
 * apart; the core merges them into one event (splits_directions).
 *
 * Changes. add and modify are applied at once, with EV_RECEIPT, so their
 * errors reach the call that made them. Changes that cannot fail in a way
 * the caller must hear of (deleting the knotes of a deregistered
 * descriptor, disabling a fired oneshot's other filter) are queued and go
 * into the kevent() call that waits: no system call of their own (but a
 * deregistration's deletes go at once on libkqueue: kq_remove). Queued
 * changes carry EV_RECEIPT too, so each takes exactly one slot of the
 * event list, never returns -1 for the batch, and the real events still
 * fit the core's capacity.
 *
 * A batch the waiter has taken may still be in the kernel's hands when
 * another thread changes the same descriptor at once (deregister then
 * register, or a modify that re-arms a oneshot the batch disables): the
 * batch could then undo the newer change. Such a change is therefore also
 * queued to be applied again after the batch (reapply), which is harmless
 * when it was not needed.
 */
#include "unix.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <time.h>
#include <unistd.h>

#ifndef EV_DISPATCH /* older kernels: a fired oneshot knote is deleted */
#define EV_DISPATCH EV_ONESHOT
#endif

/* Queued changes per batch; more are applied at once. */
#define BATCH 64
/* Changes one add or modify makes: delete two filters, add two. */
#define MAX_CHANGES 4

#define WAKE_IDENT 0 /* EVFILT_USER ident, or the wake pipe's udata */

/* udata holds the registration key where it is 64 bits wide. Where it is
 * narrower (32-bit targets) it holds the slot id in 20 bits and 12 bits of
 * the generation (never all zero, which is the wake-up's udata), and
 * complete() checks them against the slot (EVQ_KQUEUE_NARROW forces this
 * encoding, to test it on a 64-bit machine). */
#if defined(EVQ_KQUEUE_NARROW)
#define NARROW 1
#else
#define NARROW (sizeof(((struct kevent *)0)->udata) < sizeof(uint64_t))
#endif
#define NARROW_ID_BITS 20
#define NARROW_GEN_MASK 0xFFFu
static uint32_t narrow_gen(uint32_t gen) { return gen % NARROW_GEN_MASK + 1; }

/* EVFILT_USER makes kick() one system call and no descriptor. libkqueue's
 * kevent() takes a mutex, which a signal handler must not (evq_wake is
 * async-signal-safe), so there a pipe wakes the waiter instead. */
/* libkqueue sets EV_EOF on a read event only when no data is left
 * (docs/kqueue.md), so data and the peer's end that came together come
 * as data alone; a kernel's kqueue says both. */
#ifdef EVQ_LIBKQUEUE
#define EDGE_HIDES_END true
#else
#define EDGE_HIDES_END false
#endif

#if defined(EVFILT_USER) && !defined(EVQ_LIBKQUEUE)
#define USER_WAKE 1
#else
#define USER_WAKE 0
#endif

typedef struct kq_state {
  evq_t *q;
  int kq;
  evq__wakefd_t wake; /* only without USER_WAKE */
  /* Queued changes (under the lock) and the batch the waiter has taken
   * (written in prepare, under the lock; read by the kernel in poll). */
  struct kevent *pending, *batch;
  int npending, nbatch;
  atomic_int batch_busy; /* the batch may not have reached the kernel yet */
  struct kevent bufs[2][BATCH];
  struct kevent scratch[BATCH + MAX_CHANGES]; /* receipts, under the lock */
  struct kevent events[]; /* the waiter's: max_events + BATCH */
} kq_state_t;

static void *udata_of(const evq__reg_t *reg) {
  uint64_t v = NARROW ? (uint64_t)reg->id |
                            (uint64_t)narrow_gen(reg->gen) << NARROW_ID_BITS
                      : evq__key(reg->id, reg->gen);
  return (void *)(uintptr_t)v;
}

/* The kevent layout differs between systems (the types of filter, flags
 * and udata; FreeBSD's ext[]), so fields are set by name on a zeroed one. */
static struct kevent change(uint64_t ident, int filter, unsigned flags,
                            void *udata) {
  struct kevent k;
  memset(&k, 0, sizeof k);
  k.ident = (uintptr_t)ident;
  k.filter = (__typeof__(k.filter))filter;
  k.flags = (__typeof__(k.flags))(flags | EV_RECEIPT);
  k.udata = (__typeof__(k.udata))(uintptr_t)udata;
  return k;
}

static unsigned mode_flags(uint8_t mode) {
  return mode == EVQ_EDGE ? EV_CLEAR : mode == EVQ_ONESHOT ? EV_DISPATCH : 0;
}

/* Under the lock: hands the queued changes (and n more) to the kernel now.
 * Returns the receipt error of each of the n (0, or an errno value) in
 * errs. Queued changes fail only where that is expected and harmless
 * (the descriptor was closed meanwhile), so their errors are ignored. */
static int kq_apply(kq_state_t *s, const struct kevent *more, int n,
                    int *errs) {
  int first = s->npending, total = first + n;
  if (first) memcpy(s->scratch, s->pending, sizeof s->scratch[0] * first);
  if (n) memcpy(s->scratch + first, more, sizeof s->scratch[0] * n);
  for (int i = 0; i < n; i++) errs[i] = EIO; /* no receipt: failed */
  s->npending = 0;
  static const struct timespec zero = {0, 0};
  /* With EV_RECEIPT on every change, the list fills with exactly one
   * receipt per change, in change order, and no event is collected. */
  int r = kevent(s->kq, s->scratch, total, s->scratch, total, &zero);
  if (r < 0) return evq__from_errno(errno);
  for (int i = first; i < r; i++)
    if (s->scratch[i].flags & EV_ERROR) errs[i - first] = (int)s->scratch[i].data;
  return 0;
}

/* Under the lock: queues a change for the next wait (or applies the queue
 * now when it is full). */
static void kq_queue(kq_state_t *s, struct kevent k) {
  if (s->npending == BATCH) (void)kq_apply(s, NULL, 0, NULL);
  s->pending[s->npending++] = k;
}

/* Whether the waiter's batch, perhaps still on its way into the kernel,
 * touches ident. */
static bool in_flight_batch(kq_state_t *s, uint64_t ident) {
  if (!atomic_load_explicit(&s->batch_busy, memory_order_acquire)) return false;
  for (int i = 0; i < s->nbatch; i++)
    if (s->batch[i].ident == (uintptr_t)ident) return true;
  return false;
}

/* The changes made now are also queued for after the waiter's batch. They
 * delete every knote they add first, so applying them twice is harmless. */
static void reapply(kq_state_t *s, const struct kevent *k, int n) {
  for (int i = 0; i < n; i++) kq_queue(s, k[i]);
}

/* An error of a change that adds a knote, as the caller should hear it.
 * EPIPE: older macOS refuses EVFILT_WRITE on a pipe or socket whose peer
 * is gone, although the knote is in place and reports the hang-up. */
static int add_error(int err) {
  if (err == 0 || err == EPIPE) return 0;
  return evq__from_errno(err);
}

/* Deletes for filters in old (none when old is 0), then adds for the
 * registration as it is now, in one kevent() call. When the waiter's batch
 * may still delete this descriptor's knotes, the adds may find the old
 * knotes there (libkqueue then refuses to modify a level socket knote) or
 * be undone after: every filter is deleted first, and the whole change is
 * applied once more after the batch. */
static int kq_set(kq_state_t *s, evq__reg_t *reg, uint32_t old) {
  struct kevent k[MAX_CHANGES];
  int n = 0, errs[MAX_CHANGES];
  uint64_t fd = reg->ident;
  bool racing = in_flight_batch(s, fd);
  if (racing) old |= reg->interests;
  if (old & EVQ_READABLE) k[n++] = change(fd, EVFILT_READ, EV_DELETE, NULL);
  if (old & EVQ_WRITABLE) k[n++] = change(fd, EVFILT_WRITE, EV_DELETE, NULL);
  int adds = n;
  unsigned flags = EV_ADD | mode_flags(reg->mode);
  if (reg->interests & EVQ_READABLE)
    k[n++] = change(fd, EVFILT_READ, flags, udata_of(reg));
  if (reg->interests & EVQ_WRITABLE)
    k[n++] = change(fd, EVFILT_WRITE, flags, udata_of(reg));
  int rc = kq_apply(s, k, n, errs);
  for (int i = adds; i < n && rc == 0; i++) rc = add_error(errs[i]);
  if (rc != 0) { /* undo the adds that worked; deletes are not undone */
    for (int i = adds; i < n; i++)
      if (add_error(errs[i]) == 0)
        kq_queue(s, change(fd, k[i].filter, EV_DELETE, NULL));
    return rc;
  }
  if (racing) reapply(s, k, n);
  return 0;
}

/* A child is one EVFILT_PROC knote on its pid; the core reaps it when the
 * knote fires. A kernel records the exit in the knote, so the event comes
 * even when the caller reaped the child first (the core's reap then finds
 * ECHILD: EVQ_ERROR). libkqueue asks waitid(WNOWAIT) for the status when
 * it reports the event instead, which fails for a reaped child, at every
 * wait and with no word to the caller: each wait returns at once, with
 * that wait's later events dropped. So there the core watches children
 * through SIGCHLD (docs/kqueue.md). */
static int kq_add_child(kq_state_t *s, evq__reg_t *reg) {
#ifdef EVQ_LIBKQUEUE
  (void)s, (void)reg;
  return EVQ_ENOTSUP;
#else
  struct kevent k = change(reg->ident, EVFILT_PROC, EV_ADD, udata_of(reg));
  k.fflags = NOTE_EXIT;
  int err, rc = kq_apply(s, &k, 1, &err);
  if (rc == 0 && err) rc = err == ESRCH ? EVQ_ENOENT : evq__from_errno(err);
  return rc;
#endif
}

static int kq_add(void *b, evq__reg_t *reg) {
  if (NARROW && reg->id >= (1u << NARROW_ID_BITS)) return EVQ_ENOMEM;
  if (reg->kind == EVQ__KIND_CHILD) return kq_add_child(b, reg);
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  int rc = kq_set(b, reg, 0);
  /* The registry has nothing on this number, so a knote the kernel still
   * has is one left by a close (libkqueue keeps them): replace it. */
  if (rc == EVQ_EEXIST) rc = kq_set(b, reg, reg->interests);
  return rc;
}

/* A knote's mode flags cannot be changed in place everywhere (libkqueue
 * refuses to modify a level socket knote), so modify deletes and re-adds,
 * which also re-arms edge and oneshot as evq_modify promises. Should the
 * adds fail, the old knotes are put back as they were. */
static int kq_modify(void *b, evq__reg_t *reg, evq__conf_t old) {
  kq_state_t *s = b;
  if (reg->interests & EVQ_PRIORITY) return EVQ_ENOTSUP;
  int rc = kq_set(s, reg, old.interests);
  if (rc != 0) {
    evq__reg_t was = *reg;
    was.interests = old.interests;
    was.mode = old.mode;
    (void)kq_set(s, &was, 0);
  }
  return rc;
}

static void queue_deletes(kq_state_t *s, uint64_t fd, uint32_t interests) {
  if (interests & EVQ_READABLE)
    kq_queue(s, change(fd, EVFILT_READ, EV_DELETE, NULL));
  if (interests & EVQ_WRITABLE)
    kq_queue(s, change(fd, EVFILT_WRITE, EV_DELETE, NULL));
}

/* A kernel kqueue drops a descriptor's knotes when it is closed, so the
 * deletes wait for the next wait (no system call of their own), and none
 * is needed when the descriptor is closed next; one that comes after a
 * close finds nothing (ENOENT, EBADF), and the core drops anything the
 * knotes still reported.
 *
 * libkqueue keeps a closed descriptor's knotes, and once the number is
 * closed it can no longer take its epoll entry off a file that a dup (or
 * a forked child) keeps open: that entry then wakes every wait and makes
 * the number's next EV_ADD fail with EEXIST (older libkqueue also leaked
 * its state for the number). So the deletes go at once, while the number
 * still names the file: evq.h's order, deregister then close, must reach
 * libkqueue in that order. Both filters, whatever the interests: a batch
 * on its way into libkqueue may re-add knotes of the number (reapply, for
 * interests since changed), and they are deleted again after it. */
static int kq_remove(void *b, evq__reg_t *reg, bool closing) {
  kq_state_t *s = b;
  if (reg->kind == EVQ__KIND_CHILD) {
    kq_queue(s, change(reg->ident, EVFILT_PROC, EV_DELETE, NULL));
    return 0;
  }
#ifdef EVQ_LIBKQUEUE
  (void)closing;
  uint32_t both = EVQ_READABLE | EVQ_WRITABLE;
  queue_deletes(s, reg->ident, both);
  (void)kq_apply(s, NULL, 0, NULL);
  if (in_flight_batch(s, reg->ident)) queue_deletes(s, reg->ident, both);
#else
  if (!closing) queue_deletes(s, reg->ident, reg->interests);
#endif
  return 0;
}

/* A oneshot registration fired (the core emulates oneshot): EV_DISPATCH
 * disabled the filter that fired; the other one is disabled too, before
 * the next wait can report it. */
static void kq_rearm(void *b, evq__reg_t *reg) {
  kq_state_t *s = b;
  if ((reg->interests & (EVQ_READABLE | EVQ_WRITABLE)) !=
      (EVQ_READABLE | EVQ_WRITABLE))
    return;
  kq_queue(s, change(reg->ident, EVFILT_READ, EV_DISABLE, NULL));
  kq_queue(s, change(reg->ident, EVFILT_WRITE, EV_DISABLE, NULL));
}

static void kq_prepare(void *b) {
  kq_state_t *s = b;
  struct kevent *taken = s->pending;
  s->pending = s->batch;
  s->batch = taken;
  s->nbatch = s->npending;
  s->npending = 0;
  atomic_store_explicit(&s->batch_busy, s->nbatch > 0, memory_order_release);
}

/* EV_EOF on the read filter is the peer's end of stream; on the write
 * filter, that the peer takes nothing more. fflags then holds a socket
 * error, if any. Both count as ready, so the I/O call returns at once. */
static uint32_t from_kevent(const struct kevent *k) {
  bool eof = k->flags & EV_EOF;
  uint32_t f;
  if (k->filter == EVFILT_READ)
    f = EVQ_READABLE | (eof ? EVQ_READ_CLOSED : 0);
  else
    f = EVQ_WRITABLE | (eof ? EVQ_WRITE_CLOSED : 0);
  if (eof && k->fflags != 0) f |= EVQ_ERROR | EVQ_READABLE | EVQ_WRITABLE;
  return f;
}

static int kq_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  kq_state_t *s = b;
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    tsp = &ts;
  }
  /* Each queued change takes one slot (its receipt), so at most cap real
   * events come back. */
  int r = kevent(s->kq, s->batch, s->nbatch, s->events, cap + s->nbatch, tsp);
  atomic_store_explicit(&s->batch_busy, 0, memory_order_release);
  if (r < 0) return evq__from_errno(errno); /* EINTR: EVQ_EINTR */
  int n = 0;
  for (int i = 0; i < r; i++) {
    const struct kevent *k = &s->events[i];
    if (k->flags & EV_ERROR) continue; /* a receipt */
    if ((uintptr_t)k->udata == WAKE_IDENT) {
      if (!USER_WAKE) evq__wakefd_drain(&s->wake);
      continue;
    }
    raw[n].key = (uint64_t)(uintptr_t)k->udata;
    raw[n].flags = k->filter == EVFILT_PROC ? 0 : from_kevent(k);
    raw[n].data = 0;
    n++;
  }
  return n;
}

/* Narrow udata only: the slot's generation must match the 12 bits the
 * event carries, or the registration was replaced meanwhile. */
static bool kq_complete_narrow(void *b, evq__raw_t *raw) {
  kq_state_t *s = b;
  uint32_t id = (uint32_t)(raw->key & ((1u << NARROW_ID_BITS) - 1));
  uint32_t gen12 = (uint32_t)(raw->key >> NARROW_ID_BITS) & NARROW_GEN_MASK;
  evq__reg_t *reg = evq__registry_slot(s->q, id);
  if (!reg || narrow_gen(reg->gen) != gen12) return false;
  raw->key = evq__key(id, reg->gen);
  return true;
}

/* A kqueue descriptor is readable while events are pending, so a host loop
 * can watch it. libkqueue's is the write end of a pipe it watches for
 * close, never readable: there evq_fd says EVQ_ENOTSUP (docs/kqueue.md). */
static intptr_t kq_fd(void *b) {
#ifdef EVQ_LIBKQUEUE
  (void)b;
  return -1;
#else
  return ((kq_state_t *)b)->kq;
#endif
}

static void kq_kick(void *b) {
  kq_state_t *s = b;
#if USER_WAKE
  struct kevent k = change(WAKE_IDENT, EVFILT_USER, 0, NULL);
  k.flags = 0;
  k.fflags = NOTE_TRIGGER;
  (void)kevent(s->kq, &k, 1, NULL, 0, NULL);
#else
  evq__wakefd_signal(&s->wake);
#endif
}

/* Slot ids are never WAKE_IDENT's udata alone: id 0 has a generation of at
 * least 1 in its key. */
static int kq_wake_init(kq_state_t *s) {
#if USER_WAKE
  struct kevent k = change(WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, NULL);
  int err;
  int rc = kq_apply(s, &k, 1, &err);
  return rc != 0 ? rc : err ? evq__from_errno(err) : 0;
#else
  int rc = evq__wakefd_open(&s->wake);
  if (rc != 0) return rc;
  struct kevent k = change((uint64_t)s->wake.read_fd, EVFILT_READ, EV_ADD,
                           (void *)(uintptr_t)WAKE_IDENT);
  int err;
  rc = kq_apply(s, &k, 1, &err);
  if (rc == 0 && err) rc = evq__from_errno(err);
  if (rc != 0) evq__wakefd_close(&s->wake);
  return rc;
#endif
}

static int kq_init(evq_t *q, uint32_t max_events, void **out) {
  kq_state_t *s =
      calloc(1, sizeof *s + sizeof s->events[0] * (max_events + BATCH));
  if (!s) return EVQ_ENOMEM;
  s->q = q;
  s->pending = s->bufs[0];
  s->batch = s->bufs[1];
  s->kq = kqueue();
  int rc = s->kq < 0 ? evq__from_errno(errno) : evq__set_cloexec(s->kq);
  if (rc == 0) rc = kq_wake_init(s);
  if (rc != 0) {
    if (s->kq >= 0) close(s->kq);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void kq_destroy(void *b) {
  kq_state_t *s = b;
  if (!USER_WAKE) evq__wakefd_close(&s->wake);
  close(s->kq);
  free(s);
}

const evq__backend_t evq__backend_kqueue = {
    .name = "kqueue",
    .emulated_modes = 1u << EVQ_ONESHOT,
    .changes_need_kick = false,
    .splits_directions = true,
    .keeps_states = false,
    .edge_hides_end = EDGE_HIDES_END,
    .init = kq_init,
    .destroy = kq_destroy,
    .add = kq_add,
    .modify = kq_modify,
    .remove = kq_remove,
    .rearm = kq_rearm,
    .prepare = kq_prepare,
    .poll = kq_poll,
    .complete = NARROW ? kq_complete_narrow : NULL,
    .kick = kq_kick,
    .fd = kq_fd,
};
