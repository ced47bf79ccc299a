#define _POSIX_C_SOURCE 200809L
/* Networking cases that need POSIX (listed in docs/windows.md). */
#include "nettest.h"

#include <string.h>

/* A connected UDP socket hears of an ICMP "port unreachable" answer to
 * its send: EVQ_ECONNREFUSED from the next receive, then it works on.
 * Windows reports it too (evq turns SIO_UDP_CONNRESET on for connected
 * sockets), but wine delivers no such ICMP errors to its sockets, so the
 * case is POSIX only. */
TEST(udp_connected_refused) {
  evq_t *q = tq_queue();
  evq_addr_t lo;
  evq_fd_t gone, cli, srv;
  CHECK_OK(evq_addr_ip(&lo, "127.0.0.1", 0));
  CHECK_OK(evq_dgram_bind(&gone, &lo, 0));
  evq_addr_t gone_addr = nt_local(gone);
  evq_close(gone); /* nothing listens on that port now */
  CHECK_OK(evq_dgram_open(&cli, EVQ_AF_INET));
  CHECK_OK(evq_dgram_connect(cli, &gone_addr));
  CHECK_OK(evq_register(q, cli, EVQ_READABLE, EVQ_EDGE, 1));
  CHECK_EQ(evq_sendto(q, cli, "anyone?", 7, NULL), 7);
  uint32_t flags = nt_wait_token(q, 1);
  CHECK(flags & EVQ_ERROR);
  CHECK(flags & EVQ_READABLE);
  char buf[16];
#ifdef TQ_LIBKQUEUE
  if (strcmp(tq_backend, "kqueue") == 0) {
    /* libkqueue reads the socket's pending error to fill its event, which
     * clears it (docs/kqueue.md); a BSD kernel leaves it for the caller.
     * The event's EVQ_ERROR is then all there is. */
    CHECK_EQ(evq_recvfrom(q, cli, buf, sizeof buf, NULL), EVQ_EAGAIN);
  } else
#endif
  {
    CHECK_EQ(evq_recvfrom(q, cli, buf, sizeof buf, NULL), EVQ_ECONNREFUSED);
    CHECK_EQ(evq_recvfrom(q, cli, buf, sizeof buf, NULL), EVQ_EAGAIN);
  }
  /* Reported once; connected to a live peer, it works. */
  CHECK_OK(evq_dgram_bind(&srv, &lo, 0));
  evq_addr_t srv_addr = nt_local(srv);
  CHECK_OK(evq_dgram_connect(cli, &srv_addr));
  CHECK_EQ(evq_sendto(q, cli, "ok", 2, NULL), 2);
  CHECK_OK(evq_register(q, srv, EVQ_READABLE, EVQ_EDGE, 2));
  CHECK_EQ(nt_recv(q, srv, 2, buf, sizeof buf, NULL), 2);
  /* Unconnected, nothing is reported: POSIX drops ICMP errors for
   * unconnected sockets, and evq makes Windows do the same. */
  evq_fd_t u;
  CHECK_OK(evq_dgram_open(&u, EVQ_AF_INET));
  CHECK_OK(evq_register(q, u, EVQ_READABLE, EVQ_EDGE, 3));
  CHECK_EQ(evq_sendto(q, u, "x", 1, &gone_addr), 1);
  CHECK_EQ(tq_count_events(q, 3, 200 * MS, NULL), 0);
  CHECK_EQ(evq_recvfrom(q, u, buf, sizeof buf, NULL), EVQ_EAGAIN);
  CHECK_OK(evq_deregister(q, cli));
  CHECK_OK(evq_deregister(q, srv));
  CHECK_OK(evq_deregister(q, u));
  evq_close(cli);
  evq_close(srv);
  evq_close(u);
  evq_free(q);
}
