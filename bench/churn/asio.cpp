/* churn server, Asio (standalone, header-only; Debian libasio-dev): an
 * acceptor that keeps one async_accept pending; per connection one
 * async_read_some of its byte, one async_write of it, and the socket
 * closed (destroyed) when the write completed. One io_context, run by one
 * thread (concurrency hint 1). Built twice, as bench/http/asio.cpp is:
 * churn_asio (epoll reactor) and churn_asio_uring (io_uring). */
#define LIB "asio"
#include "../common.h"
#include <asio.hpp>

using asio::ip::tcp;

namespace {

struct conn {
  tcp::socket s;
  char b;

  explicit conn(tcp::socket &&sock) : s(std::move(sock)) {}

  void serve() {
    s.async_read_some(asio::buffer(&b, 1), [this](const asio::error_code &ec, size_t n) {
      if (ec || n != 1) {
        delete this; /* the socket's destructor closes it */
        return;
      }
      asio::async_write(s, asio::buffer(&b, 1),
                        [this](const asio::error_code &, size_t) { delete this; });
    });
  }
};

void accept(tcp::acceptor &a) {
  a.async_accept([&a](const asio::error_code &ec, tcp::socket s) {
    bench_let_signals_in(); /* on io_uring: no other system call */
    if (!ec) (new conn(std::move(s)))->serve();
    accept(a);
  });
}

} // namespace

int main(int argc, char **argv) {
  bench_args(argc, argv);
  bench_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  try {
    asio::io_context io(1);
    tcp::acceptor a(io);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"),
                     (unsigned short)bench_arg("port", 0));
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    a.bind(ep);
    a.listen(1024);
    accept(a);
    bench_announce_port(a.local_endpoint().port());
    io.run();
  } catch (const std::exception &e) { /* io_uring refused, a bad port */
    fprintf(stderr, "%s: %s\n", LIB, e.what());
    return 1;
  }
  return 0;
}
