/* What the POSIX socket files (net.c, net_addr.c, net_stream.c,
 * net_dgram.c, net_opt.c) share; nothing outside them includes this. */
#ifndef EVQ_UNIX_NET_H
#define EVQ_UNIX_NET_H

#include "unix.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set per socket instead */
#endif

/* The BSDs and macOS have a length byte first in every socket address. */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || defined(__DragonFly__)
#define EVQ__SA_LEN 1
#endif

/* The layout behind the caller's evq_addr_t. */
typedef struct evq__addr {
  struct sockaddr_storage ss;
  uint32_t len; /* bytes of ss in use; 0: empty */
  uint32_t reserved[3];
} evq__addr_t;

_Static_assert(sizeof(evq__addr_t) == sizeof(evq_addr_t),
               "evq_addr_t must hold a sockaddr_storage and its length");

static inline evq__addr_t *evq__addr(evq_addr_t *a) {
  return (evq__addr_t *)(void *)a;
}
static inline const evq__addr_t *evq__caddr(const evq_addr_t *a) {
  return (const evq__addr_t *)(const void *)a;
}
static inline const struct sockaddr *evq__sa(const evq_addr_t *a) {
  return (const struct sockaddr *)&evq__caddr(a)->ss;
}

/* errno -> EVQ_E*, with the socket errors the core's table does not name
 * folded into the codes evq.h documents for the networking calls. */
int evq__net_error(int err);

/* The OS family (AF_INET, AF_INET6, AF_UNIX) of an address the caller
 * passes in, after checking it is one evq could have made: EVQ_EINVAL for
 * NULL, empty or garbage. */
int evq__addr_check(const evq_addr_t *a, int *af);

/* A new socket of domain and type: non-blocking, close-on-exec, no
 * SIGPIPE. Stores it in *fd; 0 or an EVQ_E* code (EVQ_ENOTSUP where the
 * system lacks the family). */
int evq__net_socket(int domain, int type, int *fd);

/* The same flags for a descriptor made elsewhere (accept without accept4). */
int evq__net_set_flags(int fd);

/* A socket of type bound to addr, with evq_listen's and evq_dgram_bind's
 * flags applied first. */
int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags, int *fd);

/* The socket's family and type (SO_TYPE); 0 or an EVQ_E* code. */
int evq__net_kind(int fd, int *af, int *type);

/* Whether fd is a listening socket (1), not (0), or an EVQ_E* code. */
int evq__net_listening(int fd);

/* Keeps the process's spare descriptor for evq_accept (net_stream.c). */
void evq__spare_ensure(void);

#endif
