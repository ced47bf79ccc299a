/* Test client for evq_chat, started by run.sh with the server's port. The
 * server runs with --max-conns 4. */
#include "testlib.h"

#include <pthread.h>

typedef struct client {
  int fd;
  char name[32];
  char buf[8192];
  size_t len;
} client_t;

static int port;

/* The next line the server sent to cl, '\n' included. */
static const char *next_line(client_t *cl) {
  static char line[2048];
  char *nl;
  while (!(nl = memchr(cl->buf, '\n', cl->len))) {
    CHECK(cl->len < sizeof cl->buf, "no line in %zu bytes", cl->len);
    ssize_t r = tl_recv(cl->fd, cl->buf + cl->len, sizeof cl->buf - cl->len);
    CHECK(r > 0, "%s waiting for a line: %s after '%s'", cl->name,
          r == 0 ? "end of stream" : strerror(errno), tl_show(cl->buf, cl->len));
    cl->len += (size_t)r;
  }
  size_t n = (size_t)(nl - cl->buf) + 1;
  CHECK(n < sizeof line, "line too long");
  memcpy(line, cl->buf, n);
  line[n] = '\0';
  memmove(cl->buf, cl->buf + n, cl->len - n);
  cl->len -= n;
  return line;
}

static void expect_line(client_t *cl, const char *want) {
  const char *got = next_line(cl);
  CHECK(strcmp(got, want) == 0, "%s: expected '%s', got '%s'", cl->name,
        tl_show(want, strlen(want)), tl_show(got, strlen(got)));
}

static client_t *join(void) {
  client_t *cl = calloc(1, sizeof *cl);
  CHECK(cl != NULL, "out of memory");
  cl->fd = tl_connect(port);
  const char *hello = next_line(cl);
  CHECK(sscanf(hello, "* you are %31[a-z0-9]\n", cl->name) == 1,
        "greeting '%s'", tl_show(hello, strlen(hello)));
  return cl;
}

/* A receiver that keeps up, reading in its own thread during a flood. */
typedef struct reader {
  client_t *cl;
  const char *want, *notice; /* lines of the flood; one other line */
  int lines, others;
  int matched;               /* flood lines received, under lock */
  pthread_mutex_t lock;
  pthread_cond_t progress;
} reader_t;

static void *read_lines(void *arg) {
  reader_t *r = arg;
  for (int matched = 0; matched < r->lines;) {
    const char *got = next_line(r->cl);
    if (strcmp(got, r->want) == 0) {
      matched++;
      pthread_mutex_lock(&r->lock);
      r->matched = matched;
      pthread_cond_signal(&r->progress);
      pthread_mutex_unlock(&r->lock);
    } else {
      CHECK(strcmp(got, r->notice) == 0 && ++r->others == 1,
            "among the flood: '%s'", tl_show(got, strlen(got)));
    }
  }
  return NULL;
}

static void leave(client_t *cl) {
  close(cl->fd);
  free(cl);
}

int main(int argc, char **argv) {
  port = tl_port(argc, argv);
  char want[4096];

  client_t *a = join(), *b = join();
  snprintf(want, sizeof want, "* %s joined\n", b->name);
  expect_line(a, want);
  tl_send_str(a->fd, "hello\n");
  snprintf(want, sizeof want, "%s: hello\n", a->name);
  expect_line(b, want);
  tl_send_str(b->fd, "hi, ");
  tl_send_str(b->fd, "in two parts\r\n");
  snprintf(want, sizeof want, "%s: hi, in two parts\n", b->name);
  expect_line(a, want);
  PASS("join notice; lines relayed to the other client, CRLF or LF");

  tl_send_str(a->fd, "x\x1b[2Jy\x07\n");
  snprintf(want, sizeof want, "%s: x?[2Jy?\n", a->name);
  expect_line(b, want);
  PASS("control characters are relayed as '?'");

  char line[3000];
  memset(line, 'z', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  tl_send(a->fd, line, sizeof line);
  expect_line(a, "* line too long (max 1023 bytes), dropped\n");
  memset(line, 'w', 1023);
  line[1023] = '\n';
  tl_send(a->fd, line, 1024);
  tl_send_str(a->fd, "after\n");
  /* b's next lines are exactly these: nothing of the long line leaked. */
  int n = snprintf(want, sizeof want, "%s: ", a->name);
  memset(want + n, 'w', 1023);
  memcpy(want + n + 1023, "\n", 2);
  expect_line(b, want);
  snprintf(want, sizeof want, "%s: after\n", a->name);
  expect_line(b, want);
  PASS("a 3000-byte line is dropped and its sender told; 1023 bytes pass");

  client_t *c = join();
  tl_send_str(c->fd, "partial line, never finished");
  CHECK(shutdown(c->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect_eof(c->fd, 0);
  snprintf(want, sizeof want, "* %s joined\n", c->name);
  expect_line(a, want);
  expect_line(b, want);
  snprintf(want, sizeof want, "* %s left\n", c->name);
  expect_line(a, want);
  expect_line(b, want);
  leave(c);
  PASS("a partial line cut by end of stream is not relayed");

  snprintf(want, sizeof want, "* %s left\n", b->name);
  leave(b);
  expect_line(a, want);

  /* During a 32 MB flood from a, a receiver that keeps up gets every line
   * and one that never reads is dropped, not buffered for. The slow one's
   * kernel buffers are made small so that the flood overflows them. */
  client_t *fast = join();
  snprintf(want, sizeof want, "* %s joined\n", fast->name);
  expect_line(a, want);
  client_t *slow = calloc(1, sizeof *slow);
  CHECK(slow != NULL, "out of memory");
  slow->fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  CHECK(setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0,
        "SO_RCVBUF: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(slow->fd, (struct sockaddr *)&sa, sizeof sa) == 0,
        "connect: %s", strerror(errno));
  struct timeval tv = {TL_TIMEOUT_S, 0};
  setsockopt(slow->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const char *hello = next_line(slow);
  CHECK(sscanf(hello, "* you are %31[a-z0-9]\n", slow->name) == 1,
        "greeting '%s'", tl_show(hello, strlen(hello)));
  snprintf(want, sizeof want, "* %s joined\n", slow->name);
  expect_line(a, want);
  expect_line(fast, want);

  enum { FLOOD_LINES = 160000 }; /* of 200 bytes: 32 MB */
  memset(line, 'f', 199);
  line[199] = '\n';
  char relayed[300];
  snprintf(relayed, sizeof relayed, "%s: %.199s\n", a->name, line);
  snprintf(want, sizeof want, "* %s left\n", slow->name);
  reader_t rd = {.cl = fast, .want = relayed, .notice = want,
                 .lines = FLOOD_LINES, .lock = PTHREAD_MUTEX_INITIALIZER,
                 .progress = PTHREAD_COND_INITIALIZER};
  pthread_t th;
  CHECK(pthread_create(&th, NULL, read_lines, &rd) == 0, "pthread_create");
  for (int i = 0; i < FLOOD_LINES; i++) {
    /* fast keeps up by construction: it is never more than 100 lines
     * (20 KB, under the server's 32 KiB per receiver) behind. */
    pthread_mutex_lock(&rd.lock);
    while (rd.matched < i - 100) pthread_cond_wait(&rd.progress, &rd.lock);
    pthread_mutex_unlock(&rd.lock);
    tl_send(a->fd, line, 200);
  }
  CHECK(pthread_join(th, NULL) == 0, "pthread_join");
  /* The flood's lines all came (read_lines checked each); the news that
   * slow left came to both, in the middle of the flood for fast. */
  if (rd.others == 0) expect_line(fast, want);
  expect_line(a, want);
  size_t got = slow->len + tl_drain(slow->fd);
  CHECK(got < strlen(relayed) * FLOOD_LINES, "the slow client got it all");
  printf("# the slow client got %zu of %zu bytes before it was dropped\n",
         got, strlen(relayed) * FLOOD_LINES);
  leave(slow);
  PASS("a reading client gets all of a 32 MB flood; one that never reads "
       "is disconnected and the others told");
  snprintf(want, sizeof want, "* %s left\n", fast->name);
  leave(fast);
  expect_line(a, want);

  /* The cap: 4 connections served, a fifth told the server is full. */
  client_t *more[3];
  for (int i = 0; i < 3; i++) {
    more[i] = join();
    snprintf(want, sizeof want, "* %s joined\n", more[i]->name);
    expect_line(a, want);
  }
  client_t full = {.fd = tl_connect(port), .name = "fifth"};
  expect_line(&full, "* server full\n");
  tl_expect_eof(full.fd, 0);
  close(full.fd);
  PASS("a fifth connection past --max-conns 4 is told and closed");
  int held[4] = {a->fd, more[0]->fd, more[1]->fd, more[2]->fd};
  tl_hold_until_stopped(held, 4); /* closes them */
  free(a);
  for (int i = 0; i < 3; i++) free(more[i]);
  return 0;
}
