/* Test client for evq_udp_echo, started by run.sh with the server's port:
 * datagrams of every size up to the server's buffer come back whole and
 * from the server's address, an empty one too; a longer one is dropped,
 * not echoed in part; a burst comes back complete (loopback loses
 * nothing). Plain blocking sockets with a receive timeout, as testlib.h's
 * clients. */
#include "testlib.h"

#define BUF_SIZE 2048 /* evq_udp_echo's */

static int udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(fd >= 0, "socket: %s", strerror(errno));
  struct timeval tv = {TL_TIMEOUT_S, 0};
  CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0,
        "SO_RCVTIMEO: %s", strerror(errno));
  int big = 1 << 20; /* room for the burst's answers */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return fd;
}

static void send_to(int fd, const struct sockaddr_in *sa, const void *p,
                    size_t n) {
  ssize_t w = sendto(fd, p, n, 0, (const struct sockaddr *)sa, sizeof *sa);
  CHECK(w == (ssize_t)n, "sendto %zu bytes: %s", n,
        w < 0 ? strerror(errno) : "short");
}

/* The next datagram, which must be want[0..n) from the server. */
static void expect_dgram(int fd, const struct sockaddr_in *server,
                         const unsigned char *want, size_t n) {
  static unsigned char got[65536];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  ssize_t r = recvfrom(fd, got, sizeof got, 0, (struct sockaddr *)&from, &len);
  CHECK(r >= 0, "waiting for a %zu-byte echo: %s", n, strerror(errno));
  CHECK((size_t)r == n, "echo of %zu bytes came back as %zd", n, r);
  CHECK(memcmp(got, want, n) == 0, "echo of %zu bytes differs", n);
  CHECK(from.sin_port == server->sin_port &&
            from.sin_addr.s_addr == server->sin_addr.s_addr,
        "echo from another address");
}

int main(int argc, char **argv) {
  int port = tl_port(argc, argv);
  struct sockaddr_in server = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = udp_socket();
  static unsigned char out[4096];
  for (size_t i = 0; i < sizeof out; i++) out[i] = (unsigned char)(i * 37 + 11);

  static const size_t sizes[] = {1, 5, 100, 1400, BUF_SIZE - 1, BUF_SIZE};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    send_to(fd, &server, out + k, sizes[k]);
    expect_dgram(fd, &server, out + k, sizes[k]);
  }
  send_to(fd, &server, "", 0);
  expect_dgram(fd, &server, (const unsigned char *)"", 0);
  PASS("datagrams up to the buffer size, and an empty one, come back whole");

  /* Too long: dropped, not cut. The marker after it is the next echo. */
  send_to(fd, &server, out, BUF_SIZE + 1);
  send_to(fd, &server, "marker", 6);
  expect_dgram(fd, &server, (const unsigned char *)"marker", 6);
  PASS("a datagram longer than the server's buffer is dropped, not cut");

  /* A burst from two sockets: each gets its own answers, all of them. */
  int fd2 = udp_socket();
  enum { BURST = 100 };
  for (int i = 0; i < BURST; i++) {
    send_to(i % 2 ? fd2 : fd, &server, out + i, 64);
    if (i % 20 == 19) tl_sleep_ms(5); /* stay within the socket buffers */
  }
  for (int i = 0; i < BURST; i++)
    expect_dgram(i % 2 ? fd2 : fd, &server, out + i, 64);
  PASS("a burst from two clients comes back complete, each to its sender");
  close(fd);
  close(fd2);
  return 0;
}
