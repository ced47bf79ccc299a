/*
 * evq_resp --completion: the server of resp.c written with completion
 * operations (evq_io.h) instead of readiness. The kernel (io_uring) or evq
 * (elsewhere) accepts, receives and sends; the program parses, answers and
 * decides when to stop reading. What differs from resp.c, and why:
 *
 *  - one multishot accept serves the listener's whole life;
 *  - each connection has one pool receive, and its commands are parsed
 *    where they arrived, in the pool's buffer: a buffer whose commands are
 *    all answered goes straight back (evq_pool_put), copied nowhere. Only
 *    a command cut by a buffer's end is copied, into the connection's in,
 *    and the next buffers are joined to it there until in holds no part of
 *    a command; then parsing goes back to the buffers;
 *  - replies gather in one of two out buffers while the other is being
 *    sent. A send is submitted as soon as a batch of commands is answered,
 *    even with the previous one still in flight: evq sends them in
 *    submission order, never interleaved. With both in flight answering
 *    waits, which is resp.c's "64 KiB of replies wait";
 *  - buffers not answered yet are held; past HOLD_MAX of them the receive
 *    is cancelled (its data waits in the socket) and submitted again once
 *    they are used up, where resp.c simply stops reading;
 *  - the pool is the queue's, shared by every connection. A receive is
 *    never submitted while every buffer is lent (it could only end at once
 *    with EVQ_ENOBUFS): it waits, starved, until one comes back;
 *  - a connection ends with evq_op_close, its receive (and perhaps sends)
 *    still in flight: their completions come first, the close's last, and
 *    only then is its memory freed.
 */
#include <evq_io.h>

#include "resp_common.h"

#include <stddef.h>
#include <stdint.h>
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
/* Held buffers at most: the kernel's receive runs on until the cancel
 * reaches it and may fill many buffers meanwhile, never more than the
 * pool has. */
#define HOLD_CAP POOL_BUFS
/* A connection's tokens: its address with what its event is for in the
 * low bits (a conn_t from malloc is at least 8-aligned). */
enum { T_RECV = 0, T_SEND = 1 /* 1, 2: out[0], out[1] */, T_CLOSE = 3,
       T_TIMER = 4, T_MASK = 7 };

typedef struct conn {
  evq_fd_t fd;
  evq_op_t rx, cl, tx[2];      /* tx[i] sends out[i] */
  evq_timer_t timer;           /* idle timeout, then the linger limit */
  int cur;                     /* out[cur] gathers replies, never in flight */
  int closing;                 /* last reply made: close once it is sent */
  int lingering;               /* sent; write side shut, draining input */
  int ending;                  /* evq_op_close submitted */
  int eof;                     /* the client sent all it will */
  int paused;                  /* the receive is down: cancelled for room,
                                  or it met an empty pool */
  int starved;                 /* to submit again once a buffer is free */
  int nheld, head;             /* buffers not answered yet, a ring */
  uint32_t held_off;           /* bytes of the first one already used */
  size_t in_len;               /* a command cut by a buffer's end */
  struct conn *prev, *next;
  struct { uint32_t id, len; } held[HOLD_CAP]; /* the big parts, last */
  resp_out_t out[2];
  char in[IN_CAP];
} conn_t;

typedef struct server {
  evq_t *q;
  evq_pool_t *pool;
  evq_fd_t listener;
  evq_op_t accept;
  evq_timer_t accept_retry;
  conn_t *live;
  resp_t *db;
  long nconns, max_conns, idle_ms, nstarved;
  uint32_t lent;               /* pool buffers lent to us, not given back */
  int stop;
} server_t;

static uintptr_t tok(conn_t *c, int what) { return (uintptr_t)c | (uintptr_t)what; }

static void set_timer(server_t *s, conn_t *c, int64_t ms) {
  int rc = evq_timer_start(s->q, &c->timer, ms * MS, 0, tok(c, T_TIMER));
  if (rc != 0) fail("timer", rc);
}

static void give_back(server_t *s, uint32_t id) {
  int rc = evq_pool_put(s->pool, id);
  if (rc != 0) fail("pool put", rc);
  s->lent--;
}

static void drop_head(server_t *s, conn_t *c) {
  give_back(s, c->held[c->head].id);
  c->head = (c->head + 1) % HOLD_CAP;
  c->nheld--;
  c->held_off = 0;
}

/* Ends c: its operations complete (cancelled, unless done), then the
 * close, whose completion frees c (on_close). */
static void conn_end(server_t *s, conn_t *c) {
  if (c->ending) return;
  c->ending = 1;
  while (c->nheld > 0) drop_head(s, c);
  if (c->starved) c->starved = 0, s->nstarved--;
  if (evq_timer_active(&c->timer)) evq_timer_stop(s->q, &c->timer);
  int rc = evq_op_close(s->q, &c->cl, c->fd, tok(c, T_CLOSE));
  if (rc != 0) fail("close", rc);
}

static void on_close(server_t *s, conn_t *c) {
  if (c->prev) c->prev->next = c->next;
  else s->live = c->next;
  if (c->next) c->next->prev = c->prev;
  s->nconns--;
  free(c);
}

/* Submits c's pool receive, unless every buffer is lent: then it waits,
 * starved, for resume_starved. */
static void receive(server_t *s, conn_t *c) {
  if (s->lent == POOL_BUFS) {
    if (!c->starved) c->starved = 1, s->nstarved++;
    return;
  }
  if (c->starved) c->starved = 0, s->nstarved--;
  int rc = evq_op_recv_pool(s->q, &c->rx, c->fd, s->pool, tok(c, T_RECV));
  if (rc != 0) conn_end(s, c);
}

static void resume_starved(server_t *s) {
  for (conn_t *c = s->live; c && s->nstarved > 0 && s->lent < POOL_BUFS;
       c = c->next)
    if (c->starved) receive(s, c);
}

/* The last reply is made: nothing more is answered, what came after it
 * goes back, and LINGER_MS bound what is left. */
static void begin_close(server_t *s, conn_t *c) {
  c->closing = 1;
  while (c->nheld > 0) drop_head(s, c);
  c->in_len = 0;
  set_timer(s, c, LINGER_MS);
}

/* Answers what came, in order, into out[cur] until OUT_SOFT bytes wait
 * there or the last reply is made; returns resp_answer's reason. */
static int consume(server_t *s, conn_t *c) {
  resp_out_t *o = &c->out[c->cur];
  size_t used;
  for (;;) {
    if (c->in_len > 0) { /* a cut command: join the next buffers to it */
      while (c->nheld > 0 && c->in_len < IN_CAP) {
        uint32_t len = c->held[c->head].len;
        size_t n = len - c->held_off, room = IN_CAP - c->in_len;
        if (n > room) n = room;
        memcpy(c->in + c->in_len, (char *)evq_pool_buf(s->pool,
               c->held[c->head].id) + c->held_off, n);
        c->in_len += n;
        c->held_off += (uint32_t)n;
        if (c->held_off == len) drop_head(s, c);
      }
      int why = resp_answer(s->db, c->in, c->in_len, IN_CAP, o, &used);
      memmove(c->in, c->in + used, c->in_len - used);
      c->in_len -= used;
      if (why != RESP_MORE || (c->in_len > 0 && c->nheld == 0)) return why;
      continue; /* in is used up, or full again: go on */
    }
    if (c->nheld == 0) return RESP_MORE;
    uint32_t len = c->held[c->head].len;
    const char *p = (char *)evq_pool_buf(s->pool, c->held[c->head].id) +
                    c->held_off;
    size_t n = len - c->held_off;
    int why = resp_answer(s->db, p, n, SIZE_MAX, o, &used);
    if (why != RESP_MORE) {
      c->held_off += (uint32_t)used;
      if (c->held_off == len) drop_head(s, c);
      return why;
    }
    memcpy(c->in, p + used, n - used); /* the start of a command, if any */
    c->in_len = n - used;
    drop_head(s, c);
  }
}

/* Sends out[cur] and makes the other buffer the one that gathers. Its len
 * is emptied now: the bytes are evq's until the send completes, and the
 * buffer is free again as soon as evq_op_active() says so, which happens
 * when the completion is put in a batch, before this program reaches it:
 * a receive handled earlier in that batch may already fill it. */
static void send_out(server_t *s, conn_t *c) {
  resp_out_t *o = &c->out[c->cur];
  int rc = evq_op_send(s->q, &c->tx[c->cur], c->fd, o->p, o->len,
                       tok(c, T_SEND + c->cur));
  if (rc != 0) {
    conn_end(s, c);
    return;
  }
  o->len = 0;
  c->cur ^= 1;
}

/* Answers while a buffer is free for replies, sends them, and then: with
 * every reply sent, closes at the client's end of stream, or lingers after
 * the last reply (resp.c says why); resumes a paused receive once the held
 * buffers are used up. */
static void progress(server_t *s, conn_t *c) {
  while (!c->ending && !c->closing && !evq_op_active(&c->tx[c->cur])) {
    int why = consume(s, c);
    if (why == RESP_CLOSE) begin_close(s, c);
    if (c->out[c->cur].len > 0) send_out(s, c);
    if (why != RESP_FULL) break;
  }
  if (c->ending) return;
  if (!evq_op_active(&c->tx[0]) && !evq_op_active(&c->tx[1])) {
    if (c->eof) {
      conn_end(s, c);
      return;
    }
    if (c->closing && !c->lingering) {
      c->lingering = 1;
      if (shutdown(c->fd, SHUT_WR) != 0) {
        conn_end(s, c);
        return;
      }
    }
  }
  if (c->paused && c->nheld == 0 && !evq_op_active(&c->rx)) {
    c->paused = 0;
    receive(s, c);
  }
}

static void on_recv(server_t *s, conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (e->flags & EVQ_OP_BUFFER) {
    uint32_t id = evq_op_buffer(e);
    s->lent++;
    if (c->ending || c->closing) { /* ending, or draining */
      give_back(s, id);
      return;
    }
    c->held[(c->head + c->nheld) % HOLD_CAP].id = id;
    c->held[(c->head + c->nheld) % HOLD_CAP].len = (uint32_t)r;
    c->nheld++;
    set_timer(s, c, s->idle_ms);
    if (c->nheld > HOLD_MAX && !c->paused) {
      c->paused = 1;
      evq_op_cancel(s->q, &c->rx);
    }
    progress(s, c);
  } else if (c->ending) {
    /* the close's doing, or an end before it: the close completes last */
  } else if (r == EVQ_ECANCELED || r == EVQ_ENOBUFS) {
    c->paused = 1; /* submitted again when the held buffers are used up */
    progress(s, c);
  } else if (r < 0 || c->lingering) {
    conn_end(s, c); /* a reset or another error; or done draining */
  } else {
    c->eof = 1; /* answer what came, send it, close */
    c->paused = 0;
    progress(s, c);
  }
}

static void on_send(server_t *s, conn_t *c, const evq_event_t *e) {
  if (c->ending) return;
  if (evq_op_result(e) < 0) conn_end(s, c); /* the stream is broken */
  else progress(s, c);
}

static void accept_again(server_t *s) {
  int rc = evq_op_accept_multi(s->q, &s->accept, s->listener, TOKEN_LISTENER);
  if (rc != 0) fail("accept", rc);
}

static void on_accept(server_t *s, const evq_event_t *e) {
  if (!(e->flags & EVQ_OP_MORE)) {
    if (s->stop) return;
    /* The accept ended (out of descriptors with none to refuse, ...):
     * again on a timer, not in a busy loop. */
    int rc = evq_timer_start(s->q, &s->accept_retry, 100 * MS, 0,
                             TOKEN_ACCEPT_RETRY);
    if (rc != 0) fail("timer", rc);
    return;
  }
  if (evq_op_result(e) < 0) return; /* EVQ_EMFILE: the pending refused */
  evq_fd_t fd = evq_op_socket(e);   /* no operation yet: evq_close is its way */
  if (s->stop) {
    evq_close(fd);
    return;
  }
  conn_t *c = s->nconns < s->max_conns ? malloc(sizeof *c) : NULL;
  if (!c) { /* full: best effort reply (fits a new socket's buffer) */
    (void)evq_write(NULL, fd, resp_full, sizeof resp_full - 1);
    evq_close(fd);
    return;
  }
  /* Zeroed up to the buffers (the operations too: zeroed is ready), not
   * the 400 KiB of them, which calloc would clear for every connection. */
  memset(c, 0, offsetof(conn_t, held));
  c->out[0].len = c->out[1].len = 0;
  c->fd = fd;
  evq_timer_init(&c->timer);
  c->next = s->live;
  if (s->live) s->live->prev = c;
  s->live = c;
  s->nconns++;
  set_timer(s, c, s->idle_ms);
  receive(s, c);
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
    conn_t *c = (conn_t *)(t & ~(uintptr_t)T_MASK);
    switch ((int)(t & T_MASK)) {
    case T_RECV: on_recv(s, c, e); break;
    case T_SEND: case T_SEND + 1: on_send(s, c, e); break;
    case T_CLOSE: on_close(s, c); break;
    default: if (!c->ending) conn_end(s, c); /* idle, or done lingering */
    }
  }
}

/* Waits once and handles the batch; a buffer given back may let a
 * starved receive go on. */
static void turn(server_t *s) {
  evq_event_t ev[256];
  int n = evq_wait(s->q, ev, 256, EVQ_FOREVER);
  if (n < 0) fail("wait", n);
  for (int i = 0; i < n; i++) on_event(s, &ev[i]);
  if (s->nstarved > 0 && s->lent < POOL_BUFS) resume_starved(s);
}

int resp_run_io(resp_t *db, const resp_opts_t *o) {
  server_t s = {.db = db, .max_conns = o->max_conns, .idle_ms = o->idle_ms};
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
  if ((rc = evq_tcp_listen(&s.listener, "127.0.0.1", (uint16_t)o->port, 511)))
    fail("listen", rc);
  accept_again(&s);
  if (o->until_eof &&
      (rc = evq_register(s.q, 0, EVQ_READABLE, EVQ_LEVEL, TOKEN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  printf("listening on 127.0.0.1:%d (completion operations: %s)\n",
         evq_socket_port(s.listener),
         evq_io_path(s.q, EVQ_IO_RECV_POOL) == EVQ_PATH_EMULATED ? "emulated"
                                                                 : "native");
  fflush(stdout);
  while (!s.stop) turn(&s);
  if (o->until_eof && (rc = evq_deregister(s.q, 0)) != 0) fail("deregister", rc);
  /* Stopping: every connection ends, the accept too; their completions
   * (and each connection's memory) come back through the same loop. */
  for (conn_t *c = s.live; c; c = c->next) conn_end(&s, c);
  if (evq_op_active(&s.accept)) evq_op_cancel(s.q, &s.accept);
  while (s.live || evq_op_active(&s.accept)) turn(&s);
  if (evq_timer_active(&s.accept_retry)) evq_timer_stop(s.q, &s.accept_retry);
  evq_op_t cl;
  evq_op_init(&cl);
  if ((rc = evq_op_close(s.q, &cl, s.listener, 0)) != 0) fail("close", rc);
  evq_event_t ev[8];
  while (evq_op_active(&cl)) (void)evq_wait(s.q, ev, 8, EVQ_FOREVER);
  if ((rc = evq_pool_free(s.pool)) != 0) fail("pool free", rc);
  evq_free(s.q);
  return 0;
}
