/* churn server, evq completions (evq_io.h): the request/answer/close of
 * bench/churn/evq.c as operations. A multishot accept; per connection a
 * receive of one byte into the connection's own buffer, a send of that
 * byte once it came, and evq_op_close once the send completed (a close
 * ends the operations still on its socket, so it waits for the send's
 * completion). Connections are reused from a free list once their close
 * completed.
 *
 * The backend is evq's default or the one EVQ_BACKEND names, as for
 * bench/churn/evq.c: EVQ_BACKEND=epoll gives evq's emulation on epoll,
 * EVQ_BACKEND=io_uring the io_uring backend (native where the kernel has
 * the operations: evq_io_path() says). The queue is made with
 * EVQ_OPT_ONE_WAITER: the server has one thread, and the option gives
 * evq's ring the SINGLE_ISSUER and DEFER_TASKRUN that the raw io_uring
 * server sets (other backends ignore it); one_waiter=0 leaves it out. */
#define LIB "evq_io"
#include "../common.h"
#include <evq_io.h>

#define CAP 256

/* A completion's token: the connection, and which of its operations. */
enum { T_RECV = 1, T_SEND = 2, T_CLOSE = 3 };
#define TOKEN(c, t) ((uintptr_t)(c) | (t))

typedef struct conn {
  evq_fd_t fd;
  evq_op_t rx, tx, cl;
  struct conn *next; /* the free list */
  char b;            /* the byte received, then sent back */
} conn_t;

static evq_t *q;
static conn_t *spare;

static void fail(const char *what, int rc) {
  fprintf(stderr, "%s: %s: %s\n", LIB, what, evq_strerror(rc));
  exit(1);
}

static void end(conn_t *c) {
  int rc = evq_op_close(q, &c->cl, c->fd, TOKEN(c, T_CLOSE));
  if (rc < 0) fail("evq_op_close", rc);
}

static void on_accept(const evq_event_t *e, evq_op_t *acc, evq_fd_t lfd) {
  bench_let_signals_in(); /* native on io_uring: no other system call */
  if (evq_op_result(e) >= 0) {
    conn_t *c = spare;
    if (c) {
      spare = c->next;
    } else {
      if (!(c = malloc(sizeof *c))) bench_die("malloc");
      evq_op_init(&c->rx);
      evq_op_init(&c->tx);
      evq_op_init(&c->cl);
    }
    c->fd = evq_op_socket(e);
    int rc = evq_op_recv(q, &c->rx, c->fd, &c->b, 1, TOKEN(c, T_RECV));
    if (rc < 0) fail("evq_op_recv", rc);
  }
  if (!(e->flags & EVQ_OP_MORE)) {
    int rc = evq_op_accept_multi(q, acc, lfd, 0);
    if (rc < 0) fail("evq_op_accept_multi", rc);
  }
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
      case T_RECV: /* the byte: answer it; else (end, error) close */
        if (evq_op_result(e) == 1) {
          rc = evq_op_send(q, &c->tx, c->fd, &c->b, 1, TOKEN(c, T_SEND));
          if (rc < 0) fail("evq_op_send", rc);
        } else {
          end(c);
        }
        break;
      case T_SEND: end(c); break;
      default: /* the close came after every other operation of the
                  socket: the connection is free */
        c->next = spare;
        spare = c;
        break;
      }
    }
  }
}
