/*
 * evq_shutdown: an echo server that shuts down gracefully on SIGINT or
 * SIGTERM, with the signals arriving as events on its one queue.
 *
 *   evq_shutdown [port] [--max-conns N] [--drain-ms MS]
 *
 * Listens on 127.0.0.1:port (0, the default, picks a free port), prints
 * "listening on 127.0.0.1:PORT" when ready and echoes every byte back. The
 * exchange is the line: a connection is busy while it has received part of
 * a line, or has echo still to send; otherwise it is idle.
 *
 * On the first signal it prints "SIGTERM: shutting down" (or SIGINT), then:
 *  - stops accepting: the listener is deregistered and closed, so a new
 *    connection is refused;
 *  - closes every idle connection at once, and each busy one as soon as
 *    its line is complete and echoed (an exchange under way finishes; the
 *    client is not told anything, it sees the close), and prints
 *    "closed N idle, draining M busy";
 *  - when the last one is closed prints "drained" and exits 0;
 *  - if some are still busy after --drain-ms (default 5000), closes them,
 *    prints "cut N at the deadline" and exits 0 as well: the deadline is
 *    the documented bound, not a failure.
 * A second signal during the drain (Ctrl-C again, or a second SIGTERM)
 * closes everything at once, prints "cut N on a second signal" and exits 1,
 * so that whoever insisted can tell the drain was not completed. Two
 * signals that arrive before the server looks count as two.
 *
 * On Windows the signals are the console's: SIGINT (Ctrl-C) and SIGBREAK
 * (Ctrl-Break); there is no SIGTERM.
 *
 * What it shows: signals as events with tokens, with no handler code and no
 * self-pipe of the program's own; a deadline timer; and a shutdown that is
 * one more state of the loop rather than an exit() in a handler.
 */
#include <evq_net.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE 16384         /* per connection; bounds memory */
#define MS 1000000LL
/* Tokens: small numbers, never a conn_t pointer. */
#define TOKEN_LISTENER 1
#define TOKEN_ACCEPT_RETRY 2
#define TOKEN_DEADLINE 3
#define TOKEN_SIGNAL 4         /* + the signal's index in signals[] */

#ifdef _WIN32
static const int signals[] = {SIGINT, SIGBREAK};
static const char *const signal_names[] = {"SIGINT", "SIGBREAK"};
#else
static const int signals[] = {SIGINT, SIGTERM};
static const char *const signal_names[] = {"SIGINT", "SIGTERM"};
#endif
#define NSIGNALS (sizeof signals / sizeof signals[0])

typedef struct conn {
  evq_fd_t fd;
  size_t len;                  /* bytes in buf not yet echoed back */
  int mid_line;                /* the last byte read was not '\n' */
  int dead;                    /* closed during this batch of events */
  struct conn *prev, *next;    /* live list, or (dead) the free list */
  char buf[BUF_SIZE];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;           /* EVQ_INVALID_FD once closed */
  evq_timer_t accept_retry, deadline;
  conn_t *live, *dead;
  long nconns, max_conns, drain_ms;
  unsigned long signals_seen;
  int draining, stop, status;
} server_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_shutdown: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

static int busy(const conn_t *c) { return c->len > 0 || c->mid_line; }

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

/* Echo as far as the socket allows, as in echo.c: edge mode, so loop until
 * an I/O call returns EVQ_EAGAIN. During the drain a connection is closed
 * the moment it is idle: everything read has been echoed and it ended a
 * line. Everything the client sent before that is read first (the loop
 * only stops at EAGAIN), so the close is a clean one. */
static void conn_io(server_t *s, conn_t *c) {
  for (;;) {
    if (c->len > 0) {
      ptrdiff_t w = evq_write(s->q, c->fd, c->buf, c->len);
      if (w == EVQ_EAGAIN) return;        /* wait for EVQ_WRITABLE */
      if (w < 0) break;                   /* EPIPE, ECONNRESET, ... */
      memmove(c->buf, c->buf + w, c->len - (size_t)w);
      c->len -= (size_t)w;
      continue;
    }
    ptrdiff_t r = evq_read(s->q, c->fd, c->buf, BUF_SIZE);
    if (r == EVQ_EAGAIN) {
      if (s->draining && !busy(c)) break; /* exchange over: close */
      return;                             /* wait for EVQ_READABLE */
    }
    if (r <= 0) break;                    /* end of stream or error */
    c->len = (size_t)r;
    c->mid_line = c->buf[r - 1] != '\n';
  }
  conn_close(s, c);
}

static void accept_all(server_t *s) {
  while (s->listener != EVQ_INVALID_FD) {
    evq_fd_t fd;
    int rc = evq_accept(s->q, s->listener, &fd);
    if (rc == EVQ_EAGAIN) return;
    if (rc == EVQ_ECONNRESET) continue; /* the client gave up: next */
    if (rc != 0) {
      /* EMFILE, ENOMEM...: retry on a timer, not in a busy loop. */
      rc = evq_timer_start(s->q, &s->accept_retry, 100 * MS, 0,
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
      fprintf(stderr, "evq_shutdown: register: %s\n", evq_strerror(rc));
      evq_close(fd);
      free(c);
      continue;
    }
    if (s->live) s->live->prev = c;
    s->live = c;
    s->nconns++;
  }
}

/* The first signal: stop accepting, close the idle, start the deadline. */
static void start_drain(server_t *s, const char *name) {
  printf("%s: shutting down\n", name);
  s->draining = 1;
  int rc = evq_deregister(s->q, s->listener);
  if (rc != 0) fail("deregister listener", rc);
  evq_close(s->listener);
  s->listener = EVQ_INVALID_FD;  /* a listener event later in this batch
                                    finds it gone */
  if (evq_timer_active(&s->accept_retry))
    evq_timer_stop(s->q, &s->accept_retry);

  long idle = 0;
  for (conn_t *c = s->live, *next; c; c = next) {
    next = c->next;
    if (!busy(c)) {
      conn_close(s, c);
      idle++;
    }
  }
  printf("closed %ld idle, draining %ld busy\n", idle, s->nconns);
  if (s->nconns > 0) {
    rc = evq_timer_start(s->q, &s->deadline, s->drain_ms * MS, 0,
                         TOKEN_DEADLINE);
    if (rc != 0) fail("timer", rc);
  }
  fflush(stdout);
}

static void cut_all(server_t *s, const char *why, int status) {
  long n = s->nconns;
  while (s->live) conn_close(s, s->live);
  printf("cut %ld %s\n", n, why);
  s->status = status;
  s->stop = 1;
}

/* One EVQ_SIGNAL event: data counts the deliveries it stands for. */
static void on_signal(server_t *s, size_t which, uint32_t count) {
  unsigned long before = s->signals_seen;
  s->signals_seen += count;
  if (before == 0) start_drain(s, signal_names[which]);
  if (s->signals_seen >= 2 && !s->stop) {
    printf("%s again\n", signal_names[which]);
    cut_all(s, "on a second signal", 1);
  }
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

int main(int argc, char **argv) {
  server_t s = {.max_conns = 1000, .drain_ms = 5000};
  long port = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc &&
        parse_long(argv[i + 1], 1, 100000, &s.max_conns)) {
      i++;
    } else if (strcmp(argv[i], "--drain-ms") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 0, 86400000, &s.drain_ms)) {
      i++;
    } else if (!parse_long(argv[i], 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_shutdown [port] [--max-conns N] "
                      "[--drain-ms MS]\n");
      return 2;
    }
  }

  int rc = evq_create(&s.q, NULL);
  if (rc != 0) fail("create", rc);
  evq_timer_init(&s.accept_retry);
  evq_timer_init(&s.deadline);
  /* Subscribed before listening: once a client (or a test) can see the
   * port, a signal is an event, never the default action. */
  for (size_t i = 0; i < NSIGNALS; i++)
    if ((rc = evq_signal_add(s.q, signals[i], TOKEN_SIGNAL + i)) != 0)
      fail(signal_names[i], rc);
  if ((rc = evq_tcp_listen(&s.listener, "127.0.0.1", (uint16_t)port, 511)))
    fail("listen", rc);
  rc = evq_register(s.q, s.listener, EVQ_READABLE, EVQ_EDGE, TOKEN_LISTENER);
  if (rc != 0) fail("register listener", rc);
  printf("listening on 127.0.0.1:%d\n", evq_socket_port(s.listener));
  fflush(stdout);

  evq_event_t ev[256];
  while (!s.stop) {
    int n = evq_wait(s.q, ev, 256, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n && !s.stop; i++) {
      uintptr_t t = ev[i].token;
      if (ev[i].flags & EVQ_SIGNAL) {
        on_signal(&s, t - TOKEN_SIGNAL, ev[i].data);
      } else if (t == TOKEN_LISTENER || t == TOKEN_ACCEPT_RETRY) {
        accept_all(&s);
      } else if (t == TOKEN_DEADLINE) {
        cut_all(&s, "at the deadline", 0);
      } else if (!((conn_t *)t)->dead) {
        conn_io(&s, (conn_t *)t);
      }
    }
    free_dead(&s);
    if (s.draining && !s.stop && s.nconns == 0) {
      printf("drained\n");
      s.stop = 1;
    }
  }

  /* Whatever way it ends, everything is closed and freed, and the signals'
   * dispositions are given back (evq_free would also do that). */
  free_dead(&s);
  if (evq_timer_active(&s.deadline)) evq_timer_stop(s.q, &s.deadline);
  for (size_t i = 0; i < NSIGNALS; i++)
    if ((rc = evq_signal_remove(s.q, signals[i])) != 0)
      fail("signal remove", rc);
  evq_free(s.q);
  fflush(stdout);
  return s.status;
}
