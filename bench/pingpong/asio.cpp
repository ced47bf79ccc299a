/* ping-pong echo server, Asio (standalone, header-only; Debian libasio-dev):
 * an acceptor that keeps one async_accept pending, and per connection one
 * async_read_some and one async_write of the bytes read before the next
 * read, Asio's proactor style. One io_context, run by one thread
 * (concurrency hint 1). Built twice, as bench/http/asio.cpp is: pingpong_asio
 * (epoll reactor) and pingpong_asio_uring (io_uring). */
#define LIB "asio"
#include "../common.h"
#include <asio.hpp>

using asio::ip::tcp;

namespace {

struct conn {
  tcp::socket s;
  char buf[65536];

  explicit conn(tcp::socket &&sock) : s(std::move(sock)) {}

  void read() {
    s.async_read_some(asio::buffer(buf), [this](const asio::error_code &ec, size_t n) {
      if (ec) {
        delete this; /* the socket's destructor closes it */
        return;
      }
      asio::async_write(s, asio::buffer(buf, n), [this](const asio::error_code &ec, size_t) {
        if (ec)
          delete this;
        else
          read();
      });
    });
  }
};

void accept(tcp::acceptor &a) {
  a.async_accept([&a](const asio::error_code &ec, tcp::socket s) {
    bench_let_signals_in(); /* on io_uring: no other system call */
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      (new conn(std::move(s)))->read();
    }
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
