/* Stream sockets: listen, connect and its result, accept. The order of
 * socket, options, bind and listen is written once here; what each OS
 * needs besides (POSIX's SO_REUSEADDR and spare descriptor, Windows'
 * exclusive binding) is in its primitives (net.h). */
#include "net.h"

/* The flags evq_listen and evq_dgram_bind take, applied before bind():
 * the OSes differ in IPV6_V6ONLY's default, so it is always said. */
static int bind_options(evq_fd_t fd, int af, uint32_t flags) {
  if (af == AF_INET6) {
    int v6only = !(flags & EVQ_SOCK_DUALSTACK);
    int rc = evq__os_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
    if (rc != 0) return rc;
  }
  if (!(flags & EVQ_SOCK_REUSEPORT)) return 0;
  if (EVQ__SO_REUSEPORT < 0) return EVQ_ENOTSUP; /* no such option */
  return evq__os_setopt(fd, SOL_SOCKET, EVQ__SO_REUSEPORT, 1);
}

int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags,
                   evq_fd_t *out) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  if ((flags & ~(uint32_t)(EVQ_SOCK_REUSEPORT | EVQ_SOCK_DUALSTACK)) ||
      ((flags & EVQ_SOCK_DUALSTACK) && af != AF_INET6) ||
      ((flags & EVQ_SOCK_REUSEPORT) && af == AF_UNIX))
    return EVQ_EINVAL;
  evq_fd_t fd;
  int rc = evq__os_socket(af, type, &fd);
  if (rc != 0) return rc;
  rc = bind_options(fd, af, flags);
  if (rc == 0) rc = evq__os_bind(fd, af, type, addr);
  return evq__net_keep(fd, rc, out);
}

int evq_listen(evq_fd_t *out, const evq_addr_t *addr, int backlog,
               uint32_t flags) {
  if (!out) return EVQ_EINVAL;
  evq_fd_t fd;
  int rc = evq__net_bound(SOCK_STREAM, addr, flags, &fd);
  if (rc != 0) return rc;
  rc = evq__os_listen(fd, backlog > 0 ? backlog : SOMAXCONN);
  return evq__net_keep(fd, rc, out);
}

int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                   int backlog) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_listen(out, &a, backlog, 0);
}

/* Every TCP socket evq connects or accepts has TCP_NODELAY: small writes
 * go out at once, as on a Unix socketpair. */
int evq_connect(evq_fd_t *out, const evq_addr_t *addr) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  evq_fd_t fd;
  int rc = evq__os_socket(af, SOCK_STREAM, &fd);
  if (rc != 0) return rc;
  if (af != AF_UNIX) evq__os_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  return evq__net_keep(fd, evq__os_connect(fd, SOCK_STREAM, addr), out);
}

int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_connect(out, &a);
}

/* The pending error is the reason, but the first reader takes it; a
 * socket that is neither connected nor connecting has failed even when the
 * reason was taken (libkqueue reads SO_ERROR to fill its event), which
 * evq__os_connecting tells (docs/networking.md, "Connect results"). */
int evq_connect_result(evq_t *q, evq_fd_t fd) {
  int rc = evq__os_error(fd);
  if (rc != 0) return rc;
  evq__addr_t peer;
  rc = evq__os_name(fd, 1, &peer);
  if (rc != EVQ_ENOTCONN) return rc; /* 0: connected */
  int af, type;
  rc = evq__net_listening(fd);
  if (rc != 0) return rc == 1 ? EVQ_EINVAL : rc;
  rc = evq__os_kind(fd, &af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_STREAM) return EVQ_ENOTCONN;
  rc = evq__os_connecting(fd);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  return rc;
}

/* Would-block re-arms edge mode, and so does EVQ_EMFILE where the
 * connections that could not be taken were refused (EVQ__EMFILE_DRAINS). */
int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out) {
  if (!out) return EVQ_EINVAL;
  int rc = evq__os_accept(listener, out);
  if (rc == EVQ_EAGAIN || (rc == EVQ_EMFILE && EVQ__EMFILE_DRAINS))
    evq__io_blocked(q, listener, EVQ_READABLE);
  return rc;
}
