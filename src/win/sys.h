/* Windows platform types for the core (found as "sys.h" via the include
 * path the build sets on Windows).
 *
 * The core must not see <windows.h> (its macros collide with ordinary
 * names), so the lock is declared here by layout only: an SRWLOCK is one
 * pointer. sys.c checks that the sizes agree and casts. */
#ifndef EVQ_SYS_H
#define EVQ_SYS_H

typedef struct evq_mutex {
  void *srw;
} evq_mutex_t;

void evq__mutex_lock(evq_mutex_t *m);
void evq__mutex_unlock(evq_mutex_t *m);

#endif
