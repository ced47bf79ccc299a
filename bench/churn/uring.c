/* churn server, raw io_uring: the completion floor of the churn case
 * (issue 21, item 6), written as bench/http/uring.c is. One ring and one
 * io_uring_submit_and_wait per loop. A multishot accept; per connection a
 * RECV of one byte into the connection's slot, a SEND of it once it came,
 * and IORING_OP_CLOSE once the SEND completed: the request/answer/close of
 * the other churn servers, each step on the previous one's completion as
 * evq's completion server (bench/churn/evq_io.c) takes them. Linking the
 * three (IOSQE_IO_LINK) would save loop passes, but no portable completion
 * API can; the floor stays comparable. */
#define LIB "uring"
#include "../common.h"
#include "../uring_common.h"

/* user_data: the descriptor and what the request was. */
enum { UD_ACCEPT = 0, UD_RECV = 1, UD_SEND = 2, UD_CLOSE = 3 };

static int lfd;
static char *bytes; /* by descriptor: the byte received, then sent back */

static void arm_accept(void) { uring_accept(lfd, UD(lfd, UD_ACCEPT)); }

static void close_conn(int fd) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_close(sqe, fd);
  io_uring_sqe_set_data64(sqe, UD(fd, UD_CLOSE));
}

static void on_accept(const struct io_uring_cqe *cqe) {
  bench_let_signals_in();
  if (cqe->res >= 0) {
    int fd = cqe->res;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv(sqe, fd, &bytes[fd], 1, 0);
    io_uring_sqe_set_data64(sqe, UD(fd, UD_RECV));
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
}

static void on_recv(int fd, const struct io_uring_cqe *cqe) {
  if (cqe->res != 1) { /* end of stream or an error */
    close_conn(fd);
    return;
  }
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_send(sqe, fd, &bytes[fd], 1, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UD(fd, UD_SEND));
}

static void setup_ring(void) { uring_setup(); }

int main(int argc, char **argv) {
  bench_args(argc, argv);
  long maxfd = bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  if (!(bytes = calloc((size_t)maxfd, 1))) bench_die("calloc");
  lfd = bench_listen((int)bench_arg("port", 0));
  /* A blocking listener, as io_uring polls for it itself. */
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
      case UD_SEND: close_conn(fd); break;
      default: break; /* a close: nothing is left of the connection */
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
