/* Windows socket primitives (src/net.h) on Winsock: making sockets,
 * binding, connecting, listening and accepting, asking what they are,
 * their options, and the error mapping this directory's socket files
 * share. Sending and receiving are in net_io.c. Every socket is
 * non-blocking and not inherited by child processes (the Windows form of
 * close-on-exec).
 *
 * Out of descriptors: Windows has no per-process descriptor limit for evq
 * to keep a spare against; accept() fails with WSAEMFILE or WSAENOBUFS
 * only when the system runs short, and the connection stays queued
 * (evq_net.h, evq_accept, says what to do). */
#include "net.h"

#include <string.h>

int evq__net_error(DWORD err) {
  switch (err) {
  case WSAEISCONN: /* an address given to a connected socket */
    return EVQ_EINVAL;
  default: return evq__from_win32(err);
  }
}

int evq__net_no_peer(evq_fd_t fd) {
  SOCKADDR_STORAGE ss;
  int len = sizeof ss;
  return getpeername((SOCKET)fd, (struct sockaddr *)&ss, &len) != 0 &&
         WSAGetLastError() == WSAENOTCONN;
}

/* Makes a socket non-blocking and non-inheritable. WSA_FLAG_NO_HANDLE_INHERIT
 * covers sockets made here; accept() results need the handle flag set. */
static int set_flags(SOCKET s) {
  u_long one = 1;
  if (ioctlsocket(s, FIONBIO, &one) != 0) return evq__net_last_error();
  SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  return 0;
}

/* Whether a UDP socket fails its next receive with WSAECONNRESET after an
 * ICMP "port unreachable" answered an earlier send: POSIX reports that only
 * on a connected socket, so it is off until evq__os_connect. */
static void udp_connreset(SOCKET s, BOOL on) {
  DWORD bytes;
  WSAIoctl(s, SIO_UDP_CONNRESET, &on, sizeof on, NULL, 0, &bytes, NULL, NULL);
}

static SOCKET new_socket(int af, int type) {
  SOCKET s = WSASocketW(af, type, 0, NULL, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* pre-7SP1 */
    s = WSASocketW(af, type, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
  return s;
}

int evq__os_socket(int af, int type, evq_fd_t *out) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  SOCKET s = new_socket(af, type);
  if (s == INVALID_SOCKET) {
    DWORD err = (DWORD)WSAGetLastError();
    /* No such family or type here: AF_UNIX before Windows 10 1803 (and
     * under wine), Unix datagrams always, IPv6 where it is off. */
    if (err == WSAEAFNOSUPPORT || err == WSAEPROTONOSUPPORT ||
        err == WSAESOCKTNOSUPPORT || err == WSAEPROTOTYPE)
      return EVQ_ENOTSUP;
    return evq__net_error(err);
  }
  rc = set_flags(s);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  if (type == SOCK_DGRAM && af != AF_UNIX) udp_connreset(s, FALSE);
  *out = (evq_fd_t)s;
  return 0;
}

int evq__os_close(evq_fd_t fd) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  return closesocket((SOCKET)fd) == 0 ? 0 : evq__net_last_error();
}

/* Small writes go out at once, as on a POSIX socketpair. */
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
               : set_flags(c);
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

/* A listener on loopback, blocking, for pair_up to accept from. */
static int loopback_listener(SOCKET *out) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  evq_fd_t fd;
  int rc = evq__os_socket(AF_INET, SOCK_STREAM, &fd);
  if (rc != 0) return rc;
  SOCKET l = (SOCKET)fd;
  u_long off = 0;
  ioctlsocket(l, FIONBIO, &off);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0) {
    rc = evq__net_last_error();
    closesocket(l);
    return rc;
  }
  *out = l;
  return 0;
}

/* Windows has no socketpair(): two ends of a loopback TCP connection. */
int evq__os_socketpair(evq_fd_t out[2]) {
  SOCKET l = INVALID_SOCKET, p = INVALID_SOCKET;
  evq_fd_t c;
  int rc = loopback_listener(&l);
  if (rc != 0) return rc;
  rc = evq__os_socket(AF_INET, SOCK_STREAM, &c);
  if (rc == 0) {
    rc = pair_up(l, (SOCKET)c, &p);
    if (rc == 0) rc = set_flags(p);
    if (rc != 0) {
      closesocket((SOCKET)c);
      if (p != INVALID_SOCKET) closesocket(p);
    }
  }
  closesocket(l);
  if (rc != 0) return rc;
  no_delay((SOCKET)c);
  no_delay(p);
  out[0] = c;
  out[1] = (evq_fd_t)p;
  return 0;
}

/* Windows lets a port in TIME_WAIT be bound again by default, which is
 * what SO_REUSEADDR buys on POSIX; its SO_REUSEADDR would instead let
 * another socket steal a port in active use. Exclusive use forbids that. */
int evq__os_bind(evq_fd_t fd, int af, int type, const evq_addr_t *addr) {
  SOCKET s = (SOCKET)fd;
  (void)type;
  if (af != AF_UNIX) {
    BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
               sizeof one);
  }
  if (bind(s, evq__sa(addr), (int)evq__caddr(addr)->len) != 0)
    return evq__net_last_error();
  return 0;
}

int evq__os_listen(evq_fd_t fd, int backlog) {
  return listen((SOCKET)fd, backlog) == 0 ? 0 : evq__net_last_error();
}

/* A connected UDP socket hears of ICMP "port unreachable", as on POSIX. */
int evq__os_connect(evq_fd_t fd, int type, const evq_addr_t *addr) {
  SOCKET s = (SOCKET)fd;
  if (connect(s, evq__sa(addr), (int)evq__caddr(addr)->len) != 0) {
    if (type == SOCK_STREAM && WSAGetLastError() == WSAEWOULDBLOCK) return 0;
    return evq__net_last_error();
  }
  if (type == SOCK_DGRAM) udp_connreset(s, TRUE);
  return 0;
}

int evq__os_accept(evq_fd_t listener, evq_fd_t *out) {
  SOCKADDR_STORAGE ss;
  int len = sizeof ss;
  ss.ss_family = AF_UNSPEC;
  SOCKET s = accept((SOCKET)listener, (struct sockaddr *)&ss, &len);
  if (s == INVALID_SOCKET) return evq__net_last_error();
  int rc = evq__os_accepted(s, ss.ss_family);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  *out = (evq_fd_t)s;
  return 0;
}

int evq__os_accepted(SOCKET s, int af) {
  int rc = set_flags(s);
  if (rc == 0 && (af == AF_INET || af == AF_INET6)) no_delay(s);
  return rc;
}

/* select() tells connecting from failed: a failed connect is in its
 * exception set, whoever read the error. */
int evq__os_connecting(evq_fd_t fd) {
  SOCKET s = (SOCKET)fd;
  fd_set w, e;
  FD_ZERO(&w);
  FD_ZERO(&e);
  FD_SET(s, &w);
  FD_SET(s, &e);
  struct timeval zero = {0, 0};
  if (select(0, NULL, &w, &e, &zero) < 0) return evq__net_last_error();
  if (FD_ISSET(s, &e)) {
    int err = 0, len = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
    return err != 0 ? evq__net_error((DWORD)err) : EVQ_ECONNREFUSED;
  }
  if (FD_ISSET(s, &w)) return 0; /* connected since getpeername */
  return EVQ_EAGAIN;
}

/* Windows shuts down an unconnected datagram socket without a word;
 * POSIX says ENOTCONN, and so does evq, before changing anything. */
int evq__os_shutdown(evq_fd_t fd, int how) {
  int h = how == EVQ_SHUT_RD ? SD_RECEIVE : how == EVQ_SHUT_WR ? SD_SEND
                                                               : SD_BOTH;
  int af, type, rc = evq__os_kind(fd, &af, &type);
  if (rc != 0) return rc;
  if (type == SOCK_DGRAM && evq__net_no_peer(fd)) return EVQ_ENOTCONN;
  return shutdown((SOCKET)fd, h) == 0 ? 0 : evq__net_last_error();
}

/* SO_PROTOCOL_INFOW also answers for a socket that is not bound. */
int evq__os_kind(evq_fd_t fd, int *af, int *type) {
  *af = AF_UNSPEC;
  *type = 0;
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  WSAPROTOCOL_INFOW info;
  int len = sizeof info;
  if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info,
                 &len) != 0)
    return evq__net_last_error();
  *af = info.iAddressFamily;
  *type = info.iSocketType;
  return 0;
}


/* Windows refuses getsockname() on a socket that is not bound; POSIX gives
 * the family's unspecified address, port 0, and so does evq. */
static int unbound_name(evq_fd_t fd, evq__addr_t *out) {
  int af, type, rc = evq__os_kind(fd, &af, &type);
  if (rc != 0) return rc;
  memset(out, 0, sizeof *out);
  out->ss.ss_family = (ADDRESS_FAMILY)af;
  out->len = af == AF_INET    ? sizeof(struct sockaddr_in)
             : af == AF_INET6 ? sizeof(struct sockaddr_in6)
                              : (uint32_t)offsetof(struct sockaddr_un, sun_path);
  return 0;
}

int evq__os_name(evq_fd_t fd, int peer, evq__addr_t *out) {
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  memset(out, 0, sizeof *out);
  int len = sizeof out->ss;
  SOCKET s = (SOCKET)fd;
  int r = peer ? getpeername(s, (struct sockaddr *)&out->ss, &len)
               : getsockname(s, (struct sockaddr *)&out->ss, &len);
  if (r != 0) {
    DWORD err = (DWORD)WSAGetLastError();
    return !peer && err == WSAEINVAL ? unbound_name(fd, out)
                                     : evq__net_error(err);
  }
  out->len = len > (int)sizeof out->ss ? (uint32_t)sizeof out->ss
                                       : (uint32_t)len;
  return 0;
}

/* Some options are answered in fewer bytes than an int (a BOOL as one
 * byte under wine): v starts at 0 so the rest reads as zero. */
int evq__os_getopt(evq_fd_t fd, int level, int name, int *value) {
  int v = 0, len = sizeof v;
  if (getsockopt((SOCKET)fd, level, name, (char *)&v, &len) != 0)
    return evq__net_last_error();
  *value = v;
  return 0;
}

int evq__os_setopt(evq_fd_t fd, int level, int name, int value) {
  if (setsockopt((SOCKET)fd, level, name, (const char *)&value,
                 sizeof value) != 0)
    return evq__net_last_error();
  return 0;
}

int evq__os_error(evq_fd_t fd) {
  int err = 0, rc = evq__os_getopt(fd, SOL_SOCKET, SO_ERROR, &err);
  return rc != 0 ? rc : evq__net_error((DWORD)err);
}
