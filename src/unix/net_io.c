/* POSIX sends and receives: the I/O primitives of src/net.h (but the
 * inline evq__os_read and evq__os_write of net_os.h), over the system
 * calls that keep SIGPIPE away (MSG_NOSIGNAL; for pipes, which evq_write
 * and evq_writev also serve, a blocked and consumed signal) and report a
 * datagram that did not fit (recvmsg's MSG_TRUNC, as Windows does). */
#include "net.h"
#include "unix.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(evq_iovec_t) == sizeof(struct iovec) &&
                   offsetof(evq_iovec_t, base) ==
                       offsetof(struct iovec, iov_base) &&
                   offsetof(evq_iovec_t, len) == offsetof(struct iovec, iov_len),
               "evq_iovec_t has struct iovec's layout, so it is passed as is");

ptrdiff_t evq__os_readv(evq_fd_t fd, const evq_iovec_t *iov, int n) {
  ssize_t r;
  do r = readv(fd, (const struct iovec *)(const void *)iov, n);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? r : evq__net_error(errno);
}

ptrdiff_t evq__os_peek(evq_fd_t fd) {
  char c;
  ssize_t r;
  do r = recv(fd, &c, 1, MSG_PEEK);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? r : evq__net_error(errno);
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

/* A failed send: Linux says EPIPE for a send on a listening socket, where
 * the others say ENOTCONN. */
static int send_error(evq_fd_t fd, int err) {
  if (err == EPIPE && evq__net_listening(fd) == 1) return EVQ_ENOTCONN;
  return evq__net_error(err);
}

/* evq__os_write's send() failed with err: a pipe (ENOTSOCK) takes
 * writev() instead. */
ptrdiff_t evq__net_write_failed(int fd, const void *buf, size_t len, int err) {
  if (err != ENOTSOCK) return send_error(fd, err);
  struct iovec iov = {(void *)buf, len};
  ssize_t r = writev_nosigpipe(fd, &iov, 1);
  return r >= 0 ? r : send_error(fd, errno);
}

/* sendmsg() with MSG_NOSIGNAL keeps SIGPIPE away from sockets. */
ptrdiff_t evq__os_writev(evq_fd_t fd, const evq_iovec_t *iov, int n) {
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = (struct iovec *)(void *)iov;
  msg.msg_iovlen = n;
  ssize_t r;
  do r = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ENOTSOCK) r = writev_nosigpipe(fd, msg.msg_iov, n);
  return r >= 0 ? r : send_error(fd, errno);
}

ptrdiff_t evq__os_sendto(evq_fd_t fd, const void *buf, size_t len,
                         const evq_addr_t *to) {
  ssize_t r;
  do r = sendto(fd, buf, len, MSG_NOSIGNAL, to ? evq__sa(to) : NULL,
                to ? (socklen_t)evq__caddr(to)->len : 0);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? r : send_error(fd, errno);
}

/* recvmsg() rather than recvfrom(): MSG_TRUNC says the datagram did not
 * fit, which recvfrom() would not. */
ptrdiff_t evq__os_recvfrom(evq_fd_t fd, void *buf, size_t len,
                           evq__addr_t *from) {
  struct iovec iov = {buf, len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (from) {
    msg.msg_name = &from->ss;
    msg.msg_namelen = sizeof from->ss;
  }
  ssize_t r;
  do r = recvmsg(fd, &msg, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return evq__net_error(errno);
  if (from)
    from->len = msg.msg_namelen > sizeof from->ss ? (uint32_t)sizeof from->ss
                                                  : (uint32_t)msg.msg_namelen;
  return (msg.msg_flags & MSG_TRUNC) ? EVQ_EMSGSIZE : r;
}

#ifdef __linux__
/* One recvmmsg(): the datagrams waiting, up to n, without blocking. */
int evq__os_recv_batch(evq_fd_t fd, evq_dgram_t *msgs, int n) {
  struct mmsghdr mm[EVQ__BATCH_MAX];
  struct iovec iov[EVQ__BATCH_MAX];
  memset(mm, 0, sizeof mm[0] * (size_t)n);
  for (int i = 0; i < n; i++) {
    evq__addr_t *a = evq__addr(&msgs[i].addr);
    iov[i].iov_base = msgs[i].buf;
    iov[i].iov_len = msgs[i].cap;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_name = &a->ss;
    mm[i].msg_hdr.msg_namelen = sizeof a->ss;
  }
  int r;
  do r = recvmmsg(fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno == ENOSYS ? EVQ__NO_BATCH : evq__net_error(errno);
  for (int i = 0; i < r; i++) {
    evq_dgram_t *m = &msgs[i];
    socklen_t len = mm[i].msg_hdr.msg_namelen;
    m->len = mm[i].msg_len;
    m->flags = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ? EVQ_DGRAM_TRUNCATED : 0;
    evq__addr(&m->addr)->len = len > sizeof(struct sockaddr_storage)
                                   ? (uint32_t)sizeof(struct sockaddr_storage)
                                   : (uint32_t)len;
  }
  return r;
}
#else
int evq__os_recv_batch(evq_fd_t fd, evq_dgram_t *msgs, int n) {
  (void)fd, (void)msgs, (void)n;
  return EVQ__NO_BATCH;
}
#endif
