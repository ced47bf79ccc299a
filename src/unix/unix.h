/* Helpers shared by the POSIX backends and socket code. */
#ifndef EVQ_UNIX_H
#define EVQ_UNIX_H

#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

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

/* The identity of the file fd names (device and inode, mixed; never 0 or
 * 1), or 0 with *err set: for backends that watch numbers (poll, io_uring
 * where it cannot pin a file), to tell the file a registration was made
 * with from a new one that took its number after a close. Inline: the
 * fault walk (tests/fault) tells its calls apart by caller. */
static inline __attribute__((always_inline)) uintptr_t evq__file_id(int fd,
                                                                    int *err) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = evq__from_errno(errno);
    return 0;
  }
  uint64_t h = ((uint64_t)st.st_dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)st.st_ino;
  /* A pipe's two ends share one inode: the end also tells them apart (a
   * dup2 of the write end over a registered read end's number). */
  if (S_ISFIFO(st.st_mode)) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
      *err = evq__from_errno(errno);
      return 0;
    }
    h += (uint64_t)(fl & O_ACCMODE) << 61;
  }
  uintptr_t id = (uintptr_t)(h ^ (h >> 32));
  *err = 0;
  return id < 2 ? id + 2 : id;
}

/* Marks fd close-on-exec (for kernels' objects made without a flag for
 * it); 0 or an EVQ_E* code. */
int evq__set_cloexec(int fd);

#endif
