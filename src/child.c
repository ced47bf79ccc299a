/*
 * Child processes as events: the core's side, a source (core.h). A watch
 * is a registration of kind CHILD (ident = pid). The platform checks the
 * pid is a child it can wait for and gives reg->handle (a pidfd on Linux, a
 * process handle on Windows) for the backend to poll; kqueue watches the
 * pid itself. When the backend reports it, or when the backend cannot
 * watch it and the child signal (SIGCHLD) says some child changed, the
 * platform reaps exactly that pid, the event carries its exit code, and the
 * watch is over. reg->watched tells the two ways apart.
 */
#include "queue.h"

/* The backend cannot watch reg: the child signal will say when to look. */
static int watch_by_signal(evq_t *q) {
  int signo = evq__child_signal();
  int rc = signo ? evq__signal_ref(q, signo) : EVQ_ENOTSUP;
  if (rc != 0) return rc;
  q->child_fallback++;
  /* It may have ended before the watch: look at the next wait. */
  evq__signal_mark(q, signo);
  evq__kick_waiter(q);
  return 0;
}

/* Under the lock: a new registration's watch, by the backend or else by
 * the child signal; 0 or an EVQ_E* code (and nothing held). */
static int watch(evq_t *q, evq__reg_t *reg) {
  int rc = evq__child_open(reg);
  if (rc != 0) return rc;
  rc = q->ops->add(q->b, reg);
  if (rc == 0) {
    evq__watched(q, reg);
    evq__changed(q);
    return 0;
  }
  if (rc == EVQ_ENOTSUP) rc = watch_by_signal(q);
  if (rc != 0) {
    evq__state_release(q, reg);
    evq__child_close(reg);
  }
  return rc;
}

int evq_child_add(evq_t *q, evq_pid_t pid, uintptr_t token) {
  if (!q || pid <= 0) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg;
  int rc = evq__registry_add(&q->registry, EVQ__KIND_CHILD, (uint64_t)pid,
                             &reg);
  if (rc == 0) {
    reg->token = token;
    reg->mode = EVQ_LEVEL;
    reg->interests = EVQ_READABLE; /* a pidfd or a handle is "readable" */
    reg->handle = -1;
    rc = watch(q, reg);
    if (rc != 0) evq__registry_remove(&q->registry, reg);
  }
  evq__mutex_unlock(&q->lock);
  return rc;
}

static void child_forget(evq_t *q, const evq__reg_t *reg) {
  if (!reg->watched) {
    q->child_fallback--;
    evq__signal_unref(q, evq__child_signal());
  }
  evq__reg_t copy = *reg;
  evq__child_close(&copy);
}

/* The backend lets go of the handle before it is closed. */
static void drop(evq_t *q, evq__reg_t *reg, bool closing) {
  evq__reg_t gone = *reg;
  evq__drop(q, reg, closing);
  child_forget(q, &gone);
}

int evq_child_remove(evq_t *q, evq_pid_t pid) {
  if (!q || pid <= 0) return EVQ_EINVAL;
  evq__mutex_lock(&q->lock);
  evq__reg_t *reg =
      evq__registry_find(&q->registry, EVQ__KIND_CHILD, (uint64_t)pid);
  if (reg) drop(q, reg, false);
  evq__mutex_unlock(&q->lock);
  return reg ? 0 : EVQ_ENOENT;
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
  drop(q, reg, false);
  return 1;
}

/* After the child signal, try every child watched through it (waitpid on
 * each pid: the cost of having no pidfd). */
static int children_take(evq_t *q, evq_event_t *out, int cap) {
  int signo = evq__child_signal();
  if (q->child_fallback == 0 || !evq__signal_seen(q, signo)) return 0;
  int n = 0;
  uint32_t cursor = 0;
  for (evq__reg_t *reg; (reg = evq__registry_next(q, &cursor));) {
    if (reg->kind != EVQ__KIND_CHILD || reg->watched) continue;
    if (n == cap) {
      evq__signal_mark(q, signo); /* the rest at the next look */
      break;
    }
    n += reap(q, reg, out + n);
  }
  return n;
}

static bool children_pending(evq_t *q) {
  return q->child_fallback && evq__signal_peek(q, evq__child_signal());
}

/* The backend says the child ended. */
static int child_event(evq_t *q, evq__reg_t *reg, uint32_t flags,
                       evq_event_t *out) {
  (void)flags;
  return reap(q, reg, out);
}

const evq__source_t evq__source_child = {
    .take = children_take,
    .pending = children_pending,
    .event = child_event,
    .forget = child_forget,
    .free = NULL,
};
