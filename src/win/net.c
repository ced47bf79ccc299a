/* Windows sockets: what every socket call shares (creation, flags, error
 * meanings) and byte I/O: evq_read/evq_write and their vectored forms,
 * evq_socketpair, evq_socket_error, evq_socket_port, evq_close. Every
 * socket is non-blocking and not inherited by child processes (the Windows
 * form of close-on-exec); would-block results tell the queue so that
 * emulated edge mode re-arms. Addresses are in net_addr.c,
 * listen/connect/accept in net_stream.c, datagrams in net_dgram.c, options
 * in net_opt.c. */
#include "net.h"

#include <string.h>

int evq__net_error(DWORD err) {
  switch (err) {
  case WSAEISCONN: /* an address given to a connected socket */
    return EVQ_EINVAL;
  default: return evq__from_win32(err);
  }
}

/* Makes a socket non-blocking and non-inheritable. WSA_FLAG_NO_HANDLE_INHERIT
 * covers sockets made here; accept() results need the handle flag set. */
int evq__net_set_flags(SOCKET s) {
  u_long one = 1;
  if (ioctlsocket(s, FIONBIO, &one) != 0) return evq__net_last_error();
  SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  return 0;
}

int evq__net_socket(int af, int type, SOCKET *out) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  SOCKET s = WSASocketW(af, type, 0, NULL, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* pre-7SP1 */
    s = WSASocketW(af, type, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (s == INVALID_SOCKET) {
    DWORD err = (DWORD)WSAGetLastError();
    /* No such family or type here: AF_UNIX before Windows 10 1803 (and
     * under wine), Unix datagrams always, IPv6 where it is off. */
    if (err == WSAEAFNOSUPPORT || err == WSAEPROTONOSUPPORT ||
        err == WSAESOCKTNOSUPPORT || err == WSAEPROTOTYPE)
      return EVQ_ENOTSUP;
    return evq__net_error(err);
  }
  rc = evq__net_set_flags(s);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  *out = s;
  return 0;
}

int evq__net_kind(SOCKET s, int *af, int *type) {
  WSAPROTOCOL_INFOW info;
  int len = sizeof info;
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
    return evq__net_last_error();
  *af = info.iAddressFamily;
  *type = info.iSocketType;
  return 0;
}

int evq__net_listening(SOCKET s) {
  BOOL v = FALSE;
  int len = sizeof v;
  if (getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, (char *)&v, &len) != 0)
    return evq__net_last_error();
  return v != FALSE;
}

int evq__net_no_peer(evq_fd_t fd) {
  SOCKADDR_STORAGE ss;
  int len = sizeof ss;
  return getpeername((SOCKET)fd, (struct sockaddr *)&ss, &len) != 0 &&
         WSAGetLastError() == WSAENOTCONN;
}

ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  int r = recv((SOCKET)fd, buf, evq__clamp_len(len), 0);
  if (r > 0) return r;
  /* End of stream is the read side's last word, so it re-arms edge mode
   * like would-block: if the peer's shutdown has not been reported yet
   * (wine reports it only once the data before it has been read), the
   * next wait reports EVQ_READ_CLOSED; if it has, the backend watches the
   * read side no more and nothing repeats. */
  if (r == 0) {
    if (len > 0) evq__io_blocked(q, fd, EVQ_READABLE);
    return 0;
  }
  int err = WSAGetLastError();
  if (err == WSAESHUTDOWN) return 0; /* we shut down reading: POSIX gives EOF */
  int rc = evq__net_error((DWORD)err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

/* A failed send. A reset or abort is EPIPE, as POSIX says; a send on a
 * listener is ENOTCONN, as on POSIX (wine says WSAESHUTDOWN). */
static int write_error(evq_t *q, evq_fd_t fd, int err) {
  int rc = err == WSAECONNRESET || err == WSAECONNABORTED
               ? EVQ_EPIPE
               : evq__net_error((DWORD)err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  if (rc == EVQ_EPIPE && evq__net_listening((SOCKET)fd) == 1)
    return EVQ_ENOTCONN;
  return rc;
}

/* Windows has no SIGPIPE. Sending on a connection the peer has torn down
 * fails with a reset or abort; POSIX reports that as EPIPE. */
ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  int r = send((SOCKET)fd, buf, evq__clamp_len(len), 0);
  if (r >= 0) return r;
  return write_error(q, fd, WSAGetLastError());
}

/* Buffers per vectored call (evq.h: at most 1024, 64 on Windows), so that
 * the WSABUF copy stays on the stack. */
enum { IOV_MAX_WIN = 64 };

/* Copies iov into WSABUFs, stopping after a buffer longer than a ULONG
 * can say (it is cut, which the caller sees as a short count). */
static int to_wsabuf(const evq_iovec_t *iov, int n, WSABUF *out) {
  if (n < 0 || (!iov && n > 0)) return EVQ_EINVAL;
  int k = 0;
  for (int i = 0; i < n; i++)
    if (!iov[i].base && iov[i].len) return EVQ_EINVAL;
  for (; k < n && k < IOV_MAX_WIN; k++) {
    out[k].buf = iov[k].base;
    out[k].len = iov[k].len > ULONG_MAX ? ULONG_MAX : (ULONG)iov[k].len;
    if (iov[k].len > ULONG_MAX) return k + 1;
  }
  return k;
}

static size_t total_len(const WSABUF *b, int n) {
  size_t t = 0;
  for (int i = 0; i < n; i++) t += b[i].len;
  return t;
}

ptrdiff_t evq_readv(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  WSABUF b[IOV_MAX_WIN];
  int k = to_wsabuf(iov, n, b);
  if (k < 0) return k;
  DWORD got = 0, flags = 0;
  if (WSARecv((SOCKET)fd, b, (DWORD)k, &got, &flags, NULL, NULL) == 0) {
    if (got == 0 && total_len(b, k) > 0) evq__io_blocked(q, fd, EVQ_READABLE);
    return (ptrdiff_t)got; /* 0: end of stream, as evq_read */
  }
  int err = WSAGetLastError();
  if (err == WSAESHUTDOWN) return 0;
  int rc = evq__net_error((DWORD)err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

ptrdiff_t evq_writev(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov, int n) {
  WSABUF b[IOV_MAX_WIN];
  int k = to_wsabuf(iov, n, b);
  if (k < 0) return k;
  DWORD sent = 0;
  if (WSASend((SOCKET)fd, b, (DWORD)k, &sent, 0, NULL, NULL) == 0)
    return (ptrdiff_t)sent;
  return write_error(q, fd, WSAGetLastError());
}

static int loopback(struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 0;
}

/* Closes s keeping the error that made us give up on it. */
static int fail(SOCKET s, int rc) {
  closesocket(s);
  return rc;
}

static void no_delay(SOCKET s) {
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
}

/* Connects c to the listener l and accepts the other end. The accepted
 * socket must be c's peer: any local process could connect to l too, so
 * the addresses are compared. */
static int pair_up(SOCKET l, SOCKET c, SOCKET *peer) {
  struct sockaddr_in la, ca, pa;
  int len = sizeof la;
  if (getsockname(l, (struct sockaddr *)&la, &len) != 0)
    return evq__net_last_error();
  u_long off = 0;
  ioctlsocket(c, FIONBIO, &off); /* a blocking connect on loopback */
  int rc = connect(c, (struct sockaddr *)&la, sizeof la) != 0
               ? evq__net_last_error()
               : evq__net_set_flags(c);
  if (rc != 0) return rc;
  len = sizeof ca;
  if (getsockname(c, (struct sockaddr *)&ca, &len) != 0)
    return evq__net_last_error();
  for (;;) {
    SOCKET p = accept(l, NULL, NULL); /* l is blocking: waits if needed */
    if (p == INVALID_SOCKET) return evq__net_last_error();
    len = sizeof pa;
    if (getpeername(p, (struct sockaddr *)&pa, &len) == 0 &&
        pa.sin_port == ca.sin_port && pa.sin_addr.s_addr == ca.sin_addr.s_addr) {
      *peer = p;
      return 0;
    }
    closesocket(p); /* a stranger's connection */
  }
}

int evq_socketpair(evq_fd_t out[2]) {
  if (!out) return EVQ_EINVAL;
  struct sockaddr_in sa;
  loopback(&sa);
  SOCKET l, c, p = INVALID_SOCKET;
  int rc = evq__net_socket(AF_INET, SOCK_STREAM, &l);
  if (rc != 0) return rc;
  u_long off = 0;
  ioctlsocket(l, FIONBIO, &off);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0)
    return fail(l, evq__net_last_error());
  rc = evq__net_socket(AF_INET, SOCK_STREAM, &c);
  if (rc == 0) {
    rc = pair_up(l, c, &p);
    if (rc == 0) rc = evq__net_set_flags(p);
    if (rc != 0) {
      closesocket(c);
      if (p != INVALID_SOCKET) closesocket(p);
    }
  }
  closesocket(l);
  if (rc != 0) return rc;
  no_delay(c);
  no_delay(p);
  out[0] = (evq_fd_t)c;
  out[1] = (evq_fd_t)p;
  return 0;
}

int evq_socket_error(evq_fd_t fd) {
  int err = 0, len = sizeof err;
  if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
    return evq__net_last_error();
  return evq__net_error((DWORD)err);
}

int evq_socket_port(evq_fd_t fd) {
  evq_addr_t a;
  int rc = evq_local_addr(fd, &a);
  return rc != 0 ? rc : evq_addr_port(&a);
}

int evq_close(evq_fd_t fd) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  return closesocket((SOCKET)fd) == 0 ? 0 : evq__net_last_error();
}
