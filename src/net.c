/* Byte I/O and the calls every socket shares: evq_read/evq_write and their
 * vectored forms, evq_socketpair, evq_socket_error, evq_close. Would-block
 * results tell the queue (evq__io_blocked), so that emulated edge mode
 * re-arms. Addresses are in net_addr.c, listen/connect/accept in
 * net_stream.c, datagrams in net_dgram.c, options in net_opt.c; the OS's
 * calls behind them all are the primitives of net.h. */
#include "net.h"

int evq__net_keep(evq_fd_t fd, int rc, evq_fd_t *out) {
  if (rc != 0) evq__os_close(fd);
  else *out = fd;
  return rc;
}

static ptrdiff_t sent(evq_t *q, evq_fd_t fd, ptrdiff_t r) {
  if (r == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  return r;
}

ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  return evq__net_received(q, fd, evq__os_read(fd, buf, len), len > 0);
}

ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  return sent(q, fd, evq__os_write(fd, buf, len));
}

static int check_iov(const evq_iovec_t *iov, int n) {
  if (n < 0 || (!iov && n > 0)) return EVQ_EINVAL;
  for (int i = 0; i < n; i++)
    if (!iov[i].base && iov[i].len) return EVQ_EINVAL;
  return 0;
}

/* Whether any of the buffers has room: a read of 0 bytes into none is no
 * end of stream. */
static int has_room(const evq_iovec_t *iov, int n) {
  for (int i = 0; i < n; i++)
    if (iov[i].len) return 1;
  return 0;
}

/* At most EVQ__IOV_MAX buffers are used: a longer array is a short read
 * or write, which the caller handles anyway (evq_net.h). */
ptrdiff_t evq_readv(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  int rc = check_iov(iov, n);
  if (rc != 0) return rc;
  if (n > EVQ__IOV_MAX) n = EVQ__IOV_MAX;
  ptrdiff_t r = evq__os_readv(fd, iov, n);
  return evq__net_received(q, fd, r, r == 0 && has_room(iov, n));
}

ptrdiff_t evq_writev(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  int rc = check_iov(iov, n);
  if (rc != 0) return rc;
  if (n > EVQ__IOV_MAX) n = EVQ__IOV_MAX;
  return sent(q, fd, evq__os_writev(fd, iov, n));
}

int evq_socketpair(evq_fd_t out[2]) {
  if (!out) return EVQ_EINVAL;
  return evq__os_socketpair(out);
}

int evq_socket_error(evq_fd_t fd) { return evq__os_error(fd); }

int evq_close(evq_fd_t fd) { return evq__os_close(fd); }
