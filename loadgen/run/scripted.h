// The seam between the runner and scripted (JavaScript) virtual users. The runner knows a
// script only through ScriptRuntime and ScriptedVu; a script reaches the runner's HTTP
// client, clock and samples only through VuHost. loadgen/js implements the first two, the
// runner the third, so neither side depends on the other's internals.
//
// Threads: every scripted VU runs its JavaScript on a thread of its own (SpiderMonkey runs
// one context per thread, and k6's API is synchronous: http.get returns the response and
// sleep blocks). A VuHost call blocks only that thread; the I/O itself runs on the worker
// that owns the host, so a VU waiting for a response never holds up another.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/config/duration.h"
#include "loadgen/config/plan.h"
#include "loadgen/run/http_exchange.h"

namespace faultline::loadgen {

// What k6/execution reports about the whole instance and the current scenario.
struct InstanceState {
  int64_t iterations_completed = 0;
  int64_t iterations_interrupted = 0;
  int64_t vus_active = 0;
  int64_t vus_initialized = 0;
  double run_duration_ms = 0;         // since the test-run clock started (setup included)
  double scenario_start_unix_ms = 0;  // when the current scenario started
  double scenario_progress = 0;       // 0..1
};

// One request of a batch: what to send, the tag set of its samples, what counts as
// expected, and where its outcome goes.
struct HttpCall {
  const HttpRequestSpec* spec = nullptr;
  uint32_t tags = 0;
  const Expectation* expectation = nullptr;
  HttpExchange* x = nullptr;
};

// A WebSocket session's opening (k6/ws): where to dial and the handshake to send.
struct WsOpenSpec {
  HttpTarget target;
  std::string host;         // the Host header
  std::string target_path;  // path and query of the URL
  std::string dial_text;    // "127.0.0.1:9100" for Go-style dial errors
  std::vector<std::pair<std::string, std::string>> headers;  // extra handshake headers
  Duration timeout = std::chrono::seconds(60);
  size_t max_message = 64u << 20;
};

// How the opening went. `status` is 0 when no HTTP response came back.
struct WsOpenResult {
  int status = 0;
  std::string error;  // empty on success (k6's Go error text otherwise)
  std::vector<std::pair<std::string, std::string>> headers;  // of the response, as sent
  std::string body;                                          // of a refused upgrade
  std::string subprotocol;   // Sec-WebSocket-Protocol of the response
  double connecting_ms = 0;  // dial start to the end of the handshake
  bool interrupted = false;
};

// Something that happened on an open WebSocket, in arrival order.
struct WsEvent {
  enum Kind { kText, kBinary, kPing, kPong, kClose, kError } kind = kText;
  std::string data;     // a message's payload; an error's text
  uint16_t code = 0;    // kClose: the close code
  double ping_ms = -1;  // kPong answering one of our pings: its round trip
};

// One open WebSocket, used from the VU's thread only. Frames the server sends are read as
// they arrive (pings answered at once); next() hands them over one by one.
class WsSession {
 public:
  virtual ~WsSession() = default;
  // The next event, waiting until `deadline` at most (false then, or when the VU was
  // interrupted).
  virtual bool next(WsEvent& out, std::chrono::steady_clock::time_point deadline) = 0;
  // A text or binary message. A failed write comes back as an kError event.
  virtual void send(bool binary, std::string payload) = 0;
  // A ping whose payload is the session's next number; its pong carries the round trip.
  virtual void ping() = 0;
  // Sends a close frame with `code` and drops the connection at once (k6's close()).
  virtual void close(uint16_t code) = 0;
  // Bytes of handshake and frames so far, each way.
  virtual std::pair<uint64_t, uint64_t> bytes() const = 0;
};

class VuHost {
 public:
  virtual ~VuHost() = default;
  // Sends one request on the VU's connection, records its http_req_* samples under tag set
  // `tags` (the request's own tags, before status and the like) and returns once the
  // response was read, the request failed, or the VU was interrupted (x.interrupted).
  virtual void http(const HttpRequestSpec& spec, uint32_t tags, const Expectation& expectation,
                    HttpExchange& x) = 0;
  // Several requests at once (http.batch), at most `concurrency` in flight, each as
  // http() would send and record it; returns when all are done.
  virtual void http_batch(HttpCall* calls, size_t count, size_t concurrency) = 0;
  // Dials and upgrades a WebSocket; the session when it opened (101 and a valid accept
  // key), else null with `result` saying why. Records no samples (k6/ws does).
  virtual std::unique_ptr<WsSession> ws_connect(const WsOpenSpec& spec, WsOpenResult& result) = 0;
  // Adds a session's bytes to the iteration's data_sent / data_received.
  virtual void add_bytes(uint64_t sent, uint64_t received) = 0;
  // Sleeps for `d`; returns false at once when the VU is interrupted.
  virtual bool sleep(Duration d) = 0;
  // True once the VU has been interrupted (gracefulStop, abort, signal).
  virtual bool interrupted() const = 0;
  // Records one sample on the VU's worker (checks, custom metrics, group_duration, ...).
  virtual void add(uint32_t metric, uint32_t tags, double value) = 0;
  // One outcome of check `id` for the summary's counts.
  virtual void check_outcome(uint32_t id, bool pass) = 0;
  // The instance's counters now; `scenario` is an index into the run's scenarios (ignored
  // outside scenarios).
  virtual InstanceState instance(uint32_t scenario) const = 0;
};

// What an iteration is part of, for the script's view of it (tags, __ENV, k6/execution).
struct IterationScope {
  const Scenario* scenario = nullptr;  // null for setup and teardown
  uint32_t scenario_index = 0;
  int64_t iteration_in_scenario = 0;  // of this VU in this scenario
  int64_t iteration_in_test = 0;      // of the scenario, across VUs
};

class ScriptedVu {
 public:
  virtual ~ScriptedVu() = default;
  virtual int64_t id() const = 0;
  // Runs one iteration of the scenario's exec function on the VU's thread, with `host` for
  // its I/O; `done(completed, tags)` is called on that thread when it ends (completed is
  // false when it was interrupted; `tags` is the tag set of the iteration's own samples,
  // the VU's tags included). An exception in the script ends the iteration as completed,
  // as in k6 (it is logged).
  virtual void iterate(const IterationScope& scope, VuHost& host,
                       std::function<void(bool completed, uint32_t tags)> done) = 0;
  // Runs iterations back to back on the VU's thread, without a round trip to the runner
  // between them (the looping executors): before each one `loop.next(scope)` says whether
  // to start it and fills in its scope; after each `loop.finished(completed, tags)` records
  // it (as for iterate()). Both run on the VU's thread. `done` comes when `next` said no.
  struct Loop {
    std::function<bool(IterationScope& scope)> next;
    std::function<void(bool completed, uint32_t tags)> finished;
  };
  virtual void loop(Loop loop, VuHost& host, std::function<void()> done) = 0;
  // From any thread: ends the iteration in progress now (its `done` still comes).
  virtual void interrupt() = 0;
};

// The outcome of setup() or teardown().
struct ScriptPhaseResult {
  bool ok = true;
  int exit_code = 0;    // k6's exit code when not ok (107 script error, 108 abort, 100 timeout)
  std::string message;  // already logged
};

class ScriptRuntime {
 public:
  virtual ~ScriptRuntime() = default;
  // An initialised idle VU; initialises one more when none is idle (arrival-rate executors
  // growing towards maxVUs). Null when that failed (the failure is logged). Thread-safe.
  virtual ScriptedVu* acquire() = 0;
  virtual void release(ScriptedVu* vu) = 0;
  // Runs setup() in a runtime of its own, then calls `done` from another thread.
  virtual void setup(VuHost& host, std::function<void(ScriptPhaseResult)> done) = 0;
  virtual void teardown(VuHost& host, std::function<void(ScriptPhaseResult)> done) = 0;
  // From any thread: interrupts setup() or teardown() while it runs (a signal).
  virtual void interrupt_phase() = 0;
  // exec.test.abort() was called: the run stops, exit 108 (k6-js-api §7.1).
  virtual bool abort_requested() const = 0;
  // Whether the script exports setup / teardown.
  virtual bool has_setup() const = 0;
  virtual bool has_teardown() const = 0;
};

}  // namespace faultline::loadgen
