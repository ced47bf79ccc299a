/* Socket options and shutdown. Each option says which kinds of socket it
 * applies to, and evq checks the kind itself: the OSes differ in what they
 * refuse (Linux takes SO_BROADCAST on a TCP socket and ignores it, Windows
 * fails TCP_NODELAY on UDP), so the answer is the same everywhere only if
 * evq decides. */
#include "net.h"

enum { TCP = 1, UDP = 2, UNIX = 4, IP = TCP | UDP, ANY = TCP | UDP | UNIX };

typedef struct opt {
  int level, name; /* name -1: the OS lacks it (net_os.h) */
  int kinds;
  int flag; /* a 0/1 value */
} opt_t;

static int find(int opt, opt_t *o) {
  switch (opt) {
  case EVQ_SO_NODELAY: *o = (opt_t){IPPROTO_TCP, TCP_NODELAY, TCP, 1}; break;
  case EVQ_SO_KEEPALIVE: *o = (opt_t){SOL_SOCKET, SO_KEEPALIVE, TCP, 1}; break;
  case EVQ_SO_RCVBUF: *o = (opt_t){SOL_SOCKET, SO_RCVBUF, ANY, 0}; break;
  case EVQ_SO_SNDBUF: *o = (opt_t){SOL_SOCKET, SO_SNDBUF, ANY, 0}; break;
  case EVQ_SO_REUSEADDR:
    *o = (opt_t){SOL_SOCKET, EVQ__SO_REUSEADDR, IP, 1};
    break;
  case EVQ_SO_REUSEPORT:
    *o = (opt_t){SOL_SOCKET, EVQ__SO_REUSEPORT, IP, 1};
    break;
  case EVQ_SO_BROADCAST: *o = (opt_t){SOL_SOCKET, SO_BROADCAST, UDP, 1}; break;
  default: return EVQ_EINVAL;
  }
  return 0;
}

/* The option, once the socket is known to be of a kind it applies to. */
static int lookup(evq_fd_t fd, int opt, opt_t *o) {
  int rc = find(opt, o), af, type;
  if (rc != 0) return rc;
  rc = evq__os_kind(fd, &af, &type);
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
  return evq__os_setopt(fd, o.level, o.name, o.flag ? value != 0 : value);
}

int evq_getsockopt(evq_fd_t fd, int opt, int *value) {
  opt_t o;
  if (!value) return EVQ_EINVAL;
  int rc = lookup(fd, opt, &o);
  if (rc != 0) return rc;
  int v = 0;
  rc = evq__os_getopt(fd, o.level, o.name, &v);
  if (rc != 0) return rc;
  *value = o.flag ? v != 0 : v;
  return 0;
}

int evq_shutdown(evq_fd_t fd, int how) {
  if (how != EVQ_SHUT_RD && how != EVQ_SHUT_WR && how != EVQ_SHUT_RDWR)
    return EVQ_EINVAL;
  return evq__os_shutdown(fd, how);
}
