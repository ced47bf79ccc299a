/* Windows socket helpers: the small portable surface of evq.h on Winsock.
 * Every socket is non-blocking and not inherited by child processes (the
 * Windows form of close-on-exec); would-block results tell the queue so
 * that emulated edge mode re-arms. */
#include "win.h"

#include <limits.h>
#include <string.h>

static int last_error(void) { return evq__from_win32(WSAGetLastError()); }

/* Makes a socket non-blocking and non-inheritable. WSA_FLAG_NO_HANDLE_INHERIT
 * covers sockets made here; accept() results need the handle flag set. */
static int set_flags(SOCKET s) {
  u_long one = 1;
  if (ioctlsocket(s, FIONBIO, &one) != 0) return last_error();
  SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  return 0;
}

static int new_socket(SOCKET *out) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* pre-7SP1 */
    s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                   WSA_FLAG_OVERLAPPED);
  if (s == INVALID_SOCKET) return last_error();
  rc = set_flags(s);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* Small writes go out at once, as on a POSIX socketpair. */
static void no_delay(SOCKET s) {
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
}

static int make_addr(struct sockaddr_in *sa, const char *host,
                     uint16_t port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  return inet_pton(AF_INET, host ? host : "127.0.0.1", &sa->sin_addr) == 1
             ? 0 : EVQ_EINVAL;
}

/* Closes s keeping the error that made us give up on it. */
static int fail(SOCKET s, int rc) {
  closesocket(s);
  return rc;
}

int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                   int backlog) {
  struct sockaddr_in sa;
  if (!out || make_addr(&sa, host, port) != 0) return EVQ_EINVAL;
  SOCKET s;
  int rc = new_socket(&s);
  if (rc != 0) return rc;
  /* Windows lets a port in TIME_WAIT be reused by default, which is what
   * SO_REUSEADDR buys on POSIX; Windows' SO_REUSEADDR would instead let
   * another socket steal a port in active use. Exclusive use forbids that. */
  BOOL one = TRUE;
  setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
             sizeof one);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0)
    return fail(s, last_error());
  *out = (evq_fd_t)s;
  return 0;
}

int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port) {
  struct sockaddr_in sa;
  if (!out || make_addr(&sa, host, port) != 0) return EVQ_EINVAL;
  SOCKET s;
  int rc = new_socket(&s);
  if (rc != 0) return rc;
  no_delay(s);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0 &&
      WSAGetLastError() != WSAEWOULDBLOCK)
    return fail(s, last_error());
  *out = (evq_fd_t)s;
  return 0;
}

int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out) {
  if (!out) return EVQ_EINVAL;
  SOCKET s = accept((SOCKET)listener, NULL, NULL);
  if (s == INVALID_SOCKET) {
    int rc = last_error();
    if (rc == EVQ_EAGAIN) evq__io_blocked(q, listener, EVQ_READABLE);
    return rc;
  }
  int rc = set_flags(s);
  if (rc != 0) return fail(s, rc);
  no_delay(s);
  *out = (evq_fd_t)s;
  return 0;
}

/* Winsock counts in int; a longer request is cut, as a short count may be. */
static int clamp_len(size_t len) { return len > INT_MAX ? INT_MAX : (int)len; }

ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  int r = recv((SOCKET)fd, buf, clamp_len(len), 0);
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
  int rc = evq__from_win32(err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_READABLE);
  return rc;
}

/* Windows has no SIGPIPE. Sending on a connection the peer has torn down
 * fails with a reset or abort; POSIX reports that as EPIPE. */
ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf, size_t len) {
  if (!buf && len) return EVQ_EINVAL;
  int r = send((SOCKET)fd, buf, clamp_len(len), 0);
  if (r >= 0) return r;
  int err = WSAGetLastError();
  if (err == WSAECONNRESET || err == WSAECONNABORTED) return EVQ_EPIPE;
  int rc = evq__from_win32(err);
  if (rc == EVQ_EAGAIN) evq__io_blocked(q, fd, EVQ_WRITABLE);
  return rc;
}

/* Connects c to the listener l and accepts the other end. The accepted
 * socket must be c's peer: any local process could connect to l too, so
 * the addresses are compared. */
static int pair_up(SOCKET l, SOCKET c, SOCKET *peer) {
  struct sockaddr_in la, ca, pa;
  int len = sizeof la;
  if (getsockname(l, (struct sockaddr *)&la, &len) != 0) return last_error();
  u_long off = 0;
  ioctlsocket(c, FIONBIO, &off); /* a blocking connect on loopback */
  int rc = connect(c, (struct sockaddr *)&la, sizeof la) != 0 ? last_error()
                                                              : set_flags(c);
  if (rc != 0) return rc;
  len = sizeof ca;
  if (getsockname(c, (struct sockaddr *)&ca, &len) != 0) return last_error();
  for (;;) {
    SOCKET p = accept(l, NULL, NULL); /* l is blocking: waits if needed */
    if (p == INVALID_SOCKET) return last_error();
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
  make_addr(&sa, NULL, 0);
  SOCKET l, c, p = INVALID_SOCKET;
  int rc = new_socket(&l);
  if (rc != 0) return rc;
  u_long off = 0;
  ioctlsocket(l, FIONBIO, &off);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0)
    return fail(l, last_error());
  rc = new_socket(&c);
  if (rc == 0) {
    rc = pair_up(l, c, &p);
    if (rc == 0) rc = set_flags(p);
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
    return last_error();
  return evq__from_win32((DWORD)err);
}

int evq_socket_port(evq_fd_t fd) {
  struct sockaddr_in sa;
  int len = sizeof sa;
  if (getsockname((SOCKET)fd, (struct sockaddr *)&sa, &len) != 0)
    return last_error();
  return ntohs(sa.sin_port);
}

int evq_close(evq_fd_t fd) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  return closesocket((SOCKET)fd) == 0 ? 0 : last_error();
}
