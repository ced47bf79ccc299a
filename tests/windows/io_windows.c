/* Completion operations where Windows' own behaviour decides the case
 * (docs/windows.md, "Native operations"): the paths IOCP takes, a reset
 * under a pending WSARecv, a send cancelled part-way, a receive whose
 * data came before its cancel, and a socket another queue's port holds.
 * Each runs native and, under EVQ_IO_EMULATE=1 (the *.iocp_emulated
 * runs), over AFD readiness, with the same results. */
#include "iotest.h"

#include <winsock2.h>
#include <windows.h>

#include <stdlib.h>
#include <string.h>

static int emulated(void) {
  const char *e = getenv("EVQ_IO_EMULATE");
  return e && strcmp(e, "1") == 0;
}

/* Accept, receive, send and connect are Windows' own, and a multishot
 * accept keeps its AcceptEx requests going by itself (NATIVE_MULTI); the
 * pool receive and the close are emulated. */
TEST(io_path_iocp) {
  evq_t *q = tq_queue();
  for (int k = EVQ_IO_ACCEPT; k <= EVQ_IO_CLOSE; k++) {
    int want = k == EVQ_IO_RECV_POOL || k == EVQ_IO_CLOSE || emulated()
                   ? EVQ_PATH_EMULATED
               : k == EVQ_IO_ACCEPT_MULTI ? EVQ_PATH_NATIVE_MULTI
                                          : EVQ_PATH_NATIVE;
    CHECK_EQ(evq_io_path(q, k), want);
  }
  evq_free(q);
}

/* The peer aborts (SO_LINGER 0: a reset) under a pending receive, which
 * ends with EVQ_ECONNRESET (Windows: WSAECONNRESET in the packet); a
 * send after it ends too, and the close completes. */
TEST(io_recv_reset) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  char buf[64];
  evq_op_t rx, tx, cl;
  evq_op_init(&rx);
  evq_op_init(&tx);
  evq_op_init(&cl);
  CHECK_OK(evq_op_recv(q, &rx, c, buf, sizeof buf, 1));
  CHECK_EQ(tq_wait(q, s.ev, 64, 20 * MS), 0);
  struct linger abort_now = {1, 0};
  CHECK_OK(setsockopt((SOCKET)p, SOL_SOCKET, SO_LINGER, (char *)&abort_now,
                      sizeof abort_now));
  evq_close(p);
  /* Wine answers a plain recv after a reset with end of stream (quirk
   * 9); its WSARecv, like Windows', says WSAECONNRESET. */
  int32_t got = io_final(&s, 1);
  CHECK(got == EVQ_ECONNRESET || (emulated() && tq_wine() && got == 0));
  CHECK_OK(evq_op_send(q, &tx, c, "x", 1, 2));
  int32_t r = io_final(&s, 2);
  CHECK(r == EVQ_EPIPE || r == EVQ_ECONNRESET);
  CHECK_OK(evq_op_close(q, &cl, c, 3));
  CHECK_EQ(io_final(&s, 3), 0);
  evq_free(q);
}

/* A send larger than the socket's buffers, cancelled after part of it
 * went (Windows: its packet says STATUS_CANCELLED with the bytes that
 * went): it ends EVQ_ECANCELED, the stream has a hole, so the send
 * queued behind it ends cancelled too, and the peer sees a prefix of the
 * first send and not one byte of the second. */
TEST(io_send_cancel_partial) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  size_t big = 16u << 20;
  unsigned char *data = malloc(big);
  CHECK(data != NULL);
  io_fill(data, big, 1, 0);
  static unsigned char tail[4096];
  memset(tail, 0xEE, sizeof tail);
  evq_op_t op[2];
  evq_op_init(&op[0]);
  evq_op_init(&op[1]);
  CHECK_OK(evq_op_send(q, &op[0], c, data, big, 0));
  CHECK_OK(evq_op_send(q, &op[1], c, tail, sizeof tail, 1));
  CHECK_EQ(tq_wait(q, s.ev, 64, 50 * MS), 0); /* the peer reads nothing */
  CHECK_OK(evq_op_cancel(q, &op[0]));
  CHECK_EQ(io_final(&s, 0), EVQ_ECANCELED);
  CHECK_EQ(io_final(&s, 1), EVQ_ECANCELED);
  size_t got = 0;
  for (int i = 0; i < 200; i++) { /* what went: a prefix, in order */
    io_read_check(p, 1, &got, big);
    tq_sleep_ms(5);
  }
  CHECK(got > 0 && got < big);
  io_none(&s, 20);
  evq_close(c);
  evq_close(p);
  free(data);
  evq_free(q);
}

/* A receive whose data came before its cancel (natively the WSARecv has
 * completed; its packet waits on the port, and CancelIoEx finds nothing
 * to cancel): it ends once, with the data, or, where the data was not
 * read yet (emulated), cancelled with the data still in the socket.
 * Either way no byte is lost. */
TEST(io_cancel_after_data) {
  evq_t *q = tq_queue();
  io_stream_t s = io_stream(q);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  char buf[16];
  evq_op_t rx;
  evq_op_init(&rx);
  CHECK_OK(evq_op_recv(q, &rx, c, buf, sizeof buf, 7));
  CHECK_EQ(evq_write(NULL, p, "hello", 5), 5);
  tq_sleep_ms(50);
  CHECK_OK(evq_op_cancel(q, &rx));
  int32_t r = io_final(&s, 7);
  if (emulated()) {
    CHECK_EQ(r, EVQ_ECANCELED);
    tq_sleep_ms(10);
    CHECK_EQ(evq_read(NULL, c, buf, sizeof buf), 5);
  } else {
    CHECK_EQ(r, 5);
    CHECK_EQ(evq_read(NULL, c, buf + 5, sizeof buf - 5), EVQ_EAGAIN);
  }
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_EQ(evq_op_cancel(q, &rx), EVQ_ENOENT);
  io_none(&s, 20);
  evq_close(c);
  evq_close(p);
  evq_free(q);
}

/* A socket released by one queue (whose port it joined for good) and
 * used with operations on another: the second cannot take it into its
 * port, and emulates its operations, with the same results. */
TEST(io_socket_moves_queue) {
  evq_t *a = tq_queue(), *b = tq_queue();
  io_stream_t sa = io_stream(a), sb = io_stream(b);
  evq_fd_t c, p;
  io_tcp_pair(&c, &p);
  evq_op_t op;
  char buf[8];
  evq_op_init(&op);
  CHECK_OK(evq_op_send(a, &op, c, "one", 3, 1));
  CHECK_EQ(io_final(&sa, 1), 3);
  CHECK_OK(evq_io_release(a, c));
  CHECK_OK(evq_op_send(b, &op, c, "two", 3, 2));
  CHECK_EQ(io_final(&sb, 2), 3);
  CHECK_EQ(evq_write(NULL, p, "back", 4), 4);
  CHECK_OK(evq_op_recv(b, &op, c, buf, sizeof buf, 3));
  CHECK_EQ(io_final(&sb, 3), 4);
  CHECK(memcmp(buf, "back", 4) == 0);
  tq_sleep_ms(10);
  CHECK_EQ(evq_read(NULL, p, buf, sizeof buf), 6);
  CHECK(memcmp(buf, "onetwo", 6) == 0);
  evq_close(c);
  evq_close(p);
  evq_free(a);
  evq_free(b);
}

/* Out of handles, as EVQ_IOCP_ACCEPT_SOCKETS=N makes it (the queue may
 * make N accept sockets, then fails the next with WSAEMFILE, as Windows
 * does when the system runs short): a single accept ends EVQ_EMFILE; a
 * multishot one with three sockets reports the connection its first took,
 * then, unable to go again, cancels the other two and ends EVQ_EMFILE,
 * once, instead of going round again at every wait. Not an io_ case: the
 * setting is the native path's, and the emulation's accept() has no such
 * limit to meet. */
TEST(iocp_accept_out_of_handles) {
  evq_fd_t l0, l3, c;
  CHECK_OK(evq_tcp_listen(&l0, "127.0.0.1", 0, 16));
  CHECK_OK(evq_tcp_listen(&l3, "127.0.0.1", 0, 16));
  CHECK_EQ(_putenv_s("EVQ_IOCP_ACCEPT_SOCKETS", "0"), 0);
  evq_t *q0 = tq_queue();
  CHECK_EQ(_putenv_s("EVQ_IOCP_ACCEPT_SOCKETS", "3"), 0);
  evq_t *q3 = tq_queue();
  CHECK_EQ(_putenv_s("EVQ_IOCP_ACCEPT_SOCKETS", ""), 0);
  io_stream_t s0 = io_stream(q0), s3 = io_stream(q3);
  evq_op_t one, multi;
  evq_op_init(&one);
  evq_op_init(&multi);
  CHECK_OK(evq_op_accept(q0, &one, l0, NULL, 1));
  CHECK_EQ(io_final(&s0, 1), EVQ_EMFILE);
  CHECK_OK(evq_op_accept_multi(q3, &multi, l3, 2));
  CHECK_OK(evq_tcp_connect(&c, "127.0.0.1", (uint16_t)evq_socket_port(l3)));
  evq_event_t e = io_next(&s3);
  CHECK_EQ(e.token, 2);
  CHECK_EQ(e.flags, EVQ_OP | EVQ_OP_MORE);
  CHECK(evq_op_result(&e) >= 0);
  evq_close(evq_op_socket(&e));
  CHECK_EQ(io_final(&s3, 2), EVQ_EMFILE);
  CHECK_EQ(evq_op_active(&multi), 0);
  io_none(&s3, 50);
  evq_close(c);
  evq_close(l0);
  evq_close(l3);
  evq_free(q0);
  evq_free(q3);
}
