/*
 * evq_http: an HTTP/1.1 "hello" server with keep-alive and pipelining, on
 * one thread and one queue; `wrk http://127.0.0.1:PORT/` can load it.
 *
 *   evq_http [port] [--max-conns N] [--idle-timeout-ms N] [--until-eof]
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
 * the connection goes away.
 */
#include <evq_net.h>

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

#define MAX_HEAD 8192          /* request line + headers */
#define MAX_HEADERS 64
#define OUT_CAP 16384          /* replies queued for a pipelining client */
#define MAX_REPLY 256          /* the longest reply below */
#define LINGER_MS 2000
#define TOKEN_LISTENER 1
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */
#define MS 1000000LL

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

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_http: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 431: return "Request Header Fields Too Large";
  case 503: return "Service Unavailable";
  default: return "HTTP Version Not Supported"; /* 505 */
  }
}

/* Formats a whole reply (at most MAX_REPLY bytes) into out. */
static int format_reply(char *out, int status, int keep_alive, int http10,
                        int head) {
  const char *body = status == 200 ? "Hello, World!\n" : reason(status);
  size_t body_len = strlen(body) + (status == 200 ? 0 : 1);
  return snprintf(out, MAX_REPLY,
                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                  "Content-Length: %zu\r\n%s\r\n%s%s",
                  status, reason(status), body_len,
                  !keep_alive ? "Connection: close\r\n"
                  : http10    ? "Connection: keep-alive\r\n" : "",
                  head ? "" : body, head || status == 200 ? "" : "\n");
}

/* Does p[0..n) equal the lower-case word, ignoring case? */
static int word_is(const char *p, size_t n, const char *word) {
  size_t i = 0;
  while (i < n && word[i] && tolower((unsigned char)p[i]) == word[i]) i++;
  return i == n && word[i] == '\0';
}

/* Is word one of the comma-separated items of the header value v? */
static int has_item(const char *v, size_t n, const char *word) {
  for (size_t i = 0, j; i < n; i = j + 1) {
    for (j = i; j < n && v[j] != ','; j++) {}
    size_t a = i, b = j;
    while (a < b && (v[a] == ' ' || v[a] == '\t')) a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t')) b--;
    if (word_is(v + a, b - a, word)) return 1;
  }
  return 0;
}

static int is_tchar(int ch) { /* may appear in a method or header name */
  return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

typedef struct request {
  int status, keep_alive, http10, head;
} request_t;

/* Parses the request at p[0..n). Returns its length, or 0 if it is not
 * complete yet. A bad request gets an error status; parsing stops there
 * (the connection will be closed). */
static size_t parse(const char *p, size_t n, request_t *rq) {
  *rq = (request_t){.status = 200};
  size_t pos = 0, nheaders = 0;
  while (pos < n && (p[pos] == '\r' || p[pos] == '\n')) pos++; /* RFC 9112 */
  for (int first = 1;; first = 0) {
    const char *nl = memchr(p + pos, '\n', n - pos);
    if (!nl) return n < MAX_HEAD ? 0 : (rq->status = 431, n);
    const char *line = p + pos, *end = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
    size_t len = (size_t)(end - line);
    pos = (size_t)(nl - p) + 1;
    for (size_t i = 0; i < len; i++) /* no control bytes but tab, no NUL */
      if (((unsigned char)line[i] < 32 && line[i] != '\t') || line[i] == 127)
        return rq->status = 400, pos;
    if (first) {                       /* METHOD SP target SP HTTP/d.d */
      const char *sp1 = memchr(line, ' ', len), *sp2 = NULL;
      if (sp1) sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
      size_t mlen = sp1 ? (size_t)(sp1 - line) : 0;
      int ok = sp2 && mlen > 0 && sp2 > sp1 + 1 && end - sp2 == 9 &&
               memcmp(sp2 + 1, "HTTP/", 5) == 0 && sp2[7] == '.' &&
               isdigit((unsigned char)sp2[6]) && isdigit((unsigned char)sp2[8]);
      for (size_t i = 0; ok && i < mlen; i++) ok = is_tchar((unsigned char)line[i]);
      if (!ok) return rq->status = 400, pos;
      if (sp2[6] != '1') return rq->status = 505, pos;
      rq->head = mlen == 4 && memcmp(line, "HEAD", 4) == 0;
      if (!rq->head && !(mlen == 3 && memcmp(line, "GET", 3) == 0))
        return rq->status = 405, pos;
      rq->http10 = sp2[8] == '0';
      rq->keep_alive = !rq->http10;    /* each version's default */
      continue;
    }
    if (len == 0) return pos;          /* blank line: end of the head */
    const char *colon = memchr(line, ':', len);
    size_t nlen = colon ? (size_t)(colon - line) : 0;
    if (++nheaders > MAX_HEADERS) return rq->status = 431, pos;
    int ok = nlen > 0;                 /* no space before the colon either */
    for (size_t i = 0; ok && i < nlen; i++) ok = is_tchar((unsigned char)line[i]);
    if (!ok) return rq->status = 400, pos;
    const char *v = colon + 1;
    size_t vlen = (size_t)(end - v);
    if (word_is(line, nlen, "connection")) {
      if (has_item(v, vlen, "close")) rq->keep_alive = 0;
      else if (has_item(v, vlen, "keep-alive")) rq->keep_alive = 1;
    } else if ((word_is(line, nlen, "content-length") &&
                strspn(v, " \t0") < vlen) || /* stops at the \n */
               word_is(line, nlen, "transfer-encoding")) {
      return rq->status = 413, pos;    /* bodies are not read here */
    }
  }
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
  server_t s = {.max_conns = 1000, .idle_ms = 10000};
  long port = 0;
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--until-eof") == 0) {
      until_eof = 1;
    } else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 1, 100000, &s.max_conns)) {
      i++;
    } else if (strcmp(argv[i], "--idle-timeout-ms") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 1, 86400000, &s.idle_ms)) {
      i++;
    } else if (!parse_long(argv[i], 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_http [port] [--max-conns N] "
                      "[--idle-timeout-ms N] [--until-eof]\n");
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
