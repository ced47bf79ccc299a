/* guide: POSIX only (open, setrlimit).
 * Out of descriptors on accept (docs/guide.md, "EMFILE"): evq_accept()
 * closes what is pending with its spare descriptor and says EVQ_EMFILE, so
 * the level-triggered listener is not reported again and again; the client
 * sees its connection closed; once descriptors are free, accepting goes on.
 * Built and run by the suite (guide.emfile.<backend>). */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

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

static int accepted, rounds;

static void on_connection(evq_t *q, evq_fd_t fd) {
  (void)q;
  accepted++;
  evq_close(fd); /* a real server registers it */
}

/* guide:begin emfile */
static evq_timer_t pause_timer; /* evq_timer_init() at start-up */
static int emfile_in_a_row;

/* The listener is registered EVQ_LEVEL with token LISTENER. */
static void accept_all(evq_t *q, evq_fd_t listener) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(q, listener, &fd);
    if (rc == 0) {
      emfile_in_a_row = 0;
      on_connection(q, fd);
    } else if (rc == EVQ_ECONNRESET) {
      continue; /* that client gave up before we took it */
    } else if (rc == EVQ_EMFILE) {
      /* Out of descriptors: evq closed what was pending. Twice in a row,
       * and it may have had no spare: stop accepting for 100 ms. */
      if (++emfile_in_a_row >= 2) {
        evq_deregister(q, listener);
        evq_timer_start(q, &pause_timer, 100 * MS, 0, RESUME_ACCEPT);
        emfile_in_a_row = 0;
      }
      return;
    } else {
      return; /* EVQ_EAGAIN: nothing more pending */
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

/* Runs the loop for up to ms, or until cond() holds. */
static void run(evq_t *q, evq_fd_t listener, int (*cond)(void), int64_t ms) {
  int64_t end = evq_now() + ms * MS;
  while ((!cond || !cond()) && evq_now() < end) {
    evq_event_t ev[8];
    int n = evq_wait(q, ev, 8, 50 * MS);
    CHECK(n >= 0);
    rounds++;
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
  CHECK(evq_tcp_listen(&listener, NULL, 0, 16) == 0); /* evq's spare too */
  int port = evq_socket_port(listener);
  CHECK(port > 0);
  CHECK(evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL, LISTENER) == 0);
  evq_timer_init(&pause_timer);

  /* 1. Out of descriptors: the pending connection is closed by evq, and
   * half a second at the limit takes a handful of rounds, not a spin. */
  CHECK(evq_tcp_connect(&c1, NULL, (uint16_t)port) == 0);
  int n = fill(held, 512);
  CHECK(n > 0 && n < 512);
  run(q, listener, NULL, 500);
  CHECK(accepted == 0);
  CHECK(rounds < 100); /* 50 ms waits: about 10; a spin: many thousands */
  expect_closed(c1);

  /* 2. Descriptors free again: a new connection is accepted. */
  unfill(held, n);
  CHECK(evq_tcp_connect(&c2, NULL, (uint16_t)port) == 0);
  run(q, listener, one_accepted, 5000);
  CHECK(accepted == 1);

  CHECK(evq_deregister(q, listener) == 0 || evq_timer_active(&pause_timer));
  evq_close(listener);
  evq_close(c1);
  evq_close(c2);
  evq_free(q);
  printf("emfile: refused at the limit in %d rounds, then accepted %d\n",
         rounds, accepted);
  return 0;
}
