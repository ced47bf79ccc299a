/*
 * evq_echo: a TCP echo server on one thread and one queue.
 *
 *   evq_echo [port] [--max-conns N] [--until-eof]
 *
 * Listens on 127.0.0.1:port (0, the default, picks a free port), prints
 * "listening on 127.0.0.1:PORT" when ready and sends every byte back.
 * It stops cleanly on SIGINT or SIGTERM (Windows: Ctrl-C, Ctrl-Break) or,
 * with --until-eof, when its standard input ends (Ctrl-D; the tests close
 * a pipe), and then prints "echoed N bytes over M connections".
 *
 * What it shows: edge-triggered I/O through evq_read/evq_write; back-pressure
 * (a client that sends but never reads is simply not read from, so memory
 * per connection stays one fixed buffer); a cap on connections; pausing
 * accept on EMFILE; and connection tokens that are conn_t pointers, which
 * is safe because a closed conn_t is freed only after its batch of events.
 */
#include <evq_net.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE 16384         /* per connection; bounds memory */
#define TOKEN_LISTENER 1       /* small numbers: never a conn_t pointer */
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */

typedef struct conn {
  evq_fd_t fd;
  size_t len;                  /* bytes in buf not yet echoed back */
  int dead;                    /* closed during this batch of events */
  struct conn *prev, *next;    /* live list, or (dead) the free list */
  char buf[BUF_SIZE];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live, *dead;
  long nconns, max_conns;
  unsigned long long connections, bytes;
  int stop;
} server_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_echo: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* Not freed here: a later event of the same batch may still carry this
 * pointer as its token, so the conn_t is marked dead and freed after. */
static void conn_close(server_t *s, conn_t *c) {
  int rc = evq_deregister(s->q, c->fd);
  if (rc != 0) fail("deregister", rc);
  evq_close(c->fd);
  if (c->prev) c->prev->next = c->next;
  else s->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->dead = 1;
  c->next = s->dead;
  s->dead = c;
  s->nconns--;
}

/* Echo as far as the socket allows. In edge mode evq reports a direction
 * again only after an I/O call hit EVQ_EAGAIN, so this loops until one
 * does. A client that does not read fills buf; then reading stops too, the
 * kernel's buffers fill, and the client's own writes block. */
static void conn_io(server_t *s, conn_t *c) {
  for (;;) {
    if (c->len > 0) {
      ptrdiff_t w = evq_write(s->q, c->fd, c->buf, c->len);
      if (w == EVQ_EAGAIN) return;        /* wait for EVQ_WRITABLE */
      if (w < 0) break;                   /* EPIPE, ECONNRESET, ... */
      memmove(c->buf, c->buf + w, c->len - (size_t)w);
      c->len -= (size_t)w;
      s->bytes += (unsigned long long)w;
      continue;
    }
    ptrdiff_t r = evq_read(s->q, c->fd, c->buf, BUF_SIZE);
    if (r == EVQ_EAGAIN) return;          /* wait for EVQ_READABLE */
    if (r <= 0) break;                    /* end of stream or error */
    c->len = (size_t)r;
  }
  conn_close(s, c);
}

static void accept_all(server_t *s) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(s->q, s->listener, &fd);
    if (rc == EVQ_EAGAIN) return;
    if (rc == EVQ_ECONNRESET) continue; /* the client gave up: next */
    if (rc != 0) {
      /* ENOMEM, or EMFILE when evq could not keep its spare descriptor
       * (evq.h, "Accepting when out of descriptors"): the connection may
       * stay queued with no new edge to come for it, so retry on a timer
       * rather than in a busy loop. */
      rc = evq_timer_start(s->q, &s->accept_retry, 100 * 1000000, 0,
                           TOKEN_ACCEPT_RETRY);
      if (rc != 0) fail("timer", rc);
      return;
    }
    conn_t *c = s->nconns < s->max_conns ? malloc(sizeof *c) : NULL;
    if (!c) {                       /* full: refuse by closing at once */
      evq_close(fd);
      continue;
    }
    *c = (conn_t){.fd = fd, .next = s->live};
    rc = evq_register(s->q, fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      (uintptr_t)c);
    if (rc != 0) {
      fprintf(stderr, "evq_echo: register: %s\n", evq_strerror(rc));
      evq_close(fd);
      free(c);
      continue;
    }
    if (s->live) s->live->prev = c;
    s->live = c;
    s->nconns++;
    s->connections++;
  }
}

/* --until-eof: the server stops at the end of its standard input. */
static void read_stdin(server_t *s) {
  char buf[256];
  ptrdiff_t r = evq_read(s->q, 0, buf, sizeof buf);
  if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) s->stop = 1;
}

static void free_dead(server_t *s) {
  while (s->dead) {
    conn_t *c = s->dead;
    s->dead = c->next;
    free(c);
  }
}

static int parse_long(const char *arg, long lo, long hi, long *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
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
  server_t s = {.max_conns = 1000};
  long port = 0;
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--until-eof") == 0) {
      until_eof = 1;
    } else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 1, 100000, &s.max_conns)) {
      i++;
    } else if (!parse_long(argv[i], 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_echo [port] [--max-conns N] "
                      "[--until-eof]\n");
      return 2;
    }
  }

  int rc = evq_create(&s.q, NULL);
  if (rc != 0) fail("create", rc);
  if ((rc = stop_on_signals(s.q)) != 0) fail("signals", rc);
  evq_timer_init(&s.accept_retry);
  if ((rc = evq_tcp_listen(&s.listener, "127.0.0.1", (uint16_t)port, 511)))
    fail("listen", rc);
  rc = evq_register(s.q, s.listener, EVQ_READABLE, EVQ_EDGE, TOKEN_LISTENER);
  if (rc != 0) fail("register listener", rc);
  if (until_eof &&
      (rc = evq_register(s.q, 0, EVQ_READABLE, EVQ_LEVEL, TOKEN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  printf("listening on 127.0.0.1:%d\n", evq_socket_port(s.listener));
  fflush(stdout);

  evq_event_t ev[256];
  while (!s.stop) {
    int n = evq_wait(s.q, ev, 256, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) {
      uintptr_t t = ev[i].token;
      if (t == TOKEN_STOP) {            /* a signal: stop as at end of input */
        s.stop = 1;
        continue;
      }
      if (t == TOKEN_LISTENER || t == TOKEN_ACCEPT_RETRY) accept_all(&s);
      else if (t == TOKEN_STDIN) read_stdin(&s);
      else if (!((conn_t *)t)->dead) conn_io(&s, (conn_t *)t);
    }
    free_dead(&s);
  }

  /* Clean shutdown: evq does not close or free what it watches, so the
   * server closes every connection it still has, then the queue. */
  while (s.live) conn_close(&s, s.live);
  free_dead(&s);
  if (until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  if ((rc = evq_deregister(s.q, s.listener)) != 0) fail("deregister", rc);
  evq_close(s.listener);
  if (evq_timer_active(&s.accept_retry))
    evq_timer_stop(s.q, &s.accept_retry);
  evq_free(s.q);
  printf("echoed %llu bytes over %llu connections\n", s.bytes, s.connections);
  return 0;
}
