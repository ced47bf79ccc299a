/* Test client for evq_resp, started by run.sh with the server's port. The
 * server runs with --max-conns 4 --max-keys 3 --max-memory 4096
 * --idle-timeout-ms 1000. */
#include "testlib.h"

#define MAX_CONNS 4
#define IDLE_MS 1000

static int port;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Sends req (len bytes) and requires exactly the reply want. */
static void exchange(int fd, const char *req, size_t len, const char *want,
                     size_t want_len) {
  tl_send(fd, req, len);
  tl_expect_n(fd, want, want_len);
}
#define EX(fd, req, want) \
  exchange(fd, req, sizeof req - 1, want, sizeof want - 1)

/* On a new connection: req gets the error line want, then the close. */
static void expect_fatal(const char *req, size_t len, const char *want,
                         const char *what) {
  int fd = tl_connect(port);
  tl_send(fd, req, len);
  tl_expect(fd, want);
  tl_expect_eof(fd, 0);
  close(fd);
  PASS(what);
}
#define FATAL(req, err, what) \
  expect_fatal(req, sizeof req - 1, "-ERR Protocol error: " err "\r\n", what)

/* A request built piece by piece. */
typedef struct msg {
  char *p;
  size_t len;
} msg_t;

static void add(msg_t *m, const char *s) {
  size_t n = strlen(s);
  m->p = realloc(m->p, m->len + n);
  CHECK(m->p != NULL, "out of memory");
  memcpy(m->p + m->len, s, n);
  m->len += n;
}

/* Adds a bulk argument: n bytes of ch. */
static void add_bulk(msg_t *m, size_t n, char ch) {
  char head[32];
  snprintf(head, sizeof head, "$%zu\r\n", n);
  add(m, head);
  m->p = realloc(m->p, m->len + n);
  CHECK(m->p != NULL, "out of memory");
  memset(m->p + m->len, ch, n);
  m->len += n;
  add(m, "\r\n");
}

int main(int argc, char **argv) {
  port = tl_port(argc, argv);

  int fd = tl_connect(port);
  EX(fd, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
  EX(fd, "PING\r\n", "+PONG\r\n");
  EX(fd, "ping  hello\n", "$5\r\nhello\r\n");
  EX(fd, "*2\r\n$4\r\necho\r\n$7\r\na\r\n\0b c\r\n", "$7\r\na\r\n\0b c\r\n");
  EX(fd, "\r\n*0\r\n", "");          /* empty commands: no reply */
  PASS("PING and ECHO, multibulk and inline, binary-safe");

  EX(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n", "+OK\r\n");
  EX(fd, "*2\r\n$3\r\nget\r\n$1\r\nk\r\n", "$3\r\nv\r\n\r\n");
  EX(fd, "GET nothing\r\n", "$-1\r\n");
  EX(fd, "set a 1\r\nGet a\r\n", "+OK\r\n$1\r\n1\r\n");
  PASS("SET and GET, any case, binary values, missing keys");

  enum { PIPELINED = 1000 };
  const char ping[] = "*1\r\n$4\r\nPING\r\n";
  char *many = malloc(PIPELINED * (sizeof ping - 1));
  CHECK(many != NULL, "out of memory");
  for (int i = 0; i < PIPELINED; i++)
    memcpy(many + i * (sizeof ping - 1), ping, sizeof ping - 1);
  tl_send(fd, many, PIPELINED * (sizeof ping - 1));
  free(many);
  for (int i = 0; i < PIPELINED; i++) tl_expect(fd, "+PONG\r\n");
  msg_t m = {0};
  add(&m, "*2\r\n$4\r\nECHO\r\n");
  add_bulk(&m, 65536, 'e');
  tl_send(fd, m.p, m.len);
  tl_expect(fd, "$65536\r\n");
  m.p[m.len - 2] = '\0';               /* what was sent is what comes back */
  tl_expect(fd, m.p + m.len - 2 - 65536);
  tl_expect(fd, "\r\n");
  free(m.p);
  PASS("1000 pipelined PINGs; ECHO of a 64 KiB argument");

  EX(fd, "SET b 2\r\n", "+OK\r\n");  /* 3 keys: the limit */
  EX(fd, "SET c 3\r\n", "-OOM command not allowed when used memory > "
                        "'maxmemory'.\r\n");
  EX(fd, "SET k w\r\n", "+OK\r\n");  /* replacing needs no new key */
  m = (msg_t){0};
  add(&m, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n");
  add_bulk(&m, 5000, 'm');
  tl_send(fd, m.p, m.len);
  tl_expect(fd, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  free(m.p);
  EX(fd, "GET a\r\nGET c\r\n", "$1\r\n1\r\n$-1\r\n");
  PASS("SET past --max-keys or --max-memory: -OOM, store unchanged");

  EX(fd, "FOO bar\r\n", "-ERR unknown command 'FOO'\r\n");
  EX(fd, "*1\r\n$6\r\nA\r\nB'C\r\n", "-ERR unknown command 'A??B?C'\r\n");
  EX(fd, "GET\r\n", "-ERR wrong number of arguments for 'GET' command\r\n");
  EX(fd, "ECHO a b\r\n",
     "-ERR wrong number of arguments for 'ECHO' command\r\n");
  EX(fd, "SET k v EX 10\r\n", "-ERR syntax error (no SET options here)\r\n");
  EX(fd, "CONFIG GET save\r\n", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EX(fd, "CONFIG SET save x\r\n",
     "-ERR only CONFIG GET <parameter> is supported\r\n");
  EX(fd, "PING\r\n", "+PONG\r\n");
  EX(fd, "QUIT\r\n", "+OK\r\n");
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("unknown commands (CR/LF in a name cannot forge a reply), wrong "
       "arity, SET options: an error, the connection goes on; QUIT");

  FATAL("*abc\r\n", "invalid multibulk length", "'*abc': closed");
  FATAL("*17\r\n", "invalid multibulk length", "17 arguments: closed");
  FATAL("*99999999999999999999\r\n", "invalid multibulk length",
        "a 20-digit count: closed");
  FATAL("*1\r\n+PING\r\n", "expected '$', got '+'", "'+' for '$': closed");
  FATAL("*1\r\n$-1\r\n", "invalid bulk length", "bulk length -1: closed");
  FATAL("*2\r\n$4\r\nECHO\r\n$65537\r\n", "invalid bulk length",
        "a bulk over 64 KiB: closed");
  FATAL("*1\r\n$4\r\nPINGxx\r\n", "bulk not followed by CRLF",
        "a bulk longer than announced: closed");
  FATAL("*1\r\n$4x\r\n", "invalid bulk length", "'$4x': closed");
  FATAL("a b c d e f g h i j k l m n o p q\r\n", "too many arguments",
        "17 inline words: closed");
  /* The next two send everything before reading: the reply arrives only
   * because the server lingers instead of resetting. */
  char *line = malloc(70000);
  CHECK(line != NULL, "out of memory");
  memset(line, 'x', 70000);
  expect_fatal(line, 70000, "-ERR Protocol error: too big inline request\r\n",
               "a 70000-byte inline line: closed");
  free(line);
  m = (msg_t){0};                        /* ECHO <64 KiB> <64 KiB> */
  add(&m, "*3\r\n$4\r\nECHO\r\n");
  add_bulk(&m, 65536, 'a');
  add_bulk(&m, 65536, 'b');
  expect_fatal(m.p, m.len, "-ERR Protocol error: command too large\r\n",
               "a command over 128 KiB: closed");
  free(m.p);

  fd = tl_connect(port);
  tl_send_str(fd, "*2\r\n$4\r\nECHO\r\n$5\r\nhel");
  CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("a command cut by end of stream: closed without a reply");
  fd = tl_connect(port);
  double t0 = now_ms();
  tl_send_str(fd, "*2\r\n$4\r\nECHO\r\n$5\r\nhel");
  tl_expect_eof(fd, 0);
  double waited = now_ms() - t0;
  CHECK(waited >= IDLE_MS - 50, "closed after %.0f ms", waited);
  close(fd);
  PASS("a command left unfinished: closed after the idle timeout");

  int rude = tl_connect(port);
  tl_send_str(rude, "*3\r\n$3\r\nSET\r\n$1\r");
  tl_reset(rude);

  int conns[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; i++) {
    for (int tries = 0;; tries++) { /* earlier closes may be in flight */
      CHECK(tries < 100, "connection %d refused for 5 s", i + 1);
      conns[i] = tl_connect(port);
      char buf[64];
      if (send(conns[i], "PING\r\n", 6, MSG_NOSIGNAL) == 6 &&
          tl_recv(conns[i], buf, 7) == 7 && memcmp(buf, "+PONG\r\n", 7) == 0)
        break;
      close(conns[i]);
      tl_sleep_ms(50);
    }
  }
  fd = tl_connect(port);
  tl_expect(fd, "-ERR max number of clients reached\r\n");
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("a fifth connection past --max-conns 4: refused with an error");
  tl_hold_until_stopped(conns, MAX_CONNS);
  return 0;
}
