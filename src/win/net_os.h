/* Windows sockets as the portable socket layer sees them (src/net.h
 * includes this first): Winsock's headers, and the few facts in which
 * Windows differs from POSIX. Then what this directory's socket files
 * (net_os.c, net_io.c) share. */
#ifndef EVQ_WIN_NET_OS_H
#define EVQ_WIN_NET_OS_H

#include "win.h"

#include <afunix.h> /* struct sockaddr_un: Windows 10 1803 and later */
#include <limits.h>

/* The options behind EVQ_SO_REUSEADDR and EVQ_SO_REUSEPORT: none.
 * Windows' SO_REUSEADDR lets a socket take a port in use, which is not
 * POSIX's option (bound sockets get SO_EXCLUSIVEADDRUSE instead), and
 * there is no SO_REUSEPORT. */
#define EVQ__SO_REUSEADDR (-1)
#define EVQ__SO_REUSEPORT (-1)

/* Buffers per vectored call (evq.h: at most 1024, 64 on Windows), so that
 * the WSABUF copy stays on the stack. */
#define EVQ__IOV_MAX 64

/* End of stream is the read side's last word, so it re-arms edge mode
 * like would-block: if the peer's shutdown has not been reported yet (wine
 * reports it only once the data before it has been read), the next wait
 * reports EVQ_READ_CLOSED; if it has, the backend watches the read side no
 * more and nothing repeats. */
#define EVQ__EOF_REARMS 1

/* EVQ_EMFILE from evq__os_accept: the system ran short and the connection
 * stays queued; re-arming would report it again at once. */
#define EVQ__EMFILE_DRAINS 0

/* Windows has no abstract Unix names. */
#define EVQ__ABSTRACT_MAKE 0
#define EVQ__ABSTRACT_READ 0

/* Winsock's socket addresses have no length byte. */
static inline void evq__sa_set_len(struct sockaddr *sa, size_t len) {
  (void)sa, (void)len;
}

/* Winsock error -> EVQ_E*, with the meanings the networking calls give
 * (src/win/sys.c's table, and a few folded here: evq.h documents them). */
int evq__net_error(DWORD err);
static inline int evq__net_last_error(void) {
  return evq__net_error((DWORD)WSAGetLastError());
}

/* Copies iov (at most EVQ__IOV_MAX) into WSABUFs, stopping after a buffer
 * longer than a ULONG can say (it is cut, which the caller sees as a short
 * count): how many it wrote (net_io.c). */
DWORD evq__wsabufs(const evq_iovec_t *iov, int n, WSABUF *out);

/* A socket accept() or AcceptEx gave, made as the caller gets every
 * socket (net_os.c): non-blocking, non-inheritable, TCP_NODELAY for TCP
 * (af AF_INET or AF_INET6). 0, or the code it failed with (the socket is
 * the caller's to close). */
int evq__os_accepted(SOCKET s, int af);

/* A failed receive or send, as POSIX would say it (net_io.c). */
int evq__net_recv_error(DWORD err);
int evq__net_send_error(evq_fd_t fd, DWORD err);

/* Winsock counts in int; a longer request is cut, as a short count may
 * be. */
static inline int evq__clamp_len(size_t len) {
  return len > INT_MAX ? INT_MAX : (int)len;
}

/* evq__os_read and evq__os_write (net.h): inline, the hot path. */
static inline ptrdiff_t evq__os_read(evq_fd_t fd, void *buf, size_t len) {
  int r = recv((SOCKET)fd, buf, evq__clamp_len(len), 0);
  return r >= 0 ? r : evq__net_recv_error((DWORD)WSAGetLastError());
}

static inline ptrdiff_t evq__os_write(evq_fd_t fd, const void *buf,
                                      size_t len) {
  int r = send((SOCKET)fd, buf, evq__clamp_len(len), 0);
  return r >= 0 ? r : evq__net_send_error(fd, (DWORD)WSAGetLastError());
}

/* ---- For this directory's socket files ---------------------------------- */

/* Whether fd has no peer (a listener, an unconnected socket): for the
 * error paths where Windows' answers differ from POSIX's. */
int evq__net_no_peer(evq_fd_t fd);

#endif
