/* Windows socket options and shutdown. Each option says which kinds of
 * socket it applies to and evq checks the kind itself, so the answers are
 * the ones POSIX gives (net_opt.c there has the same table). */
#include "net.h"

enum { TCP = 1, UDP = 2, UNIX = 4, IP = TCP | UDP, ANY = TCP | UDP | UNIX };

typedef struct opt {
  int level, name; /* name -1: not on Windows */
  int kinds;
  int flag; /* a 0/1 value */
} opt_t;

static int find(int opt, opt_t *o) {
  switch (opt) {
  case EVQ_SO_NODELAY: *o = (opt_t){IPPROTO_TCP, TCP_NODELAY, TCP, 1}; break;
  case EVQ_SO_KEEPALIVE: *o = (opt_t){SOL_SOCKET, SO_KEEPALIVE, TCP, 1}; break;
  case EVQ_SO_RCVBUF: *o = (opt_t){SOL_SOCKET, SO_RCVBUF, ANY, 0}; break;
  case EVQ_SO_SNDBUF: *o = (opt_t){SOL_SOCKET, SO_SNDBUF, ANY, 0}; break;
  /* Windows' SO_REUSEADDR lets a socket take a port in use: not POSIX's. */
  case EVQ_SO_REUSEADDR: *o = (opt_t){SOL_SOCKET, -1, IP, 1}; break;
  case EVQ_SO_REUSEPORT: *o = (opt_t){SOL_SOCKET, -1, IP, 1}; break;
  case EVQ_SO_BROADCAST: *o = (opt_t){SOL_SOCKET, SO_BROADCAST, UDP, 1}; break;
  default: return EVQ_EINVAL;
  }
  return 0;
}

static int lookup(evq_fd_t fd, int opt, opt_t *o) {
  int rc = find(opt, o), af, type;
  if (rc != 0) return rc;
  rc = evq__winsock_init();
  if (rc == 0) rc = evq__net_kind((SOCKET)fd, &af, &type);
  if (rc != 0) return rc;
  int kind = af == AF_UNIX                        ? UNIX
             : af != AF_INET && af != AF_INET6    ? 0
             : type == SOCK_STREAM                ? TCP
             : type == SOCK_DGRAM                 ? UDP
                                                  : 0;
  if (!(o->kinds & kind) || o->name < 0) return EVQ_ENOTSUP;
  return 0;
}

int evq_setsockopt(evq_fd_t fd, int opt, int value) {
  opt_t o;
  if (value < 0) return EVQ_EINVAL;
  int rc = lookup(fd, opt, &o);
  if (rc != 0) return rc;
  int v = o.flag ? value != 0 : value;
  if (setsockopt((SOCKET)fd, o.level, o.name, (const char *)&v, sizeof v))
    return evq__net_last_error();
  return 0;
}

/* Some options are answered in fewer bytes than an int (a BOOL as one
 * byte under wine): v starts at 0 so the rest reads as zero. */
int evq_getsockopt(evq_fd_t fd, int opt, int *value) {
  opt_t o;
  if (!value) return EVQ_EINVAL;
  int rc = lookup(fd, opt, &o);
  if (rc != 0) return rc;
  int v = 0, len = sizeof v;
  if (getsockopt((SOCKET)fd, o.level, o.name, (char *)&v, &len) != 0)
    return evq__net_last_error();
  *value = o.flag ? v != 0 : v;
  return 0;
}

int evq_shutdown(evq_fd_t fd, int how) {
  int h = how == EVQ_SHUT_RD     ? SD_RECEIVE
          : how == EVQ_SHUT_WR   ? SD_SEND
          : how == EVQ_SHUT_RDWR ? SD_BOTH
                                 : -1;
  if (h < 0) return EVQ_EINVAL;
  int rc = evq__winsock_init(), af, type;
  if (rc != 0) return rc;
  /* Windows shuts down an unconnected datagram socket without a word;
   * POSIX says ENOTCONN, and so does evq, before changing anything. */
  rc = evq__net_kind((SOCKET)fd, &af, &type);
  if (rc != 0) return rc;
  if (type == SOCK_DGRAM && evq__net_no_peer(fd)) return EVQ_ENOTCONN;
  return shutdown((SOCKET)fd, h) == 0 ? 0 : evq__net_last_error();
}
