/* POSIX platform layer: locks, the monotonic clock, errno mapping and the
 * wake descriptor. */
#define _GNU_SOURCE
#include "unix.h"
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#endif

#ifdef __linux__
int evq__mutex_init(evq__mutex_t *m) {
  atomic_init(&m->state, 0);
  return 0;
}
void evq__mutex_free(evq__mutex_t *m) { (void)m; }

/* Contended path of the futex lock in sys.h: mark the lock as having
 * waiters (2) and sleep until an unlock hands it over. Taking it with the
 * exchange to 2 is conservative: the next unlock may wake a thread that
 * is not there, never miss one that is. */
void evq__mutex_lock_contended(evq__mutex_t *m) {
  while (atomic_exchange_explicit(&m->state, 2, memory_order_acquire) != 0)
    syscall(SYS_futex, &m->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void evq__mutex_wake_one(evq__mutex_t *m) {
  syscall(SYS_futex, &m->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
int evq__mutex_init(evq__mutex_t *m) {
  return pthread_mutex_init(m, NULL) == 0 ? 0 : EVQ_ENOMEM;
}
void evq__mutex_free(evq__mutex_t *m) { pthread_mutex_destroy(m); }
void evq__mutex_lock(evq__mutex_t *m) { pthread_mutex_lock(m); }
void evq__mutex_unlock(evq__mutex_t *m) { pthread_mutex_unlock(m); }
#endif

const char *evq__getenv(const char *name) { return getenv(name); }

void evq__complain(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, fmt, a, b);
}

int64_t evq_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Each EVQ_E* code comes from the errno of the same name (evq.h's table);
 * the aliases below are the other errno values that mean the same to a
 * caller. ENOBUFS is the exception: the kernel's shortage of buffers is
 * EVQ_ENOMEM, and EVQ_ENOBUFS only an empty pool of evq's (evq_io.h). */
int evq__from_errno(int err) {
  if (err == ENOBUFS) return EVQ_ENOMEM;
  switch (err) {
  case 0: return 0;
#define EVQ__FROM_ERRNO(name, value, text) \
  case name:                              \
    return EVQ_##name;
    EVQ_ERRNO_MAP(EVQ__FROM_ERRNO)
#undef EVQ__FROM_ERRNO
  case ENOTSOCK: return EVQ_EBADF;
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
  case EINPROGRESS: return EVQ_EAGAIN;
#if EOPNOTSUPP != ENOTSUP
  case EOPNOTSUPP:
#endif
  case EPERM: case ENOSYS: return EVQ_ENOTSUP;
  case ENFILE: return EVQ_EMFILE;
  case ECONNABORTED: return EVQ_ECONNRESET;
  default: return EVQ_EIO;
  }
}

int evq__set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    return evq__from_errno(errno);
  return 0;
}

int evq__check_fd(int fd) {
  return fd >= 0 && fcntl(fd, F_GETFD) != -1 ? 0 : EVQ_EBADF;
}

#ifdef __linux__
int evq__wakefd_open(evq__wakefd_t *w) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return evq__from_errno(errno);
  w->read_fd = w->write_fd = fd;
  return 0;
}
#else
int evq__wakefd_open(evq__wakefd_t *w) {
  int p[2];
  if (pipe(p) != 0) return evq__from_errno(errno);
  for (int i = 0; i < 2; i++) {
    fcntl(p[i], F_SETFD, FD_CLOEXEC);
    fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
  }
  w->read_fd = p[0];
  w->write_fd = p[1];
  return 0;
}
#endif

void evq__wakefd_close(evq__wakefd_t *w) {
  if (w->write_fd != w->read_fd) close(w->write_fd);
  close(w->read_fd);
  w->read_fd = w->write_fd = -1;
}

/* An 8-byte write suits both an eventfd (which needs exactly 8) and a
 * pipe. A full pipe or a saturated eventfd means a wake is already
 * pending, so EAGAIN is fine to ignore. errno is preserved for signal
 * handlers. */
void evq__wakefd_signal(const evq__wakefd_t *w) {
  int saved = errno;
  uint64_t one = 1;
  ssize_t r;
  do r = write(w->write_fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  errno = saved;
}

void evq__wakefd_drain(const evq__wakefd_t *w) {
  uint64_t buf[16];
  ssize_t r;
  do r = read(w->read_fd, buf, sizeof buf);
  while (r == (ssize_t)sizeof buf || (r < 0 && errno == EINTR));
}
