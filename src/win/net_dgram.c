/* Windows datagram sockets: UDP over IPv4 and IPv6 (Windows has no Unix
 * domain datagrams). Made the same as POSIX: a datagram that does not fit
 * is EVQ_EMSGSIZE with its first bytes kept (WSAEMSGSIZE already does
 * that), and an ICMP "port unreachable" is EVQ_ECONNREFUSED on a connected
 * socket (Windows says WSAECONNRESET) and nothing on an unconnected one
 * (evq__net_bound turns SIO_UDP_CONNRESET off). */
#include "net.h"
#include "netaddr.h"

#include <string.h>

int evq_dgram_bind(evq_fd_t *out, const evq_addr_t *addr, uint32_t flags) {
  SOCKET s;
  if (!out) return EVQ_EINVAL;
  int rc = evq__net_bound(SOCK_DGRAM, addr, flags, &s);
  if (rc == 0) *out = (evq_fd_t)s;
  return rc;
}

static void udp_connreset(SOCKET s, BOOL on) {
  DWORD bytes;
  WSAIoctl(s, SIO_UDP_CONNRESET, &on, sizeof on, NULL, 0, &bytes, NULL, NULL);
}

int evq_dgram_open(evq_fd_t *out, int family) {
  int af = family == EVQ_AF_INET    ? AF_INET
           : family == EVQ_AF_INET6 ? AF_INET6
           : family == EVQ_AF_UNIX  ? AF_UNIX
                                    : -1;
  if (!out || af < 0) return EVQ_EINVAL;
  SOCKET s;
  int rc = evq__net_socket(af, SOCK_DGRAM, &s);
  if (rc != 0) return rc;
  udp_connreset(s, FALSE);
  /* IPv6 only, as a socket bound without EVQ_SOCK_DUALSTACK: Windows'
   * default already, set all the same, as on POSIX, where defaults differ
   * (Linux's is dual-stack). */
  DWORD one = 1;
  if (af == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
                                   (const char *)&one, sizeof one) != 0) {
    rc = evq__net_last_error();
    closesocket(s);
    return rc;
  }
  *out = (evq_fd_t)s;
  return 0;
}

int evq_dgram_connect(evq_fd_t fd, const evq_addr_t *addr) {
  int af, sock_af, type;
  if (evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  int rc = evq__net_kind((SOCKET)fd, &sock_af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_DGRAM || (sock_af == AF_UNIX) != (af == AF_UNIX))
    return EVQ_EINVAL;
  /* The peer may be any destination evq_sendto takes (netaddr.h). */
  evq_addr_t mapped;
  int rule = evq__dgram_dest(fd, addr, &mapped);
  if (rule == EVQ__DEST_REFUSE) return EVQ_EINVAL;
  const evq_addr_t *peer = rule == EVQ__DEST_MAP ? &mapped : addr;
  if (connect((SOCKET)fd, evq__sa(peer), (int)evq__caddr(peer)->len) != 0)
    return evq__net_last_error();
  udp_connreset((SOCKET)fd, TRUE);
  return 0;
}

/* WSAECONNRESET on a datagram socket is an ICMP "port unreachable". */
static int dgram_error(SOCKET s, DWORD err, int stream_reset) {
  if (err == WSAECONNRESET || err == WSAECONNABORTED) {
    int af, type;
    if (evq__net_kind(s, &af, &type) == 0 && type == SOCK_DGRAM)
      return EVQ_ECONNREFUSED;
    return stream_reset;
  }
  return evq__net_error(err);
}

/* sendto(): the bytes sent, or -1 with the error in *err. Only a failed
 * send with an address asks which family the socket takes (asking first
 * would cost every datagram system calls): a family evq.h's rule refuses,
 * which the OS has refused too under one code or another (wine:
 * WSAEOPNOTSUPP, WSAENETUNREACH), is WSAEAFNOSUPPORT (EVQ_EINVAL); an
 * IPv4 `to` on a dual-stack socket, which Windows refuses (WSAEFAULT: too
 * short for IPv6; wine hands it to Linux, which sends it), goes again,
 * mapped. */
static int send_dgram(SOCKET s, const void *buf, size_t len,
                      const evq_addr_t *to, DWORD *err) {
  evq_addr_t mapped;
  const evq_addr_t *dest = to;
  for (;;) {
    int r = sendto(s, buf, evq__clamp_len(len), 0,
                   dest ? evq__sa(dest) : NULL,
                   dest ? (int)evq__caddr(dest)->len : 0);
    if (r >= 0) return r;
    *err = (DWORD)WSAGetLastError();
    if (!to || dest != to || *err == (DWORD)WSAEWOULDBLOCK) return r;
    int rule = evq__dgram_dest((evq_fd_t)s, to, &mapped);
    if (rule == EVQ__DEST_REFUSE) *err = (DWORD)WSAEAFNOSUPPORT;
    if (rule != EVQ__DEST_MAP) return r;
    dest = &mapped;
  }
}

ptrdiff_t evq_sendto(evq_t *q, evq_fd_t fd, const void *buf, size_t len,
                     const evq_addr_t *to) {
  int af = AF_UNSPEC;
  DWORD err = 0;
  if ((!buf && len) || (to && evq__addr_check(to, &af) != 0))
    return EVQ_EINVAL;
  int r = send_dgram((SOCKET)fd, buf, len, to, &err);
  if (r >= 0) return r;
  int rc = dgram_error((SOCKET)fd, err, EVQ_EPIPE);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  /* No peer to send to: a listener (WSAESHUTDOWN, WSAENOTCONN) or a
   * datagram socket never connected (WSAEINVAL under wine, which POSIX
   * and Windows call "not connected"). */
  if (!to && (rc == EVQ_EPIPE || rc == EVQ_EINVAL) && evq__net_no_peer(fd))
    return EVQ_ENOTCONN;
  return rc;
}

/* The sender as recvfrom() gave it; a stream socket leaves it unset. */
static void set_from(evq_addr_t *from, int len) {
  evq__addr_t *a = evq__addr(from);
  int af = AF_UNSPEC;
  a->len = len < 0 ? 0 : len > (int)sizeof a->ss ? sizeof a->ss : (uint32_t)len;
  if (a->len > 0 && evq__addr_check(from, &af) != 0) a->len = 0;
}

ptrdiff_t evq_recvfrom(evq_t *q, evq_fd_t fd, void *buf, size_t len,
                       evq_addr_t *from) {
  if (!buf && len) return EVQ_EINVAL;
  evq__addr_t tmp;
  memset(&tmp, 0, sizeof tmp);
  int alen = sizeof tmp.ss;
  int r = recvfrom((SOCKET)fd, buf, evq__clamp_len(len), 0,
                   (struct sockaddr *)&tmp.ss, &alen);
  DWORD err = r < 0 ? (DWORD)WSAGetLastError() : 0;
  if (from) {
    memset(from, 0, sizeof *from);
    if (r >= 0 || err == WSAEMSGSIZE) {
      evq__addr(from)->ss = tmp.ss;
      set_from(from, alen);
    }
  }
  if (r > 0) return r;
  if (r == 0) { /* an empty datagram, or a stream's end: re-arm as read */
    if (len > 0) evq__io_blocked(q, fd, EVQ_READABLE);
    return 0;
  }
  if (err == WSAEMSGSIZE) return EVQ_EMSGSIZE;
  if (err == WSAESHUTDOWN) return 0; /* as evq_read */
  int rc = dgram_error((SOCKET)fd, err, EVQ_ECONNRESET);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

/* Windows has no recvmmsg: one receive after another. */
int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  if (!msgs || n < 1) return EVQ_EINVAL;
  for (int i = 0; i < n; i++)
    if (!msgs[i].buf && msgs[i].cap) return EVQ_EINVAL;
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
      if (r == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
      break;
    }
    got++;
  }
  return got;
}
