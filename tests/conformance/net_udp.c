/* UDP through evq: echo over IPv4 and IPv6, connected sockets, batches
 * (recvmmsg and the loop every other OS takes), datagrams that do not fit.
 * Every socket is registered in edge mode, so each case also checks that
 * the datagram calls re-arm it when they hit would-block. */
#include "nettest.h"

#include <string.h>

enum { SRV = 1, CLI = 2, OTHER = 3 };

/* An unbound client's local address is the wildcard with the port its
 * first send took; the server sees it from 127.0.0.1 and that port. */
static int from_client(const evq_addr_t *from, const evq_addr_t *cli_local) {
  char want[EVQ_ADDR_STRLEN];
  snprintf(want, sizeof want, "127.0.0.1:%d", evq_addr_port(cli_local));
  return evq_addr_port(cli_local) > 0 && strcmp(nt_str(from), want) == 0;
}

static void udp_echo(const char *ip, int family) {
  evq_t *q = tq_queue();
  evq_addr_t a, from;
  evq_fd_t srv, cli;
  CHECK_OK(evq_addr_ip(&a, ip, 0));
  CHECK_OK(evq_dgram_bind(&srv, &a, 0));
  evq_addr_t srv_addr = nt_local(srv);
  CHECK_EQ(evq_addr_family(&srv_addr), family);
  CHECK(evq_addr_port(&srv_addr) > 0);
  CHECK_OK(evq_dgram_open(&cli, family));
  CHECK_OK(evq_register(q, srv, EVQ_READABLE, EVQ_EDGE, SRV));
  CHECK_OK(evq_register(q, cli, EVQ_READABLE, EVQ_EDGE, CLI));
  static char out[9000], in[9000];
  CHECK_EQ(evq_recvfrom(q, srv, in, sizeof in, &from), EVQ_EAGAIN);
  static const size_t sizes[] = {5, 0, 1, 512, 1472, 8192, 77};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t len = sizes[k];
    for (size_t i = 0; i < len; i++) out[i] = (char)(i * 7 + k);
    CHECK_EQ(evq_sendto(q, cli, out, len, &srv_addr), (ptrdiff_t)len);
    memset(&from, 0, sizeof from);
    CHECK_EQ(nt_recv(q, srv, SRV, in, sizeof in, &from), (ptrdiff_t)len);
    CHECK(memcmp(in, out, len) == 0);
    evq_addr_t cli_addr = nt_local(cli); /* bound at its first send */
    CHECK(evq_addr_port(&cli_addr) > 0);
    CHECK_EQ(evq_addr_port(&from), evq_addr_port(&cli_addr));
    CHECK_EQ(evq_addr_family(&from), family);
    /* The server answers whoever sent it. */
    CHECK_EQ(evq_sendto(q, srv, in, len, &from), (ptrdiff_t)len);
    memset(in, 0, len);
    CHECK_EQ(nt_recv(q, cli, CLI, in, sizeof in, &from), (ptrdiff_t)len);
    CHECK(memcmp(in, out, len) == 0);
    CHECK(nt_same(&from, &srv_addr));
  }
  CHECK_OK(evq_deregister(q, srv));
  CHECK_OK(evq_deregister(q, cli));
  evq_close(srv);
  evq_close(cli);
  evq_free(q);
}

TEST(udp_echo_v4) { udp_echo("127.0.0.1", EVQ_AF_INET); }

TEST(udp_echo_v6) { udp_echo("::1", EVQ_AF_INET6); }

/* A connected socket sends with to = NULL, has a peer address, and
 * receives only from its peer; connecting again changes the peer. */
TEST(udp_connected) {
  evq_t *q = tq_queue();
  evq_addr_t lo, from;
  evq_fd_t srv, other, cli;
  CHECK_OK(evq_addr_ip(&lo, "127.0.0.1", 0));
  CHECK_OK(evq_dgram_bind(&srv, &lo, 0));
  CHECK_OK(evq_dgram_bind(&other, &lo, 0));
  CHECK_OK(evq_dgram_open(&cli, EVQ_AF_INET));
  evq_addr_t srv_addr = nt_local(srv), other_addr = nt_local(other);
  CHECK_OK(evq_register(q, srv, EVQ_READABLE, EVQ_EDGE, SRV));
  CHECK_OK(evq_register(q, cli, EVQ_READABLE, EVQ_EDGE, CLI));
  CHECK_OK(evq_register(q, other, EVQ_READABLE, EVQ_EDGE, OTHER));
  evq_addr_t peer;
  CHECK_EQ(evq_peer_addr(cli, &peer), EVQ_ENOTCONN);
  CHECK_EQ(evq_sendto(q, cli, "x", 1, NULL), EVQ_ENOTCONN); /* no peer yet */

  CHECK_OK(evq_dgram_connect(cli, &srv_addr));
  CHECK_OK(evq_peer_addr(cli, &peer));
  CHECK(nt_same(&peer, &srv_addr));
  CHECK_EQ(evq_connect_result(q, cli), 0);
  CHECK_EQ(evq_sendto(q, cli, "hello", 5, NULL), 5);
  char buf[64];
  CHECK_EQ(nt_recv(q, srv, SRV, buf, sizeof buf, &from), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  evq_addr_t cli_addr = nt_local(cli);
  CHECK(nt_same(&from, &cli_addr));
  /* A stranger's datagram is dropped; the peer's arrives. "other" also
   * sends a marker to the server after its stray datagram, so the stray
   * one has been delivered (or dropped) by the time the marker is in. */
  CHECK_EQ(evq_sendto(q, other, "stray", 5, &cli_addr), 5);
  CHECK_EQ(evq_sendto(q, other, "marker", 6, &srv_addr), 6);
  CHECK_EQ(nt_recv(q, srv, SRV, buf, sizeof buf, &from), 6);
  CHECK(nt_same(&from, &other_addr));
  CHECK_EQ(evq_sendto(q, srv, "reply", 5, &cli_addr), 5);
  CHECK_EQ(nt_recv(q, cli, CLI, buf, sizeof buf, &from), 5);
  CHECK(memcmp(buf, "reply", 5) == 0);
  CHECK(nt_same(&from, &srv_addr));
  CHECK_EQ(evq_recvfrom(q, cli, buf, sizeof buf, NULL), EVQ_EAGAIN);
  /* Plain reads and writes work on a connected datagram socket. */
  CHECK_EQ(evq_write(q, cli, "w", 1), 1);
  CHECK_EQ(nt_recv(q, srv, SRV, buf, sizeof buf, NULL), 1);
  CHECK_EQ(buf[0], 'w');

  /* Connect again: the other socket is the peer now. */
  CHECK_OK(evq_dgram_connect(cli, &other_addr));
  CHECK_OK(evq_peer_addr(cli, &peer));
  CHECK(nt_same(&peer, &other_addr));
  CHECK_EQ(evq_sendto(q, cli, "second", 6, NULL), 6);
  CHECK_EQ(nt_recv(q, other, OTHER, buf, sizeof buf, &from), 6);
  CHECK(memcmp(buf, "second", 6) == 0);
  CHECK(nt_same(&from, &cli_addr));
  CHECK_EQ(evq_sendto(q, srv, "ignored", 7, &cli_addr), 7);
  CHECK_EQ(evq_sendto(q, other, "back", 4, &cli_addr), 4);
  CHECK_EQ(nt_recv(q, cli, CLI, buf, sizeof buf, NULL), 4);
  CHECK(memcmp(buf, "back", 4) == 0);
  CHECK_EQ(evq_recvfrom(q, cli, buf, sizeof buf, NULL), EVQ_EAGAIN);

  CHECK_OK(evq_deregister(q, srv));
  CHECK_OK(evq_deregister(q, cli));
  CHECK_OK(evq_deregister(q, other));
  evq_close(srv);
  evq_close(cli);
  evq_close(other);
  evq_free(q);
}

/* Several datagrams in one call, with their senders, lengths (an empty
 * one included) and truncation flags; a short batch re-arms edge mode. */
static void recv_many(void) {
  evq_t *q = tq_queue();
  evq_addr_t lo;
  evq_fd_t srv, cli;
  CHECK_OK(evq_addr_ip(&lo, "127.0.0.1", 0));
  CHECK_OK(evq_dgram_bind(&srv, &lo, 0));
  CHECK_OK(evq_dgram_open(&cli, EVQ_AF_INET));
  evq_addr_t srv_addr = nt_local(srv);
  CHECK_OK(evq_register(q, srv, EVQ_READABLE, EVQ_EDGE, SRV));
  enum { N = 8, CAP = 2000 };
  static char bufs[N][CAP], out[CAP];
  evq_dgram_t m[N];
  memset(m, 0, sizeof m);
  for (int i = 0; i < N; i++) {
    m[i].buf = bufs[i];
    m[i].cap = CAP;
  }
  CHECK_EQ(evq_recv_many(q, srv, m, N), EVQ_EAGAIN);

  static const size_t sizes[] = {3, 0, 100, 1000, 1472};
  enum { K = sizeof sizes / sizeof sizes[0] };
  for (int k = 0; k < K; k++) {
    for (size_t i = 0; i < sizes[k]; i++) out[i] = (char)(k * 31 + i);
    CHECK_EQ(evq_sendto(q, cli, out, sizes[k], &srv_addr), (ptrdiff_t)sizes[k]);
  }
  evq_addr_t cli_addr = nt_local(cli);
  CHECK(nt_wait_token(q, SRV) & EVQ_READABLE);
  tq_sleep_ms(50); /* loopback delivers at once; leave time all the same */
  CHECK_EQ(evq_recv_many(q, srv, m, N), K); /* all of them, one call */
  for (int k = 0; k < K; k++) {
    CHECK_EQ(m[k].len, sizes[k]);
    CHECK_EQ(m[k].flags, 0);
    for (size_t i = 0; i < sizes[k]; i++)
      CHECK_EQ(bufs[k][i], (char)(k * 31 + i));
    CHECK(from_client(&m[k].addr, &cli_addr));
  }
  CHECK_EQ(evq_recv_many(q, srv, m, N), EVQ_EAGAIN);

  /* n smaller than what waits: n, then the rest (fewer than n), and that
   * short batch re-armed edge mode: a new datagram is reported. */
  for (int k = 0; k < 3; k++)
    CHECK_EQ(evq_sendto(q, cli, "abc", 3, &srv_addr), 3);
  CHECK(nt_wait_token(q, SRV) & EVQ_READABLE);
  tq_sleep_ms(50);
  CHECK_EQ(evq_recv_many(q, srv, m, 2), 2);
  CHECK_EQ(evq_recv_many(q, srv, m, N), 1);
  CHECK_EQ(m[0].len, 3);
  CHECK_EQ(evq_sendto(q, cli, "new", 3, &srv_addr), 3);
  CHECK(nt_wait_token(q, SRV) & EVQ_READABLE);
  CHECK_EQ(evq_recv_many(q, srv, m, N), 1);
  CHECK(memcmp(bufs[0], "new", 3) == 0);

  /* A datagram longer than its buffer is flagged, not an error, and the
   * next one is whole. */
  memset(out, 'L', 100);
  CHECK_EQ(evq_sendto(q, cli, out, 100, &srv_addr), 100);
  CHECK_EQ(evq_sendto(q, cli, "short", 5, &srv_addr), 5);
  CHECK(nt_wait_token(q, SRV) & EVQ_READABLE);
  tq_sleep_ms(50);
  m[0].cap = 50;
  m[1].cap = 50;
  CHECK_EQ(evq_recv_many(q, srv, m, 2), 2);
  CHECK_EQ(m[0].len, 50);
  CHECK_EQ(m[0].flags, EVQ_DGRAM_TRUNCATED);
  CHECK_EQ(bufs[0][49], 'L');
  CHECK_EQ(m[1].len, 5);
  CHECK_EQ(m[1].flags, 0);
  CHECK(memcmp(bufs[1], "short", 5) == 0);

  CHECK_EQ(evq_recv_many(q, srv, NULL, 1), EVQ_EINVAL);
  CHECK_EQ(evq_recv_many(q, srv, m, 0), EVQ_EINVAL);
  CHECK_EQ(evq_recv_many(q, srv, m, -3), EVQ_EINVAL);
  m[1].buf = NULL;
  CHECK_EQ(evq_recv_many(q, srv, m, 2), EVQ_EINVAL);
  CHECK_OK(evq_deregister(q, srv));
  evq_close(srv);
  evq_close(cli);
  evq_free(q);
}

TEST(udp_recv_many) { recv_many(); }

/* The same through the loop that OSes without recvmmsg take; on Linux
 * EVQ_RECV_MANY_LOOP=1 selects it (on Windows it is the only way). */
TEST(udp_recv_many_loop) {
  CHECK(tq_setenv("EVQ_RECV_MANY_LOOP", "1") == 0);
  recv_many();
}

/* A datagram longer than the buffer: EVQ_EMSGSIZE, its first bytes and
 * its sender kept, the rest gone; the same on every OS. */
TEST(udp_truncated) {
  evq_t *q = tq_queue();
  evq_addr_t lo, from;
  evq_fd_t srv, cli;
  CHECK_OK(evq_addr_ip(&lo, "127.0.0.1", 0));
  CHECK_OK(evq_dgram_bind(&srv, &lo, 0));
  CHECK_OK(evq_dgram_open(&cli, EVQ_AF_INET));
  evq_addr_t srv_addr = nt_local(srv);
  CHECK_OK(evq_register(q, srv, EVQ_READABLE, EVQ_EDGE, SRV));
  CHECK_EQ(evq_sendto(q, cli, "0123456789", 10, &srv_addr), 10);
  CHECK_EQ(evq_sendto(q, cli, "ab", 2, &srv_addr), 2);
  char buf[16];
  memset(buf, 0, sizeof buf);
  memset(&from, 0, sizeof from);
  CHECK_EQ(nt_recv(q, srv, SRV, buf, 4, &from), EVQ_EMSGSIZE);
  CHECK(memcmp(buf, "0123", 4) == 0);
  CHECK_EQ(buf[4], 0); /* nothing written past len */
  evq_addr_t cli_addr = nt_local(cli);
  CHECK(from_client(&from, &cli_addr));
  CHECK_EQ(nt_recv(q, srv, SRV, buf, sizeof buf, &from), 2);
  CHECK(memcmp(buf, "ab", 2) == 0);
  /* A zero-length buffer takes a datagram all the same. */
  CHECK_EQ(evq_sendto(q, cli, "xyz", 3, &srv_addr), 3);
  CHECK_EQ(nt_recv(q, srv, SRV, buf, 0, NULL), EVQ_EMSGSIZE);
  CHECK_EQ(evq_recvfrom(q, srv, buf, sizeof buf, NULL), EVQ_EAGAIN);
  /* Too long to send at all: the same code. */
  static char big[70000];
  CHECK_EQ(evq_sendto(q, cli, big, sizeof big, &srv_addr), EVQ_EMSGSIZE);
  CHECK_OK(evq_deregister(q, srv));
  evq_close(srv);
  evq_close(cli);
  evq_free(q);
}
