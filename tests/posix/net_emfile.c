#define _GNU_SOURCE
/* Accepting when out of descriptors (evq.h; docs/networking.md): a server
 * at its RLIMIT_NOFILE keeps serving the connections it has, refuses the
 * rest at once, does not spin, and serves new connections once
 * descriptors are free. The load comes from a child process, so that its
 * descriptors and CPU time are not the server's. */
#include "nettest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

enum {
  ROOM = 20,        /* descriptors the server has for connections */
  FIRST = 100,      /* connections the client opens at once */
  LATER = 10,       /* connections after the client freed its served ones */
  MSG = 4000,       /* bytes per message */
  PROBE_MS = 1500,  /* the client keeps knocking this long at the limit */
};

/* ---- the client (child process, plain blocking sockets) ---------------- */

static int fail_line;
#define EXPECT(c)                                                          \
  do {                                                                     \
    if (!(c)) {                                                            \
      fprintf(stderr, "client: %s:%d: %s (errno %s)\n", __FILE__, __LINE__, \
              #c, strerror(errno));                                        \
      fail_line = __LINE__;                                                \
      return 1;                                                            \
    }                                                                      \
  } while (0)

static void fill(unsigned char *buf, int seed) {
  for (int i = 0; i < MSG; i++) buf[i] = (unsigned char)(seed * 131 + i * 7);
}

static uint32_t checksum(const unsigned char *buf, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 16777619u;
  return h;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {3, 0}; /* "promptly": a hang fails in 3 s */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* 1: echoed whole and intact; 0: closed (end of stream or reset) before
 * any byte came back; -1: anything else (a hang times out: -1). */
static int exchange(int fd, int seed) {
  unsigned char out[MSG], in[MSG];
  fill(out, seed);
  size_t sent = 0;
  while (sent < MSG) {
    ssize_t w = send(fd, out + sent, MSG - sent, MSG_NOSIGNAL);
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) return 0;
    if (w <= 0) return -1;
    sent += (size_t)w;
  }
  size_t got = 0;
  while (got < MSG) {
    ssize_t r = recv(fd, in + got, MSG - got, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return got == 0 ? 0 : -1;
    if (r < 0) return -1;
    got += (size_t)r;
  }
  return checksum(in, MSG) == checksum(out, MSG) && memcmp(in, out, MSG) == 0
             ? 1 : -1;
}

static int client(int port) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max; /* the server's limit is not the client's */
  setrlimit(RLIMIT_NOFILE, &rl);
  static int fds[FIRST];
  int served = 0, closed = 0;
  /* (b), (c): every connection is either served intact or closed at once. */
  for (int i = 0; i < FIRST; i++) {
    fds[i] = connect_to(port);
    EXPECT(fds[i] >= 0);
  }
  for (int i = 0; i < FIRST; i++) {
    int r = exchange(fds[i], i);
    EXPECT(r >= 0);
    if (r == 1) {
      served++;
    } else {
      closed++;
      close(fds[i]);
      fds[i] = -1;
    }
  }
  fprintf(stderr, "client: %d served, %d closed at once\n", served, closed);
  EXPECT(served > 0 && served <= ROOM);
  EXPECT(closed > 0);
  /* While the server is still at its limit (the served connections stay
   * open), new connections keep coming, and each is closed at once. */
  int probes = 0;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    int fd = connect_to(port);
    EXPECT(fd >= 0);
    EXPECT(exchange(fd, 1000 + probes) == 0);
    close(fd);
    probes++;
    tq_sleep_ms(20);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 <
           PROBE_MS);
  /* The served ones are still served. */
  for (int i = 0; i < FIRST; i++)
    if (fds[i] >= 0) EXPECT(exchange(fds[i], 2000 + i) == 1);
  /* (d): descriptors freed, new connections are served again (the server
   * sees the closes when it next reads them: a few tries each). */
  for (int i = 0; i < FIRST; i++)
    if (fds[i] >= 0) close(fds[i]);
  for (int i = 0; i < LATER; i++) {
    int r = 0;
    for (int attempt = 0; attempt < 30 && r != 1; attempt++) {
      int fd = connect_to(port);
      EXPECT(fd >= 0);
      r = exchange(fd, 3000 + i);
      EXPECT(r >= 0);
      if (r == 1) fds[i] = fd;
      else {
        close(fd);
        tq_sleep_ms(100);
      }
    }
    EXPECT(r == 1);
  }
  for (int i = 0; i < LATER; i++) close(fds[i]);
  fprintf(stderr, "client: %d probes refused at the limit, %d served after\n",
          probes, LATER);
  return 0;
}

/* ---- the server (this process, through evq) ---------------------------- */

typedef struct conn {
  evq_fd_t fd;
  size_t len;
  unsigned char buf[MSG];
} conn_t;

/* The descriptor limit that leaves exactly `room` free numbers (holes
 * below the highest open descriptor count too). */
static rlim_t limit_for(int room) {
  int fd = 0;
  for (int free_seen = 0;; fd++)
    if (fcntl(fd, F_GETFD) == -1 && ++free_seen == room) break;
  return (rlim_t)fd + 1;
}

/* Echoes what is there; 0 when the connection is done. */
static int conn_io(evq_t *q, conn_t *c) {
  for (;;) {
    ptrdiff_t r = evq_read(q, c->fd, c->buf, sizeof c->buf);
    if (r == EVQ_EAGAIN) return 1;
    if (r <= 0) return 0;
    size_t off = 0;
    while (off < (size_t)r) { /* small: the client reads it all */
      ptrdiff_t w = evq_write(q, c->fd, c->buf + off, (size_t)r - off);
      if (w == EVQ_EAGAIN) {
        tq_sleep_ms(1);
        continue;
      }
      if (w < 0) return 0;
      off += (size_t)w;
    }
  }
}

TEST(accept_emfile) {
  evq_addr_t a;
  evq_fd_t l;
  CHECK_OK(evq_addr_ip(&a, "127.0.0.1", 0));
  CHECK_OK(evq_listen(&l, &a, FIRST + 28, 0)); /* opens evq's spare too */
  int port = evq_socket_port(l);
  int done[2];
  CHECK(pipe2(done, O_CLOEXEC) == 0);
  /* The client is forked before the queue exists, so that it owns
   * nothing of evq's. Its connections wait in the listener's queue until
   * the server below, at its limit, starts accepting. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(done[0]);
    evq_close(l);
    _exit(client(port));
  }
  close(done[1]);
  evq_t *q = tq_queue();
  /* Level-triggered: the mode that spins if a pending connection cannot
   * be taken off the queue. */
  CHECK_OK(evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, 1));
  CHECK_OK(evq_register(q, done[0], EVQ_READABLE, EVQ_LEVEL, 2));
  struct rlimit old, rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  rl = old;
  rl.rlim_cur = limit_for(ROOM);
  CHECK(rl.rlim_cur <= old.rlim_max);
  CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);

  static conn_t conns[ROOM + 8];
  int nconns = 0, emfile = 0, client_done = 0, loops = 0;
  int64_t t0 = 0, window_loops = -1;
  bool measured = false;
  int64_t end = evq_now() + 60000 * MS;
  while (!client_done) {
    CHECK(evq_now() < end);
    evq_event_t ev[64];
    int n = tq_wait(q, ev, 64, 100 * MS);
    loops++;
    for (int i = 0; i < n; i++) {
      uintptr_t tok = ev[i].token;
      if (tok == 2) {
        client_done = 1;
      } else if (tok == 1) {
        for (;;) {
          evq_fd_t fd;
          int rc = evq_accept(q, l, &fd);
          if (rc == EVQ_EAGAIN) break;
          if (rc == EVQ_EMFILE) {
            if (emfile++ == 0) { /* the window opens at the limit */
              t0 = evq_now();
              window_loops = loops;
            }
            break;
          }
          if (rc == EVQ_ECONNRESET) continue;
          CHECK_OK(rc);
          int k = 0;
          while (k < nconns && conns[k].fd != EVQ_INVALID_FD) k++;
          CHECK(k < (int)(sizeof conns / sizeof conns[0]));
          if (k == nconns) nconns++;
          conns[k].fd = fd;
          CHECK_OK(evq_register(q, fd, EVQ_READABLE, EVQ_LEVEL,
                                (uintptr_t)(100 + k)));
        }
      } else {
        conn_t *c = &conns[tok - 100];
        if (c->fd != EVQ_INVALID_FD && !conn_io(q, c)) {
          CHECK_OK(evq_deregister(q, c->fd));
          evq_close(c->fd);
          c->fd = EVQ_INVALID_FD;
        }
      }
    }
    /* (a): over a second at the limit, with connections knocking, the
     * loop sleeps. A spin would go round hundreds of thousands of times;
     * counted, not timed in CPU, so that a loaded machine cannot fail it
     * (tests/spin.h): load makes fewer turns, never more. */
    if (emfile > 0 && !measured && evq_now() - t0 >= 1000 * MS) {
      measured = true;
      window_loops = loops - window_loops;
      fprintf(stderr, "server: %lld loops in %.3f s at the limit\n",
              (long long)window_loops, (double)(evq_now() - t0) / 1e9);
      CHECK(window_loops < 2000);
    }
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0); /* (b), (c), (d): the client's checks */
  CHECK(emfile > 0);
  CHECK(measured); /* the window was measured */
  CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
  for (int k = 0; k < nconns; k++)
    if (conns[k].fd != EVQ_INVALID_FD) {
      CHECK_OK(evq_deregister(q, conns[k].fd));
      evq_close(conns[k].fd);
    }
  CHECK_OK(evq_deregister(q, l));
  CHECK_OK(evq_deregister(q, done[0]));
  close(done[0]);
  evq_close(l);
  evq_free(q);
}
