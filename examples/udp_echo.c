/*
 * evq_udp_echo: a UDP echo server on one thread and one queue.
 *
 *   evq_udp_echo [port] [--until-eof]
 *
 * Binds 127.0.0.1:port (0, the default, picks a free port), prints
 * "listening on 127.0.0.1:PORT" when ready and sends every datagram back
 * to its sender. It stops on SIGINT or SIGTERM (Windows: Ctrl-C,
 * Ctrl-Break) or, with --until-eof, when its standard input ends (POSIX),
 * and then prints "echoed N datagrams (B bytes), dropped D".
 *
 * What it shows: datagrams received in batches with evq_recv_many (one
 * recvmmsg system call on Linux), each with its sender's address, and
 * answered with evq_sendto; edge mode, where a batch smaller than asked
 * means the socket is drained. Limits: a datagram longer than BUF_SIZE is
 * flagged EVQ_DGRAM_TRUNCATED and dropped, not echoed in part; a reply the
 * kernel cannot take at once (EVQ_EAGAIN: its send buffer is full) is
 * dropped too, as UDP may drop anything: the server never queues or
 * blocks for one client.
 */
#include <evq_net.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 32        /* datagrams per evq_recv_many call */
#define BUF_SIZE 2048   /* per datagram; larger ones are dropped */
#define TOKEN_SOCKET 1
#define TOKEN_STDIN 2
#define TOKEN_STOP 3            /* SIGINT or SIGTERM */

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_udp_echo: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

typedef struct stats {
  unsigned long long echoed, bytes, dropped;
} stats_t;

/* Receives until the socket is drained, echoing each datagram. */
static void serve(evq_t *q, evq_fd_t fd, evq_dgram_t *m, stats_t *st) {
  for (;;) {
    int n = evq_recv_many(q, fd, m, BATCH);
    if (n == EVQ_EAGAIN) return;          /* drained: wait for the next */
    if (n < 0) {                          /* an ICMP report and the like */
      fprintf(stderr, "evq_udp_echo: receive: %s\n", evq_strerror(n));
      return;
    }
    for (int i = 0; i < n; i++) {
      if (m[i].flags & EVQ_DGRAM_TRUNCATED) {
        st->dropped++;
        continue;
      }
      ptrdiff_t w = evq_sendto(q, fd, m[i].buf, m[i].len, &m[i].addr);
      if (w < 0) {                        /* EAGAIN (full), unreachable... */
        st->dropped++;
        continue;
      }
      st->echoed++;
      st->bytes += (unsigned long long)w;
    }
    if (n < BATCH) return; /* fewer than asked: drained, and re-armed */
  }
}

/* SIGINT and SIGTERM (Windows: Ctrl-C, Ctrl-Break) stop the server as the
 * end of --until-eof does: its connections closed, its summary printed. */
static int stop_on_signals(evq_t *q) {
#ifdef _WIN32
  int rc = evq_signal_add(q, SIGBREAK, TOKEN_STOP);
#else
  int rc = evq_signal_add(q, SIGTERM, TOKEN_STOP);
#endif
  return rc ? rc : evq_signal_add(q, SIGINT, TOKEN_STOP);
}

int main(int argc, char **argv) {
  long port = 0;
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    char *end;
    if (strcmp(argv[i], "--until-eof") == 0) {
      until_eof = 1;
      continue;
    }
    port = strtol(argv[i], &end, 10);
    if (end == argv[i] || *end || port < 0 || port > 65535) {
      fprintf(stderr, "usage: evq_udp_echo [port] [--until-eof]\n");
      return 2;
    }
  }

  evq_t *q;
  evq_addr_t addr;
  evq_fd_t fd;
  int rc = evq_create(&q, NULL);
  if (rc != 0) fail("create", rc);
  if ((rc = stop_on_signals(q)) != 0) fail("signals", rc);
  if ((rc = evq_addr_ip(&addr, "127.0.0.1", (int)port)) != 0) fail("addr", rc);
  if ((rc = evq_dgram_bind(&fd, &addr, 0)) != 0) fail("bind", rc);
  if ((rc = evq_register(q, fd, EVQ_READABLE, EVQ_EDGE, TOKEN_SOCKET)) != 0)
    fail("register", rc);
  if (until_eof &&
      (rc = evq_register(q, 0, EVQ_READABLE, EVQ_LEVEL, TOKEN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  if ((rc = evq_local_addr(fd, &addr)) != 0) fail("local address", rc);
  char text[EVQ_ADDR_STRLEN];
  evq_addr_format(&addr, text, sizeof text);
  printf("listening on %s\n", text);
  fflush(stdout);

  /* One buffer per datagram of a batch, allocated once. */
  static char bufs[BATCH][BUF_SIZE];
  static evq_dgram_t m[BATCH];
  for (int i = 0; i < BATCH; i++) {
    m[i].buf = bufs[i];
    m[i].cap = BUF_SIZE;
  }
  stats_t st = {0, 0, 0};
  int stop = 0;
  while (!stop) {
    evq_event_t ev[4];
    int n = evq_wait(q, ev, 4, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) {
      if (ev[i].token == TOKEN_SOCKET) {
        serve(q, fd, m, &st);
      } else if (ev[i].token == TOKEN_STOP) { /* a signal */
        stop = 1;
      } else {
        char buf[256];
        ptrdiff_t r = evq_read(q, 0, buf, sizeof buf);
        if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) stop = 1;
      }
    }
  }
  if (until_eof) evq_deregister(q, 0);
  evq_deregister(q, fd);
  evq_close(fd);
  evq_free(q);
  printf("echoed %llu datagrams (%llu bytes), dropped %llu\n", st.echoed,
         st.bytes, st.dropped);
  return 0;
}
