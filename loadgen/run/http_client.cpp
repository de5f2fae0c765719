#include "loadgen/run/http_client.h"

#include <cstring>

#include "loadgen/run/tls_config.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Transport failures, with k6's error codes (§3.5).
loadgen::HttpFailure classify(const asio::error_code& ec, bool connecting, bool timed_out) {
  if (timed_out) return {1050, "request timeout"};
  if (connecting) {
    if (ec == asio::error::connection_refused) return {1212, "dial: connection refused"};
    return {1210, "dial: " + ec.message()};
  }
  if (ec == asio::error::connection_reset) return {1220, "read: connection reset by peer"};
  if (ec == asio::error::broken_pipe) return {1201, "write: broken pipe"};
  if (ec == asio::error::eof) return {1000, "EOF"};
  return {1000, ec.message()};
}

}  // namespace

HttpClient::HttpClient(asio::io_context& ctx) : socket_(ctx) {}

HttpClient::~HttpClient() {
  tls_.reset();
  if (session_) SSL_SESSION_free(session_);
}

namespace {

bool same_server(const loadgen::HttpTarget& a, const loadgen::HttpTarget& b) {
  return a.length == b.length && std::memcmp(&a.address, &b.address, b.length) == 0 &&
         a.tls == b.tls && (!b.tls || a.server_name == b.server_name);
}

}  // namespace

bool HttpClient::same_target(const loadgen::HttpTarget& t) const {
  return same_server(target_, t);
}

bool HttpClient::same_session_target(const loadgen::HttpTarget& t) const {
  return same_server(session_target_, t);
}

void HttpClient::keep_session() {
  if (session_kept_ || !tls_) return;
  SSL_SESSION* s = SSL_get1_session(tls_->native_handle());
  if (s == nullptr) return;
  if (!SSL_SESSION_is_resumable(s)) {
    SSL_SESSION_free(s);
    return;
  }
  if (session_) SSL_SESSION_free(session_);
  session_ = s;
  session_target_ = target_;
  session_kept_ = true;
}

asio::awaitable<bool> HttpClient::handshake(const loadgen::HttpTarget& t,
                                            loadgen::HttpExchange& out) {
  SSL* ssl = loadgen::tls_new_connection(t.server_name);
  if (ssl == nullptr) {
    out.failure = loadgen::tls_failure(nullptr, ERR_get_error(), "tls: cannot create a session");
    co_return false;
  }
  if (session_ && same_session_target(t)) SSL_set_session(ssl, session_);
  session_kept_ = false;
  tls_ = make_tls_stream(socket_, ssl, wire_sent_, wire_received_);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (ec) {
    if (!timed_out_ && !interrupted_) out.failure = handshake_failure(ssl, ec);
    if (out.failure.code == 0) out.failure = classify(ec, false, timed_out_);
    co_return false;
  }
  loadgen::note_tls(ssl, out);
  co_return true;
}

void HttpClient::check_timeout(Clock::time_point now) {
  if (now >= deadline_ && !timed_out_) {
    timed_out_ = true;
    asio::error_code ignored;
    socket_.cancel(ignored);
    needs_close_ = true;
  }
}

void HttpClient::interrupt() {
  interrupted_ = true;
  if (socket_.is_open()) {
    abort_io(socket_);
    needs_close_ = true;
  }
}

void HttpClient::close() {
  asio::error_code ignored;
  if (tls_) {
    // Closed without a close_notify of our own: OpenSSL would take that for a broken
    // connection and spoil the session kept for the next handshake.
    SSL_set_shutdown(tls_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    tls_.reset();
  }
  if (socket_.is_open()) socket_.close(ignored);
  needs_close_ = false;
}

asio::awaitable<void> HttpClient::request(const loadgen::HttpRequestSpec& spec,
                                          loadgen::HttpExchange& out) {
  interrupted_ = false;
  auto t_get = Clock::now();
  if (needs_close_ || (socket_.is_open() && !same_target(spec.target))) close();
  timed_out_ = false;
  deadline_ = t_get + spec.timeout;
  // With TLS, data sent and received are the bytes on the wire (records and handshake).
  const uint64_t wire_sent = wire_sent_.load(std::memory_order_relaxed);
  const uint64_t wire_received = wire_received_.load(std::memory_order_relaxed);
  // The connection's part of the outcome (callers may reuse `out`).
  out.connecting = out.tls_handshaking = 0;
  out.tls_version = out.tls_cipher = "";
  Clock::time_point t_send{}, t_sent{}, t_first{}, t_done{};
  bool ok = false;
  if (!socket_.is_open()) {
    tcp::endpoint ep;
    std::memcpy(ep.data(), &spec.target.address, spec.target.length);
    ep.resize(spec.target.length);
    auto [ec] = co_await socket_.async_connect(ep, use_nothrow);
    if (ec) {
      out.failure = classify(ec, true, timed_out_);
      needs_close_ = true;
      t_send = t_sent = t_done = Clock::now();
      goto done;
    }
    asio::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    target_ = spec.target;
    t_send = Clock::now();
    out.connecting = ms_between(t_get, t_send);
    if (spec.target.tls) {
      Clock::time_point t_tls = t_send;
      bool ok_tls = co_await handshake(spec.target, out);
      t_send = Clock::now();
      out.tls_handshaking = ms_between(t_tls, t_send);
      if (!ok_tls) {
        needs_close_ = true;
        t_sent = t_done = t_send;
        goto done;
      }
    }
  } else {
    t_send = t_get;  // a reused connection: nothing happened in between
    if (tls_) loadgen::note_tls(tls_->native_handle(), out);
  }
  {
    auto [ec, n] = tls_
                       ? co_await asio::async_write(*tls_, asio::buffer(spec.bytes), use_nothrow)
                       : co_await asio::async_write(socket_, asio::buffer(spec.bytes), use_nothrow);
    out.sent = n;
    t_sent = Clock::now();
    if (ec) {
      out.failure = classify(ec, false, timed_out_);
      needs_close_ = true;
      t_done = t_sent;
      goto done;
    }
  }
  reader_.begin(out, spec.head, spec.want_headers, spec.want_body, spec.body_limit);
  for (;;) {
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(asio::buffer(buffer_), use_nothrow)
                        : co_await socket_.async_read_some(asio::buffer(buffer_), use_nothrow);
    if (t_first == Clock::time_point{}) t_first = Clock::now();
    // A TLS peer that closes without close_notify (common) ends the stream as a plain EOF.
    if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
    if (ec) {
      // A close before the end: a body delimited by the close ends here.
      if (ec == asio::error::eof && reader_.finish()) {
        needs_close_ = true;
        break;
      }
      out.failure = tls_ && ec.category() == asio::error::get_ssl_category() && !timed_out_
                        ? loadgen::tls_failure(tls_->native_handle(),
                                               static_cast<unsigned long>(ec.value()), ec.message())
                        : classify(ec, false, timed_out_);
      needs_close_ = true;
      break;
    }
    out.received += n;
    auto step = reader_.feed(buffer_.data(), n);
    if (step == loadgen::ResponseReader::Step::kComplete) {
      keep_session();
      break;
    }
    if (step == loadgen::ResponseReader::Step::kMalformed) {
      out.failure = {1000, "malformed HTTP response"};
      needs_close_ = true;
      break;
    }
  }
  t_done = Clock::now();
  if (out.failure.code == 0) {
    ok = true;
    out.status = reader_.status();
    out.http_minor = reader_.http_minor();
    if (out.status >= 400) out.failure.code = 1000 + out.status;
    if (!reader_.keep_alive()) needs_close_ = true;
  }
done:
  deadline_ = Clock::time_point::max();
  if (spec.target.tls) {
    out.sent = wire_sent_.load(std::memory_order_relaxed) - wire_sent;
    out.received = wire_received_.load(std::memory_order_relaxed) - wire_received;
  }
  out.interrupted = interrupted_;
  if (!ok) {
    out.status = 0;
    out.headers.clear();
    out.body.clear();
  }
  if (t_first == Clock::time_point{}) t_first = t_done;
  out.blocked = out.connecting + out.tls_handshaking;
  out.sending = ms_between(t_send, t_sent);
  out.waiting = ms_between(t_sent, t_first);
  out.receiving = ms_between(t_first, t_done);
  out.duration = out.sending + out.waiting + out.receiving;
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
