/* EVQ_OPT_ONE_WAITER (evq.h): the queue is made on one thread, waited on
 * by another, and every other call may still come from any thread, also
 * after the first wait, when io_uring's ring (SINGLE_ISSUER) refuses
 * registrations from any thread but the waiter's: a registration, a pool
 * and operations made by a third thread work as without the option. */
#include "iotest.h"

#ifdef __linux__
#include <stdio.h>
#include <sys/utsname.h>
#endif

typedef struct helper {
  evq_t *q;
  evq_fd_t rd[2];  /* registered for readiness by the helper */
  evq_fd_t op[2];  /* a pool receive submitted by the helper */
  evq_pool_t *pool;
  evq_pool_t *pool0; /* made before the first wait, with the queue */
  evq_op_t recv;
} helper_t;

static void make_queue(void *arg) {
  helper_t *h = arg;
  evq_options_t o = {.wake_token = WAKE_TOKEN,
                     .flags = EVQ_OPT_ONE_WAITER | tq_flags()};
  o.backend = evq_backend(h->q); /* the backend under test */
  CHECK_OK(evq_create(&h->q, &o));
  CHECK_OK(evq_pool_create(h->q, &h->pool0, 2, 64));
}

/* After the waiter's first wait: everything the ring would refuse from
 * this thread. */
static void use_queue(void *arg) {
  helper_t *h = arg;
  tq_pair(h->rd);
  CHECK_OK(evq_register(h->q, h->rd[0], EVQ_READABLE, EVQ_EDGE, 11));
  CHECK_OK(evq_pool_create(h->q, &h->pool, 4, 64));
  tq_pair(h->op);
  evq_op_init(&h->recv);
  CHECK_OK(evq_op_recv_pool(h->q, &h->recv, h->op[0], h->pool, 12));
  tq_send(h->rd[1], 5);
  tq_send(h->op[1], 7);
}

static void free_pool(void *arg) {
  helper_t *h = arg;
  CHECK_OK(evq_pool_free(h->pool));
  CHECK_OK(evq_pool_free(h->pool0));
}

/* Whether this io_uring may take SINGLE_ISSUER (Linux 6.0), which makes
 * evq_fd() EVQ_ENOTSUP. */
static int kernel_has_single_issuer(void) {
#ifdef __linux__
  struct utsname u;
  int ma = 0, mi = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2) return 0;
  return ma >= 6;
#else
  return 0;
#endif
}

TEST(one_waiter_other_threads) {
  helper_t h;
  memset(&h, 0, sizeof h);
  h.q = tq_queue(); /* only to learn the backend's name */
  evq_t *probe = h.q;
  tq_thread_join(tq_thread_start(make_queue, &h));
  evq_free(probe);
  evq_t *q = h.q;
  evq_fd_t efd;
  int rc = evq_fd(q, &efd);
  CHECK(rc == 0 || rc == EVQ_ENOTSUP);
  if (strcmp(evq_backend(q), "io_uring") == 0 && kernel_has_single_issuer())
    CHECK_EQ(rc, EVQ_ENOTSUP); /* evq.h: the option's one loss */
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0); /* this thread waits from now on */
  tq_thread_join(tq_thread_start(use_queue, &h));
  int ready = 0, got = 0;
  io_stream_t s = io_stream(q);
  for (int rounds = 0; !ready || !got; rounds++) {
    CHECK(rounds < 1000);
    int n = tq_wait(q, s.ev, 64, 10 * MS);
    for (int i = 0; i < n; i++) {
      if (s.ev[i].token == 11) {
        CHECK(s.ev[i].flags & EVQ_READABLE);
        ready++;
        continue;
      }
      CHECK_EQ(s.ev[i].token, 12);
      CHECK_EQ(s.ev[i].flags & ~0xffff0000u,
               EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER);
      CHECK_EQ(evq_op_result(&s.ev[i]), 7);
      CHECK_OK(evq_pool_put(h.pool, evq_op_buffer(&s.ev[i])));
      got++;
    }
  }
  CHECK_EQ(ready, 1);
  CHECK_EQ(got, 1);
  CHECK_EQ(tq_drain(q, h.rd[0]), 5);
  /* The pool made with the queue serves this thread's receive. */
  evq_fd_t p0[2];
  evq_op_t r0;
  tq_pair(p0);
  evq_op_init(&r0);
  CHECK_OK(evq_op_recv_pool(q, &r0, p0[0], h.pool0, 13));
  tq_send(p0[1], 3);
  evq_event_t e = io_next(&s);
  CHECK_EQ(e.token, 13);
  CHECK_EQ(evq_op_result(&e), 3);
  CHECK_OK(evq_pool_put(h.pool0, evq_op_buffer(&e)));
  CHECK_OK(evq_op_cancel(q, &r0));
  CHECK_EQ(io_final(&s, 13), EVQ_ECANCELED);
  CHECK_OK(evq_io_release(q, p0[0]));
  evq_close(p0[0]);
  evq_close(p0[1]);
  /* A wait with nothing to report still sleeps. */
  tq_check_sleeps(q);
  CHECK_OK(evq_op_cancel(q, &h.recv));
  CHECK_EQ(io_final(&s, 12), EVQ_ECANCELED);
  CHECK_OK(evq_deregister(q, h.rd[0]));
  CHECK_OK(evq_io_release(q, h.op[0]));
  for (int i = 0; i < 2; i++) {
    evq_close(h.rd[i]);
    evq_close(h.op[i]);
  }
  /* Freed by another thread than the waiter's: on io_uring the kernel
   * lets go of pool0's ring at the next wait. */
  tq_thread_join(tq_thread_start(free_pool, &h));
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  evq_free(q);
}

/* Readiness and a completion that came between waits are seen by a wait
 * of 0: io_uring's DEFER_TASKRUN runs the kernel's completion work only
 * in an enter that asks for events, which such a wait must make when the
 * ring says work waits (and need not make otherwise). */
TEST(one_waiter_zero_wait_sees) {
  evq_options_t o = {.backend = NULL, .wake_token = WAKE_TOKEN,
                     .flags = EVQ_OPT_ONE_WAITER};
  evq_t *probe = tq_queue();
  o.backend = evq_backend(probe);
  evq_t *q;
  CHECK_OK(evq_create(&q, &o));
  evq_free(probe);
  evq_fd_t a[2], b[2];
  tq_pair(a);
  tq_pair(b);
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_EDGE, 1));
  char buf[16];
  evq_op_t r;
  evq_op_init(&r);
  CHECK_OK(evq_op_recv(q, &r, b[0], buf, sizeof buf, 2));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0); /* the requests are in the kernel */
  for (int round = 0; round < 50; round++) {
    tq_send(a[1], 1); /* the kernel sees it within the write */
    int n = tq_wait(q, ev, 8, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK_EQ(tq_drain(q, a[0]), 1);
  }
  tq_send(b[1], 4);
  int n = tq_wait(q, ev, 8, 0);
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_EQ(evq_op_result(&ev[0]), 4);
  CHECK_OK(evq_deregister(q, a[0]));
  CHECK_OK(evq_io_release(q, b[0]));
  for (int i = 0; i < 2; i++) {
    evq_close(a[i]);
    evq_close(b[i]);
  }
  evq_free(q);
}
