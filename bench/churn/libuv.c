/* churn server, libuv: each connection is a uv_tcp_t, accepted in the
 * connection callback, read with uv_read_start into its own byte, answered
 * with uv_try_write and closed with uv_close (the handle freed in its close
 * callback), as libuv programs do. */
#define LIB "libuv"
#include "../common.h"
#include <uv.h>

typedef struct conn {
  uv_tcp_t h;
  char b;
} conn_t;

static uv_loop_t *loop;

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)sz;
  *b = uv_buf_init(&((conn_t *)h)->b, 1);
}

static void close_cb(uv_handle_t *h) { free(h); }

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n == 0) return; /* nothing yet (EAGAIN) */
  if (n == 1) {
    uv_buf_t out = uv_buf_init(b->base, 1);
    uv_try_write(s, &out, 1);
  }
  uv_close((uv_handle_t *)s, close_cb);
}

static void conn_cb(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn_t *c = malloc(sizeof *c);
  if (!c) bench_die("malloc");
  uv_tcp_init(loop, &c->h);
  if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
    uv_close((uv_handle_t *)&c->h, close_cb);
    return;
  }
  uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb);
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", (int)bench_arg("port", 0), &a);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&a, 0) != 0) bench_die("bind");
  if (uv_listen((uv_stream_t *)&server, 1024, conn_cb) != 0) bench_die("listen");
  int len = sizeof a;
  uv_tcp_getsockname(&server, (struct sockaddr *)&a, &len);
  bench_announce_port(ntohs(a.sin_port));
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
