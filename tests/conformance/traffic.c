/* A level registration switched between its directions on every event
 * while data flows both ways, as an echo server does when its peer sends
 * faster than it reads (docs/examples/step1_echo.c): read while what was
 * read is written back, else wait for writability. No event may be lost on
 * the way: the echo must finish, every byte in order. On io_uring each
 * switch replaces a multishot poll, and a removal that reaches a poll
 * while the kernel is completing it is refused (-EALREADY): the poll ran
 * on, the next switch waited for its end forever, and the echo stalled
 * (the tutorial's test found it, about one run in eight). */
#include "harness.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

enum { TOTAL = 32 << 20, CHUNK = 65536 };

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 13)); }

typedef struct {
  evq_fd_t fd;
  atomic_int failed;
} peer_t;

/* The peer: writes TOTAL bytes and reads the echo back, checking it, both
 * at once (non-blocking, a short sleep when neither can go on). */
static void peer(void *arg) {
  peer_t *p = arg;
  static unsigned char out[CHUNK], in[CHUNK];
  size_t sent = 0, got = 0;
  int64_t idle_since = evq_now();
  while (got < TOTAL && evq_now() - idle_since < 10000 * MS) {
    bool moved = false;
    if (sent < TOTAL) {
      size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
      for (size_t i = 0; i < n; i++) out[i] = pattern(sent + i);
      ptrdiff_t w = evq_write(NULL, p->fd, out, n);
      if (w > 0) sent += (size_t)w, moved = true;
    }
    ptrdiff_t r = evq_read(NULL, p->fd, in, sizeof in);
    if (r > 0) {
      for (ptrdiff_t i = 0; i < r; i++)
        if (in[i] != pattern(got + (size_t)i)) atomic_store(&p->failed, 1);
      got += (size_t)r;
      moved = true;
    }
    if (moved) idle_since = evq_now();
    else tq_sleep_ms(1);
  }
  if (got < TOTAL) atomic_store(&p->failed, 2);
}

/* One event of the echo: read only once all that was read is written. */
static void echo(evq_t *q, evq_fd_t fd, unsigned char *buf, size_t *len,
                 size_t *sent, uint32_t *watching, size_t *done) {
  if (*sent == *len) {
    ptrdiff_t r = evq_read(q, fd, buf, CHUNK);
    if (r == EVQ_EAGAIN) return;
    CHECK(r > 0);
    *len = (size_t)r;
    *sent = 0;
  }
  ptrdiff_t w = evq_write(q, fd, buf + *sent, *len - *sent);
  CHECK(w > 0 || w == EVQ_EAGAIN);
  if (w > 0) *sent += (size_t)w, *done += (size_t)w;
  uint32_t want = *sent < *len ? EVQ_WRITABLE : EVQ_READABLE;
  if (want != *watching) {
    *watching = want;
    CHECK_OK(evq_modify(q, fd, want, EVQ_LEVEL, 1));
  }
}

TEST(level_flips_under_traffic) { /* tq: acts-while-waiting */
  evq_t *q = tq_queue();
  evq_fd_t s[2];
  tq_pair(s);
  peer_t p = {.fd = s[1]};
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_LEVEL, 1));
  tq_thread_t *t = tq_thread_start(peer, &p);
  static unsigned char buf[CHUNK];
  size_t len = 0, sent = 0, done = 0;
  uint32_t watching = EVQ_READABLE;
  while (done < TOTAL) {
    evq_event_t ev[4];
    int n = tq_wait(q, ev, 4, 10000 * MS);
    if (n == 0) fprintf(stderr, "no event for 10 s after %zu bytes\n", done);
    CHECK(n > 0); /* a stall: the registration stopped reporting */
    echo(q, s[0], buf, &len, &sent, &watching, &done);
  }
  tq_thread_join(t);
  CHECK_EQ(atomic_load(&p.failed), 0);
  CHECK_OK(evq_deregister(q, s[0]));
  evq_close(s[0]);
  evq_close(s[1]);
  evq_free(q);
}
