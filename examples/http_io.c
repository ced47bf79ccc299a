/*
 * evq_http --completion: the server of http.c written with completion
 * operations (evq_io.h) instead of readiness. The kernel (io_uring) or evq
 * (elsewhere) accepts, receives and sends; the program only parses and
 * replies. What differs from http.c, and why:
 *
 *  - one multishot accept serves the listener's whole life;
 *  - each connection has one pool receive: its bytes arrive in buffers
 *    lent by the queue's pool, copied into the request buffer and given
 *    back at once, so an idle connection holds no buffer. A client that
 *    sends faster than it reads fills the request buffer: the buffers
 *    that do not fit are held, and past HOLD_MAX of them the receive is
 *    cancelled (its data waits in the socket) until they are used up,
 *    where http.c simply stops reading;
 *  - one send in flight per connection: replies made meanwhile wait in
 *    out and go in the next send, so the bytes never interleave and each
 *    buffer stays untouched until its send completes (evq_io.h's rule);
 *  - a connection ends with evq_op_close, whose completion comes after
 *    those of its receive and send: only then is its memory freed.
 */
#include <evq_io.h>

#include "http_io.h"
#include "http_common.h"

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

#define POOL_BUFS 1024
#define POOL_SIZE 4096
#define HOLD_MAX 8             /* held buffers that pause the receive */
/* Held buffers at most (then: close). The kernel's own receive runs on
 * until the cancel reaches it, one wait later, and may fill many buffers
 * meanwhile: the pool's size bounds it. */
#define HOLD_CAP POOL_BUFS
/* A connection's tokens: its address with what its event is for in the
 * low bits (a conn_t is at least 8-aligned). */
enum { T_RECV = 0, T_SEND = 1, T_CLOSE = 2, T_TIMER = 3 };

typedef struct conn {
  evq_fd_t fd;
  evq_op_t rx, tx, cl;
  evq_timer_t timer;           /* idle timeout, then the linger limit */
  size_t in_len, out_len;
  int closing;                 /* last reply made: close once it is sent */
  int lingering;               /* sent; write side shut, draining input */
  int ending;                  /* evq_op_close submitted */
  int eof;                     /* the client sent all it will */
  int paused;                  /* the receive was cancelled for room */
  int nheld, head;             /* buffers that did not fit in yet */
  uint32_t held_off;           /* bytes of the first one already used */
  struct { uint32_t id, len; } held[HOLD_CAP];
  struct conn *prev, *next;
  char in[MAX_HEAD], out[OUT_CAP], sending[OUT_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_pool_t *pool;
  evq_fd_t listener;
  evq_op_t accept;
  evq_timer_t accept_retry;
  conn_t *live;
  long nconns, max_conns, idle_ms;
  unsigned long long requests;
  int stop;
} server_t;

static uintptr_t tok(conn_t *c, int what) { return (uintptr_t)c | (uintptr_t)what; }

static void set_timer(server_t *s, conn_t *c, int64_t ms) {
  int rc = evq_timer_start(s->q, &c->timer, ms * MS, 0, tok(c, T_TIMER));
  if (rc != 0) fail("timer", rc);
}

/* Ends c: its receive and send complete (cancelled), then the close,
 * whose completion frees c (on_close). */
static void conn_end(server_t *s, conn_t *c) {
  if (c->ending) return;
  c->ending = 1;
  if (evq_timer_active(&c->timer)) evq_timer_stop(s->q, &c->timer);
  int rc = evq_op_close(s->q, &c->cl, c->fd, tok(c, T_CLOSE));
  if (rc != 0) fail("close", rc);
}

/* Moves held bytes into in while there is room; buffers used up go back
 * to the pool. */
static void fill_in(server_t *s, conn_t *c) {
  while (c->nheld > 0 && c->in_len < MAX_HEAD) {
    uint32_t id = c->held[c->head].id, len = c->held[c->head].len;
    size_t n = len - c->held_off, room = MAX_HEAD - c->in_len;
    if (n > room) n = room;
    memcpy(c->in + c->in_len, (char *)evq_pool_buf(s->pool, id) + c->held_off, n);
    c->in_len += n;
    c->held_off += (uint32_t)n;
    if (c->held_off == len) {
      evq_pool_put(s->pool, id);
      c->head = (c->head + 1) % HOLD_CAP;
      c->nheld--;
      c->held_off = 0;
    }
  }
}

static void hold(conn_t *c, uint32_t id, uint32_t len) {
  c->held[(c->head + c->nheld) % HOLD_CAP].id = id;
  c->held[(c->head + c->nheld) % HOLD_CAP].len = len;
  c->nheld++;
}

static void on_close(server_t *s, conn_t *c) {
  fill_in(s, c); /* nothing: the held buffers go back */
  while (c->nheld > 0) {
    evq_pool_put(s->pool, c->held[c->head].id);
    c->head = (c->head + 1) % HOLD_CAP;
    c->nheld--;
  }
  if (c->prev) c->prev->next = c->next;
  else s->live = c->next;
  if (c->next) c->next->prev = c->prev;
  s->nconns--;
  free(c);
}

/* Parses what came and makes the replies, while they fit in out. */
static void answer(server_t *s, conn_t *c) {
  while (!c->closing && c->out_len + MAX_REPLY <= OUT_CAP) {
    request_t rq;
    size_t used = parse(c->in, c->in_len, &rq);
    if (used == 0) return;
    if (rq.status != 200) rq.keep_alive = 0; /* every error closes */
    c->out_len += (size_t)format_reply(c->out + c->out_len, rq.status,
                                       rq.keep_alive, rq.http10, rq.head);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    s->requests++;
    if (!rq.keep_alive) {
      c->closing = 1;
      set_timer(s, c, LINGER_MS);
    }
  }
}

/* The replies made go in one send, if none is in flight; with nothing
 * left to send, a closing connection shuts its write side and lingers
 * (http.c says why). */
static void flush(server_t *s, conn_t *c) {
  if (c->ending || evq_op_active(&c->tx)) return;
  if (c->out_len > 0) {
    memcpy(c->sending, c->out, c->out_len);
    int rc = evq_op_send(s->q, &c->tx, c->fd, c->sending, c->out_len,
                         tok(c, T_SEND));
    if (rc != 0) fail("send", rc);
    c->out_len = 0;
  } else if (c->closing && !c->lingering) {
    c->lingering = 1;
    if (shutdown(c->fd, SHUT_WR) != 0) conn_end(s, c);
  }
}

/* Requests that came are answered and sent; a paused receive resumes
 * once the held buffers are used up. */
static void progress(server_t *s, conn_t *c) {
  fill_in(s, c);
  answer(s, c);
  fill_in(s, c);
  flush(s, c);
  if (c->paused && c->nheld == 0 && !evq_op_active(&c->rx) && !c->ending &&
      !c->eof) {
    c->paused = 0;
    int rc = evq_op_recv_pool(s->q, &c->rx, c->fd, s->pool, tok(c, T_RECV));
    if (rc != 0) conn_end(s, c);
  }
}

static void on_recv(server_t *s, conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (e->flags & EVQ_OP_BUFFER) {
    uint32_t id = evq_op_buffer(e);
    if (c->lingering || c->ending || c->nheld == HOLD_CAP) {
      evq_pool_put(s->pool, id); /* draining, or a client beyond reason */
      if (c->nheld == HOLD_CAP) conn_end(s, c);
      return;
    }
    hold(c, id, (uint32_t)r);
    set_timer(s, c, s->idle_ms);
    if (c->nheld > HOLD_MAX && !c->paused) {
      c->paused = 1;
      evq_op_cancel(s->q, &c->rx);
    }
    progress(s, c);
  } else if (c->paused && r == EVQ_ECANCELED) {
    progress(s, c); /* paused: resumes when the held bytes are used */
  } else if (r == EVQ_ENOBUFS && !c->ending) { /* the pool ran dry: again */
    int rc = evq_op_recv_pool(s->q, &c->rx, c->fd, s->pool, tok(c, T_RECV));
    if (rc != 0) conn_end(s, c);
  } else if (r == 0 && (c->out_len > 0 || evq_op_active(&c->tx))) {
    c->eof = 1; /* the client is done sending: answer, then close */
  } else if (!(e->flags & EVQ_OP_MORE)) {
    conn_end(s, c); /* end of stream, an error, or cancelled by the close */
  }
}

static void on_timer(server_t *s, conn_t *c) {
  if (c->ending) return;
  /* Closing, idle between requests, or not reading its replies (a send
   * still in flight counts as replies waiting): close. */
  if (c->closing || c->in_len == 0 || c->out_len > 0 ||
      evq_op_active(&c->tx)) {
    conn_end(s, c);
    return;
  }
  /* Part of a request came, then nothing for idle_ms: say so, close. */
  c->out_len += (size_t)format_reply(c->out + c->out_len, 408, 0, 0, 0);
  c->closing = 1;
  set_timer(s, c, LINGER_MS);
  flush(s, c);
}

static void accept_again(server_t *s) {
  int rc = evq_op_accept_multi(s->q, &s->accept, s->listener, TOKEN_LISTENER);
  if (rc != 0) fail("accept", rc);
}

static void on_accept(server_t *s, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (!(e->flags & EVQ_OP_MORE)) {
    if (s->stop) return;
    /* The accept ended (out of descriptors with none to refuse, ...):
     * again on a timer, not in a busy loop. */
    int rc = evq_timer_start(s->q, &s->accept_retry, 100 * MS, 0,
                             TOKEN_ACCEPT_RETRY);
    if (rc != 0) fail("timer", rc);
    return;
  }
  if (r < 0) return; /* EVQ_EMFILE said: the pending ones were refused */
  evq_fd_t fd = evq_op_socket(e);
  conn_t *c = s->nconns < s->max_conns ? calloc(1, sizeof *c) : NULL;
  if (!c) { /* full: best-effort 503 (fits a new socket's buffer) */
    char reply[MAX_REPLY];
    int n = format_reply(reply, 503, 0, 0, 0);
    (void)evq_write(NULL, fd, reply, (size_t)n);
    evq_close(fd);
    return;
  }
  c->fd = fd;
  evq_timer_init(&c->timer);
  int rc = evq_op_recv_pool(s->q, &c->rx, fd, s->pool, tok(c, T_RECV));
  if (rc != 0) fail("receive", rc);
  c->next = s->live;
  if (s->live) s->live->prev = c;
  s->live = c;
  s->nconns++;
  set_timer(s, c, s->idle_ms);
}

static void on_event(server_t *s, const evq_event_t *e) {
  uintptr_t t = e->token;
  if (t == TOKEN_STOP) {
    s->stop = 1;
  } else if (t == TOKEN_LISTENER) {
    on_accept(s, e);
  } else if (t == TOKEN_ACCEPT_RETRY) {
    if (!s->stop && !evq_op_active(&s->accept)) accept_again(s);
  } else if (t == TOKEN_STDIN) {
    char buf[256];
    ptrdiff_t r = evq_read(s->q, 0, buf, sizeof buf);
    if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) s->stop = 1;
  } else {
    conn_t *c = (conn_t *)(t & ~(uintptr_t)3);
    switch ((int)(t & 3)) {
    case T_RECV: on_recv(s, c, e); break;
    case T_SEND:
      if (evq_op_result(e) < 0 || (c->eof && c->out_len == 0))
        conn_end(s, c);
      else
        progress(s, c);
      break;
    case T_CLOSE: on_close(s, c); break;
    default: on_timer(s, c); break;
    }
  }
}

int http_run_io(long port, long max_conns, long idle_ms, int until_eof) {
  server_t s = {.max_conns = max_conns, .idle_ms = idle_ms};
  /* One thread makes the queue and waits: on io_uring the option lets
   * the kernel keep completions' work for that thread's wait instead of
   * interrupting it for each (docs/performance.md: about half the server
   * CPU per request); other backends ignore it. */
  evq_options_t opts = {.flags = EVQ_OPT_ONE_WAITER};
  int rc = evq_create(&s.q, &opts);
  if (rc != 0) fail("create", rc);
  if ((rc = stop_on_signals(s.q)) != 0) fail("signals", rc);
  if ((rc = evq_pool_create(s.q, &s.pool, POOL_BUFS, POOL_SIZE)) != 0)
    fail("pool", rc);
  evq_timer_init(&s.accept_retry);
  evq_op_init(&s.accept);
  if ((rc = evq_tcp_listen(&s.listener, "127.0.0.1", (uint16_t)port, 511)))
    fail("listen", rc);
  accept_again(&s);
  if (until_eof &&
      (rc = evq_register(s.q, 0, EVQ_READABLE, EVQ_LEVEL, TOKEN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  printf("listening on 127.0.0.1:%d (completion operations: %s)\n",
         evq_socket_port(s.listener),
         evq_io_path(s.q, EVQ_IO_RECV_POOL) == EVQ_PATH_EMULATED ? "emulated"
                                                                 : "native");
  fflush(stdout);
  evq_event_t ev[256];
  while (!s.stop) {
    int n = evq_wait(s.q, ev, 256, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) on_event(&s, &ev[i]);
  }
  /* Stopping: every connection ends, the accept too; their completions
   * (and each connection's memory) come back through the same loop. */
  for (conn_t *c = s.live; c; c = c->next) conn_end(&s, c);
  if (evq_op_active(&s.accept)) evq_op_cancel(s.q, &s.accept);
  while (s.live || evq_op_active(&s.accept)) {
    int n = evq_wait(s.q, ev, 256, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) on_event(&s, &ev[i]);
  }
  if (until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  if (evq_timer_active(&s.accept_retry)) evq_timer_stop(s.q, &s.accept_retry);
  evq_op_t cl;
  evq_op_init(&cl);
  if ((rc = evq_op_close(s.q, &cl, s.listener, 0)) != 0) fail("close", rc);
  while (evq_op_active(&cl)) (void)evq_wait(s.q, ev, 256, EVQ_FOREVER);
  if ((rc = evq_pool_free(s.pool)) != 0) fail("pool free", rc);
  evq_free(s.q);
  printf("answered %llu requests\n", s.requests);
  return 0;
}
