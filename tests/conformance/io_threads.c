/* Completion operations from other threads and at random points: a
 * submission wakes a sleeping waiter, a cancel races the completion, and
 * every op completes exactly once; many connections echo through
 * multishot accept, pool receives and sends, every byte checked
 * (evq_io.h). */
#include "iotest.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
  evq_t *q;
  evq_fd_t fd;
  evq_op_t op;
  atomic_int go;
} submitter_t;

static void submit_later(void *arg) {
  submitter_t *s = arg;
  tq_sleep_ms(100);
  CHECK_OK(evq_op_send(s->q, &s->op, s->fd, "late", 4, 77));
}

/* A send submitted by another thread while the waiter sleeps wakes it
 * and completes. */
TEST(io_submit_from_thread) { /* tq: acts-while-waiting */
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t fds[2];
  tq_pair(fds);
  submitter_t sub = {.q = q, .fd = fds[0]};
  evq_op_init(&sub.op);
  tq_thread_t *t = tq_thread_start(submit_later, &sub);
  evq_event_t ev[4];
  int n = tq_wait(q, ev, 4, 10000 * MS); /* sleeps until the send */
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 77);
  CHECK_EQ(evq_op_result(&ev[0]), 4);
  tq_thread_join(t);
  char buf[8];
  CHECK_EQ(evq_read(NULL, fds[1], buf, sizeof buf), 4);
  io_none(&s, 10);
  evq_close(fds[0]);
  evq_close(fds[1]);
  evq_free(q);
}

enum { RACE_OPS = 16, RACE_ROUNDS = 300 };

typedef struct {
  evq_t *q;
  evq_op_t *ops;
  atomic_int stop;
} canceller_t;

static void cancel_loop(void *arg) {
  canceller_t *c = arg;
  unsigned x = 12345;
  while (!atomic_load(&c->stop)) {
    x = x * 1103515245u + 12345u;
    int rc = evq_op_cancel(c->q, &c->ops[(x >> 8) % RACE_OPS]);
    CHECK(rc == 0 || rc == EVQ_ENOENT);
  }
}

/* Receives on sockets that get data at random while another thread
 * cancels at random: each submission gets exactly one final completion,
 * its data or EVQ_ECANCELED, and evq_op_active turns 0 only then. */
TEST(io_cancel_race) { /* tq: acts-while-waiting */
  evq_t *q = tq_queue();
  evq_fd_t fds[RACE_OPS][2];
  static evq_op_t ops[RACE_OPS];
  char buf[RACE_OPS][8];
  int finals[RACE_OPS] = {0}, submitted[RACE_OPS] = {0};
  for (int i = 0; i < RACE_OPS; i++) {
    tq_pair(fds[i]);
    evq_op_init(&ops[i]);
  }
  canceller_t c = {.q = q, .ops = ops};
  tq_thread_t *t = tq_thread_start(cancel_loop, &c);
  unsigned x = 99;
  evq_event_t ev[64];
  for (int round = 0; round < RACE_ROUNDS; round++) {
    for (int i = 0; i < RACE_OPS; i++)
      if (!evq_op_active(&ops[i])) {
        CHECK_OK(evq_op_recv(q, &ops[i], fds[i][0], buf[i], 8, (uintptr_t)i));
        submitted[i]++;
      }
    x = x * 1103515245u + 12345u;
    evq_write(NULL, fds[(x >> 8) % RACE_OPS][1], "d", 1);
    int n = tq_wait(q, ev, 64, 2 * MS);
    for (int k = 0; k < n; k++) {
      CHECK(ev[k].flags == EVQ_OP && ev[k].token < RACE_OPS);
      int32_t r = evq_op_result(&ev[k]);
      CHECK(r == EVQ_ECANCELED || (r >= 1 && r <= 8));
      finals[ev[k].token]++;
      CHECK_EQ(evq_op_active(&ops[ev[k].token]), 0);
    }
  }
  atomic_store(&c.stop, 1);
  tq_thread_join(t);
  for (int i = 0; i < RACE_OPS; i++)
    if (evq_op_active(&ops[i])) CHECK_OK(evq_op_cancel(q, &ops[i]));
  for (int left = 1, rounds = 0; left; rounds++) {
    CHECK(rounds < 100); /* every op ends once: none is left behind */
    left = 0;
    for (int i = 0; i < RACE_OPS; i++) left |= evq_op_active(&ops[i]);
    int n = tq_wait(q, ev, 64, left ? 100 * MS : 0);
    CHECK(left || n == 0);
    for (int k = 0; k < n; k++) finals[ev[k].token]++;
  }
  for (int i = 0; i < RACE_OPS; i++) {
    CHECK_EQ(finals[i], submitted[i]);
    evq_close(fds[i][0]);
    evq_close(fds[i][1]);
  }
  evq_free(q);
}

enum { ECHO_CONNS = 200, ECHO_BYTES = 20000, POOL_BUFS = 512 };

typedef struct {
  evq_fd_t fd;
  evq_op_t rx, tx;
  unsigned char out[8192]; /* what the send in flight holds */
  unsigned char pend[8192]; /* what came while it was in flight */
  size_t npend;
} econn_t;

/* The send of what is pending, if no send is in flight: one send per
 * connection at a time, from a buffer of the server's own. */
static void echo_flush(evq_t *q, econn_t *c, uintptr_t token) {
  if (evq_op_active(&c->tx) || c->npend == 0) return;
  memcpy(c->out, c->pend, c->npend);
  CHECK_OK(evq_op_send(q, &c->tx, c->fd, c->out, c->npend, token | 1));
  c->npend = 0;
}

/* A server that echoes through completions only: multishot accept, a pool
 * receive per connection, the bytes copied out so that each buffer goes
 * back at once, and one send in flight per connection. */
static void echo_event(evq_t *q, evq_pool_t *pool, econn_t *conns, int *nconn,
                       const evq_event_t *e) {
  if (e->token == 0) { /* accept */
    CHECK(e->flags & EVQ_OP_MORE);
    CHECK(evq_op_result(e) >= 0);
    econn_t *c = &conns[(*nconn)++];
    c->fd = evq_op_socket(e);
    evq_op_init(&c->rx);
    evq_op_init(&c->tx);
    CHECK_OK(evq_op_recv_pool(q, &c->rx, c->fd, pool, (uintptr_t)*nconn << 4));
    return;
  }
  econn_t *c = &conns[(e->token >> 4) - 1];
  uintptr_t base = e->token & ~(uintptr_t)15;
  int32_t r = evq_op_result(e);
  if (e->token & 1) { /* the send done */
    CHECK(r > 0);
    echo_flush(q, c, base);
    return;
  }
  if (!(e->flags & EVQ_OP_BUFFER)) { /* the receive ended */
    CHECK(r == 0 || r == EVQ_ENOBUFS);
    if (r == EVQ_ENOBUFS) CHECK_OK(evq_op_recv_pool(q, &c->rx, c->fd, pool, base));
    return;
  }
  uint32_t id = evq_op_buffer(e);
  CHECK(c->npend + (size_t)r <= sizeof c->pend);
  memcpy(c->pend + c->npend, evq_pool_buf(pool, id), (size_t)r);
  c->npend += (size_t)r;
  CHECK_OK(evq_pool_put(pool, id));
  echo_flush(q, c, base);
}

TEST(io_echo_many) {
  evq_t *q = tq_queue();
  evq_fd_t l;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 1024));
  evq_pool_t *pool;
  CHECK_OK(evq_pool_create(q, &pool, POOL_BUFS, 1024));
  evq_op_t acc;
  evq_op_init(&acc);
  CHECK_OK(evq_op_accept_multi(q, &acc, l, 0));
  static econn_t conns[ECHO_CONNS];
  static evq_fd_t client[ECHO_CONNS];
  static size_t sent[ECHO_CONNS], got[ECHO_CONNS];
  int nconn = 0, done = 0;
  for (int i = 0; i < ECHO_CONNS; i++)
    CHECK_OK(evq_tcp_connect(&client[i], "127.0.0.1",
                             (uint16_t)evq_socket_port(l)));
  unsigned char chunk[1000];
  evq_event_t ev[256];
  for (int rounds = 0; done < ECHO_CONNS; rounds++) {
    CHECK(rounds < 200000);
    for (int i = 0; i < ECHO_CONNS; i++) {
      /* At most 4 KiB unanswered per client: the server's buffers hold
       * what comes while its send is in flight. */
      if (sent[i] == ECHO_BYTES || sent[i] - got[i] >= 4000) continue;
      size_t n = ECHO_BYTES - sent[i] < sizeof chunk ? ECHO_BYTES - sent[i]
                                                       : sizeof chunk;
      io_fill(chunk, n, i, sent[i]);
      ptrdiff_t w = evq_write(NULL, client[i], chunk, n);
      if (w > 0) sent[i] += (size_t)w;
    }
    int n = tq_wait(q, ev, 256, 1 * MS);
    for (int k = 0; k < n; k++) echo_event(q, pool, conns, &nconn, &ev[k]);
    for (int i = 0; i < ECHO_CONNS; i++) {
      if (got[i] == ECHO_BYTES) continue;
      io_read_check(client[i], i, &got[i], ECHO_BYTES);
      if (got[i] == ECHO_BYTES) done++;
    }
  }
  CHECK_EQ(nconn, ECHO_CONNS);
  /* Clients close: every pool receive ends with 0; then the server's
   * sockets close. */
  for (int i = 0; i < ECHO_CONNS; i++) evq_close(client[i]);
  int ended = 0;
  for (int rounds = 0; ended < ECHO_CONNS; rounds++) {
    CHECK(rounds < 10000);
    int n = tq_wait(q, ev, 256, 10 * MS);
    for (int k = 0; k < n; k++) {
      if (ev[k].token & 1) { /* a last send's completion, after its bytes */
        CHECK(evq_op_result(&ev[k]) > 0);
        continue;
      }
      CHECK((ev[k].token & 15) == 0 && ev[k].token != 0);
      CHECK(!(ev[k].flags & EVQ_OP_BUFFER));
      int32_t r = evq_op_result(&ev[k]);
      CHECK(r == 0 || r == EVQ_ECONNRESET);
      ended++;
    }
  }
  for (int i = 0; i < ECHO_CONNS; i++) {
    CHECK(!evq_op_active(&conns[i].tx));
    CHECK_OK(evq_op_close(q, &conns[i].rx, conns[i].fd, 2));
  }
  CHECK_OK(evq_op_cancel(q, &acc));
  int closes = 0, cancelled = 0;
  while (closes < ECHO_CONNS || !cancelled) {
    int n = tq_wait(q, ev, 256, 100 * MS);
    CHECK(n > 0);
    for (int k = 0; k < n; k++) {
      if (ev[k].token == 0) {
        CHECK_EQ(evq_op_result(&ev[k]), EVQ_ECANCELED);
        cancelled = 1;
      } else {
        CHECK_EQ(evq_op_result(&ev[k]), 0);
        closes++;
      }
    }
  }
  CHECK_OK(evq_pool_free(pool));
  evq_close(l);
  evq_free(q);
}
