/*
 * evq demo: an echo server and many clients on loopback, all driven by one
 * evq queue on one thread. Each client keeps one message in flight, checks
 * every byte that comes back, and sends the next. Timers print progress and
 * end the run.
 *
 *   evq_demo [connections] [seconds] [backend]
 *
 * Without a backend it runs once on every backend compiled in.
 */
#include <evq_net.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG 64
#define MAX_CONNS 4096
#define TOKEN_LISTENER 1
#define TOKEN_PROGRESS 2
#define TOKEN_END 3
#define TOKEN_CLIENT(i) (0x10000u + (uintptr_t)(i))
#define TOKEN_SERVER(i) (0x20000u + (uintptr_t)(i))

typedef struct conn {
  evq_fd_t fd;
  unsigned char buf[MSG];
  size_t off;       /* bytes of the current message moved so far */
  int writing;      /* client: sending (1) or receiving (0) */
  uint64_t seq;     /* client: messages completed */
} conn_t;

typedef struct demo {
  evq_t *q;
  evq_fd_t listener;
  conn_t clients[MAX_CONNS], servers[MAX_CONNS];
  int nclients, nservers;
  uint64_t messages, bytes_verified, errors;
} demo_t;

static void fill(unsigned char *buf, int id, uint64_t seq) {
  for (int i = 0; i < MSG; i++) buf[i] = (unsigned char)(id * 131 + seq * 7 + i);
}

static void die(const char *what, int rc) {
  fprintf(stderr, "evq_demo: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* Server side: echo whatever arrives, as far as the socket allows. */
static void serve(demo_t *d, conn_t *c) {
  for (;;) {
    if (c->off == 0) {
      ptrdiff_t r = evq_read(d->q, c->fd, c->buf, MSG);
      if (r == EVQ_EAGAIN || r == 0) return;
      if (r < 0) die("server read", (int)r);
      c->off = (size_t)r;
    }
    ptrdiff_t w = evq_write(d->q, c->fd, c->buf, c->off);
    if (w == EVQ_EAGAIN) return;
    if (w < 0) die("server write", (int)w);
    memmove(c->buf, c->buf + w, c->off - (size_t)w);
    c->off -= (size_t)w;
  }
}

/* Client side: send the message, read the echo, verify, repeat. */
static void drive_client(demo_t *d, int id) {
  conn_t *c = &d->clients[id];
  unsigned char want[MSG];
  for (;;) {
    if (c->writing) {
      if (c->off == 0) fill(c->buf, id, c->seq);
      ptrdiff_t w = evq_write(d->q, c->fd, c->buf + c->off, MSG - c->off);
      if (w == EVQ_EAGAIN) return;
      if (w < 0) die("client write", (int)w);
      c->off += (size_t)w;
      if (c->off == MSG) c->writing = 0, c->off = 0;
    } else {
      ptrdiff_t r = evq_read(d->q, c->fd, c->buf + c->off, MSG - c->off);
      if (r == EVQ_EAGAIN) return;
      if (r <= 0) die("client read", r ? (int)r : EVQ_ECONNRESET);
      c->off += (size_t)r;
      if (c->off < MSG) continue;
      fill(want, id, c->seq);
      if (memcmp(want, c->buf, MSG) != 0) d->errors++;
      d->bytes_verified += MSG;
      d->messages++;
      c->seq++;
      c->writing = 1, c->off = 0;
    }
  }
}

static void accept_all(demo_t *d) {
  evq_fd_t fd;
  int rc;
  while ((rc = evq_accept(d->q, d->listener, &fd)) == 0) {
    int i = d->nservers++;
    d->servers[i] = (conn_t){.fd = fd};
    rc = evq_register(d->q, fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      TOKEN_SERVER(i));
    if (rc != 0) die("register server", rc);
  }
  if (rc != EVQ_EAGAIN) die("accept", rc);
}

static int run(const char *backend, int nconns, double seconds) {
  static demo_t d;
  memset(&d, 0, sizeof d);
  evq_options_t opts = {.backend = backend, .max_events = 1024};
  int rc = evq_create(&d.q, &opts);
  if (rc != 0) die("create", rc);
  if ((rc = evq_tcp_listen(&d.listener, "127.0.0.1", 0, 1024)) != 0)
    die("listen", rc);
  int port = evq_socket_port(d.listener);
  evq_register(d.q, d.listener, EVQ_READABLE, EVQ_EDGE, TOKEN_LISTENER);
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &d.clients[i];
    *c = (conn_t){.writing = 1};
    if ((rc = evq_tcp_connect(&c->fd, "127.0.0.1", (uint16_t)port)) != 0)
      die("connect", rc);
    rc = evq_register(d.q, c->fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      TOKEN_CLIENT(i));
    if (rc != 0) die("register client", rc);
  }
  d.nclients = nconns;

  evq_timer_t progress, end;
  evq_timer_init(&progress);
  evq_timer_init(&end);
  const int64_t run_ns = (int64_t)(seconds * 1e9);
  evq_timer_start(d.q, &progress, run_ns / 4, run_ns / 4, TOKEN_PROGRESS);
  evq_timer_start(d.q, &end, run_ns, 0, TOKEN_END);
  int64_t start = evq_now();
  printf("backend %-6s %d connections, %.1f s\n", evq_backend(d.q), nconns,
         seconds);

  evq_event_t ev[1024];
  for (int done = 0; !done;) {
    int n = evq_wait(d.q, ev, 1024, EVQ_FOREVER);
    if (n < 0) die("wait", n);
    for (int i = 0; i < n; i++) {
      uintptr_t t = ev[i].token;
      if (t == TOKEN_LISTENER) accept_all(&d);
      else if (t == TOKEN_END) done = 1;
      else if (t == TOKEN_PROGRESS)
        printf("  %8.0f messages/s so far\n",
               d.messages / ((evq_now() - start) / 1e9));
      else if (t >= TOKEN_SERVER(0)) serve(&d, &d.servers[t - TOKEN_SERVER(0)]);
      else drive_client(&d, (int)(t - TOKEN_CLIENT(0)));
    }
  }
  double elapsed = (evq_now() - start) / 1e9;
  printf("  connections %d accepted %d, messages %llu, %.0f messages/s, "
         "%llu bytes verified, %llu mismatches\n",
         nconns, d.nservers, (unsigned long long)d.messages,
         d.messages / elapsed, (unsigned long long)d.bytes_verified,
         (unsigned long long)d.errors);
  for (int i = 0; i < d.nclients; i++) {
    evq_deregister(d.q, d.clients[i].fd);
    evq_close(d.clients[i].fd);
  }
  for (int i = 0; i < d.nservers; i++) {
    evq_deregister(d.q, d.servers[i].fd);
    evq_close(d.servers[i].fd);
  }
  evq_deregister(d.q, d.listener);
  evq_close(d.listener);
  evq_timer_stop(d.q, &progress);
  evq_free(d.q);
  return d.errors == 0 && d.messages > 0 && d.nservers == nconns ? 0 : 1;
}

int main(int argc, char **argv) {
  int nconns = argc > 1 ? atoi(argv[1]) : 100;
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  if (nconns < 1 || nconns > MAX_CONNS || !(seconds > 0)) {
    fprintf(stderr, "usage: evq_demo [connections 1..%d] [seconds] [backend]\n",
            MAX_CONNS);
    return 2;
  }
  if (argc > 3) return run(argv[3], nconns, seconds);
  const char *names[8];
  int n = evq_backends(names, 8), status = 0;
  for (int i = 0; i < n && i < 8; i++) status |= run(names[i], nconns, seconds);
  return status;
}
