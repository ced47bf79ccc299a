/*
 * evq_chat: a line-based chat server; every line a client sends goes to
 * every other client. One thread, one queue. Try it with two terminals
 * running `nc 127.0.0.1 PORT` (or telnet).
 *
 *   evq_chat [port] [--max-conns N] [--until-eof]
 *
 * Prints "listening on 127.0.0.1:PORT" when ready. A client is greeted
 * with "* you are userN"; the others see "* userN joined", then
 * "userN: <line>" for each of its lines, and "* userN left". Lines are at
 * most 1023 bytes: a longer one is dropped and its sender told "* line too
 * long (max 1023 bytes), dropped". Control characters become '?', so no
 * one can send escape sequences to the others' terminals. A client that
 * reads too slowly to keep up is disconnected once 32 KiB wait for it.
 * Past --max-conns (default 1000) a client gets "* server full" and is
 * closed. It stops on SIGINT or SIGTERM (Windows: Ctrl-C, Ctrl-Break) or,
 * with --until-eof, when standard input ends, printing "relayed N lines".
 *
 * What it shows: broadcast with a bounded queue per receiver, and doing
 * the closing (which itself broadcasts) after each batch of events, when
 * no event in hand can refer to a freed connection.
 */
#include <evq_net.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 1024          /* including the '\n' */
#define OUT_CAP 32768          /* queued for one receiver, at most */
#define TOKEN_LISTENER 1
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */

typedef struct conn {
  evq_fd_t fd;
  char name[24];
  int gone;                    /* to be closed after this batch */
  int discarding;              /* inside a line that was too long */
  int writable;                /* the last write did not hit EAGAIN */
  size_t in_len, out_len;
  struct conn *prev, *next;
  char in[MAX_LINE], out[OUT_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live;
  long nconns, max_conns;
  unsigned long long accepted, lines;
  int stop;
} server_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_chat: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* Writes what is queued for c until done or the socket is full. */
static void flush(server_t *s, conn_t *c) {
  while (!c->gone && c->writable && c->out_len > 0) {
    ptrdiff_t w = evq_write(s->q, c->fd, c->out, c->out_len);
    if (w == EVQ_EAGAIN) c->writable = 0; /* until EVQ_WRITABLE */
    else if (w < 0) c->gone = 1;
    else {
      memmove(c->out, c->out + w, c->out_len - (size_t)w);
      c->out_len -= (size_t)w;
    }
  }
}

/* Queues msg for c. A receiver OUT_CAP behind even after its socket took
 * what it could is too slow: dropped rather than buffered for without
 * limit. */
static void queue(server_t *s, conn_t *c, const char *msg, size_t len) {
  if (c->out_len + len > OUT_CAP) flush(s, c);
  if (c->gone) return;
  if (c->out_len + len > OUT_CAP) {
    c->gone = 1;
    return;
  }
  memcpy(c->out + c->out_len, msg, len);
  c->out_len += len;
}

static void broadcast(server_t *s, conn_t *from, const char *msg, size_t len) {
  for (conn_t *c = s->live; c; c = c->next)
    if (c != from) queue(s, c, msg, len);
}

static void announce(server_t *s, conn_t *who, const char *what) {
  char msg[64];
  int n = snprintf(msg, sizeof msg, "* %s %s\n", who->name, what);
  broadcast(s, who, msg, (size_t)n);
}

/* One complete line from c (without its '\n'). */
static void say(server_t *s, conn_t *c, const char *line, size_t len) {
  char msg[sizeof c->name + 2 + MAX_LINE];
  if (len > 0 && line[len - 1] == '\r') len--; /* telnet sends CRLF */
  size_t n = (size_t)snprintf(msg, sizeof msg, "%s: ", c->name);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)line[i];
    msg[n++] = ch < 32 || ch == 127 ? '?' : (char)ch;
  }
  msg[n++] = '\n';
  broadcast(s, c, msg, n);
  s->lines++;
}

static void on_readable(server_t *s, conn_t *c) {
  while (!c->gone) {
    ptrdiff_t r = evq_read(s->q, c->fd, c->in + c->in_len,
                           MAX_LINE - c->in_len);
    if (r == EVQ_EAGAIN) return;
    if (r <= 0) {               /* end of stream: a partial line is lost */
      c->gone = 1;
      return;
    }
    c->in_len += (size_t)r;
    char *p = c->in, *end = c->in + c->in_len, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
      if (c->discarding) c->discarding = 0; /* the end of a long line */
      else say(s, c, p, (size_t)(nl - p));
      p = nl + 1;
    }
    size_t rest = (size_t)(end - p);
    if (rest == MAX_LINE && !c->discarding) {
      static const char msg[] = "* line too long (max 1023 bytes), dropped\n";
      queue(s, c, msg, sizeof msg - 1);
      c->discarding = 1;
    }
    if (c->discarding) rest = 0; /* keep none of a line being dropped */
    memmove(c->in, p, rest);
    c->in_len = rest;
  }
}

static void conn_close(server_t *s, conn_t *c) {
  int rc = evq_deregister(s->q, c->fd);
  if (rc != 0) fail("deregister", rc);
  evq_close(c->fd);
  if (c->prev) c->prev->next = c->next;
  else s->live = c->next;
  if (c->next) c->next->prev = c->prev;
  s->nconns--;
}

/* After each batch: write what is queued, close who is gone and tell the
 * others (which may drop more slow receivers). No event of the batch is
 * still in hand, so a closed conn_t can be freed at once. */
static void settle(server_t *s) {
  for (conn_t *c = s->live, *next; c; c = next) {
    next = c->next;
    flush(s, c);
    if (c->gone) {
      conn_close(s, c);
      announce(s, c, "left");
      free(c);
      next = s->live;    /* the news is queued for all: start over */
    }
  }
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
    if (!c) {                     /* full: best effort notice, then close */
      (void)evq_write(NULL, fd, "* server full\n", 14);
      evq_close(fd);
      continue;
    }
    c->fd = fd;
    snprintf(c->name, sizeof c->name, "user%llu", ++s->accepted);
    c->gone = c->discarding = 0;
    c->writable = 1;              /* until a write says EAGAIN */
    c->in_len = c->out_len = 0;
    c->prev = NULL;
    c->next = s->live;
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
    char hello[64];
    int n = snprintf(hello, sizeof hello, "* you are %s\n", c->name);
    queue(s, c, hello, (size_t)n);
    announce(s, c, "joined");
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
      fprintf(stderr, "usage: evq_chat [port] [--max-conns N] "
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
      conn_t *c = (conn_t *)t;
      if (t == TOKEN_LISTENER || t == TOKEN_ACCEPT_RETRY) {
        accept_all(&s);
      } else if (t == TOKEN_STDIN) {
        char buf[256];
        ptrdiff_t r = evq_read(s.q, 0, buf, sizeof buf);
        if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) s.stop = 1;
      } else {                          /* closing waits for settle() */
        if (ev[i].flags & EVQ_WRITABLE) c->writable = 1;
        if (ev[i].flags & (EVQ_READABLE | EVQ_READ_CLOSED | EVQ_ERROR))
          on_readable(&s, c);
      }
    }
    settle(&s);
  }

  while (s.live) {
    conn_t *c = s.live;
    conn_close(&s, c);
    free(c);
  }
  if (until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  if ((rc = evq_deregister(s.q, s.listener)) != 0) fail("deregister", rc);
  evq_close(s.listener);
  if (evq_timer_active(&s.accept_retry)) evq_timer_stop(s.q, &s.accept_retry);
  evq_free(s.q);
  printf("relayed %llu lines\n", s.lines);
  return 0;
}
