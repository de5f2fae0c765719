#include "loadgen/run/ws_client.h"

#include <llhttp.h>
#include <strings.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>

#include "loadgen/run/tls_config.h"
#include "loadgen/run/tls_stream.h"
#include "loadgen/run/ws_frame.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using loadgen::WsEvent;
using loadgen::WsOpcode;

namespace {

// The upgrade response: headers as sent, a refused upgrade's body (bounded).
struct Handshake {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool in_value = false;
  bool headers_done = false;
  bool complete = false;

  static constexpr size_t kMaxBody = 1 << 20;

  static Handshake& of(llhttp_t* p) { return *static_cast<Handshake*>(p->data); }
  static int on_field(llhttp_t* p, const char* at, size_t n) {
    auto& h = of(p);
    if (h.headers.empty() || h.in_value) h.headers.emplace_back();
    h.in_value = false;
    h.headers.back().first.append(at, n);
    return 0;
  }
  static int on_value(llhttp_t* p, const char* at, size_t n) {
    auto& h = of(p);
    if (h.headers.empty()) return 0;
    h.in_value = true;
    h.headers.back().second.append(at, n);
    return 0;
  }
  // 101: the bytes after the headers are frames (2 = treat as an upgrade, no body).
  static int on_headers_complete(llhttp_t* p) {
    of(p).headers_done = true;
    return p->status_code == 101 ? 2 : 0;
  }
  static int on_body(llhttp_t* p, const char* at, size_t n) {
    auto& h = of(p);
    if (h.body.size() < kMaxBody) h.body.append(at, std::min(n, kMaxBody - h.body.size()));
    return 0;
  }
  static int on_complete(llhttp_t* p) {
    of(p).complete = true;
    return 0;
  }

  const std::string* find(const char* name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name) == 0) return &v;
    }
    return nullptr;
  }
  // Whether a comma-separated header lists `token` (case-insensitive).
  bool lists(const char* name, const char* token) const {
    const std::string* v = find(name);
    if (v == nullptr) return false;
    size_t start = 0;
    while (start <= v->size()) {
      size_t end = v->find(',', start);
      if (end == std::string::npos) end = v->size();
      std::string item = v->substr(start, end - start);
      size_t a = item.find_first_not_of(" \t");
      size_t b = item.find_last_not_of(" \t");
      if (a != std::string::npos && strcasecmp(item.substr(a, b - a + 1).c_str(), token) == 0) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }
};

// A deadline that never comes in practice (time_point::max() overflows some waits).
Clock::time_point far_future() {
  return Clock::now() + std::chrono::hours(24 * 365);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

// The state a session's two sides share. The socket, the write queue and the pings belong
// to the context's thread; the event queue and the flags are guarded by the mutex.
class WsCore : public std::enable_shared_from_this<WsCore> {
 public:
  WsCore(asio::io_context& worker, bool own, size_t max_message)
      : own_ctx_(own ? std::make_unique<asio::io_context>(1) : nullptr),
        ctx_(own ? *own_ctx_ : worker),
        socket_(ctx_),
        timer_(ctx_),
        reader_(max_message),
        masks_(std::random_device{}()) {}

  // --- the context's thread ---

  // Starts the session (on the context's thread); the opening's outcome goes to opening_.
  void start(loadgen::WsOpenSpec spec) {
    asio::co_spawn(ctx_, run(std::move(spec)), asio::detached);
  }

  asio::awaitable<void> run(loadgen::WsOpenSpec spec) {
    auto self = shared_from_this();
    loadgen::WsOpenResult* result = &opening_;
    auto t0 = Clock::now();
    timer_.expires_after(spec.timeout);
    timer_.async_wait([self](const asio::error_code& ec) {
      if (ec) return;
      self->timed_out_ = true;
      abort_io(self->socket_);
    });
    std::string leftover;
    bool opened = co_await handshake(spec, *result, leftover);
    timer_.cancel();
    result->connecting_ms = ms_since(t0);
    if (!opened) {
      abort_io(socket_);
      finish(true);
      co_return;
    }
    {
      std::lock_guard lock(mutex_);
      open_done_ = true;
    }
    cv_.notify_all();
    if (waiter_ != nullptr) waiter_->cancel();
    co_await read_loop(leftover);
    finish(false);
  }

  void enqueue(std::string frame, bool close_after) {
    if (dropped_) return;
    if (own_ctx_ && !writing_ && out_.empty() && !tls_) {
      // The VU's thread owns the socket: write at once (blocking only while the peer's
      // window is full, as k6's writes do), without a round through the context.
      asio::error_code ec;
      sent += asio::write(socket_, asio::buffer(frame), ec);
      if (ec) push({WsEvent::kError, "write: " + ec.message()});
      if (close_after || ec) drop();
      return;
    }
    out_ += frame;
    close_after_ = close_after_ || close_after;
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ctx_, write_loop(), asio::detached);
    }
  }

  // Ends the connection now (FIN both ways); the pending reads and writes end quietly. The
  // socket itself closes with the core, once no operation is pending on it (abort_io).
  void drop() {
    if (dropped_) return;
    dropped_ = true;
    abort_io(socket_);
    timer_.cancel();
  }

  // The VU is done: frames still being written (a close frame, the last messages) get a
  // moment to leave, then the connection goes.
  void linger() {
    if (!writing_) {
      drop();
      return;
    }
    close_after_ = true;
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->drop();
    });
  }

  void note_ping(const std::string& payload) { pings_[payload] = Clock::now(); }

  std::string frame(WsOpcode op, std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 14);
    loadgen::ws_append_frame(out, op, payload, static_cast<uint32_t>(masks_()));
    return out;
  }

  // --- the VU's thread ---

  enum class Wait { kReady, kTimeout, kEnded, kInterrupted };

  // Waits until `ready()` (checked under the lock), the deadline, the end of the session's
  // I/O, or an interruption.
  template <class Ready>
  Wait wait(Ready ready, Clock::time_point deadline) {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (ready()) return Wait::kReady;
        if (interrupted_) return Wait::kInterrupted;
        if (io_ended_) return Wait::kEnded;
        if (!own_ctx_) {
          if (!cv_.wait_until(lock, deadline,
                              [&] { return ready() || interrupted_ || io_ended_; })) {
            return Wait::kTimeout;
          }
          continue;
        }
      }
      if (Clock::now() >= deadline) return Wait::kTimeout;
      if (ctx_.stopped()) ctx_.restart();
      ctx_.run_one_until(deadline);
    }
  }

  bool next(WsEvent& out, Clock::time_point deadline, Wait& why) {
    why = wait([this] { return !events_.empty(); }, deadline);
    if (why != Wait::kReady) return false;
    std::lock_guard lock(mutex_);
    out = std::move(events_.front());
    events_.pop_front();
    return true;
  }

  // Runs `fn` on the context's thread: with a context of its own that is the VU's thread,
  // which calls this between runs of the context, so at once.
  template <class Fn>
  void on_io(Fn fn) {
    if (own_ctx_) {
      fn(*this);
      return;
    }
    asio::post(ctx_, [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(*self); });
  }

  // The VU is done with the session: the connection goes, and with a context of its own
  // its last handlers run here, so nothing is left pending when it is destroyed.
  void release() {
    asio::post(ctx_, [self = shared_from_this()] { self->linger(); });
    if (own_ctx_) {
      if (ctx_.stopped()) ctx_.restart();
      ctx_.run_for(std::chrono::seconds(5));
    }
  }

  // From any thread. The posted drop holds the core weakly: a context of its own that
  // nobody runs any more must not keep the core alive.
  void interrupt() {
    {
      std::lock_guard lock(mutex_);
      interrupted_ = true;
    }
    cv_.notify_all();
    if (waiter_ != nullptr) waiter_->cancel();  // flows: called on the context's thread
    asio::post(ctx_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->drop();
    });
  }

  // --- a coroutine on the context's thread (scenario flows) ---

  // The timer a waiting coroutine sleeps on; new events and the end of the I/O cancel it.
  void set_waiter(asio::steady_timer* waiter) { waiter_ = waiter; }

  template <class Ready>
  asio::awaitable<Wait> wait_async(Ready ready, Clock::time_point deadline) {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (ready()) co_return Wait::kReady;
        if (interrupted_) co_return Wait::kInterrupted;
        if (io_ended_) co_return Wait::kEnded;
      }
      if (Clock::now() >= deadline) co_return Wait::kTimeout;
      waiter_->expires_at(deadline);
      co_await waiter_->async_wait(use_nothrow);
    }
  }

  bool pop(WsEvent& out, loadgen::WsOpenResult* opening) {
    std::lock_guard lock(mutex_);
    if (opening != nullptr) *opening = opening_;
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
  }
  bool is_open_done() const { return open_done_; }      // under the lock (wait predicates)
  bool has_events() const { return !events_.empty(); }  // likewise

  // Waits for the end of the opening; false when interrupted first.
  bool opened(loadgen::WsOpenResult& out) {
    if (wait([this] { return open_done_; }, far_future()) != Wait::kReady) return false;
    std::lock_guard lock(mutex_);
    out = opening_;
    return true;
  }

  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0};

 private:
  void push(WsEvent ev) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(ev));
    }
    cv_.notify_all();
    if (waiter_ != nullptr) waiter_->cancel();
  }

  void finish(bool failed_open) {
    {
      std::lock_guard lock(mutex_);
      if (failed_open) open_done_ = true;
      io_ended_ = true;
    }
    cv_.notify_all();
    if (waiter_ != nullptr) waiter_->cancel();
  }

  asio::awaitable<bool> handshake(const loadgen::WsOpenSpec& spec, loadgen::WsOpenResult& result,
                                  std::string& leftover) {
    tcp::endpoint ep;
    std::memcpy(ep.data(), &spec.target.address, spec.target.length);
    ep.resize(spec.target.length);
    auto [cec] = co_await socket_.async_connect(ep, use_nothrow);
    if (cec) {
      std::string why = timed_out_                               ? "i/o timeout"
                        : cec == asio::error::connection_refused ? "connection refused"
                                                                 : cec.message();
      result.error = "dial tcp " + spec.dial_text + ": connect: " + why;
      co_return false;
    }
    asio::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (spec.target.tls) {
      // wss://: the TLS handshake, with the same settings as https:// (HTTP/1.1 by ALPN).
      // The counts become the bytes on the wire (records and handshake), as k6 counts them.
      SSL* ssl = loadgen::tls_new_connection(spec.target.server_name);
      if (ssl == nullptr) {
        result.error = "tls: cannot create a session";
        co_return false;
      }
      tls_ = make_tls_stream(socket_, ssl, sent, received);
      auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
      if (hec) {
        auto failure = handshake_failure(ssl, hec);
        result.error = timed_out_          ? "i/o timeout"
                       : failure.code != 0 ? failure.text
                                           : "read: " + hec.message();
        co_return false;
      }
    }
    std::string key = loadgen::ws_new_key();
    std::string request =
        "GET " + spec.target_path + " HTTP/1.1\r\nHost: " + spec.host +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
        "\r\nSec-WebSocket-Version: 13\r\n";
    for (const auto& [k, v] : spec.headers) request += k + ": " + v + "\r\n";
    request += "\r\n";
    auto [wec, wn] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(request), use_nothrow)
                          : co_await asio::async_write(socket_, asio::buffer(request), use_nothrow);
    if (!tls_) sent += wn;
    if (wec) {
      result.error = timed_out_ ? "i/o timeout" : "write: " + wec.message();
      co_return false;
    }
    Handshake h;
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_header_field = &Handshake::on_field;
    settings.on_header_value = &Handshake::on_value;
    settings.on_headers_complete = &Handshake::on_headers_complete;
    settings.on_body = &Handshake::on_body;
    settings.on_message_complete = &Handshake::on_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = &h;
    std::array<char, 4096> buf;
    size_t header_bytes = 0;
    for (;;) {
      auto [rec, n] = tls_ ? co_await tls_->async_read_some(asio::buffer(buf), use_nothrow)
                           : co_await socket_.async_read_some(asio::buffer(buf), use_nothrow);
      if (rec == asio::ssl::error::stream_truncated) rec = asio::error::eof;
      if (!tls_) received += n;
      if (rec) {
        if (rec == asio::error::eof && h.headers_done) {
          llhttp_finish(&parser);
          break;
        }
        result.error = timed_out_                ? "i/o timeout"
                       : rec == asio::error::eof ? "websocket: bad handshake"
                                                 : "read: " + rec.message();
        co_return false;
      }
      header_bytes += n;
      llhttp_errno_t err = llhttp_execute(&parser, buf.data(), n);
      if (err == HPE_PAUSED_UPGRADE) {
        const char* at = llhttp_get_error_pos(&parser);
        leftover.assign(at, static_cast<size_t>(buf.data() + n - at));
        break;
      }
      if (err != HPE_OK) {
        result.error = "websocket: bad handshake";
        co_return false;
      }
      if (h.complete) break;
      if (!h.headers_done && header_bytes > (64u << 10)) {
        result.error = "websocket: bad handshake";
        co_return false;
      }
    }
    result.status = parser.status_code;
    result.headers = h.headers;
    const std::string* protocol = h.find("Sec-WebSocket-Protocol");
    if (protocol != nullptr) result.subprotocol = *protocol;
    const std::string* accept = h.find("Sec-WebSocket-Accept");
    bool valid = parser.status_code == 101 && h.lists("Upgrade", "websocket") &&
                 h.lists("Connection", "upgrade") && accept != nullptr &&
                 *accept == loadgen::ws_accept_for(key);
    if (!valid) {
      result.body = std::move(h.body);
      result.error = "websocket: bad handshake";
      co_return false;
    }
    co_return true;
  }

  // Reads frames until the session ends; `leftover` holds bytes that came with the
  // handshake's response.
  asio::awaitable<void> read_loop(const std::string& leftover) {
    std::vector<loadgen::WsMessage> messages;
    auto& buf = read_buffer_;
    bool closed = false;
    if (!leftover.empty()) closed = !deliver(leftover.data(), leftover.size(), messages);
    while (!closed) {
      auto [ec, n] = tls_ ? co_await tls_->async_read_some(asio::buffer(buf), use_nothrow)
                          : co_await socket_.async_read_some(asio::buffer(buf), use_nothrow);
      if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
      if (!tls_) received += n;
      if (ec) {
        if (!dropped_) {
          std::string why = ec == asio::error::eof ? "unexpected EOF" : ec.message();
          push({WsEvent::kError, "websocket: close 1006 (abnormal closure): " + why});
          push({WsEvent::kClose, "", 1006});
          drop();
        }
        break;
      }
      closed = !deliver(buf.data(), n, messages);
    }
  }

  // Hands what `bytes` complete to the VU; false once the session is over.
  bool deliver(const char* bytes, size_t n, std::vector<loadgen::WsMessage>& messages) {
    messages.clear();
    bool ok = reader_.feed(bytes, n, messages);
    for (auto& m : messages) {
      switch (m.op) {
        case WsOpcode::kText:
          push({WsEvent::kText, std::move(m.data)});
          break;
        case WsOpcode::kBinary:
          push({WsEvent::kBinary, std::move(m.data)});
          break;
        case WsOpcode::kPing:
          enqueue(frame(WsOpcode::kPong, m.data), false);
          push({WsEvent::kPing, std::move(m.data)});
          break;
        case WsOpcode::kPong: {
          WsEvent ev{WsEvent::kPong, m.data};
          auto it = pings_.find(m.data);
          if (it != pings_.end()) {
            ev.ping_ms =
                std::chrono::duration<double, std::milli>(Clock::now() - it->second).count();
            pings_.erase(it);
          }
          push(std::move(ev));
          break;
        }
        case WsOpcode::kClose: {
          uint16_t code = 0;
          std::string reason;
          if (!loadgen::ws_parse_close(m.data, code, reason)) {
            enqueue(frame(WsOpcode::kClose, loadgen::ws_close_payload(1002)), true);
            push({WsEvent::kError, "websocket: invalid close code"});
            push({WsEvent::kClose, "", 1006});
            return false;
          }
          // A message cut short by the close is lost: an error, whatever the code.
          if (reader_.in_message()) {
            push({WsEvent::kError, "websocket: close " + std::to_string(code) +
                                       " in the middle of a fragmented message"});
          }
          // The server's code goes back to it (the closing handshake), then the connection.
          enqueue(frame(WsOpcode::kClose,
                        code == 1005 ? std::string() : loadgen::ws_close_payload(code)),
                  true);
          if (code != 1000 && code != 1001) {
            std::string text = "websocket: " + loadgen::ws_close_text(code);
            if (!reason.empty()) text += ": " + reason;
            push({WsEvent::kError, text});
          }
          push({WsEvent::kClose, "", code});
          return false;
        }
        case WsOpcode::kContinuation:
          break;  // the reader never hands these out
      }
    }
    if (!ok) {
      // A broken stream: tell the server why (1002) and count it as an abnormal close.
      enqueue(frame(WsOpcode::kClose, loadgen::ws_close_payload(1002)), true);
      push({WsEvent::kError, reader_.error()});
      push({WsEvent::kClose, "", 1006});
      return false;
    }
    return true;
  }

  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    while (!out_.empty() && !dropped_) {
      std::string chunk;
      chunk.swap(out_);
      auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(chunk), use_nothrow)
                          : co_await asio::async_write(socket_, asio::buffer(chunk), use_nothrow);
      if (!tls_) sent += n;
      if (ec) {
        if (!dropped_) push({WsEvent::kError, "write: " + ec.message()});
        out_.clear();
        break;
      }
    }
    writing_ = false;
    if (close_after_) drop();
  }

  std::unique_ptr<asio::io_context> own_ctx_;
  asio::io_context& ctx_;
  tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;  // wss:// sessions (counting into sent and received)
  asio::steady_timer timer_;
  loadgen::WsReader reader_;
  std::minstd_rand masks_;
  std::array<char, 16384> read_buffer_;
  std::string out_;
  bool writing_ = false;
  bool close_after_ = false;
  bool dropped_ = false;
  bool timed_out_ = false;
  std::unordered_map<std::string, Clock::time_point> pings_;

  asio::steady_timer* waiter_ = nullptr;  // scenario flows: the coroutine's wake-up

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<WsEvent> events_;
  loadgen::WsOpenResult opening_;  // written before open_done_ is set
  bool open_done_ = false;
  bool io_ended_ = false;
  bool interrupted_ = false;
};

void WsWaker::interrupt() {
  core_->interrupt();
}

namespace {

class Session : public loadgen::WsSession {
 public:
  Session(std::shared_ptr<WsCore> core, std::shared_ptr<WsWaker> waker)
      : core_(std::move(core)), waker_(std::move(waker)) {}
  ~Session() override { core_->release(); }

  bool next(WsEvent& out, Clock::time_point deadline) override {
    WsCore::Wait why;
    return core_->next(out, deadline, why);
  }

  void send(bool binary, std::string payload) override {
    std::string f = core_->frame(binary ? WsOpcode::kBinary : WsOpcode::kText, payload);
    core_->on_io([f = std::move(f)](WsCore& c) mutable { c.enqueue(std::move(f), false); });
  }

  void ping() override {
    std::string payload = std::to_string(pings_++);
    std::string f = core_->frame(WsOpcode::kPing, payload);
    core_->on_io([payload, f = std::move(f)](WsCore& c) mutable {
      c.note_ping(payload);
      c.enqueue(std::move(f), false);
    });
  }

  void close(uint16_t code) override {
    std::string f = core_->frame(WsOpcode::kClose, loadgen::ws_close_payload(code));
    core_->on_io([f = std::move(f)](WsCore& c) mutable { c.enqueue(std::move(f), true); });
  }

  std::pair<uint64_t, uint64_t> bytes() const override {
    return {core_->sent.load(), core_->received.load()};
  }

 private:
  std::shared_ptr<WsCore> core_;
  std::shared_ptr<WsWaker> waker_;  // the host holds it weakly
  uint64_t pings_ = 0;
};

}  // namespace

std::unique_ptr<loadgen::WsSession> ws_open(
    asio::io_context& worker, bool own, const loadgen::WsOpenSpec& spec,
    loadgen::WsOpenResult& result, const std::function<void(std::shared_ptr<WsWaker>)>& publish) {
  auto core = std::make_shared<WsCore>(worker, own, spec.max_message);
  auto waker = std::make_shared<WsWaker>(core);
  publish(waker);
  core->on_io([spec](WsCore& c) { c.start(spec); });
  if (!core->opened(result)) {
    result = {};
    result.interrupted = true;
    core->release();
    return nullptr;
  }
  if (!result.error.empty()) {
    core->release();
    return nullptr;
  }
  return std::make_unique<Session>(std::move(core), std::move(waker));
}

asio::awaitable<void> ws_flow(asio::io_context& ctx, const loadgen::WsOpenSpec& spec,
                              const std::vector<std::string>& messages, size_t expect,
                              Clock::duration reply_timeout, WsFlowOutcome& out,
                              std::shared_ptr<WsWaker>& active) {
  auto t0 = Clock::now();
  auto core = std::make_shared<WsCore>(ctx, false, spec.max_message);
  active = std::make_shared<WsWaker>(core);
  asio::steady_timer waiter(ctx);
  core->set_waiter(&waiter);
  core->start(spec);
  WsEvent ev;
  auto why = co_await core->wait_async([&] { return core->is_open_done(); }, far_future());
  core->pop(ev, &out.open);  // the opening's outcome (no event can be queued yet)
  out.opened = why == WsCore::Wait::kReady && out.open.error.empty();
  out.interrupted = why == WsCore::Wait::kInterrupted;
  bool closed = !out.opened;
  // The next data message (false when the session failed, was closed or interrupted).
  auto next_message = [&](Clock::time_point sent_at) -> asio::awaitable<bool> {
    for (;;) {
      why = co_await core->wait_async([&] { return core->has_events(); }, sent_at + reply_timeout);
      if (why == WsCore::Wait::kInterrupted) {
        out.interrupted = true;
        closed = true;
        co_return false;
      }
      if (why != WsCore::Wait::kReady) {
        out.error = why == WsCore::Wait::kTimeout ? "timeout waiting for a message"
                                                  : "websocket: connection closed";
        closed = why == WsCore::Wait::kEnded;
        co_return false;
      }
      core->pop(ev, nullptr);
      if (ev.kind == WsEvent::kText || ev.kind == WsEvent::kBinary) {
        out.round_trips_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count());
        ++out.received;
        out.last_message = std::move(ev.data);
        co_return true;
      }
      if (ev.kind == WsEvent::kError && out.error.empty()) out.error = ev.data;
      if (ev.kind == WsEvent::kClose) {
        if (out.error.empty()) out.error = "websocket: " + loadgen::ws_close_text(ev.code);
        closed = true;
        co_return false;
      }
    }
  };
  bool going = !closed;
  for (size_t i = 0; i < messages.size() && going; ++i) {
    core->enqueue(core->frame(WsOpcode::kText, messages[i]), false);
    ++out.sent;
    going = co_await next_message(Clock::now());
  }
  size_t replies = out.round_trips_ms.size();
  for (size_t i = 0; i < expect && going; ++i) going = co_await next_message(Clock::now());
  // Only replies are round trips; unasked messages count as received.
  out.round_trips_ms.resize(replies);
  if (out.opened && !closed) {
    core->enqueue(core->frame(WsOpcode::kClose, loadgen::ws_close_payload(1000)), true);
  }
  core->set_waiter(nullptr);
  core->linger();
  out.session_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  out.bytes_sent = core->sent.load();
  out.bytes_received = core->received.load();
  active.reset();
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
