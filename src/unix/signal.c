/*
 * POSIX signals for evq_signal_add: one process-wide handler per signal
 * number, installed with sigaction while any queue watches that signal and
 * replaced by the disposition it found when the last one stops.
 *
 * Why a handler and not signalfd: signalfd only sees a signal that is
 * blocked in every thread of the process, and a library cannot block a
 * signal in threads it did not create (nor keep children from inheriting
 * the mask). A handler works whatever the threads and masks are, and the
 * same code serves every POSIX backend, kqueue included (EVFILT_SIGNAL
 * would only observe a signal after its disposition ran, so it needs the
 * same replacement of the disposition anyway).
 *
 * The handler walks a list of the queues that watch any signal and calls
 * evq__signal_raised on each (atomics and a kick: async-signal-safe). The
 * list changes under a mutex and is read without one: a node is unlinked
 * with one atomic store, and freed only once no handler that could have
 * seen it still runs (two counters of running handlers, switched by an
 * epoch, so a stream of new handlers cannot starve the wait).
 */
#define _GNU_SOURCE
#include "unix.h"
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

typedef struct sig_node {
  evq_t *q;
  _Atomic(struct sig_node *) next;
  int watches; /* signals q watches */
} sig_node_t;

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(sig_node_t *) sig_head;
static atomic_int sig_epoch;
static atomic_int sig_running[2];
static struct {
  int queues;          /* queues watching it */
  struct sigaction old; /* the disposition evq replaced */
} sig_table[EVQ__NSIG];
static pthread_once_t sig_atfork_once = PTHREAD_ONCE_INIT;

static void sig_handler(int signo) {
  int saved = errno;
  int e = atomic_load(&sig_epoch) & 1;
  atomic_fetch_add(&sig_running[e], 1);
  for (sig_node_t *n = atomic_load(&sig_head); n; n = atomic_load(&n->next))
    evq__signal_raised(n->q, signo);
  atomic_fetch_sub(&sig_running[e], 1);
  errno = saved;
}

/* Under sig_lock: returns once no handler that could have seen an
 * unlinked node still runs. */
static void sig_quiesce(void) {
  int old = atomic_fetch_add(&sig_epoch, 1) & 1;
  while (atomic_load(&sig_running[old]) != 0) sched_yield();
}

/* fork(): the child gets the parent's handlers and list, which point at
 * queues (and wake descriptors) the child must not use. It puts back every
 * disposition evq changed and frees the list (no handler can walk it: the
 * child has this one thread, and evq's handlers are gone). Signals are
 * blocked from before the fork until that is done: a signal sent to the
 * child at once (a SIGTERM right after fork) would otherwise run evq's
 * inherited handler, which only counts it, and the child would live on;
 * blocked, it waits for the disposition the child should have. The forking
 * thread's mask is kept here, under sig_lock, to be put back. */
static sigset_t sig_fork_mask;
static void sig_prepare(void) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &sig_fork_mask);
  pthread_mutex_lock(&sig_lock);
}
static void sig_parent(void) {
  pthread_mutex_unlock(&sig_lock);
  pthread_sigmask(SIG_SETMASK, &sig_fork_mask, NULL);
}
static void sig_child(void) {
  for (int signo = 1; signo < EVQ__NSIG; signo++)
    if (sig_table[signo].queues) {
      sigaction(signo, &sig_table[signo].old, NULL);
      sig_table[signo].queues = 0;
    }
  sig_node_t *n = atomic_exchange(&sig_head, NULL);
  while (n) {
    sig_node_t *next = atomic_load(&n->next);
    free(n);
    n = next;
  }
  pthread_mutex_unlock(&sig_lock);
  pthread_sigmask(SIG_SETMASK, &sig_fork_mask, NULL);
}
static void sig_atfork(void) {
  pthread_atfork(sig_prepare, sig_parent, sig_child);
}

int evq__sig_check(int signo) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
    return EVQ_EINVAL;
  return 0;
}

static sig_node_t *sig_find(evq_t *q, _Atomic(sig_node_t *) **link) {
  _Atomic(sig_node_t *) *l = &sig_head;
  for (sig_node_t *n; (n = atomic_load(l)); l = &n->next)
    if (n->q == q) {
      if (link) *link = l;
      return n;
    }
  return NULL;
}

static int install(int signo) {
  struct sigaction sa;
  sa.sa_handler = sig_handler;
  sigfillset(&sa.sa_mask); /* one handler at a time per thread */
  sa.sa_flags = SA_RESTART;
  return sigaction(signo, &sa, &sig_table[signo].old) == 0
             ? 0 : evq__from_errno(errno);
}

int evq__sig_watch(evq_t *q, int signo) {
  pthread_once(&sig_atfork_once, sig_atfork);
  pthread_mutex_lock(&sig_lock);
  int rc = 0;
  sig_node_t *n = sig_find(q, NULL);
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n) {
      rc = EVQ_ENOMEM;
      goto out;
    }
    n->q = q;
    atomic_store(&n->next, atomic_load(&sig_head));
    atomic_store(&sig_head, n);
  }
  if (sig_table[signo].queues == 0) rc = install(signo);
  if (rc == 0) {
    sig_table[signo].queues++;
    n->watches++;
  } else if (n->watches == 0) {
    _Atomic(sig_node_t *) *link;
    sig_find(q, &link);
    atomic_store(link, atomic_load(&n->next));
    sig_quiesce();
    free(n);
  }
out:
  pthread_mutex_unlock(&sig_lock);
  return rc;
}

void evq__sig_unwatch(evq_t *q, int signo) {
  pthread_mutex_lock(&sig_lock);
  _Atomic(sig_node_t *) *link;
  sig_node_t *n = sig_find(q, &link);
  if (n && --sig_table[signo].queues == 0)
    sigaction(signo, &sig_table[signo].old, NULL);
  if (n && --n->watches == 0) {
    atomic_store(link, atomic_load(&n->next));
    sig_quiesce();
    free(n);
  } else if (n) {
    sig_quiesce(); /* no handler still counts signo for q after we return */
  }
  pthread_mutex_unlock(&sig_lock);
}
