/*
 * libkqueue alone: what the kqueue leg's exceptions rest on, shown with
 * libkqueue and no evq (docs/kqueue.md, "Where libkqueue differs"). Each
 * check does what a program on a BSD kernel may do and says what a BSD
 * kernel answers and what libkqueue did. Linux only (fork, pipes, Unix
 * sockets); built only when pkg-config finds libkqueue.
 *
 *   libkqueue_alone CHECK     CHECK: proc-reaped, delete-after-close,
 *                             edge-overflow, receipt-overflow,
 *                             udp-error-eof, all
 *
 * Exit status: 0 when libkqueue answered as a BSD kernel would for every
 * check run, 1 when it differed in one (its report says how), 2 when a
 * check could not be set up.
 */
#define _GNU_SOURCE
#include <sys/event.h>

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kq;

static void need(int ok, const char *what) {
  if (ok) return;
  fprintf(stderr, "libkqueue_alone: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void set(struct kevent *k, uintptr_t ident, int filter, unsigned flags,
                unsigned fflags, intptr_t udata) {
  EV_SET(k, ident, filter, flags, fflags, 0, (void *)udata);
}

/* Applies one change and returns its receipt's error (0: it worked). */
static int apply(uintptr_t ident, int filter, unsigned flags, unsigned fflags,
                 intptr_t udata) {
  struct kevent k, r;
  set(&k, ident, filter, flags | EV_RECEIPT, fflags, udata);
  need(kevent(kq, &k, 1, &r, 1, NULL) == 1, "kevent (one change)");
  return (r.flags & EV_ERROR) ? (int)r.data : 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* kevent() calls, each with a 100 ms timeout and room for 8 events, made
 * over ms milliseconds; events with udata 1 and 2 counted in got[1], got[2].
 * A queue with nothing to report sleeps through each call: about ms / 100
 * of them. */
static long calls_over(int ms, int got[3]) {
  struct kevent ev[8];
  struct timespec t = {0, 100 * 1000000};
  long calls = 0;
  for (int64_t end = now_ms() + ms; now_ms() < end; calls++) {
    int n = kevent(kq, NULL, 0, ev, 8, &t);
    need(n >= 0, "kevent (wait)");
    for (int i = 0; i < n; i++)
      if ((intptr_t)ev[i].udata >= 1 && (intptr_t)ev[i].udata <= 2)
        got[(intptr_t)ev[i].udata]++;
  }
  return calls;
}

static pid_t child_exiting(int code, int delay_ms) {
  pid_t pid = fork();
  need(pid >= 0, "fork");
  if (pid == 0) {
    usleep((useconds_t)delay_ms * 1000);
    _exit(code);
  }
  return pid;
}

/* EVFILT_PROC, NOTE_EXIT on two children; the program reaps the first
 * itself, the second ends 100 ms later. A BSD kernel records the exit in
 * the knote when the process exits (FreeBSD's filt_proc stores the status
 * in kn_data), so both events come, whoever reaps. libkqueue asks
 * waitid(WNOWAIT) for the status when it copies the event out
 * (src/linux/proc.c): for a reaped child that fails with ECHILD, the
 * copyout gives up on that event and on every later one of the same
 * epoll_wait, and the pidfd stays readable, so the next call fails the
 * same way: no event, and a kevent() that returns at once, for ever. */
static int proc_reaped(void) {
  pid_t a = child_exiting(3, 0), b = child_exiting(4, 100);
  need(apply((uintptr_t)a, EVFILT_PROC, EV_ADD, NOTE_EXIT, 1) == 0, "EVFILT_PROC a");
  need(apply((uintptr_t)b, EVFILT_PROC, EV_ADD, NOTE_EXIT, 2) == 0, "EVFILT_PROC b");
  int status;
  need(waitpid(a, &status, 0) == a, "waitpid a");
  int got[3] = {0, 0, 0};
  long calls = calls_over(1000, got);
  (void)waitpid(b, &status, 0);
  printf("proc-reaped: NOTE_EXIT events: %d for the child reaped by the "
         "program, %d for the other (a BSD kernel: 1 and 1); kevent() calls "
         "with a 100 ms timeout in 1 s: %ld (sleeping: about 10)\n",
         got[1], got[2], calls);
  return got[1] == 1 && got[2] == 1 ? 0 : 1;
}

/* A level EVFILT_READ knote on a pipe with data waiting; the number is
 * dup'ed, closed, and only then the knote deleted; then the dup goes back
 * on the number and is registered again. A BSD kernel drops the knotes
 * of a number at its close (the delete then answers ENOENT or EBADF,
 * harmlessly), and the number registers again. libkqueue keeps the knote
 * (its BUGS.md); its delete after the close cannot take its epoll entry
 * off the open file the dup keeps: every wait wakes for it, and the
 * number's next EV_ADD fails with EEXIST. */
static int delete_after_close(void) {
  int p[2];
  need(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe");
  need(write(p[1], "x", 1) == 1, "write");
  need(apply((uintptr_t)p[0], EVFILT_READ, EV_ADD, 0, 1) == 0, "EV_ADD");
  int copy = dup(p[0]);
  need(copy >= 0, "dup");
  need(close(p[0]) == 0, "close");
  int del = apply((uintptr_t)p[0], EVFILT_READ, EV_DELETE, 0, 0);
  int got[3] = {0, 0, 0};
  long calls = calls_over(500, got);
  need(dup2(copy, p[0]) == p[0], "dup2");
  int add = apply((uintptr_t)p[0], EVFILT_READ, EV_ADD, 0, 2);
  printf("delete-after-close: EV_DELETE after the close: %s; kevent() calls "
         "with a 100 ms timeout in 0.5 s: %ld (sleeping: about 5); EV_ADD "
         "on the number again: %s (a BSD kernel: success)\n",
         del ? strerror(del) : "success", calls, add ? strerror(add) : "success");
  close(copy);
  close(p[0]);
  close(p[1]);
  return add == 0 && calls < 50 ? 0 : 1;
}

/* An EVFILT_READ knote on a connected UDP socket whose datagram drew an
 * ICMP "port unreachable". A BSD kernel makes the socket readable with the
 * error pending and no EV_EOF (filt_soread: EV_EOF only once it receives
 * nothing more), and the next recv() fails with ECONNREFUSED. libkqueue
 * marks every EPOLLERR EV_EOF ("the only way we seem to be able to signal
 * an error", src/linux/read.c) and reads SO_ERROR into fflags, which
 * clears it: recv() then finds nothing. */
static int udp_error_eof(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int gone = socket(AF_INET, SOCK_DGRAM, 0);
  need(gone >= 0 && bind(gone, (struct sockaddr *)&a, sizeof a) == 0, "bind");
  need(getsockname(gone, (struct sockaddr *)&a, &len) == 0, "getsockname");
  close(gone); /* nothing listens on that port now */
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  need(u >= 0 && connect(u, (struct sockaddr *)&a, sizeof a) == 0, "connect");
  need(apply((uintptr_t)u, EVFILT_READ, EV_ADD, 0, 1) == 0, "EV_ADD");
  need(send(u, "x", 1, 0) == 1, "send");
  struct kevent ev;
  struct timespec t = {1, 0};
  int n = kevent(kq, NULL, 0, &ev, 1, &t);
  need(n == 1, "kevent (the ICMP error's event within 1 s)");
  int eof = (ev.flags & EV_EOF) != 0;
  char b;
  int r = (int)recv(u, &b, 1, 0), err = r < 0 ? errno : 0;
  printf("udp-error-eof: %d event, EV_EOF %s, fflags %s; then recv(): %s (a "
         "BSD kernel: 1 event without EV_EOF, then ECONNREFUSED)\n",
         n, eof ? "set" : "clear", ev.fflags ? strerror((int)ev.fflags) : "0",
         r < 0 ? strerror(err) : "data");
  (void)apply((uintptr_t)u, EVFILT_READ, EV_DELETE, 0, 0);
  close(u);
  /* Both of udp_connected_refused's exceptions rest on this: EV_EOF, and
   * the error gone before recv(). */
  return !eof && err == ECONNREFUSED ? 0 : 1;
}

/* N Unix stream sockets, each with an EV_CLEAR read and write knote, all
 * made readable at once; then waits with room for `room` events and no
 * change. A BSD kernel hands out every pending event over the calls. In
 * libkqueue one epoll event for a descriptor with both knotes becomes two
 * kevents, epoll_wait is asked for as many events as the list holds, and
 * the copyout stops at a full list, dropping the epoll events it took
 * (src/linux/platform.c, linux_kevent_copyout): with EPOLLET those edges
 * never come again. */
static int edge_overflow(void) {
  enum { N = 16 };
  int sp[N][2];
  struct kevent ch[2 * N], ev[4 * N];
  for (int i = 0; i < N; i++) {
    need(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[i]) == 0, "socketpair");
    set(&ch[2 * i], (uintptr_t)sp[i][0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, i);
    set(&ch[2 * i + 1], (uintptr_t)sp[i][0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, i);
  }
  need(kevent(kq, ch, 2 * N, NULL, 0, NULL) == 0, "EV_ADD");
  struct timespec z = {0, 0}, t = {0, 50 * 1000000};
  while (kevent(kq, NULL, 0, ev, 4 * N, &z) > 0) { /* the first write edges */
  }
  for (int i = 0; i < N; i++) need(write(sp[i][1], "x", 1) == 1, "write");
  int seen[N] = {0}, reads = 0, calls = 0;
  for (int n; (n = kevent(kq, NULL, 0, ev, N, &t)) > 0 || calls < 3; calls++)
    for (int i = 0; i < n; i++)
      if (ev[i].filter == EVFILT_READ && !seen[(intptr_t)ev[i].udata]++) reads++;
  printf("edge-overflow: %d sockets readable, EV_CLEAR read and write knotes, "
         "waits with room for %d events: %d read events (a BSD kernel: %d)\n",
         N, N, reads, N);
  for (int i = 0; i < N; i++) close(sp[i][0]), close(sp[i][1]);
  return reads == N ? 0 : 1;
}

/* The same loss from receipts alone: N sockets with only an EV_CLEAR read
 * knote (one kevent per epoll event), all readable; one call hands over
 * N - 2 changes with EV_RECEIPT and has room for N entries. A BSD kernel
 * writes the receipts and 2 events and keeps the rest for the next call.
 * libkqueue writes the receipts, still asks epoll_wait for N events
 * (src/common/kevent.c passes the whole list's size), copies out 2 and
 * drops the others. */
static int receipt_overflow(void) {
  enum { N = 8 };
  int sp[N][2], extra[2];
  struct kevent ch[N], ev[4 * N];
  for (int i = 0; i < N; i++) {
    need(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[i]) == 0, "socketpair");
    need(apply((uintptr_t)sp[i][0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, i) == 0, "EV_ADD");
  }
  need(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, extra) == 0, "socketpair");
  for (int i = 0; i < N; i++) need(write(sp[i][1], "x", 1) == 1, "write");
  /* N - 2 changes that cannot fail: disable and enable a write knote. */
  need(apply((uintptr_t)extra[0], EVFILT_WRITE, EV_ADD | EV_DISABLE, 0, 99) == 0, "EV_ADD");
  for (int i = 0; i < N - 2; i++)
    set(&ch[i], (uintptr_t)extra[0], EVFILT_WRITE,
        (i % 2 ? EV_DISABLE : EV_ENABLE) | EV_RECEIPT, 0, 99);
  struct timespec t = {0, 50 * 1000000};
  int seen[N] = {0}, reads = 0, calls = 0;
  int n = kevent(kq, ch, N - 2, ev, N, &t);
  do {
    for (int i = 0; i < n; i++)
      if (!(ev[i].flags & EV_ERROR) && ev[i].filter == EVFILT_READ &&
          !seen[(intptr_t)ev[i].udata]++)
        reads++;
  } while ((n = kevent(kq, NULL, 0, ev, 4 * N, &t)) > 0 || ++calls < 3);
  printf("receipt-overflow: %d sockets readable, EV_CLEAR read knotes; %d "
         "changes with EV_RECEIPT in a call with room for %d: %d read events "
         "over that call and the next ones (a BSD kernel: %d)\n",
         N, N - 2, N, reads, N);
  for (int i = 0; i < N; i++) close(sp[i][0]), close(sp[i][1]);
  close(extra[0]), close(extra[1]);
  return reads == N ? 0 : 1;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(void);
  } checks[] = {{"proc-reaped", proc_reaped},
                {"delete-after-close", delete_after_close},
                {"edge-overflow", edge_overflow},
                {"receipt-overflow", receipt_overflow},
                {"udp-error-eof", udp_error_eof}};
  const char *which = argc > 1 ? argv[1] : "all";
  int differs = 0, ran = 0;
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    if (strcmp(which, "all") != 0 && strcmp(which, checks[i].name) != 0) continue;
    kq = kqueue();
    need(kq >= 0, "kqueue");
    differs |= checks[i].fn();
    close(kq);
    ran++;
  }
  if (!ran) {
    fprintf(stderr, "usage: %s [proc-reaped|delete-after-close|edge-overflow|"
                    "receipt-overflow|udp-error-eof|all]\n", argv[0]);
    return 2;
  }
  return differs;
}
