#include "common/http_server.h"

#include <algorithm>
#include <chrono>

#include "common/address.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using namespace std::chrono_literals;

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  asio::io_context& ctx;
  Handler handler;
  http::Limits limits;
  std::unique_ptr<tcp::acceptor> acceptor;
  bool stopped = false;

  State(asio::io_context& c, Handler h, http::Limits l)
      : ctx(c), handler(std::move(h)), limits(l) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, sock] = co_await acceptor->async_accept(use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) break;
        // Out of descriptors or similar: back off briefly instead of spinning.
        asio::steady_timer t(ctx, 50ms);
        co_await t.async_wait(use_nothrow);
        continue;
      }
      asio::co_spawn(ctx, serve(std::move(sock)), asio::detached);
    }
    asio::error_code ignored;
    acceptor->close(ignored);
  }

  asio::awaitable<void> serve(tcp::socket sock) {
    auto self = shared_from_this();
    std::string peer;
    {
      asio::error_code ec;
      auto ep = sock.remote_endpoint(ec);
      if (!ec) peer = format_sockaddr(ep.data());
    }
    // Idle/read timeout: the watchdog closes the socket when no request completes in time.
    auto deadline = std::make_shared<std::chrono::steady_clock::time_point>(
        std::chrono::steady_clock::now() + 60s);
    auto sock_ptr = std::make_shared<tcp::socket>(std::move(sock));
    auto timer = std::make_shared<asio::steady_timer>(ctx);
    asio::co_spawn(ctx, watchdog(sock_ptr, timer, deadline), asio::detached);

    http::RequestParser parser(limits);
    std::string buffer;
    std::vector<char> chunk(16 * 1024);
    for (;;) {
      // Answer every complete request already buffered (pipelining), in order.
      bool close_after = false;
      for (;;) {
        size_t used = 0;
        http::Request req;
        auto st = parser.feed(buffer, used, req);
        buffer.erase(0, used);
        if (st == http::RequestParser::Status::kNeedMore) break;
        std::string out;
        if (st == http::RequestParser::Status::kError) {
          http::Response r;
          r.status = parser.error_status();
          r.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
          r.body = std::to_string(r.status) + " " + std::string(http::status_text(r.status));
          r.close = true;
          out = http::serialize(r, false, false);
          close_after = true;
        } else {
          http::Response r = handler(req, peer);
          bool keep = req.keep_alive && !r.close;
          out = http::serialize(r, req.method == "HEAD", keep);
          close_after = !keep;
        }
        auto [wec, wn] = co_await asio::async_write(*sock_ptr, asio::buffer(out), use_nothrow);
        (void)wn;
        if (wec) close_after = true;
        *deadline = std::chrono::steady_clock::now() + 60s;
        if (close_after) break;
      }
      if (close_after) break;
      auto [ec, n] = co_await sock_ptr->async_read_some(asio::buffer(chunk), use_nothrow);
      if (ec) break;
      // A request must arrive completely within 15 s of its first byte (Go's ReadTimeout
      // in Toxiproxy), so slow senders cannot hold connections forever.
      if (buffer.empty()) {
        *deadline = std::min(*deadline, std::chrono::steady_clock::now() + 15s);
        timer->cancel();  // the watchdog re-arms for the earlier deadline
      }
      buffer.append(chunk.data(), n);
    }
    asio::error_code ignored;
    sock_ptr->shutdown(tcp::socket::shutdown_both, ignored);
    sock_ptr->close(ignored);
    *deadline = std::chrono::steady_clock::time_point::min();
    timer->cancel();
  }

  static asio::awaitable<void> watchdog(
      std::shared_ptr<tcp::socket> sock, std::shared_ptr<asio::steady_timer> timer,
      std::shared_ptr<std::chrono::steady_clock::time_point> deadline) {
    for (;;) {
      if (*deadline == std::chrono::steady_clock::time_point::min() || !sock->is_open()) break;
      if (std::chrono::steady_clock::now() >= *deadline) {
        abort_io(*sock);  // serve() closes it once its read has returned
        break;
      }
      timer->expires_at(*deadline);
      co_await timer->async_wait(use_nothrow);
    }
  }
};

HttpServer::HttpServer(asio::io_context& ctx, Handler handler, http::Limits limits)
    : state_(std::make_shared<State>(ctx, std::move(handler), limits)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start(int listen_fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len);
  auto proto = ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  state_->acceptor = std::make_unique<tcp::acceptor>(state_->ctx);
  state_->acceptor->assign(proto, listen_fd);
  asio::co_spawn(state_->ctx, state_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  if (state_->acceptor) {
    asio::error_code ignored;
    state_->acceptor->cancel(ignored);  // accept_loop closes it when the accept returns
  }
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
