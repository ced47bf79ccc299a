/*
 * Signals as events: the core's side. A subscription is a registration of
 * kind SIGNAL (ident = signal number, with the caller's token). The
 * platform's handler (src/unix/signal.c, src/win/signal.c) calls
 * evq__signal_raised for every queue on its list, on whatever thread the
 * signal landed; that only counts and kicks, with atomics, and the waiter
 * turns the counts into events under the lock. So a signal that arrives
 * while nobody waits is kept, deliveries coalesce into one event with their
 * count, and every subscribed queue gets each delivery.
 *
 * A queue watches a signal for the caller's subscription and, for the
 * child signal (SIGCHLD), also for children watched without a pidfd; refs
 * count both, and the platform is told only at the first and the last. The
 * child source (child.c) learns of the child signal through
 * evq__signal_seen: this file knows nothing of children.
 */
#include "queue.h"

#include <stdlib.h>

static uint64_t bit(int signo) { return (uint64_t)1 << (signo % 64); }

static bool wanted(const evq__signals_t *sig, int signo) {
  return atomic_load(&sig->wanted[signo / 64]) & bit(signo);
}

/* Async-signal-safe: atomics, and a kick (a write or a post). */
void evq__signal_raised(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (!sig || signo <= 0 || signo >= EVQ__NSIG || !wanted(sig, signo)) return;
  atomic_fetch_add(&sig->count[signo], 1);
  atomic_fetch_or(&sig->raised[signo / 64], bit(signo));
  atomic_store(&sig->pending, 1);
  evq__kick_if_needed(q);
}

bool evq__signal_seen(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  return sig && (atomic_fetch_and(&sig->raised[signo / 64], ~bit(signo)) &
                 bit(signo));
}

bool evq__signal_peek(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  return sig && (atomic_load(&sig->raised[signo / 64]) & bit(signo));
}

void evq__signal_mark(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (sig) atomic_fetch_or(&sig->raised[signo / 64], bit(signo));
}

int evq__signal_ref(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (!sig) {
    sig = calloc(1, sizeof *sig);
    if (!sig) return EVQ_ENOMEM;
    atomic_store(&q->sig, sig);
  }
  if (sig->refs[signo]++ > 0) return 0;
  atomic_store(&sig->count[signo], 0);
  atomic_fetch_or(&sig->wanted[signo / 64], bit(signo));
  int rc = evq__sig_watch(q, signo);
  if (rc != 0) {
    atomic_fetch_and(&sig->wanted[signo / 64], ~bit(signo));
    sig->refs[signo]--;
  }
  return rc;
}

void evq__signal_unref(evq_t *q, int signo) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (--sig->refs[signo] > 0) return;
  atomic_fetch_and(&sig->wanted[signo / 64], ~bit(signo));
  evq__sig_unwatch(q, signo);
  atomic_store(&sig->count[signo], 0);
  atomic_fetch_and(&sig->raised[signo / 64], ~bit(signo));
}

static bool signo_ok(int signo) {
  return signo > 0 && signo < EVQ__NSIG && evq__sig_check(signo) == 0;
}

int evq_signal_add(evq_t *q, int signo, uintptr_t token) {
  if (!q || !signo_ok(signo)) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg;
  int rc = evq__registry_add(&q->registry, EVQ__KIND_SIGNAL, (uint64_t)signo,
                             &reg);
  if (rc == 0) {
    reg->token = token;
    reg->mode = EVQ_LEVEL; /* live; no backend ever sees it */
    reg->handle = -1;
    rc = evq__signal_ref(q, signo);
    if (rc != 0) evq__registry_remove(&q->registry, reg);
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_signal_remove(evq_t *q, int signo) {
  if (!q || signo <= 0 || signo >= EVQ__NSIG) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg =
      evq__registry_find(&q->registry, EVQ__KIND_SIGNAL, (uint64_t)signo);
  if (reg) {
    evq__drop(q, reg, false);
    evq__signal_unref(q, signo);
  }
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

/* Under the lock: counts of subscribed signals become events. A signal
 * watched only for children (no subscription of the caller's) makes none.
 * What does not fit stays counted for the next wait. */
static int signals_take(evq_t *q, evq_event_t *out, int cap) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (!sig || !atomic_load(&sig->pending) || !atomic_exchange(&sig->pending, 0))
    return 0;
  int n = 0;
  for (int signo = 1; signo < EVQ__NSIG; signo++) {
    if (!wanted(sig, signo) || !atomic_load(&sig->count[signo])) continue;
    evq__reg_t *reg =
        evq__registry_find(&q->registry, EVQ__KIND_SIGNAL, (uint64_t)signo);
    if (!reg) {
      atomic_store(&sig->count[signo], 0);
      continue;
    }
    if (n == cap) {
      atomic_store(&sig->pending, 1);
      break;
    }
    uint32_t count = atomic_exchange(&sig->count[signo], 0);
    out[n++] = (evq_event_t){reg->token, EVQ_SIGNAL, count};
  }
  return n;
}

static bool signals_pending(evq_t *q) {
  evq__signals_t *sig = atomic_load(&q->sig);
  return sig && atomic_load(&sig->pending);
}

static void signal_forget(evq_t *q, const evq__reg_t *reg) {
  evq__signal_unref(q, (int)reg->ident);
}

/* evq_free: after this no handler touches q. */
static void signals_free(evq_t *q) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (!sig) return;
  for (int signo = 1; signo < EVQ__NSIG; signo++)
    if (sig->refs[signo]) {
      sig->refs[signo] = 1;
      evq__signal_unref(q, signo);
    }
  atomic_store(&q->sig, NULL);
  free(sig);
}

const evq__source_t evq__source_signal = {
    .take = signals_take,
    .pending = signals_pending,
    .event = NULL, /* no backend watches a signal */
    .forget = signal_forget,
    .free = signals_free,
};
