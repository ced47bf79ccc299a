/*
 * evq_unix_echo: an echo server on a Unix domain socket.
 *
 *   evq_unix_echo [PATH | @NAME | 0] [--max-conns N] [--until-eof]
 *
 * Listens on PATH (a file made for the socket, removed again when the
 * server stops), on @NAME in Linux's abstract namespace (no file), or, by
 * default or with 0, on a fresh path in $TMPDIR or /tmp. Prints "listening
 * on PATH" when ready and sends every byte back. It stops on SIGINT or
 * SIGTERM or, with --until-eof, when its standard input ends, and then
 * prints "echoed N bytes over M connections".
 *
 * What it shows: the same calls as TCP with a Unix address (evq_addr_unix
 * takes "/path", "./path" and "@name"), and a half-close handled: a client
 * that shuts down its sending side still gets every byte back, because the
 * server reads again only once it has echoed what it read, and closes at
 * end of stream with nothing left to send. Limits: one fixed buffer per
 * connection (a client that does not read is not read from), at most
 * --max-conns connections (default 100; more are closed at
 * once). A path that already exists is not removed: the server refuses to
 * start (it may be another server's). POSIX only, like its test; the
 * evq calls it makes work on Windows 10 1803 and later too.
 */
#include <evq_net.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define TOKEN_LISTENER 1
#define TOKEN_STDIN 2
#define TOKEN_STOP 3            /* SIGINT or SIGTERM */

typedef struct conn {
  evq_fd_t fd;
  size_t len;        /* bytes in buf not yet echoed */
  int dead;          /* closed during this batch of events */
  struct conn *next; /* live list, or (dead) the free list */
  char buf[BUF_SIZE];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  conn_t *live, *dead;
  long nconns, max_conns;
  unsigned long long connections, bytes;
} server_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_unix_echo: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* Freed after the batch: a later event of it may carry this pointer. */
static void conn_close(server_t *s, conn_t *c) {
  evq_deregister(s->q, c->fd);
  evq_close(c->fd);
  for (conn_t **p = &s->live; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  c->dead = 1;
  c->next = s->dead;
  s->dead = c;
  s->nconns--;
}

/* Edge mode: loops until an I/O call says EVQ_EAGAIN. */
static void conn_io(server_t *s, conn_t *c) {
  for (;;) {
    if (c->len > 0) {
      ptrdiff_t w = evq_write(s->q, c->fd, c->buf, c->len);
      if (w == EVQ_EAGAIN) return;
      if (w < 0) break;
      memmove(c->buf, c->buf + w, c->len - (size_t)w);
      c->len -= (size_t)w;
      s->bytes += (unsigned long long)w;
      continue;
    }
    ptrdiff_t r = evq_read(s->q, c->fd, c->buf, BUF_SIZE);
    if (r == EVQ_EAGAIN) return;
    if (r <= 0) break; /* end of stream with all echoed, or an error */
    c->len = (size_t)r;
  }
  conn_close(s, c);
}

static void accept_all(server_t *s) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(s->q, s->listener, &fd);
    if (rc == EVQ_EAGAIN) return;
    if (rc == EVQ_EMFILE) return;  /* refused, and re-armed (evq.h) */
    if (rc != 0) continue;         /* the client gave up: next */
    conn_t *c = s->nconns < s->max_conns ? calloc(1, sizeof *c) : NULL;
    if (!c) {
      evq_close(fd);
      continue;
    }
    c->fd = fd;
    rc = evq_register(s->q, fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      (uintptr_t)c);
    if (rc != 0) {
      evq_close(fd);
      free(c);
      continue;
    }
    c->next = s->live;
    s->live = c;
    s->nconns++;
    s->connections++;
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
  server_t s = {.max_conns = 100};
  const char *where = "0";
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    char *end;
    if (strcmp(argv[i], "--until-eof") == 0) {
      until_eof = 1;
    } else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc) {
      s.max_conns = strtol(argv[++i], &end, 10);
      if (*end || s.max_conns < 1) where = NULL;
    } else {
      where = argv[i];
    }
  }
  char path[EVQ_ADDR_STRLEN];
  if (where && strcmp(where, "0") == 0) { /* a fresh path of our own */
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/evq-unix-echo.%ld",
             tmp && *tmp ? tmp : "/tmp", (long)getpid());
  } else if (where && strlen(where) < sizeof path) {
    snprintf(path, sizeof path, "%s", where);
  } else {
    fprintf(stderr, "usage: evq_unix_echo [PATH | @NAME | 0] "
                    "[--max-conns N] [--until-eof]\n");
    return 2;
  }

  evq_addr_t addr;
  int rc = evq_addr_unix(&addr, path);
  if (rc != 0) fail(path, rc);
  if ((rc = evq_create(&s.q, NULL)) != 0) fail("create", rc);
  if ((rc = stop_on_signals(s.q)) != 0) fail("signals", rc);
  rc = evq_listen(&s.listener, &addr, 128, 0);
  if (rc == EVQ_EADDRINUSE)
    fprintf(stderr, "evq_unix_echo: %s exists; remove it if no server "
                    "uses it\n", path);
  if (rc != 0) fail("listen", rc);
  rc = evq_register(s.q, s.listener, EVQ_READABLE, EVQ_EDGE, TOKEN_LISTENER);
  if (rc != 0) fail("register listener", rc);
  if (until_eof &&
      (rc = evq_register(s.q, 0, EVQ_READABLE, EVQ_LEVEL, TOKEN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  printf("listening on %s\n", path);
  fflush(stdout);

  int stop = 0;
  while (!stop) {
    evq_event_t ev[128];
    int n = evq_wait(s.q, ev, 128, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) {
      uintptr_t t = ev[i].token;
      if (t == TOKEN_STOP) {            /* a signal: stop as at end of input */
        stop = 1;
        continue;
      }
      if (t == TOKEN_LISTENER) {
        accept_all(&s);
      } else if (t == TOKEN_STDIN) {
        char buf[256];
        ptrdiff_t r = evq_read(s.q, 0, buf, sizeof buf);
        if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) stop = 1;
      } else if (!((conn_t *)t)->dead) {
        conn_io(&s, (conn_t *)t);
      }
    }
    while (s.dead) {
      conn_t *c = s.dead;
      s.dead = c->next;
      free(c);
    }
  }
  while (s.live) conn_close(&s, s.live);
  while (s.dead) {
    conn_t *c = s.dead;
    s.dead = c->next;
    free(c);
  }
  if (until_eof) evq_deregister(s.q, 0);
  evq_deregister(s.q, s.listener);
  evq_close(s.listener);
  if (path[0] != '@') unlink(path); /* the file the socket made */
  evq_free(s.q);
  printf("echoed %llu bytes over %llu connections\n", s.bytes, s.connections);
  return 0;
}
