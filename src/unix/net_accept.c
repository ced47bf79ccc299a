/* POSIX listening and accepting, with the spare descriptor that keeps a
 * server from spinning or stalling when the process runs out of
 * descriptors (evq_net.h, evq_accept; docs/networking.md): primitives of
 * src/net.h. */
#include "net.h"
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* Linux hands an accepted socket its listener's TCP_NODELAY, which
 * evq__os_bind sets on every TCP listener: that saves evq_accept a system
 * call per connection (a sixth of what accepting, serving and closing one
 * costs). Elsewhere each accepted socket gets it, not trusting every BSD
 * to copy it. */
#ifdef __linux__
#define ACCEPT_INHERITS_NODELAY 1
#else
#define ACCEPT_INHERITS_NODELAY 0
#endif

/* ---- the spare descriptor ----------------------------------------------
 *
 * One per process, opened at the first listen (or the first accept if the
 * listener was made elsewhere). On EMFILE/ENFILE, refuse_one() closes it,
 * accepts one pending connection with the descriptor that frees, closes
 * that, and reopens the spare. The lock keeps two threads from doing that
 * at once; spare_fd is atomic only so that the check on the success path
 * takes no lock. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int spare_fd = -1;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

/* A child forked while another thread held the lock gets it free. */
static void spare_prepare(void) { pthread_mutex_lock(&spare_lock); }
static void spare_parent(void) { pthread_mutex_unlock(&spare_lock); }
static void spare_child(void) {
  pthread_mutex_init(&spare_lock, NULL);
}
static void spare_init(void) {
  pthread_atfork(spare_prepare, spare_parent, spare_child);
}

/* "/" exists in every mount namespace and chroot; /dev/null may not. */
static int open_spare(void) { return open("/", O_RDONLY | O_CLOEXEC); }

static void spare_ensure(void) {
  if (atomic_load_explicit(&spare_fd, memory_order_relaxed) >= 0) return;
  pthread_once(&spare_once, spare_init);
  pthread_mutex_lock(&spare_lock);
  if (atomic_load_explicit(&spare_fd, memory_order_relaxed) < 0)
    atomic_store_explicit(&spare_fd, open_spare(), memory_order_relaxed);
  pthread_mutex_unlock(&spare_lock);
}

/* 1: a pending connection was taken and closed; 0: none was pending;
 * -1: no spare to free (or another thread took the descriptor it freed). */
static int refuse_one(int listener) {
  pthread_once(&spare_once, spare_init);
  pthread_mutex_lock(&spare_lock);
  int r = -1, spare = atomic_load_explicit(&spare_fd, memory_order_relaxed);
  if (spare < 0) spare = open_spare();
  if (spare >= 0) {
    close(spare);
    int fd;
    do {
#ifdef __linux__
      fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
#else
      fd = accept(listener, NULL, NULL);
#endif
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
      close(fd);
      r = 1;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      r = 0;
    } else if (errno == ECONNABORTED) {
      r = 1; /* one connection gone from the queue all the same */
    }
    spare = open_spare();
  }
  atomic_store_explicit(&spare_fd, spare, memory_order_relaxed);
  pthread_mutex_unlock(&spare_lock);
  return r;
}

/* ---- the primitives ----------------------------------------------------- */

int evq__os_listen(evq_fd_t fd, int backlog) {
  spare_ensure();
  return listen(fd, backlog) == 0 ? 0 : evq__net_error(errno);
}

static int accept_one(int listener, struct sockaddr_storage *ss) {
  socklen_t len = sizeof *ss;
  int fd;
#ifdef __linux__
  do fd = accept4(listener, (struct sockaddr *)ss, &len,
                  SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
#else
  do fd = accept(listener, (struct sockaddr *)ss, &len);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  if (evq__net_set_flags(fd) != 0) {
    close(fd);
    return -EIO;
  }
#endif
  return fd;
}

/* EVQ_EAGAIN once nothing is pending; EVQ_EMFILE if out of descriptors,
 * after refusing what was pending (or failing to: then it stays queued). */
int evq__os_accept(evq_fd_t listener, evq_fd_t *out) {
  int refused = 0;
  for (;;) {
    struct sockaddr_storage ss;
    ss.ss_family = AF_UNSPEC;
    int fd = accept_one(listener, &ss);
    if (fd >= 0) {
      if (!ACCEPT_INHERITS_NODELAY &&
          (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
        evq__os_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
      spare_ensure();
      *out = fd;
      return 0;
    }
    if (-fd != EMFILE && -fd != ENFILE) {
      int rc = evq__net_error(-fd);
      return rc == EVQ_EAGAIN && refused ? EVQ_EMFILE : rc;
    }
    int r = refuse_one(listener);
    if (r != 1) return r == 0 && !refused ? EVQ_EAGAIN : EVQ_EMFILE;
    refused++;
  }
}
