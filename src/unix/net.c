/* POSIX sockets: what every socket call shares (creation with the right
 * flags, the error mapping), and byte I/O: evq_read/evq_write and their
 * vectored forms, evq_socketpair, evq_socket_error, evq_socket_port,
 * evq_close. Every socket is non-blocking and close-on-exec from birth;
 * would-block results tell the queue so emulated edge mode re-arms.
 * Addresses are in net_addr.c, listen/connect/accept in net_stream.c,
 * datagrams in net_dgram.c, options in net_opt.c. */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(evq_iovec_t) == sizeof(struct iovec) &&
                   offsetof(evq_iovec_t, base) ==
                       offsetof(struct iovec, iov_base) &&
                   offsetof(evq_iovec_t, len) == offsetof(struct iovec, iov_len),
               "evq_iovec_t has struct iovec's layout, so it is passed as is");

/* evq.h documents at most this many buffers per vectored call (IOV_MAX is
 * 1024 on Linux and the BSDs; a smaller one is respected). */
#if defined(IOV_MAX) && IOV_MAX < 1024
#define EVQ__IOV_MAX IOV_MAX
#else
#define EVQ__IOV_MAX 1024
#endif

int evq__net_error(int err) {
  switch (err) {
  case ENETUNREACH:
  case ENETDOWN:
  case EHOSTDOWN: return EVQ_EHOSTUNREACH;
  case ENOPROTOOPT: return EVQ_ENOTSUP; /* an option this socket lacks */
  case EDESTADDRREQ: return EVQ_ENOTCONN; /* a send needing a peer */
  case EISCONN: /* an address given to a connected socket */
  case EAFNOSUPPORT: /* an address of another family than the socket's */
  case ENAMETOOLONG: return EVQ_EINVAL;
  case ENOTDIR: return EVQ_ENOENT; /* a Unix path through a non-directory */
  default: return evq__from_errno(err);
  }
}

int evq__net_set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    return evq__net_error(errno);
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return 0;
}

int evq__net_socket(int domain, int type, int *out) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  /* Atomic close-on-exec: no other thread can fork and exec in between. */
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    *out = fd;
    return 0;
  }
#else
  int fd = socket(domain, type, 0);
  if (fd >= 0) {
    int rc = evq__net_set_flags(fd);
    if (rc != 0) {
      close(fd);
      return rc;
    }
    *out = fd;
    return 0;
  }
#endif
  if (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT ||
      errno == ESOCKTNOSUPPORT || errno == EPROTOTYPE)
    return EVQ_ENOTSUP; /* e.g. IPv6 disabled */
  return evq__net_error(errno);
}

int evq__net_kind(int fd, int *af, int *type) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int t = 0;
  socklen_t tlen = sizeof t;
  ss.ss_family = AF_UNSPEC;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tlen) != 0)
    return evq__net_error(errno);
  *af = ss.ss_family;
  *type = t;
  return 0;
}

int evq__net_listening(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0)
    return evq__net_error(errno);
  return v != 0;
}

ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  ssize_t r;
  do r = read(fd, buf, len);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  int rc = evq__net_error(errno);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

/* writev() for non-sockets (pipes), which have no MSG_NOSIGNAL: SIGPIPE is
 * blocked for the call, and one it raised is consumed before unblocking,
 * unless one was already pending for someone else. */
static ssize_t writev_nosigpipe(int fd, const struct iovec *iov, int n) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r;
  do r = writev(fd, iov, n);
  while (r < 0 && errno == EINTR);
  int err = errno;
  /* Only if one is pending: an EPIPE that raised none must not block. */
  if (r < 0 && err == EPIPE && !was_pending && sigpending(&pending) == 0 &&
      sigismember(&pending, SIGPIPE)) {
    int sig;
    sigwait(&pipe_only, &sig);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return r;
}

/* A failed send: would-block tells the queue; Linux says EPIPE for a
 * send on a listening socket, where the others say ENOTCONN. */
static int write_error(evq_t *q, evq_fd_t fd, int err) {
  int rc = evq__net_error(err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  if (err == EPIPE && evq__net_listening(fd) == 1) return EVQ_ENOTCONN;
  return rc;
}

/* sendmsg() with MSG_NOSIGNAL keeps SIGPIPE away from sockets. */
static ptrdiff_t write_iov(evq_t *q, evq_fd_t fd, struct iovec *iov, int n) {
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t r;
  do r = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ENOTSOCK) r = writev_nosigpipe(fd, iov, n);
  if (r >= 0) return r;
  return write_error(q, fd, errno);
}

/* send() rather than write_iov's sendmsg(): the hot path, one copy less. */
ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  ssize_t r;
  do r = send(fd, buf, len, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ENOTSOCK) {
    struct iovec iov = {(void *)buf, len};
    r = writev_nosigpipe(fd, &iov, 1);
  }
  if (r >= 0) return r;
  return write_error(q, fd, errno);
}

static int check_iov(const evq_iovec_t *iov, int n) {
  if (n < 0 || (!iov && n > 0)) return EVQ_EINVAL;
  for (int i = 0; i < n; i++)
    if (!iov[i].base && iov[i].len) return EVQ_EINVAL;
  return 0;
}

ptrdiff_t evq_readv(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  int rc = check_iov(iov, n);
  if (rc != 0) return rc;
  if (n > EVQ__IOV_MAX) n = EVQ__IOV_MAX;
  ssize_t r;
  do r = readv(fd, (const struct iovec *)(const void *)iov, n);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  rc = evq__net_error(errno);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

ptrdiff_t evq_writev(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  int rc = check_iov(iov, n);
  if (rc != 0) return rc;
  if (n > EVQ__IOV_MAX) n = EVQ__IOV_MAX;
  return write_iov(q, fd, (struct iovec *)(void *)iov, n);
}

int evq_socketpair(evq_fd_t out[2]) {
  if (!out) return EVQ_EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return evq__net_error(errno);
  int rc = evq__net_set_flags(sv[0]);
  if (rc == 0) rc = evq__net_set_flags(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    close(sv[1]);
    return rc;
  }
  out[0] = sv[0];
  out[1] = sv[1];
  return 0;
}

int evq_socket_error(evq_fd_t fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return evq__net_error(errno);
  return evq__net_error(err);
}

int evq_socket_port(evq_fd_t fd) {
  evq_addr_t a;
  int rc = evq_local_addr(fd, &a);
  return rc != 0 ? rc : evq_addr_port(&a);
}

/* EINTR: Linux, the BSDs and macOS have closed the descriptor anyway, and
 * closing again could close a number another thread just got. */
int evq_close(evq_fd_t fd) {
  return close(fd) == 0 || errno == EINTR ? 0 : evq__net_error(errno);
}
