/* POSIX platform types for the core (found as "sys.h" via the include path
 * the build sets on non-Windows systems). */
#ifndef EVQ_SYS_H
#define EVQ_SYS_H

#include <pthread.h>

typedef pthread_mutex_t evq_mutex_t;

#endif
