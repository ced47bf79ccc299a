/* Trigger modes: the contract in evq.h, pinned the same on every backend. */
#include "harness.h"

static void setup(evq_t **q, evq_fd_t p[2], uint32_t interests,
                  evq_mode_t mode) {
  *q = tq_queue();
  tq_pair(p);
  CHECK_OK(evq_register(*q, p[0], interests, mode, 1));
}

static void teardown(evq_t *q, evq_fd_t p[2]) {
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* Edge: one event per new readiness, none while it stays unconsumed. */
TEST(edge_once) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_EDGE);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  tq_send(p[1], 10);
  int n = tq_wait(q, ev, 8, 5000 * MS);
  CHECK_EQ(n, 1);
  CHECK_EQ(ev[0].token, 1);
  CHECK(ev[0].flags & EVQ_READABLE);
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  teardown(q, p);
}

/* Edge: draining to would-block through evq re-arms; the next data is a
 * new readiness and reports once more. */
TEST(edge_rearm_after_drain) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_EDGE);
  evq_event_t ev[8];
  for (int round = 0; round < 5; round++) {
    tq_send(p[1], 100);
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK_EQ(tq_drain(q, p[0]), 100);
    CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  }
  teardown(q, p);
}

/* Edge on the write side: writable once; filling the buffer to
 * would-block and draining the peer makes it writable again. */
TEST(edge_writable) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_WRITABLE, EVQ_EDGE);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK(ev[0].flags & EVQ_WRITABLE);
  CHECK_EQ(tq_count_events(q, 1, 30 * MS, NULL), 0);
  static char buf[65536];
  size_t written = 0;
  for (;;) {
    ptrdiff_t w = evq_write(q, p[0], buf, sizeof buf);
    if (w == EVQ_EAGAIN) break;
    CHECK_OK(w);
    written += (size_t)w;
  }
  CHECK(written > 0);
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  size_t got = 0;
  while (got < written) {
    size_t r = tq_drain(NULL, p[1]);
    if (r == 0) tq_sleep_ms(1);
    got += r;
  }
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK(ev[0].flags & EVQ_WRITABLE);
  teardown(q, p);
}

/* Level: reported by every wait until drained, then silent. */
TEST(level_repeats) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_LEVEL);
  evq_event_t ev[8];
  tq_send(p[1], 10);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK(ev[0].flags & EVQ_READABLE);
  }
  CHECK_EQ(tq_drain(q, p[0]), 10);
  CHECK_EQ(tq_wait(q, ev, 8, 20 * MS), 0);
  teardown(q, p);
}

/* Oneshot: one event, then nothing (even with new data) until modify
 * re-arms it; re-arming a still-ready descriptor reports at once. */
TEST(oneshot_needs_rearm) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_ONESHOT);
  evq_event_t ev[8];
  tq_send(p[1], 10);
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 1);
  tq_send(p[1], 10);
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  CHECK_OK(evq_modify(q, p[0], EVQ_READABLE, EVQ_ONESHOT, 2));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_EQ(tq_count_events(q, 2, 30 * MS, NULL), 0);
  teardown(q, p);
}

/* Interests are honoured: a read-only registration never reports
 * writable, and modify switches direction and mode. */
TEST(interests_and_modify) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_LEVEL);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 20 * MS), 0); /* writable, but not asked */
  CHECK_OK(evq_modify(q, p[0], EVQ_WRITABLE, EVQ_LEVEL, 7));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 7);
  CHECK(ev[0].flags & EVQ_WRITABLE);
  CHECK(!(ev[0].flags & EVQ_READABLE));
  tq_send(p[1], 1);
  CHECK_OK(evq_modify(q, p[0], EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE, 8));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 8);
  CHECK_EQ(ev[0].flags & (EVQ_READABLE | EVQ_WRITABLE),
           EVQ_READABLE | EVQ_WRITABLE);
  CHECK_EQ(tq_count_events(q, 8, 30 * MS, NULL), 0);
  teardown(q, p);
}

/* Edge with the caller's own I/O (evq_read with no queue stands for a raw
 * read): after would-block, evq_rearm makes the next data report. */
TEST(edge_rearm_own_io) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE, EVQ_EDGE);
  evq_event_t ev[8];
  for (int round = 0; round < 3; round++) {
    tq_send(p[1], 10);
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(tq_drain(NULL, p[0]), 10);
    CHECK_OK(evq_rearm(q, p[0], EVQ_READABLE));
    CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  }
  teardown(q, p);
}

/* One event per registration per wait, carrying every direction seen, also
 * where the kernel reports read and write apart (kqueue). */
TEST(level_both_directions_one_event) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE | EVQ_WRITABLE, EVQ_LEVEL);
  tq_send(p[1], 1);
  evq_event_t ev[8];
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK_EQ(ev[0].flags & (EVQ_READABLE | EVQ_WRITABLE),
             EVQ_READABLE | EVQ_WRITABLE);
  }
  teardown(q, p);
}

/* Oneshot over two directions disarms the registration, not one
 * direction: one event with both, then nothing until modify. */
TEST(oneshot_both_directions) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE | EVQ_WRITABLE, EVQ_ONESHOT);
  tq_send(p[1], 1);
  evq_event_t ev[8];
  for (int round = 0; round < 3; round++) {
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK_EQ(ev[0].flags & (EVQ_READABLE | EVQ_WRITABLE),
             EVQ_READABLE | EVQ_WRITABLE);
    CHECK_EQ(tq_count_events(q, 1, 40 * MS, NULL), 0);
    CHECK_OK(evq_modify(q, p[0], EVQ_READABLE | EVQ_WRITABLE, EVQ_ONESHOT, 1));
  }
  teardown(q, p);
}

/* The same with room for one event per wait: the direction that did not
 * fit must not slip out later as a second oneshot event. */
TEST(oneshot_both_directions_batch_of_one) {
  evq_t *q;
  evq_fd_t p[2];
  setup(&q, p, EVQ_READABLE | EVQ_WRITABLE, EVQ_ONESHOT);
  tq_send(p[1], 1);
  evq_event_t ev[1];
  for (int round = 0; round < 3; round++) {
    CHECK_EQ(tq_wait(q, ev, 1, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK(ev[0].flags & (EVQ_READABLE | EVQ_WRITABLE));
    int more = 0;
    for (int i = 0; i < 4; i++) more += tq_wait(q, ev, 1, 10 * MS);
    CHECK_EQ(more, 0);
    CHECK_OK(evq_modify(q, p[0], EVQ_READABLE | EVQ_WRITABLE, EVQ_ONESHOT, 1));
  }
  teardown(q, p);
}
