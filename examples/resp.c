/*
 * evq_resp: a small Redis-protocol (RESP2) server: PING, ECHO, SET, GET
 * and QUIT, in multibulk form (what clients send) or inline (what you type
 * into telnet: "SET k v"). redis-cli and redis-benchmark can use it:
 *   redis-benchmark -p PORT -t ping,set,get -q
 *
 *   evq_resp [port] [--max-conns N] [--max-keys N] [--max-memory BYTES]
 *            [--idle-timeout-ms N] [--until-eof]
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
 * while 64 KiB of replies wait) and a bounded store.
 */
#include <evq_net.h>

#include <ctype.h>
#include <stdarg.h>
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

#define MAX_ARGS 16
#define MAX_BULK 65536
#define MAX_INLINE 65536
#define IN_CAP 131072          /* one whole command must fit */
#define OUT_SOFT 65536         /* stop answering while this much waits */
#define OUT_CAP (OUT_SOFT + MAX_BULK + 512) /* so one more reply fits */
#define LINGER_MS 2000
#define TOKEN_LISTENER 1
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */
#define MS 1000000LL

typedef struct entry {         /* key bytes, then value bytes, in data */
  struct entry *next;
  size_t klen, vlen;
  char data[];
} entry_t;

typedef struct store {
  entry_t **bucket;
  size_t nbuckets, count, bytes, max_keys, max_bytes;
} store_t;

typedef struct conn {
  evq_fd_t fd;
  evq_timer_t timer;           /* idle timeout, then the linger limit */
  size_t in_len, out_len;
  int closing, lingering, dead;
  struct conn *prev, *next;
  char in[IN_CAP], out[OUT_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live, *dead;
  store_t db;
  long nconns, max_conns, idle_ms;
  unsigned long long commands;
  int stop;
} server_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_resp: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* ---- the store: chained hash table, bounded in keys and bytes ---- */

/* FNV-1a. Not flood-resistant: a server facing hostile clients would use
 * a keyed hash (Redis uses SipHash) so chains cannot be made long. */
static size_t hash(const char *p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  while (n--) h = (h ^ (unsigned char)*p++) * 1099511628211ull;
  return (size_t)h;
}

static entry_t **find(store_t *db, const char *k, size_t klen) {
  entry_t **e = &db->bucket[hash(k, klen) & (db->nbuckets - 1)];
  while (*e && ((*e)->klen != klen || memcmp((*e)->data, k, klen) != 0))
    e = &(*e)->next;
  return e;                    /* where the key is, or would be linked */
}

/* 0 stored; -1 over a limit or out of memory (the store is unchanged). */
static int store_set(store_t *db, const char *k, size_t klen,
                     const char *v, size_t vlen) {
  entry_t **slot = find(db, k, klen), *old = *slot;
  size_t size = sizeof(entry_t) + klen + vlen;
  size_t old_size = old ? sizeof(entry_t) + old->klen + old->vlen : 0;
  if ((!old && db->count >= db->max_keys) ||
      db->bytes - old_size + size > db->max_bytes)
    return -1;
  entry_t *e = malloc(size);
  if (!e) return -1;
  e->klen = klen, e->vlen = vlen;
  memcpy(e->data, k, klen);
  memcpy(e->data + klen, v, vlen);
  e->next = old ? old->next : NULL;
  *slot = e;
  free(old);
  db->bytes += size - old_size;
  db->count += !old;
  return 0;
}

/* ---- the protocol ---- */

typedef struct cmd {
  int argc;
  const char *argv[MAX_ARGS];
  size_t len[MAX_ARGS];
} cmd_t;

/* Reads "<type><digits>\r\n" at p[0..n): returns its length, 0 if not
 * complete yet, -1 if malformed or the number is over max. */
static ptrdiff_t number_line(const char *p, size_t n, long max, long *out) {
  size_t i = 1;
  long v = 0;
  for (; i < n && isdigit((unsigned char)p[i]); i++)
    if (i > 12 || (v = v * 10 + (p[i] - '0')) > max) return -1;
  if (i == n) return 0;
  if (i == 1 || p[i] != '\r') return -1;
  if (i + 1 == n) return 0;
  if (p[i + 1] != '\n') return -1;
  *out = v;
  return (ptrdiff_t)i + 2;
}

/* Parses one command at p[0..n) into cmd (argc 0: an empty one, skip).
 * Returns its length, 0 if not complete yet, or -1 with err set. */
static ptrdiff_t parse(const char *p, size_t n, cmd_t *cmd, char *err) {
  cmd->argc = 0;
  if (p[0] != '*') {               /* inline: words separated by blanks */
    const char *nl = memchr(p, '\n', n);
    if (!nl) return n > MAX_INLINE ? (strcpy(err, "too big inline request"), -1) : 0;
    for (const char *w = p; w < nl;) {
      while (w < nl && (*w == ' ' || *w == '\t' || *w == '\r')) w++;
      const char *e = w;
      while (e < nl && *e != ' ' && *e != '\t' && *e != '\r') e++;
      if (e == w) break;
      if (cmd->argc == MAX_ARGS) return strcpy(err, "too many arguments"), -1;
      cmd->argv[cmd->argc] = w, cmd->len[cmd->argc++] = (size_t)(e - w);
      w = e;
    }
    return nl - p + 1;
  }
  long count, len;
  ptrdiff_t used = number_line(p, n, MAX_ARGS, &count);
  if (used < 0) strcpy(err, "invalid multibulk length");
  if (used <= 0) return used;
  size_t pos = (size_t)used;
  for (long i = 0; i < count; i++) {
    if (pos == n) return 0;
    if (p[pos] != '$') {
      unsigned char got = (unsigned char)p[pos];
      sprintf(err, "expected '$', got '%c'", isprint(got) ? got : '?');
      return -1;
    }
    used = number_line(p + pos, n - pos, MAX_BULK, &len);
    if (used < 0) strcpy(err, "invalid bulk length");
    if (used <= 0) return used;
    pos += (size_t)used;
    if (n - pos < (size_t)len + 2) return 0;
    if (p[pos + len] != '\r' || p[pos + len + 1] != '\n')
      return strcpy(err, "bulk not followed by CRLF"), -1;
    cmd->argv[i] = p + pos, cmd->len[i] = (size_t)len;
    pos += (size_t)len + 2;
  }
  cmd->argc = (int)count;
  return (ptrdiff_t)pos;
}

/* Appends a reply (OUT_CAP leaves room for the largest after OUT_SOFT). */
static void put(conn_t *c, const void *p, size_t n) {
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

static void putf(conn_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->out + c->out_len, 256, fmt, ap);
  va_end(ap);
  c->out_len += n < 256 ? (size_t)n : 255;
}

static void put_bulk(conn_t *c, const char *p, size_t n) {
  putf(c, "$%zu\r\n", n);
  put(c, p, n);
  put(c, "\r\n", 2);
}

/* Does argument i of cmd equal the lower-case word, ignoring case? */
static int arg_is(const cmd_t *cmd, int i, const char *word) {
  size_t k = 0;
  while (k < cmd->len[i] && word[k] &&
         tolower((unsigned char)cmd->argv[i][k]) == word[k]) k++;
  return k == cmd->len[i] && word[k] == '\0';
}

static void begin_close(server_t *s, conn_t *c);

static void execute(server_t *s, conn_t *c, const cmd_t *cmd) {
  int n = cmd->argc;
  const char *const *a = cmd->argv;
  const size_t *len = cmd->len;
  s->commands++;
  if (arg_is(cmd, 0, "ping") && n <= 2) {
    if (n == 1) put(c, "+PONG\r\n", 7);
    else put_bulk(c, a[1], len[1]);
  } else if (arg_is(cmd, 0, "echo") && n == 2) {
    put_bulk(c, a[1], len[1]);
  } else if (arg_is(cmd, 0, "get") && n == 2) {
    entry_t *e = *find(&s->db, a[1], len[1]);
    if (e) put_bulk(c, e->data + e->klen, e->vlen);
    else put(c, "$-1\r\n", 5);
  } else if (arg_is(cmd, 0, "set") && n >= 3) {
    if (n > 3) putf(c, "-ERR syntax error (no SET options here)\r\n");
    else if (store_set(&s->db, a[1], len[1], a[2], len[2]) == 0)
      put(c, "+OK\r\n", 5);
    else putf(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  } else if (arg_is(cmd, 0, "config")) {
    /* redis-benchmark asks for these two when it starts; truthfully,
     * this server never saves. Other parameters: none. */
    if (n != 3 || !arg_is(cmd, 1, "get"))
      putf(c, "-ERR only CONFIG GET <parameter> is supported\r\n");
    else if (arg_is(cmd, 2, "save"))
      putf(c, "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    else if (arg_is(cmd, 2, "appendonly"))
      putf(c, "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    else putf(c, "*0\r\n");
  } else if (arg_is(cmd, 0, "quit")) {
    put(c, "+OK\r\n", 5);
    begin_close(s, c);
  } else {
    /* The name is the client's bytes: make it printable, so that a CR or
     * LF in it cannot forge a second reply. */
    char name[33];
    size_t k = 0;
    for (; k < len[0] && k < 32; k++)
      name[k] = isprint((unsigned char)a[0][k]) && a[0][k] != '\'' ? a[0][k] : '?';
    name[k] = '\0';
    if (arg_is(cmd, 0, "ping") || arg_is(cmd, 0, "echo") ||
        arg_is(cmd, 0, "get") || arg_is(cmd, 0, "set"))
      putf(c, "-ERR wrong number of arguments for '%s' command\r\n", name);
    else putf(c, "-ERR unknown command '%s'\r\n", name);
  }
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
  size_t pos = 0;
  int full = 0;
  while (!c->closing && pos < c->in_len) {
    if (c->out_len >= OUT_SOFT) {
      full = 1;
      break;
    }
    cmd_t cmd;
    char err[64];
    ptrdiff_t used = parse(c->in + pos, c->in_len - pos, &cmd, err);
    if (used == 0 && c->in_len - pos == IN_CAP)
      used = -1, strcpy(err, "command too large");
    if (used == 0) break;
    if (used < 0) {                /* framing is lost: say why, close */
      putf(c, "-ERR Protocol error: %s\r\n", err);
      begin_close(s, c);
      break;
    }
    pos += (size_t)used;
    if (cmd.argc > 0) execute(s, c, &cmd);
  }
  memmove(c->in, c->in + pos, c->in_len - pos); /* once per batch */
  c->in_len -= pos;
  return full;
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
      static const char full[] = "-ERR max number of clients reached\r\n";
      (void)evq_write(NULL, fd, full, sizeof full - 1);
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
  server_t s = {.max_conns = 1000, .idle_ms = 300000};
  long port = 0, max_keys = 1000000, max_bytes = 64L << 20;
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(o, "--until-eof") == 0) until_eof = 1;
    else if (!strcmp(o, "--max-conns") && parse_long(v, 1, 100000, &s.max_conns)) i++;
    else if (!strcmp(o, "--max-keys") && parse_long(v, 1, 1L << 24, &max_keys)) i++;
    else if (!strcmp(o, "--max-memory") && parse_long(v, 1, 1L << 30, &max_bytes)) i++;
    else if (!strcmp(o, "--idle-timeout-ms") && parse_long(v, 1, 86400000, &s.idle_ms)) i++;
    else if (!parse_long(o, 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_resp [port] [--max-conns N] [--max-keys N] "
              "[--max-memory BYTES] [--idle-timeout-ms N] [--until-eof]\n");
      return 2;
    }
  }
  /* A bucket per key allowed (up to 1M): chains stay short, no resizing,
   * and calloc's untouched zero pages cost nothing until used. */
  s.db.max_keys = (size_t)max_keys, s.db.max_bytes = (size_t)max_bytes;
  s.db.nbuckets = 16;
  while (s.db.nbuckets < s.db.max_keys && s.db.nbuckets < 1u << 20)
    s.db.nbuckets *= 2;
  s.db.bucket = calloc(s.db.nbuckets, sizeof *s.db.bucket);
  if (!s.db.bucket) fail("store", EVQ_ENOMEM);

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
        if (!(ev[i].flags & EVQ_TIMER)) conn_io(&s, c);
        else conn_close(&s, c);             /* idle, or done lingering */
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
  printf("served %llu commands, %zu keys\n", s.commands, s.db.count);
  for (size_t i = 0; i < s.db.nbuckets; i++)
    for (entry_t *e = s.db.bucket[i], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  free(s.db.bucket);
  evq_free(s.q);
  return 0;
}
