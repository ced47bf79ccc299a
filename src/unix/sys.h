/* POSIX platform types for the core (found as "sys.h" via the include path
 * the build sets on non-Windows systems). */
#ifndef EVQ_SYS_H
#define EVQ_SYS_H

#ifdef __linux__
/* The queue lock is taken twice per evq_wait and once per timer start or
 * registration, almost always uncontended. A futex lock keeps that path to
 * one inline compare-and-swap and one exchange; the kernel is entered only
 * under contention (sys.c). States: 0 free, 1 held, 2 held with waiters. */
#include <stdatomic.h>

typedef struct evq__mutex {
  atomic_int state;
} evq__mutex_t;

void evq__mutex_lock_contended(evq__mutex_t *m);
void evq__mutex_wake_one(evq__mutex_t *m);

static inline void evq__mutex_lock(evq__mutex_t *m) {
  int free_state = 0;
  if (!atomic_compare_exchange_strong_explicit(&m->state, &free_state, 1,
                                               memory_order_acquire,
                                               memory_order_relaxed))
    evq__mutex_lock_contended(m);
}

static inline void evq__mutex_unlock(evq__mutex_t *m) {
  if (atomic_exchange_explicit(&m->state, 0, memory_order_release) == 2)
    evq__mutex_wake_one(m);
}
#else
#include <pthread.h>

typedef pthread_mutex_t evq__mutex_t;

void evq__mutex_lock(evq__mutex_t *m);
void evq__mutex_unlock(evq__mutex_t *m);
#endif

#endif
