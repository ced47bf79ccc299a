/* Windows stream sockets: listen, connect and its result, accept.
 *
 * Out of descriptors: Windows has no per-process descriptor limit for
 * evq to keep a spare against; accept() fails with WSAEMFILE or
 * WSAENOBUFS only when the system runs short, and the connection stays
 * queued (evq.h, "Accepting when out of descriptors", says what to do). */
#include "net.h"

#include <string.h>

/* Options evq_listen and evq_dgram_bind apply before bind(). */
static int bind_options(SOCKET s, int af, uint32_t flags) {
  if (flags & EVQ_SOCK_REUSEPORT) return EVQ_ENOTSUP; /* no such option */
  if (af == AF_INET6) { /* the OSes differ in their default: say it */
    DWORD v6only = !(flags & EVQ_SOCK_DUALSTACK);
    if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&v6only,
                   sizeof v6only) != 0)
      return evq__net_last_error();
  }
  if (af != AF_UNIX) {
    /* Windows lets a port in TIME_WAIT be reused by default, which is what
     * SO_REUSEADDR buys on POSIX; Windows' SO_REUSEADDR would instead let
     * another socket steal a port in active use. Exclusive use forbids
     * that. */
    BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
               sizeof one);
  }
  return 0;
}

int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags,
                   SOCKET *out) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  if ((flags & ~(uint32_t)(EVQ_SOCK_REUSEPORT | EVQ_SOCK_DUALSTACK)) ||
      ((flags & EVQ_SOCK_DUALSTACK) && af != AF_INET6) ||
      ((flags & EVQ_SOCK_REUSEPORT) && af == AF_UNIX))
    return EVQ_EINVAL;
  SOCKET s;
  int rc = evq__net_socket(af, type, &s);
  if (rc != 0) return rc;
  rc = bind_options(s, af, flags);
  if (rc == 0 && bind(s, evq__sa(addr), (int)evq__caddr(addr)->len) != 0)
    rc = evq__net_last_error();
  if (rc == 0 && type == SOCK_DGRAM && af != AF_UNIX) {
    /* A UDP socket would fail its next receive with WSAECONNRESET after an
     * ICMP "port unreachable" answered any earlier send; POSIX reports
     * that only on a connected socket (evq_dgram_connect turns it on). */
    BOOL off = FALSE;
    DWORD bytes;
    WSAIoctl(s, SIO_UDP_CONNRESET, &off, sizeof off, NULL, 0, &bytes, NULL,
             NULL);
  }
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  *out = s;
  return 0;
}

int evq_listen(evq_fd_t *out, const evq_addr_t *addr, int backlog,
               uint32_t flags) {
  if (!out) return EVQ_EINVAL;
  SOCKET s;
  int rc = evq__net_bound(SOCK_STREAM, addr, flags, &s);
  if (rc != 0) return rc;
  if (listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = evq__net_last_error();
    closesocket(s);
    return rc;
  }
  *out = (evq_fd_t)s;
  return 0;
}

int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                   int backlog) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_listen(out, &a, backlog, 0);
}

/* Small writes go out at once, as on a POSIX socketpair. */
static void no_delay(SOCKET s) {
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
}

int evq_connect(evq_fd_t *out, const evq_addr_t *addr) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  SOCKET s;
  int rc = evq__net_socket(af, SOCK_STREAM, &s);
  if (rc != 0) return rc;
  if (af != AF_UNIX) no_delay(s);
  if (connect(s, evq__sa(addr), (int)evq__caddr(addr)->len) != 0 &&
      WSAGetLastError() != WSAEWOULDBLOCK) {
    rc = evq__net_last_error();
    closesocket(s);
    return rc;
  }
  *out = (evq_fd_t)s;
  return 0;
}

int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_connect(out, &a);
}

/* SO_ERROR is read (and cleared) first; a socket that is not connected is
 * then either connecting or failed, which select() tells apart: a failed
 * connect is in its exception set, whoever read the error. */
int evq_connect_result(evq_t *q, evq_fd_t fd) {
  SOCKET s = (SOCKET)fd;
  int err = 0, len = sizeof err;
  if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
    return evq__net_last_error();
  if (err != 0) return evq__net_error((DWORD)err);
  SOCKADDR_STORAGE ss;
  len = sizeof ss;
  if (getpeername(s, (struct sockaddr *)&ss, &len) == 0) return 0;
  if (WSAGetLastError() != WSAENOTCONN) return evq__net_last_error();
  int rc = evq__net_listening(s), af, type;
  if (rc != 0) return rc == 1 ? EVQ_EINVAL : rc;
  rc = evq__net_kind(s, &af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_STREAM) return EVQ_ENOTCONN;
  fd_set w, e;
  FD_ZERO(&w);
  FD_ZERO(&e);
  FD_SET(s, &w);
  FD_SET(s, &e);
  struct timeval zero = {0, 0};
  int n = select(0, NULL, &w, &e, &zero);
  if (n < 0) return evq__net_last_error();
  if (FD_ISSET(s, &e)) {
    len = sizeof err;
    err = 0;
    getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
    return err != 0 ? evq__net_error((DWORD)err) : EVQ_ECONNREFUSED;
  }
  if (FD_ISSET(s, &w)) return 0; /* connected since getpeername */
  evq__io_blocked(q, fd, EVQ_WRITABLE);
  return EVQ_EAGAIN;
}

int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out) {
  if (!out) return EVQ_EINVAL;
  SOCKADDR_STORAGE ss;
  int len = sizeof ss;
  ss.ss_family = AF_UNSPEC;
  SOCKET s = accept((SOCKET)listener, (struct sockaddr *)&ss, &len);
  if (s == INVALID_SOCKET) {
    int rc = evq__net_last_error();
    if (rc == EVQ_EAGAIN) evq__io_blocked(q, listener, EVQ_READABLE);
    return rc;
  }
  int rc = evq__net_set_flags(s);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) no_delay(s);
  *out = (evq_fd_t)s;
  return 0;
}
