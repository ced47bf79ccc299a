/*
 * Child processes as events: the core's side. A watch is a registration of
 * kind CHILD (ident = pid). The platform checks the pid is a child it can
 * wait for and gives reg->handle (a pidfd on Linux, a process handle on
 * Windows) for the backend to poll; kqueue watches the pid itself. When the
 * backend reports it, or when the backend cannot watch it and the child
 * signal (SIGCHLD) says some child changed, the platform reaps exactly that
 * pid, the event carries its exit code, and the watch is over.
 *
 * reg->armed tells the two apart: NATIVE when the backend watches it.
 */
#include "core.h"

#define NATIVE 1u

static void sync_plain(evq_t *q) {
  q->plain = q->ops_plain && q->child_native == 0;
}

int evq_child_add(evq_t *q, evq_pid_t pid, uintptr_t token) {
  if (!q || pid <= 0) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg;
  int rc = evq__registry_add(&q->registry, EVQ__KIND_CHILD, (uint64_t)pid,
                             &reg);
  if (rc != 0) goto out;
  reg->token = token;
  reg->mode = EVQ_LEVEL;
  reg->interests = EVQ_READABLE; /* a pidfd or a handle is "readable" */
  reg->handle = -1;
  rc = evq__child_open(reg);
  if (rc == 0) {
    rc = q->ops->add(q->b, reg);
    if (rc == 0) {
      reg->armed = NATIVE;
      q->child_native++;
      sync_plain(q);
      if (q->ops->changes_need_kick) evq__kick_waiter(q);
    } else if (rc == EVQ_ENOTSUP) {
      int signo = evq__child_signal();
      rc = signo ? evq__signal_ref(q, signo) : EVQ_ENOTSUP;
      if (rc == 0) {
        reg->armed = 0;
        q->child_fallback++;
        /* It may have ended before the watch: look at the next wait. */
        atomic_store(&q->sig->child_pending, 1);
        evq__kick_waiter(q);
      }
    }
    if (rc != 0) {
      if (q->ops->keeps_states && reg->bstate)
        evq__state_detach(q, reg->bstate);
      evq__child_close(reg);
    }
  }
  if (rc != 0) evq__registry_remove(&q->registry, reg);
out:
  evq__mutex_unlock(&q->lock);
  return rc;
}

int evq_child_remove(evq_t *q, evq_pid_t pid) {
  if (!q || pid <= 0) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg =
      evq__registry_find(&q->registry, EVQ__KIND_CHILD, (uint64_t)pid);
  if (reg) evq__drop(q, reg, false);
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
}

/* Called by evq__drop for a CHILD registration, before the registry
 * forgets it. */
void evq__child_dropped(evq_t *q, evq__reg_t *reg) {
  if (reg->armed & NATIVE) {
    q->child_native--;
    sync_plain(q);
  } else {
    q->child_fallback--;
    evq__signal_unref(q, evq__child_signal());
  }
  evq__child_close(reg);
}

/* Reaps reg's child if it ended: one event in out (returns 1) and the
 * watch dropped; 0 if it still runs. A child reaped behind evq's back
 * (the caller waited for it) ends the watch with EVQ_ERROR and data 0. */
static int reap(evq_t *q, evq__reg_t *reg, evq_event_t *out) {
  uint32_t flags = 0, data = 0;
  int rc = evq__child_reap(reg, &flags, &data);
  if (rc == 0) return 0;
  if (rc < 0) flags = EVQ_ERROR, data = 0;
  *out = (evq_event_t){reg->token, EVQ_CHILD | flags, data};
  evq__drop(q, reg, false);
  return 1;
}

/* Under the lock, from translation: the backend says the child ended. */
int evq__child_event(evq_t *q, evq__reg_t *reg, evq_event_t *out) {
  return reap(q, reg, out);
}

/* Under the lock: after the child signal, try every child watched through
 * it (waitpid on each pid: the cost of having no pidfd). */
int evq__children_take(evq_t *q, evq_event_t *out, int cap) {
  evq__signals_t *sig = atomic_load(&q->sig);
  if (q->child_fallback == 0 || !sig || !atomic_load(&sig->child_pending))
    return 0;
  atomic_store(&sig->child_pending, 0);
  int n = 0;
  uint32_t cursor = 0;
  for (evq__reg_t *reg; (reg = evq__registry_next(q, &cursor));) {
    if (reg->kind != EVQ__KIND_CHILD || (reg->armed & NATIVE)) continue;
    if (n == cap) {
      atomic_store(&sig->child_pending, 1);
      break;
    }
    n += reap(q, reg, out + n);
  }
  return n;
}

/* evq_free: every watch ends without reaping. As for a descriptor about to
 * be closed, backends skip kernel calls the queue's end makes moot: in a
 * child made by fork() the epoll instance is the parent's, and a removal
 * there would end the parent's watch. */
void evq__children_free(evq_t *q) {
  uint32_t cursor = 0;
  for (evq__reg_t *reg; (reg = evq__registry_next(q, &cursor));)
    if (reg->kind == EVQ__KIND_CHILD) evq__drop(q, reg, true);
}
