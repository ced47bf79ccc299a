/* What the completion cases share (tests/conformance/io_*.c): reading
 * completions one at a time, a byte pattern, and a peer that reads what
 * it can without blocking. */
#ifndef TQ_IOTEST_H
#define TQ_IOTEST_H

#include "harness.h"
#include "evq_io.h"

#include <string.h>

/* Completions as a stream: next() gives the next EVQ_OP event of q, and
 * fails the case if none comes within 10 s; other events fail it too. */
typedef struct io_stream {
  evq_t *q;
  evq_event_t ev[64];
  int n, pos;
} io_stream_t;

static inline io_stream_t io_stream(evq_t *q) {
  io_stream_t s;
  memset(&s, 0, sizeof s);
  s.q = q;
  return s;
}

static inline evq_event_t io_next(io_stream_t *s) {
  for (int waited = 0; s->pos == s->n; waited++) {
    CHECK(waited < 1000);
    s->pos = 0;
    s->n = tq_wait(s->q, s->ev, 64, 10 * MS);
  }
  evq_event_t e = s->ev[s->pos++];
  CHECK(e.flags & EVQ_OP);
  return e;
}

/* The next completion, which must be op token's and final. */
static inline int32_t io_final(io_stream_t *s, uintptr_t token) {
  evq_event_t e = io_next(s);
  CHECK_EQ(e.token, token);
  CHECK_EQ(e.flags & (EVQ_OP_MORE | EVQ_OP_BUFFER), 0);
  return evq_op_result(&e);
}

/* No completion within ms (the queue has nothing to report). */
static inline void io_none(io_stream_t *s, int ms) {
  CHECK_EQ(s->pos, s->n);
  CHECK_EQ(tq_wait(s->q, s->ev, 64, ms * MS), 0);
}

/* The byte at offset i of stream k: order and origin show in it. */
static inline unsigned char io_byte(int k, size_t i) {
  return (unsigned char)(i * 131 + (i >> 8) * 7 + (size_t)k * 29 + 1);
}

static inline void io_fill(unsigned char *p, size_t n, int k, size_t from) {
  for (size_t i = 0; i < n; i++) p[i] = io_byte(k, from + i);
}

/* Reads fd without blocking into have (cap bytes, *got so far); the
 * bytes must follow stream k's pattern. */
static inline void io_read_check(evq_fd_t fd, int k, size_t *got,
                                 size_t cap) {
  unsigned char buf[65536];
  for (;;) {
    ptrdiff_t r = evq_read(NULL, fd, buf, sizeof buf);
    if (r == EVQ_EAGAIN || r == 0) return;
    CHECK_OK(r);
    CHECK(*got + (size_t)r <= cap);
    for (ptrdiff_t i = 0; i < r; i++)
      if (buf[i] != io_byte(k, *got + (size_t)i)) {
        fprintf(stderr, "byte %zu of stream %d wrong\n", *got + (size_t)i, k);
        CHECK(0);
      }
    *got += (size_t)r;
  }
}

/* A connected TCP pair on loopback: *c made by evq_connect, *s accepted. */
static inline void io_tcp_pair(evq_fd_t *c, evq_fd_t *s) {
  evq_fd_t l;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 4));
  CHECK_OK(evq_tcp_connect(c, "127.0.0.1", (uint16_t)evq_socket_port(l)));
  int rc = EVQ_EAGAIN;
  for (int i = 0; i < 5000 && rc == EVQ_EAGAIN; i++) {
    rc = evq_accept(NULL, l, s);
    if (rc == EVQ_EAGAIN) tq_sleep_ms(1);
  }
  CHECK_EQ(rc, 0);
  evq_close(l);
}

#endif
