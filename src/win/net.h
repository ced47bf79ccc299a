/* What the Windows socket files (net.c, net_addr.c, net_stream.c,
 * net_dgram.c, net_opt.c) share; nothing outside them includes this. */
#ifndef EVQ_WIN_NET_H
#define EVQ_WIN_NET_H

#include "win.h"

#include <afunix.h> /* struct sockaddr_un: Windows 10 1803 and later */
#include <limits.h>

/* The layout behind the caller's evq_addr_t. */
typedef struct evq__addr {
  SOCKADDR_STORAGE ss;
  uint32_t len; /* bytes of ss in use; 0: empty */
  uint32_t reserved[3];
} evq__addr_t;

_Static_assert(sizeof(evq__addr_t) == sizeof(evq_addr_t),
               "evq_addr_t must hold a SOCKADDR_STORAGE and its length");

static inline evq__addr_t *evq__addr(evq_addr_t *a) {
  return (evq__addr_t *)(void *)a;
}
static inline const evq__addr_t *evq__caddr(const evq_addr_t *a) {
  return (const evq__addr_t *)(const void *)a;
}
static inline const struct sockaddr *evq__sa(const evq_addr_t *a) {
  return (const struct sockaddr *)&evq__caddr(a)->ss;
}

/* Winsock error -> EVQ_E*, with the meanings the networking calls give
 * (src/win/sys.c's table, and a few folded here: evq.h documents them). */
int evq__net_error(DWORD err);
static inline int evq__net_last_error(void) {
  return evq__net_error((DWORD)WSAGetLastError());
}

/* The OS family of an address the caller passes in, after checking it is
 * one evq could have made: EVQ_EINVAL for NULL, empty or garbage. */
int evq__addr_check(const evq_addr_t *a, int *af);

/* A new socket: non-blocking, not inheritable. 0 or an EVQ_E* code
 * (EVQ_ENOTSUP where the system lacks the family or type). */
int evq__net_socket(int af, int type, SOCKET *out);

/* Non-blocking and not inheritable, for a socket made by accept(). */
int evq__net_set_flags(SOCKET s);

/* A socket of type bound to addr with evq_listen/evq_dgram_bind flags. */
int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags,
                   SOCKET *out);

/* The socket's family and type, also for a socket that is not bound. */
int evq__net_kind(SOCKET s, int *af, int *type);

/* Whether s is a listening socket (1), not (0), or an EVQ_E* code. */
int evq__net_listening(SOCKET s);

/* Whether s has no peer (a listener, an unconnected socket): for the
 * error paths where Windows' answers differ from POSIX's. */
int evq__net_no_peer(evq_fd_t fd);

/* Winsock counts in int; a longer request is cut, as a short count may
 * be. */
static inline int evq__clamp_len(size_t len) {
  return len > INT_MAX ? INT_MAX : (int)len;
}

#endif
