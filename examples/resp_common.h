/*
 * What evq_resp's two modes share (readiness: resp.c; completion
 * operations: resp_io.c): the bounded store, the RESP2 parser, the
 * commands and their replies, the options, failing, and stopping on
 * signals. Header-only: each mode's file includes it once. Neither the
 * parser nor the commands touch I/O: they read a span of bytes and append
 * replies to a resp_out_t, so each mode feeds them from where its bytes
 * are (resp.c: its own buffer; resp_io.c: a pool buffer, in place).
 */
#ifndef EVQ_EXAMPLE_RESP_COMMON_H
#define EVQ_EXAMPLE_RESP_COMMON_H

#include <evq.h>

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 16
#define MAX_BULK 65536
#define MAX_INLINE 65536
#define IN_CAP 131072          /* one whole command must fit */
#define OUT_SOFT 65536         /* stop answering while this much waits */
#define OUT_CAP (OUT_SOFT + MAX_BULK + 512) /* so one more reply fits */
#define LINGER_MS 2000
#define MS 1000000LL
/* Tokens of the server's own; a connection's are its address. */
#define TOKEN_LISTENER 1        /* readiness: the listener; completion: its
                                   multishot accept */
#define TOKEN_STDIN 2
#define TOKEN_ACCEPT_RETRY 3
#define TOKEN_STOP 4            /* SIGINT or SIGTERM */

static const char resp_full[] = "-ERR max number of clients reached\r\n";

typedef struct resp_opts {
  long port, max_conns, idle_ms, max_keys, max_bytes;
  int until_eof;
} resp_opts_t;

typedef struct entry {         /* key bytes, then value bytes, in data */
  struct entry *next;
  size_t klen, vlen;
  char data[];
} entry_t;

typedef struct resp {          /* the store, bounded in keys and bytes */
  entry_t **bucket;
  size_t nbuckets, count, bytes, max_keys, max_bytes;
  unsigned long long commands;
} resp_t;

typedef struct resp_out {      /* replies made, not yet handed to a send */
  size_t len;
  char p[OUT_CAP];
} resp_out_t;

/* resp_io.c: serves in completion mode; returns the exit status. */
int resp_run_io(resp_t *r, const resp_opts_t *o);

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_resp: %s: %s\n", what, evq_strerror(rc));
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

/* ---- the store: chained hash table, bounded in keys and bytes ---- */

/* FNV-1a. Not flood-resistant: a server facing hostile clients would use
 * a keyed hash (Redis uses SipHash) so chains cannot be made long. */
static size_t hash(const char *p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  while (n--) h = (h ^ (unsigned char)*p++) * 1099511628211ull;
  return (size_t)h;
}

static entry_t **find(resp_t *db, const char *k, size_t klen) {
  entry_t **e = &db->bucket[hash(k, klen) & (db->nbuckets - 1)];
  while (*e && ((*e)->klen != klen || memcmp((*e)->data, k, klen) != 0))
    e = &(*e)->next;
  return e;                    /* where the key is, or would be linked */
}

/* 0 stored; -1 over a limit or out of memory (the store is unchanged). */
static int store_set(resp_t *db, const char *k, size_t klen,
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
static void put(resp_out_t *o, const void *p, size_t n) {
  memcpy(o->p + o->len, p, n);
  o->len += n;
}

static void putf(resp_out_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, 256, fmt, ap);
  va_end(ap);
  o->len += n < 256 ? (size_t)n : 255;
}

static void put_bulk(resp_out_t *o, const char *p, size_t n) {
  putf(o, "$%zu\r\n", n);
  put(o, p, n);
  put(o, "\r\n", 2);
}

/* Does argument i of cmd equal the lower-case word, ignoring case? */
static int arg_is(const cmd_t *cmd, int i, const char *word) {
  size_t k = 0;
  while (k < cmd->len[i] && word[k] &&
         tolower((unsigned char)cmd->argv[i][k]) == word[k]) k++;
  return k == cmd->len[i] && word[k] == '\0';
}

/* Runs cmd, its reply appended to o. Returns 1 for QUIT (the last reply). */
static int execute(resp_t *r, resp_out_t *o, const cmd_t *cmd) {
  int n = cmd->argc;
  const char *const *a = cmd->argv;
  const size_t *len = cmd->len;
  r->commands++;
  if (arg_is(cmd, 0, "ping") && n <= 2) {
    if (n == 1) put(o, "+PONG\r\n", 7);
    else put_bulk(o, a[1], len[1]);
  } else if (arg_is(cmd, 0, "echo") && n == 2) {
    put_bulk(o, a[1], len[1]);
  } else if (arg_is(cmd, 0, "get") && n == 2) {
    entry_t *e = *find(r, a[1], len[1]);
    if (e) put_bulk(o, e->data + e->klen, e->vlen);
    else put(o, "$-1\r\n", 5);
  } else if (arg_is(cmd, 0, "set") && n >= 3) {
    if (n > 3) putf(o, "-ERR syntax error (no SET options here)\r\n");
    else if (store_set(r, a[1], len[1], a[2], len[2]) == 0)
      put(o, "+OK\r\n", 5);
    else putf(o, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  } else if (arg_is(cmd, 0, "config")) {
    /* redis-benchmark asks for these two when it starts; truthfully,
     * this server never saves. Other parameters: none. */
    if (n != 3 || !arg_is(cmd, 1, "get"))
      putf(o, "-ERR only CONFIG GET <parameter> is supported\r\n");
    else if (arg_is(cmd, 2, "save"))
      putf(o, "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    else if (arg_is(cmd, 2, "appendonly"))
      putf(o, "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    else putf(o, "*0\r\n");
  } else if (arg_is(cmd, 0, "quit")) {
    put(o, "+OK\r\n", 5);
    return 1;
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
      putf(o, "-ERR wrong number of arguments for '%s' command\r\n", name);
    else putf(o, "-ERR unknown command '%s'\r\n", name);
  }
  return 0;
}

enum { RESP_MORE = 0, RESP_FULL = 1, RESP_CLOSE = 2 };

/* Answers the complete commands at p[0..n), in order, into o while fewer
 * than OUT_SOFT bytes of replies wait there; *used gets the bytes taken.
 * Returns RESP_FULL if it stopped for that; RESP_CLOSE once the last reply
 * is made (QUIT, or a protocol error: the framing is lost, so say why and
 * close); else RESP_MORE: what is left, if anything, is the start of a
 * command, "too large" if it fills cap bytes (the most that can gather). */
static int resp_answer(resp_t *r, const char *p, size_t n, size_t cap,
                       resp_out_t *o, size_t *used) {
  size_t pos = 0;
  int why = RESP_MORE;
  while (pos < n) {
    if (o->len >= OUT_SOFT) {
      why = RESP_FULL;
      break;
    }
    cmd_t cmd;
    char err[64];
    ptrdiff_t k = parse(p + pos, n - pos, &cmd, err);
    if (k == 0 && n - pos >= cap) k = -1, strcpy(err, "command too large");
    if (k == 0) break;
    if (k < 0) {
      putf(o, "-ERR Protocol error: %s\r\n", err);
      why = RESP_CLOSE;
      break;
    }
    pos += (size_t)k;
    if (cmd.argc > 0 && execute(r, o, &cmd)) {
      why = RESP_CLOSE;
      break;
    }
  }
  *used = pos;
  return why;
}

#endif
