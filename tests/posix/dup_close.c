/* Descriptors closed, dup'ed and reused while registered: what evq promises
 * (evq.h, "Descriptor registration"), on every POSIX backend.
 *
 *  - After evq_deregister returns, nothing more is reported for the
 *    registration, and later waits do not spin because of it.
 *  - A descriptor closed while registered reports nothing, unless another
 *    descriptor still refers to the same open file (then a backend that
 *    watches the open file, epoll or io_uring, may go on reporting it until
 *    deregistration). A new file that gets the number is never reported
 *    under the old registration.
 *  - After such a close, evq_deregister succeeds and the number can be
 *    registered again. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

static void pipe_nb(int p[2]) {
  CHECK(pipe(p) == 0);
  for (int i = 0; i < 2; i++) {
    CHECK(fcntl(p[i], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(p[i], F_SETFD, FD_CLOEXEC) == 0);
  }
}

/* libev's "special problem of dup'ed file descriptors", on a level
 * registration with data waiting. */
TEST(dup_close_deregister) {
  evq_t *q = tq_queue();
  int p[2];
  pipe_nb(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  int copy = dup(p[0]);
  CHECK(copy >= 0);
  int number = p[0];
  CHECK(close(number) == 0);
  evq_event_t ev[8];
  int n = tq_wait(q, ev, 8, 20 * MS); /* may report: the file is open */
  for (int i = 0; i < n; i++) CHECK_EQ(ev[i].token, 1);
  CHECK_OK(evq_deregister(q, number));
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0); /* final */
#ifdef TQ_LIBKQUEUE
  /* libkqueue cannot drop the epoll entry of a descriptor closed before
   * its knote was deleted (its BUGS.md: "the internal kqueue state is not
   * cleaned up"), so its kevent() keeps waking; a BSD kernel drops knotes
   * at close. docs/kqueue.md lists this. */
  if (strcmp(tq_backend, "kqueue") != 0)
#endif
    tq_check_sleeps(q); /* and no spin */
  /* The copy back on the old number registers as new, and reports. */
  CHECK_EQ(dup2(copy, number), number);
  int rc = evq_register(q, number, EVQ_READABLE, EVQ_LEVEL, 2);
#ifdef TQ_LIBKQUEUE
  /* The same lingering entry inside libkqueue answers its EV_ADD with
   * EEXIST, and no EV_DELETE reaches it (docs/kqueue.md). */
  if (strcmp(tq_backend, "kqueue") == 0 && rc == EVQ_EEXIST) {
    close(number);
    close(copy);
    close(p[1]);
    evq_free(q);
    return;
  }
#endif
  CHECK_OK(rc);
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(q, number));
  close(number);
  close(copy);
  close(p[1]);
  evq_free(q);
}

/* A registered descriptor closed without deregistering, and its number
 * given to a new, readable file: the new file is not the registration's.
 * With and without an event delivered (and a level re-arm pending) before
 * the close. The old file stays quiet (its peer stays open): io_uring's
 * poll request holds it open, and could report it, as the promise
 * allows. */
static void close_reuse(int deliver_first) {
  evq_t *q = tq_queue();
  evq_fd_t s[2];
  tq_pair(s);
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[8];
  if (deliver_first) {
    tq_send(s[1], 1);
    CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
    CHECK_EQ(tq_drain(q, s[0]), 1); /* quiet again, a level re-arm due */
  } else {
    CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  }
  int number = s[0];
  int p[2];
  pipe_nb(p); /* before the close, so it cannot take the number itself */
  CHECK(close(number) == 0);
  CHECK_EQ(dup2(p[0], number), number);
  close(p[0]);
  CHECK_EQ(write(p[1], "y", 1), 1);
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  CHECK_OK(evq_deregister(q, number)); /* succeeds on the old registration */
  tq_check_sleeps(q);
  CHECK_OK(evq_register(q, number, EVQ_READABLE, EVQ_LEVEL, 2));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(q, number));
  close(number);
  close(p[1]);
  evq_close(s[1]);
  evq_free(q);
}

TEST(close_reuse_number) { close_reuse(0); }
TEST(close_reuse_number_after_event) { close_reuse(1); }

/* The number of a registered pipe read end taken by the same pipe's write
 * end (dup2): one inode for both ends, so a backend that tells files apart
 * by identity must also tell the ends apart. The write end, its reader
 * gone, reports an error; not under the old registration. */
TEST(close_reuse_by_other_pipe_end) {
  evq_t *q = tq_queue();
  int p[2];
  pipe_nb(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  int number = p[0];
  CHECK_EQ(dup2(p[1], number), number); /* closes the read end */
  int n = tq_count_events(q, 1, 50 * MS, NULL);
  if (strcmp(tq_backend, "io_uring") != 0) CHECK_EQ(n, 0); /* evq.h */
  CHECK_OK(evq_deregister(q, number));
  tq_check_sleeps(q);
  close(number);
  close(p[1]);
  evq_free(q);
}

/* A hang-up while an edge registration has only priority armed (readable
 * was reported and not re-armed): hang-up is reported whatever is asked,
 * so a backend that emulates edge must stop watching, not wake at every
 * wait. kqueue and io_uring have no priority interest (evq.h:
 * EVQ_ENOTSUP). */
TEST(edge_hangup_priority_left_armed) {
  evq_t *q = tq_queue();
  int sp[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   sp) == 0);
  int rc = evq_register(q, sp[0], EVQ_READABLE | EVQ_PRIORITY, EVQ_EDGE, 1);
  if (strcmp(tq_backend, "kqueue") == 0 ||
      strcmp(tq_backend, "io_uring") == 0) {
    CHECK_EQ(rc, EVQ_ENOTSUP);
  } else {
    CHECK_OK(rc);
    CHECK(close(sp[1]) == 0);
    sp[1] = -1;
    uint32_t seen = 0;
    CHECK_EQ(tq_count_events(q, 1, 50 * MS, &seen), 1);
    CHECK(seen & EVQ_READABLE);
    CHECK(seen & EVQ_READ_CLOSED);
    tq_check_sleeps(q);
    CHECK_OK(evq_deregister(q, sp[0]));
  }
  close(sp[0]);
  if (sp[1] >= 0) close(sp[1]);
  evq_free(q);
}

/* evq_deregister_close while a dup keeps the file open: epoll skipped the
 * removal (the close usually does it), so the entry it leaves must be found
 * and cleared, without a report or a spinning wait. */
TEST(deregister_close_with_dup) {
  evq_t *q = tq_queue();
  int p[2];
  pipe_nb(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  int copy = dup(p[0]);
  CHECK(copy >= 0);
  CHECK_OK(evq_deregister_close(q, p[0]));
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  tq_check_sleeps(q);
  CHECK_OK(evq_register(q, copy, EVQ_READABLE, EVQ_LEVEL, 2));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister_close(q, copy));
  close(p[1]);
  evq_free(q);
}

/* evq_deregister, then close while a dup keeps the file open, then the
 * number reused and registered, all before a wait: on epoll the removal
 * waits for the next wait (a re-registration takes the entry over), so
 * this close, too, leaves an entry behind that must be found and cleared;
 * the new file reports under its own token, the old one not at all. */
TEST(deregister_close_reuse_with_dup) {
  evq_t *q = tq_queue();
  int p[2], n[2];
  pipe_nb(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  int copy = dup(p[0]);
  CHECK(copy >= 0);
  CHECK_OK(evq_deregister(q, p[0]));
  CHECK(close(p[0]) == 0);
  pipe_nb(n);
  CHECK_EQ(n[0], p[0]); /* the lowest free number */
  CHECK_OK(evq_register(q, n[0], EVQ_READABLE, EVQ_LEVEL, 2));
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  tq_check_sleeps(q);
  CHECK_EQ(write(n[1], "y", 1), 1);
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister_close(q, n[0]));
  close(n[1]);
  close(copy);
  close(p[1]);
  evq_free(q);
}

/* Many entries left behind at once (deregister, then close, while a dup
 * keeps each file open; epoll's removal waited for the next wait, when
 * the number was closed already): all found, in one wait, however many
 * and in whatever order epoll reports them, and no wait spins. Twelve:
 * more than a ring of remembered keys would hold. */
TEST(many_left_behind) {
  enum { N = 12 };
  evq_t *q = tq_queue();
  int p[N][2], copy[N];
  for (int i = 0; i < N; i++) {
    pipe_nb(p[i]);
    CHECK_EQ(write(p[i][1], "x", 1), 1);
    CHECK_OK(evq_register(q, p[i][0], EVQ_READABLE, EVQ_LEVEL, (uintptr_t)i + 1));
  }
  evq_event_t ev[4]; /* fewer than the entries: epoll hands them out in turn */
  CHECK(tq_wait(q, ev, 4, 5000 * MS) > 0);
  for (int i = 0; i < N; i++) {
    copy[i] = dup(p[i][0]);
    CHECK(copy[i] >= 0);
    CHECK_OK(evq_deregister(q, p[i][0]));
    CHECK(close(p[i][0]) == 0);
  }
  CHECK_EQ(tq_wait(q, ev, 4, 50 * MS), 0);
  tq_check_sleeps(q);
  for (int i = 0; i < N; i++) {
    close(copy[i]);
    close(p[i][1]);
  }
  evq_free(q);
}

/* A registration whose number was closed and taken by another file stays
 * silent through a rebuild of the kernel's state (on epoll, which
 * re-adds every registration by number after a close left an entry
 * behind): it must not start watching the file that took its number. */
TEST(rebuild_skips_reused_number) {
  evq_t *q = tq_queue();
  int a[2], b[2];
  pipe_nb(a);
  pipe_nb(b);
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[8];
  CHECK_EQ(tq_wait(q, ev, 8, 0), 0);
  CHECK_EQ(write(b[1], "x", 1), 1);
  CHECK_EQ(dup2(b[0], a[0]), a[0]); /* a ready file on the number */
  /* An entry left behind: a ready pipe, deregistered by closing while a
   * dup keeps it open. */
  int c[2];
  pipe_nb(c);
  CHECK_EQ(write(c[1], "x", 1), 1);
  CHECK_OK(evq_register(q, c[0], EVQ_READABLE, EVQ_LEVEL, 3));
  int copy = dup(c[0]);
  CHECK(copy >= 0);
  CHECK_OK(evq_deregister_close(q, c[0]));
  CHECK_EQ(tq_count_events(q, 1, 100 * MS, NULL), 0);
  CHECK_OK(evq_deregister(q, a[0]));
  CHECK_OK(evq_register(q, a[0], EVQ_READABLE, EVQ_LEVEL, 2));
  CHECK_EQ(tq_wait(q, ev, 8, 5000 * MS), 1); /* now it is its file */
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister_close(q, a[0]));
  close(a[1]);
  close(b[0]);
  close(b[1]);
  close(c[1]);
  close(copy);
  evq_free(q);
}

/* A host loop keeps working through a rebuild of the kernel's state (on
 * epoll, after a closed descriptor's leftover showed up): the descriptor
 * it watches stays the same and keeps reporting. */
TEST(embedded_after_cleanup) {
  evq_t *q = tq_queue();
  evq_fd_t fd;
  int rc = evq_fd(q, &fd);
  int none = strcmp(tq_backend, "poll") == 0;
#ifdef TQ_LIBKQUEUE
  none |= strcmp(tq_backend, "kqueue") == 0;
#endif
  if (none) { /* no descriptor for a host to watch (embed_in_poll) */
    CHECK_EQ(rc, EVQ_ENOTSUP);
    evq_free(q);
    return;
  }
  CHECK_OK(rc);
  int p[2];
  pipe_nb(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  int copy = dup(p[0]);
  CHECK_OK(evq_deregister_close(q, p[0]));
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  evq_fd_t s[2];
  tq_pair(s);
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_LEVEL, 2));
  tq_send(s[1], 1);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  CHECK_EQ(poll(&pfd, 1, 5000), 1);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister_close(q, s[0]));
  evq_close(s[1]);
  close(copy);
  close(p[1]);
  evq_free(q);
}

/* A registered number closed while a dup keeps its file open, taken by a
 * new file, then modified: the registration watches what the number names
 * now, and the old file's entry, which epoll keeps under the
 * registration's key, must not make one wait report the registration
 * twice (the fuzzer found that: token 1010 twice in one wait). Both files
 * are writable, so both would report. */
TEST(modify_after_reuse_with_dup) {
  evq_t *q = tq_queue();
  int p[2], s[2];
  pipe_nb(p);
  CHECK_OK(evq_register(q, p[1], EVQ_WRITABLE, EVQ_LEVEL, 1));
  int copy = dup(p[1]);
  CHECK(copy >= 0);
  int number = p[1];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s) == 0);
  CHECK_EQ(dup2(s[0], number), number); /* closes the pipe's number */
  close(s[0]);
  int rc = evq_modify(q, number, EVQ_WRITABLE, EVQ_LEVEL, 2);
  CHECK(rc == 0 || rc == EVQ_EBADF || rc == EVQ_ENOENT); /* evq.h */
  evq_event_t ev[8];
  for (int round = 0; round < 3; round++) {
    int n = tq_wait(q, ev, 8, 20 * MS);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < i; j++) CHECK(ev[i].token != ev[j].token);
  }
  if (rc == 0) CHECK_OK(evq_deregister(q, number));
#ifdef TQ_LIBKQUEUE
  /* libkqueue's epoll entry for the pipe lingers while copy keeps the file
   * open, and wakes every wait (as in dup_close_deregister); once the file
   * is closed the wait must sleep like any other. */
  if (strcmp(tq_backend, "kqueue") == 0) {
    close(copy);
    copy = -1;
  }
#endif
  tq_check_sleeps(q);
  close(number);
  close(s[1]);
  if (copy >= 0) close(copy);
  close(p[0]);
  evq_free(q);
}
