/* The socket layer's inside: what the portable socket files (net.c,
 * net_addr.c, net_stream.c, net_dgram.c, net_opt.c) share, and the
 * primitives each OS gives them.
 *
 * The split is libuv's uv_tcp_bind (uv-common.c) over uv__tcp_bind, or
 * mio's net/ over sys/: the public calls, their argument checks, the order
 * of socket, options, bind and listen, the addresses, the option table and
 * the receive loop are written once, here in src/; below them, each OS
 * (src/unix/net_*.c, src/win/net_*.c) gives small primitives that make its
 * calls and answer in evq's codes, its quirks already folded in, so that
 * the same call gets the same answer everywhere. The OS's socket types and
 * constants come from "net_os.h" (src/unix or src/win); no file here calls
 * the OS. */
#ifndef EVQ__NET_H
#define EVQ__NET_H

/* First: on POSIX it sets the feature macros its system headers need. */
#include "net_os.h"

#include "backend.h"
#include "evq_net.h"

#include <stddef.h>
#include <stdint.h>

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

/* ---- Shared by the portable files -------------------------------------- */

/* The OS family (AF_INET, AF_INET6, AF_UNIX) of an address the caller
 * passes in, after checking it is one evq could have made: EVQ_EINVAL for
 * NULL, empty or garbage. */
int evq__addr_check(const evq_addr_t *a, int *af);

/* A sender's address as a primitive stored it (evq__os_recvfrom,
 * evq__os_recv_batch): kept if it is one evq handles, else made empty (an
 * unbound Unix sender, a family evq does not know). */
void evq__addr_settle(evq_addr_t *from);

/* An IP address to and from the form src/net_ip.c reads and writes;
 * EVQ_EINVAL for a Unix one. */
struct evq__ip;
int evq__addr_to_ip(const evq__addr_t *a, struct evq__ip *ip);
void evq__addr_from_ip(evq__addr_t *a, const struct evq__ip *ip);

/* The end of every call that makes a socket: fd goes to *out if rc is 0,
 * else it is closed. Returns rc. */
int evq__net_keep(evq_fd_t fd, int rc, evq_fd_t *out);

/* A socket of type bound to addr, with evq_listen's and evq_dgram_bind's
 * flags (EVQ_SOCK_*) applied first. */
int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags,
                   evq_fd_t *out);

/* Answers a primitive may give besides evq's codes, which the layer turns
 * into what the caller sees; outside the EVQ_E* range, never returned. */
enum {
  /* A receive on a socket whose reading was shut down here (Windows says
   * WSAESHUTDOWN): end of stream, as POSIX reads it, with nothing for edge
   * mode to wait for. */
  EVQ__READ_SHUT = -1000,
  /* evq__os_recv_batch where the OS has no batch receive (recvmmsg is
   * Linux's; ENOSYS on a kernel without it): one receive after another. */
  EVQ__NO_BATCH = -1001
};

/* Datagrams per evq__os_recv_batch; a larger batch takes several calls. */
enum { EVQ__BATCH_MAX = 64 };

/* What a receive's result says to edge mode: would-block re-arms it, and
 * so does end of stream where EVQ__EOF_REARMS (room: the call asked for
 * bytes). Returns what the caller gets. Inline: evq_read's hot path. */
static inline ptrdiff_t evq__net_received(evq_t *q, evq_fd_t fd, ptrdiff_t r,
                                          int room) {
  if (r > 0) return r;
  if (r == EVQ_EAGAIN || (EVQ__EOF_REARMS && r == 0 && room))
    evq__io_blocked(q, fd, EVQ_READABLE);
  return r == EVQ__READ_SHUT ? 0 : r;
}

/* ---- The primitives each OS gives ----------------------------------------
 * src/unix: net_os.c, net_io.c, net_accept.c; src/win: net_os.c, net_io.c.
 * Each returns 0 (or a count) or an EVQ_E* code. fd may be the caller's,
 * and of any kind: a primitive checks nothing the portable files check. */

/* A new socket: non-blocking, close-on-exec (not inheritable on Windows),
 * never raising SIGPIPE; EVQ_ENOTSUP where the system lacks the family or
 * type. A UDP socket on Windows ignores ICMP "port unreachable" until it
 * is connected (POSIX reports it only on connected sockets). */
int evq__os_socket(int af, int type, evq_fd_t *out);

/* Closes fd (on POSIX any descriptor): 0 or an EVQ_E* code. */
int evq__os_close(evq_fd_t fd);

/* Two connected stream sockets, made as evq__os_socket makes one. */
int evq__os_socketpair(evq_fd_t out[2]);

/* Binds fd (of family af and type) to addr, after what the OS needs so
 * that a port whose old connections are in TIME_WAIT can be bound again
 * and no other socket can take a port in use (networking.md, "Streams"). */
int evq__os_bind(evq_fd_t fd, int af, int type, const evq_addr_t *addr);

/* Makes fd a listener. */
int evq__os_listen(evq_fd_t fd, int backlog);

/* Connects fd (of type) to addr: 0 when connected, and for a stream
 * socket also when the connect goes on in the background. */
int evq__os_connect(evq_fd_t fd, int type, const evq_addr_t *addr);

/* A connection from listener: non-blocking, close-on-exec, TCP_NODELAY for
 * TCP. EVQ_EAGAIN when none is pending; EVQ_EMFILE when out of
 * descriptors, after which the listener is drained if EVQ__EMFILE_DRAINS
 * (networking.md, "Accepting when out of descriptors"). */
int evq__os_accept(evq_fd_t listener, evq_fd_t *out);

/* For a stream socket neither connected nor holding a pending error: 0
 * if it has connected since, EVQ_EAGAIN while the connect is under way,
 * else why it failed (EVQ_ECONNREFUSED once the reason has been taken). */
int evq__os_connecting(evq_fd_t fd);

/* Shuts down direction how (EVQ_SHUT_*); EVQ_ENOTCONN for an unconnected
 * datagram socket, before anything changes. */
int evq__os_shutdown(evq_fd_t fd, int how);

/* The socket's family and type, also for a socket that is not bound
 * (AF_UNSPEC and 0 when it fails). */
int evq__os_kind(evq_fd_t fd, int *af, int *type);

/* The local (peer 0) or peer name as the OS gives it, its length in
 * out->len: EVQ_ENOTCONN for the peer of a socket without one; the
 * family's wildcard, port 0, for the local name of an unbound socket. */
int evq__os_name(evq_fd_t fd, int peer, evq__addr_t *out);

/* An int-valued option (level, name: the OS's). */
int evq__os_getopt(evq_fd_t fd, int level, int name, int *value);
int evq__os_setopt(evq_fd_t fd, int level, int name, int value);

/* The pending error (SO_ERROR), taken: 0 if none, else its code. */
int evq__os_error(evq_fd_t fd);

/* Whether fd is a listening socket (1), not (0), or an EVQ_E* code. */
static inline int evq__net_listening(evq_fd_t fd) {
  int v = 0, rc = evq__os_getopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v);
  return rc != 0 ? rc : v != 0;
}

/* Byte I/O: the bytes moved, EVQ_EAGAIN for would-block, or a code; 0 is
 * end of stream. A send on a broken connection is EVQ_EPIPE, one on a
 * listener or without a peer EVQ_ENOTCONN. On POSIX fd may be a pipe.
 * At most EVQ__IOV_MAX buffers. evq__os_read and evq__os_write, every
 * server's hot path, are inline in net_os.h: no call more per read and
 * write than before the layer was split (ping-pong and the HTTP server
 * count these instructions, docs/performance.md). */
ptrdiff_t evq__os_readv(evq_fd_t fd, const evq_iovec_t *iov, int n);
ptrdiff_t evq__os_writev(evq_fd_t fd, const evq_iovec_t *iov, int n);

/* Whether a stream socket has data, without taking it: 1 if so, 0 at end
 * of stream, EVQ_EAGAIN if none yet, or a code (a pool receive that has
 * no buffer must know whether data is there: evq_io.h). */
ptrdiff_t evq__os_peek(evq_fd_t fd);

/* One datagram to `to` (NULL: the peer). An ICMP "port unreachable" on
 * a connected socket is EVQ_ECONNREFUSED. */
ptrdiff_t evq__os_sendto(evq_fd_t fd, const void *buf, size_t len,
                         const evq_addr_t *to);

/* One datagram, its sender in *from (NULL: not wanted) as the OS gave it,
 * for evq__addr_settle. EVQ_EMSGSIZE when it did not fit: the first len
 * bytes are in buf and the sender in *from. */
ptrdiff_t evq__os_recvfrom(evq_fd_t fd, void *buf, size_t len,
                           evq__addr_t *from);

/* Up to n datagrams in one call, without waiting (n at most
 * EVQ__BATCH_MAX: the primitive's arrays are on the stack): how many, each
 * with len, flags and its sender as the OS gave it; EVQ__NO_BATCH where
 * the OS has no such call. */
int evq__os_recv_batch(evq_fd_t fd, evq_dgram_t *msgs, int n);

#endif
