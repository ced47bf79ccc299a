/*
 * io_server: load_server's echo server and protocol written with evq's
 * completion operations alone (evq_io.h; docs/reliability.md). A multishot
 * accept takes the connections; each connection has one pool receive (a
 * pool sized for the load), at most one send in flight with the bytes that
 * came meanwhile buffered behind it, and ends with evq_op_close(). Every
 * byte is checked as load_server checks it: a header (seed, length), then
 * that many bytes of the connection's stream (stream.h), each verified and
 * echoed; the load generator verifies the echo. No readiness call: the
 * listener and every connection are driven by completions only. Portable
 * C over evq alone: the same source is the IOCP server under wine.
 *
 *   io_server BACKEND [--conns N] [--seconds S] [--buffer BYTES]
 *             [--pool COUNT] [--recv 1]
 *
 * As load_server: prints "listening on PORT"; "open N" once N connections
 * are open at the same time; on stopping, one line of totals (just before
 * it, one line on the operations: their paths, pool, pauses). Stops when N
 * connections have completed (--conns), when a connection sends a STOP
 * header, or after S seconds (a failure). Exits non-zero on any corrupted,
 * short or failed connection, or when a limit (descriptors, memory) stops
 * an accept: it says which, and with how many open.
 *
 * --buffer (4096) is the size of the pool's buffers, and how many bytes a
 * connection may hold unsent before it stops receiving (load_server's ring
 * of that size stops reading when full): its pool receive is cancelled,
 * and submitted again once the send took them. --pool is the number of
 * buffers: by default N rounded up to a power of two, 4,096 to 32,768. A
 * pool receive that finds the pool empty ends with EVQ_ENOBUFS and is
 * submitted again. --recv 1 receives with evq_op_recv into a buffer of
 * the connection's own (--buffer bytes) instead, one receive at a time:
 * the receive IOCP does natively (its pool receive is emulated).
 *
 * It also checks evq: a completion for an operation that is not in flight
 * (twice, or for a closed connection), a send completing short, a final
 * completion while evq_op_active() still says 1, a buffer lent twice, a
 * receive ended by a cancel nobody asked for, a close completing before its
 * socket's operations: each stops it with "server: evq defect: ...".
 */
#include "evq_io.h"
#include "stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_RX = 0, OP_TX = 1, OP_CLOSE = 2 };

typedef struct conn {
  evq_fd_t fd;
  uint32_t gen;      /* of the slot: in every token, against stale ones */
  evq_op_t rx, tx, cl; /* the pool receive, the send, the close */
  int rx_on;         /* a pool receive submitted, its final not yet seen */
  int tx_on;         /* a send submitted, its completion not yet seen */
  int paused;        /* too much unsent: its receive was cancelled */
  int eof, failed, closing;
  uint8_t hdr[sizeof(load_header_t)];
  size_t hdr_got;
  uint64_t seed, total, in, out;
  uint8_t *pend;     /* received and checked, not yet in a send */
  size_t npend, cpend;
  uint8_t *sending;  /* what the send in flight holds (evq's until done) */
  uint8_t *rbuf;     /* --recv: what the receive in flight fills */
  size_t nsending, csending;
} conn_t;

static evq_t *q;
static evq_pool_t *pool;
static evq_fd_t listener;
static evq_op_t acc;
static conn_t **conns;
static size_t *free_slots, nfree, nslots, buf_size = 4096;
static uint32_t pool_count;
static long accepted, open_now, peak, completed, errors, target;
static uint64_t bytes, enobufs, pauses, cancels_late;
static int announced, own_buffers;

static void out(const char *fmt, long a) {
  printf(fmt, a);
  fflush(stdout);
}

static const char *path(int kind) {
  switch (evq_io_path(q, kind)) {
  case EVQ_PATH_EMULATED: return "emulated";
  case EVQ_PATH_NATIVE: return "native";
  case EVQ_PATH_NATIVE_MULTI: return "native multishot";
  default: return "?";
  }
}

static void report(const char *why) {
  if (own_buffers)
    printf("server %s: operations: accept %s, receive %s, send %s, close %s; "
           "buffers of %lu bytes; %llu paused with that much unsent\n",
           evq_backend(q), path(EVQ_IO_ACCEPT_MULTI), path(EVQ_IO_RECV),
           path(EVQ_IO_SEND), path(EVQ_IO_CLOSE), (unsigned long)buf_size,
           (unsigned long long)pauses);
  else if (pool)
    printf("server %s: operations: accept %s, pool receive %s, send %s, "
           "close %s; pool of %lu buffers of %lu bytes; %llu receives ended "
           "for want of buffers; %llu paused with %lu bytes unsent (%llu of those "
           "cancels came after the receive had ended)\n",
           evq_backend(q), path(EVQ_IO_ACCEPT_MULTI), path(EVQ_IO_RECV_POOL),
           path(EVQ_IO_SEND), path(EVQ_IO_CLOSE), (unsigned long)pool_count,
           (unsigned long)buf_size, (unsigned long long)enobufs,
           (unsigned long long)pauses, (unsigned long)buf_size,
           (unsigned long long)cancels_late);
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

/* evq broke its contract (evq_io.h): say what, and on which connection. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void defect(size_t slot, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("server: evq defect: connection %zu: ", slot);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  report("stopped by an evq defect");
  exit(1);
}

static uintptr_t token(size_t slot, const conn_t *c, int kind) {
  /* The slot's generation above bit 40 where tokens have 64 bits. */
  return (uintptr_t)((uint64_t)c->gen << 40) |
         ((uintptr_t)(slot + 1) << 2) | (uintptr_t)kind;
}

static void room(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t n = *cap ? *cap : buf_size;
  while (n < need) n *= 2;
  uint8_t *more = realloc(*buf, n);
  if (!more) die("realloc", EVQ_ENOMEM);
  *buf = more;
  *cap = n;
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
  room(&c->pend, &c->cpend, c->npend + n);
  memcpy(c->pend + c->npend, p, n);
  c->npend += n;
  return 0;
}

static void start_rx(size_t slot, conn_t *c) {
  int rc = own_buffers ? evq_op_recv(q, &c->rx, c->fd, c->rbuf, buf_size,
                                     token(slot, c, OP_RX))
                       : evq_op_recv_pool(q, &c->rx, c->fd, pool,
                                          token(slot, c, OP_RX));
  if (rc != 0) die("evq_op_recv_pool", rc);
  c->rx_on = 1;
}

/* The send of what is pending, if none is in flight: the pending buffer
 * becomes the send's, the send's old one takes what comes next. */
static void flush(size_t slot, conn_t *c) {
  if (c->tx_on || c->npend == 0 || c->closing) return;
  uint8_t *b = c->sending;
  size_t cap = c->csending;
  c->sending = c->pend;
  c->csending = c->cpend;
  c->nsending = c->npend;
  c->pend = b;
  c->cpend = cap;
  c->npend = 0;
  int rc = evq_op_send(q, &c->tx, c->fd, c->sending, c->nsending,
                       token(slot, c, OP_TX));
  if (rc != 0) die("evq_op_send", rc);
  c->tx_on = 1;
}

static void start_close(size_t slot, conn_t *c) {
  if (c->closing) return;
  c->closing = 1;
  int rc = evq_op_close(q, &c->cl, c->fd, token(slot, c, OP_CLOSE));
  if (rc != 0) die("evq_op_close", rc);
}

/* After every completion: receive again if it stopped and there is room,
 * stop receiving if too much is unsent, close when all is echoed. */
static void step(size_t slot, conn_t *c) {
  if (c->closing) return;
  if (c->failed) {
    start_close(slot, c);
    return;
  }
  flush(slot, c);
  if (c->rx_on && !c->paused && c->npend >= buf_size) {
    c->paused = 1;
    pauses++;
    int rc = evq_op_cancel(q, &c->rx);
    /* EVQ_ENOENT: its final completion is in this batch, still to be
     * read; it ends the receive all the same. */
    if (rc == EVQ_ENOENT) cancels_late++;
    else if (rc != 0) die("evq_op_cancel", rc);
  }
  if (!c->rx_on && !c->eof && c->npend < buf_size) {
    c->paused = 0;
    start_rx(slot, c);
  }
  if (c->eof && !c->rx_on && !c->tx_on && c->npend == 0) start_close(slot, c);
}

static void finish(size_t slot, conn_t *c, int32_t r) {
  int ok = !c->failed && r == 0 && c->hdr_got == sizeof c->hdr &&
           c->in == c->total && c->out == c->total;
  if (ok) {
    completed++;
  } else {
    errors++;
    printf("server: connection %zu failed: %llu of %llu bytes in, %llu out, "
           "close %s\n",
           slot, (unsigned long long)c->in, (unsigned long long)c->total,
           (unsigned long long)c->out, r ? evq_strerror(r) : "ok");
    fflush(stdout);
  }
  free(c->pend);
  free(c->sending);
  free(c->rbuf);
  free(c);
  conns[slot] = NULL;
  free_slots[nfree++] = slot;
  open_now--;
  if (target && completed + errors == target) {
    report(errors ? "done, with errors" : "done");
    exit(errors ? 1 : 0);
  }
}

/* --recv: each receive ends with its bytes, and goes again from step(). */
static void on_own_rx(size_t slot, conn_t *c, int32_t r) {
  if (r > 0 && !c->closing && take(c, slot, c->rbuf, (size_t)r) < 0) {
    report("stopped");
    exit(errors ? 1 : 0);
  }
  c->rx_on = 0;
  if (r == 0) {
    c->eof = 1;
  } else if (r == EVQ_ECANCELED) {
    if (!c->paused && !c->closing)
      defect(slot, "a receive cancelled that nobody cancelled");
  } else if (r < 0 && !c->closing) {
    c->failed = 1;
    printf("server: connection %zu: receive: %s\n", slot, evq_strerror(r));
  }
  step(slot, c);
}

static void on_rx(size_t slot, conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (!c->rx_on) defect(slot, "a receive completion (%ld) with no receive in flight", (long)r);
  if (own_buffers) {
    if (e->flags != EVQ_OP || r > (int32_t)buf_size)
      defect(slot, "a receive's completion %ld, flags %#lx", (long)r,
             (unsigned long)e->flags);
    on_own_rx(slot, c, r);
    return;
  }
  if (e->flags & EVQ_OP_MORE) {
    if (!(e->flags & EVQ_OP_BUFFER) || r <= 0 || (size_t)r > buf_size)
      defect(slot, "a pool receive's completion %ld, flags %#lx", (long)r,
             (unsigned long)e->flags);
    uint32_t id = evq_op_buffer(e);
    const uint8_t *p = evq_pool_buf(pool, id);
    if (!p) defect(slot, "buffer id %lu of a pool of %lu", (unsigned long)id,
                (unsigned long)pool_count);
    /* On a connection being closed the bytes no longer matter. */
    if (!c->closing && take(c, slot, p, (size_t)r) < 0) {
      report("stopped");
      exit(errors ? 1 : 0);
    }
    int rc = evq_pool_put(pool, id);
    if (rc != 0) defect(slot, "buffer %lu lent twice (evq_pool_put: %s)",
                       (unsigned long)id, evq_strerror(rc));
    step(slot, c);
    return;
  }
  if (e->flags & EVQ_OP_BUFFER) defect(slot, "a final receive completion (%ld) with a buffer", (long)r);
  if (evq_op_active(&c->rx)) defect(slot, "a final receive completion (%ld) while the op is active",
                                    (long)r);
  c->rx_on = 0;
  if (r == 0) {
    c->eof = 1;
  } else if (r == EVQ_ENOBUFS) {
    enobufs++; /* step() submits it again */
  } else if (r == EVQ_ECANCELED) {
    if (!c->paused && !c->closing)
      defect(slot, "a receive cancelled that nobody cancelled");
  } else if (r > 0) {
    defect(slot, "a pool receive ended with %ld bytes", (long)r);
  } else if (!c->closing) {
    c->failed = 1;
    printf("server: connection %zu: receive: %s\n", slot, evq_strerror(r));
  }
  step(slot, c);
}

static void on_tx(size_t slot, conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (!c->tx_on) defect(slot, "a send completion (%ld) with no send in flight", (long)r);
  if (e->flags & (EVQ_OP_MORE | EVQ_OP_BUFFER))
    defect(slot, "a send completion (%ld) with flags %#lx", (long)r,
           (unsigned long)e->flags);
  if (evq_op_active(&c->tx)) defect(slot, "a send completion (%ld) while the op is active", (long)r);
  c->tx_on = 0;
  if (r >= 0 && (size_t)r != c->nsending)
    defect(slot, "a send of %lu bytes completed with %ld",
           (unsigned long)c->nsending, (long)r);
  if (r > 0) {
    c->out += (uint64_t)r;
    bytes += (uint64_t)r;
  } else if (!c->closing) {
    c->failed = 1;
    printf("server: connection %zu: send: %s\n", slot, evq_strerror(r));
  }
  step(slot, c);
}

static void on_close(size_t slot, conn_t *c, const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (!c->closing) defect(slot, "a close completion (%ld) with no close in flight", (long)r);
  if (e->flags & (EVQ_OP_MORE | EVQ_OP_BUFFER))
    defect(slot, "a close completion (%ld) with flags %#lx", (long)r,
           (unsigned long)e->flags);
  if (c->rx_on || c->tx_on || evq_op_active(&c->rx) || evq_op_active(&c->tx) ||
      evq_op_active(&c->cl))
    defect(slot, "the close completed before its socket's operations "
           "(receive %d, send %d)", c->rx_on, c->tx_on);
  finish(slot, c, r);
}

static void on_accept(const evq_event_t *e) {
  int32_t r = evq_op_result(e);
  if (!(e->flags & EVQ_OP_MORE)) die("the multishot accept ended", r);
  if (r < 0) die("evq_op_accept_multi", r); /* EMFILE: the descriptor limit */
  if (nfree == 0) {
    size_t n = nslots ? nslots * 2 : 1024;
    conn_t **more = realloc(conns, n * sizeof *more);
    size_t *fs = realloc(free_slots, n * sizeof *fs);
    if (!more || !fs) die("realloc", EVQ_ENOMEM);
    memset(more + nslots, 0, (n - nslots) * sizeof *more);
    conns = more;
    free_slots = fs;
    for (size_t s = n; s > nslots; s--) free_slots[nfree++] = s - 1;
    nslots = n;
  }
  size_t slot = free_slots[--nfree];
  static uint32_t gens;
  conn_t *c = calloc(1, sizeof *c);
  if (!c) die("calloc", EVQ_ENOMEM);
  c->fd = evq_op_socket(e);
  c->gen = ++gens & 0xffffff;
  if (own_buffers && !(c->rbuf = malloc(buf_size))) die("malloc", EVQ_ENOMEM);
  evq_op_init(&c->rx);
  evq_op_init(&c->tx);
  evq_op_init(&c->cl);
  conns[slot] = c;
  start_rx(slot, c);
  accepted++;
  if (++open_now > peak) peak = open_now;
  if (target && peak == target && !announced) {
    announced = 1;
    out("open %ld\n", peak);
  }
}

static void on_event(const evq_event_t *e) {
  if (!(e->flags & EVQ_OP)) defect(0, "an event that is no completion (flags %#lx)",
                                   (unsigned long)e->flags);
  if (e->token == 0) {
    on_accept(e);
    return;
  }
  size_t slot = (size_t)(((uint64_t)e->token & ((1ull << 40) - 1)) >> 2) - 1;
  uint32_t gen = (uint32_t)((uint64_t)e->token >> 40);
  conn_t *c = slot < nslots ? conns[slot] : NULL;
  if (!c || (sizeof(uintptr_t) >= 8 && c->gen != gen))
    defect(slot, "a completion (%ld) for a connection already closed (op %d)",
           (long)evq_op_result(e), (int)(e->token & 3));
  switch (e->token & 3) {
  case OP_RX: on_rx(slot, c, e); break;
  case OP_TX: on_tx(slot, c, e); break;
  case OP_CLOSE: on_close(slot, c, e); break;
  default: defect(slot, "a completion with token %#llx",
                  (unsigned long long)e->token);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BACKEND [--conns N] [--seconds S] [--buffer BYTES] "
            "[--pool COUNT] [--recv 1]\n", argv[0]);
    return 2;
  }
  long seconds = 600, count = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--conns") == 0) target = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0) seconds = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--buffer") == 0) buf_size = (size_t)atol(argv[i + 1]);
    else if (strcmp(argv[i], "--pool") == 0) count = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--recv") == 0) own_buffers = atoi(argv[i + 1]);
  }
  if (count <= 0) {
    count = 4096;
    while (count < target && count < 32768) count *= 2;
  }
  pool_count = (uint32_t)count;
  evq_options_t o = {.backend = argv[1], .max_events = 1024};
  int rc = evq_create(&q, &o);
  if (rc != 0) {
    printf("server: evq_create(%s): %s\n", argv[1], evq_strerror(rc));
    return 1;
  }
  rc = evq_pool_create(q, &pool, pool_count, (uint32_t)buf_size);
  if (rc != 0) die("evq_pool_create", rc);
  rc = evq_tcp_listen(&listener, "127.0.0.1", 0, 4096);
  if (rc != 0) die("evq_tcp_listen", rc);
  evq_op_init(&acc);
  rc = evq_op_accept_multi(q, &acc, listener, 0);
  if (rc != 0) die("evq_op_accept_multi", rc);
  out("listening on %ld\n", evq_socket_port(listener));
  int64_t end = evq_now() + seconds * 1000000000LL;
  static evq_event_t ev[1024];
  while (evq_now() < end) {
    int n = evq_wait(q, ev, 1024, 200000000);
    if (n < 0) die("evq_wait", n);
    for (int i = 0; i < n; i++) on_event(&ev[i]);
  }
  report("out of time");
  return 1;
}
