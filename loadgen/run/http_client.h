// The HTTP/1.1 client of one virtual user: one keep-alive connection (plain, or TLS through
// Asio's OpenSSL stream for https://), a reused response reader (llhttp) and read buffer.
// The TLS session of the last connection is kept, so the VU's reconnects to the same host
// resume it (a short handshake). Compiled once per I/O backend (FAULTLINE_BACKEND_NS). Everything
// runs on the worker thread that owns the client, except the sweep's calls, which also run
// there.
#pragma once

#include <array>
#include <chrono>
#include <memory>

#include "common/event_loop.h"
#include "loadgen/run/http_exchange.h"
#include "loadgen/run/http_response.h"
#include "loadgen/run/tls_stream.h"

namespace faultline::FAULTLINE_BACKEND_NS {

class HttpClient {
 public:
  explicit HttpClient(asio::io_context& ctx);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its response into `out` (timings, status, failure and,
  // when asked, headers and body). Never throws.
  asio::awaitable<void> request(const loadgen::HttpRequestSpec& spec, loadgen::HttpExchange& out);

  // The worker's sweep: fails the request in flight once its timeout passed.
  void check_timeout(std::chrono::steady_clock::time_point now);
  // Abandons the request in flight (the VU is being interrupted); its coroutine ends soon
  // after with out.interrupted set.
  void interrupt();
  // Closes the connection; only when no operation is pending on it.
  void close();
  // When the request in flight times out (time_point::max() when none is).
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

 private:
  bool same_target(const loadgen::HttpTarget& t) const;
  bool same_session_target(const loadgen::HttpTarget& t) const;
  // Runs the TLS handshake on the connected socket; false with out.failure set.
  asio::awaitable<bool> handshake(const loadgen::HttpTarget& t, loadgen::HttpExchange& out);
  // Keeps the connection's session for the next handshake with the same server.
  void keep_session();

  asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;                         // on https connections
  std::atomic<uint64_t> wire_sent_{0}, wire_received_{0};  // what tls_ moved, handshakes too
  SSL_SESSION* session_ = nullptr;  // the last TLS session, with session_target_
  loadgen::HttpTarget session_target_;
  bool session_kept_ = false;  // this connection's session is the one in session_
  loadgen::HttpTarget target_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  loadgen::ResponseReader reader_;
  bool timed_out_ = false;
  bool interrupted_ = false;
  bool needs_close_ = false;
  std::array<char, 4096> buffer_{};
};

}  // namespace faultline::FAULTLINE_BACKEND_NS
