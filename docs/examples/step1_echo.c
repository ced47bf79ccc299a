/* The guide's first server (docs/guide.md, "Step 1: a first server"), shown
 * there whole. The suite runs it on every backend against
 * tests/docs/check_steps.c, which checks every echoed byte of a payload
 * large enough to make the server wait for EVQ_WRITABLE, then stops it
 * with SIGTERM (docs/CMakeLists.txt). */
/* guide:begin program */
/* A TCP echo server on 127.0.0.1; the port is the argument (none: any). */
#include <evq_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

enum { LISTENER = 1, STOP = 2 }; /* tokens; a connection's is its pointer */

struct conn {
  struct conn *prev, *next; /* the open connections, to close at the end */
  evq_fd_t fd;
  uint32_t watching;        /* EVQ_READABLE, or EVQ_WRITABLE while full */
  size_t len, sent;         /* buf[sent..len) is still to be written */
  char buf[65536];
};
static struct conn *conns;

static void conn_close(evq_t *q, struct conn *c) {
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  evq_deregister_close(q, c->fd);
  free(c);
}

/* Level mode: a direction is reported for as long as it is ready. Read only
 * once all that was read is written back, and until then watch EVQ_WRITABLE
 * instead: a client that does not read is not read from (back-pressure). */
static void conn_event(evq_t *q, struct conn *c) {
  if (c->sent == c->len) {
    ptrdiff_t r = evq_read(q, c->fd, c->buf, sizeof c->buf);
    if (r == EVQ_EAGAIN) return; /* readiness is a hint */
    if (r <= 0) { /* 0: end of stream; < 0: an error */
      conn_close(q, c);
      return;
    }
    c->len = (size_t)r;
    c->sent = 0;
  }
  ptrdiff_t w = evq_write(q, c->fd, c->buf + c->sent, c->len - c->sent);
  if (w < 0 && w != EVQ_EAGAIN) { /* EVQ_EPIPE, EVQ_ECONNRESET, ... */
    conn_close(q, c);
    return;
  }
  if (w > 0) c->sent += (size_t)w; /* all of it, or only a part */
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
  }
}

int main(int argc, char **argv) {
  evq_t *q;
  evq_fd_t listener;
  uint16_t port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 0);
  int rc = evq_create(&q, NULL);
  if (rc == 0) rc = evq_tcp_listen(&listener, "127.0.0.1", port, 0);
  if (rc != 0) return fprintf(stderr, "evq: %s\n", evq_strerror(rc)), 1;
  evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL, LISTENER);
  evq_signal_add(q, SIGINT, STOP);  /* signals as events: Ctrl-C, */
  evq_signal_add(q, SIGTERM, STOP); /* kill (POSIX only) */
  printf("listening on 127.0.0.1:%d\n", evq_socket_port(listener));
  fflush(stdout);

  for (int stop = 0; !stop;) {
    evq_event_t ev[64];
    int n = evq_wait(q, ev, 64, EVQ_FOREVER);
    if (n < 0) return fprintf(stderr, "evq: %s\n", evq_strerror(n)), 1;
    for (int i = 0; i < n; i++) {
      if (ev[i].token == STOP) stop = 1;
      else if (ev[i].token == LISTENER) accept_all(q, listener);
      else conn_event(q, (struct conn *)ev[i].token);
    }
  }
  while (conns) conn_close(q, conns); /* evq closes nothing of yours */
  evq_deregister_close(q, listener);
  evq_free(q); /* and gives the signals back their old disposition */
  puts("stopped");
  return 0;
}
/* guide:end program */
