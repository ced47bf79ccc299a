/* Unix domain sockets: stream and datagram on paths, and Linux's abstract
 * names. Windows has Unix stream sockets from 10 1803 on and no Unix
 * datagrams at all; wine has neither: there the cases check that evq says
 * EVQ_ENOTSUP, as evq.h documents (docs/windows.md lists it). */
#include "nettest.h"

#include <string.h>

/* Listens on a, connects, accepts, moves data both ways, and checks the
 * addresses: the listener's and the client's peer are a's text, the
 * client end is unnamed. */
static void stream_on(evq_t *q, const evq_addr_t *a) {
  evq_fd_t l, c, s;
  CHECK_OK(evq_listen(&l, a, 8, 0));
  evq_addr_t la = nt_local(l), cp, sp;
  CHECK(nt_same(&la, a));
  CHECK_EQ(evq_addr_family(&la), EVQ_AF_UNIX);
  CHECK_EQ(evq_addr_port(&la), EVQ_EINVAL);
  CHECK_EQ(evq_socket_port(l), EVQ_EINVAL);
  nt_connect_pair(q, l, &c, &s);
  CHECK_OK(evq_peer_addr(c, &cp));
  CHECK(nt_same(&cp, a));
  CHECK_OK(evq_peer_addr(s, &sp)); /* the client never bound: unnamed */
  CHECK_EQ(evq_addr_family(&sp), EVQ_AF_UNIX);
  CHECK(strcmp(nt_str(&sp), "") == 0);
  nt_transfer(c, s, 50000, 5);
  nt_transfer(s, c, 50000, 6);
  /* TCP's options are not for Unix sockets; buffers are. */
  int v;
  CHECK_EQ(evq_getsockopt(c, EVQ_SO_NODELAY, &v), EVQ_ENOTSUP);
  CHECK_OK(evq_getsockopt(c, EVQ_SO_RCVBUF, &v));
  CHECK(v > 0);
  /* Shutdown works as on TCP. */
  CHECK_OK(evq_shutdown(c, EVQ_SHUT_WR));
  char buf[4];
  ptrdiff_t r;
  while ((r = evq_read(q, s, buf, sizeof buf)) == EVQ_EAGAIN) tq_sleep_ms(5);
  CHECK_EQ(r, 0);
  /* The address is taken while the listener lives. */
  evq_fd_t l2;
  CHECK_EQ(evq_listen(&l2, a, 1, 0), EVQ_EADDRINUSE);
  CHECK_EQ(evq_listen(&l2, a, 1, EVQ_SOCK_REUSEPORT), EVQ_EINVAL);
  CHECK_EQ(evq_listen(&l2, a, 1, EVQ_SOCK_DUALSTACK), EVQ_EINVAL);
  evq_close(c);
  evq_close(s);
  evq_close(l);
}

TEST(unix_stream) {
  evq_t *q = tq_queue();
  char path[128];
  nt_unix_path(path, sizeof path, "stream");
  evq_addr_t a;
  CHECK_OK(evq_addr_unix(&a, path));
  evq_fd_t l, c;
  int rc = evq_listen(&l, &a, 1, 0);
#ifdef _WIN32
  if (rc == EVQ_ENOTSUP) { /* no AF_UNIX here (before 10 1803; wine) */
    CHECK_EQ(evq_connect(&c, &a), EVQ_ENOTSUP);
    evq_free(q);
    return;
  }
#endif
  CHECK_OK(rc);
  evq_close(l);
  /* The path stays after close, and evq removes no file (evq.h). */
  CHECK(nt_file_exists(path));
  CHECK_EQ(evq_listen(&l, &a, 1, 0), EVQ_EADDRINUSE);
  /* Nobody listens on it: refused, at once or through the result. */
  rc = evq_connect(&c, &a);
  if (rc == 0) {
    CHECK_OK(evq_register(q, c, EVQ_WRITABLE, EVQ_ONESHOT, 3));
    nt_wait_token(q, 3);
    rc = evq_connect_result(q, c);
    CHECK_OK(evq_deregister(q, c));
    evq_close(c);
  }
  CHECK_EQ(rc, EVQ_ECONNREFUSED);
  nt_unlink(path);
  CHECK_EQ(evq_connect(&c, &a), EVQ_ENOENT); /* no such path */
  stream_on(q, &a);
  nt_unlink(path);
  /* A directory that does not exist. */
  char missing[160];
  snprintf(missing, sizeof missing, "%s.d/x", path);
  CHECK_OK(evq_addr_unix(&a, missing));
  CHECK_EQ(evq_listen(&l, &a, 1, 0), EVQ_ENOENT);
  evq_free(q);
}

/* Datagrams between two bound paths, with the sender's address. */
static void dgram_on(evq_t *q, const evq_addr_t *a1, const evq_addr_t *a2) {
  evq_fd_t s1, s2, anon;
  CHECK_OK(evq_dgram_bind(&s1, a1, 0));
  CHECK_OK(evq_dgram_bind(&s2, a2, 0));
  CHECK_OK(evq_register(q, s2, EVQ_READABLE, EVQ_EDGE, 2));
  CHECK_OK(evq_register(q, s1, EVQ_READABLE, EVQ_EDGE, 1));
  evq_addr_t from;
  char buf[64];
  CHECK_EQ(evq_sendto(q, s1, "hello", 5, a2), 5);
  CHECK_EQ(nt_recv(q, s2, 2, buf, sizeof buf, &from), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK(nt_same(&from, a1));
  CHECK_EQ(evq_sendto(q, s2, "back", 4, &from), 4);
  CHECK_EQ(nt_recv(q, s1, 1, buf, sizeof buf, &from), 4);
  CHECK(nt_same(&from, a2));
  /* Truncation as with UDP. */
  CHECK_EQ(evq_sendto(q, s1, "0123456789", 10, a2), 10);
  CHECK_EQ(nt_recv(q, s2, 2, buf, 3, &from), EVQ_EMSGSIZE);
  CHECK(memcmp(buf, "012", 3) == 0);
  CHECK(nt_same(&from, a1));
  /* Batches. */
  for (int i = 0; i < 3; i++) CHECK_EQ(evq_sendto(q, s1, "m", 1, a2), 1);
  char b[3][8];
  evq_dgram_t m[4] = {{b[0], 8, 0, 0, 0, {0, 0}, {{0}}},
                      {b[1], 8, 0, 0, 0, {0, 0}, {{0}}},
                      {b[2], 8, 0, 0, 0, {0, 0}, {{0}}},
                      {b[2], 8, 0, 0, 0, {0, 0}, {{0}}}};
  nt_wait_token(q, 2);
  CHECK_EQ(evq_recv_many(q, s2, m, 4), 3);
  CHECK(nt_same(&m[2].addr, a1));
  /* An unbound sender has no address to answer. */
  CHECK_OK(evq_dgram_open(&anon, EVQ_AF_UNIX));
  CHECK_EQ(evq_sendto(q, anon, "anon", 4, a2), 4);
  CHECK_EQ(nt_recv(q, s2, 2, buf, sizeof buf, &from), 4);
  CHECK(evq_addr_family(&from) == EVQ_EINVAL || strcmp(nt_str(&from), "") == 0);
  /* Connected: sends without an address, receives only from the peer. */
  CHECK_OK(evq_dgram_connect(anon, a2));
  CHECK_EQ(evq_sendto(q, anon, "c", 1, NULL), 1);
  CHECK_EQ(nt_recv(q, s2, 2, buf, sizeof buf, NULL), 1);
  CHECK_OK(evq_deregister(q, s1));
  CHECK_OK(evq_deregister(q, s2));
  evq_close(anon);
  evq_close(s1);
  evq_close(s2);
}

TEST(unix_dgram) {
  evq_t *q = tq_queue();
  char p1[128], p2[128];
  nt_unix_path(p1, sizeof p1, "d1");
  nt_unix_path(p2, sizeof p2, "d2");
  evq_addr_t a1, a2;
  CHECK_OK(evq_addr_unix(&a1, p1));
  CHECK_OK(evq_addr_unix(&a2, p2));
#ifdef _WIN32
  /* Windows' AF_UNIX has stream sockets only (wine has none). */
  evq_fd_t s;
  CHECK_EQ(evq_dgram_bind(&s, &a1, 0), EVQ_ENOTSUP);
  CHECK_EQ(evq_dgram_open(&s, EVQ_AF_UNIX), EVQ_ENOTSUP);
#else
  dgram_on(q, &a1, &a2);
  nt_unlink(p1);
  nt_unlink(p2);
#endif
  evq_free(q);
}

/* Linux's abstract namespace: the same calls, "@name", no file made.
 * Elsewhere the name is refused with EVQ_ENOTSUP (evq.h). */
TEST(unix_abstract) {
  evq_t *q = tq_queue();
  char name[64], name2[72];
  evq_addr_t a, a2;
#ifdef _WIN32
  snprintf(name, sizeof name, "@evq-%lu-abs", (unsigned long)GetCurrentProcessId());
#else
  snprintf(name, sizeof name, "@evq-%ld-abs", (long)getpid());
#endif
  snprintf(name2, sizeof name2, "%s2", name);
#ifdef __linux__
  CHECK_OK(evq_addr_unix(&a, name));
  CHECK_OK(evq_addr_parse(&a2, name2));
  CHECK(strcmp(nt_str(&a), name) == 0);
  stream_on(q, &a);
  CHECK(!nt_file_exists(name + 1) && !nt_file_exists(name));
  dgram_on(q, &a, &a2);
#else
  CHECK_EQ(evq_addr_unix(&a, name), EVQ_ENOTSUP);
  CHECK_EQ(evq_addr_parse(&a2, name2), EVQ_ENOTSUP);
  (void)dgram_on;
#endif
  evq_free(q);
}
