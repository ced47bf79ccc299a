/* POSIX datagram sockets: UDP over IPv4 and IPv6, Unix domain datagrams.
 * A datagram that does not fit is reported the same way everywhere
 * (EVQ_EMSGSIZE from evq_recvfrom, EVQ_DGRAM_TRUNCATED in a batch), which
 * takes recvmsg()'s MSG_TRUNC rather than recvfrom(). */
#define _GNU_SOURCE
#include "net.h"
#include "netaddr.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int evq_dgram_bind(evq_fd_t *out, const evq_addr_t *addr, uint32_t flags) {
  return evq__net_bound(SOCK_DGRAM, addr, flags, out);
}

int evq_dgram_open(evq_fd_t *out, int family) {
  int af = family == EVQ_AF_INET    ? AF_INET
           : family == EVQ_AF_INET6 ? AF_INET6
           : family == EVQ_AF_UNIX  ? AF_UNIX
                                    : -1;
  if (!out || af < 0) return EVQ_EINVAL;
  int fd, rc = evq__net_socket(af, SOCK_DGRAM, &fd);
  if (rc != 0) return rc;
  /* IPv6 only, as a socket bound without EVQ_SOCK_DUALSTACK: Linux's
   * default (dual-stack) would send an IPv4 `to` that Windows and the BSDs
   * refuse. */
  int one = 1;
  if (af == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    rc = evq__net_error(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_dgram_connect(evq_fd_t fd, const evq_addr_t *addr) {
  int af, sock_af, type;
  if (evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  int rc = evq__net_kind(fd, &sock_af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_DGRAM || (sock_af == AF_UNIX) != (af == AF_UNIX))
    return EVQ_EINVAL;
  /* The peer may be any destination evq_sendto takes (netaddr.h). */
  evq_addr_t mapped;
  int rule = evq__dgram_dest(fd, addr, &mapped);
  if (rule == EVQ__DEST_REFUSE) return EVQ_EINVAL;
  const evq_addr_t *peer = rule == EVQ__DEST_MAP ? &mapped : addr;
  if (connect(fd, evq__sa(peer), (socklen_t)evq__caddr(peer)->len) != 0)
    return evq__net_error(errno);
  return 0;
}

/* sendto(): the bytes sent, or -errno. Only a failed send with an address
 * asks which family the socket takes (asking first would cost every
 * datagram system calls): a family evq.h's rule refuses, which the OS has
 * refused too under one code or another, is EAFNOSUPPORT (EVQ_EINVAL); an
 * IPv4 `to` on a dual-stack socket that the OS refused (FreeBSD does;
 * Linux sends it as it is) goes again, mapped. One sendto() call site,
 * which the fault walk reaches. */
static ssize_t send_dgram(int fd, const void *buf, size_t len,
                          const evq_addr_t *to) {
  evq_addr_t mapped;
  const evq_addr_t *dest = to;
  for (;;) {
    ssize_t r;
    do r = sendto(fd, buf, len, MSG_NOSIGNAL, dest ? evq__sa(dest) : NULL,
                  dest ? (socklen_t)evq__caddr(dest)->len : 0);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return r;
    int err = errno;
    if (!to || dest != to || err == EAGAIN || err == EWOULDBLOCK) return -err;
    int rule = evq__dgram_dest(fd, to, &mapped);
    if (rule != EVQ__DEST_MAP)
      return rule == EVQ__DEST_REFUSE ? -EAFNOSUPPORT : -err;
    dest = &mapped;
  }
}

ptrdiff_t evq_sendto(evq_t *q, evq_fd_t fd, const void *buf, size_t len,
                     const evq_addr_t *to) {
  int af = AF_UNSPEC;
  if ((!buf && len) || (to && evq__addr_check(to, &af) != 0))
    return EVQ_EINVAL;
  ssize_t r = send_dgram(fd, buf, len, to);
  if (r >= 0) return r;
  int err = (int)-r, rc = evq__net_error(err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  /* Linux says EPIPE for a send on a listening socket; others ENOTCONN. */
  if (err == EPIPE && rc == EVQ_EPIPE && evq__net_listening(fd) == 1)
    return EVQ_ENOTCONN;
  return rc;
}

/* The sender's address as the kernel gave it; none (an unbound Unix
 * sender, a stream socket) makes *from empty. */
static void set_from(evq_addr_t *from, socklen_t len) {
  evq__addr_t *a = evq__addr(from);
  int af = AF_UNSPEC;
  a->len = len > sizeof a->ss ? (uint32_t)sizeof a->ss : (uint32_t)len;
  if (a->len > 0 && evq__addr_check(from, &af) != 0) a->len = 0;
}

ptrdiff_t evq_recvfrom(evq_t *q, evq_fd_t fd, void *buf, size_t len,
                       evq_addr_t *from) {
  if (!buf && len) return EVQ_EINVAL;
  struct iovec iov = {buf, len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (from) {
    memset(from, 0, sizeof *from);
    msg.msg_name = &evq__addr(from)->ss;
    msg.msg_namelen = sizeof evq__addr(from)->ss;
  }
  ssize_t r;
  do r = recvmsg(fd, &msg, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int rc = evq__net_error(errno);
    if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
    if (from) memset(from, 0, sizeof *from);
    return rc;
  }
  if (from) set_from(from, msg.msg_namelen);
  return (msg.msg_flags & MSG_TRUNC) ? EVQ_EMSGSIZE : r;
}

static int check_msgs(const evq_dgram_t *msgs, int n) {
  if (!msgs || n < 1) return EVQ_EINVAL;
  for (int i = 0; i < n; i++)
    if (!msgs[i].buf && msgs[i].cap) return EVQ_EINVAL;
  return 0;
}

/* One receive after another, until would-block or n. */
static int recv_loop(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  int got = 0;
  while (got < n) {
    evq_dgram_t *m = &msgs[got];
    ptrdiff_t r = evq_recvfrom(got == 0 ? q : NULL, fd, m->buf, m->cap,
                               &m->addr);
    if (r == EVQ_EMSGSIZE) {
      m->len = m->cap;
      m->flags = EVQ_DGRAM_TRUNCATED;
    } else if (r >= 0) {
      m->len = (size_t)r;
      m->flags = 0;
    } else if (got == 0) {
      return (int)r;
    } else {
      /* A later would-block ends the batch: edge mode must hear of it. */
      if (r == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
      break;
    }
    got++;
  }
  return got;
}

#ifdef __linux__
/* EVQ_RECV_MANY_LOOP=1 takes the loop above on Linux too, so that the
 * suite runs it on every backend (udp_recv_many_loop). */
static int use_loop(void) {
  const char *v = evq__getenv("EVQ_RECV_MANY_LOOP");
  return v && v[0] == '1';
}

int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  int rc = check_msgs(msgs, n);
  if (rc != 0) return rc;
  if (use_loop()) return recv_loop(q, fd, msgs, n);
  enum { CHUNK = 64 }; /* on the stack; a larger n takes several calls */
  struct mmsghdr mm[CHUNK];
  struct iovec iov[CHUNK];
  int got = 0;
  while (got < n) {
    int k = n - got < CHUNK ? n - got : CHUNK;
    memset(mm, 0, sizeof mm[0] * (size_t)k);
    for (int i = 0; i < k; i++) {
      evq_dgram_t *m = &msgs[got + i];
      memset(&m->addr, 0, sizeof m->addr);
      iov[i].iov_base = m->buf;
      iov[i].iov_len = m->cap;
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
      mm[i].msg_hdr.msg_name = &evq__addr(&m->addr)->ss;
      mm[i].msg_hdr.msg_namelen = sizeof evq__addr(&m->addr)->ss;
    }
    int r;
    do r = recvmmsg(fd, mm, (unsigned)k, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == ENOSYS && got == 0) return recv_loop(q, fd, msgs, n);
      rc = evq__net_error(errno);
      if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
      return got > 0 ? got : rc;
    }
    for (int i = 0; i < r; i++) {
      evq_dgram_t *m = &msgs[got + i];
      m->len = mm[i].msg_len;
      m->flags = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ? EVQ_DGRAM_TRUNCATED
                                                       : 0;
      set_from(&m->addr, mm[i].msg_hdr.msg_namelen);
    }
    got += r;
    if (r < k) { /* it met would-block: edge mode must hear of it */
      evq__io_blocked(q, fd, EVQ_READABLE);
      break;
    }
  }
  return got;
}
#else
int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  int rc = check_msgs(msgs, n);
  return rc != 0 ? rc : recv_loop(q, fd, msgs, n);
}
#endif
