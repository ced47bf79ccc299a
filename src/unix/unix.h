/* Helpers shared by the POSIX backends and socket code. */
#ifndef EVQ_UNIX_H
#define EVQ_UNIX_H

#include "backend.h"

/* errno value -> EVQ_E* code. */
int evq__from_errno(int err);

/* A descriptor another thread (or a signal handler) can make readable to
 * interrupt a blocked poll: an eventfd where there is one, else a pipe.
 * read_fd is what the backend watches; write_fd is what kick writes. */
typedef struct evq__wakefd {
  int read_fd, write_fd;
} evq__wakefd_t;

int evq__wakefd_open(evq__wakefd_t *w);
void evq__wakefd_close(evq__wakefd_t *w);
void evq__wakefd_signal(const evq__wakefd_t *w); /* async-signal-safe */
void evq__wakefd_drain(const evq__wakefd_t *w);

/* 0 if fd is an open descriptor, else EVQ_EBADF. */
int evq__check_fd(int fd);

/* Marks fd close-on-exec (for kernels' objects made without a flag for
 * it); 0 or an EVQ_E* code. */
int evq__set_cloexec(int fd);

#endif
