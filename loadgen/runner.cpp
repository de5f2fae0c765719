#include "loadgen/runner.h"

#include <llhttp.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "common/event_loop.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using loadgen::RunConfig;
using loadgen::RunResult;
using loadgen::Stats;
using Clock = std::chrono::steady_clock;

namespace {

uint64_t nanos(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// Shared by every worker: when to stop and how many iterations remain.
struct Control {
  std::atomic<bool> stopping{false};  // no new iterations
  std::atomic<int64_t> remaining{0};  // shared-iterations budget
  bool shared_iterations = false;
};

// One virtual user: a keep-alive connection, a small read buffer and a response parser,
// all reused for every request (nothing is allocated per request).
class Vu : public std::enable_shared_from_this<Vu> {
 public:
  Vu(asio::io_context& ctx, const RunConfig& cfg, Control& control, Stats& stats)
      : ctx_(ctx), cfg_(cfg), control_(control), stats_(stats), socket_(ctx) {
    llhttp_settings_init(&settings_);
    settings_.on_message_complete = [](llhttp_t* p) {
      static_cast<Vu*>(p->data)->complete_ = true;
      return static_cast<int>(HPE_PAUSED);
    };
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!control_.stopping.load(std::memory_order_relaxed)) {
      if (control_.shared_iterations &&
          control_.remaining.fetch_sub(1, std::memory_order_relaxed) <= 0) {
        break;
      }
      auto start = Clock::now();
      co_await request();
      auto end = Clock::now();
      ++stats_.iterations;
      stats_.iteration_duration.record(nanos(end - start));
    }
    close();
  }

  void abort() {
    aborted_ = true;
    close();
  }

  // Called by the worker's periodic sweep.
  void check_deadline(Clock::time_point now) {
    if (now > deadline_at_ && !timed_out_) {
      timed_out_ = true;
      asio::error_code ignored;
      socket_.cancel(ignored);
    }
  }

 private:
  void close() {
    asio::error_code ignored;
    if (socket_.is_open()) {
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.cancel(ignored);
    }
  }

  void fail(std::string_view what, uint64_t duration_ns) {
    ++stats_.http_reqs;
    ++stats_.failed;
    ++stats_.errors[std::string(what)];
    stats_.http_req_duration.record(duration_ns);
    asio::error_code ignored;
    socket_.close(ignored);  // the next request reconnects (nothing is pending now)
  }

  asio::awaitable<void> request() {
    auto t_start = Clock::now();
    uint64_t connecting = 0;
    if (!socket_.is_open()) {
      tcp::endpoint ep;
      std::memcpy(ep.data(), &cfg_.address, cfg_.address_length);
      ep.resize(cfg_.address_length);
      auto [ec] = co_await socket_.async_connect(ep, use_nothrow);
      if (ec || aborted_) {
        fail(ec ? ec.message() : "aborted", nanos(Clock::now() - t_start));
        co_return;
      }
      asio::error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);
      connecting = nanos(Clock::now() - t_start);
    }
    stats_.http_req_connecting.record(connecting);
    stats_.http_req_blocked.record(connecting);

    // A request that takes longer than the timeout is abandoned and its connection closed
    // (by the worker's sweep, so no timer is armed per request).
    timed_out_ = false;
    deadline_at_ = Clock::now() + cfg_.request_timeout;

    auto t_send = Clock::now();
    auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(cfg_.request), use_nothrow);
    auto t_sent = Clock::now();
    stats_.data_sent += wn;
    if (wec) {
      deadline_at_ = Clock::time_point::max();
      fail(timed_out_ ? "request timeout" : wec.message(), nanos(t_sent - t_send));
      co_return;
    }
    llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
    parser_.data = this;
    complete_ = false;
    Clock::time_point t_first{};
    while (!complete_) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), use_nothrow);
      if (t_first == Clock::time_point{}) t_first = Clock::now();
      if (ec) {
        // A close before the end: a body delimited by the close ends here.
        if (ec == asio::error::eof && llhttp_finish(&parser_) == HPE_OK && complete_) break;
        deadline_at_ = Clock::time_point::max();
        fail(timed_out_               ? "request timeout"
             : ec == asio::error::eof ? "EOF"
                                      : ec.message(),
             nanos(Clock::now() - t_send));
        co_return;
      }
      stats_.data_received += n;
      llhttp_errno_t err = llhttp_execute(&parser_, buffer_.data(), n);
      if (err != HPE_OK && !(err == HPE_PAUSED && complete_)) {
        deadline_at_ = Clock::time_point::max();
        fail("malformed response", nanos(Clock::now() - t_send));
        co_return;
      }
    }
    deadline_at_ = Clock::time_point::max();
    auto t_done = Clock::now();
    int status = parser_.status_code;
    ++stats_.http_reqs;
    if (status >= 400 || status < 200) ++stats_.failed;
    stats_.http_req_duration.record(nanos(t_done - t_send));
    stats_.http_req_sending.record(nanos(t_sent - t_send));
    stats_.http_req_waiting.record(nanos(t_first - t_sent));
    stats_.http_req_receiving.record(nanos(t_done - t_first));
    if (!llhttp_should_keep_alive(&parser_)) {
      asio::error_code ignored;
      socket_.close(ignored);
    }
  }

  asio::io_context& ctx_;
  const RunConfig& cfg_;
  Control& control_;
  Stats& stats_;
  tcp::socket socket_;
  Clock::time_point deadline_at_ = Clock::time_point::max();
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  bool complete_ = false;
  bool timed_out_ = false;
  bool aborted_ = false;
  std::array<char, 4096> buffer_{};
};

}  // namespace

RunResult run_load(const RunConfig& cfg) {
  Control control;
  control.shared_iterations = cfg.iterations > 0;
  control.remaining = static_cast<int64_t>(cfg.iterations);
  unsigned threads = std::max(1u, cfg.threads);
  WorkerPool pool(threads);
  std::vector<Stats> stats(threads);
  std::vector<std::vector<std::shared_ptr<Vu>>> vus(threads);
  std::atomic<uint64_t> finished{0};

  auto started = Clock::now();
  // One sweep per worker enforces the request timeout of its VUs.
  auto sweep = [&control, &vus](asio::io_context& ctx, size_t t) -> asio::awaitable<void> {
    asio::steady_timer timer(ctx);
    while (!control.stopping.load()) {
      timer.expires_after(std::chrono::milliseconds(100));
      co_await timer.async_wait(use_nothrow);
      auto now = Clock::now();
      for (auto& vu : vus[t]) vu->check_deadline(now);
    }
  };
  pool.run_on_all([&](size_t t) {
    asio::co_spawn(pool.context(t), sweep(pool.context(t), t), asio::detached);
    for (uint64_t v = t; v < cfg.vus; v += threads) {
      auto vu = std::make_shared<Vu>(pool.context(t), cfg, control, stats[t]);
      vus[t].push_back(vu);
      asio::co_spawn(pool.context(t), vu->run(),
                     [&finished](std::exception_ptr) { finished.fetch_add(1); });
    }
  });

  // The main thread watches the clock and the signals.
  asio::io_context control_ctx(1);
  asio::signal_set signals(control_ctx, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (!ec) interrupted = true;
  });
  loadgen::Duration limit = cfg.iterations > 0 ? cfg.max_duration : cfg.duration;
  auto end_at = started + limit;
  int last_report = -1;
  while (!interrupted && finished.load() < cfg.vus && Clock::now() < end_at) {
    control_ctx.run_for(std::chrono::milliseconds(50));
    if (control_ctx.stopped()) control_ctx.restart();
    int secs = static_cast<int>(std::chrono::duration<double>(Clock::now() - started).count());
    if (cfg.progress && secs != last_report) {
      last_report = secs;
      std::fprintf(stderr, "running (%ds), %llu/%llu VUs\n", secs,
                   static_cast<unsigned long long>(cfg.vus - finished.load()),
                   static_cast<unsigned long long>(cfg.vus));
    }
  }
  control.stopping = true;
  if (interrupted) {
    // k6 aborts at once on a signal: iterations in flight are interrupted.
    pool.run_on_all([&](size_t t) {
      for (auto& vu : vus[t]) vu->abort();
    });
  } else {
    // Iterations in flight may finish within gracefulStop, then they are interrupted.
    auto grace_end = Clock::now() + cfg.graceful_stop;
    while (finished.load() < cfg.vus && Clock::now() < grace_end) {
      control_ctx.run_for(std::chrono::milliseconds(20));
      if (control_ctx.stopped()) control_ctx.restart();
      if (interrupted) break;
    }
    pool.run_on_all([&](size_t t) {
      for (auto& vu : vus[t]) vu->abort();
    });
  }
  auto wait_end = Clock::now() + std::chrono::seconds(5);
  while (finished.load() < cfg.vus && Clock::now() < wait_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RunResult result;
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  result.interrupted = interrupted;
  pool.run_on_all([&](size_t t) { vus[t].clear(); });
  pool.stop();
  for (const auto& s : stats) result.stats.merge(s);
  return result;
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
