/*
 * What evq_http's two modes share (readiness: http.c; completion
 * operations: http_io.c): the HTTP/1.1 request parser and replies, the
 * tokens both give evq, failing, and stopping on signals. Header-only:
 * each mode's file includes it once.
 */
#ifndef EVQ_EXAMPLE_HTTP_COMMON_H
#define EVQ_EXAMPLE_HTTP_COMMON_H

#include <evq.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEAD 8192          /* request line + headers */
#define MAX_HEADERS 64
#define OUT_CAP 16384          /* replies queued for a pipelining client */
#define MAX_REPLY 256          /* the longest reply below */
#define LINGER_MS 2000
#define MS 1000000LL
/* Tokens of the server's own; a connection's are its address. */
#define TOKEN_LISTENER 1        /* readiness: the listener; completion: its
                                   multishot accept */
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_http: %s: %s\n", what, evq_strerror(rc));
  exit(1);
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

#endif
