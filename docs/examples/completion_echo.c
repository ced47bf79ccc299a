/* The guide's completion server (docs/guide.md, "Readiness or completion"),
 * shown there whole: the echo server of step 1 (docs/examples/step1_echo.c)
 * written with completion operations only (include/evq_io.h). The suite
 * runs it on every backend against tests/docs/check_steps.c, as step 1:
 * every echoed byte of a payload large enough to use up the connection's
 * buffers (back-pressure through EVQ_ENOBUFS), then SIGTERM with a
 * connection open (docs/CMakeLists.txt). */
/* guide:begin program */
/* A TCP echo server on 127.0.0.1 made of completions: evq does the I/O and
 * reports the end of each operation. The port is the argument (none: any). */
#include <evq_io.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

enum { STOP = 1 }; /* the signals' token; an operation's is its struct req */
enum { BUFFERS = 4, BUFFER_SIZE = 16384 }; /* per connection: 64 KiB */

enum kind { ACCEPT, RECV, SEND, CLOSE };
struct req { /* an operation, and what its completions are about */
  evq_op_t op;
  enum kind kind;
  struct conn *c; /* NULL: the listener's */
};

struct conn {
  struct conn *prev, *next; /* the open connections, to close at the end */
  evq_fd_t fd;
  evq_pool_t *pool;         /* its receive buffers */
  struct req recv, close;
  struct req send[BUFFERS]; /* send[id] sends pool buffer id back */
  int sending;              /* sends in flight: buffers not yet given back */
  int starved;              /* the receive ended with EVQ_ENOBUFS */
  int eof;                  /* the client ended its stream */
  int closing;              /* evq_op_close() submitted: no new operation */
};
static struct conn *conns;

/* Ends every operation on the socket, then closes it; the close's own
 * completion comes after theirs, and frees the connection. */
static void conn_close(evq_t *q, struct conn *c) {
  if (c->closing) return;
  c->closing = 1;
  evq_op_close(q, &c->close.op, c->fd, (uintptr_t)&c->close);
}

static void conn_free(struct conn *c) {
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  evq_pool_free(c->pool); /* every buffer is back: the close came last */
  free(c);
}

static void recv_start(evq_t *q, struct conn *c) {
  if (evq_op_recv_pool(q, &c->recv.op, c->fd, c->pool, (uintptr_t)&c->recv))
    conn_close(q, c);
}

/* A pool of its own per connection: a client that does not read holds
 * its own buffers in sends that cannot finish, never another's. */
static void conn_open(evq_t *q, evq_fd_t fd) {
  struct conn *c = calloc(1, sizeof *c); /* zeroed: its ops are ready */
  if (!c || evq_pool_create(q, &c->pool, BUFFERS, BUFFER_SIZE) != 0) {
    free(c);
    evq_close(fd); /* no operation on it yet: a plain close */
    return;
  }
  c->fd = fd;
  c->recv = (struct req){.kind = RECV, .c = c};
  c->close = (struct req){.kind = CLOSE, .c = c};
  for (int i = 0; i < BUFFERS; i++)
    c->send[i] = (struct req){.kind = SEND, .c = c};
  c->next = conns;
  if (conns) conns->prev = c;
  conns = c;
  recv_start(q, c);
}

/* The pool ran dry while data waited: receive again once one is free. */
static void resume(evq_t *q, struct conn *c) {
  if (c->starved && !c->closing && c->sending < BUFFERS) {
    c->starved = 0;
    recv_start(q, c);
  }
}

static void on_recv(evq_t *q, struct conn *c, const evq_event_t *ev) {
  int32_t r = evq_op_result(ev);
  if (ev->flags & EVQ_OP_BUFFER) { /* r bytes in a lent buffer */
    uint32_t id = evq_op_buffer(ev);
    if (c->closing) { /* made before our close took effect */
      evq_pool_put(c->pool, id);
      return;
    }
    /* Send the buffer itself back; it is evq's until the send completes,
     * and ours again after that, to give back. */
    c->sending++;
    if (evq_op_send(q, &c->send[id].op, c->fd, evq_pool_buf(c->pool, id),
                    (size_t)r, (uintptr_t)&c->send[id]) != 0) {
      c->sending--;
      evq_pool_put(c->pool, id);
      conn_close(q, c);
    }
    return;
  }
  /* The receive's final completion, without a buffer. */
  if (r == EVQ_ENOBUFS) { /* every buffer is in a send: the data waits */
    c->starved = 1;
    resume(q, c);
  } else if (r == 0) { /* end of stream: close once the echo is out */
    c->eof = 1;
    if (c->sending == 0) conn_close(q, c);
  } else { /* an error, or EVQ_ECANCELED by our close */
    conn_close(q, c);
  }
}

static void on_send(evq_t *q, struct req *s, const evq_event_t *ev) {
  struct conn *c = s->c;
  evq_pool_put(c->pool, (uint32_t)(s - c->send)); /* its buffer: free */
  c->sending--;
  if (evq_op_result(ev) < 0) /* EVQ_EPIPE, EVQ_ECONNRESET, EVQ_ECANCELED */
    conn_close(q, c);        /* a send failed: the stream is broken */
  else if (c->eof && c->sending == 0)
    conn_close(q, c);
  else
    resume(q, c);
}

/* SIGINT, SIGTERM, or the listener failed: close the listener (which ends
 * its accept) and every connection, and wait for their closes. */
static void stop(evq_t *q, evq_fd_t listener, struct req *close_listener) {
  evq_op_close(q, &close_listener->op, listener, (uintptr_t)close_listener);
  for (struct conn *c = conns; c; c = c->next) conn_close(q, c);
}

int main(int argc, char **argv) {
  evq_t *q;
  evq_fd_t listener;
  uint16_t port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 0);
  struct req acc = {.kind = ACCEPT}, close_listener = {.kind = CLOSE};
  int rc = evq_create(&q, NULL);
  if (rc == 0) rc = evq_tcp_listen(&listener, "127.0.0.1", port, 0);
  /* One submission accepts every connection, each a completion. */
  if (rc == 0)
    rc = evq_op_accept_multi(q, &acc.op, listener, (uintptr_t)&acc);
  if (rc != 0) return fprintf(stderr, "evq: %s\n", evq_strerror(rc)), 1;
  evq_signal_add(q, SIGINT, STOP);
  evq_signal_add(q, SIGTERM, STOP);
  printf("listening on 127.0.0.1:%d\n", evq_socket_port(listener));
  fflush(stdout);

  int stopping = 0, listening = 1;
  while (!stopping || listening || conns) {
    evq_event_t ev[64];
    int n = evq_wait(q, ev, 64, EVQ_FOREVER);
    if (n < 0) return fprintf(stderr, "evq: %s\n", evq_strerror(n)), 1;
    for (int i = 0; i < n; i++) {
      if (ev[i].token == STOP) {
        if (!stopping) stop(q, listener, &close_listener);
        stopping = 1;
        continue;
      }
      struct req *r = (struct req *)ev[i].token;
      int32_t res = evq_op_result(&ev[i]);
      if (r->kind == ACCEPT && res >= 0) { /* a connection */
        if (stopping) evq_close(evq_op_socket(&ev[i]));
        else conn_open(q, evq_op_socket(&ev[i]));
      } else if (r->kind == ACCEPT && !(ev[i].flags & EVQ_OP_MORE)) {
        /* The accept ended: EVQ_ECANCELED by our close, or an error. */
        if (!stopping) {
          fprintf(stderr, "accept: %s\n", evq_strerror(res));
          stop(q, listener, &close_listener);
          stopping = 1;
        }
      } else if (r->kind == RECV) {
        on_recv(q, r->c, &ev[i]);
      } else if (r->kind == SEND) {
        on_send(q, r, &ev[i]);
      } else if (r->kind == CLOSE && r->c) {
        conn_free(r->c); /* the last completion of its socket */
      } else if (r->kind == CLOSE) {
        listening = 0;
      } /* else EVQ_EMFILE with EVQ_OP_MORE: the pending connections were
           refused for want of descriptors, and accepting goes on */
    }
  }
  evq_free(q); /* and gives the signals back their old disposition */
  puts("stopped");
  return 0;
}
/* guide:end program */
