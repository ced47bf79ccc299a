/* Windows sends and receives: the I/O primitives of src/net.h on Winsock,
 * with its answers made POSIX's: a reset or abort while sending is EPIPE
 * (Windows has no SIGPIPE to raise), a read after our own shutdown is end
 * of stream, and on a datagram socket WSAECONNRESET is an ICMP "port
 * unreachable", ECONNREFUSED. Windows has no Unix datagrams and no batch
 * receive. */
#include "net.h"

#include <string.h>

/* After our own shutdown of reading, Windows says WSAESHUTDOWN where
 * POSIX reads end of stream. */
int evq__net_recv_error(DWORD err) {
  return err == WSAESHUTDOWN ? EVQ__READ_SHUT : evq__net_error(err);
}

/* A reset or abort is EPIPE, as POSIX says; a send on a listener is
 * ENOTCONN, as on POSIX (wine says WSAESHUTDOWN). */
int evq__net_send_error(evq_fd_t fd, DWORD err) {
  int rc = err == WSAECONNRESET || err == WSAECONNABORTED
               ? EVQ_EPIPE
               : evq__net_error(err);
  if (rc == EVQ_EPIPE && evq__net_listening(fd) == 1) return EVQ_ENOTCONN;
  return rc;
}

ptrdiff_t evq__os_peek(evq_fd_t fd) {
  char c;
  int r = recv((SOCKET)fd, &c, 1, MSG_PEEK);
  return r >= 0 ? r : evq__net_recv_error((DWORD)WSAGetLastError());
}

DWORD evq__wsabufs(const evq_iovec_t *iov, int n, WSABUF *out) {
  int k = 0;
  for (; k < n; k++) {
    out[k].buf = iov[k].base;
    out[k].len = iov[k].len > ULONG_MAX ? ULONG_MAX : (ULONG)iov[k].len;
    if (iov[k].len > ULONG_MAX) return (DWORD)k + 1;
  }
  return (DWORD)k;
}

ptrdiff_t evq__os_readv(evq_fd_t fd, const evq_iovec_t *iov, int n) {
  WSABUF b[EVQ__IOV_MAX];
  DWORD k = evq__wsabufs(iov, n, b), got = 0, flags = 0;
  if (WSARecv((SOCKET)fd, b, k, &got, &flags, NULL, NULL) == 0)
    return (ptrdiff_t)got;
  return evq__net_recv_error((DWORD)WSAGetLastError());
}

ptrdiff_t evq__os_writev(evq_fd_t fd, const evq_iovec_t *iov, int n) {
  WSABUF b[EVQ__IOV_MAX];
  DWORD k = evq__wsabufs(iov, n, b), sent = 0;
  if (WSASend((SOCKET)fd, b, k, &sent, 0, NULL, NULL) == 0)
    return (ptrdiff_t)sent;
  return evq__net_send_error(fd, (DWORD)WSAGetLastError());
}

/* WSAECONNRESET on a datagram socket is an ICMP "port unreachable". */
static int dgram_error(SOCKET s, DWORD err, int stream_reset) {
  if (err == WSAECONNRESET || err == WSAECONNABORTED) {
    int af, type;
    if (evq__os_kind((evq_fd_t)s, &af, &type) == 0 && type == SOCK_DGRAM)
      return EVQ_ECONNREFUSED;
    return stream_reset;
  }
  return evq__net_error(err);
}

/* No peer to send to: a listener (WSAESHUTDOWN, WSAENOTCONN) or a datagram
 * socket never connected (WSAEINVAL under wine, which POSIX and Windows
 * call "not connected"). */
ptrdiff_t evq__os_sendto(evq_fd_t fd, const void *buf, size_t len,
                         const evq_addr_t *to) {
  SOCKET s = (SOCKET)fd;
  int r = sendto(s, buf, evq__clamp_len(len), 0, to ? evq__sa(to) : NULL,
                 to ? (int)evq__caddr(to)->len : 0);
  if (r >= 0) return r;
  int rc = dgram_error(s, (DWORD)WSAGetLastError(), EVQ_EPIPE);
  if (!to && (rc == EVQ_EPIPE || rc == EVQ_EINVAL) && evq__net_no_peer(fd))
    return EVQ_ENOTCONN;
  return rc;
}

/* WSAEMSGSIZE already keeps the first bytes and the sender, as POSIX's
 * MSG_TRUNC does. */
ptrdiff_t evq__os_recvfrom(evq_fd_t fd, void *buf, size_t len,
                           evq__addr_t *from) {
  SOCKET s = (SOCKET)fd;
  SOCKADDR_STORAGE ss;
  int alen = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int r = recvfrom(s, buf, evq__clamp_len(len), 0, (struct sockaddr *)&ss,
                   &alen);
  DWORD err = r < 0 ? (DWORD)WSAGetLastError() : 0;
  if (from && (r >= 0 || err == WSAEMSGSIZE)) {
    from->ss = ss;
    from->len = alen < 0                ? 0
                : alen > (int)sizeof ss ? (uint32_t)sizeof ss
                                        : (uint32_t)alen;
  }
  if (r >= 0) return r;
  if (err == WSAEMSGSIZE) return EVQ_EMSGSIZE;
  if (err == WSAESHUTDOWN) return EVQ__READ_SHUT;
  return dgram_error(s, err, EVQ_ECONNRESET);
}

int evq__os_recv_batch(evq_fd_t fd, evq_dgram_t *msgs, int n) {
  (void)fd, (void)msgs, (void)n;
  return EVQ__NO_BATCH;
}
