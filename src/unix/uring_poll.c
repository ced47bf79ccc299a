/* amalgamate: part of the io_uring backend */
/* A registration's poll requests on io_uring, as a state machine.
 *
 * A registration has at most one current request, and at most one
 * replaced request still in flight. A request is replaced when it no
 * longer covers what is wanted (a modify, a re-arm of another direction, a
 * deregistration): its removal and its successor go to the kernel in the
 * same submission, so a wait of 0 right after a modify sees what the
 * successor reports. The parity bit of a request's user_data (gen) tells
 * the replaced request's late completions from its successor's; only the
 * current one reports. A further replacement waits for the replaced
 * request's end, which brings the record back to the to-do list.
 *
 *   IDLE --submit--> POLLING --replace--> REPLACING --submit--> SWAPPING
 *
 * and back, when a request ends (its last completion):
 *
 *   POLLING   --the current one ends-->  IDLE
 *   REPLACING --the replaced one ends--> IDLE
 *   SWAPPING  --the replaced one ends--> POLLING    (the successor runs on)
 *   SWAPPING  --the current one ends-->  REPLACING  (the replaced one runs on)
 *
 * A SWAPPING registration that needs yet another request waits for the
 * replaced one's end. A removal the kernel refuses because it is busy
 * completing the request just then (-EALREADY: a multishot poll then runs
 * on) is sent again; each removal's completion is counted in flight, so
 * the record outlives it.
 *
 * In every phase the current request, if any, is brought up to date when
 * it covers what is wanted (a level poll told to look again), and the
 * record goes back on the to-do list whenever a request ends.
 *
 * The same file submits the to-do list's requests with the wait and reads
 * the completions: the waiter's hot path, kept in one unit so that the
 * compiler sees all of it. Everything here runs on the waiter, under the
 * queue lock, but for the wait itself (evq__ur_poll). */
#define _GNU_SOURCE
#include "uring_state.h"

#include "pollmask.h"

#include <errno.h>

/* ---- submission entries ------------------------------------------------- */

struct io_uring_sqe *evq__ur_sqe(evq__uring_t *s) {
  struct io_uring_sqe *sqe = evq__ring_sqe(&s->ring);
  if (!sqe) { /* full: hand what is there to the kernel now */
    evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
    sqe = evq__ring_sqe(&s->ring);
  }
  return sqe;
}

/* ---- what a registration wants ------------------------------------------ */

/* The poll mask it needs now: none once deregistered, once a oneshot has
 * fired, or once its number was found closed (until evq_modify). */
static uint32_t wanted_mask(const evq__ur_reg_t *r) {
  if (r->st.key == 0 || r->fired || r->closed) return 0;
  return evq__poll_mask(r->dirs);
}

/* Level polls multishot (5.13+), updated after each delivery; edge and
 * oneshot poll single-shot, except a registration whose completions bring
 * only bits not asked for (sticky), which a single-shot poll would report
 * at once, round after round. */
static bool wants_multishot(const evq__uring_t *s, const evq__ur_reg_t *r) {
  return s->multishot && (r->mode == EVQ_LEVEL || r->sticky);
}

/* The current request polls exactly what is wanted, the same way. */
static bool covers(const evq__ur_reg_t *r, uint32_t w, bool ms) {
  return w != 0 && w == r->polled && ms == r->ms;
}

/* The user_data of r's current poll request: r, with the parity of its
 * generation in the low bit (uring_state.h). */
static uint64_t ud_of(const evq__ur_reg_t *r) {
  return (uint64_t)(uintptr_t)r | r->gen;
}

/* A request by number polls whatever file the number names when it
 * reaches the kernel: only the file the registration was made with may be.
 * A file whose identity the kernel cannot give now (ENOMEM) is taken to be
 * the same: silencing it would lose its events. */
static bool same_file(evq__ur_reg_t *r) {
  if (r->slot != EVQ__NO_SLOT || r->ident == 0) return true;
  int err;
  uintptr_t id = evq__file_id(r->fd, &err);
  if (err == 0 ? id == r->ident : err != EVQ_EBADF) return true;
  r->closed = true; /* as a closed number: quiet until modify */
  return false;
}

/* ---- transitions on submission ------------------------------------------ */

/* A new current request: IDLE -> POLLING, REPLACING -> SWAPPING. */
static void submit_poll(evq__uring_t *s, evq__ur_reg_t *r, uint32_t w,
                        bool ms) {
  if (!same_file(r)) return;
  struct io_uring_sqe *sqe = evq__ur_sqe(s);
  if (!sqe) {
    evq__ur_todo(s, r); /* no room even after a submit: next round */
    return;
  }
  evq__ring_prep_poll(sqe, r->fd, w, ms, ud_of(r));
  if (r->slot != EVQ__NO_SLOT) {
    sqe->fd = (int)r->slot;
    sqe->flags |= IOSQE_FIXED_FILE;
  }
  r->polled = w;
  r->ms = ms;
  r->again = false;
  r->phase = r->phase == EVQ__UR_IDLE ? EVQ__UR_POLLING : EVQ__UR_SWAPPING;
  evq__state_submitted(&r->st);
}

/* A removal of the poll request whose user_data is target. Its own
 * completion counts as a request in flight on r: it says whether the
 * removal took (a multishot poll the kernel is busy completing refuses it
 * with -EALREADY, and runs on), and r must outlive it. */
static bool remove_poll(evq__uring_t *s, evq__ur_reg_t *r, uint64_t target) {
  struct io_uring_sqe *sqe = evq__ur_sqe(s);
  if (!sqe) {
    evq__ur_todo(s, r);
    return false;
  }
  evq__ring_prep_poll_remove(sqe, target, target | EVQ__UD_REMOVE);
  evq__state_submitted(&r->st);
  return true;
}

/* The current request removed, to be replaced: POLLING -> REPLACING. */
static bool replace(evq__uring_t *s, evq__ur_reg_t *r) {
  if (!remove_poll(s, r, ud_of(r))) return false;
  r->gen ^= 1;
  r->phase = EVQ__UR_REPLACING;
  return true;
}

/* REPLACING or SWAPPING: the replaced request's removal did not take;
 * send it again. */
static void remove_replaced(evq__uring_t *s, evq__ur_reg_t *r) {
  if (r->remove_again && remove_poll(s, r, ud_of(r) ^ 1))
    r->remove_again = false;
}

/* A level request told to look again: the kernel completes it at once
 * while the file stays ready, so every wait sees it. No change of phase. */
static inline __attribute__((always_inline)) void look_again(evq__uring_t *s,
                                                        evq__ur_reg_t *r,
                                                        uint32_t w) {
  if (!r->again) return;
  struct io_uring_sqe *sqe = evq__ur_sqe(s);
  if (!sqe) {
    evq__ur_todo(s, r);
    return;
  }
  evq__ring_prep_poll_update(sqe, ud_of(r), w, ud_of(r) | EVQ__UD_UPDATE);
  /* The update's own completion says nothing worth a slot (5.17+). */
  if (s->ring.features & IORING_FEAT_CQE_SKIP)
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  r->again = false;
}

/* Makes the ring hold the requests r needs now. POLLING first: a level
 * registration comes here after every event. */
static void sync_reg(evq__uring_t *s, evq__ur_reg_t *r) {
  uint32_t w = wanted_mask(r);
  bool ms = wants_multishot(s, r);
  if (r->phase == EVQ__UR_POLLING) {
    if (covers(r, w, ms)) look_again(s, r, w);
    else if (replace(s, r) && w) submit_poll(s, r, w, ms);
  } else if (r->phase == EVQ__UR_SWAPPING) {
    /* A further replacement waits for the replaced request's end. */
    remove_replaced(s, r);
    if (covers(r, w, ms)) look_again(s, r, w);
  } else { /* IDLE, REPLACING */
    if (r->phase == EVQ__UR_REPLACING) remove_replaced(s, r);
    if (w) submit_poll(s, r, w, ms);
  }
}

/* ---- transitions on completion ------------------------------------------ */

/* A request's last completion: the current one's takes POLLING to IDLE
 * and SWAPPING to REPLACING, the replaced one's REPLACING to IDLE and
 * SWAPPING to POLLING; r goes back on the to-do list, since what it needs
 * may have waited for this end. false when the registration is gone (and
 * r, with nothing more in flight, freed). */
static bool request_ended(evq__uring_t *s, evq__ur_reg_t *r, bool current) {
  bool stays = r->st.inflight > 1; /* another request keeps r alive */
  bool live = evq__state_completed(s->q, &r->st);
  if (!live && !stays) return false;
  bool swapping = r->phase == EVQ__UR_SWAPPING;
  if (!current) r->remove_again = false; /* it ended after all */
  if (current) r->phase = swapping ? EVQ__UR_REPLACING : EVQ__UR_IDLE;
  else r->phase = swapping ? EVQ__UR_POLLING : EVQ__UR_IDLE;
  evq__ur_todo(s, r);
  return live;
}

/* The host loop of an embedded queue (evq_fd) must come back to submit
 * what a completion put on the to-do list. */
static void kick_host(evq__uring_t *s) {
  if (s->embedded && !s->kicked) {
    s->kicked = true;
    evq__wakefd_signal(&s->wake);
  }
}

/* What the current request reported, for a live registration. */
static uint32_t reported(evq__uring_t *s, evq__ur_reg_t *r, int res,
                         bool last) {
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
    evq__ur_todo(s, r);
    kick_host(s);
  }
  if (res <= 0) return 0; /* removed for a modify, or a bad file */
  /* A request from before a modify may complete after it: it counts as the
   * oneshot's event only if it reports something now wanted. */
  if (r->mode == EVQ_ONESHOT &&
      (flags & (r->dirs | ~(uint32_t)EVQ__DIRECTIONS)))
    r->fired = true;
  return flags;
}

/* A removal's completion. -EALREADY: the kernel was completing the
 * replaced request just then, which refuses the removal, and a multishot
 * poll runs on: send the removal again while that request is still the
 * replaced one (0 or -ENOENT: it is gone, or goes with its own last
 * completion). */
static void removal_done(evq__uring_t *s, evq__ur_reg_t *r, uint64_t ud,
                         int res) {
  bool stays = r->st.inflight > 1;
  bool live = evq__state_completed(s->q, &r->st);
  if (!live && !stays) return; /* r is freed */
  bool replacing = r->phase == EVQ__UR_REPLACING ||
                   r->phase == EVQ__UR_SWAPPING;
  if (res == -EALREADY && replacing && (ud & 1) != r->gen) {
    r->remove_again = true;
    evq__ur_todo(s, r);
    kick_host(s);
  }
}

/* An update's completion (its success posts none where the kernel can
 * skip it). -EALREADY: the kernel was completing the request just then,
 * and the look it was asked for may be lost: ask again. The request is in
 * flight, so r is alive; after any other result it may not be, and r is
 * not touched. */
static void update_done(evq__uring_t *s, evq__ur_reg_t *r, int res) {
  if (res != -EALREADY) return;
  r->again = true;
  evq__ur_todo(s, r);
  kick_host(s);
}

static uint32_t completed(evq__uring_t *s, evq__ur_reg_t *r, bool current,
                          int res, uint32_t cqe_flags) {
  bool last = !(cqe_flags & IORING_CQE_F_MORE);
  if (last ? !request_ended(s, r, current) : r->st.key == 0)
    return 0; /* deregistered */
  if (!current) return 0; /* replaced: its successor reports what is ready */
  return reported(s, r, res, last);
}

/* ---- submitting, with the wait ---------------------------------------- */

void evq__ur_arm_wake(evq__uring_t *s) {
  struct io_uring_sqe *sqe = evq__ur_sqe(s);
  if (!sqe) return;
  evq__ring_prep_poll(sqe, s->wake.read_fd, POLLIN, s->multishot,
                      EVQ__UD_WAKE);
  s->wake_armed = true;
}

void evq__ur_prepare(void *b) {
  evq__uring_t *s = b;
  if (s->disabled) evq__ur_enable(s); /* the first wait's thread issues */
  if (s->detaching) evq__ur_pools_detach(s);
  if (!s->wake_armed) evq__ur_arm_wake(s);
  s->kicked = false;
  /* Files of deregistrations that no registration has taken over. */
  if (evq__ufiles_dirty(&s->files)) evq__ufiles_flush(&s->files, &s->ring);
  while (!evq__list_empty(&s->todo)) {
    evq__ur_reg_t *r = EVQ__CONTAINER(s->todo.next, evq__ur_reg_t, todo);
    evq__list_unlink(&r->todo);
    sync_reg(s, r);
  }
  evq__ur_io_prepare(s);
}

/* ---- waiting ------------------------------------------------------------ */

/* One io_uring_enter submits the queued changes and waits. A wait that
 * ends with no completion and no -ETIME was interrupted (EVQ_OPT_EINTR
 * needs to know; the enter returns the count submitted, not EINTR, when a
 * signal cuts the wait short after a submission). */
static int enter(evq__uring_t *s, int64_t timeout_ns) {
  unsigned submit = evq__ring_flush(&s->ring);
  /* GETEVENTS even when not waiting: a poll that is ready when armed
   * completes through task work, which the kernel runs on that path; and
   * under DEFER_TASKRUN every completion waits for it (the ring's flags
   * say when some does). */
  if (timeout_ns == 0)
    return submit || (s->defer && evq__ring_held(&s->ring))
               ? evq__ring_enter(&s->ring, submit, 0, IORING_ENTER_GETEVENTS,
                                 NULL, 0)
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

int evq__ur_poll(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns) {
  evq__uring_t *s = b;
  /* Its first prepare could not enable the ring (the kernel lacked
   * memory): nothing runs on it yet; the next wait tries again. */
  if (s->disabled) return EVQ_ENOMEM;
  int rc = enter(s, timeout_ns);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
    return evq__from_errno(-rc);
  /* The wake poll's completions carry nothing for the caller and take no
   * slot of raw: keep reading past them, and stop at the first one that
   * does not fit. */
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
      if (ud == EVQ__UD_WAKE) {
        evq__wakefd_drain(&s->wake);
        if (!(cqe->flags & IORING_CQE_F_MORE)) s->wake_armed = false;
      } else {
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
    evq__ur_arm_wake(s);
    evq__ring_enter(&s->ring, evq__ring_flush(&s->ring), 0, 0, NULL, 0);
  }
  return n;
}

/* Under the lock: a completion of one of a registration's requests. */
bool evq__ur_complete(void *b, evq__raw_t *raw) {
  evq__uring_t *s = b;
  uint64_t ud = raw->key;
  if ((ud & EVQ__UD_OP) == EVQ__UD_OP) return evq__ur_io_complete(s, raw);
  evq__ur_reg_t *r = (evq__ur_reg_t *)(uintptr_t)(ud & ~(uint64_t)EVQ__UD_TAGS);
  if (ud & EVQ__UD_UPDATE) {
    update_done(s, r, (int)raw->flags);
    return false;
  }
  if (ud & EVQ__UD_REMOVE) {
    removal_done(s, r, ud, (int)raw->flags);
    return false;
  }
  bool current = (ud & 1) == r->gen;
  uint32_t flags = completed(s, r, current, (int)raw->flags, raw->data);
  if (!flags) return false; /* r may be gone */
  raw->key = r->st.key;
  raw->flags = flags;
  raw->data = 0;
  return true;
}

bool evq__ur_unsettled(void *b) {
  evq__uring_t *s = b;
  return !evq__list_empty(&s->todo) || evq__ur_io_pending(s);
}
