#include "loadgen/run/http_client.h"

#include <cstring>

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

bool HttpClient::same_target(const loadgen::HttpTarget& t) const {
  return target_.length == t.length && std::memcmp(&target_.address, &t.address, t.length) == 0;
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
  } else {
    t_send = t_get;  // a reused connection: nothing happened in between
  }
  {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(spec.bytes), use_nothrow);
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
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), use_nothrow);
    if (t_first == Clock::time_point{}) t_first = Clock::now();
    if (ec) {
      // A close before the end: a body delimited by the close ends here.
      if (ec == asio::error::eof && reader_.finish()) {
        needs_close_ = true;
        break;
      }
      out.failure = classify(ec, false, timed_out_);
      needs_close_ = true;
      break;
    }
    out.received += n;
    auto step = reader_.feed(buffer_.data(), n);
    if (step == loadgen::ResponseReader::Step::kComplete) break;
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
  out.interrupted = interrupted_;
  if (!ok) {
    out.status = 0;
    out.headers.clear();
    out.body.clear();
  }
  if (t_first == Clock::time_point{}) t_first = t_done;
  out.blocked = out.connecting;
  out.sending = ms_between(t_send, t_sent);
  out.waiting = ms_between(t_sent, t_first);
  out.receiving = ms_between(t_first, t_done);
  out.duration = out.sending + out.waiting + out.receiving;
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
