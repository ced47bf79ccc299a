/* After evq_deregister returns, nothing for that registration arrives:
 * not an event the kernel already had ready, and not when the descriptor
 * number is closed and reused by a new registration. */
#include "harness.h"

#include <string.h>

TEST(nothing_after_deregister) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 9));
  tq_send(p[1], 1);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK_EQ(tq_wait(q, ev, 8, 30 * MS), 0);
  tq_send(p[1], 1);
  CHECK_EQ(tq_wait(q, ev, 8, 30 * MS), 0);
  CHECK_EQ(evq_deregister(q, p[0]), EVQ_ENOENT);
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* Two descriptors ready in the same batch; we take one event, deregister
 * the other, close it and reuse its number for a new, idle registration:
 * neither the old nor the new token may appear. */
TEST(same_batch_close_reuse) {
  evq_t *q = tq_queue();
  evq_fd_t a[2], b[2];
  tq_pair(a);
  tq_pair(b);
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_LEVEL, 100));
  CHECK_OK(evq_register(q, b[0], EVQ_READABLE, EVQ_LEVEL, 200));
  tq_send(a[1], 1);
  tq_send(b[1], 1);
  tq_sleep_ms(10);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 1, 5000 * MS), 1);
  uintptr_t other = ev[0].token == 100 ? 200 : 100;
  evq_fd_t *victim = other == 100 ? a : b;
  evq_fd_t keep = other == 100 ? b[0] : a[0];
  evq_fd_t old_number = victim[0];
  CHECK_OK(evq_deregister(q, victim[0]));
  CHECK_OK(evq_deregister(q, keep));
  evq_close(victim[0]);
  evq_close(victim[1]);
  evq_fd_t n[2];
  tq_pair(n);
#ifndef _WIN32
  CHECK_EQ(n[0], old_number); /* lowest free number is reused on POSIX */
#endif
  (void)old_number;
  CHECK_OK(evq_register(q, n[0], EVQ_READABLE, EVQ_LEVEL, 300));
  CHECK_EQ(tq_wait(q, ev, 8, 50 * MS), 0);
  tq_send(n[1], 1);
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 300);
  CHECK_OK(evq_deregister(q, n[0]));
  evq_close(n[0]);
  evq_close(n[1]);
  evq_close(keep);
  evq_close(other == 100 ? b[1] : a[1]);
  evq_free(q);
}

/* Deregister and register the same descriptor again before a wait (a
 * server handing a connection between roles): the new registration's
 * token, mode and interests hold at once, and nothing of the old one
 * comes back. */
TEST(reregister_before_wait) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  tq_send(p[1], 1);
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_EDGE, 2));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1); /* the data is news to it */
  CHECK_EQ(ev[0].token, 2);
  CHECK_EQ(tq_count_events(q, 2, 30 * MS, NULL), 0); /* edge: once */
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK_OK(evq_register(q, p[0], EVQ_WRITABLE, EVQ_LEVEL, 3));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 3);
  CHECK(ev[0].flags & EVQ_WRITABLE);
  CHECK(!(ev[0].flags & EVQ_READABLE));
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 4));
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK_EQ(tq_count_events(q, 4, 30 * MS, NULL), 0);
  CHECK_EQ(evq_deregister(q, p[0]), EVQ_ENOENT);
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* A descriptor closed while registered can still be deregistered, and
 * its number then registered again. */
TEST(close_then_deregister) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_EDGE, 1));
  evq_fd_t number = p[0];
  evq_close(p[0]);
  CHECK_OK(evq_deregister(q, number));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 20 * MS), 0);
  evq_fd_t n[2];
  tq_pair(n);
  CHECK_OK(evq_register(q, n[0], EVQ_READABLE, EVQ_EDGE, 2));
  tq_send(n[1], 1);
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(q, n[0]));
  evq_close(n[0]);
  evq_close(n[1]);
  evq_close(p[1]);
  evq_free(q);
}

/* Closed before any wait, with data waiting. The closed socket reports
 * nothing, except on io_uring, which holds the file from evq_register()
 * (evq.h, "Closing") and may report it until deregistration; and where
 * io_uring cannot hold it (no room in its table of files, tested by
 * number_reuse.c), or on IOCP, whose first poll is submitted by the first
 * wait, the request finds the number closed, and the registration must
 * keep quiet rather than fail again at every wait. After the
 * deregistration, nothing more, on every backend. */
TEST(close_before_first_wait) {
  evq_t *q = tq_queue();
  evq_fd_t s[2];
  tq_pair(s);
  tq_send(s[1], 1);
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_LEVEL, 1));
  evq_fd_t number = s[0];
  CHECK_OK(evq_close(number));
  if (strcmp(tq_backend, "io_uring") != 0) tq_check_sleeps(q);
  CHECK_OK(evq_deregister(q, number));
  tq_check_sleeps(q);
  evq_close(s[1]);
  evq_free(q);
}

/* evq_deregister_close: the registration is over and the descriptor
 * closed, in one call; a descriptor not registered is left open. */
TEST(deregister_close) {
  evq_t *q = tq_queue();
  evq_fd_t a[2], b[2];
  tq_pair(a);
  tq_pair(b);
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_LEVEL, 1));
  tq_send(a[1], 1);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_OK(evq_deregister_close(q, a[0]));
  CHECK_EQ(tq_count_events(q, 1, 30 * MS, NULL), 0);
  CHECK_EQ(evq_deregister(q, a[0]), EVQ_ENOENT);
  CHECK_EQ(evq_deregister_close(q, b[0]), EVQ_ENOENT);
  CHECK_EQ(evq_deregister_close(NULL, b[0]), EVQ_EINVAL);
  tq_send(b[1], 1); /* b[0] is still open and usable */
  CHECK_OK(evq_register(q, b[0], EVQ_READABLE, EVQ_LEVEL, 2));
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister_close(q, b[0]));
  evq_close(a[1]);
  evq_close(b[1]);
  evq_free(q);
}

/* Deregister, then close (the order evq.h asks for), over and over, each
 * number reused at once by the next round: every registration reports
 * under its own token only, in every mode, modified or not. kqueue held
 * a deregistration's deletes back for the next wait, so libkqueue got the
 * close first and the delete after the number's reuse: libkqueue before
 * its commit 6387e20 (2026-05-30) then kept its state for the number
 * (104 bytes, LeakSanitizer), and here the next round's registration
 * reported nothing (docs/kqueue.md). */
TEST(deregister_then_close_reuse) {
  static const evq_mode_t modes[] = {EVQ_LEVEL, EVQ_EDGE, EVQ_ONESHOT};
  evq_t *q = tq_queue();
  evq_fd_t first[2];
  tq_pair(first);
  evq_fd_t number = first[0];
  evq_close(first[0]);
  evq_close(first[1]);
  for (int i = 0; i < 96; i++) {
    evq_fd_t p[2];
    tq_pair(p);
#ifndef _WIN32
    CHECK_EQ(p[0], number); /* the lowest free number: always reused */
#endif
    (void)number;
    uintptr_t token = (uintptr_t)i + 1;
    evq_mode_t mode = modes[i % 3];
    /* A oneshot for both would end at the first event, perhaps W alone. */
    uint32_t both = mode == EVQ_ONESHOT ? EVQ_READABLE : EVQ_READABLE | EVQ_WRITABLE;
    CHECK_OK(evq_register(q, p[0], both, mode, token));
    if (i % 2) CHECK_OK(evq_modify(q, p[0], EVQ_READABLE, mode, token));
    tq_send(p[1], 1);
    uint32_t seen = 0;
    evq_event_t ev[4];
    for (int64_t end = evq_now() + 5000 * MS;
         !(seen & EVQ_READABLE) && evq_now() < end;) {
      int n = tq_wait(q, ev, 4, 100 * MS);
      for (int k = 0; k < n; k++) {
        CHECK_EQ(ev[k].token, token);
        seen |= ev[k].flags;
      }
    }
    CHECK(seen & EVQ_READABLE);
    CHECK_OK(evq_deregister(q, p[0]));
    evq_close(p[0]);
    evq_close(p[1]);
    if (i % 4 == 3) /* sometimes a wait between the close and the reuse */
      CHECK_EQ(tq_wait(q, ev, 4, 0), 0);
  }
  evq_free(q);
}
