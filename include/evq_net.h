/**
 * \file
 * evq's sockets: addresses, stream and datagram sockets over IPv4, IPv6 and
 * Unix domain, reading and writing, options; each made ready for a queue.
 *
 * Include this header for them; it includes evq.h, the queue's contract.
 * docs/networking.md has the whole picture: what differs per OS and what
 * evq makes the same.
 *
 * Rules that hold for every call below, on every OS:
 *  - every socket made here is non-blocking and close-on-exec (not
 *    inheritable on Windows);
 *  - no call raises SIGPIPE;
 *  - would-block is EVQ_EAGAIN, and a call that takes a queue then re-arms
 *    an edge-mode registration of the socket (that is all it uses the
 *    queue for: q may be NULL for a socket that is not registered);
 *  - evq resolves no host names, because resolving blocks: resolve on a
 *    thread of your own (getaddrinfo) and give evq the numeric address.
 */
#ifndef EVQ_NET_H
#define EVQ_NET_H

#include "evq.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * \addtogroup sockets
 * Addresses, stream and datagram sockets, reading and writing, options
 * (this group is evq_net.h: include it for them).
 *
 * The rules of evq_net.h hold for each: non-blocking and close-on-exec
 * sockets, no SIGPIPE, EVQ_EAGAIN re-arms an edge-mode registration, no
 * name resolution.
 * @{
 */

/* ---- Addresses ------------------------------------------------------- */
/* An address is evq's own value, of any family; evq_addr_*() make and
 * read it. */

/**
 * Address families: evq's own numbers, not the OS's AF_* values.
 */
enum evq_family { EVQ_AF_INET = 1, EVQ_AF_INET6 = 2, EVQ_AF_UNIX = 3 };

/**
 * A socket address of any family: IPv4, IPv6 (with a scope id), or Unix (a
 * path, or on Linux a name in the abstract namespace). The caller's storage;
 * a zeroed one is empty, an address only as an output. The size (144 bytes:
 * 128 for the OS's socket address, its length and room to grow) is part of
 * the ABI; the layout is not: use the calls below. Plain data: copy it
 * freely.
 */
typedef struct evq_addr {
  uint64_t evq__opaque[18];
} evq_addr_t;

/**
 * Room for the longest text evq_addr_format() writes, the NUL included.
 */
#define EVQ_ADDR_STRLEN 128

/**
 * Sets *a to a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%2" with
 * a numeric scope id) address and a port. Names are not resolved. Errors:
 * EVQ_EINVAL (NULL, not a numeric address in one of these forms, port
 * below 0 or above 65535). On error *a is unchanged.
 */
EVQ_API int evq_addr_ip(evq_addr_t *a, const char *ip, int port);

/**
 * Sets *a from text: "1.2.3.4:80", "[::1]:80", "[fe80::1%2]:80", a Unix
 * path (text that starts with '/' or '.'), or "@name" for a Linux abstract
 * name. These are exactly the forms evq_addr_format() writes. Errors:
 * EVQ_EINVAL (NULL, malformed, a host name, a missing or out-of-range
 * port, a path too long), EVQ_ENOTSUP (an abstract name off Linux). On
 * error *a is unchanged.
 */
EVQ_API int evq_addr_parse(evq_addr_t *a, const char *text);

/**
 * Sets *a to the Unix domain address of path (any path, relative ones
 * included); a leading '@' names the Linux abstract namespace (no file is
 * made). Errors: EVQ_EINVAL (NULL, empty, "@" alone, longer than the OS
 * takes: 107 bytes on Linux and Windows, 103 on macOS and the BSDs),
 * EVQ_ENOTSUP (an abstract name off Linux). On error *a is unchanged.
 */
EVQ_API int evq_addr_unix(evq_addr_t *a, const char *path);

/**
 * Writes a as text, NUL-terminated, in the forms evq_addr_parse() reads
 * ("1.2.3.4:80", "[::1]:80", "/path", "@name"; IPv6 in its RFC 5952 form,
 * an IPv4-mapped one as "[::ffff:1.2.3.4]:80"); an unnamed Unix socket
 * (one that never bound, e.g. the client end of a Unix connection) is "".
 * Returns the length of the text. EVQ_ADDR_STRLEN is always enough.
 * Errors: EVQ_EINVAL (NULL, an empty address, cap too small: then buf holds
 * "" if cap > 0).
 */
EVQ_API int evq_addr_format(const evq_addr_t *a, char *buf, size_t cap);

/**
 * The family of a: EVQ_AF_INET, EVQ_AF_INET6 or EVQ_AF_UNIX. Errors:
 * EVQ_EINVAL (NULL or empty).
 */
EVQ_API int evq_addr_family(const evq_addr_t *a);

/**
 * The port of an IP address (0 to 65535). Errors: EVQ_EINVAL (NULL, empty,
 * a Unix address).
 */
EVQ_API int evq_addr_port(const evq_addr_t *a);

/* ---- Streams: listening, connecting, accepting ----------------------- */
/* evq_tcp_listen() and evq_tcp_connect() are evq_listen() and evq_connect()
 * for the common case of IPv4 given as text. */

/**
 * Flags of evq_listen() and evq_dgram_bind().
 */
enum evq_sock_flag {
  /**
   * SO_REUSEPORT: several sockets may bind the same address and port
   * (Linux then spreads connections and datagrams over them; macOS and the
   * BSDs only allow the sharing). EVQ_ENOTSUP on Windows, which has no
   * such option. IP addresses only.
   */
  EVQ_SOCK_REUSEPORT = 1u << 0,
  /**
   * An IPv6 socket also takes IPv4 traffic, whose addresses then appear as
   * IPv4-mapped IPv6 ("[::ffff:1.2.3.4]:80"). Without it an IPv6 socket is
   * IPv6 only, on every OS (the OSes differ in their default). IPv6
   * addresses only. A dual-stack UDP socket also sends to IPv4 addresses:
   * see evq_sendto.
   */
  EVQ_SOCK_DUALSTACK = 1u << 1
};

/**
 * Makes a listening stream socket: TCP on an IPv4 or IPv6 address (port 0:
 * any free port; SO_REUSEADDR is on, so a restarted server can bind a port
 * whose old connections are in TIME_WAIT; on Windows that is the default
 * and the port is bound exclusively instead), or a Unix domain socket on a
 * path or abstract name. A Unix path is a file that stays after the socket
 * is closed, and evq never removes one: unlink a stale one before listening
 * (else EVQ_EADDRINUSE). backlog <= 0 means the system's maximum. Errors:
 * EVQ_EINVAL (NULL, an empty address, unknown flags, a flag the family does
 * not take), EVQ_EADDRINUSE, EVQ_EADDRNOTAVAIL (not a local address),
 * EVQ_EACCES, EVQ_ENOENT (the path's directory does not exist), EVQ_ENOTSUP
 * (the OS lacks the family or the flag: IPv6 disabled, Unix sockets on
 * Windows before 10 1803 and under wine), EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_listen(evq_fd_t *out, const evq_addr_t *addr, int backlog,
                       uint32_t flags);

/**
 * Listens on host:port (host NULL: 127.0.0.1, else a numeric IPv4
 * address; port 0: any; backlog 0 or less: the system's maximum).
 */
EVQ_API int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                           int backlog);

/**
 * Starts connecting a new stream socket to addr (TCP, or a Unix domain
 * stream socket). Returns 0 when connected or under way: register the
 * socket for EVQ_WRITABLE, and when it is reported call
 * evq_connect_result(). TCP sockets made by evq have TCP_NODELAY on (turn
 * it off with evq_setsockopt). Errors, at once: EVQ_EINVAL (NULL, an empty
 * address), EVQ_ECONNREFUSED (some OSes refuse at once, loopback and Unix
 * sockets especially), EVQ_ENOENT (no such Unix path), EVQ_EAGAIN (a Unix
 * listener's queue is full, on Linux: nothing was started; try again
 * later), EVQ_EHOSTUNREACH, EVQ_EADDRNOTAVAIL, EVQ_EACCES, EVQ_ENOTSUP,
 * EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_connect(evq_fd_t *out, const evq_addr_t *addr);

/**
 * Starts connecting to host:port; returns 0 when connected or under way.
 * Wait for EVQ_WRITABLE, then evq_connect_result() gives the outcome.
 */
EVQ_API int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port);

/**
 * The outcome of a connect started by evq_connect() or evq_tcp_connect(),
 * the same way on every OS: 0 connected; EVQ_EAGAIN still under way (wait
 * for EVQ_WRITABLE again; in edge mode evq re-arms it, as any would-block
 * does); or why it failed: EVQ_ECONNREFUSED, EVQ_ETIMEDOUT,
 * EVQ_EHOSTUNREACH, EVQ_ECONNRESET... The reason is the socket's pending
 * error, which the first reader takes: where something else read it first
 * (libkqueue, the kqueue emulation on Linux, reads it to fill its event; or
 * the caller's own SO_ERROR or evq_socket_error), evq still sees that the
 * attempt failed (the socket is neither connected nor connecting) and
 * reports EVQ_ECONNREFUSED. A failure means: close the socket. Errors of
 * the call: EVQ_EBADF, EVQ_EINVAL (a listening socket), EVQ_ENOTCONN (a
 * datagram socket that has no peer).
 */
EVQ_API int evq_connect_result(evq_t *q, evq_fd_t fd);

/**
 * Accepts one connection into out. Errors: EVQ_EAGAIN when none is
 * pending; EVQ_EMFILE when out of descriptors (the pending connections
 * were closed: see below).
 * A TCP socket accepted from a listener made by evq has TCP_NODELAY on,
 * as the listener has. Linux passes the listener's setting on to each
 * accepted socket, so evq spends no system call on it there; from a
 * listener made elsewhere, a socket accepted on Linux keeps that
 * listener's setting (set EVQ_SO_NODELAY on the listener or the socket).
 *
<br>
 * Accepting when out of descriptors. When accept() fails because the
 * process (EMFILE) or the system (ENFILE) has no descriptor left, the
 * connection would stay in the kernel's queue: a level-triggered loop would
 * be woken for it again at once, forever (a spin), and an edge-triggered
 * one never (a stall). So evq keeps one spare descriptor per process,
 * opened with the first listener made by evq_listen() or evq_tcp_listen()
 * (or the first connection evq_accept() takes, for a listener made
 * elsewhere).
 * On EMFILE/ENFILE, evq_accept() closes the spare, accepts the connection
 * with the descriptor that frees, closes it at once (the client sees the
 * connection closed, not a hang), reopens the spare, and goes on until no
 * connection is pending. It then returns EVQ_EMFILE if it closed any
 * (EVQ_EAGAIN if none was pending), and the listener is re-armed as after
 * EVQ_EAGAIN. So: treat EVQ_EMFILE as "connections are being refused"
 * (log it, close idle connections if you can) and keep waiting; do not
 * retry in a loop. New connections are accepted normally as soon as
 * descriptors are free. If the spare could not be kept (descriptors ran out
 * before the first listener, or another thread took the freed descriptor),
 * EVQ_EMFILE is returned with the connection still pending: pause accepting
 * for a while (a timer) in that case. Thread-safe. Windows has no
 * per-process descriptor limit; there evq_accept() returns EVQ_EMFILE or
 * EVQ_ENOMEM (no buffer space) with the connection still pending, and the
 * same advice applies.
 */
EVQ_API int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out);

/**
 * Makes a connected pair of stream sockets (socketpair(2) on POSIX,
 * loopback TCP on Windows).
 */
EVQ_API int evq_socketpair(evq_fd_t out[2]);

/* ---- Reading and writing --------------------------------------------- */
/* Byte streams; evq_read() and evq_write() also take any descriptor on
 * POSIX (a pipe, a terminal). */

/**
 * Reads up to len bytes: returns the count, 0 at end of stream,
 * EVQ_EAGAIN, or another negative code. On POSIX fd may be any descriptor
 * (a pipe, a terminal), not only a socket.
 */
EVQ_API ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len);

/**
 * Writes up to len bytes: returns the count written, EVQ_EAGAIN, EVQ_EPIPE,
 * or another negative code. Never raises SIGPIPE.
 */
EVQ_API ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf,
                            size_t len);

/**
 * One buffer of evq_readv()/evq_writev() (struct iovec's layout, WSABUF's
 * meaning).
 */
typedef struct evq_iovec {
  void *base; /**< the buffer */
  size_t len; /**< its size in bytes */
} evq_iovec_t;

/**
 * Reads into n buffers in order, in one system call: returns the bytes
 * read (filling each buffer before the next), 0 at end of stream,
 * EVQ_EAGAIN, or another negative code as evq_read. At most 1024 buffers
 * (64 on Windows) are used per call: a longer array reads less, as a short
 * read may. Errors: EVQ_EINVAL (iov NULL with n > 0, n < 0, a NULL base
 * with len > 0).
 */
EVQ_API ptrdiff_t evq_readv(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov,
                            int n);

/**
 * Writes n buffers in order, in one system call: returns the bytes written
 * (possibly fewer than their total), EVQ_EAGAIN, EVQ_EPIPE, or another
 * negative code as evq_write. Never raises SIGPIPE. Errors: as
 * evq_readv.
 */
EVQ_API ptrdiff_t evq_writev(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov,
                             int n);

/**
 * Directions of evq_shutdown().
 */
enum evq_shut { EVQ_SHUT_RD = 1, EVQ_SHUT_WR = 2, EVQ_SHUT_RDWR = 3 };

/**
 * Shuts down one or both directions of a connected socket. After
 * EVQ_SHUT_WR the peer reads end of stream once it has read the data sent
 * before, and its registration reports EVQ_READ_CLOSED; this side can
 * still read. After EVQ_SHUT_RD reads return 0 (end of stream). Errors:
 * EVQ_EINVAL (how is not one of these), EVQ_ENOTCONN, EVQ_EBADF.
 */
EVQ_API int evq_shutdown(evq_fd_t fd, int how);

/* ---- Datagrams ------------------------------------------------------- */
/* UDP and Unix datagram sockets. */

/**
 * Makes a datagram socket bound to addr: UDP on an IPv4 or IPv6 address
 * (port 0: any free port), or a Unix domain datagram socket on a path or
 * abstract name (a path stays after close, as with evq_listen). Flags:
 * EVQ_SOCK_REUSEPORT, EVQ_SOCK_DUALSTACK. On Windows the port is bound
 * exclusively, and a UDP socket does not report the ICMP "port
 * unreachable" answers to its earlier sends as receive errors (Windows
 * does by default; POSIX does only for a connected socket). Errors: as
 * evq_listen; EVQ_ENOTSUP for Unix datagram sockets on Windows, which has
 * none.
 */
EVQ_API int evq_dgram_bind(evq_fd_t *out, const evq_addr_t *addr,
                           uint32_t flags);

/**
 * Makes an unbound datagram socket of a family (EVQ_AF_INET, EVQ_AF_INET6
 * or EVQ_AF_UNIX), for sending; an IP one gets a free port at its first
 * send and can then receive the answers, a Unix one cannot be answered
 * (bind it for that). An IPv6 one is IPv6 only on every OS, as one bound
 * without EVQ_SOCK_DUALSTACK (Linux's own default is dual-stack, Windows'
 * and the BSDs' is not); for a dual-stack one, bind "[::]:0" with the
 * flag. Errors: EVQ_EINVAL (NULL, unknown family), EVQ_ENOTSUP,
 * EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_dgram_open(evq_fd_t *out, int family);

/**
 * Connects a datagram socket to addr: sends with to = NULL go there, and
 * only datagrams from there are received. May be called again to change
 * the peer. An ICMP "port unreachable" answer to an earlier send is
 * reported on every OS: a wait reports the socket readable (with
 * EVQ_ERROR on Linux; a BSD kernel's kqueue and Windows leave the error to
 * the receive), never closed, and the next evq_recvfrom returns EVQ_ECONNREFUSED, once (on
 * POSIX a send made first may return it instead); the socket goes on
 * working. An unconnected socket hears of no such answer. addr may be
 * any address evq_sendto's `to` may be: an IPv4 one on a dual-stack socket
 * is connected to as its IPv4-mapped form, which evq_peer_addr reports.
 * Errors: EVQ_EINVAL (NULL, empty address, not a datagram socket, addr of
 * a family the socket does not take), EVQ_EBADF, EVQ_ENOENT,
 * EVQ_ECONNREFUSED (a Unix path nobody is bound to), EVQ_EHOSTUNREACH.
 */
EVQ_API int evq_dgram_connect(evq_fd_t fd, const evq_addr_t *addr);

/**
 * Sends one datagram of len bytes (0 is a valid, empty datagram) to `to`,
 * or to the connected peer with to = NULL. Returns len (datagrams are sent
 * whole or not at all), or: EVQ_EAGAIN, EVQ_EMSGSIZE (longer than the
 * protocol allows: 65,507 bytes for UDP over IPv4), EVQ_ENOTCONN (to = NULL
 * on a socket with no peer; any send on a listening socket),
 * EVQ_ECONNREFUSED (see evq_dgram_connect), EVQ_EACCES (a broadcast
 * address without EVQ_SO_BROADCAST), EVQ_EHOSTUNREACH, EVQ_EINVAL (NULL
 * buffer with len > 0; `to` of a family the socket does not take, below;
 * `to` on a connected socket, except on Linux, which sends there: portable
 * code passes NULL). On a stream socket it is evq_write (to is ignored)
 * and may send less than len.
 *
 * The addresses a UDP socket takes, the same on every OS:
 * - an IPv4 socket: IPv4 ones;
 * - an IPv6-only socket (bound without EVQ_SOCK_DUALSTACK, or made by
 *   evq_dgram_open): IPv6 ones, but no IPv4-mapped one ("[::ffff:1.2.3.4]",
 *   an IPv4 host);
 * - a dual-stack socket bound to "[::]": both. An IPv4 `to` is sent to as
 *   its IPv4-mapped form, over IPv4: the receiver sees an IPv4 sender.
 *   Bound to an IPv6 address ("[::1]") it has no IPv4 source and takes
 *   IPv6 ones only; bound to a mapped one, IPv4 ones only.
 *
 * Any other `to` is EVQ_EINVAL, a mistake in the program, not the
 * network's EVQ_EHOSTUNREACH (which Linux says of an IPv4 host from an
 * IPv6-only socket): nothing is sent and the socket is as it was, except
 * that the failed send may have bound it to a free port, as any first
 * send does. Why a dual-stack socket takes plain IPv4 addresses, and not
 * only mapped ones: the flag says the socket speaks IPv4, and an IPv4
 * address from a resolver or a configuration should not need rewriting.
 * Linux sends to it; FreeBSD and Windows refuse it (their IPv6 sockets
 * take IPv6 socket addresses only), so there evq sends to the mapped
 * form. Boost.Asio, libuv and mio hand the address to the OS, so that the
 * same call sends on Linux and fails elsewhere; evq gives one answer.
 */
EVQ_API ptrdiff_t evq_sendto(evq_t *q, evq_fd_t fd, const void *buf,
                             size_t len, const evq_addr_t *to);

/**
 * Receives one datagram into buf and, if from is not NULL, its sender's
 * address into *from. Returns its length (0 is an empty datagram, not an
 * end of stream), or: EVQ_EAGAIN; EVQ_EMSGSIZE when the datagram was
 * longer than len: its first len bytes are in buf, *from is set, the rest
 * is lost (the same on every OS); EVQ_ECONNREFUSED (see
 * evq_dgram_connect); EVQ_ENOTCONN (a listening socket); EVQ_EINVAL (NULL
 * buffer with len > 0). On a dual-stack socket an IPv4 sender is its
 * IPv4-mapped address ("[::ffff:1.2.3.4]:80", EVQ_AF_INET6) on every OS,
 * to answer as it is. On a stream socket it is evq_read (0 is then the
 * end of the stream) and *from is made empty.
 */
EVQ_API ptrdiff_t evq_recvfrom(evq_t *q, evq_fd_t fd, void *buf, size_t len,
                               evq_addr_t *from);

/**
 * evq_dgram_t.flags: the datagram was longer than cap; len = cap bytes of
 * it are in buf, the rest is lost.
 */
#define EVQ_DGRAM_TRUNCATED 0x1u

/**
 * One datagram of evq_recv_many().
 */
typedef struct evq_dgram {
  void *buf;            /**< in: where to store the datagram */
  size_t cap;           /**< in: the size of buf */
  size_t len;           /**< out: the bytes stored */
  uint32_t flags;       /**< out: EVQ_DGRAM_TRUNCATED */
  uint32_t reserved32;  /**< set to zero: room to grow */
  uintptr_t reserved[2]; /**< set to zero */
  evq_addr_t addr;      /**< out: the sender */
} evq_dgram_t;

/**
 * Receives up to n datagrams in one call: recvmmsg() on Linux (one system
 * call for the batch), one receive after another elsewhere. Returns how
 * many were received, each in its msgs[i] with len, flags and addr set:
 * 1 to n, and fewer than n means none is left (edge mode is then re-armed
 * as after EVQ_EAGAIN: no need to call again until it is reported). Or
 * EVQ_EAGAIN when none is waiting, or an error from the first receive, as
 * evq_recvfrom's, except that a datagram longer than its cap is not an
 * error but flagged EVQ_DGRAM_TRUNCATED. An error after the first datagram
 * ends the batch; on Linux the next call reports it, elsewhere it is
 * dropped (such errors are ICMP reports on connected sockets, hints in any
 * case). Errors: EVQ_EINVAL (msgs NULL, n < 1, a NULL buf with cap > 0).
 */
EVQ_API int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n);

/* ---- Options and names ----------------------------------------------- */
/**
 * Socket options of evq_setsockopt() and evq_getsockopt(); values are ints,
 * flags 0 or 1.
 */
enum evq_sockopt {
  EVQ_SO_NODELAY = 1,   /**< TCP_NODELAY: send small writes at once; TCP only */
  EVQ_SO_KEEPALIVE = 2, /**< SO_KEEPALIVE with the OS's timings; TCP only */
  /**
   * Kernel buffer sizes in bytes; any socket. The OS adjusts what it is
   * given (Linux doubles it for its bookkeeping and reports the double;
   * every OS has a minimum and a maximum): read it back to know.
   */
  EVQ_SO_RCVBUF = 3,
  EVQ_SO_SNDBUF = 4,
  /**
   * SO_REUSEADDR (POSIX; on by evq_listen for TCP): matters only before
   * bind, so it is mostly for reading and for sockets made elsewhere.
   * EVQ_ENOTSUP on Windows, whose SO_REUSEADDR would let another socket
   * take a port in use (Windows rebinds a port in TIME_WAIT without it). IP
   * sockets only.
   */
  EVQ_SO_REUSEADDR = 5,
  /**
   * SO_REUSEPORT (see EVQ_SOCK_REUSEPORT): EVQ_ENOTSUP on Windows. IP
   * sockets only.
   */
  EVQ_SO_REUSEPORT = 6,
  /**
   * SO_BROADCAST: may send to a broadcast address; UDP only.
   */
  EVQ_SO_BROADCAST = 7
};

/**
 * Sets an option (EVQ_SO_*) to value. Errors: EVQ_EINVAL (unknown option,
 * a negative value), EVQ_ENOTSUP (the option does not apply to this kind
 * of socket, or the OS lacks it), EVQ_EBADF.
 */
EVQ_API int evq_setsockopt(evq_fd_t fd, int opt, int value);

/**
 * Reads an option into *value. Errors: as evq_setsockopt; EVQ_EINVAL for a
 * NULL value.
 */
EVQ_API int evq_getsockopt(evq_fd_t fd, int opt, int *value);

/** The pending error of a socket (0 if none), as an EVQ_E* code. */
EVQ_API int evq_socket_error(evq_fd_t fd);

/** The local port a socket is bound to, or a negative code. */
EVQ_API int evq_socket_port(evq_fd_t fd);

/**
 * The address a socket is bound to (for one not yet bound, the family's
 * wildcard address with port 0, or an unnamed Unix address). Errors:
 * EVQ_EINVAL (NULL), EVQ_EBADF.
 */
EVQ_API int evq_local_addr(evq_fd_t fd, evq_addr_t *a);

/**
 * The address of a socket's peer. Errors: EVQ_EINVAL (NULL), EVQ_ENOTCONN
 * (not connected, a listener, a datagram socket with no peer), EVQ_EBADF.
 */
EVQ_API int evq_peer_addr(evq_fd_t fd, evq_addr_t *a);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* EVQ_NET_H */
