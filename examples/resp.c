/*
 * evq_resp: a small Redis-protocol (RESP2) server: PING, ECHO, SET, GET
 * and QUIT, in multibulk form (what clients send) or inline (what you type
 * into telnet: "SET k v"). redis-cli and redis-benchmark can use it:
 *   redis-benchmark -p PORT -t ping,set,get -q
 *
 *   evq_resp [port] [--max-conns N] [--max-keys N] [--max-memory BYTES]
 *            [--idle-timeout-ms N] [--until-eof] [--completion]
 *
 * Prints "listening on 127.0.0.1:PORT" when ready. Limits, each answered as
 * Redis does: a command has at most 16 arguments, a bulk argument at most
 * 64 KiB, a whole command at most 128 KiB, an inline line at most 64 KiB:
 * beyond, or on malformed framing, "-ERR Protocol error: ..." and the
 * connection is closed. SET past --max-keys (1000000) or --max-memory
 * (64 MiB of keys and values) gets "-OOM ..." and changes nothing.
 * Past --max-conns (1000): "-ERR max number of clients reached", closed.
 * A connection silent for --idle-timeout-ms (300000) is closed. It stops
 * on SIGINT or SIGTERM (Windows: Ctrl-C, Ctrl-Break) or, with --until-eof,
 * when standard input ends, printing "served N commands, K keys".
 *
 * What it shows: a pipelining-friendly loop (all complete commands are
 * answered from one read, their replies written in one go, reading pauses
 * while 64 KiB of replies wait) and a bounded store. With --completion the
 * same server runs on completion operations instead of readiness
 * (resp_io.c): the kernel (io_uring), or evq where it cannot, accepts,
 * receives into pool buffers and sends; the store, parser and commands
 * are the same code (resp_common.h).
 */
#include <evq_net.h>

#include "resp_common.h"

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
  size_t in_len;
  int closing, lingering, dead;
  struct conn *prev, *next;
  resp_out_t out;
  char in[IN_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live, *dead;
  resp_t *db;
  long nconns, max_conns, idle_ms;
  int stop;
} server_t;

/* A bucket per key allowed (up to 1M): chains stay short, no resizing,
 * and calloc's untouched zero pages cost nothing until used. */
static void store_init(resp_t *r, const resp_opts_t *o) {
  *r = (resp_t){.max_keys = (size_t)o->max_keys,
                .max_bytes = (size_t)o->max_bytes, .nbuckets = 16};
  while (r->nbuckets < r->max_keys && r->nbuckets < 1u << 20)
    r->nbuckets *= 2;
  r->bucket = calloc(r->nbuckets, sizeof *r->bucket);
  if (!r->bucket) fail("store", EVQ_ENOMEM);
}

/* Prints the summary and frees the store. */
static void store_finish(resp_t *r) {
  printf("served %llu commands, %zu keys\n", r->commands, r->count);
  for (size_t i = 0; i < r->nbuckets; i++)
    for (entry_t *e = r->bucket[i], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  free(r->bucket);
}

static int parse_long(const char *arg, long lo, long hi, long *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* ---- connections ---- */

static void set_timer(server_t *s, conn_t *c, int64_t ms) {
  int rc = evq_timer_start(s->q, &c->timer, ms * MS, 0, (uintptr_t)c);
  if (rc != 0) fail("timer", rc);
}

/* The last reply is queued: stop answering and bound what is left. */
static void begin_close(server_t *s, conn_t *c) {
  c->closing = 1;
  set_timer(s, c, LINGER_MS);
}

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

/* Answers every complete command in c->in while fewer than OUT_SOFT bytes
 * of replies wait. Returns 1 if it stopped for that reason. */
static int answer(server_t *s, conn_t *c) {
  if (c->closing) return 0;
  size_t used;
  int why = resp_answer(s->db, c->in, c->in_len, IN_CAP, &c->out, &used);
  memmove(c->in, c->in + used, c->in_len - used); /* once per batch */
  c->in_len -= used;
  if (why == RESP_CLOSE) begin_close(s, c);
  return why == RESP_FULL;
}

static void conn_io(server_t *s, conn_t *c) {
  char scrap[4096];
  for (;;) {
    int more = answer(s, c);
    while (c->out.len > 0) {
      ptrdiff_t w = evq_write(s->q, c->fd, c->out.p, c->out.len);
      if (w == EVQ_EAGAIN) return;          /* wait for EVQ_WRITABLE */
      if (w < 0) goto close;
      memmove(c->out.p, c->out.p + w, c->out.len - (size_t)w);
      c->out.len -= (size_t)w;
    }
    if (more) continue;
    if (c->closing && !c->lingering) {
      /* Closing with unread input would make the kernel reset the
       * connection, and the client could lose the error reply. Shut the
       * write side instead (evq has no call for it: the OS's own) and
       * read away the rest until the client closes or LINGER_MS pass. */
      c->lingering = 1;
      if (shutdown(c->fd, SHUT_WR) != 0) goto close;
    }
    char *dst = c->lingering ? scrap : c->in + c->in_len;
    size_t room = c->lingering ? sizeof scrap : IN_CAP - c->in_len;
    ptrdiff_t r = evq_read(s->q, c->fd, dst, room);
    if (r == EVQ_EAGAIN) return;            /* wait for EVQ_READABLE */
    if (r <= 0) goto close;                 /* a truncated command too */
    if (c->lingering) continue;
    c->in_len += (size_t)r;
    set_timer(s, c, s->idle_ms);            /* O(1) when later */
  }
close:
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
      rc = evq_timer_start(s->q, &s->accept_retry, 100 * MS, 0,
                           TOKEN_ACCEPT_RETRY);
      if (rc != 0) fail("timer", rc);
      return;
    }
    conn_t *c = s->nconns < s->max_conns ? malloc(sizeof *c) : NULL;
    if (!c) {                     /* full: best effort reply, then close */
      (void)evq_write(NULL, fd, resp_full, sizeof resp_full - 1);
      evq_close(fd);
      continue;
    }
    c->fd = fd;
    c->in_len = c->out.len = 0;
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

/* Serves with readiness until stopped; returns the exit status. */
static int run(resp_t *db, const resp_opts_t *o) {
  server_t s = {.db = db, .max_conns = o->max_conns, .idle_ms = o->idle_ms};
  int rc = evq_create(&s.q, NULL);
  if (rc != 0) fail("create", rc);
  if ((rc = stop_on_signals(s.q)) != 0) fail("signals", rc);
  evq_timer_init(&s.accept_retry);
  if ((rc = evq_tcp_listen(&s.listener, "127.0.0.1", (uint16_t)o->port, 511)))
    fail("listen", rc);
  rc = evq_register(s.q, s.listener, EVQ_READABLE, EVQ_EDGE, TOKEN_LISTENER);
  if (rc != 0) fail("register listener", rc);
  if (o->until_eof &&
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
        if (!(ev[i].flags & EVQ_TIMER)) conn_io(&s, c);
        else conn_close(&s, c);             /* idle, or done lingering */
      }
    }
    free_dead(&s);
  }

  while (s.live) conn_close(&s, s.live);
  free_dead(&s);
  if (o->until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  if ((rc = evq_deregister(s.q, s.listener)) != 0) fail("deregister", rc);
  evq_close(s.listener);
  if (evq_timer_active(&s.accept_retry)) evq_timer_stop(s.q, &s.accept_retry);
  evq_free(s.q);
  return 0;
}

int main(int argc, char **argv) {
  resp_opts_t o = {.max_conns = 1000, .idle_ms = 300000,
                   .max_keys = 1000000, .max_bytes = 64L << 20};
  int completion = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--until-eof") == 0) o.until_eof = 1;
    else if (strcmp(a, "--completion") == 0) completion = 1;
    else if (!strcmp(a, "--max-conns") && parse_long(v, 1, 100000, &o.max_conns)) i++;
    else if (!strcmp(a, "--max-keys") && parse_long(v, 1, 1L << 24, &o.max_keys)) i++;
    else if (!strcmp(a, "--max-memory") && parse_long(v, 1, 1L << 30, &o.max_bytes)) i++;
    else if (!strcmp(a, "--idle-timeout-ms") && parse_long(v, 1, 86400000, &o.idle_ms)) i++;
    else if (!parse_long(a, 0, 65535, &o.port)) {
      fprintf(stderr, "usage: evq_resp [port] [--max-conns N] [--max-keys N] "
              "[--max-memory BYTES] [--idle-timeout-ms N] [--until-eof] "
              "[--completion]\n");
      return 2;
    }
  }
  resp_t db;
  store_init(&db, &o);
  int status = completion ? resp_run_io(&db, &o) : run(&db, &o);
  store_finish(&db);
  return status;
}
