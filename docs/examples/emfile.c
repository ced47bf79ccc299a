/* guide: POSIX only (open, setrlimit).
 * Out of descriptors on accept (docs/guide.md, "EMFILE"): a spare
 * descriptor kept in reserve lets the server take the pending connection
 * and close it, instead of being told "readable" again and again; without
 * one, it stops accepting for a while. Built and run by the suite
 * (guide.emfile.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

#define MS ((int64_t)1000000)
enum { LISTENER = 1, RESUME_ACCEPT = 2 };

static int accepted, refused;

static void on_connection(evq_t *q, evq_fd_t fd) {
  (void)q;
  accepted++;
  evq_close(fd); /* a real server registers it */
}

/* guide:begin emfile */
static int spare = -1;         /* open("/dev/null") at start-up */
static evq_timer_t pause_timer; /* evq_timer_init() at start-up */

/* The listener is registered EVQ_LEVEL with token LISTENER. */
static void accept_all(evq_t *q, evq_fd_t listener) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(q, listener, &fd);
    if (rc == 0) {
      on_connection(q, fd);
    } else if (rc == EVQ_EAGAIN) {
      return; /* nothing more pending */
    } else if (rc == EVQ_ECONNRESET) {
      continue; /* that client gave up before we took it */
    } else if (rc == EVQ_EMFILE && spare >= 0) {
      /* Out of descriptors: give up the spare, take the connection and
       * close it at once, so the client hears "closed" instead of waiting,
       * and take the spare again. (Linux says EMFILE before it looks for a
       * connection: there may have been none.) */
      close(spare);
      rc = evq_accept(q, listener, &fd);
      if (rc == 0) {
        refused++;
        evq_close(fd);
      }
      spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (rc != 0) return; /* none pending after all, or still no room */
    } else {
      /* No spare, or another error: stop accepting for 100 ms, or the
       * level-triggered listener reports "readable" in a busy loop. */
      evq_deregister(q, listener);
      evq_timer_start(q, &pause_timer, 100 * MS, 0, RESUME_ACCEPT);
      return;
    }
  }
}
/* guide:end emfile */

/* Fills the descriptor table: returns how many it took. */
static int fill(int *held, int max) {
  int n = 0;
  while (n < max) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) break;
    held[n++] = fd;
  }
  return n;
}

static void unfill(int *held, int n) {
  while (n > 0) close(held[--n]);
}

/* Runs the loop until cond() holds or 5 s pass. */
static void run(evq_t *q, evq_fd_t listener, int (*cond)(void)) {
  int64_t end = evq_now() + 5000 * MS;
  while (!cond() && evq_now() < end) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, 100 * MS);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++) {
      if (ev[i].token == LISTENER) {
        accept_all(q, listener);
      } else {
        CHECK(ev[i].token == RESUME_ACCEPT);
        CHECK(evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL,
                           LISTENER) == 0);
      }
    }
  }
}

static int one_refused(void) { return refused == 1; }
static int paused(void) { return evq_timer_active(&pause_timer); }
static int one_accepted(void) { return accepted == 1; }

/* The client's view: the server closed it (end of stream or reset). */
static void expect_closed(evq_fd_t c) {
  char b;
  int64_t end = evq_now() + 5000 * MS;
  ptrdiff_t r;
  while ((r = evq_read(NULL, c, &b, 1)) == EVQ_EAGAIN && evq_now() < end) {
  }
  CHECK(r == 0 || r == EVQ_ECONNRESET);
}

int main(void) {
  /* A small descriptor table, so that filling it is quick. */
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur > 256) rl.rlim_cur = 256;
  CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  static int held[512];

  evq_t *q;
  evq_fd_t listener, c1, c2;
  CHECK(evq_create(&q, NULL) == 0);
  CHECK(evq_tcp_listen(&listener, NULL, 0, 16) == 0);
  int port = evq_socket_port(listener);
  CHECK(port > 0);
  CHECK(evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL, LISTENER) == 0);
  spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(spare >= 0);
  evq_timer_init(&pause_timer);

  /* 1. With a spare: the connection is taken and closed. */
  CHECK(evq_tcp_connect(&c1, NULL, (uint16_t)port) == 0);
  int n = fill(held, 512);
  CHECK(n > 0 && n < 512);
  run(q, listener, one_refused);
  CHECK(refused == 1 && accepted == 0 && spare >= 0);
  expect_closed(c1);

  /* 2. Without a spare: accepting pauses, then resumes and succeeds once
   * descriptors are free again. */
  unfill(held, n);
  close(spare);
  spare = -1;
  CHECK(evq_tcp_connect(&c2, NULL, (uint16_t)port) == 0);
  n = fill(held, 512);
  run(q, listener, paused);
  CHECK(paused() && accepted == 0);
  unfill(held, n);
  run(q, listener, one_accepted);
  CHECK(accepted == 1);

  CHECK(evq_deregister(q, listener) == 0);
  evq_close(listener);
  evq_close(c1);
  evq_close(c2);
  evq_free(q);
  printf("emfile: %d refused with the spare, %d accepted after a pause\n",
         refused, accepted);
  return 0;
}
