/* Datagram sockets: UDP over IPv4 and IPv6, Unix domain datagrams (none on
 * Windows: evq__os_socket says EVQ_ENOTSUP). The same answers everywhere:
 * a datagram that does not fit is EVQ_EMSGSIZE from evq_recvfrom and
 * EVQ_DGRAM_TRUNCATED in a batch; a destination of the other family
 * follows one rule (net_ip.c, evq__ip_dest), asked only when a send fails. */
#include "net.h"
#include "net_ip.h"

#include <string.h>

int evq_dgram_bind(evq_fd_t *out, const evq_addr_t *addr, uint32_t flags) {
  return evq__net_bound(SOCK_DGRAM, addr, flags, out);
}

int evq_dgram_open(evq_fd_t *out, int family) {
  int af = family == EVQ_AF_INET    ? AF_INET
           : family == EVQ_AF_INET6 ? AF_INET6
           : family == EVQ_AF_UNIX  ? AF_UNIX
                                    : -1;
  if (!out || af < 0) return EVQ_EINVAL;
  evq_fd_t fd;
  int rc = evq__os_socket(af, SOCK_DGRAM, &fd);
  if (rc != 0) return rc;
  /* IPv6 only, as a socket bound without EVQ_SOCK_DUALSTACK: Linux's
   * default (dual-stack) would send an IPv4 `to` that Windows and the BSDs
   * refuse. */
  if (af == AF_INET6) rc = evq__os_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  return evq__net_keep(fd, rc, out);
}

/* A datagram socket's bound address (the wildcard when not bound) and
 * IPV6_V6ONLY (0 for IPv4), or EVQ_EINVAL when fd is no IP datagram
 * socket. */
static int dgram_self(evq_fd_t fd, evq__ip_t *local, int *v6only) {
  int af, type, v6 = 0;
  evq__addr_t self;
  if (evq__os_kind(fd, &af, &type) != 0 || type != SOCK_DGRAM ||
      evq__os_name(fd, 0, &self) != 0 || evq__addr_to_ip(&self, local) != 0)
    return EVQ_EINVAL;
  if (local->v6 && evq__os_getopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6) != 0)
    return EVQ_EINVAL;
  *v6only = v6 != 0;
  return 0;
}

/* The rule for datagram socket fd and address `to`; for EVQ__DEST_MAP,
 * *mapped is `to` as ::ffff:a.b.c.d. Anything the rule does not judge
 * (not an IP datagram socket, a Unix `to`, a socket the OS cannot
 * describe) is EVQ__DEST_AS_IS, so that the OS's own answer stands. */
static int dest_rule(evq_fd_t fd, const evq_addr_t *to, evq_addr_t *mapped) {
  evq__ip_t local, dest;
  int v6only = 0;
  if (evq__addr_to_ip(evq__caddr(to), &dest) != 0 ||
      dgram_self(fd, &local, &v6only) != 0)
    return EVQ__DEST_AS_IS;
  int rule = evq__ip_dest(&local, v6only, &dest);
  if (rule == EVQ__DEST_MAP) {
    evq__ip_map4(&dest);
    evq__addr_from_ip(evq__addr(mapped), &dest);
  }
  return rule;
}

int evq_dgram_connect(evq_fd_t fd, const evq_addr_t *addr) {
  int af, sock_af, type;
  if (evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  int rc = evq__os_kind(fd, &sock_af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_DGRAM || (sock_af == AF_UNIX) != (af == AF_UNIX))
    return EVQ_EINVAL;
  /* The peer may be any destination evq_sendto takes (net_ip.h). */
  evq_addr_t mapped;
  int rule = dest_rule(fd, addr, &mapped);
  if (rule == EVQ__DEST_REFUSE) return EVQ_EINVAL;
  const evq_addr_t *peer = rule == EVQ__DEST_MAP ? &mapped : addr;
  return evq__os_connect(fd, SOCK_DGRAM, peer);
}

/* Only a failed send with an address asks which family the socket takes
 * (asking first would cost every datagram system calls): a family the
 * rule refuses, which the OS has refused too under one code or another
 * (EAFNOSUPPORT, ENETUNREACH; Windows WSAEFAULT, wine WSAEOPNOTSUPP), is
 * EVQ_EINVAL; an IPv4 `to` on a dual-stack socket that the OS refused
 * (FreeBSD and Windows do; Linux sends it as it is) goes again, mapped.
 * One send call site, which the fault walk reaches. */
static ptrdiff_t send_dgram(evq_fd_t fd, const void *buf, size_t len,
                            const evq_addr_t *to) {
  evq_addr_t mapped;
  const evq_addr_t *dest = to;
  for (;;) {
    ptrdiff_t r = evq__os_sendto(fd, buf, len, dest);
    if (r >= 0 || !to || dest != to || r == EVQ_EAGAIN) return r;
    int rule = dest_rule(fd, to, &mapped);
    if (rule != EVQ__DEST_MAP) return rule == EVQ__DEST_REFUSE ? EVQ_EINVAL : r;
    dest = &mapped;
  }
}

ptrdiff_t evq_sendto(evq_t *q, evq_fd_t fd, const void *buf, size_t len,
                     const evq_addr_t *to) {
  int af = AF_UNSPEC;
  if ((!buf && len) || (to && evq__addr_check(to, &af) != 0))
    return EVQ_EINVAL;
  ptrdiff_t r = send_dgram(fd, buf, len, to);
  if (r == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  return r;
}

/* The sender is set for a datagram received (one that did not fit
 * included), empty otherwise: none (an unbound Unix sender, a stream
 * socket) is empty too. */
ptrdiff_t evq_recvfrom(evq_t *q, evq_fd_t fd, void *buf, size_t len,
                       evq_addr_t *from) {
  if (!buf && len) return EVQ_EINVAL;
  if (from) memset(from, 0, sizeof *from);
  ptrdiff_t r = evq__os_recvfrom(fd, buf, len, from ? evq__addr(from) : NULL);
  if (from && (r >= 0 || r == EVQ_EMSGSIZE)) evq__addr_settle(from);
  else if (from) memset(from, 0, sizeof *from);
  return evq__net_received(q, fd, r, len > 0);
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

/* Batches of EVQ__BATCH_MAX, until one comes back short (it met
 * would-block) or n; EVQ__NO_BATCH where the OS has no batch receive. */
static int recv_batches(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  int got = 0;
  while (got < n) {
    int k = n - got < EVQ__BATCH_MAX ? n - got : EVQ__BATCH_MAX;
    for (int i = 0; i < k; i++)
      memset(&msgs[got + i].addr, 0, sizeof msgs[got + i].addr);
    int r = evq__os_recv_batch(fd, msgs + got, k);
    if (r == EVQ__NO_BATCH && got == 0) return r;
    if (r < 0) {
      if (r == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
      return got > 0 ? got : r;
    }
    for (int i = 0; i < r; i++) evq__addr_settle(&msgs[got + i].addr);
    got += r;
    if (r < k) { /* it met would-block: edge mode must hear of it */
      evq__io_blocked(q, fd, EVQ_READABLE);
      break;
    }
  }
  return got;
}

/* EVQ_RECV_MANY_LOOP=1 takes the loop where the OS has a batch receive
 * too, so that the suite runs it on every backend (udp_recv_many_loop). */
static int use_loop(void) {
  const char *v = evq__getenv("EVQ_RECV_MANY_LOOP");
  return v && v[0] == '1';
}

int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n) {
  int rc = check_msgs(msgs, n);
  if (rc != 0) return rc;
  if (!use_loop()) {
    rc = recv_batches(q, fd, msgs, n);
    if (rc != EVQ__NO_BATCH) return rc;
  }
  return recv_loop(q, fd, msgs, n);
}
