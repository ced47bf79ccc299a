/* Windows platform types for the core (found as "sys.h" via the include
 * path the build sets on Windows).
 *
 * The core must not see <windows.h> (its macros collide with ordinary
 * names), so the lock is declared here by layout only: an SRWLOCK is one
 * pointer. sys.c checks that the sizes agree and casts. */
#ifndef EVQ_SYS_H
#define EVQ_SYS_H

typedef struct evq__mutex {
  void *srw;
} evq__mutex_t;

void evq__mutex_lock(evq__mutex_t *m);
void evq__mutex_unlock(evq__mutex_t *m);

#endif
