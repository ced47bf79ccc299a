/*
 * evq_http: an HTTP/1.1 "hello" server with keep-alive and pipelining, on
 * one thread and one queue; `wrk http://127.0.0.1:PORT/` can load it.
 *
 *   evq_http [port] [--max-conns N] [--idle-timeout-ms N] [--until-eof]
 *            [--completion]
 *
 * Prints "listening on 127.0.0.1:PORT" when ready. GET and HEAD of any path
 * get 200 "Hello, World!". Everything else gets an error reply and the
 * connection is closed: 400 malformed, 405 other methods, 408 a request
 * unfinished when the idle timeout (10 s) expires, 413 any body, 431 a
 * request head over 8 KiB or 64 headers, 503 past --max-conns (1000),
 * 505 not HTTP/1.x. It stops on SIGINT or SIGTERM (Windows: Ctrl-C,
 * Ctrl-Break) or, with --until-eof, when standard input ends, printing
 * "answered N requests".
 *
 * What it shows: a parser that never trusts the peer (fixed buffers, every
 * limit checked), an idle timer per connection restarted on every read
 * (O(1) in evq), and a lingering close so the error reply is read before
 * the connection goes away. With --completion the same server runs on
 * completion operations instead of readiness (http_io.c): the kernel, or
 * evq where the kernel cannot, does the I/O.
 */
#include <evq_net.h>

#include "http_io.h"
#include "http_common.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#define SHUT_WR SD_SEND
#else
#include <sys/socket.h>
#endif


typedef struct conn {
  evq_fd_t fd;
  evq_timer_t timer;           /* idle timeout, then the linger limit */
  size_t in_len, out_len;
  int closing;                 /* last reply queued; close once it is sent */
  int lingering;               /* sent; write side shut, draining input */
  int dead;
  struct conn *prev, *next;
  char in[MAX_HEAD], out[OUT_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live, *dead;
  long nconns, max_conns, idle_ms;
  unsigned long long requests;
  int stop;
} server_t;

/* Not freed here: a later event of the same batch may still carry this
 * pointer as its token, so the conn_t is marked dead and freed after. */
static void conn_close(server_t *s, conn_t *c) {
  int rc = evq_deregister(s->q, c->fd);
  if (rc != 0) fail("deregister", rc);
  if (evq_timer_active(&c->timer)) evq_timer_stop(s->q, &c->timer);
  evq_close(c->fd);
  if (c->prev) c->prev->next = c->next;
  else s->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->dead = 1;
  c->next = s->dead;
  s->dead = c;
  s->nconns--;
}

static void set_timer(server_t *s, conn_t *c, int64_t ms) {
  int rc = evq_timer_start(s->q, &c->timer, ms * MS, 0, (uintptr_t)c);
  if (rc != 0) fail("timer", rc);
}

/* The last reply is queued: stop parsing and bound what is left. */
static void begin_close(server_t *s, conn_t *c) {
  c->closing = 1;
  set_timer(s, c, LINGER_MS);
}

/* Answers the complete requests in c->in while their replies fit in out.
 * Returns 1 if it stopped because out was full. */
static int answer(server_t *s, conn_t *c) {
  while (!c->closing) {
    if (c->out_len + MAX_REPLY > OUT_CAP) return 1;
    request_t rq;
    size_t used = parse(c->in, c->in_len, &rq);
    if (used == 0) return 0;
    if (rq.status != 200) rq.keep_alive = 0; /* every error closes */
    c->out_len += (size_t)format_reply(c->out + c->out_len, rq.status,
                                       rq.keep_alive, rq.http10, rq.head);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    s->requests++;
    if (!rq.keep_alive) begin_close(s, c);
  }
  return 0;
}

static void conn_io(server_t *s, conn_t *c) {
  char scrap[4096];
  for (;;) {
    int more = answer(s, c);
    while (c->out_len > 0) {
      ptrdiff_t w = evq_write(s->q, c->fd, c->out, c->out_len);
      if (w == EVQ_EAGAIN) return;          /* wait for EVQ_WRITABLE */
      if (w < 0) goto close;
      memmove(c->out, c->out + w, c->out_len - (size_t)w);
      c->out_len -= (size_t)w;
    }
    if (more) continue;
    if (c->closing && !c->lingering) {
      /* Closing now, with the client's unread bytes in our receive
       * buffer, would make the kernel send a reset that can destroy the
       * reply before the client reads it. So shut the write side (the
       * client sees end of stream after the reply) and read away the rest
       * until it closes too or LINGER_MS pass. evq has no shutdown call,
       * so this is the OS's own (winsock's is the same). */
      c->lingering = 1;
      if (shutdown(c->fd, SHUT_WR) != 0) goto close;
    }
    char *dst = c->lingering ? scrap : c->in + c->in_len;
    size_t room = c->lingering ? sizeof scrap : MAX_HEAD - c->in_len;
    ptrdiff_t r = evq_read(s->q, c->fd, dst, room);
    if (r == EVQ_EAGAIN) return;            /* wait for EVQ_READABLE */
    if (r <= 0) goto close;                 /* a truncated request too */
    if (c->lingering) continue;
    c->in_len += (size_t)r;
    set_timer(s, c, s->idle_ms);
  }
close:
  conn_close(s, c);
}

static void on_timer(server_t *s, conn_t *c) {
  /* Closing, idle between requests, or not reading its replies: close.
   * (The last also means out may lack room for one more reply.) */
  if (c->closing || c->in_len == 0 || c->out_len > 0) {
    conn_close(s, c);
    return;
  }
  /* Part of a request came, then nothing for idle_ms: say so, close. */
  c->out_len += (size_t)format_reply(c->out + c->out_len, 408, 0, 0, 0);
  begin_close(s, c);
  conn_io(s, c);
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
      rc = evq_timer_start(s->q, &s->accept_retry, 100 * MS, 0,
                           TOKEN_ACCEPT_RETRY);
      if (rc != 0) fail("timer", rc);
      return;
    }
    conn_t *c = s->nconns < s->max_conns ? malloc(sizeof *c) : NULL;
    if (!c) {                     /* full: best-effort 503 (fits a new
                                     socket's buffer), then close */
      char reply[MAX_REPLY];
      int n = format_reply(reply, 503, 0, 0, 0);
      (void)evq_write(NULL, fd, reply, (size_t)n);
      evq_close(fd);
      continue;
    }
    c->fd = fd;
    c->in_len = c->out_len = 0;
    c->closing = c->lingering = c->dead = 0;
    c->prev = NULL;
    c->next = s->live;
    evq_timer_init(&c->timer);
    rc = evq_register(s->q, fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      (uintptr_t)c);
    if (rc != 0) {
      evq_close(fd);
      free(c);
      continue;
    }
    if (s->live) s->live->prev = c;
    s->live = c;
    s->nconns++;
    set_timer(s, c, s->idle_ms);
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
  server_t s = {.max_conns = 1000, .idle_ms = 10000};
  long port = 0;
  int until_eof = 0, completion = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--until-eof") == 0) {
      until_eof = 1;
    } else if (strcmp(argv[i], "--completion") == 0) {
      completion = 1;
    } else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 1, 100000, &s.max_conns)) {
      i++;
    } else if (strcmp(argv[i], "--idle-timeout-ms") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 1, 86400000, &s.idle_ms)) {
      i++;
    } else if (!parse_long(argv[i], 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_http [port] [--max-conns N] "
                      "[--idle-timeout-ms N] [--until-eof] [--completion]\n");
      return 2;
    }
  }
  if (completion) return http_run_io(port, s.max_conns, s.idle_ms, until_eof);

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
      conn_t *c = (conn_t *)t;
      if (t == TOKEN_LISTENER || t == TOKEN_ACCEPT_RETRY) {
        accept_all(&s);
      } else if (t == TOKEN_STDIN) {
        char buf[256];
        ptrdiff_t r = evq_read(s.q, 0, buf, sizeof buf);
        if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) s.stop = 1;
      } else if (!c->dead) {
        if (ev[i].flags & EVQ_TIMER) on_timer(&s, c);
        else conn_io(&s, c);
      }
    }
    free_dead(&s);
  }

  while (s.live) conn_close(&s, s.live);
  free_dead(&s);
  if (until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  if ((rc = evq_deregister(s.q, s.listener)) != 0) fail("deregister", rc);
  evq_close(s.listener);
  if (evq_timer_active(&s.accept_retry)) evq_timer_stop(s.q, &s.accept_retry);
  evq_free(s.q);
  printf("answered %llu requests\n", s.requests);
  return 0;
}
