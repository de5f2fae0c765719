// Asio's OpenSSL stream as loadgen's clients use it (https:// and wss://), compiled once per
// I/O backend like the clients. The stream sits on a thin layer over the client's socket
// that counts the bytes crossing the wire, because k6's data_sent and data_received count
// what the connection carries: TLS records and handshakes included.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include <asio/ssl.hpp>

#include "common/event_loop.h"
#include "loadgen/run/tls_config.h"

namespace faultline::FAULTLINE_BACKEND_NS {

// The next layer of the TLS stream: the client's socket, counting.
class CountingSocket {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  using lowest_layer_type = asio::ip::tcp::socket::lowest_layer_type;

  CountingSocket(asio::ip::tcp::socket& socket, std::atomic<uint64_t>& sent,
                 std::atomic<uint64_t>& received)
      : socket_(socket), sent_(sent), received_(received) {}

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    socket_.async_read_some(
        buffers, Counted<std::decay_t<Handler>>{std::forward<Handler>(handler), &received_});
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    socket_.async_write_some(
        buffers, Counted<std::decay_t<Handler>>{std::forward<Handler>(handler), &sent_});
  }

 private:
  // Adds the transferred bytes, then hands the result on. (The operation's memory comes
  // from Asio's per-thread recycling allocator either way; the executor is the socket's,
  // the same context the TLS operation runs on.)
  template <class Handler>
  struct Counted {
    Handler handler;
    std::atomic<uint64_t>* counter;
    void operator()(const asio::error_code& ec, size_t n) {
      counter->fetch_add(n, std::memory_order_relaxed);
      std::move(handler)(ec, n);
    }
  };

  asio::ip::tcp::socket& socket_;
  std::atomic<uint64_t>& sent_;
  std::atomic<uint64_t>& received_;
};

using TlsStream = asio::ssl::stream<CountingSocket>;

// Why a handshake on `ssl` failed with `ec`, in k6's terms; code 0 when the failure is the
// socket's, not TLS's (the caller classifies it as for plain connections).
inline loadgen::HttpFailure handshake_failure(SSL* ssl, const asio::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    return loadgen::tls_failure(ssl, static_cast<unsigned long>(ec.value()), ec.message());
  }
  if (ec == asio::ssl::error::stream_truncated) return {1000, "EOF"};  // Go's text
  return {};
}

// A TLS stream over `socket` for the prepared `ssl` (it takes ownership), adding the bytes
// on the wire to `sent` and `received`.
inline std::unique_ptr<TlsStream> make_tls_stream(asio::ip::tcp::socket& socket, SSL* ssl,
                                                  std::atomic<uint64_t>& sent,
                                                  std::atomic<uint64_t>& received) {
  return std::make_unique<TlsStream>(CountingSocket(socket, sent, received), ssl);
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
