/*
 * evq_reuseport: an echo server on N threads, each with its own queue and
 * its own listening socket, all bound to one port with SO_REUSEPORT, so
 * the kernel spreads new connections over the threads and they share
 * nothing: no lock on any hot path. (POSIX. Linux and DragonFly balance
 * connections so; FreeBSD wants SO_REUSEPORT_LB; Windows has no such
 * option and this example is not built there.)
 *
 *   evq_reuseport [port] [--threads N] [--max-conns N] [--until-eof]
 *
 * Prints "listening on 127.0.0.1:PORT (N threads)" when every thread is
 * ready; echoes every byte back, 16 KiB buffered per connection at most;
 * --max-conns (default 1000) applies to each thread. It stops on SIGINT or
 * SIGTERM or, with --until-eof, when standard input ends: the main thread,
 * which waits for these on a queue of its own, wakes each loop with
 * evq_wake() (the only wake-up a loop gets means "stop"), joins them and
 * prints "thread I: N connections" for each.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* SO_REUSEPORT */
#include <evq_net.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_THREADS 64
#define TOKEN_LISTENER 1
#define TOKEN_STOP 2            /* the queue's wake token */
#define TOKEN_ACCEPT_RETRY 3

typedef struct conn {
  evq_fd_t fd;
  size_t len;
  int dead;
  struct conn *prev, *next;
  char buf[BUF_SIZE];
} conn_t;

typedef struct loop {           /* one per thread; only it touches this */
  int id;
  evq_t *q;
  evq_fd_t listener;
  evq_timer_t accept_retry;
  conn_t *live, *dead;
  long nconns, max_conns;
  unsigned long long connections;
} loop_t;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_reuseport: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

/* evq_tcp_listen binds at once, leaving no moment to set SO_REUSEPORT,
 * so this socket is made with the OS calls. evq polls it all the same. */
static int listen_shared(uint16_t port, evq_fd_t *out) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(fd, 511) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    perror("evq_reuseport: listen");
    close(fd);
    return -1;
  }
  *out = fd;
  return 0;
}

static void conn_close(loop_t *l, conn_t *c) {
  int rc = evq_deregister(l->q, c->fd);
  if (rc != 0) fail("deregister", rc);
  evq_close(c->fd);
  if (c->prev) c->prev->next = c->next;
  else l->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->dead = 1;                  /* freed after the batch, as in echo.c */
  c->next = l->dead;
  l->dead = c;
  l->nconns--;
}

static void conn_io(loop_t *l, conn_t *c) {
  for (;;) {
    if (c->len > 0) {
      ptrdiff_t w = evq_write(l->q, c->fd, c->buf, c->len);
      if (w == EVQ_EAGAIN) return;
      if (w < 0) break;
      memmove(c->buf, c->buf + w, c->len - (size_t)w);
      c->len -= (size_t)w;
      continue;
    }
    ptrdiff_t r = evq_read(l->q, c->fd, c->buf, BUF_SIZE);
    if (r == EVQ_EAGAIN) return;
    if (r <= 0) break;
    c->len = (size_t)r;
  }
  conn_close(l, c);
}

static void accept_all(loop_t *l) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(l->q, l->listener, &fd);
    if (rc == EVQ_EAGAIN) return;
    if (rc == EVQ_ECONNRESET) continue;
    if (rc != 0) {              /* EMFILE...: retry later, do not spin */
      rc = evq_timer_start(l->q, &l->accept_retry, 100 * 1000000, 0,
                           TOKEN_ACCEPT_RETRY);
      if (rc != 0) fail("timer", rc);
      return;
    }
    conn_t *c = l->nconns < l->max_conns ? malloc(sizeof *c) : NULL;
    if (!c) {                   /* this thread is full: refuse */
      evq_close(fd);
      continue;
    }
    *c = (conn_t){.fd = fd, .next = l->live};
    rc = evq_register(l->q, fd, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE,
                      (uintptr_t)c);
    if (rc != 0) {
      evq_close(fd);
      free(c);
      continue;
    }
    if (l->live) l->live->prev = c;
    l->live = c;
    l->nconns++;
    l->connections++;
  }
}

static void *run_loop(void *arg) {
  loop_t *l = arg;
  evq_event_t ev[256];
  for (int stop = 0; !stop;) {
    int n = evq_wait(l->q, ev, 256, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) {
      uintptr_t t = ev[i].token;
      if (t == TOKEN_STOP) stop = 1;
      else if (t == TOKEN_LISTENER || t == TOKEN_ACCEPT_RETRY) accept_all(l);
      else if (!((conn_t *)t)->dead) conn_io(l, (conn_t *)t);
    }
    while (l->dead) {
      conn_t *c = l->dead;
      l->dead = c->next;
      free(c);
    }
  }
  while (l->live) conn_close(l, l->live);
  while (l->dead) {
    conn_t *c = l->dead;
    l->dead = c->next;
    free(c);
  }
  return NULL;
}

static int parse_long(const char *arg, long lo, long hi, long *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* The main thread's own queue, which tells it when to stop the loops: on
 * SIGINT or SIGTERM (whichever thread the kernel delivers it to), or with
 * --until-eof at the end of standard input. */
#define MAIN_STOP 1
#define MAIN_STDIN 2
static evq_t *wait_for_stop_setup(int until_eof) {
  evq_t *q;
  int rc = evq_create(&q, NULL);
  if (rc == 0) rc = evq_signal_add(q, SIGINT, MAIN_STOP);
  if (rc == 0) rc = evq_signal_add(q, SIGTERM, MAIN_STOP);
  if (rc != 0) fail("signals", rc);
  if (until_eof &&
      (rc = evq_register(q, 0, EVQ_READABLE, EVQ_LEVEL, MAIN_STDIN)) != 0)
    fail("--until-eof: cannot poll standard input (POSIX: pipe or tty)", rc);
  return q;
}

static void wait_for_stop(evq_t *q, int until_eof) {
  for (int stop = 0; !stop;) {
    evq_event_t ev[4];
    int n = evq_wait(q, ev, 4, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    for (int i = 0; i < n; i++) {
      char buf[256];
      ptrdiff_t r = ev[i].token == MAIN_STOP ? 0 : evq_read(q, 0, buf, sizeof buf);
      if (r == 0 || (r < 0 && r != EVQ_EAGAIN)) stop = 1;
    }
  }
  if (until_eof) evq_deregister(q, 0);
  evq_free(q); /* the signals' dispositions back as they were */
}

int main(int argc, char **argv) {
  long port = 0, nthreads = 2, max_conns = 1000;
  int until_eof = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(o, "--until-eof") == 0) until_eof = 1;
    else if (!strcmp(o, "--threads") && parse_long(v, 1, MAX_THREADS, &nthreads)) i++;
    else if (!strcmp(o, "--max-conns") && parse_long(v, 1, 100000, &max_conns)) i++;
    else if (!parse_long(o, 0, 65535, &port)) {
      fprintf(stderr, "usage: evq_reuseport [port] [--threads N] "
                      "[--max-conns N] [--until-eof]\n");
      return 2;
    }
  }

  static loop_t loops[MAX_THREADS];
  pthread_t threads[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) {
    loop_t *l = &loops[i];
    *l = (loop_t){.id = i, .max_conns = max_conns};
    evq_timer_init(&l->accept_retry);
    evq_options_t opts = {.wake_token = TOKEN_STOP};
    int rc = evq_create(&l->q, &opts);
    if (rc != 0) fail("create", rc);
    if (listen_shared((uint16_t)port, &l->listener) != 0) return 1;
    if (port == 0 && (port = evq_socket_port(l->listener)) <= 0)
      fail("port", (int)port);  /* the other threads join this port */
    rc = evq_register(l->q, l->listener, EVQ_READABLE, EVQ_EDGE,
                      TOKEN_LISTENER);
    if (rc != 0) fail("register listener", rc);
  }
  evq_t *main_q = wait_for_stop_setup(until_eof);
  for (int i = 0; i < nthreads; i++)
    if (pthread_create(&threads[i], NULL, run_loop, &loops[i]) != 0) {
      fprintf(stderr, "evq_reuseport: cannot start thread %d\n", i);
      return 1;
    }
  printf("listening on 127.0.0.1:%ld (%ld threads)\n", port, nthreads);
  fflush(stdout);

  wait_for_stop(main_q, until_eof);
  for (int i = 0; i < nthreads; i++) {
    int rc = evq_wake(loops[i].q);
    if (rc != 0) fail("wake", rc);
  }
  for (int i = 0; i < nthreads; i++) {
    loop_t *l = &loops[i];
    if (pthread_join(threads[i], NULL) != 0) return 1;
    int rc = evq_deregister(l->q, l->listener);
    if (rc != 0) fail("deregister", rc);
    evq_close(l->listener);
    if (evq_timer_active(&l->accept_retry)) evq_timer_stop(l->q, &l->accept_retry);
    evq_free(l->q);
    printf("thread %d: %llu connections\n", i, l->connections);
  }
  return 0;
}
