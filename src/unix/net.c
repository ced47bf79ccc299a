/* POSIX socket helpers: the small portable surface of evq.h. Every socket
 * is non-blocking and close-on-exec from birth; would-block results tell
 * the queue so emulated edge mode re-arms. */
#define _GNU_SOURCE
#include "unix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set per socket instead */
#endif

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    return evq__from_errno(errno);
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return 0;
}

static int new_socket(int domain, int type) {
  int fd = socket(domain, type, 0);
  if (fd < 0) return evq__from_errno(errno);
  int rc = set_flags(fd);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return fd;
}

static int make_addr(struct sockaddr_in *sa, const char *host,
                     uint16_t port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  return inet_pton(AF_INET, host ? host : "127.0.0.1", &sa->sin_addr) == 1
             ? 0 : EVQ_EINVAL;
}

int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                   int backlog) {
  struct sockaddr_in sa;
  if (!out || make_addr(&sa, host, port) != 0) return EVQ_EINVAL;
  int fd = new_socket(AF_INET, SOCK_STREAM);
  if (fd < 0) return fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    int rc = evq__from_errno(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port) {
  struct sockaddr_in sa;
  if (!out || make_addr(&sa, host, port) != 0) return EVQ_EINVAL;
  int fd = new_socket(AF_INET, SOCK_STREAM);
  if (fd < 0) return fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
      errno != EINPROGRESS) {
    int rc = evq__from_errno(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out) {
  if (!out) return EVQ_EINVAL;
  int fd;
#ifdef __linux__
  do fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
#else
  do fd = accept(listener, NULL, NULL);
  while (fd < 0 && errno == EINTR);
  if (fd >= 0 && set_flags(fd) != 0) {
    close(fd);
    return EVQ_EIO;
  }
#endif
  if (fd < 0) {
    int rc = evq__from_errno(errno);
    if (rc == EVQ_EAGAIN) evq__io_blocked(q, listener, EVQ_READABLE);
    return rc;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *out = fd;
  return 0;
}

ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  ssize_t r;
  do r = read(fd, buf, len);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  int rc = evq__from_errno(errno);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

/* write() for non-sockets (pipes), which have no MSG_NOSIGNAL: SIGPIPE is
 * blocked for the call, and one it raised is consumed before unblocking,
 * unless one was already pending for someone else. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r;
  do r = write(fd, buf, len);
  while (r < 0 && errno == EINTR);
  int err = errno;
  if (r < 0 && err == EPIPE && !was_pending) {
    int sig;
    sigwait(&pipe_only, &sig);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return r;
}

/* send() with MSG_NOSIGNAL keeps SIGPIPE away from sockets. */
ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  ssize_t r;
  do r = send(fd, buf, len, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ENOTSOCK) r = write_nosigpipe(fd, buf, len);
  if (r >= 0) return r;
  int rc = evq__from_errno(errno);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  return rc;
}

int evq_socketpair(evq_fd_t out[2]) {
  if (!out) return EVQ_EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return evq__from_errno(errno);
  int rc = set_flags(sv[0]);
  if (rc == 0) rc = set_flags(sv[1]);
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
    return evq__from_errno(errno);
  return evq__from_errno(err);
}

int evq_socket_port(evq_fd_t fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
    return evq__from_errno(errno);
  return ntohs(sa.sin_port);
}

int evq_close(evq_fd_t fd) {
  return close(fd) == 0 ? 0 : evq__from_errno(errno);
}
