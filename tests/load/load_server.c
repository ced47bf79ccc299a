/*
 * load_server: the evq side of the load tests (docs/reliability.md). An
 * echo server that checks every byte it receives: each connection sends a
 * header (seed, length) and then that many bytes of its stream
 * (stream.h); the server verifies each byte and echoes it, and the load
 * generator verifies the echo. Connections use the three trigger modes in
 * turn (edge, level, oneshot). Portable C over evq alone: the same source
 * is the IOCP server under wine.
 *
 *   load_server BACKEND [--conns N] [--seconds S] [--buffer BYTES]
 *
 * Prints "listening on PORT"; "open N" once N connections are open at the
 * same time; on stopping, one line of totals. Stops when N connections
 * have completed (--conns), when a connection sends a STOP header, or
 * after S seconds (a failure). Exits non-zero on any corrupted, short or
 * failed connection, or when a limit (descriptors, memory) stops an
 * accept: it says which, and with how many open.
 */
#include "evq_net.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conn {
  evq_fd_t fd;
  evq_mode_t mode;
  uint32_t want;  /* interests registered (level, oneshot) */
  uint8_t hdr[sizeof(load_header_t)];
  size_t hdr_got;
  uint64_t seed, total, in, out;
  int eof;
  size_t head, len; /* pending echo bytes in buf (a ring) */
  uint8_t buf[];
} conn_t;

static evq_t *q;
static evq_fd_t listener;
static conn_t **conns;
static size_t nslots, buf_size = 4096;
static long accepted, open_now, peak, completed, errors, target;
static uint64_t bytes;
static int announced;

static void out(const char *fmt, long a) {
  printf(fmt, a);
  fflush(stdout);
}

static void report(const char *why) {
  printf("server %s: %s: accepted %ld, peak %ld open, completed %ld, "
         "%llu bytes verified and echoed, %ld errors\n",
         evq_backend(q), why, accepted, peak, completed,
         (unsigned long long)bytes, errors);
  fflush(stdout);
}

static void die(const char *what, int code) {
  printf("server: %s: %s with %ld connections open\n", what,
         evq_strerror(code), open_now);
  report("stopped by an error");
  exit(1);
}

static void finish(size_t slot, int ok) {
  conn_t *c = conns[slot];
  int rc = evq_deregister(q, c->fd);
  if (rc != 0) die("evq_deregister", rc);
  evq_close(c->fd);
  if (ok) {
    completed++;
  } else {
    errors++;
    printf("server: connection %zu failed: %llu of %llu bytes in, %llu out\n",
           slot, (unsigned long long)c->in, (unsigned long long)c->total,
           (unsigned long long)c->out);
    fflush(stdout);
  }
  free(c);
  conns[slot] = NULL;
  open_now--;
}

/* Bytes received: the header, then stream bytes, each checked and queued
 * for echo. Returns 0, or -1 for a STOP request. */
static int take(conn_t *c, size_t slot, const uint8_t *p, size_t n) {
  while (n && c->hdr_got < sizeof c->hdr) {
    c->hdr[c->hdr_got++] = *p++;
    n--;
    if (c->hdr_got == sizeof c->hdr) {
      load_header_t h;
      memcpy(&h, c->hdr, sizeof h);
      if (h.magic == LOAD_STOP) return -1;
      if (h.magic != LOAD_MAGIC) {
        printf("server: connection %zu: bad header\n", slot);
        report("corrupted data");
        exit(1);
      }
      c->seed = h.seed;
      c->total = h.total;
    }
  }
  if (!n) return 0;
  if (c->in + n > c->total) {
    printf("server: connection %zu: %llu bytes more than announced\n", slot,
           (unsigned long long)(c->in + n - c->total));
    report("corrupted data");
    exit(1);
  }
  size_t bad = load_check(c->seed, c->in, p, n);
  if (bad != n) {
    printf("server: connection %zu: byte %llu corrupted\n", slot,
           (unsigned long long)(c->in + bad));
    report("corrupted data");
    exit(1);
  }
  c->in += n;
  return 0;
}

/* Reads and writes until neither can go on (would-block, end of stream, or
 * a full buffer), which is what edge mode needs; level and oneshot then
 * register what they want next. */
static void pump(size_t slot) {
  conn_t *c = conns[slot];
  for (;;) {
    int progress = 0;
    while (!c->eof && c->len < buf_size) {
      size_t tail = (c->head + c->len) % buf_size;
      size_t room = tail >= c->head ? buf_size - tail : c->head - tail;
      if (room > buf_size - c->len) room = buf_size - c->len;
      ptrdiff_t r = evq_read(q, c->fd, c->buf + tail, room);
      if (r > 0) {
        /* Header bytes are consumed, not echoed: take() works on a copy
         * in place, then the stream part stays queued. */
        size_t hdr_part = 0;
        if (c->hdr_got < sizeof c->hdr) {
          hdr_part = sizeof c->hdr - c->hdr_got;
          if (hdr_part > (size_t)r) hdr_part = (size_t)r;
        }
        if (take(c, slot, c->buf + tail, (size_t)r) < 0) {
          report("stopped");
          exit(errors ? 1 : 0);
        }
        if (hdr_part) memmove(c->buf + tail, c->buf + tail + hdr_part, (size_t)r - hdr_part);
        c->len += (size_t)r - hdr_part;
        progress = 1;
      } else if (r == 0) {
        c->eof = 1;
      } else if (r == EVQ_EAGAIN) {
        break;
      } else {
        finish(slot, 0);
        return;
      }
    }
    while (c->len) {
      size_t chunk = c->head + c->len <= buf_size ? c->len : buf_size - c->head;
      ptrdiff_t w = evq_write(q, c->fd, c->buf + c->head, chunk);
      if (w > 0) {
        c->head = (c->head + (size_t)w) % buf_size;
        c->len -= (size_t)w;
        c->out += (uint64_t)w;
        bytes += (uint64_t)w;
        progress = 1;
      } else if (w == EVQ_EAGAIN) {
        break;
      } else {
        finish(slot, 0);
        return;
      }
    }
    if (!progress) break;
  }
  if (c->eof && c->len == 0) {
    finish(slot, c->hdr_got == sizeof c->hdr && c->in == c->total &&
                     c->out == c->total);
    if (target && completed + errors == target) {
      report(errors ? "done, with errors" : "done");
      exit(errors ? 1 : 0);
    }
    return;
  }
  if (c->mode == EVQ_EDGE) return;
  uint32_t want = (!c->eof && c->len < buf_size ? EVQ_READABLE : 0) |
                  (c->len ? EVQ_WRITABLE : 0);
  if (want == 0) want = EVQ_READABLE; /* end of stream still to see */
  if (c->mode == EVQ_ONESHOT || want != c->want) {
    int rc = evq_modify(q, c->fd, want, c->mode, (uintptr_t)slot + 1);
    if (rc != 0) die("evq_modify", rc);
    c->want = want;
  }
}

static void accept_all(void) {
  for (;;) {
    evq_fd_t fd;
    int rc = evq_accept(q, listener, &fd);
    if (rc == EVQ_EAGAIN) return;
    if (rc != 0) die("evq_accept", rc); /* EMFILE: the descriptor limit */
    size_t slot = 0;
    while (slot < nslots && conns[slot]) slot++;
    if (slot == nslots) {
      size_t n = nslots ? nslots * 2 : 1024;
      conn_t **more = realloc(conns, n * sizeof *more);
      if (!more) die("realloc", EVQ_ENOMEM);
      memset(more + nslots, 0, (n - nslots) * sizeof *more);
      conns = more;
      nslots = n;
    }
    conn_t *c = calloc(1, sizeof *c + buf_size);
    if (!c) die("calloc", EVQ_ENOMEM);
    c->fd = fd;
    static const evq_mode_t modes[3] = {EVQ_EDGE, EVQ_LEVEL, EVQ_ONESHOT};
    c->mode = modes[accepted % 3];
    c->want = c->mode == EVQ_EDGE ? EVQ_READABLE | EVQ_WRITABLE : EVQ_READABLE;
    rc = evq_register(q, fd, c->want, c->mode, (uintptr_t)slot + 1);
    if (rc != 0) die("evq_register", rc);
    conns[slot] = c;
    accepted++;
    if (++open_now > peak) peak = open_now;
    if (target && peak == target && !announced) {
      announced = 1;
      out("open %ld\n", peak);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BACKEND [--conns N] [--seconds S] [--buffer BYTES]\n",
            argv[0]);
    return 2;
  }
  long seconds = 600;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--conns") == 0) target = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0) seconds = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--buffer") == 0) buf_size = (size_t)atol(argv[i + 1]);
  }
  evq_options_t o = {.backend = argv[1], .max_events = 1024};
  int rc = evq_create(&q, &o);
  if (rc != 0) {
    printf("server: evq_create(%s): %s\n", argv[1], evq_strerror(rc));
    return 1;
  }
  rc = evq_tcp_listen(&listener, "127.0.0.1", 0, 4096);
  if (rc != 0) die("evq_tcp_listen", rc);
  rc = evq_register(q, listener, EVQ_READABLE, EVQ_LEVEL, 0);
  if (rc != 0) die("evq_register", rc);
  out("listening on %ld\n", evq_socket_port(listener));
  int64_t end = evq_now() + seconds * 1000000000LL;
  static evq_event_t ev[1024];
  while (evq_now() < end) {
    int n = evq_wait(q, ev, 1024, 200000000);
    if (n < 0) die("evq_wait", n);
    for (int i = 0; i < n; i++) {
      if (ev[i].token == 0) {
        accept_all();
        continue;
      }
      size_t slot = (size_t)ev[i].token - 1;
      if (slot < nslots && conns[slot]) pump(slot);
    }
  }
  report("out of time");
  return 1;
}
