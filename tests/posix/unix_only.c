#define _POSIX_C_SOURCE 200809L
/* Cases that only mean something on POSIX (listed in docs/windows.md). */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every descriptor evq opens is close-on-exec. */
TEST(descriptors_cloexec) {
  char before[4096];
  memset(before, 0, sizeof before);
  for (int fd = 0; fd < 4096; fd++) before[fd] = fcntl(fd, F_GETFD) != -1;
  evq_t *q = tq_queue();
  evq_fd_t p[2], l;
  tq_pair(p);
  CHECK_OK(evq_tcp_listen(&l, NULL, 0, 1));
  int checked = 0;
  for (int fd = 0; fd < 4096; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags == -1 || before[fd]) continue;
    CHECK(flags & FD_CLOEXEC);
    checked++;
  }
  CHECK(checked >= 4); /* the queue's own, the pair and the listener */
  evq_close(p[0]);
  evq_close(p[1]);
  evq_close(l);
  evq_free(q);
}

/* new_fds_cloexec(before): every descriptor open now and not in before
 * is close-on-exec; returns how many there are. */
static int new_fds_cloexec(const char *before) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags == -1 || before[fd]) continue;
    if (!(flags & FD_CLOEXEC)) fprintf(stderr, "fd %d is not close-on-exec\n", fd);
    CHECK(flags & FD_CLOEXEC);
    n++;
  }
  return n;
}

/* Whether an epoll instance of this process holds an entry for this
 * number (Linux: /proc/self/fdinfo lists each entry as "tfd: N"). */
static bool epoll_holds(int number) {
  for (int fd = 0; fd < 4096; fd++) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, line, sizeof line - 1);
    if (n <= 0) continue;
    line[n] = 0;
    if (strcmp(line, "anon_inode:[eventpoll]") != 0) continue;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    int tfd = -1;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
      found = sscanf(line, "tfd: %d", &tfd) == 1 && tfd == number;
    fclose(f);
    if (found) return true;
  }
  return false;
}

/* And those evq opens later in a queue's life: the descriptor evq_fd()
 * hands out, a child's pidfd, a signal subscription's, and the epoll
 * instance evq makes anew when a closed descriptor left an entry no
 * number reaches (here: a registered pipe closed while a dup keeps it
 * open, then deregistered, too late to delete its entry). */
TEST(descriptors_cloexec_later) { /* tq: acts-while-waiting */
  int life[2]; /* the child lives until this pipe's write end closes */
  CHECK(pipe(life) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char c;
    close(life[1]);
    _exit((int)read(life[0], &c, 1));
  }
  close(life[0]);
  char before[4096];
  for (int fd = 0; fd < 4096; fd++) before[fd] = fcntl(fd, F_GETFD) != -1;
  evq_t *q = tq_queue();
  evq_fd_t kfd;
  int rc = evq_fd(q, &kfd);
  CHECK(rc == 0 || rc == EVQ_ENOTSUP); /* poll has none */
  CHECK_OK(evq_child_add(q, pid, 7));
  CHECK_OK(evq_signal_add(q, SIGUSR2, 8));
  int p[2];
  CHECK(pipe(p) == 0);
  for (int i = 0; i < 2; i++) {
    CHECK(fcntl(p[i], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(p[i], F_SETFD, FD_CLOEXEC) == 0);
    before[p[i]] = 1; /* the test's own */
  }
  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 9));
  evq_event_t ev[8];
  CHECK_EQ(tq_count_events(q, 9, 20 * MS, NULL) > 0, 1);
  int copy = dup(p[0]);
  CHECK(copy >= 0);
  before[copy] = 1;
  CHECK(close(p[0]) == 0); /* closed first: the entry cannot be deleted */
  CHECK_OK(evq_deregister(q, p[0]));
  bool epoll = strcmp(tq_backend, "epoll") == 0;
  if (epoll) CHECK(epoll_holds(p[0])); /* left behind */
  /* epoll meets the entry left behind, and rebuilds before a later wait */
  for (int i = 0; i < 4; i++) tq_wait(q, ev, 8, 20 * MS);
  if (epoll) CHECK(!epoll_holds(p[0])); /* made anew without it */
  CHECK(new_fds_cloexec(before) >= 1);
  close(life[1]);
  CHECK_EQ(tq_count_events(q, 7, 5000 * MS, NULL), 1);
  close(copy);
  close(p[1]);
  evq_free(q);
}

static atomic_int signals_seen;
static evq_t *signal_queue;
static atomic_int wake_from_handler;

static void on_signal(int sig) {
  (void)sig;
  atomic_fetch_add(&signals_seen, 1);
  if (atomic_load(&wake_from_handler)) evq_wake(signal_queue);
}

static void *pester(void *arg) {
  pthread_t target = *(pthread_t *)arg;
  for (int i = 0; i < 20; i++) {
    tq_sleep_ms(5);
    pthread_kill(target, SIGUSR1);
  }
  return NULL;
}

/* EINTR policy: signals do not end a wait (it resumes with the time that
 * is left and still never returns early); a handler that wants the wait to
 * return calls evq_wake(), which is async-signal-safe. */
TEST(eintr_resumes_and_handler_wakes) { /* tq: acts-while-waiting */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: syscalls see EINTR */
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  signal_queue = tq_queue();
  pthread_t self = pthread_self(), th;
  CHECK(pthread_create(&th, NULL, pester, &self) == 0);
  evq_event_t ev[4];
  int64_t start = evq_now();
  CHECK_EQ(tq_wait(signal_queue, ev, 4, 200 * MS), 0);
  CHECK(evq_now() - start >= 200 * MS);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(atomic_load(&signals_seen) > 0);

  atomic_store(&wake_from_handler, 1);
  CHECK(pthread_create(&th, NULL, pester, &self) == 0);
  CHECK_EQ(tq_wait(signal_queue, ev, 4, EVQ_FOREVER), 1);
  CHECK_EQ(ev[0].token, WAKE_TOKEN);
  CHECK(pthread_join(th, NULL) == 0);
  evq_free(signal_queue);
}

/* A regular file: epoll cannot poll it (EVQ_ENOTSUP); poll reports it
 * always ready; kqueue reports it readable while the file offset is
 * before its end (so the file here holds data). Either way the answer is
 * documented, not a crash. */
TEST(regular_file) {
  evq_t *q = tq_queue();
  char path[] = "/tmp/evq-regular-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  unlink(path);
  CHECK_EQ(write(fd, "data", 4), 4);
  CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
  int rc = evq_register(q, fd, EVQ_READABLE, EVQ_LEVEL, 1);
  if (strcmp(tq_backend, "epoll") == 0) {
    CHECK_EQ(rc, EVQ_ENOTSUP);
  } else {
    CHECK_OK(rc);
    evq_event_t ev[2];
    CHECK_EQ(tq_wait(q, ev, 2, 5000 * MS), 1);
    CHECK(ev[0].flags & EVQ_READABLE);
    CHECK_OK(evq_deregister(q, fd));
  }
  close(fd);
  evq_free(q);
}

/* Pipes work as well as sockets, and hang-up of the write end reports. */
TEST(pipe_hangup) {
  evq_t *q = tq_queue();
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_EDGE, 5));
  CHECK(write(p[1], "ab", 2) == 2);
  evq_event_t ev[2];
  CHECK_EQ(tq_wait(q, ev, 2, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 5);
  CHECK_EQ(tq_drain(q, p[0]), 2);
  close(p[1]);
  CHECK_EQ(tq_wait(q, ev, 2, 5000 * MS), 1);
  CHECK(ev[0].flags & EVQ_READ_CLOSED);
  CHECK(ev[0].flags & EVQ_READABLE);
  CHECK_OK(evq_deregister(q, p[0]));
  close(p[0]);
  evq_free(q);
}

/* evq_write never raises SIGPIPE, on sockets or pipes, even when the
 * process leaves SIGPIPE at its default (fatal) disposition. */
TEST(write_never_sigpipe) {
  signal(SIGPIPE, SIG_DFL);
  int p[2];
  CHECK(pipe(p) == 0);
  close(p[0]);
  CHECK_EQ(evq_write(NULL, p[1], "x", 1), EVQ_EPIPE);
  close(p[1]);
  evq_fd_t s[2];
  tq_pair(s);
  evq_close(s[1]);
  ptrdiff_t w = evq_write(NULL, s[0], "x", 1);
  CHECK(w == EVQ_EPIPE || w == EVQ_ECONNRESET);
  evq_close(s[0]);
  signal(SIGPIPE, SIG_IGN);
}

/* EVQ_PRIORITY is out-of-band data: epoll and poll report it, and not for
 * ordinary data; kqueue has no portable filter for it, io_uring cannot
 * tell it from ordinary data (a poll request completes with the wake-up's
 * mask, which names both), and both say so (as IOCP does,
 * windows_only.c). */
TEST(priority_oob) {
  evq_t *q = tq_queue();
  evq_fd_t l, c, s;
  CHECK_OK(evq_tcp_listen(&l, NULL, 0, 1));
  int rc = evq_tcp_connect(&c, NULL, (uint16_t)evq_socket_port(l));
  CHECK(rc == 0 || rc == EVQ_EAGAIN);
  for (int i = 0; i < 5000 && (rc = evq_accept(NULL, l, &s)) == EVQ_EAGAIN; i++)
    tq_sleep_ms(1);
  CHECK_OK(rc);
  rc = evq_register(q, s, EVQ_READABLE | EVQ_PRIORITY, EVQ_LEVEL, 3);
  if (strcmp(tq_backend, "kqueue") == 0 ||
      strcmp(tq_backend, "io_uring") == 0) {
    CHECK_EQ(rc, EVQ_ENOTSUP);
    CHECK_OK(evq_register(q, s, EVQ_READABLE, EVQ_LEVEL, 3)); /* unchanged */
    CHECK_EQ(evq_modify(q, s, EVQ_PRIORITY, EVQ_LEVEL, 3), EVQ_ENOTSUP);
  } else {
    CHECK_OK(rc);
    evq_event_t ev[4];
    CHECK_EQ(tq_wait(q, ev, 4, 20 * MS), 0);
    CHECK_EQ(send(c, "d", 1, 0), 1);
    CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
    CHECK(ev[0].flags & EVQ_READABLE);
    CHECK(!(ev[0].flags & EVQ_PRIORITY)); /* ordinary data */
    CHECK_EQ(send(c, "!", 1, MSG_OOB), 1);
    CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 3);
    CHECK(ev[0].flags & EVQ_PRIORITY);
  }
  CHECK_OK(evq_deregister(q, s));
  evq_close(s);
  evq_close(c);
  evq_close(l);
  evq_free(q);
}

/* The queue's descriptor in a bare poll(2), the simplest host loop. */
TEST(embed_in_poll) {
  evq_t *q = tq_queue();
  evq_fd_t fd;
  int rc = evq_fd(q, &fd);
  int none = strcmp(tq_backend, "poll") == 0;
#ifdef TQ_LIBKQUEUE /* its kqueue descriptor is never readable */
  none |= strcmp(tq_backend, "kqueue") == 0;
#endif
  if (none) {
    CHECK_EQ(rc, EVQ_ENOTSUP);
    evq_free(q);
    return;
  }
  CHECK_OK(rc);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  CHECK_EQ(poll(&pfd, 1, 20), 0);
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_EDGE, 4));
  tq_send(p[1], 1);
  CHECK_EQ(poll(&pfd, 1, 5000), 1);
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, 4);
  CHECK_OK(evq_signal_add(q, SIGUSR1, 5)); /* a signal reaches the host too */
  CHECK(raise(SIGUSR1) == 0);
  CHECK_EQ(poll(&pfd, 1, 5000), 1);
  CHECK_EQ(tq_wait(q, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, 5);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}
