/* POSIX socket primitives (src/net.h): making sockets, binding and
 * connecting them, asking what they are, their options, and the error
 * mapping every socket file here shares. Listening and accepting are in
 * net_accept.c, sending and receiving in net_io.c. */
#include "net.h"
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

int evq__os_socket(int af, int type, evq_fd_t *out) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  /* Atomic close-on-exec: no other thread can fork and exec in between. */
  int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    *out = fd;
    return 0;
  }
#else
  int fd = socket(af, type, 0);
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

/* EINTR: Linux, the BSDs and macOS have closed the descriptor anyway, and
 * closing again could close a number another thread just got. */
int evq__os_close(evq_fd_t fd) {
  return close(fd) == 0 || errno == EINTR ? 0 : evq__net_error(errno);
}

int evq__os_socketpair(evq_fd_t out[2]) {
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

int evq__os_bind(evq_fd_t fd, int af, int type, const evq_addr_t *addr) {
  if (type == SOCK_STREAM && af != AF_UNIX) {
    /* Rebinding a port whose old connections are in TIME_WAIT. */
    evq__os_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    /* For the accepted sockets, which inherit it on Linux (net_accept.c). */
    evq__os_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  }
  if (bind(fd, evq__sa(addr), (socklen_t)evq__caddr(addr)->len) != 0)
    return evq__net_error(errno);
  return 0;
}

int evq__os_connect(evq_fd_t fd, int type, const evq_addr_t *addr) {
  if (connect(fd, evq__sa(addr), (socklen_t)evq__caddr(addr)->len) == 0)
    return 0;
  /* EINTR: the connect goes on in the background, as EINPROGRESS. */
  if (type == SOCK_STREAM && (errno == EINPROGRESS || errno == EINTR))
    return 0;
  return evq__net_error(errno);
}

/* Connecting or failed, when the pending error was taken (libkqueue reads
 * SO_ERROR to fill its event): a one-byte MSG_PEEK tells them apart. A
 * connecting socket would block; a failed one reads end of stream (Linux,
 * the BSDs: the kernel shut it down) or ENOTCONN. */
int evq__os_connecting(evq_fd_t fd) {
  char c;
  ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r > 0) return 0; /* connected since getpeername */
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return EVQ_EAGAIN;
  if (r == 0 || errno == ENOTCONN) return EVQ_ECONNREFUSED; /* reason gone */
  return evq__net_error(errno); /* the reason, arrived since SO_ERROR */
}

/* POSIX refuses an unconnected datagram socket itself (ENOTCONN). */
int evq__os_shutdown(evq_fd_t fd, int how) {
  int h = how == EVQ_SHUT_RD ? SHUT_RD : how == EVQ_SHUT_WR ? SHUT_WR
                                                           : SHUT_RDWR;
  return shutdown(fd, h) == 0 ? 0 : evq__net_error(errno);
}

int evq__os_kind(evq_fd_t fd, int *af, int *type) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  socklen_t tlen = sizeof *type;
  ss.ss_family = AF_UNSPEC;
  *af = AF_UNSPEC;
  *type = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &tlen) != 0)
    return evq__net_error(errno);
  *af = ss.ss_family;
  return 0;
}


/* The kernel's length is kept as is: a Unix address's says whether it has
 * a name. */
int evq__os_name(evq_fd_t fd, int peer, evq__addr_t *out) {
  memset(out, 0, sizeof *out);
  socklen_t len = sizeof out->ss;
  int r = peer ? getpeername(fd, (struct sockaddr *)&out->ss, &len)
               : getsockname(fd, (struct sockaddr *)&out->ss, &len);
  if (r != 0) {
    /* Some systems answer a listener or a shut-down socket with EINVAL. */
    return peer && errno == EINVAL ? EVQ_ENOTCONN : evq__net_error(errno);
  }
  out->len = len > sizeof out->ss ? (uint32_t)sizeof out->ss : (uint32_t)len;
  return 0;
}

int evq__os_getopt(evq_fd_t fd, int level, int name, int *value) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) != 0) return evq__net_error(errno);
  *value = v;
  return 0;
}

int evq__os_setopt(evq_fd_t fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0)
    return evq__net_error(errno);
  return 0;
}

int evq__os_error(evq_fd_t fd) {
  int err = 0, rc = evq__os_getopt(fd, SOL_SOCKET, SO_ERROR, &err);
  return rc != 0 ? rc : evq__net_error(err);
}
