/* The guide's step 5 (docs/guide.md, "Step 5: graceful shutdown"): the
 * server of step 1 (docs/examples/step1_echo.c) with a graceful shutdown.
 * The guide shows the parts that changed. The suite runs it on every
 * backend against tests/docs/check_steps.c: after SIGTERM new connections
 * are refused and an open one is served until its client closes it, or
 * closed at the deadline (docs/CMakeLists.txt). */
/* A TCP echo server that shuts down gracefully. Arguments: the port (none
 * or 0: any) and how long open connections get to finish, in ms (5000). */
#include <evq_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define MS 1000000LL
/* guide:begin tokens */
enum { LISTENER = 1, STOP = 2, DEADLINE = 3 }; /* a connection's: a pointer */
/* guide:end tokens */

struct conn {
  struct conn *prev, *next; /* the open connections, to close at the end */
  evq_fd_t fd;
  uint32_t watching;        /* EVQ_READABLE, or EVQ_WRITABLE while full */
  size_t len, sent;         /* buf[sent..len) is still to be written */
  char buf[65536];
};
static struct conn *conns;
static int open_conns;

static void conn_close(evq_t *q, struct conn *c) {
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  evq_deregister_close(q, c->fd);
  free(c);
  open_conns--;
}

/* As in step 1: echo, and watch EVQ_WRITABLE instead of reading while
 * what was read is not all written back. */
static void conn_event(evq_t *q, struct conn *c) {
  if (c->sent == c->len) {
    ptrdiff_t r = evq_read(q, c->fd, c->buf, sizeof c->buf);
    if (r == EVQ_EAGAIN) return;
    if (r <= 0) {
      conn_close(q, c);
      return;
    }
    c->len = (size_t)r;
    c->sent = 0;
  }
  ptrdiff_t w = evq_write(q, c->fd, c->buf + c->sent, c->len - c->sent);
  if (w < 0 && w != EVQ_EAGAIN) {
    conn_close(q, c);
    return;
  }
  if (w > 0) c->sent += (size_t)w;
  uint32_t want = c->sent < c->len ? EVQ_WRITABLE : EVQ_READABLE;
  if (want != c->watching) {
    c->watching = want;
    evq_modify(q, c->fd, want, EVQ_LEVEL, (uintptr_t)c);
  }
}

static void accept_all(evq_t *q, evq_fd_t listener) {
  evq_fd_t fd;
  while (evq_accept(q, listener, &fd) == 0) {
    struct conn *c = calloc(1, sizeof *c);
    if (!c || evq_register(q, fd, EVQ_READABLE, EVQ_LEVEL, (uintptr_t)c)) {
      free(c);
      evq_close(fd);
      continue;
    }
    *c = (struct conn){.next = conns, .fd = fd, .watching = EVQ_READABLE};
    if (conns) conns->prev = c;
    conns = c;
    open_conns++;
  }
}

/* guide:begin shutdown */
/* The first SIGINT or SIGTERM: close the listener, so that new connections
 * are refused, and give the open ones until a deadline to finish. */
static void start_shutdown(evq_t *q, evq_fd_t listener, evq_timer_t *deadline,
                           long drain_ms) {
  evq_deregister_close(q, listener);
  evq_timer_start(q, deadline, drain_ms * MS, 0, DEADLINE);
  printf("shutting down: %d connections open, %ld ms to finish\n",
         open_conns, drain_ms);
  fflush(stdout);
}
/* guide:end shutdown */

int main(int argc, char **argv) {
  evq_t *q;
  evq_fd_t listener;
  uint16_t port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 0);
  long drain_ms = argc > 2 ? atol(argv[2]) : 5000;
  int rc = evq_create(&q, NULL);
  if (rc == 0) rc = evq_tcp_listen(&listener, "127.0.0.1", port, 0);
  if (rc != 0) return fprintf(stderr, "evq: %s\n", evq_strerror(rc)), 1;
  evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL, LISTENER);
  evq_signal_add(q, SIGINT, STOP);
  evq_signal_add(q, SIGTERM, STOP);
  printf("listening on 127.0.0.1:%d\n", evq_socket_port(listener));
  fflush(stdout);

  /* guide:begin loop */
  evq_timer_t deadline;
  evq_timer_init(&deadline);
  int draining = 0, cut = 0;
  while (!draining || (open_conns > 0 && !cut)) {
    evq_event_t ev[64];
    int n = evq_wait(q, ev, 64, EVQ_FOREVER);
    if (n < 0) return fprintf(stderr, "evq: %s\n", evq_strerror(n)), 1;
    for (int i = 0; i < n; i++) {
      uintptr_t t = ev[i].token;
      if (t == STOP && !draining) {
        draining = 1;
        start_shutdown(q, listener, &deadline, drain_ms);
      } else if (t == STOP || t == DEADLINE) {
        cut = 1; /* a second signal, or the deadline: stop waiting */
      } else if (t == LISTENER) {
        /* The listener may have been closed by an earlier event of this
         * batch: its event was collected before that. */
        if (!draining) accept_all(q, listener);
      } else {
        conn_event(q, (struct conn *)t);
      }
    }
  }
  if (open_conns > 0) printf("closing %d connections\n", open_conns);
  else puts("drained");
  while (conns) conn_close(q, conns);
  evq_timer_stop(q, &deadline); /* EVQ_ENOENT if it fired: fine */
  evq_free(q);
  return 0;
  /* guide:end loop */
}
