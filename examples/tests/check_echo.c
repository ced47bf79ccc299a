/* Test client for evq_echo (and evq_reuseport, which echoes too), started
 * by run.sh with the server's port. The server runs with --max-conns 4. */
#include "testlib.h"

#include <fcntl.h>

#define MAX_CONNS 4

/* A connection accepted by the server: it echoes a probe. Returns -1 if the
 * server closed it instead (it was full). */
static int try_open(int port) {
  int fd = tl_connect(port);
  char buf[5];
  if (send(fd, "probe", 5, MSG_NOSIGNAL) != 5) { /* reset already */
    close(fd);
    return -1;
  }
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t r = tl_recv(fd, buf + len, sizeof buf - len);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      close(fd);
      return -1;
    }
    CHECK(r > 0, "probe: %s", strerror(errno));
    len += (size_t)r;
  }
  CHECK(memcmp(buf, "probe", 5) == 0, "probe echoed as '%s'", tl_show(buf, 5));
  return fd;
}

/* The server may not yet have seen an earlier close: retry a while. */
static int open_retrying(int port) {
  for (int i = 0; i < 100; i++) {
    int fd = try_open(port);
    if (fd >= 0) return fd;
    tl_sleep_ms(50);
  }
  CHECK(0, "no connection accepted in 5 s");
  return -1;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + seed + i / 251);
}

int main(int argc, char **argv) {
  int port = tl_port(argc, argv);

  int fd = tl_connect(port);
  tl_send_str(fd, "hello\n");
  tl_expect(fd, "hello\n");
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  tl_send(fd, all, sizeof all);
  char back[256];
  size_t got = 0;
  while (got < sizeof back) {
    ssize_t r = tl_recv(fd, back + got, sizeof back - got);
    CHECK(r > 0, "binary echo: %s", r ? strerror(errno) : "end of stream");
    got += (size_t)r;
  }
  CHECK(memcmp(all, back, sizeof all) == 0, "bytes 0..255 not echoed as is");
  PASS("echoes text and every byte value");

  /* Half-close: what was sent still comes back, then the server closes. */
  tl_send_str(fd, "bye");
  CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  tl_expect(fd, "bye");
  tl_expect_eof(fd, 0);
  close(fd);
  PASS("after the client's half-close: the rest echoed, then closed");

  /* A client that sends without reading: the server must stop reading it
   * (bounded memory) rather than buffer without limit. Writes block well
   * before 64 MiB (the kernel's loopback buffers plus one 16 KiB buffer). */
  enum { CHUNK = 65536, LIMIT = 64 << 20 };
  unsigned char *chunk = malloc(CHUNK), *in = malloc(CHUNK);
  CHECK(chunk && in, "out of memory");
  int flood = tl_connect(port);
  CHECK(fcntl(flood, F_SETFL, fcntl(flood, F_GETFL) | O_NONBLOCK) == 0,
        "fcntl: %s", strerror(errno));
  size_t sent = 0;
  for (;;) {
    fill(chunk, CHUNK, (unsigned)(sent / CHUNK));
    ssize_t w = send(flood, chunk + sent % CHUNK, CHUNK - sent % CHUNK,
                     MSG_NOSIGNAL);
    if (w > 0) {
      sent += (size_t)w;
      CHECK(sent < LIMIT, "server kept reading past %d MiB unread", LIMIT >> 20);
      continue;
    }
    CHECK(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "flood send: %s", strerror(errno));
    struct pollfd p = {.fd = flood, .events = POLLOUT};
    if (poll(&p, 1, 500) == 0) break; /* blocked for 0.5 s: pushed back */
  }
  printf("# writes blocked after %zu bytes\n", sent);

  /* Meanwhile other clients are served. */
  int other = tl_connect(port);
  tl_send_str(other, "still there?");
  tl_expect(other, "still there?");
  close(other);
  PASS("a client that never reads is pushed back; others still served");

  /* Everything sent comes back intact once the client reads. */
  CHECK(fcntl(flood, F_SETFL, fcntl(flood, F_GETFL) & ~O_NONBLOCK) == 0,
        "fcntl: %s", strerror(errno));
  for (size_t off = 0; off < sent;) {
    size_t want = sent - off < CHUNK - off % CHUNK ? sent - off
                                                   : CHUNK - off % CHUNK;
    ssize_t r = tl_recv(flood, in, want);
    CHECK(r > 0, "reading back at %zu of %zu: %s", off, sent,
          r ? strerror(errno) : "end of stream");
    fill(chunk, CHUNK, (unsigned)(off / CHUNK));
    CHECK(memcmp(in, chunk + off % CHUNK, (size_t)r) == 0,
          "echoed bytes differ at offset %zu", off);
    off += (size_t)r;
  }
  close(flood);
  free(chunk);
  free(in);
  PASS("after back-pressure every byte comes back in order");

  /* A reset in the middle of a message must not hurt the server. */
  int rude = tl_connect(port);
  tl_send_str(rude, "interrupted mid");
  tl_reset(rude);

  /* The connection cap: MAX_CONNS are served, one more is closed. */
  int conns[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; i++) conns[i] = open_retrying(port);
  int extra = try_open(port);
  CHECK(extra < 0, "connection %d accepted past --max-conns %d",
        MAX_CONNS + 1, MAX_CONNS);
  PASS("connections past --max-conns are closed");
  close(conns[0]);
  conns[0] = open_retrying(port);
  PASS("a slot freed by a close is given to the next client");
  tl_hold_until_stopped(conns, MAX_CONNS);
  return 0;
}
