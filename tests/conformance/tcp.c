/* The socket helpers over loopback, driven through evq in edge mode. */
#include "harness.h"

#include <string.h>

enum { MSG = 200000 };

TEST(tcp_echo_edge) {
  evq_t *q = tq_queue();
  evq_fd_t l, c, s = EVQ_INVALID_FD;
  CHECK_OK(evq_tcp_listen(&l, "127.0.0.1", 0, 8));
  int port = evq_socket_port(l);
  CHECK(port > 0);
  CHECK_OK(evq_register(q, l, EVQ_READABLE, EVQ_EDGE, 1));
  CHECK_OK(evq_tcp_connect(&c, "127.0.0.1", (uint16_t)port));
  CHECK_OK(evq_register(q, c, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE, 2));
  static char out[MSG], back[MSG];
  for (int i = 0; i < MSG; i++) out[i] = (char)(i * 31 + 7);
  size_t sent = 0, echoed = 0, got = 0;
  static char relay[65536];
  size_t relay_len = 0;
  evq_event_t ev[8];
  while (got < MSG) {
    int n = tq_wait(q, ev, 8, 5000 * MS);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
      if (ev[i].token == 1) { /* accept everything pending */
        evq_fd_t a;
        while (evq_accept(q, l, &a) == 0) {
          CHECK(s == EVQ_INVALID_FD);
          s = a;
          CHECK_OK(evq_register(q, s, EVQ_READABLE | EVQ_WRITABLE, EVQ_EDGE, 3));
        }
      }
      if (ev[i].token == 2 && (ev[i].flags & EVQ_WRITABLE)) {
        CHECK_EQ(evq_socket_error(c), 0);
      }
    }
    /* Client: write what is left, read what came back, to would-block. */
    for (ptrdiff_t w; sent < MSG &&
         (w = evq_write(q, c, out + sent, MSG - sent)) != EVQ_EAGAIN;) {
      CHECK_OK(w);
      sent += (size_t)w;
    }
    for (ptrdiff_t r; (r = evq_read(q, c, back + got, MSG - got)) != EVQ_EAGAIN;) {
      CHECK(r > 0);
      got += (size_t)r;
      if (got == MSG) break;
    }
    /* Server: echo. */
    while (s != EVQ_INVALID_FD) {
      if (relay_len == 0) {
        ptrdiff_t r = evq_read(q, s, relay, sizeof relay);
        if (r == EVQ_EAGAIN) break;
        CHECK(r > 0);
        relay_len = (size_t)r;
      }
      ptrdiff_t w = evq_write(q, s, relay, relay_len);
      if (w == EVQ_EAGAIN) break;
      CHECK_OK(w);
      memmove(relay, relay + w, relay_len - (size_t)w);
      relay_len -= (size_t)w;
      echoed += (size_t)w;
    }
  }
  CHECK_EQ(echoed, MSG);
  CHECK(memcmp(out, back, MSG) == 0);
  CHECK_OK(evq_deregister(q, c));
  CHECK_OK(evq_deregister(q, s));
  CHECK_OK(evq_deregister(q, l));
  evq_close(c);
  evq_close(s);
  evq_close(l);
  evq_free(q);
}

TEST(tcp_connect_refused) {
  evq_t *q = tq_queue();
  evq_fd_t l, c;
  CHECK_OK(evq_tcp_listen(&l, NULL, 0, 1));
  int port = evq_socket_port(l);
  CHECK(port > 0);
  evq_close(l); /* nobody listens there now */
  int rc = evq_tcp_connect(&c, NULL, (uint16_t)port);
  if (rc == EVQ_ECONNREFUSED) { /* refused synchronously: also correct */
    evq_free(q);
    return;
  }
  CHECK_OK(rc);
  CHECK_OK(evq_register(q, c, EVQ_WRITABLE, EVQ_ONESHOT, 4));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 10000 * MS), 1);
  CHECK_EQ(ev[0].token, 4);
  CHECK(ev[0].flags & EVQ_WRITABLE);
  /* One call tells the outcome on every backend, libkqueue's included,
   * whose emulation reads the pending error before evq can. */
  CHECK_EQ(evq_connect_result(q, c), EVQ_ECONNREFUSED);
  CHECK_OK(evq_deregister(q, c));
  evq_close(c);
  evq_free(q);
}
