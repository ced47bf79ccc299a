/* ping-pong echo server, evq completions (evq_io.h): the server of
 * bench/pingpong/uring.c written against evq. A multishot accept; per
 * connection a pool receive, each buffer copied out and given back at
 * once; one send per connection in flight holding every byte received
 * since the last one (a second buffer collects what comes meanwhile: evq
 * keeps one send in flight per socket anyway); a close at the end of the
 * stream. A client with more than OUT_CAP bytes unanswered is cut off, as
 * the epoll server closes a connection whose write falls short.
 *
 * The backend is evq's default or the one EVQ_BACKEND names, as for
 * bench/pingpong/evq.c: EVQ_BACKEND=epoll gives evq's emulation on epoll,
 * EVQ_BACKEND=io_uring the io_uring backend (native where the kernel has
 * the operations: evq_io_path() says). The queue is made with
 * EVQ_OPT_ONE_WAITER: the server has one thread, and the option gives
 * evq's ring the SINGLE_ISSUER and DEFER_TASKRUN that the raw io_uring
 * server sets (other backends ignore it); one_waiter=0 leaves it out. */
#define LIB "evq_io"
#include "../common.h"
#include <evq_io.h>

#define CAP 256
#define POOL_BUFS 256   /* at least CAP: a batch lends at most one each */
#define POOL_SIZE 4096  /* the client's messages are 32 bytes (at most 4096) */
#define OUT_CAP 16384

/* A completion's token: the connection, and which of its operations. */
enum { T_RECV = 1, T_SEND = 2, T_CLOSE = 3 };
#define TOKEN(c, t) ((uintptr_t)(c) | (t))

typedef struct conn {
  evq_fd_t fd;
  evq_op_t rx, tx, cl;
  struct conn *next;    /* the free list */
  unsigned char busy;   /* a send is in flight, from out[fill ^ 1] */
  unsigned char queued; /* on the list of connections to send for */
  unsigned char ended;  /* the receive ended; the close is under way */
  unsigned char broken; /* a send failed: send no more */
  unsigned char fill;   /* out[fill] collects the bytes to send */
  uint32_t len[2];      /* bytes in out[i] */
  char out[2][OUT_CAP];
} conn_t;

static evq_t *q;
static evq_pool_t *pool;
static conn_t *spare;
static conn_t **todo;
static int ntodo, todo_cap;

static void fail(const char *what, int rc) {
  fprintf(stderr, "%s: %s: %s\n", LIB, what, evq_strerror(rc));
  exit(1);
}

static void want_send(conn_t *c) {
  if (c->queued || c->busy) return;
  if (ntodo == todo_cap) {
    todo_cap = todo_cap ? 2 * todo_cap : 256;
    todo = realloc(todo, sizeof *todo * (size_t)todo_cap);
    if (!todo) bench_die("realloc");
  }
  c->queued = 1;
  todo[ntodo++] = c;
}

static void end(conn_t *c) {
  c->ended = 1;
  int rc = evq_op_close(q, &c->cl, c->fd, TOKEN(c, T_CLOSE));
  if (rc < 0) fail("evq_op_close", rc);
}

/* The n bytes received join out[fill]; too many cut the client off. */
static void echo(conn_t *c, const void *buf, uint32_t n) {
  if (c->broken || c->ended) return;
  uint32_t *len = &c->len[c->fill];
  if (n > OUT_CAP - *len) {
    end(c); /* the close ends the receive and a send in flight */
    return;
  }
  memcpy(c->out[c->fill] + *len, buf, n);
  *len += n;
  want_send(c);
}

static void on_accept(const evq_event_t *e, evq_op_t *acc, evq_fd_t lfd) {
  bench_let_signals_in(); /* native on io_uring: no other system call */
  int32_t r = evq_op_result(e);
  if (r >= 0) {
    conn_t *c = spare;
    if (c) {
      spare = c->next;
    } else { /* not calloc: zeroing the output buffers would be counted */
      if (!(c = malloc(sizeof *c))) bench_die("malloc");
      evq_op_init(&c->rx);
      evq_op_init(&c->tx);
      evq_op_init(&c->cl);
    }
    c->fd = evq_op_socket(e);
    c->busy = c->queued = c->ended = c->broken = c->fill = 0;
    c->len[0] = c->len[1] = 0;
    int rc = evq_op_recv_pool(q, &c->rx, c->fd, pool, TOKEN(c, T_RECV));
    if (rc < 0) {
      fprintf(stderr, "%s: evq_op_recv_pool: %s\n", LIB, evq_strerror(rc));
      evq_close(c->fd);
      c->next = spare;
      spare = c;
    }
  }
  if (!(e->flags & EVQ_OP_MORE)) {
    int rc = evq_op_accept_multi(q, acc, lfd, 0);
    if (rc < 0) fail("evq_op_accept_multi", rc);
  }
}

static void on_recv(conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (e->flags & EVQ_OP_BUFFER) {
    uint32_t id = evq_op_buffer(e);
    echo(c, evq_pool_buf(pool, id), (uint32_t)r);
    evq_pool_put(pool, id);
  }
  if ((e->flags & EVQ_OP_MORE) || c->ended) return;
  if (r == EVQ_ENOBUFS) { /* buffers went back at once: receive again */
    int rc = evq_op_recv_pool(q, &c->rx, c->fd, pool, TOKEN(c, T_RECV));
    if (rc == 0) return;
  }
  end(c); /* end of stream or an error: the close ends a send in flight */
}

static void on_send(conn_t *c, const evq_event_t *e) {
  c->busy = 0;
  c->len[c->fill ^ 1] = 0;
  if (evq_op_result(e) < 0)
    c->broken = 1; /* the receive will see the end */
  else if (c->len[c->fill] && !c->ended)
    want_send(c);
}

/* One send per connection that has bytes to send and none in flight. */
static void flush(void) {
  for (int i = 0; i < ntodo; i++) {
    conn_t *c = todo[i];
    c->queued = 0;
    if (c->busy || c->ended || c->broken || !c->len[c->fill]) continue;
    int s = c->fill;
    c->fill ^= 1;
    int rc = evq_op_send(q, &c->tx, c->fd, c->out[s], c->len[s],
                         TOKEN(c, T_SEND));
    if (rc < 0) fail("evq_op_send", rc);
    c->busy = 1;
  }
  ntodo = 0;
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  evq_options_t opts = {0};
  if (bench_arg("one_waiter", 1)) opts.flags = EVQ_OPT_ONE_WAITER;
  int rc = evq_create(&q, &opts);
  if (rc < 0) fail("evq_create", rc);
  evq_fd_t lfd;
  rc = evq_tcp_listen(&lfd, "127.0.0.1", (uint16_t)bench_arg("port", 0), 1024);
  if (rc < 0) fail("evq_tcp_listen", rc);
  rc = evq_pool_create(q, &pool, POOL_BUFS, POOL_SIZE);
  if (rc < 0) fail("evq_pool_create", rc);
  static evq_op_t acc;
  rc = evq_op_accept_multi(q, &acc, lfd, 0);
  if (rc < 0) fail("evq_op_accept_multi", rc);
  bench_announce_port(evq_socket_port(lfd));
  for (;;) {
    evq_event_t ev[CAP];
    int n = evq_wait(q, ev, CAP, EVQ_FOREVER);
    if (n < 0) fail("evq_wait", n);
    for (int i = 0; i < n; i++) {
      const evq_event_t *e = &ev[i];
      if (e->token == 0) {
        on_accept(e, &acc, lfd);
        continue;
      }
      conn_t *c = (conn_t *)(e->token & ~(uintptr_t)3);
      switch (e->token & 3) {
      case T_RECV: on_recv(c, e); break;
      case T_SEND: on_send(c, e); break;
      default: /* the close came after every other operation of the
                  socket: the connection is free */
        c->next = spare;
        spare = c;
        break;
      }
    }
    flush();
  }
}
