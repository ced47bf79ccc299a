/* http "hello" server, raw io_uring: the completion floor of issue 21
 * (docs/completion.md, section 6). One ring and one io_uring_submit_and_wait
 * per loop. A multishot accept; per connection a multishot receive into a
 * provided buffer ring, each buffer given back as soon as its requests are
 * counted; one SEND per connection per loop holding that loop's responses
 * (a second buffer collects what comes while it is in flight); whatever
 * ends without IORING_CQE_F_MORE is armed again; IORING_OP_CLOSE at the end
 * of the stream. Requests are counted and answered as by the other http
 * servers (common.h), so the bytes on the wire are the same.
 *
 * liburing 2.3 (Debian 12) has io_uring_register_buf_ring but not
 * io_uring_setup_buf_ring: the buffer ring is allocated page-aligned here,
 * registered by hand and filled with io_uring_buf_ring_add/_advance. */
#define LIB "uring"
#include "../common.h"
#include "../uring_common.h"

/* user_data: the descriptor and what the request was. */
enum { UD_ACCEPT = 0, UD_RECV = 1, UD_SEND = 2, UD_CLOSE = 3 };

#define NBUFS 256      /* the buffer ring: a power of two */
#define BUF_SIZE 16384 /* as the epoll server's read buffer */
#define BGID 1
#define OUT_CAP BENCH_HTTP_OUT_MAX

typedef struct conn {
  unsigned char st;     /* the request matcher's state */
  unsigned char busy;   /* a SEND is in flight, from out[fill ^ 1] */
  unsigned char queued; /* on the list of connections to send for */
  unsigned char ended;  /* the receive ended: close once no SEND flies */
  unsigned char broken; /* a SEND failed: answer no more */
  unsigned char fill;   /* out[fill] collects this loop's responses */
  uint32_t len[2];      /* bytes in out[i] */
  uint32_t sent;        /* bytes of the SEND in flight already sent */
  char out[2][OUT_CAP];
} conn_t;

static struct io_uring_buf_ring *br;
static char *bufs;
static int lfd;
static conn_t **conns; /* by descriptor, made on first use, kept */
static int *todo, ntodo;

static void arm_accept(void) { uring_accept(lfd, UD(lfd, UD_ACCEPT)); }

static void arm_recv(int fd) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BGID;
  io_uring_sqe_set_data64(sqe, UD(fd, UD_RECV));
}

static void send_rest(int fd, conn_t *c) {
  int s = c->fill ^ 1;
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_send(sqe, fd, c->out[s] + c->sent, c->len[s] - c->sent,
                     MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UD(fd, UD_SEND));
}

static void close_conn(int fd) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_close(sqe, fd);
  io_uring_sqe_set_data64(sqe, UD(fd, UD_CLOSE));
}

static void give_back(unsigned bid) {
  io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE,
                        (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
  io_uring_buf_ring_advance(br, 1);
}

static void want_send(int fd, conn_t *c) {
  if (!c->queued && !c->busy) {
    c->queued = 1;
    todo[ntodo++] = fd;
  }
}

/* Responses for reqs requests join out[fill]; what would not fit is not
 * answered, as the epoll server answers at most 64 per read. */
static void respond(int fd, conn_t *c, int reqs) {
  if (reqs <= 0 || c->broken) return;
  uint32_t *len = &c->len[c->fill];
  int room = (int)((OUT_CAP - *len) / BENCH_HTTP_RESPONSE_LEN);
  if (reqs > room) reqs = room;
  if (reqs <= 0) return;
  *len += (uint32_t)bench_http_fill(c->out[c->fill] + *len, reqs);
  want_send(fd, c);
}

static void on_accept(const struct io_uring_cqe *cqe) {
  bench_let_signals_in();
  if (cqe->res >= 0) {
    int fd = cqe->res;
    conn_t *c = conns[fd];
    if (!c && !(c = conns[fd] = malloc(sizeof *c))) bench_die("malloc");
    c->st = c->busy = c->queued = c->ended = c->broken = c->fill = 0;
    c->len[0] = c->len[1] = c->sent = 0;
    arm_recv(fd);
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
}

static void on_recv(int fd, const struct io_uring_cqe *cqe) {
  conn_t *c = conns[fd];
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    int reqs = cqe->res > 0 ? bench_http_requests(
                                  &c->st, bufs + (size_t)bid * BUF_SIZE,
                                  (size_t)cqe->res)
                            : 0;
    give_back(bid);
    respond(fd, c, reqs);
  }
  if (cqe->flags & IORING_CQE_F_MORE) return;
  if (cqe->res > 0 || cqe->res == -ENOBUFS) {
    arm_recv(fd); /* the ring has buffers again: each went back at once */
    return;
  }
  c->ended = 1; /* end of stream or an error */
  if (!c->busy) close_conn(fd);
}

static void on_send(int fd, const struct io_uring_cqe *cqe) {
  conn_t *c = conns[fd];
  int s = c->fill ^ 1;
  if (cqe->res > 0 && c->sent + (uint32_t)cqe->res < c->len[s]) {
    c->sent += (uint32_t)cqe->res; /* short: the rest, in order */
    send_rest(fd, c);
    return;
  }
  if (cqe->res < 0) c->broken = 1; /* the receive will see the end */
  c->busy = 0;
  c->len[s] = c->sent = 0;
  if (c->ended)
    close_conn(fd);
  else if (c->len[c->fill] && !c->broken)
    want_send(fd, c);
}

/* One SEND per connection that has responses and none in flight. */
static void flush(void) {
  for (int i = 0; i < ntodo; i++) {
    int fd = todo[i];
    conn_t *c = conns[fd];
    c->queued = 0;
    if (c->busy || c->ended || c->broken || !c->len[c->fill]) continue;
    c->busy = 1;
    c->fill ^= 1;
    c->sent = 0;
    send_rest(fd, c);
  }
  ntodo = 0;
}

static void setup_ring(void) {
  uring_setup();
  bufs = uring_buffers(&br, NBUFS, BUF_SIZE, BGID);
}

int main(int argc, char **argv) {
  bench_args(argc, argv);
  long maxfd = bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  conns = calloc((size_t)maxfd, sizeof *conns);
  todo = malloc(sizeof *todo * (size_t)maxfd);
  if (!conns || !todo) bench_die("malloc");
  lfd = bench_listen((int)bench_arg("port", 0));
  /* The connections inherit TCP_NODELAY from the listener (Linux), as
   * the epoll server sets it on each; a blocking listener, as io_uring
   * polls for it itself. */
  bench_nodelay(lfd);
  fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK);
  setup_ring();
  arm_accept();
  bench_announce_port(bench_local_port(lfd));
  for (;;) {
    int rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      errno = -rc;
      bench_die("io_uring_submit_and_wait");
    }
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      int fd = (int)(cqe->user_data >> 2);
      switch (cqe->user_data & 3) {
      case UD_ACCEPT: on_accept(cqe); break;
      case UD_RECV: on_recv(fd, cqe); break;
      case UD_SEND: on_send(fd, cqe); break;
      default: break; /* a close: nothing is left of the connection */
      }
    }
    io_uring_cq_advance(&ring, seen);
    flush();
  }
}
