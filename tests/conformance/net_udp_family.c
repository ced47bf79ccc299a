/* UDP destinations of the other family (evq.h, evq_sendto): an IPv4
 * socket takes IPv4 addresses only; an IPv6-only one (bound without
 * EVQ_SOCK_DUALSTACK, or made by evq_dgram_open) IPv6 ones only, an
 * IPv4-mapped address being an IPv4 host; a dual-stack one both, sending
 * to an IPv4 address over IPv4. Anything else is EVQ_EINVAL, from
 * evq_sendto and evq_dgram_connect alike, with nothing sent and the socket
 * still working. And what a dual-stack socket sees of an IPv4 sender: its
 * IPv4-mapped address, EVQ_AF_INET6. The same on every OS and backend. */
#include "nettest.h"

#include <string.h>

enum { R4 = 1, R6 = 2, DUAL = 3 };

/* A UDP socket bound to ip, any free port. */
static evq_fd_t bound(const char *ip, uint32_t flags) {
  evq_addr_t a;
  evq_fd_t fd;
  CHECK_OK(evq_addr_ip(&a, ip, 0));
  CHECK_OK(evq_dgram_bind(&fd, &a, flags));
  return fd;
}

/* "ip:port" or "[ip]:port", as evq_addr_format writes it. */
typedef struct text {
  char s[EVQ_ADDR_STRLEN];
} text_t;

static text_t text_of(const char *ip, int port) {
  text_t t;
  snprintf(t.s, sizeof t.s, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
  return t;
}

/* The IPv4-mapped form of a 127.0.0.1 address. */
static evq_addr_t mapped_of(const evq_addr_t *v4) {
  evq_addr_t m;
  CHECK_OK(evq_addr_ip(&m, "::ffff:127.0.0.1", evq_addr_port(v4)));
  return m;
}

/* fd takes `to` neither to send to nor as its peer: EVQ_EINVAL, a mistake
 * in the program, not the network's EVQ_EHOSTUNREACH; it stays without a
 * peer. */
static void refuse(evq_t *q, evq_fd_t fd, const char *what,
                   const evq_addr_t *to) {
  ptrdiff_t s = evq_sendto(q, fd, "no", 2, to);
  int c = evq_dgram_connect(fd, to);
  if (s != EVQ_EINVAL || c != EVQ_EINVAL)
    fprintf(stderr, "%s to %s: evq_sendto %s, evq_dgram_connect %s, want "
            "EVQ_EINVAL\n", what, nt_str(to), s >= 0 ? "sent" :
            evq_errname((int)s), c == 0 ? "connected" : evq_errname(c));
  CHECK_EQ(s, EVQ_EINVAL);
  CHECK_EQ(c, EVQ_EINVAL);
  evq_addr_t peer;
  CHECK_EQ(evq_peer_addr(fd, &peer), EVQ_ENOTCONN);
}

/* rx (registered in edge mode with token, bound to rx_addr) got nothing
 * from a refused send: a marker sent now is the first datagram it gets. */
static void nothing_came(evq_t *q, evq_fd_t rx, uintptr_t token,
                         const evq_addr_t *rx_addr) {
  evq_fd_t m;
  char buf[16];
  CHECK_OK(evq_dgram_open(&m, evq_addr_family(rx_addr)));
  CHECK_EQ(evq_sendto(q, m, "marker", 6, rx_addr), 6);
  CHECK_EQ(nt_recv(q, rx, token, buf, sizeof buf, NULL), 6);
  CHECK(memcmp(buf, "marker", 6) == 0);
  CHECK_EQ(evq_recvfrom(q, rx, buf, sizeof buf, NULL), EVQ_EAGAIN);
  evq_close(m);
}

/* fd sends msg to rx_addr, and rx gets it from want (text). */
static void arrives(evq_t *q, evq_fd_t fd, const char *msg,
                    const evq_addr_t *rx_addr, evq_fd_t rx, uintptr_t token,
                    const char *want) {
  size_t len = strlen(msg);
  char buf[32];
  evq_addr_t from;
  CHECK_EQ(evq_sendto(q, fd, msg, len, rx_addr), (ptrdiff_t)len);
  CHECK_EQ(nt_recv(q, rx, token, buf, sizeof buf, &from), (ptrdiff_t)len);
  CHECK(memcmp(buf, msg, len) == 0);
  if (strcmp(nt_str(&from), want) != 0)
    fprintf(stderr, "'%s' came from %s, want %s\n", msg, nt_str(&from), want);
  CHECK(strcmp(nt_str(&from), want) == 0);
}

/* An IPv4 socket and IPv6-only ones, bound to ::1 and to [::] without the
 * flag: each refuses the other family's addresses, a mapped IPv4 one
 * included, and still sends to its own. (Linux said EVQ_EHOSTUNREACH to
 * an IPv4 host from an IPv6-only socket, and to a mapped one from
 * evq_dgram_connect.) */
TEST(udp_family_single_stack) {
  evq_t *q = tq_queue();
  evq_fd_t r4 = bound("127.0.0.1", 0), r6 = bound("::1", 0);
  evq_addr_t a4 = nt_local(r4), a6 = nt_local(r6), m4 = mapped_of(&a4);
  CHECK_OK(evq_register(q, r4, EVQ_READABLE, EVQ_EDGE, R4));
  CHECK_OK(evq_register(q, r6, EVQ_READABLE, EVQ_EDGE, R6));
  evq_fd_t s4 = bound("127.0.0.1", 0), s6 = bound("::1", 0),
           any6 = bound("::", 0);
  refuse(q, s4, "IPv4 socket", &a6);
  refuse(q, s4, "IPv4 socket", &m4);
  refuse(q, s6, "IPv6-only socket on ::1", &a4);
  refuse(q, s6, "IPv6-only socket on ::1", &m4);
  refuse(q, any6, "IPv6-only socket on [::]", &a4);
  refuse(q, any6, "IPv6-only socket on [::]", &m4);
  nothing_came(q, r4, R4, &a4);
  nothing_came(q, r6, R6, &a6);
  arrives(q, s4, "four", &a4, r4, R4,
          text_of("127.0.0.1", evq_socket_port(s4)).s);
  arrives(q, s6, "six", &a6, r6, R6, text_of("::1", evq_socket_port(s6)).s);
  arrives(q, any6, "any", &a6, r6, R6,
          text_of("::1", evq_socket_port(any6)).s);
  evq_fd_t all[] = {s4, s6, any6, r4, r6};
  CHECK_OK(evq_deregister(q, r4));
  CHECK_OK(evq_deregister(q, r6));
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) evq_close(all[i]);
  evq_free(q);
}

/* A dual-stack socket on [::] sends to an IPv4 address over IPv4 (Windows
 * itself refuses it; evq sends it mapped), to the mapped form the same,
 * and to IPv6; it sees an IPv4 sender as [::ffff:127.0.0.1]:port,
 * EVQ_AF_INET6, through evq_recvfrom and evq_recv_many, and answers it
 * there. */
TEST(udp_family_dualstack) {
  evq_t *q = tq_queue();
  evq_fd_t r4 = bound("127.0.0.1", 0), r6 = bound("::1", 0),
           d = bound("::", EVQ_SOCK_DUALSTACK);
  evq_addr_t a4 = nt_local(r4), a6 = nt_local(r6), m4 = mapped_of(&a4), dv4;
  int dport = evq_socket_port(d), port4 = evq_addr_port(&a4);
  CHECK_OK(evq_addr_ip(&dv4, "127.0.0.1", dport));
  CHECK_OK(evq_register(q, r4, EVQ_READABLE, EVQ_EDGE, R4));
  CHECK_OK(evq_register(q, r6, EVQ_READABLE, EVQ_EDGE, R6));
  CHECK_OK(evq_register(q, d, EVQ_READABLE, EVQ_EDGE, DUAL));
  text_t v4_of_d = text_of("127.0.0.1", dport);
  const char *d_as_v4 = v4_of_d.s;
  arrives(q, d, "plain", &a4, r4, R4, d_as_v4);
  arrives(q, d, "mapped", &m4, r4, R4, d_as_v4);
  arrives(q, d, "six", &a6, r6, R6, text_of("::1", dport).s);

  text_t mapped_of_r4 = text_of("::ffff:127.0.0.1", port4);
  const char *r4_mapped = mapped_of_r4.s;
  arrives(q, r4, "hello", &dv4, d, DUAL, r4_mapped);
  evq_addr_t from;
  char buf[16];
  CHECK_EQ(evq_sendto(q, r4, "again", 5, &dv4), 5);
  CHECK_EQ(nt_recv(q, d, DUAL, buf, sizeof buf, &from), 5);
  CHECK_EQ(evq_addr_family(&from), EVQ_AF_INET6);
  arrives(q, d, "back", &from, r4, R4, d_as_v4); /* the answer, as it came */
  evq_dgram_t m[2];
  memset(m, 0, sizeof m);
  m[0].buf = buf;
  m[0].cap = sizeof buf;
  CHECK_EQ(evq_sendto(q, r4, "batch", 5, &dv4), 5);
  CHECK(nt_wait_token(q, DUAL) & EVQ_READABLE);
  CHECK_EQ(evq_recv_many(q, d, m, 1), 1);
  CHECK_EQ(m[0].len, 5);
  CHECK_EQ(evq_addr_family(&m[0].addr), EVQ_AF_INET6);
  CHECK(strcmp(nt_str(&m[0].addr), r4_mapped) == 0);

  /* Connected to an IPv4 address: the peer is its mapped form, and both
   * ways work. */
  CHECK_OK(evq_dgram_connect(d, &a4));
  evq_addr_t peer;
  CHECK_OK(evq_peer_addr(d, &peer));
  CHECK(strcmp(nt_str(&peer), r4_mapped) == 0);
  CHECK_EQ(evq_sendto(q, d, "conn", 4, NULL), 4);
  CHECK_EQ(nt_recv(q, r4, R4, buf, sizeof buf, &from), 4);
  CHECK(strcmp(nt_str(&from), d_as_v4) == 0);
  arrives(q, r4, "reply", &dv4, d, DUAL, r4_mapped);

  /* Dual-stack, but bound to ::1: no IPv4 source, so no IPv4 host, as on
   * an IPv6-only socket. Bound to a mapped address: an IPv4 socket in all
   * but name, so no IPv6 host. */
  evq_fd_t d1 = bound("::1", EVQ_SOCK_DUALSTACK),
           dm = bound("::ffff:127.0.0.1", EVQ_SOCK_DUALSTACK);
  refuse(q, d1, "dual-stack socket on ::1", &a4);
  refuse(q, d1, "dual-stack socket on ::1", &m4);
  refuse(q, dm, "dual-stack socket on ::ffff:127.0.0.1", &a6);
  nothing_came(q, r4, R4, &a4);
  nothing_came(q, r6, R6, &a6);
  arrives(q, d1, "one", &a6, r6, R6, text_of("::1", evq_socket_port(d1)).s);
  arrives(q, dm, "m", &a4, r4, R4,
          text_of("127.0.0.1", evq_socket_port(dm)).s);
  arrives(q, dm, "mm", &m4, r4, R4,
          text_of("127.0.0.1", evq_socket_port(dm)).s);

  evq_fd_t all[] = {d, d1, dm, r4, r6};
  CHECK_OK(evq_deregister(q, r4));
  CHECK_OK(evq_deregister(q, r6));
  CHECK_OK(evq_deregister(q, d));
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) evq_close(all[i]);
  evq_free(q);
}

/* evq_dgram_open(EVQ_AF_INET6) is IPv6 only on every OS, as a socket
 * bound without EVQ_SOCK_DUALSTACK (Linux's default is dual-stack: it sent
 * to an IPv4 address over IPv4, where wine said EVQ_EHOSTUNREACH); an
 * unbound IPv4 socket takes no IPv6 address. */
TEST(udp_family_unbound) {
  evq_t *q = tq_queue();
  evq_fd_t r4 = bound("127.0.0.1", 0), r6 = bound("::1", 0), u6, u4;
  evq_addr_t a4 = nt_local(r4), a6 = nt_local(r6), m4 = mapped_of(&a4);
  CHECK_OK(evq_register(q, r4, EVQ_READABLE, EVQ_EDGE, R4));
  CHECK_OK(evq_register(q, r6, EVQ_READABLE, EVQ_EDGE, R6));
  CHECK_OK(evq_dgram_open(&u6, EVQ_AF_INET6));
  CHECK_OK(evq_dgram_open(&u4, EVQ_AF_INET));
  refuse(q, u6, "unbound IPv6 socket", &a4);
  refuse(q, u6, "unbound IPv6 socket", &m4);
  refuse(q, u4, "unbound IPv4 socket", &a6);
  refuse(q, u4, "unbound IPv4 socket", &m4);
  nothing_came(q, r4, R4, &a4);
  nothing_came(q, r6, R6, &a6);
  /* A refused send may have bound it to a free port, as any send does
   * (Linux binds before it looks at the address); it sends to IPv6 from
   * there, and still takes no IPv4 host. */
  evq_addr_t from;
  char buf[16];
  CHECK_EQ(evq_sendto(q, u6, "six", 3, &a6), 3);
  CHECK_EQ(nt_recv(q, r6, R6, buf, sizeof buf, &from), 3);
  CHECK(evq_socket_port(u6) > 0);
  CHECK(strcmp(nt_str(&from), text_of("::1", evq_socket_port(u6)).s) == 0);
  refuse(q, u6, "IPv6 socket after a send", &a4);
  nothing_came(q, r4, R4, &a4);
  CHECK_EQ(evq_sendto(q, u4, "four", 4, &a4), 4);
  CHECK_EQ(nt_recv(q, r4, R4, buf, sizeof buf, &from), 4);
  text_t u4_text = text_of("127.0.0.1", evq_socket_port(u4));
  CHECK(strcmp(nt_str(&from), u4_text.s) == 0);
  CHECK_OK(evq_deregister(q, r4));
  CHECK_OK(evq_deregister(q, r6));
  evq_close(u6);
  evq_close(u4);
  evq_close(r4);
  evq_close(r6);
  evq_free(q);
}
