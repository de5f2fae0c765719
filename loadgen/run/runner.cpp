#include "loadgen/run/runner.h"

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <random>
#include <semaphore>

#include "common/event_loop.h"
#include "loadgen/report/console.h"
#include "loadgen/run/http_client.h"
#include "loadgen/run/ws_client.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using loadgen::CompiledRequest;
using loadgen::CompiledScenario;
using loadgen::CompiledStep;
using loadgen::Duration;
using loadgen::Executor;
using loadgen::Recorder;
using loadgen::RunConfig;
using loadgen::RunResult;
using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// State one scenario shares across workers.
struct ScenarioState {
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> interrupted{0};
  std::atomic<int64_t> active{0};
  std::atomic<int64_t> created{0};
  std::atomic<int64_t> tickets{0};             // shared-iterations: tickets handed out
  std::atomic<int64_t> iterations_started{0};  // scripts: exec.scenario.iterationInTest
  std::atomic<int64_t> running{0};             // coroutines of this scenario still running
  std::atomic<bool> started{false};
  std::atomic<bool> warned_vus{false};
  // Scripts, looping executors: the runtimes of the scenario's VU slots that are done. They
  // go back to the pool only when the whole scenario is, so a slot that starts late never
  // gets the runtime (the __VU) of one that finished early.
  std::mutex held_mutex;
  std::vector<loadgen::ScriptedVu*> held;
};

// State the whole run shares across workers.
struct Shared {
  explicit Shared(const RunConfig& c) : cfg(c) {
    for (size_t i = 0; i < c.scenarios.size(); ++i) {
      scenarios.push_back(std::make_unique<ScenarioState>());
    }
    if (c.rps > 0) rps_period_ns = 1000000000 / c.rps;
  }
  const RunConfig& cfg;
  Clock::time_point run_start;  // the test-run clock (setup included)
  Clock::time_point t0;         // when the scenarios started
  std::atomic<bool> aborted{false};
  std::atomic<bool> finished{false};    // ends the workers' sweeps
  std::atomic<int64_t> outstanding{0};  // coroutines still running, all scenarios
  std::atomic<int64_t> active_vus{0};
  std::atomic<int64_t> vus_max{0};
  std::vector<std::unique_ptr<ScenarioState>> scenarios;
  int64_t rps_period_ns = 0;
  std::atomic<int64_t> rps_next{0};  // the next free request slot, ns since t0
};

struct Worker {
  Worker(size_t i, asio::io_context& c, const RunConfig& cfg, bool keep_samples, uint64_t seed)
      : index(i),
        ctx(c),
        sink(*cfg.registry, *cfg.tag_sets, cfg.series.get(), keep_samples),
        rng(seed * 1000003 + i) {
    sink.set_group_breakdown(cfg.group_sections);
    sink.recorder().checks.resize(cfg.check_count);
  }
  size_t index;
  asio::io_context& ctx;
  loadgen::SampleSink sink;
  loadgen::HttpTagCache http_tags;
  std::vector<std::shared_ptr<class Vu>> vus;
  std::vector<asio::steady_timer*> timers;  // arrival-rate schedulers' waits
  std::mt19937_64 rng;
};

// Waits for a slot of the process-wide --rps bucket.
asio::awaitable<void> rate_limit(Shared& sh, asio::steady_timer& timer) {
  int64_t now = (Clock::now() - sh.t0).count();
  int64_t slot = sh.rps_next.load(std::memory_order_relaxed);
  int64_t mine;
  do {
    mine = std::max(slot, now);
  } while (!sh.rps_next.compare_exchange_weak(slot, mine + sh.rps_period_ns));
  if (mine > now) {
    timer.expires_at(sh.t0 + Duration(mine));
    co_await timer.async_wait(use_nothrow);
  }
}

// Where a scripted VU's requests run. With epoll, on the VU's own thread, in a small
// io_context of its own: a request then costs that thread one wait for the response, not
// a hop to the worker and back (two more thread wake-ups). Asio's io_uring backend would
// need a ring per VU for that, so with io_uring the worker runs them.
#ifdef ASIO_HAS_IO_URING
constexpr bool kIoOnVuThread = false;
#else
constexpr bool kIoOnVuThread = true;
#endif

// What a scripted VU's thread uses to do I/O, record samples and wait.
class ScriptHost : public loadgen::VuHost {
 public:
  ScriptHost(Worker& w, Shared& sh)
      : w_(w),
        sh_(sh),
        own_(kIoOnVuThread ? std::make_unique<asio::io_context>(1) : nullptr),
        io_(own_ ? *own_ : w.ctx),
        timer_(io_) {
    clients_.push_back(std::make_unique<HttpClient>(io_));
  }

  void http(const loadgen::HttpRequestSpec& spec, uint32_t tags,
            const loadgen::Expectation& expectation, loadgen::HttpExchange& x) override {
    loadgen::HttpCall call{&spec, tags, &expectation, &x};
    http_batch(&call, 1, 1);
  }

  // Requests at once, `concurrency` at a time, each on a connection of its own (kept alive
  // for the next batch).
  void http_batch(loadgen::HttpCall* calls, size_t count, size_t concurrency) override {
    if (interrupted()) {
      for (size_t i = 0; i < count; ++i) calls[i].x->interrupted = true;
      return;
    }
    concurrency = std::max<size_t>(1, std::min(concurrency, count));
    while (clients_.size() < concurrency) clients_.push_back(std::make_unique<HttpClient>(io_));
    size_t next = 0;
    auto lane = [this, calls, count, &next](HttpClient& client) -> asio::awaitable<void> {
      while (next < count) {
        const loadgen::HttpCall& call = calls[next++];
        co_await exchange(client, *call.spec, call.tags, *call.expectation, *call.x);
      }
    };
    if (own_) {
      if (count == 1) {
        // One request (every http.get): no lane around it.
        const loadgen::HttpCall& call = calls[0];
        asio::co_spawn(io_,
                       exchange(*clients_[0], *call.spec, call.tags, *call.expectation, *call.x),
                       asio::detached);
      } else {
        for (size_t i = 0; i < concurrency; ++i)
          asio::co_spawn(io_, lane(*clients_[i]), asio::detached);
      }
      io_.restart();
      io_.run();
      return;
    }
    // The worker runs the requests while this thread waits.
    std::counting_semaphore<> done{0};
    asio::post(w_.ctx, [&] {
      for (size_t i = 0; i < concurrency; ++i) {
        asio::co_spawn(w_.ctx, lane(*clients_[i]), [&done](std::exception_ptr) { done.release(); });
      }
    });
    for (size_t i = 0; i < concurrency; ++i) done.acquire();
  }

  std::unique_ptr<loadgen::WsSession> ws_connect(const loadgen::WsOpenSpec& spec,
                                                 loadgen::WsOpenResult& result) override {
    if (interrupted()) {
      result.interrupted = true;
      return nullptr;
    }
    return ws_open(w_.ctx, kIoOnVuThread, spec, result, [this](std::shared_ptr<WsWaker> waker) {
      std::lock_guard lock(mutex_);
      ws_ = waker;
      if (interrupted_.load(std::memory_order_relaxed)) waker->interrupt();
    });
  }

  void add_bytes(uint64_t out, uint64_t in) override {
    sent += out;
    received += in;
  }

  bool sleep(Duration d) override {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, d, [&] { return interrupted(); });
  }

  bool interrupted() const override { return interrupted_.load(std::memory_order_acquire); }

  void add(uint32_t metric, uint32_t tags, double value) override {
    loadgen::SinkLock lock(w_.sink);
    w_.sink.add(metric, tags, value);
  }

  void check_outcome(uint32_t id, bool pass) override {
    loadgen::SinkLock lock(w_.sink);
    w_.sink.check_outcome(id, pass);
  }

  loadgen::InstanceState instance(uint32_t scenario) const override {
    loadgen::InstanceState out;
    for (const auto& st : sh_.scenarios) {
      out.iterations_completed += static_cast<int64_t>(st->completed.load());
      out.iterations_interrupted += static_cast<int64_t>(st->interrupted.load());
    }
    out.vus_active = sh_.active_vus.load();
    out.vus_initialized = sh_.vus_max.load();
    auto now = Clock::now();
    out.run_duration_ms = std::chrono::duration<double, std::milli>(now - sh_.run_start).count();
    if (scenario < sh_.cfg.scenarios.size()) {
      const auto& sc = sh_.cfg.scenarios[scenario].scenario;
      auto start = sh_.t0 + sc.start_time;
      auto wall = std::chrono::system_clock::now() -
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(now - start);
      out.scenario_start_unix_ms =
          std::chrono::duration<double, std::milli>(wall.time_since_epoch()).count();
      const auto& st = *sh_.scenarios[scenario];
      double progress = 0;
      if (sc.executor == Executor::kSharedIterations) {
        progress = static_cast<double>(st.completed.load()) / static_cast<double>(sc.iterations);
      } else if (sc.executor == Executor::kPerVuIterations) {
        progress =
            static_cast<double>(st.completed.load()) / static_cast<double>(sc.iterations * sc.vus);
      } else {
        progress = std::chrono::duration<double>(now - start).count() /
                   std::chrono::duration<double>(loadgen::regular_duration(sc)).count();
      }
      out.scenario_progress = std::clamp(progress, 0.0, 1.0);
    }
    return out;
  }

  // Worker thread: a new iteration, or setup/teardown, begins.
  void begin() {
    interrupted_ = false;
    sent = received = 0;
  }
  // Worker thread: stop the VU's I/O and waits now.
  void interrupt() {
    {
      std::lock_guard lock(mutex_);
      interrupted_.store(true, std::memory_order_release);
      if (auto ws = ws_.lock()) ws->interrupt();
    }
    wake_.notify_all();
    auto stop = [this] {
      for (auto& c : clients_) c->interrupt();
      timer_.cancel();
    };
    if (own_) {
      // The clients belong to the VU's thread: they stop there (at once if waiting for a
      // response, else at the next request, where the flag above stops them anyway).
      asio::post(io_, stop);
    } else {
      stop();
    }
  }
  // The worker's sweep. Requests on the VU's own thread are checked there, when the
  // earliest deadline among them has passed.
  void check_timeout(Clock::time_point now) {
    if (!own_) {
      for (auto& c : clients_) c->check_timeout(now);
      return;
    }
    if (now.time_since_epoch().count() >= earliest_.load(std::memory_order_relaxed) &&
        !check_posted_.exchange(true)) {
      asio::post(io_, [this] {
        check_posted_ = false;
        auto at = Clock::now();
        for (auto& c : clients_) c->check_timeout(at);
        update_earliest();
      });
    }
  }
  void close() {
    for (auto& c : clients_) c->close();
  }

  uint64_t sent = 0, received = 0;  // this iteration's bytes (worker thread)

 private:
  // The earliest deadline of the requests in flight, for the sweep (VU thread).
  void update_earliest() {
    int64_t earliest = kNoDeadline;
    for (auto& c : clients_)
      earliest = std::min(earliest, c->deadline().time_since_epoch().count());
    earliest_.store(earliest, std::memory_order_relaxed);
  }

  asio::awaitable<void> exchange(HttpClient& client, const loadgen::HttpRequestSpec& spec,
                                 uint32_t tags, const loadgen::Expectation& expectation,
                                 loadgen::HttpExchange& x) {
    if (sh_.rps_period_ns != 0) {
      asio::steady_timer wait(io_);
      co_await rate_limit(sh_, wait);
    }
    if (interrupted()) {
      x.interrupted = true;
      co_return;
    }
    if (own_) {
      // The worker's sweep watches the deadline (no timer per request on this thread).
      auto request = client.request(spec, x);
      earliest_.store(std::min(earliest_.load(std::memory_order_relaxed),
                               (Clock::now() + spec.timeout).time_since_epoch().count()),
                      std::memory_order_relaxed);
      co_await std::move(request);
      update_earliest();
    } else {
      co_await client.request(spec, x);
    }
    if (x.interrupted || interrupted()) {
      x.interrupted = true;
      co_return;
    }
    sent += x.sent;
    received += x.received;
    loadgen::SinkLock lock(w_.sink);
    int64_t when = w_.sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
    uint32_t all = w_.http_tags.tags(*sh_.cfg.tag_sets, tags, x, expectation);
    loadgen::record_http(w_.sink, all, x, expectation, when);
  }

  Worker& w_;
  Shared& sh_;
  std::unique_ptr<asio::io_context> own_;  // the VU thread's own context, with kIoOnVuThread
  asio::io_context& io_;                   // where the clients and the timer live
  std::vector<std::unique_ptr<HttpClient>> clients_;  // one per concurrent request
  asio::steady_timer timer_;
  static constexpr int64_t kNoDeadline = INT64_MAX;
  std::atomic<int64_t> earliest_{kNoDeadline};  // steady-clock ticks, requests in flight
  std::atomic<bool> check_posted_{false};
  std::atomic<bool> interrupted_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::weak_ptr<WsWaker> ws_;  // the VU's WebSocket session, to stop it (guarded by mutex_)
};

// One virtual user of a scenario flow: an HTTP client and a timer, reused for every
// request.
class Vu : public std::enable_shared_from_this<Vu> {
 public:
  Vu(Worker& w, Shared& sh) : w_(w), sh_(sh), http_(w.ctx), timer_(w.ctx) {
    if (sh.cfg.script) host_ = std::make_unique<ScriptHost>(w, sh);
  }

  bool busy = false;  // arrival-rate: running an iteration

  // Scripts: takes a JavaScript VU from the script's pool for a while (false when none
  // could be had), and gives it back.
  bool attach() {
    if (!host_ || script_vu_) return true;
    script_vu_ = sh_.cfg.script->acquire();
    return script_vu_ != nullptr;
  }
  void detach() {
    if (script_vu_) sh_.cfg.script->release(script_vu_);
    script_vu_ = nullptr;
  }
  loadgen::ScriptedVu* take_script_vu() { return std::exchange(script_vu_, nullptr); }
  ScriptHost* host() { return host_.get(); }

  // Waits until `at`; false when the run was aborted meanwhile.
  asio::awaitable<bool> wait_until(Clock::time_point at) {
    if (sh_.aborted.load(std::memory_order_relaxed)) co_return false;
    if (Clock::now() < at) {
      timer_.expires_at(at);
      co_await timer_.async_wait(use_nothrow);
    }
    co_return !sh_.aborted.load(std::memory_order_relaxed);
  }

  // Runs one iteration of `sc`'s flow. Returns true when it completed, false when it
  // was interrupted (k6 §2.5).
  asio::awaitable<bool> iteration(const CompiledScenario& sc, ScenarioState& st,
                                  Clock::time_point interrupt_at) {
    interrupt_at_ = interrupt_at;
    interrupted_ = false;
    in_iteration_ = true;
    auto start = Clock::now();
    if (host_) {
      bool completed = co_await scripted_iteration(sc, st);
      in_iteration_ = false;
      if (!completed) interrupted_ = true;
    } else {
      std::string ignored;
      co_await run_steps(sc.flow, &sc, ignored);
      in_iteration_ = false;
    }
    if (interrupted_ || sh_.aborted.load(std::memory_order_relaxed)) {
      st.interrupted.fetch_add(1, std::memory_order_relaxed);
      co_return false;
    }
    {
      loadgen::SinkLock lock(w_.sink);
      double took = ms_between(start, Clock::now());
      int64_t when = w_.sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
      uint32_t tags = host_ ? iteration_tags_ : sc.tags;
      w_.sink.add(loadgen::kIterationDuration, tags, took, when);
      w_.sink.add(loadgen::kIterations, tags, 1, when);
    }
    st.completed.fetch_add(1, std::memory_order_relaxed);
    co_return true;
  }

  // A looping executor's window of a scripted VU: the VU's thread runs iterations back to
  // back until `stop_at`, the scenario's iterations are used up or the run is aborted, and
  // records each itself. True when the scenario's iterations were used up; `done` counts
  // this VU's iterations (per-vu-iterations).
  asio::awaitable<bool> scripted_window(const CompiledScenario& sc, ScenarioState& st,
                                        Clock::time_point stop_at, Clock::time_point interrupt_at,
                                        int64_t& done) {
    const auto& s = sc.scenario;
    interrupt_at_ = interrupt_at;
    interrupted_ = false;
    in_iteration_ = true;
    bool exhausted = false;
    Clock::time_point start;
    loadgen::ScriptedVu::Loop loop;
    // Both run on the VU's thread; the worker only hears when the window is over.
    loop.next = [&](loadgen::IterationScope& scope) {
      if (sh_.aborted.load(std::memory_order_relaxed) || host_->interrupted() ||
          Clock::now() >= stop_at) {
        return false;
      }
      if (s.executor == Executor::kSharedIterations) {
        if (st.tickets.fetch_add(1) >= s.iterations) {
          exhausted = true;
          return false;
        }
      } else if (s.executor == Executor::kPerVuIterations && done >= s.iterations) {
        exhausted = true;
        return false;
      }
      host_->begin();
      scope.scenario = &s;
      scope.scenario_index = sc.index;
      scope.iteration_in_scenario = iterations_in_scenario_++;
      scope.iteration_in_test = st.iterations_started.fetch_add(1, std::memory_order_relaxed);
      start = Clock::now();
      return true;
    };
    loop.finished = [&](bool completed, uint32_t tags) {
      ++done;
      bool counted = completed && !host_->interrupted() && !sh_.aborted.load();
      record_iteration(counted ? ms_between(start, Clock::now()) : -1, tags ? tags : sc.tags,
                       host_->sent, host_->received, st);
    };
    bool finished = false;
    auto& ctx = w_.ctx;
    script_vu_->loop(std::move(loop), *host_, [&, &ctx = ctx] {
      asio::post(ctx, [&] {
        finished = true;
        timer_.cancel();
      });
    });
    while (!finished) {
      timer_.expires_at(Clock::time_point::max());
      co_await timer_.async_wait(use_nothrow);
    }
    in_iteration_ = false;
    co_return exhausted;
  }

  // A scripted iteration's samples and counts, from any thread: data_sent/received always,
  // iterations and iteration_duration when it completed (`took_ms` >= 0).
  void record_iteration(double took_ms, uint32_t tags, uint64_t sent, uint64_t received,
                        ScenarioState& st) {
    {
      loadgen::SinkLock lock(w_.sink);
      int64_t when = w_.sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
      w_.sink.add(loadgen::kDataSent, tags, static_cast<double>(sent), when);
      w_.sink.add(loadgen::kDataReceived, tags, static_cast<double>(received), when);
      if (took_ms >= 0) {
        w_.sink.add(loadgen::kIterationDuration, tags, took_ms, when);
        w_.sink.add(loadgen::kIterations, tags, 1, when);
      }
    }
    (took_ms >= 0 ? st.completed : st.interrupted).fetch_add(1, std::memory_order_relaxed);
  }

  bool scripted() const { return host_ != nullptr; }

  // Runs the setup steps; returns the reason when one failed.
  asio::awaitable<std::string> setup(const std::vector<CompiledStep>& steps) {
    interrupt_at_ = Clock::time_point::max();
    interrupted_ = false;
    in_iteration_ = true;
    std::string failure;
    co_await run_steps(steps, nullptr, failure);
    in_iteration_ = false;
    if (failure.empty() && (interrupted_ || sh_.aborted)) failure = "setup was interrupted";
    close();
    co_return failure;
  }

  // Stops the current iteration now.
  void interrupt() {
    interrupted_ = true;
    timer_.cancel();
    http_.interrupt();
    if (ws_) ws_->interrupt();
    if (host_) {
      host_->interrupt();  // before the script's: it checks the host when it starts
      if (script_vu_) script_vu_->interrupt();
    }
  }

  // The worker's sweep: request timeouts and iteration interruptions.
  void check_deadlines(Clock::time_point now) {
    if (!in_iteration_) return;
    if (now >= interrupt_at_ && !interrupted_) {
      interrupt();
      return;
    }
    http_.check_timeout(now);
    if (host_) host_->check_timeout(now);
  }

  // At the end of the run (no operation pending any more).
  void close() {
    http_.close();
    if (host_) host_->close();
  }

  // Runs setup() or teardown() of the script with this VU's host; returns its outcome.
  asio::awaitable<loadgen::ScriptPhaseResult> script_phase(bool setup) {
    interrupt_at_ = Clock::time_point::max();
    interrupted_ = false;
    in_iteration_ = true;
    host_->begin();
    loadgen::ScriptPhaseResult result;
    bool finished = false;
    auto& ctx = w_.ctx;
    auto done = [&, &ctx = ctx](loadgen::ScriptPhaseResult r) {
      asio::post(ctx, [&, r] {
        result = r;
        finished = true;
        timer_.cancel();
      });
    };
    if (setup) {
      sh_.cfg.script->setup(*host_, done);
    } else {
      sh_.cfg.script->teardown(*host_, done);
    }
    while (!finished) {
      timer_.expires_at(Clock::time_point::max());
      co_await timer_.async_wait(use_nothrow);
    }
    in_iteration_ = false;
    close();
    co_return result;
  }

 private:
  // One iteration of a scripted VU: runs on the VU's own thread while this coroutine
  // waits; true when it completed.
  asio::awaitable<bool> scripted_iteration(const CompiledScenario& sc, ScenarioState& st) {
    host_->begin();
    if (!script_vu_) co_return false;
    loadgen::IterationScope scope;
    scope.scenario = &sc.scenario;
    scope.scenario_index = sc.index;
    scope.iteration_in_scenario = iterations_in_scenario_++;
    scope.iteration_in_test = st.iterations_started.fetch_add(1, std::memory_order_relaxed);
    bool finished = false, completed = false;
    uint32_t tags = sc.tags;
    auto& ctx = w_.ctx;
    script_vu_->iterate(scope, *host_, [&, &ctx = ctx](bool c, uint32_t t) {
      asio::post(ctx, [&, c, t] {
        completed = c;
        if (t != 0) tags = t;
        finished = true;
        timer_.cancel();
      });
    });
    while (!finished) {
      timer_.expires_at(Clock::time_point::max());
      co_await timer_.async_wait(use_nothrow);
    }
    // data_sent / data_received per iteration, interrupted ones too (k6-js-api §1.6).
    loadgen::SinkLock lock(w_.sink);
    int64_t when = w_.sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
    w_.sink.add(loadgen::kDataSent, tags, static_cast<double>(host_->sent), when);
    w_.sink.add(loadgen::kDataReceived, tags, static_cast<double>(host_->received), when);
    iteration_tags_ = tags;
    co_return completed;
  }

  // Runs steps in order; the first failed request or check of a setup is put in
  // `setup_failure` (only used by setup).
  // `scenario` is null for setup.
  asio::awaitable<void> run_steps(const std::vector<CompiledStep>& steps,
                                  const CompiledScenario* scenario, std::string& setup_failure) {
    for (const auto& step : steps) {
      if (interrupted_ || sh_.aborted.load(std::memory_order_relaxed)) co_return;
      if (step.is_ws) {
        std::string failure = co_await ws_session(step, scenario);
        if (!failure.empty() && setup_failure.empty()) setup_failure = failure;
        if (interrupted_) co_return;
      } else if (!step.is_sleep) {
        std::string failure = co_await request(step.request, scenario);
        if (!failure.empty() && setup_failure.empty()) setup_failure = failure;
        if (interrupted_) co_return;
      }
      Duration pause = step.sleep_min;
      if (step.sleep_max > step.sleep_min) {
        std::uniform_int_distribution<int64_t> d(step.sleep_min.count(), step.sleep_max.count());
        pause = Duration(d(w_.rng));
      }
      if (pause.count() > 0) {
        timer_.expires_after(pause);
        co_await timer_.async_wait(use_nothrow);
      }
    }
  }

  bool check_passes(const loadgen::CheckSpec& c, const loadgen::HttpExchange& x) const {
    using Kind = loadgen::CheckSpec::Kind;
    switch (c.kind) {
      case Kind::kStatus:
        return std::find(c.statuses.begin(), c.statuses.end(), x.status) != c.statuses.end();
      case Kind::kBodyContains:
        return x.body.find(c.text) != std::string::npos;
      case Kind::kDurationBelow:
        return x.status != 0 && x.duration < c.max_ms;
      case Kind::kHeader:
        for (const auto& [name, value] : x.headers) {
          if (!strcasecmp_eq(name, c.header)) continue;
          switch (c.match) {
            case loadgen::CheckSpec::Match::kPresent:
              return true;
            case loadgen::CheckSpec::Match::kEquals:
              return value == c.text;
            case loadgen::CheckSpec::Match::kContains:
              return value.find(c.text) != std::string::npos;
          }
        }
        return false;
    }
    return false;
  }

  static bool strcasecmp_eq(const std::string& a, const std::string& b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
  }

  static double record_value(const loadgen::RecordSpec& r, const loadgen::HttpExchange& x,
                             bool expected, bool all_checks) {
    using Source = loadgen::RecordSpec::Source;
    switch (r.source) {
      case Source::kDuration:
        return x.duration;
      case Source::kWaiting:
        return x.waiting;
      case Source::kBlocked:
        return x.blocked;
      case Source::kConnecting:
        return x.connecting;
      case Source::kSending:
        return x.sending;
      case Source::kReceiving:
        return x.receiving;
      case Source::kFailed:
        return expected ? 0 : 1;
      case Source::kOk:
        return expected ? 1 : 0;
      case Source::kChecksFailed:
        return all_checks ? 0 : 1;
      case Source::kChecksOk:
        return all_checks ? 1 : 0;
      case Source::kStatus:
        return x.status;
      case Source::kOne:
        return 1;
      case Source::kMessageLatency:
        return 0;  // WebSocket steps record one sample per message instead
    }
    return 0;
  }

  // A step's checks and records (under the sink's lock). In setup, the first failed check
  // becomes `failure` unless there is one already. `round_trips` (WebSocket steps) feeds
  // the message_latency records, one sample per message.
  void record_checks(loadgen::SampleSink& sink, const CompiledRequest& rq,
                     const loadgen::HttpExchange& x, bool ok, bool in_setup, std::string& failure,
                     int64_t when, const std::vector<double>* round_trips) {
    bool all_checks = true;
    for (const auto& c : rq.checks) {
      bool pass = check_passes(c.spec, x);
      all_checks = all_checks && pass;
      sink.add(loadgen::kChecks, c.tags, pass ? 1 : 0, when);
      sink.check_outcome(c.id, pass);
      if (c.scenario_id != UINT32_MAX) sink.check_outcome(c.scenario_id, pass);
      if (in_setup && !pass && failure.empty()) failure = "check '" + c.spec.name + "' failed";
    }
    auto add = [&](const loadgen::CompiledRecord& r, double v) {
      if (!r.spec.op.empty()) v = loadgen::compare(v, r.spec.op, r.spec.operand) ? 1 : 0;
      sink.add(r.metric, r.tags, v, when);
    };
    for (const auto& r : rq.records) {
      if (r.spec.source == loadgen::RecordSpec::Source::kMessageLatency) {
        if (round_trips != nullptr) {
          for (double ms : *round_trips) add(r, ms);
        }
        continue;
      }
      add(r, record_value(r.spec, x, ok, all_checks));
    }
  }

  // A WebSocket step: the session, its ws_* samples, checks and records (checks see the
  // handshake status, the last message as the body and the session's duration). Returns a
  // failure text for setup.
  asio::awaitable<std::string> ws_session(const CompiledStep& step,
                                          const CompiledScenario* scenario) {
    if (sh_.rps_period_ns != 0) co_await rate_limit(sh_, timer_);
    if (interrupted_) co_return std::string();
    const CompiledRequest& rq = step.request;
    WsFlowOutcome out;
    co_await ws_flow(w_.ctx, step.ws.open, step.ws.messages, step.ws.expect, rq.timeout, out, ws_);
    if (interrupted_ || out.interrupted) co_return std::string();  // emits nothing
    loadgen::Tags tags = step.ws.tags;
    if (out.open.status != 0) {
      tags.emplace_back("status", std::to_string(out.open.status));
      tags.emplace_back("subproto", out.open.subprotocol);
    }
    uint32_t ws_tags = sh_.cfg.tag_sets->intern(tags);
    const bool ok =
        out.opened && out.error.empty() && out.received == step.ws.messages.size() + step.ws.expect;
    std::string failure;
    if (!out.opened) {
      failure = out.open.error.empty() ? "websocket: bad handshake" : out.open.error;
    } else if (!ok) {
      failure = out.error.empty() ? "websocket: not every message was answered" : out.error;
    }
    loadgen::HttpExchange x;
    x.status = out.open.status;
    x.headers = std::move(out.open.headers);
    x.body = std::move(out.last_message);
    x.duration = out.session_ms;
    loadgen::SinkLock lock(w_.sink);
    auto& sink = w_.sink;
    int64_t when = sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
    sink.add(loadgen::kWsSessions, ws_tags, 1, when);
    sink.add(loadgen::kWsConnecting, ws_tags, out.open.connecting_ms, when);
    for (size_t i = 0; i < out.sent; ++i) sink.add(loadgen::kWsMsgsSent, ws_tags, 1, when);
    for (size_t i = 0; i < out.received; ++i) sink.add(loadgen::kWsMsgsReceived, ws_tags, 1, when);
    sink.add(loadgen::kWsSessionDuration, ws_tags, out.session_ms, when);
    uint32_t data_tags = scenario ? scenario->tags : rq.tags;
    sink.add(loadgen::kDataSent, data_tags, static_cast<double>(out.bytes_sent), when);
    sink.add(loadgen::kDataReceived, data_tags, static_cast<double>(out.bytes_received), when);
    record_checks(sink, rq, x, ok, scenario == nullptr, failure, when, &out.round_trips_ms);
    co_return failure;
  }

  // One HTTP request; records its samples. Returns a failure text for setup: transport
  // error, unexpected status or failed check.
  asio::awaitable<std::string> request(const CompiledRequest& rq,
                                       const CompiledScenario* scenario) {
    if (sh_.rps_period_ns != 0) co_await rate_limit(sh_, timer_);
    if (interrupted_) co_return std::string();
    loadgen::HttpRequestSpec spec;
    spec.target = rq.target;
    spec.bytes = rq.bytes;
    spec.timeout = rq.timeout;
    spec.head = rq.head;
    spec.want_body = rq.need_body;
    spec.want_headers = rq.need_headers;
    x_.status = 0;
    x_.failure = {};
    x_.sent = x_.received = 0;
    x_.connecting = 0;
    x_.headers.clear();
    x_.body.clear();
    co_await http_.request(spec, x_);
    if (interrupted_ || x_.interrupted) co_return std::string();  // emits nothing
    static const loadgen::Expectation kDefault;
    const bool expected = kDefault.expected(x_.status);
    // In setup (no scenario), a step with checks fails by its checks; one without, by its
    // status. Scenario requests never build these texts.
    const bool in_setup = scenario == nullptr;
    std::string setup_failure;
    if (in_setup && rq.checks.empty() && x_.status == 0) {
      setup_failure = "request failed: " + x_.failure.text;
    } else if (in_setup && rq.checks.empty() && !expected) {
      setup_failure = "unexpected status " + std::to_string(x_.status);
    }
    loadgen::SinkLock lock(w_.sink);
    auto& sink = w_.sink;
    int64_t when = sink.keeps_samples() ? loadgen::unix_now_ns() : 0;
    uint32_t tags = w_.http_tags.tags(*sh_.cfg.tag_sets, rq.tags, x_, kDefault);
    loadgen::record_http(sink, tags, x_, kDefault, when);
    if (scenario) {
      sink.add(loadgen::kDataSent, scenario->tags, static_cast<double>(x_.sent), when);
      sink.add(loadgen::kDataReceived, scenario->tags, static_cast<double>(x_.received), when);
    } else {
      sink.add(loadgen::kDataSent, rq.tags, static_cast<double>(x_.sent), when);
      sink.add(loadgen::kDataReceived, rq.tags, static_cast<double>(x_.received), when);
    }
    record_checks(sink, rq, x_, expected, in_setup, setup_failure, when, nullptr);
    co_return setup_failure;
  }

  Worker& w_;
  Shared& sh_;
  HttpClient http_;
  asio::steady_timer timer_;
  loadgen::HttpExchange x_;
  Clock::time_point interrupt_at_ = Clock::time_point::max();
  bool interrupted_ = false;
  bool in_iteration_ = false;
  std::shared_ptr<WsWaker> ws_;               // the WebSocket session of a step in progress
  std::unique_ptr<ScriptHost> host_;          // scripts only
  loadgen::ScriptedVu* script_vu_ = nullptr;  // while attached
  int64_t iterations_in_scenario_ = 0;
  uint32_t iteration_tags_ = 0;  // scripts: the tag set of the last iteration's samples
};

// An activity window of a VU: [from, to) relative to the scenario start, interrupted at
// `deadline`.
struct Window {
  Duration from, to, deadline;
};

class Runner {
 public:
  Runner(const RunConfig& cfg, Shared& sh, std::vector<std::unique_ptr<Worker>>& w)
      : cfg_(cfg), sh_(sh), workers_(w) {}

  // Spawns worker `t`'s share of every scenario.
  void spawn(size_t t) {
    Worker& w = *workers_[t];
    size_t threads = workers_.size();
    for (size_t i = 0; i < cfg_.scenarios.size(); ++i) {
      const CompiledScenario& sc = cfg_.scenarios[i];
      const loadgen::Scenario& s = sc.scenario;
      ScenarioState& st = *sh_.scenarios[i];
      Duration regular = loadgen::regular_duration(s);
      switch (s.executor) {
        case Executor::kConstantVus:
        case Executor::kSharedIterations:
        case Executor::kPerVuIterations:
          for (int64_t k = static_cast<int64_t>(t); k < s.vus; k += static_cast<int64_t>(threads)) {
            start_vu(w, sc, st, {{Duration{0}, regular, regular + s.graceful_stop}});
          }
          break;
        case Executor::kRampingVus: {
          int64_t peak = s.start_vus;
          for (const auto& stage : s.stages) peak = std::max(peak, stage.target);
          // The global VUs k of the ramp this instance runs (all of them without an
          // execution segment), dealt to the workers in turn.
          size_t mine = 0;
          for (int64_t k = 1; k <= peak; ++k) {
            if (!s.vu_stripe.owns(k - 1) || mine++ % threads != t) continue;
            std::vector<Window> windows;
            for (auto [from, to] : loadgen::ramping_vu_intervals(s.start_vus, s.stages, k)) {
              Duration deadline =
                  to == regular ? to + s.graceful_stop
                                : std::min(to + s.graceful_ramp_down, regular + s.graceful_stop);
              // Ramped up again before its grace ran out: the VU is reused, and the
              // iteration it is finishing must not be interrupted.
              if (!windows.empty() && from < windows.back().deadline) {
                windows.back().deadline = std::max(windows.back().deadline, deadline);
              }
              windows.push_back({from, to, deadline});
            }
            if (!windows.empty()) start_vu(w, sc, st, std::move(windows));
          }
          break;
        }
        case Executor::kConstantArrivalRate:
        case Executor::kRampingArrivalRate:
          // One worker schedules the whole scenario and owns all its VUs, so an iteration
          // is dropped exactly when no VU of the scenario is idle (k6 §2.3). Several
          // arrival-rate scenarios spread over the workers.
          if (i % threads != t) break;
          sh_.outstanding.fetch_add(1);
          st.running.fetch_add(1);
          asio::co_spawn(w.ctx, arrival(w, sc, st), [this, &st](std::exception_ptr) {
            st.running.fetch_sub(1);
            sh_.outstanding.fetch_sub(1);
          });
          break;
        case Executor::kExternallyControlled:
          break;
      }
    }
  }

  // The executors.
  void start_vu(Worker& w, const CompiledScenario& sc, ScenarioState& st,
                std::vector<Window> windows) {
    auto vu = std::make_shared<Vu>(w, sh_);
    w.vus.push_back(vu);
    sh_.outstanding.fetch_add(1);
    st.running.fetch_add(1);
    asio::co_spawn(w.ctx, looping_vu(w, *vu, sc, st, std::move(windows)),
                   [this, &st, &w, &sc](std::exception_ptr) {
                     if (st.running.fetch_sub(1) == 1) {
                       finish_scenario(w, sc, st);
                       release_held(st);
                     }
                     sh_.outstanding.fetch_sub(1);
                   });
  }

  void release_held(ScenarioState& st) {
    std::vector<loadgen::ScriptedVu*> held;
    {
      std::lock_guard lock(st.held_mutex);
      held.swap(st.held);
    }
    for (auto* vu : held) cfg_.script->release(vu);
  }

  void dropped(Worker& w, const CompiledScenario& sc, double n) {
    loadgen::SinkLock lock(w.sink);
    w.sink.add(loadgen::kDroppedIterations, sc.dropped_tags, n);
  }

  // shared-iterations: when maxDuration ended the scenario with tickets left, one
  // dropped_iterations sample of their number (none on an abort).
  void finish_scenario(Worker& w, const CompiledScenario& sc, ScenarioState& st) {
    const auto& s = sc.scenario;
    if (s.executor != Executor::kSharedIterations || sh_.aborted) return;
    int64_t claimed = std::min(st.tickets.load(), s.iterations);
    if (claimed < s.iterations) {
      dropped(w, sc, static_cast<double>(s.iterations - claimed));
    }
  }

  asio::awaitable<void> looping_vu(Worker& w, Vu& vu, const CompiledScenario& sc, ScenarioState& st,
                                   std::vector<Window> windows) {
    const auto& s = sc.scenario;
    auto base = sh_.t0 + s.start_time;
    int64_t done = 0;
    bool exhausted = false;
    // A flow that never waits (no request, no pause) must still let the worker breathe.
    const bool never_waits =
        !cfg_.script && std::all_of(sc.flow.begin(), sc.flow.end(), [](const auto& step) {
          return step.is_sleep && step.sleep_max.count() <= 0;
        });
    for (const auto& win : windows) {
      if (!co_await vu.wait_until(base + win.from)) break;
      if (!vu.attach()) break;
      st.started = true;
      st.active.fetch_add(1);
      sh_.active_vus.fetch_add(1);
      auto stop_at = base + win.to;
      if (vu.scripted()) {
        exhausted = co_await vu.scripted_window(sc, st, stop_at, base + win.deadline, done);
      }
      while (!vu.scripted() && !sh_.aborted.load(std::memory_order_relaxed) &&
             Clock::now() < stop_at) {
        if (s.executor == Executor::kSharedIterations) {
          if (st.tickets.fetch_add(1) >= s.iterations) {
            exhausted = true;
            break;
          }
        } else if (s.executor == Executor::kPerVuIterations && done >= s.iterations) {
          exhausted = true;
          break;
        }
        co_await vu.iteration(sc, st, base + win.deadline);
        ++done;
        if (never_waits) co_await asio::post(w.ctx, asio::use_awaitable);
      }
      st.active.fetch_sub(1);
      sh_.active_vus.fetch_sub(1);
      if (exhausted) break;
    }
    // A scripted VU keeps its runtime for the whole scenario, as k6 reserves an executor's
    // VUs for its life: the same slot is the same VU (__VU) in every window, and no other
    // slot of the scenario gets it (held until the scenario ends).
    if (auto* runtime = vu.take_script_vu()) {
      std::lock_guard lock(st.held_mutex);
      st.held.push_back(runtime);
    }
    if (s.executor == Executor::kPerVuIterations && !exhausted && !sh_.aborted &&
        done < s.iterations) {
      dropped(w, sc, static_cast<double>(s.iterations - done));
    }
    vu.close();
  }

  // Arrival-rate executors: this worker starts the iterations whose global number falls
  // on it (g mod threads), each at its due time, on an idle VU of its own pool.
  asio::awaitable<void> arrival(Worker& w, const CompiledScenario& sc, ScenarioState& st) {
    const auto& s = sc.scenario;
    const int64_t max_vus = s.has_max_vus ? s.max_vus : s.pre_allocated_vus;
    std::vector<std::shared_ptr<Vu>> pool;
    for (int64_t i = 0; i < s.pre_allocated_vus; ++i) {
      pool.push_back(std::make_shared<Vu>(w, sh_));
      w.vus.push_back(pool.back());
      pool.back()->attach();
    }
    st.created.fetch_add(static_cast<int64_t>(pool.size()));
    auto base = sh_.t0 + s.start_time;
    Duration regular = loadgen::regular_duration(s);
    auto end = base + regular;
    auto interrupt_at = end + s.graceful_stop;
    std::optional<loadgen::RampingArrivalSchedule> ramp;
    int64_t period = 0;
    if (s.executor == Executor::kRampingArrivalRate) {
      ramp.emplace(s.start_rate, s.time_unit, s.stages);
    } else {
      period = static_cast<int64_t>(static_cast<__int128>(s.time_unit.count()) / s.rate);
    }
    asio::steady_timer timer(w.ctx);
    w.timers.push_back(&timer);  // an abort cancels the wait
    int64_t late_in_a_row = 0;
    for (int64_t g = 0;; ++g) {
      Duration due = ramp ? ramp->due(static_cast<uint64_t>(g) + 1) : Duration(g * period);
      if (due.count() < 0 || due >= regular) break;
      // An execution segment starts the iterations of the global schedule it owns.
      if (!s.arrival_stripe.owns(g)) continue;
      if (Clock::now() < base + due) {
        late_in_a_row = 0;
        timer.expires_at(base + due);
        co_await timer.async_wait(use_nothrow);
      } else if (++late_in_a_row % 64 == 0) {
        // Running behind: let the worker's other work (VUs, the sweep, aborts) run.
        co_await asio::post(w.ctx, asio::use_awaitable);
      }
      if (sh_.aborted.load(std::memory_order_relaxed)) break;
      st.started = true;
      std::shared_ptr<Vu> idle;
      for (auto& vu : pool) {
        if (!vu->busy) {
          idle = vu;
          break;
        }
      }
      if (!idle) {
        dropped(w, sc, 1);
        // One more VU for the next iterations, while maxVUs allows.
        int64_t created = st.created.load();
        bool grown = false;
        while (created < max_vus) {
          if (st.created.compare_exchange_weak(created, created + 1)) {
            grown = true;
            break;
          }
        }
        if (grown) {
          pool.push_back(std::make_shared<Vu>(w, sh_));
          w.vus.push_back(pool.back());
          pool.back()->attach();
          sh_.vus_max.fetch_add(1);
        } else if (!st.warned_vus.exchange(true)) {
          loadgen::log_line("warning",
                            "Insufficient VUs, reached " + std::to_string(max_vus) +
                                " active VUs and cannot initialize more",
                            "executor=" + std::string(loadgen::executor_name(s.executor)) +
                                " scenario=" + s.name);
        }
        continue;
      }
      idle->busy = true;
      sh_.outstanding.fetch_add(1);
      st.running.fetch_add(1);
      asio::co_spawn(w.ctx, one_iteration(*idle, sc, st, interrupt_at),
                     [this, &st, idle](std::exception_ptr) {
                       idle->busy = false;
                       st.running.fetch_sub(1);
                       sh_.outstanding.fetch_sub(1);
                     });
    }
    // VUs close their connections once their last iteration ended.
    while (std::any_of(pool.begin(), pool.end(), [](const auto& vu) { return vu->busy; })) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(use_nothrow);
    }
    w.timers.erase(std::find(w.timers.begin(), w.timers.end(), &timer));
    for (auto& vu : pool) {
      vu->detach();
      vu->close();
    }
  }

  asio::awaitable<void> one_iteration(Vu& vu, const CompiledScenario& sc, ScenarioState& st,
                                      Clock::time_point interrupt_at) {
    st.active.fetch_add(1);
    sh_.active_vus.fetch_add(1);
    co_await vu.iteration(sc, st, interrupt_at);
    st.active.fetch_sub(1);
    sh_.active_vus.fetch_sub(1);
  }

  const RunConfig& cfg_;
  Shared& sh_;
  std::vector<std::unique_ptr<Worker>>& workers_;
};

// The request-timeout and interruption sweep of one worker.
asio::awaitable<void> sweep(Worker& w, Shared& sh) {
  asio::steady_timer timer(w.ctx);
  while (!sh.finished.load()) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(use_nothrow);
    auto now = Clock::now();
    for (auto& vu : w.vus) vu->check_deadlines(now);
  }
}

asio::awaitable<void> run_setup(std::shared_ptr<Vu> vu, const std::vector<CompiledStep>& steps,
                                std::string& failure) {
  failure = co_await vu->setup(steps);
}

asio::awaitable<void> run_script_phase(std::shared_ptr<Vu> vu, bool setup,
                                       loadgen::ScriptPhaseResult& out) {
  out = co_await vu->script_phase(setup);
}

}  // namespace

RunResult run_load(const RunConfig& cfg) {
  Shared sh(cfg);
  size_t threads = std::max(1u, cfg.threads);
  WorkerPool pool(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.push_back(
        std::make_unique<Worker>(t, pool.context(t), cfg, !cfg.outputs.empty(), cfg.seed));
    // The main thread reads the sinks during the run for these.
    workers.back()->sink.set_shared(cfg.should_abort || cfg.on_snapshot || !cfg.outputs.empty() ||
                                    cfg.script);
  }
  Runner runner(cfg, sh, workers);
  RunResult result;

  asio::io_context control(1);
  asio::signal_set signals(control, SIGINT, SIGTERM);
  std::atomic<int> signalled{0};
  std::function<void()> arm = [&] {
    signals.async_wait([&](const asio::error_code& ec, int sig) {
      if (ec) return;
      if (signalled.exchange(sig) != 0) {
        std::_Exit(105);  // a second signal ends the process at once (k6 §5)
      }
      arm();
    });
  };
  arm();
  auto pump = [&](Duration d) {
    control.run_for(d);
    if (control.stopped()) control.restart();
  };
  auto abort_all = [&] {
    sh.aborted = true;
    pool.run_on_all([&](size_t t) {
      for (auto& vu : workers[t]->vus) vu->interrupt();
      for (auto* timer : workers[t]->timers) timer->cancel();
    });
  };

  // The test-run clock includes setup; scenario offsets count from after it.
  const Clock::time_point run_start = Clock::now();
  sh.run_start = run_start;
  sh.t0 = run_start;
  sh.vus_max = cfg.plan.initial_vus;

  // The request-timeout and interruption sweep, on every worker.
  pool.run_on_all(
      [&](size_t t) { asio::co_spawn(workers[t]->ctx, sweep(*workers[t], sh), asio::detached); });
  bool unsettled = false;
  auto finish = [&] {
    sh.finished = true;
    // Sockets are closed only when no operation is pending on them. If some coroutine
    // never unwound (it should not happen), its VUs are left alone and leaked.
    unsettled = sh.outstanding.load() > 0;
    pool.run_on_all([&](size_t t) {
      for (auto& vu : workers[t]->vus) {
        if (unsettled) {
          vu->interrupt();
        } else {
          vu->close();
        }
      }
      if (!unsettled) workers[t]->vus.clear();
    });
    pool.stop();
  };

  // A script's setup() or teardown() on the first worker, waited for here.
  auto script_phase = [&](bool setup) {
    std::atomic<bool> done{false};
    loadgen::ScriptPhaseResult out;
    auto vu = std::make_shared<Vu>(*workers[0], sh);
    pool.run_on_all([&](size_t t) {
      if (t != 0) return;
      workers[0]->vus.push_back(vu);
      asio::co_spawn(workers[0]->ctx, run_script_phase(vu, setup, out),
                     [&done](std::exception_ptr) { done = true; });
    });
    while (!done) {
      pump(std::chrono::milliseconds(10));
      if (signalled && !sh.aborted) {
        abort_all();
        cfg.script->interrupt_phase();
      }
    }
    return out;
  };
  if (cfg.script && cfg.script->has_setup()) {
    auto outcome = script_phase(true);
    if (!outcome.ok || signalled) {
      result.setup_error = signalled ? "" : outcome.message;
      result.script_exit_code = outcome.exit_code;
      result.signal = signalled;
      finish();
      result.metrics = std::make_unique<Recorder>(*cfg.registry);
      for (auto& w : workers) result.metrics->merge(w->sink.recorder());
      result.elapsed_s = std::chrono::duration<double>(Clock::now() - run_start).count();
      return result;
    }
  }

  // Setup runs once, before any scenario, on the first worker.
  if (!cfg.setup.empty()) {
    std::atomic<bool> done{false};
    std::string failure;
    auto vu = std::make_shared<Vu>(*workers[0], sh);
    pool.run_on_all([&](size_t t) {
      if (t != 0) return;
      workers[0]->vus.push_back(vu);
      asio::co_spawn(workers[0]->ctx, run_setup(vu, cfg.setup, failure),
                     [&done, &failure](std::exception_ptr e) {
                       if (e) failure = "internal error while running setup";
                       done = true;
                     });
    });
    while (!done) {
      pump(std::chrono::milliseconds(10));
      if (signalled && !sh.aborted) abort_all();
    }
    if (!failure.empty() || signalled) {
      result.setup_error = signalled ? "" : failure;
      result.signal = signalled;
      finish();
      result.metrics = std::make_unique<Recorder>(*cfg.registry);
      for (auto& w : workers) result.metrics->merge(w->sink.recorder());
      result.elapsed_s = std::chrono::duration<double>(Clock::now() - run_start).count();
      return result;
    }
  }

  sh.t0 = Clock::now();
  sh.rps_next = 0;  // the bucket's slots count from the new t0
  // A guard count per scenario while the workers spawn their parts, so that a scenario
  // whose VUs all end early is not finished twice.
  for (auto& st : sh.scenarios) st->running.fetch_add(1);
  pool.run_on_all([&](size_t t) { runner.spawn(t); });
  for (size_t i = 0; i < sh.scenarios.size(); ++i) {
    if (sh.scenarios[i]->running.fetch_sub(1) == 1) {
      pool.run_on_all([&](size_t t) {
        if (t == 0) runner.finish_scenario(*workers[0], cfg.scenarios[i], *sh.scenarios[i]);
      });
    }
  }

  auto state = [&]() {
    loadgen::Progress p;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - run_start).count();
    p.scenarios_elapsed_s = std::chrono::duration<double>(Clock::now() - sh.t0).count();
    p.active_vus = sh.active_vus.load();
    for (const auto& st : sh.scenarios) {
      loadgen::ScenarioProgress sp;
      sp.completed = st->completed.load();
      sp.interrupted = st->interrupted.load();
      sp.active = st->active.load();
      sp.created = st->created.load();
      sp.started = st->started.load();
      sp.finished = st->running.load() == 0;
      p.completed += sp.completed;
      p.interrupted += sp.interrupted;
      p.scenarios.push_back(sp);
    }
    return p;
  };
  // The vus gauges are sampled by this thread, into a sink of its own.
  loadgen::SampleSink gauges(*cfg.registry, *cfg.tag_sets, cfg.series.get(), !cfg.outputs.empty());
  std::vector<loadgen::Sample> batch;
  auto flush_samples = [&] {
    if (cfg.outputs.empty()) return;
    for (auto& w : workers) w->sink.drain(batch);
    gauges.drain(batch);
    if (batch.empty()) return;
    for (auto* out : cfg.outputs) out->samples(batch, *cfg.tag_sets);
    batch.clear();
  };
  auto snapshot = [&] {
    auto merged = std::make_unique<Recorder>(*cfg.registry);
    for (auto& w : workers) {
      std::lock_guard lock(w->sink.mutex());
      merged->merge(w->sink.recorder());
    }
    merged->merge(gauges.recorder());
    return merged;
  };

  // The vus gauges are sampled every second until the last scenario's regular end.
  Clock::time_point sampling_end = sh.t0;
  for (const auto& sc : cfg.scenarios) {
    sampling_end = std::max(
        sampling_end, sh.t0 + sc.scenario.start_time + loadgen::regular_duration(sc.scenario));
  }
  auto next_progress = Clock::now() + cfg.progress_interval;
  auto next_gauge = run_start + std::chrono::seconds(1);
  auto next_snapshot = run_start + std::chrono::seconds(1);
  auto next_flush = run_start + std::chrono::milliseconds(200);
  auto next_eval = run_start + std::chrono::seconds(2);
  while (sh.outstanding.load() > 0) {
    pump(std::chrono::milliseconds(10));
    auto now = Clock::now();
    if (signalled) {
      result.signal = signalled;
      abort_all();
      break;
    }
    if (cfg.script && cfg.script->abort_requested()) {
      result.script_exit_code = 108;
      abort_all();
      break;
    }
    if (cfg.on_snapshot && now >= next_snapshot) {
      next_snapshot += std::chrono::seconds(1);
      cfg.on_snapshot(*snapshot(), std::chrono::duration<double>(now - run_start).count());
    }
    if (now >= next_gauge && now < sampling_end) {
      next_gauge += std::chrono::seconds(1);
      auto active = static_cast<double>(sh.active_vus.load());
      auto max = static_cast<double>(sh.vus_max.load());
      int64_t when = loadgen::unix_now_ns();
      gauges.add(loadgen::kVus, cfg.run_tags, active, when);
      gauges.add(loadgen::kVusMax, cfg.run_tags, max, when);
    }
    if (!cfg.outputs.empty() && now >= next_flush) {
      next_flush += std::chrono::milliseconds(200);
      flush_samples();
    }
    if (now >= next_progress) {
      next_progress += cfg.progress_interval;
      if (cfg.on_progress) cfg.on_progress(state());
    }
    if (cfg.should_abort && now >= next_eval) {
      next_eval += std::chrono::seconds(2);
      auto merged = snapshot();
      if (cfg.should_abort(*merged, std::chrono::duration<double>(now - run_start).count())) {
        result.aborted_by_threshold = true;
        abort_all();
        break;
      }
    }
  }
  // Aborted: iterations were interrupted; wait for their coroutines to unwind.
  auto unwind_end = Clock::now() + std::chrono::seconds(10);
  while (sh.outstanding.load() > 0 && Clock::now() < unwind_end) {
    pump(std::chrono::milliseconds(5));
    if (signalled && !sh.aborted) abort_all();
  }
  // teardown() runs after every ending, aborts included (k6-js-api §1.4).
  if (cfg.script && cfg.script->has_teardown() && sh.outstanding.load() == 0) {
    sh.aborted = false;
    auto outcome = script_phase(false);
    if (!outcome.ok) result.script_exit_code = outcome.exit_code;
  }
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - run_start).count();
  finish();
  flush_samples();
  result.metrics = snapshot();
  if (unsettled) {
    loadgen::log_line("warning", "some virtual users did not stop within 10 s of the end");
    for (auto& w : workers) (void)w.release();
  }
  result.final_progress = state();
  if (cfg.on_snapshot) cfg.on_snapshot(*result.metrics, result.elapsed_s);
  for (const auto& st : sh.scenarios) {
    result.completed += st->completed.load();
    result.interrupted += st->interrupted.load();
  }
  return result;
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
