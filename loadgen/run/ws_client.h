// The WebSocket client of a scripted VU (RFC 6455 over the project's event loop), compiled
// once per I/O backend like the HTTP client beside it.
//
// Threads: the session's socket lives on one io_context and only that context's thread
// touches it. With `own` set (the epoll build, where a VU does its I/O on its own thread)
// the session makes an io_context of its own that the VU's thread runs while it waits, so
// a session never stalls the VU's HTTP client; otherwise the socket lives on the worker's
// context and the VU's thread waits for events on a condition variable. Either way frames
// are read as they arrive and pings are answered at once, whatever the script is doing.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "loadgen/run/scripted.h"

namespace faultline::FAULTLINE_BACKEND_NS {

class WsCore;

// What the VU's host keeps to stop a session from another thread.
class WsWaker {
 public:
  explicit WsWaker(std::shared_ptr<WsCore> core) : core_(std::move(core)) {}
  // Makes the session's waits return and its socket close (the VU is being interrupted).
  void interrupt();

 private:
  std::shared_ptr<WsCore> core_;
};

// Dials and upgrades; blocks the calling (VU) thread until the session is open, refused or
// failed, or interrupted. `worker` is the context to use when `own` is false. Before it
// blocks, `publish` gets the waker that interrupts this session from another thread (the
// host keeps it while the session lives).
std::unique_ptr<loadgen::WsSession> ws_open(
    asio::io_context& worker, bool own, const loadgen::WsOpenSpec& spec,
    loadgen::WsOpenResult& result, const std::function<void(std::shared_ptr<WsWaker>)>& publish);

// A scenario flow's WebSocket step, as a coroutine on the worker's context: opens the
// session, sends each message and waits up to `reply_timeout` for the next message back,
// waits for `expect` more messages (each up to `reply_timeout`), then closes it (1000). `active`
// holds the session's waker while it runs (the VU's interrupt stops it).
struct WsFlowOutcome {
  loadgen::WsOpenResult open;
  bool opened = false;
  std::vector<double> round_trips_ms;  // one per answered message
  size_t sent = 0;                     // data messages sent
  size_t received = 0;                 // and received
  std::string last_message;
  std::string error;  // why the session failed after opening, "" if it did not
  double session_ms = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  bool interrupted = false;
};

asio::awaitable<void> ws_flow(asio::io_context& ctx, const loadgen::WsOpenSpec& spec,
                              const std::vector<std::string>& messages, size_t expect,
                              std::chrono::steady_clock::duration reply_timeout, WsFlowOutcome& out,
                              std::shared_ptr<WsWaker>& active);

}  // namespace faultline::FAULTLINE_BACKEND_NS
