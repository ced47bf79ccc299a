/* Cases that only mean something on Windows: the counterparts of
 * tests/posix/unix_only.c (see docs/windows.md). */
#include "harness.h"

#include <winsock2.h>
#include <windows.h>

#include <signal.h>

static int inheritable(evq_fd_t fd) {
  DWORD flags = 0;
  CHECK(GetHandleInformation((HANDLE)fd, &flags));
  return (flags & HANDLE_FLAG_INHERIT) != 0;
}

/* Windows' close-on-exec: no socket evq makes is inherited by children. */
TEST(sockets_not_inherited) {
  evq_t *q = tq_queue();
  evq_fd_t p[2], l, c, a;
  tq_pair(p);
  CHECK_OK(evq_tcp_listen(&l, NULL, 0, 1));
  CHECK_OK(evq_tcp_connect(&c, NULL, (uint16_t)evq_socket_port(l)));
  CHECK_OK(evq_register(q, l, EVQ_READABLE, EVQ_LEVEL, 1));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_OK(evq_accept(q, l, &a));
  evq_fd_t all[] = {p[0], p[1], l, c, a};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    CHECK(!inheritable(all[i]));
  CHECK_OK(evq_deregister(q, l));
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) evq_close(all[i]);
  evq_free(q);
}

/* AFD polls sockets only: another kind of handle is EVQ_ENOTSUP, a closed
 * one EVQ_EBADF; neither disturbs the queue. */
TEST(non_socket_handles) {
  evq_t *q = tq_queue();
  char path[MAX_PATH], dir[MAX_PATH];
  CHECK(GetTempPathA(sizeof dir, dir) > 0);
  CHECK(GetTempFileNameA(dir, "evq", 0, path) != 0);
  HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                         CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
  CHECK(f != INVALID_HANDLE_VALUE);
  CHECK_EQ(evq_register(q, (evq_fd_t)f, EVQ_READABLE, EVQ_LEVEL, 1),
           EVQ_ENOTSUP);
  HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
  CHECK(e != NULL);
  CHECK_EQ(evq_register(q, (evq_fd_t)e, EVQ_WRITABLE, EVQ_EDGE, 2),
           EVQ_ENOTSUP);
  CloseHandle(e);
  CHECK_EQ(evq_register(q, (evq_fd_t)e, EVQ_WRITABLE, EVQ_EDGE, 2),
           EVQ_EBADF);
  CHECK_EQ(evq_register(q, (evq_fd_t)(uintptr_t)0x7ffc, EVQ_READABLE,
                        EVQ_LEVEL, 3), EVQ_EBADF);
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_WRITABLE, EVQ_LEVEL, 4));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 4);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  CloseHandle(f);
  evq_free(q);
}

/* Out-of-band data is epoll/poll only (evq.h): a clear error here. */
TEST(priority_not_supported) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_EQ(evq_register(q, p[0], EVQ_READABLE | EVQ_PRIORITY, EVQ_LEVEL, 1),
           EVQ_ENOTSUP);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  CHECK_EQ(evq_modify(q, p[0], EVQ_PRIORITY, EVQ_LEVEL, 1), EVQ_ENOTSUP);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}

/* Writing to a connection the peer has closed fails with EPIPE (or a
 * reset), never crashes: Windows has no SIGPIPE, but the code matches. */
TEST(write_after_peer_close) {
  evq_fd_t s[2];
  tq_pair(s);
  evq_close(s[1]);
  /* The first writes may still be accepted, until the peer's reset comes
   * back; how soon it does is the machine's business: the bound is the
   * suite's hang guard (5 s), not a promise of evq's. */
  ptrdiff_t w = 0;
  for (int64_t end = evq_now() + 5000 * MS; w >= 0 && evq_now() < end;) {
    w = evq_write(NULL, s[0], "x", 1);
    if (w >= 0) tq_sleep_ms(5);
  }
  CHECK(w == EVQ_EPIPE || w == EVQ_ECONNRESET);
  evq_close(s[0]);
}

BOOL evq__console_event(DWORD type); /* src/win/signal.c, for tests */

/* Console control events as signals (conformance/signal_events.c has
 * what every OS shares): Ctrl-C is SIGINT, Ctrl-Break SIGBREAK, and evq's
 * console handler says an event was handled (so Windows' default action,
 * ending the process, does not happen) only while a queue watches it.
 * wine's GenerateConsoleCtrlEvent fails without a real console, so the
 * case runs evq's handler as Windows would for each event. */
TEST(signal_console_events) {
  evq_t *q = tq_queue();
  CHECK_EQ(evq__console_event(CTRL_C_EVENT), FALSE); /* nobody watches */
  CHECK_OK(evq_signal_add(q, SIGINT, 1));
  CHECK_OK(evq_signal_add(q, SIGBREAK, 2));
  CHECK(evq__console_event(CTRL_C_EVENT));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 1);
  CHECK_EQ(ev[0].flags, EVQ_SIGNAL);
  CHECK(evq__console_event(CTRL_BREAK_EVENT));
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_EQ(evq__console_event(CTRL_CLOSE_EVENT), FALSE); /* not watched */
  CHECK_OK(evq_signal_remove(q, SIGINT));
  CHECK_EQ(evq__console_event(CTRL_C_EVENT), FALSE);
  evq_free(q); /* ends the SIGBREAK subscription too */
  CHECK_EQ(evq__console_event(CTRL_BREAK_EVENT), FALSE);
}
