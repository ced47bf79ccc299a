/* The networking calls given bad input or the wrong kind of socket: each
 * gets its documented code, and the sockets it was given keep working.
 * And every socket evq makes is non-blocking and close-on-exec (not
 * inheritable on Windows). */
#include "nettest.h"

#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#endif

TEST(net_bad_input) {
  evq_t *q = tq_queue();
  evq_addr_t lo, lo6, empty, other;
  memset(&empty, 0, sizeof empty);
  CHECK_OK(evq_addr_ip(&lo, "127.0.0.1", 0));
  CHECK_OK(evq_addr_ip(&lo6, "::1", 0));
  CHECK_OK(evq_addr_ip(&other, "192.0.2.1", 0)); /* TEST-NET: not ours */
  evq_fd_t l, c, s, u, u6, x = EVQ_INVALID_FD, dead;
  CHECK_OK(evq_listen(&l, &lo, 8, 0));
  nt_connect_pair(q, l, &c, &s);
  CHECK_OK(evq_dgram_bind(&u, &lo, 0));
  CHECK_OK(evq_dgram_open(&u6, EVQ_AF_INET6));
  CHECK_OK(evq_dgram_open(&dead, EVQ_AF_INET));
  evq_close(dead);
  evq_addr_t la = nt_local(l), ua = nt_local(u), a;
  static char big[70000];
  char buf[16];
  evq_dgram_t m[2];
  memset(m, 0, sizeof m);
  m[0].buf = buf;
  m[0].cap = sizeof buf;
  m[1].cap = 4; /* and m[1].buf NULL: refused */
  evq_iovec_t iov[1] = {{buf, sizeof buf}};
  int v;

  const struct {
    const char *what;
    long long got, want;
  } cases[] = {
    {"listen NULL out", evq_listen(NULL, &lo, 1, 0), EVQ_EINVAL},
    {"listen NULL addr", evq_listen(&x, NULL, 1, 0), EVQ_EINVAL},
    {"listen empty addr", evq_listen(&x, &empty, 1, 0), EVQ_EINVAL},
    {"listen unknown flag", evq_listen(&x, &lo, 1, 1u << 7), EVQ_EINVAL},
    {"listen dual-stack on IPv4", evq_listen(&x, &lo, 1, EVQ_SOCK_DUALSTACK), EVQ_EINVAL},
    {"listen on a port in use", evq_listen(&x, &la, 1, 0), EVQ_EADDRINUSE},
    {"listen not a local address", evq_listen(&x, &other, 1, 0), EVQ_EADDRNOTAVAIL},
    {"connect NULL out", evq_connect(NULL, &la), EVQ_EINVAL},
    {"connect NULL addr", evq_connect(&x, NULL), EVQ_EINVAL},
    {"connect empty addr", evq_connect(&x, &empty), EVQ_EINVAL},
    {"dgram_bind NULL out", evq_dgram_bind(NULL, &lo, 0), EVQ_EINVAL},
    {"dgram_bind empty addr", evq_dgram_bind(&x, &empty, 0), EVQ_EINVAL},
    {"dgram_bind unknown flag", evq_dgram_bind(&x, &lo, 1u << 9), EVQ_EINVAL},
    {"dgram_bind a port in use", evq_dgram_bind(&x, &ua, 0), EVQ_EADDRINUSE},
    {"dgram_open family 0", evq_dgram_open(&x, 0), EVQ_EINVAL},
    {"dgram_open family 99", evq_dgram_open(&x, 99), EVQ_EINVAL},
    {"dgram_open NULL out", evq_dgram_open(NULL, EVQ_AF_INET), EVQ_EINVAL},
    {"dgram_connect a TCP socket", evq_dgram_connect(c, &ua), EVQ_EINVAL},
    {"dgram_connect a listener", evq_dgram_connect(l, &ua), EVQ_EINVAL},
    {"dgram_connect other family", evq_dgram_connect(u6, &ua), EVQ_EINVAL},
    {"dgram_connect NULL addr", evq_dgram_connect(u, NULL), EVQ_EINVAL},
    {"dgram_connect closed", evq_dgram_connect(dead, &ua), EVQ_EBADF},
    {"sendto a listener", evq_sendto(q, l, "x", 1, NULL), EVQ_ENOTCONN},
    {"sendto no peer", evq_sendto(q, u, "x", 1, NULL), EVQ_ENOTCONN},
    {"sendto NULL buffer", evq_sendto(q, u, NULL, 3, &ua), EVQ_EINVAL},
    {"sendto empty addr", evq_sendto(q, u, "x", 1, &empty), EVQ_EINVAL},
    {"sendto other family", evq_sendto(q, u, "x", 1, &lo6), EVQ_EINVAL},
    {"sendto too long", evq_sendto(q, u, big, sizeof big, &ua), EVQ_EMSGSIZE},
    {"sendto closed", evq_sendto(q, dead, "x", 1, &ua), EVQ_EBADF},
    {"recvfrom a listener", evq_recvfrom(q, l, buf, sizeof buf, &a), EVQ_ENOTCONN},
    {"recvfrom NULL buffer", evq_recvfrom(q, u, NULL, 4, &a), EVQ_EINVAL},
    {"recvfrom closed", evq_recvfrom(q, dead, buf, sizeof buf, NULL), EVQ_EBADF},
    {"recv_many a listener", evq_recv_many(q, l, m, 1), EVQ_ENOTCONN},
    {"recv_many NULL", evq_recv_many(q, u, NULL, 2), EVQ_EINVAL},
    {"recv_many n 0", evq_recv_many(q, u, m, 0), EVQ_EINVAL},
    {"recv_many NULL buffer", evq_recv_many(q, u, m, 2), EVQ_EINVAL},
    {"accept on UDP", evq_accept(q, u, &x), EVQ_ENOTSUP},
    {"accept on a connection", evq_accept(q, c, &x), EVQ_EINVAL},
    {"accept closed", evq_accept(q, dead, &x), EVQ_EBADF},
    {"read a listener", evq_read(q, l, buf, sizeof buf), EVQ_ENOTCONN},
    {"readv a listener", evq_readv(q, l, iov, 1), EVQ_ENOTCONN},
    {"write a listener", evq_write(q, l, "x", 1), EVQ_ENOTCONN},
    {"connect_result a listener", evq_connect_result(q, l), EVQ_EINVAL},
    {"connect_result no peer", evq_connect_result(q, u), EVQ_ENOTCONN},
    {"connect_result closed", evq_connect_result(q, dead), EVQ_EBADF},
    {"peer_addr a listener", evq_peer_addr(l, &a), EVQ_ENOTCONN},
    {"peer_addr no peer", evq_peer_addr(u, &a), EVQ_ENOTCONN},
    {"local_addr closed", evq_local_addr(dead, &a), EVQ_EBADF},
    {"shutdown how 0", evq_shutdown(c, 0), EVQ_EINVAL},
    {"shutdown closed", evq_shutdown(dead, EVQ_SHUT_WR), EVQ_EBADF},
    {"setsockopt unknown", evq_setsockopt(c, 1000, 1), EVQ_EINVAL},
    {"getsockopt NULL", evq_getsockopt(c, EVQ_SO_NODELAY, NULL), EVQ_EINVAL},
    {"setsockopt UDP NODELAY", evq_setsockopt(u, EVQ_SO_NODELAY, 1), EVQ_ENOTSUP},
    {"getsockopt TCP BROADCAST", evq_getsockopt(c, EVQ_SO_BROADCAST, &v), EVQ_ENOTSUP},
    {"socket_port closed", evq_socket_port(dead), EVQ_EBADF},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].got != cases[i].want)
      fprintf(stderr, "case '%s': got %lld (%s), want %lld (%s)\n",
              cases[i].what, cases[i].got, evq_strerror((int)cases[i].got),
              cases[i].want, evq_strerror((int)cases[i].want));
    CHECK_EQ(cases[i].got, cases[i].want);
  }
  CHECK(x == EVQ_INVALID_FD); /* no failed call wrote its output */

  /* Nothing was lost: the listener still accepts, the connection still
   * carries data, the UDP socket still receives. */
  evq_fd_t c2, s2;
  nt_connect_pair(q, l, &c2, &s2);
  nt_transfer(c2, s2, 1000, 1);
  nt_transfer(c, s, 1000, 2);
  nt_transfer(s, c, 1000, 3);
  CHECK_OK(evq_register(q, u, EVQ_READABLE, EVQ_EDGE, 5));
  evq_fd_t u2;
  CHECK_OK(evq_dgram_open(&u2, EVQ_AF_INET));
  CHECK_EQ(evq_sendto(q, u2, "still", 5, &ua), 5);
  CHECK_EQ(nt_recv(q, u, 5, buf, sizeof buf, NULL), 5);
  CHECK(memcmp(buf, "still", 5) == 0);
  CHECK_OK(evq_deregister(q, u));
  evq_fd_t all[] = {l, c, s, u, u6, c2, s2, u2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) evq_close(all[i]);
  evq_free(q);
}

/* Close-on-exec on POSIX; on Windows, not inheritable by child
 * processes. */
static int fd_private(evq_fd_t fd) {
#ifdef _WIN32
  DWORD flags = 0;
  return GetHandleInformation((HANDLE)fd, &flags) &&
         !(flags & HANDLE_FLAG_INHERIT);
#else
  int flags = fcntl(fd, F_GETFD);
  return flags != -1 && (flags & FD_CLOEXEC);
#endif
}

/* Non-blocking: O_NONBLOCK on POSIX; on Windows, where the mode cannot be
 * read back, an idle socket's receive (or a listener's accept) must
 * return would-block (a blocking one would not return: the case would
 * hang and time out, so no clock is needed). An unbound datagram socket cannot receive:
 * it sends one datagram to the discard port first, which binds it. */
static int fd_nonblocking(evq_fd_t fd) {
#ifdef _WIN32
  char c;
  int r = recv((SOCKET)fd, &c, 1, MSG_PEEK), err = WSAGetLastError();
  if (r < 0 && err == WSAENOTCONN) { /* a listener */
    SOCKET s = accept((SOCKET)fd, NULL, NULL);
    err = WSAGetLastError();
    if (s != INVALID_SOCKET) closesocket(s);
    return s == INVALID_SOCKET && err == WSAEWOULDBLOCK;
  }
  if (r < 0 && err == WSAEINVAL) { /* an unbound datagram socket */
    evq_addr_t local, discard;
    CHECK_OK(evq_local_addr(fd, &local));
    CHECK_OK(evq_addr_ip(&discard, evq_addr_family(&local) == EVQ_AF_INET6
                                        ? "::1" : "127.0.0.1", 9));
    CHECK_EQ(evq_sendto(NULL, fd, "x", 1, &discard), 1);
    r = recv((SOCKET)fd, &c, 1, MSG_PEEK);
    err = WSAGetLastError();
  }
  return r < 0 && err == WSAEWOULDBLOCK;
#else
  int flags = fcntl(fd, F_GETFL);
  return flags != -1 && (flags & O_NONBLOCK);
#endif
}

TEST(net_sockets_flags) {
  evq_t *q = tq_queue();
  evq_fd_t fds[32];
  int n = 0;
  const char *ips[] = {"127.0.0.1", "::1"};
  for (int i = 0; i < 2; i++) {
    evq_addr_t a;
    CHECK_OK(evq_addr_ip(&a, ips[i], 0));
    evq_fd_t l, c, s, u;
    CHECK_OK(evq_listen(&l, &a, 4, 0));
    nt_connect_pair(q, l, &c, &s);
    CHECK_OK(evq_dgram_bind(&u, &a, 0));
    fds[n++] = l;
    fds[n++] = c;
    fds[n++] = s;
    fds[n++] = u;
    CHECK_OK(evq_dgram_open(&fds[n++], i == 0 ? EVQ_AF_INET : EVQ_AF_INET6));
    CHECK_OK(evq_tcp_listen(&fds[n++], NULL, 0, 1));
  }
  char path[128];
  nt_unix_path(path, sizeof path, "flags");
  evq_addr_t ua;
  CHECK_OK(evq_addr_unix(&ua, path));
  evq_fd_t ul;
  int rc = evq_listen(&ul, &ua, 4, 0);
#ifdef _WIN32
  if (rc != EVQ_ENOTSUP) /* no AF_UNIX here (wine): nothing to check */
#endif
  {
    CHECK_OK(rc);
    evq_fd_t c, s;
    nt_connect_pair(q, ul, &c, &s);
    fds[n++] = ul;
    fds[n++] = c;
    fds[n++] = s;
  }
#ifndef _WIN32
  CHECK_OK(evq_dgram_open(&fds[n++], EVQ_AF_UNIX));
#endif
  CHECK_OK(evq_socketpair(&fds[n]));
  n += 2;
  CHECK(n <= 32);
  for (int i = 0; i < n; i++) {
    if (!fd_private(fds[i]) || !fd_nonblocking(fds[i]))
      fprintf(stderr, "socket %d of %d: %s%s\n", i, n,
              fd_private(fds[i]) ? "" : "inheritable ",
              fd_nonblocking(fds[i]) ? "" : "blocking");
    CHECK(fd_private(fds[i]));
    CHECK(fd_nonblocking(fds[i]));
  }
  for (int i = 0; i < n; i++) evq_close(fds[i]);
  nt_unlink(path);
  evq_free(q);
}
