/*
 * The emulation of operations (docs/completion.md): each op's I/O done by
 * evq, on the waiter inside evq_wait(), when its socket is believed ready,
 * over the socket layer's primitives (net.h), so that every backend
 * without native operations gives the same results as one with them. One
 * step is one attempt: it ends the op, gives a multishot's next result, or
 * finds the socket not ready after all (would-block).
 */
/* net.h first: on POSIX it sets what the system headers need. */
#include "net.h"
#include "io.h"

#include <limits.h>
#include <string.h>

/* A socket travels in an int32 result: on Windows a SOCKET is pointer
 * sized, though handles use 32 bits; one that does not fit is closed and
 * reported as a shortage (never seen). */
static int32_t give_socket(evq_fd_t fd) {
  if ((uintptr_t)fd > (uintptr_t)INT32_MAX) {
    evq__os_close(fd);
    return EVQ_EMFILE;
  }
  return (int32_t)fd;
}

static int step_accept(evq__op_t *op, int32_t *res) {
  evq_fd_t fd;
  int rc = evq__os_accept(op->sock->fd, &fd);
  if (rc == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
  if (rc == 0) {
    if (op->buf && evq_peer_addr(fd, op->buf) != 0)
      memset(op->buf, 0, sizeof(evq_addr_t));
    *res = give_socket(fd);
  } else {
    *res = rc;
  }
  /* Out of descriptors with the pending connections refused: a multishot
   * says so and goes on; without the refusal (Windows), it ends. */
  if (op->kind == EVQ_IO_ACCEPT_MULTI &&
      (rc == 0 || (rc == EVQ_EMFILE && EVQ__EMFILE_DRAINS)))
    return EVQ__STEP_MORE;
  return EVQ__STEP_FINAL;
}

static int step_recv(evq__op_t *op, int32_t *res) {
  ptrdiff_t r = evq__os_read(op->sock->fd, op->buf, op->len);
  if (r == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
  *res = r == EVQ__READ_SHUT ? 0 : (int32_t)r;
  return r > 0 && (size_t)r < op->len ? EVQ__STEP_FINAL | EVQ__STEP_SHORT
                                      : EVQ__STEP_FINAL;
}

/* A buffer is taken only for a receive that finds data, so an idle socket
 * holds none. */
static int step_recv_pool(evq__op_t *op, int32_t *res, uint32_t *flags) {
  evq__pool_t *p = op->pool;
  int32_t id = evq__pool_take(p);
  if (id < 0) {
    /* No buffer: the op ends only if data is there, or at the end. */
    ptrdiff_t r = evq__os_peek(op->sock->fd);
    if (r == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
    *res = r > 0 ? EVQ_ENOBUFS : r == EVQ__READ_SHUT ? 0 : (int32_t)r;
    return EVQ__STEP_FINAL;
  }
  void *buf = p->mem + (size_t)id * p->size;
  ptrdiff_t r = evq__os_read(op->sock->fd, buf, p->size);
  if (r > 0) {
    *res = (int32_t)r;
    *flags = EVQ_OP_BUFFER | (uint32_t)id << EVQ_OP_BUFFER_SHIFT;
    return (uint32_t)r < p->size ? EVQ__STEP_MORE | EVQ__STEP_SHORT
                                 : EVQ__STEP_MORE;
  }
  evq__pool_untake(p, (uint32_t)id);
  if (r == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
  *res = r == EVQ__READ_SHUT ? 0 : (int32_t)r;
  return EVQ__STEP_FINAL;
}

/* The part of a send not yet sent, as at most EVQ__IOV_MAX buffers. */
static int rest_of(const evq__op_t *op, evq_iovec_t *iov) {
  if (!op->iov) {
    iov[0].base = (char *)op->buf + op->done;
    iov[0].len = op->len - op->done;
    return 1;
  }
  size_t skip = op->done;
  int i = 0, n = 0;
  while (i < op->niov && skip >= op->iov[i].len) skip -= op->iov[i++].len;
  for (; i < op->niov && n < EVQ__IOV_MAX; i++, n++) {
    iov[n].base = (char *)op->iov[i].base + skip;
    iov[n].len = op->iov[i].len - skip;
    skip = 0;
  }
  return n;
}

/* Sends until done or would-block: a short send is finished here. */
static int step_send(evq__op_t *op, int32_t *res) {
  evq_iovec_t iov[EVQ__IOV_MAX];
  while (op->done < op->len) {
    int n = rest_of(op, iov);
    ptrdiff_t r = n == 1 ? evq__os_write(op->sock->fd, iov[0].base, iov[0].len)
                         : evq__os_writev(op->sock->fd, iov, n);
    if (r == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
    if (r < 0) {
      *res = (int32_t)r;
      return EVQ__STEP_FINAL;
    }
    op->done += (size_t)r;
  }
  *res = (int32_t)op->len;
  return EVQ__STEP_FINAL;
}

/* A failed connect's socket is closed by the caller of the step, which
 * must first end its record. */
static int step_connect(evq__op_t *op, int32_t *res) {
  int rc = evq_connect_result(NULL, op->fd);
  if (rc == EVQ_EAGAIN) return EVQ__STEP_BLOCKED;
  if (rc == 0 && (uintptr_t)op->fd > (uintptr_t)INT32_MAX) rc = EVQ_EMFILE;
  *res = rc == 0 ? (int32_t)op->fd : rc;
  return EVQ__STEP_FINAL;
}

int evq__io_step(evq__op_t *op, int32_t *res, uint32_t *flags) {
  *flags = 0;
  switch (op->kind) {
  case EVQ_IO_ACCEPT:
  case EVQ_IO_ACCEPT_MULTI: return step_accept(op, res);
  case EVQ_IO_RECV: return step_recv(op, res);
  case EVQ_IO_RECV_POOL: return step_recv_pool(op, res, flags);
  case EVQ_IO_SEND: return step_send(op, res);
  case EVQ_IO_CONNECT: return step_connect(op, res);
  default: *res = EVQ_EINVAL; return EVQ__STEP_FINAL;
  }
}

int evq__io_close(evq_fd_t fd) { return evq__os_close(fd); }

int evq__io_connect_start(const evq_addr_t *addr, evq_fd_t *out) {
  return evq_connect(out, addr);
}

int evq__io_connect_socket(const evq_addr_t *addr, evq_fd_t *out) {
  int af = AF_UNSPEC;
  if (evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  int rc = evq__os_socket(af, SOCK_STREAM, out);
  if (rc == 0 && af != AF_UNIX)
    evq__os_setopt(*out, IPPROTO_TCP, TCP_NODELAY, 1);
  return rc;
}

void evq__io_os_addr(const evq_addr_t *addr, const void **sa, uint32_t *len) {
  *sa = evq__sa(addr);
  *len = evq__caddr(addr)->len;
}

bool evq__io_unix(evq_fd_t fd) {
  int af, type;
  return evq__os_kind(fd, &af, &type) == 0 && af == AF_UNIX;
}

int evq__io_peek(evq_fd_t fd) {
  ptrdiff_t r = evq__os_peek(fd);
  return r == EVQ__READ_SHUT ? 0 : (int)r;
}

/* One accept of evq's own: out of descriptors still, it refuses what is
 * pending (EVQ__EMFILE_DRAINS); with one free again, the connection it
 * takes is refused too, as the kernel's accept failed for it first.
 * Without the refusal (Windows, where the shortage shows in making the
 * accept's socket, maybe with nothing pending) only a connection taken
 * shows that handles are free again: else the accept ends, rather than
 * going again into the same shortage at every wait. */
int evq__io_drain(evq_fd_t listener) {
  evq_fd_t fd;
  int rc = evq__os_accept(listener, &fd);
  if (rc == 0) evq__os_close(fd);
  return rc != 0 && !EVQ__EMFILE_DRAINS ? EVQ_EMFILE : 0;
}
