/* A registered number closed and taken by another file before the kernel
 * has seen the registration (or its re-arm): the new file is never
 * reported under the old registration, on every POSIX backend (evq.h,
 * "Closing"). epoll watches the file it was given; poll checks a reported
 * file's identity; kqueue drops its knote at the close; io_uring, which
 * hands its requests to the kernel with the next wait and names the
 * descriptor only then, pins the file in the ring's table at
 * evq_register() (src/unix/uring_files.h), or, where the table has no
 * room, checks the file's identity before each request by number. The
 * "_unpinned" cases make the queue while RLIMIT_NOFILE is too low for
 * that table, so io_uring takes the second path.
 *
 * The old file, a socket whose peer stays open and silent, is never
 * ready: whatever is reported under the token can only be the new file, a
 * pipe with data waiting. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

enum reuse { BY_CLOSE, BY_DUP2 };

static void pipe_nb(int p[2]) {
  CHECK(pipe(p) == 0);
  for (int i = 0; i < 2; i++) {
    CHECK(fcntl(p[i], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(p[i], F_SETFD, FD_CLOEXEC) == 0);
  }
}

/* io_uring's table must not exceed RLIMIT_NOFILE, and has at least 64
 * slots (uring_files.c): made under a limit of 48 there is none. (16 was
 * too few for libkqueue's kqueue(), which then failed with EVQ_EMFILE.) */
static evq_t *queue(int unpinned) {
  if (!unpinned) return tq_queue();
  struct rlimit old, low;
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  low = old;
  low.rlim_cur = 48;
  CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
  evq_t *q = tq_queue();
  CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
  return q;
}

/* Gives number to a new pipe's read end with a byte waiting, as a program
 * would: by closing it and opening a file (the lowest free number), or by
 * dup2. p[1] is the pipe's write end. */
static void take_number(int number, enum reuse how, int p[2]) {
  if (how == BY_CLOSE) {
    CHECK(close(number) == 0);
    pipe_nb(p);
    if (p[0] < number) {
      /* A lower number came free meanwhile: libkqueue closes a freed
       * kqueue's descriptors later, on a thread of its own. */
      CHECK_EQ(fcntl(p[0], F_DUPFD_CLOEXEC, number), number);
      close(p[0]);
      p[0] = number;
    }
    CHECK_EQ(p[0], number);
  } else {
    pipe_nb(p);
    CHECK_EQ(dup2(p[0], number), number);
    close(p[0]);
  }
  CHECK_EQ(write(p[1], "y", 1), 1);
}

/* Afterwards the number registers as the new file's, which reports. */
static void register_new_file(evq_t *q, int number, evq_mode_t mode) {
  CHECK_OK(evq_deregister(q, number));
  CHECK_OK(evq_register(q, number, EVQ_READABLE, mode, 2));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK(ev[0].flags & EVQ_READABLE);
  CHECK_OK(evq_deregister(q, number));
}

/* Registered, then the number taken before any wait. */
static void before_first_wait(enum reuse how, int unpinned) {
  static const evq_mode_t modes[] = {EVQ_LEVEL, EVQ_EDGE, EVQ_ONESHOT};
  for (int m = 0; m < 3; m++) {
    evq_t *q = queue(unpinned);
    evq_fd_t s[2];
    tq_pair(s);
    CHECK_OK(evq_register(q, s[0], EVQ_READABLE, modes[m], 1));
    int number = (int)s[0], p[2];
    take_number(number, how, p);
    CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
    register_new_file(q, number, modes[m]);
    close(number);
    close(p[1]);
    evq_close(s[1]);
    evq_free(q);
  }
}

TEST(reuse_by_close_before_first_wait) { before_first_wait(BY_CLOSE, 0); }
TEST(reuse_by_dup2_before_first_wait) { before_first_wait(BY_DUP2, 0); }
TEST(reuse_by_close_before_first_wait_unpinned) {
  before_first_wait(BY_CLOSE, 1);
}
TEST(reuse_by_dup2_before_first_wait_unpinned) {
  before_first_wait(BY_DUP2, 1);
}

/* An edge registration reported, its data read with read(2) (evq is not
 * told), the number taken, then evq_rearm(): backends that emulate edge
 * (poll, io_uring) watch again from the re-arm on, and must watch the
 * registration's file, not the number's. */
static void before_rearm(int unpinned) {
  evq_t *q = queue(unpinned);
  evq_fd_t s[2];
  tq_pair(s);
  CHECK_OK(evq_register(q, s[0], EVQ_READABLE, EVQ_EDGE, 1));
  tq_send(s[1], 1);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 1);
  char c;
  CHECK_EQ(read((int)s[0], &c, 1), 1);
  int number = (int)s[0], p[2];
  take_number(number, BY_DUP2, p);
  CHECK_OK(evq_rearm(q, number, EVQ_READABLE));
  CHECK_EQ(tq_count_events(q, 1, 50 * MS, NULL), 0);
  register_new_file(q, number, EVQ_EDGE);
  close(number);
  close(p[1]);
  evq_close(s[1]);
  evq_free(q);
}

TEST(reuse_before_edge_rearm) { before_rearm(0); }
TEST(reuse_before_edge_rearm_unpinned) { before_rearm(1); }
