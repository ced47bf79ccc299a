/* Test client for evq_http, started by run.sh with the server's port. The
 * server runs with --max-conns 8 --idle-timeout-ms 1000. */
#include "testlib.h"

#define MAX_CONNS 8
#define IDLE_MS 1000

#define HELLO "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" \
              "Content-Length: 14\r\n"
#define BODY "\r\nHello, World!\n"

static int port;

/* Sends req on a new connection; requires the error reply with this status
 * line, then the server's close. */
static void expect_error(const char *req, size_t len, const char *status,
                         const char *what) {
  int fd = tl_connect(port);
  tl_send(fd, req, len);
  char buf[512];
  size_t n = tl_read_until(fd, buf, sizeof buf - 1, "\r\n\r\n");
  CHECK(n > strlen(status) && memcmp(buf, status, strlen(status)) == 0,
        "%s: expected '%s', got '%s'", what, status, tl_show(buf, n));
  buf[n] = '\0';
  CHECK(strstr(buf, "\r\nConnection: close\r\n") != NULL,
        "%s: no 'Connection: close' in '%s'", what, tl_show(buf, n));
  tl_drain(fd); /* the body, then end of stream (a hang fails here) */
  close(fd);
  PASS(what);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A keep-alive connection the server accepted (it answers a GET), or -1
 * if the server refused it (503, or a reset if the GET crossed the close). */
static int try_open(void) {
  int fd = tl_connect(port);
  char buf[512];
  size_t n = 0;
  if (send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL) == 18) {
    while (n < sizeof buf && !memmem(buf, n, "World!\n", 7)) {
      ssize_t r = tl_recv(fd, buf + n, sizeof buf - n);
      if (r <= 0) break;
      n += (size_t)r;
    }
    if (n >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0) return fd;
  }
  CHECK(n == 0 || memcmp(buf, "HTTP/1.1 503", 12) == 0,
        "neither 200 nor 503: '%s'", tl_show(buf, n));
  close(fd);
  return -1;
}

int main(int argc, char **argv) {
  port = tl_port(argc, argv);

  int fd = tl_connect(port);
  tl_send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  tl_expect(fd, HELLO BODY);
  tl_send_str(fd, "GET /again HTTP/1.1\r\nhost: x\r\nAccept: */*\r\n\r\n");
  tl_expect(fd, HELLO BODY);
  PASS("GET, twice on one keep-alive connection");
  tl_send_str(fd, "HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"
                  "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  tl_expect(fd, HELLO "\r\n" HELLO BODY HELLO "Connection: close\r\n" BODY);
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("pipelined HEAD, GET, GET with Connection: close, then closed");

  fd = tl_connect(port);
  const char *req = "GET / HTTP/1.1\r\n\r\n";
  for (const char *p = req; *p; p++) tl_send(fd, p, 1);
  tl_expect(fd, HELLO BODY);
  tl_send_str(fd, "\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  tl_expect(fd, HELLO "Connection: keep-alive\r\n" BODY);
  tl_send_str(fd, "GET / HTTP/1.0\n\n"); /* bare LF line ends, as RFC 9112 */
  tl_expect(fd, HELLO "Connection: close\r\n" BODY);
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("a request sent byte by byte; HTTP/1.0 keep-alive and close");

  /* 3000 pipelined requests sent before reading any reply: the server's
   * reply buffer fills, it stops parsing, and resumes as we read. */
  enum { PIPELINED = 3000 };
  size_t one = strlen(req), total = one * PIPELINED;
  char *many = malloc(total);
  CHECK(many != NULL, "out of memory");
  for (int i = 0; i < PIPELINED; i++) memcpy(many + one * (size_t)i, req, one);
  fd = tl_connect(port);
  tl_send(fd, many, total);
  free(many);
  for (int i = 0; i < PIPELINED; i++) tl_expect(fd, HELLO BODY);
  close(fd);
  PASS("3000 pipelined requests, all answered in order");

#define BAD(req, status, what) \
  expect_error(req, sizeof req - 1, "HTTP/1.1 " status " ", what)
  BAD("GARBAGE\r\n\r\n", "400", "no method/target/version: 400");
  BAD("GET  / HTTP/1.1\r\n\r\n", "400", "two spaces in the request line: 400");
  BAD("GET / HTTP/1.1\r\nNoColon\r\n\r\n", "400", "header without colon: 400");
  BAD("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "400", "space before colon: 400");
  BAD("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "400", "NUL in a header: 400");
  BAD("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "400", "bare CR in a header: 400");
  BAD("GET / HTTP/2.0\r\n\r\n", "505", "HTTP/2.0 request line: 505");
  BAD("DELETE / HTTP/1.1\r\n\r\n", "405", "DELETE: 405");
  BAD("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "413",
      "a request body: 413");
  BAD("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "413",
      "a chunked body: 413");

  /* Oversized heads. The client sends all of it before reading, so the
   * reply is readable only if the server lingers instead of resetting. */
  char big[20000];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX-Big: ");
  memset(big + n, 'a', sizeof big - (size_t)n - 4);
  memcpy(big + sizeof big - 4, "\r\n\r\n", 4);
  expect_error(big, sizeof big, "HTTP/1.1 431 ", "a 20 KB header: 431");
  n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 65; i++) n += snprintf(big + n, 32, "X-%d: %d\r\n", i, i);
  n += snprintf(big + n, 8, "\r\n");
  expect_error(big, (size_t)n, "HTTP/1.1 431 ", "65 headers: 431");
  memset(big, '\n', sizeof big); /* only empty lines, never a request */
  expect_error(big, sizeof big, "HTTP/1.1 431 ", "20 KB of empty lines: 431");

  /* Truncated requests: end of stream, or silence until the idle timer. */
  fd = tl_connect(port);
  tl_send_str(fd, "GET / HT");
  CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("a request cut by end of stream: closed without a reply");
  fd = tl_connect(port);
  double t0 = now_ms();
  tl_send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n");
  tl_expect(fd, "HTTP/1.1 408 Request Timeout\r\n");
  double waited = now_ms() - t0;
  CHECK(waited >= IDLE_MS - 50, "408 after %.0f ms, idle timeout %d ms",
        waited, IDLE_MS);
  tl_drain(fd);
  close(fd);
  PASS("a request left unfinished: 408 after the idle timeout, closed");
  fd = tl_connect(port);
  t0 = now_ms();
  tl_expect_eof(fd, 0);
  waited = now_ms() - t0;
  CHECK(waited >= IDLE_MS - 50, "idle close after %.0f ms", waited);
  close(fd);
  PASS("an idle connection: closed silently after the idle timeout");

  /* Pipelined requests from a client that never reads: replies fill the
   * server's buffer, then the idle timer fires with replies queued. The
   * connection must just end (a reset is fine: requests were unread). */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0,
        "SO_RCVBUF: %s", strerror(errno));
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
        strerror(errno));
  /* Up to 10 MB of requests, 50 MB of replies: more than the kernel's
   * buffers hold, so replies wait in the server. Sent without blocking:
   * the server stops reading once its reply buffer is full. */
  many = malloc(1 << 20);
  CHECK(many != NULL, "out of memory");
  for (size_t off = 0; off + one <= 1 << 20; off += one) memcpy(many + off, req, one);
  size_t chunk = (1 << 20) / one * one, pushed = 0;
  while (pushed < 10 * chunk) {
    ssize_t w = send(fd, many + pushed % chunk, chunk - pushed % chunk,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s",
            strerror(errno));
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      if (poll(&p, 1, 300) == 0) break;  /* the server stopped reading */
      continue;
    }
    pushed += (size_t)w;
  }
  free(many);
  printf("# %zu bytes of requests sent before the server stopped reading\n",
         pushed);
  tl_sleep_ms(IDLE_MS + 500);
  struct timeval tv = {TL_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char sink[65536];
  ssize_t r;
  while ((r = tl_recv(fd, sink, sizeof sink)) > 0) {
  }
  CHECK(r == 0 || errno == ECONNRESET, "reading: %s", strerror(errno));
  close(fd);
  fd = tl_connect(port);
  tl_send_str(fd, req);
  tl_expect(fd, HELLO BODY);
  close(fd);
  PASS("a pipelining client that stops reading is closed when idle");

  int rude = tl_connect(port);
  tl_send_str(rude, "GET / HTTP/1.1\r\nHo");
  tl_reset(rude);

  /* The connection cap: MAX_CONNS accepted, one more refused with 503. */
  int conns[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; i++) {
    int tries = 0;
    while ((conns[i] = try_open()) < 0) {
      CHECK(++tries < 100, "connection %d refused for 5 s", i + 1);
      tl_sleep_ms(50);
    }
  }
  /* All MAX_CONNS are live, so the next is refused: 503 without asking. */
  expect_error("", 0, "HTTP/1.1 503 ", "connection past --max-conns: 503");
  tl_hold_until_stopped(conns, MAX_CONNS);
  return 0;
}
