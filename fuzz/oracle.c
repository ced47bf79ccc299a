/*
 * The differential fuzzer: one input, read as a sequence of operations on
 * descriptors, timers and wake-ups (fuzz.h), runs on every backend compiled
 * in (evq_backends()) and is checked, event by event, against a model of
 * what evq promises. docs/reliability.md states the model; in short:
 *
 * MUST NOT (checked on every wait, also while a second thread changes
 * things; "before the wait" means before evq_wait was called):
 *   - an event with a token that was never handed out, or whose
 *     registration was deregistered, modified (new token) or whose timer
 *     was stopped or restarted before the wait;
 *   - an event for an open file that no descriptor refers to any more;
 *   - on a backend that watches descriptor numbers (poll, kqueue, iocp), an
 *     event for a registration whose number was closed before the wait
 *     (and not pointed back at the same file since); on backends that watch
 *     the open file (epoll, io_uring) such an event MAY come while a dup
 *     keeps the file open;
 *   - a flag the descriptor's fz_readiness does not have (fz_readiness is asked
 *     of the kernel with poll(2) just before and just after the wait, on
 *     any descriptor of the same file) or a direction not asked for;
 *   - a oneshot event again before evq_modify; an edge event again for a
 *     direction with no I/O on the file or its peer and no re-arm since
 *     (sockets and pipes of this process only: TCP may change on its own);
 *   - two events for one token in one wait; a timer event before its
 *     deadline, or more expirations than the time allows; a wake event with
 *     no evq_wake since the last one was collected;
 *   - a wait that ends with nothing before its timeout, or that burns CPU
 *     for more than half of it (the spin after a stale kernel entry).
 * MUST (checked when one thread runs, the capacity holds every event, and
 * the fz_readiness was the same before and after the wait):
 *   - a level registration whose file is ready for an interest is reported
 *     with those flags; a oneshot one too until it fired; an edge one for a
 *     direction that is ready and armed (registered or modified since the
 *     last event, or I/O through evq_read/evq_write hit would-block, or
 *     evq_rearm while not ready);
 *   - a timer whose deadline passed before the wait is reported; an
 *     evq_wake made since the last wake event is reported;
 *   - evq_register of a number that is open and not registered succeeds
 *     (no EEXIST from leftovers); evq_deregister of a registered number
 *     succeeds, closed or not; the other calls return what evq.h says.
 * After the run: everything deregistered, a wait reports nothing and does
 * not spin, the queue frees, and the process has the descriptors it had.
 * Completion operations' completions go to io.c, which states their rules;
 * while an operation is in flight on a file or its peer, its I/O during
 * the wait makes the file's readiness unknown to the rules above.
 */
#define _GNU_SOURCE
#include "model.h"

#include "../tests/spin.h"

/* One wait, as the checks see it. */
typedef struct {
  int64_t timeout, t0, t1; /* asked for; when it began and ended */
  int cap, n;
  bool single;             /* no other thread ran: readiness applies */
  uint64_t ws;             /* the model's sequence when it began */
  uint64_t wake_done0;     /* wake-ups finished before it began */
  uint64_t wake_started1;  /* wake-ups started before it ended */
  uint64_t rounds;         /* turns of evq's wait loop */
  uint32_t before[MAX_FILES], after[MAX_FILES]; /* readiness, by file */
  evq_event_t ev[EV_CAP];
} wait_t;
static wait_t W; /* one wait at a time; static: it is large */

/* What a wait must report (the MUST rules), known before it runs. */
typedef struct {
  uintptr_t tok[MAX_FD + NTIMERS + 1];
  uint32_t flags[MAX_FD + NTIMERS + 1];
  const char *why[MAX_FD + NTIMERS + 1];
  int n;
} musts_t;
static musts_t M;

/* ---- a wait's return ---------------------------------------------------- */

static void check_count(run_t *r, const wait_t *w) {
  if (w->n < 0) fz_breach(r, "rc", "evq_wait returned %s", evq_errname(w->n));
  if (w->n > w->cap)
    fz_breach(r, "rc", "evq_wait returned %d events for capacity %d", w->n,
              w->cap);
}

/* io_uring's single-shot path cannot wait for writability alone on a
 * socket shut for reading (evq.h): each poll completes at once with RDHUP,
 * which the kernel adds to every poll. Such a wait spins by design until
 * the socket is writable. */
static bool known_rdhup_spin(run_t *r) {
  if (strcmp(r->backend, fz_singleshot) != 0) return false;
  for (int fd = 0; fd <= r->max_fd; fd++) {
    const reg_t *g = &r->regs[fd];
    if (!g->live || (g->interests & EVQ_READABLE)) continue;
    uint32_t now = fz_readiness(r, g->file);
    if ((now & EVQ_READ_CLOSED) && !(now & EVQ_WRITABLE)) return true;
  }
  return false;
}

/* A wait that reports nothing lasts its timeout, and sleeps (tests/spin.h:
 * counted in turns of evq's loop, which load cannot raise). Only with no
 * other thread: its changes kick the waiter, which then goes round for
 * them, rightly, as often as they come. */
static void check_empty(run_t *r, const wait_t *w) {
  if (w->n != 0 || w->timeout <= 0) return;
  if (w->t1 - w->t0 < w->timeout)
    fz_breach(r, "early", "wait of %lld ns returned nothing after %lld ns",
              (long long)w->timeout, (long long)(w->t1 - w->t0));
  if (w->single && w->rounds > TQ_SPIN_ROUNDS && !known_rdhup_spin(r))
    fz_breach(r, fz_io_empty_pool_waiting(r) ? "pool-empty-spin" : "spin",
              "an empty wait of %lld ms went round %llu times in "
                         "evq's wait loop in %lld us: it spins",
              (long long)(w->timeout / MS), (unsigned long long)w->rounds,
              (long long)((w->t1 - w->t0) / 1000));
}

/* ---- MUST: what the state before the wait obliges it to report --------- */

static void must(musts_t *m, uintptr_t tok, uint32_t flags, const char *why) {
  m->tok[m->n] = tok;
  m->flags[m->n] = flags;
  m->why[m->n++] = why;
}

static void must_timers(run_t *r, const wait_t *w, musts_t *m) {
  for (int i = 0; i < NTIMERS; i++) {
    ftimer_t *t = &r->timers[i];
    if (!t->running) continue;
    int64_t due = t->t_after + t->delay + (int64_t)t->expirations * t->period;
    if (due <= w->t0) must(m, t->token, EVQ_TIMER, "a timer due before the wait");
  }
}

/* A registration whose file was ready, the same before and after the wait,
 * for what it asked and is armed for. A single-shot request (oneshot;
 * edge, emulated) that completed before a change since the last wait
 * reports what it saw then, and no more until re-armed: it must be
 * reported, with some of what is ready (0: any flags). */
static void must_registration(run_t *r, const wait_t *w, musts_t *m,
                              const reg_t *g) {
  int f = g->file;
  if (w->before[f] != w->after[f]) return; /* changed during the wait */
  if (r->io_busy[f]) return; /* operations' I/O in the wait: unknown */
  if (r->files[f].kind == K_TCP && w->timeout == 0) return;
  uint32_t ready = fz_visible(w->before[f], g->interests) & DIRS;
  uint32_t need = g->mode == EVQ_LEVEL     ? ready
                  : g->mode == EVQ_ONESHOT ? (g->fired ? 0 : ready)
                                           : ready & g->must;
  if (!need) return;
  /* Level looks again (a poll update) at each delivery, but on the path
   * without multishot polls its poll is a new single-shot one, whose
   * completion may wait in the ring like an edge registration's. */
  bool level_looks = g->mode == EVQ_LEVEL && strcmp(r->backend, fz_singleshot);
  bool stale = !level_looks && fz_may_be_stale(r, f);
  must(m, g->token, stale ? 0 : need,
       g->mode == EVQ_LEVEL     ? "a ready level registration"
       : g->mode == EVQ_ONESHOT ? "a ready oneshot registration not yet fired"
                                : "a ready, armed edge registration");
}

/* Only with one thread and a capacity that holds every event. */
static void find_musts(run_t *r, const wait_t *w, musts_t *m) {
  m->n = 0;
  if (!w->single || w->cap < EV_CAP) return;
  if (w->wake_done0 > r->wake_started_at_return)
    must(m, WAKE_TOKEN, EVQ_WAKE, "an evq_wake made before the wait");
  must_timers(r, w, m);
  for (int fd = 0; fd <= r->max_fd; fd++) {
    const reg_t *g = &r->regs[fd];
    if (g->live && !g->unbound_seq && !g->tainted)
      must_registration(r, w, m, g);
  }
}

static void check_musts(run_t *r, const wait_t *w, const musts_t *m) {
  for (int k = 0; k < m->n; k++) {
    int found = -1;
    for (int i = 0; i < w->n; i++)
      if (w->ev[i].token == m->tok[k]) found = i;
    if (found < 0)
      fz_breach(r, "must", "%s (token %lu, %s) was not reported by a wait of "
                           "%lld ms (%d events)",
                m->why[k], (unsigned long)m->tok[k], fz_flags_str(m->flags[k]),
                (long long)(w->timeout / MS), w->n);
    else if ((w->ev[found].flags & m->flags[k]) != m->flags[k])
      fz_breach(r, "must", "%s (token %lu) was reported with %s, not all of %s",
                m->why[k], (unsigned long)m->tok[k],
                fz_flags_str(w->ev[found].flags), fz_flags_str(m->flags[k]));
  }
}

/* ---- MUST NOT: each event ------------------------------------------------ */

static void check_unique(run_t *r, const wait_t *w, int i) {
  /* A pool receive's completions may come several in one wait (io.c
   * checks operations). */
  const tok_t *t = fz_tok_of(r, w->ev[i].token);
  if (t && t->kind == 3) return;
  for (int j = 0; j < i; j++)
    if (w->ev[j].token == w->ev[i].token)
      fz_breach(r, w->ev[i].token == WAKE_TOKEN ? "duplicate-wake" : "duplicate",
                "two events for token %lu in one wait",
                (unsigned long)w->ev[i].token);
}

/* A wake event: plain, and only after an evq_wake since the last one. */
static void check_wake(run_t *r, const wait_t *w, const evq_event_t *e) {
  if (e->flags != EVQ_WAKE || e->data != 0)
    fz_breach(r, "wake", "wake event with flags %s data %u",
              fz_flags_str(e->flags), e->data);
  if (w->wake_started1 <= r->wake_done_before_last)
    fz_breach(r, "wake", "a wake event with no evq_wake since the last one "
                         "was collected");
  r->wake_done_before_last = w->wake_done0;
  r->wake_started_at_return = w->wake_started1;
}

/* A timer event: never early, never more expirations than time allows. */
static void check_timer(run_t *r, const wait_t *w, const evq_event_t *e,
                        ftimer_t *tm) {
  if (e->flags != EVQ_TIMER || e->data < 1)
    fz_breach(r, "timer", "timer event with flags %s data %u",
              fz_flags_str(e->flags), e->data);
  if (tm->token != e->token) return; /* stopped meanwhile (allowed) */
  if (w->t1 < tm->t_before + tm->delay)
    fz_breach(r, "timer", "timer fired early: %lld ns after its start, delay %lld",
              (long long)(w->t1 - tm->t_before), (long long)tm->delay);
  tm->expirations += e->data;
  if (tm->period == 0) {
    if (tm->expirations != 1)
      fz_breach(r, "timer", "oneshot timer reported %llu expirations",
                (unsigned long long)tm->expirations);
    tm->running = false;
    fz_kill_token(r, tm->token, "a oneshot timer that already fired");
    return;
  }
  int64_t most = (w->t1 - tm->t_before - tm->delay) / tm->period + 1;
  if ((int64_t)tm->expirations > most)
    fz_breach(r, "timer", "periodic timer reported %llu expirations, at most "
                          "%lld could be due",
              (unsigned long long)tm->expirations, (long long)most);
}

/* What a descriptor event may be about: its file, or (modified after its
 * number was reused) the file before, which a backend that watches open
 * files may still report. held: io_uring reports a file no descriptor of
 * ours refers to any more (it holds a registration's file from
 * evq_register on), whose flags cannot be asked of the kernel. false: the
 * event is for a closed file or number it must not report (breached). */
typedef struct {
  bool alt_open, held;
} about_t;

static bool about_what(run_t *r, const wait_t *w, const evq_event_t *e,
                       const reg_t *g, int fd, about_t *a) {
  a->alt_open = r->watch != WATCH_NUMBER && g->alt >= 0 &&
                (r->watch == HOLD_FILE || !(r->files[g->alt].closed_seq &&
                                            r->files[g->alt].closed_seq <= w->ws));
  a->held = a->alt_open && r->watch == HOLD_FILE &&
            r->files[g->alt].closed_seq && r->files[g->alt].closed_seq <= w->ws;
  if (a->alt_open) return true;
  const file_t *fl = &r->files[g->file];
  if (fl->closed_seq && fl->closed_seq <= w->ws) {
    if (r->watch == HOLD_FILE) return a->held = true;
    fz_breach(r, "closed-file", "event (flags %s) for fd %d, whose file no "
                                "descriptor refers to any more",
              fz_flags_str(e->flags), fd);
    return false;
  }
  if (g->unbound_seq && g->unbound_seq <= w->ws && r->watch == WATCH_NUMBER) {
    fz_breach(r, "closed-number", "event (flags %s) for fd %d, closed while "
                                  "registered (this backend watches descriptor "
                                  "numbers: it must report nothing)",
              fz_flags_str(e->flags), fd);
    return false;
  }
  return true;
}

/* The flags are the file's readiness before or after the wait, for what
 * was asked. Unknown for a file only io_uring holds, a file whose peer
 * only io_uring holds (the peer closes, with a reset if data is unread,
 * whenever that hold ends, which the model cannot see), and, on io_uring,
 * a file that saw I/O since its completion may have come (fz_may_be_stale). */
static void check_flags(run_t *r, const wait_t *w, const evq_event_t *e,
                        const reg_t *g, int fd, const about_t *a,
                        bool peer_held) {
  int f = g->file;
  if (!w->single || a->held || peer_held || fz_may_be_stale(r, f)) return;
  /* An operation's I/O during the wait may have made it ready and not. */
  if (r->io_busy[f] || (a->alt_open && r->io_busy[g->alt])) return;
  uint32_t allowed = fz_visible(w->before[f] | w->after[f], g->interests);
  if (a->alt_open)
    allowed |= fz_visible(w->before[g->alt] | w->after[g->alt], g->interests);
  if (e->flags & ~allowed)
    fz_breach(r, "flags", "event flags %s for fd %d, but its file is only %s "
                          "(before the wait %s, after %s)",
              fz_flags_str(e->flags), fd, fz_flags_str(allowed),
              fz_flags_str(w->before[f]), fz_flags_str(w->after[f]));
}

/* An edge reports again only after I/O or a re-arm: stale readiness is no
 * reason either; I/O the model cannot see is (the peer of a file only
 * io_uring holds closes when that hold ends). An error is a state, not an
 * edge: a pipe whose reader went away was seen to report W|ERR to an edge
 * registration at two waits in a row with nothing done between; evq.h
 * lets a kernel that tracks edges report more. */
static void check_edge_again(run_t *r, const evq_event_t *e, const reg_t *g,
                             int fd) {
  if (g->mode != EVQ_EDGE || g->alt >= 0 || r->files[g->file].kind == K_TCP ||
      (e->flags & EVQ_ERROR) || r->io_busy[g->file])
    return;
  uint64_t act = fz_activity_of(r, g->file);
  for (int d = 0; d < 3; d++)
    if ((e->flags & (1u << d)) && (g->delivered & (1u << d)) &&
        g->act_at[d] == act && !(g->may_repeat & (1u << d)))
      fz_breach(r, "edge", "edge fd %d reported %s again with no I/O and no "
                           "re-arm since the last event",
                fd, fz_flags_str(1u << d));
}

/* The model takes note: a oneshot fired; an edge's directions were
 * delivered. With a second thread, I/O may have come between the kernel's
 * report and this look at the model (which waits for that thread's
 * operation to end), and its wake-up queued the edge again (Linux wakes a
 * socket's readers with POLLPRI in the key, so a W|P registration sees
 * every arrival): unknown. */
static void note_delivery(run_t *r, const wait_t *w, const evq_event_t *e,
                          reg_t *g) {
  if (g->mode == EVQ_ONESHOT) g->fired = true;
  if (g->mode != EVQ_EDGE) return;
  uint64_t act = fz_activity_of(r, g->file);
  for (int d = 0; d < 3; d++) {
    if (!(e->flags & (1u << d))) continue;
    if (g->delivered & (1u << d)) g->may_repeat &= ~(1u << d);
    g->delivered |= 1u << d;
    g->must &= ~(1u << d);
    g->act_at[d] = w->single ? act : UINT64_MAX;
  }
}

static void check_descriptor(run_t *r, const wait_t *w, const evq_event_t *e,
                             int fd) {
  reg_t *g = &r->regs[fd];
  if (e->flags & ~(uint32_t)RESULTS)
    fz_breach(r, "flags", "descriptor event with flags %s",
              fz_flags_str(e->flags));
  if (!g->live || g->token != e->token) return; /* gone meanwhile */
  if (e->flags & DIRS & ~g->interests)
    fz_breach(r, "flags", "event flags %s outside the interests %s",
              fz_flags_str(e->flags), fz_flags_str(g->interests));
  about_t a;
  if (!about_what(r, w, e, g, fd, &a)) return;
  int pf = r->files[g->file].peer;
  bool peer_held = r->watch == HOLD_FILE && pf >= 0 && r->files[pf].closed_seq;
  check_flags(r, w, e, g, fd, &a, peer_held);
  /* Stale readiness makes flags unknown, not a second report. */
  if (w->single && g->mode == EVQ_ONESHOT && g->fired)
    fz_breach(r, "oneshot", "oneshot fd %d reported again before evq_modify", fd);
  if (w->single && !a.held && !peer_held) check_edge_again(r, e, g, fd);
  note_delivery(r, w, e, g);
}

/* Every event: unique in the wait, its token live when the wait began. */
static void check_event(run_t *r, const wait_t *w, int i) {
  const evq_event_t *e = &w->ev[i];
  fz_trace(r, "    event token %lu flags %s data %u", (unsigned long)e->token,
           fz_flags_str(e->flags), e->data);
  check_unique(r, w, i);
  if (e->token == WAKE_TOKEN) {
    check_wake(r, w, e);
    return;
  }
  tok_t *t = fz_tok_of(r, e->token);
  if (!t) {
    fz_breach(r, "token", "event with unknown token %lu", (unsigned long)e->token);
    return;
  }
  if (t->kind == 3) { /* an operation's completion (io.c) */
    fz_io_event(r, e, t);
    return;
  }
  if (e->flags & (EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER))
    fz_breach(r, "op-flags", "an event with flags 0x%x for token %lu, which "
                             "is no operation's", e->flags, (unsigned long)e->token);
  if (t->dead_seq && t->dead_seq <= w->ws)
    fz_breach(r, "dead-token", "event (flags %s) for token %lu, which was %s "
                               "before the wait began",
              fz_flags_str(e->flags), (unsigned long)e->token, t->why);
  if (t->kind == 2) check_timer(r, w, e, &r->timers[t->idx]);
  else check_descriptor(r, w, e, t->idx);
}

/* ---- the wait ------------------------------------------------------------ */

/* evq_wait itself, with what the checks need to know of its moment. The
 * model's lock is let go while it waits if a second thread runs. */
static void run_wait(run_t *r, wait_t *w) {
  if (w->single) fz_snapshot(r, w->before);
  w->t0 = evq_now();
  uint64_t rounds0 = evq__wait_rounds(r->q);
  w->ws = atomic_load(&r->seq);
  w->wake_done0 = atomic_load(&r->wake_done);
  if (!w->single) pthread_mutex_unlock(&r->mu);
  w->n = evq_wait(r->q, w->ev, w->cap, w->timeout);
  w->t1 = evq_now();
  w->rounds = evq__wait_rounds(r->q) - rounds0;
  w->wake_started1 = atomic_load(&r->wake_started);
  if (!w->single) pthread_mutex_lock(&r->mu);
  r->waits++; /* I/O from now on is after this wait */
  if (w->n == 0 && w->timeout > 0) r->sleep_left -= w->t1 - w->t0;
  if (w->single) fz_snapshot(r, w->after);
}

void fz_wait(run_t *r, int64_t timeout, int cap, bool single) {
  wait_t *w = &W;
  w->timeout = timeout > 0 && r->sleep_left <= 0 ? 0 : timeout;
  w->cap = cap;
  w->single = single;
  fz_io_before_wait(r, single);
  run_wait(r, w);
  fz_trace(r, "  evq_wait(cap %d, %lld ms) -> %d", cap,
           (long long)(w->timeout / MS), w->n);
  check_count(r, w);
  check_empty(r, w);
  /* MUST: from the model as it was before this wait's events update it. */
  find_musts(r, w, &M);
  for (int i = 0; i < w->n; i++) check_event(r, w, i);
  check_musts(r, w, &M);
  fz_io_after_wait(r);
  if (w->n < w->cap) r->drained_at = r->waits;
}

void fz_next_timeout(run_t *r) {
  int64_t before = evq_now();
  int64_t v = evq_next_timeout(r->q);
  if (atomic_load(&r->wake_done) > r->wake_started_at_return) {
    if (v != 0) fz_breach(r, "next-timeout", "evq_next_timeout %lld with a wake pending", (long long)v);
    return;
  }
  int64_t first = -1;
  for (int i = 0; i < NTIMERS; i++) {
    ftimer_t *t = &r->timers[i];
    if (!t->running) continue;
    int64_t due = t->t_after + t->delay + (int64_t)t->expirations * t->period;
    if (first < 0 || due < first) first = due;
  }
  /* A wake-up that ended after the last wait that collected one began may
   * have set its flag after that wait took it (it started in time to be
   * counted at the return, and the model cannot tell): 0 is allowed. */
  bool maybe_wake = atomic_load(&r->wake_done) > r->wake_done_before_last;
  /* A completion waiting for delivery makes it 0 too (evq.h names only
   * timers, wake-ups and signals, but a host loop must not sleep then). */
  maybe_wake |= fz_io_any_active(r);
  if (first < 0) {
    if (v != EVQ_FOREVER && !(v == 0 && maybe_wake))
      fz_breach(r, "next-timeout", "evq_next_timeout %lld with no timer running", (long long)v);
    return;
  }
  int64_t most = first > before ? first - before : 0;
  if (v < 0 || v > most)
    fz_breach(r, "next-timeout", "evq_next_timeout %lld, but a timer is due within %lld",
              (long long)v, (long long)most);
}
