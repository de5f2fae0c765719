// faultline-proxy's process: workers, data plane, admin API, config file, signals.
// Compiled once per backend; main() picks which copy runs.
#include <malloc.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/address.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "proxy/api.h"
#include "proxy/data_plane.h"
#include "proxy/options.h"

namespace faultline::FAULTLINE_BACKEND_NS {
namespace {

// A connection's two 32 KiB read buffers live in its coroutine frames. When a burst of
// connections ends, glibc keeps the freed frames in its arenas, so RSS stays at the
// burst's level. Once the open connections have fallen to half their peak, the free pages
// go back to the system (malloc_trim takes each arena's lock in turn: a short pause for a
// worker that allocates meanwhile, and it happens only after a drop).
class MemoryRelease {
 public:
  explicit MemoryRelease(asio::io_context& ctx) : timer_(ctx) { tick(); }

 private:
  void tick() {
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      int64_t live = live_links();
      peak_ = std::max(peak_, live);
      if (peak_ >= kMinPeak && live <= peak_ / 2) {
        ::malloc_trim(0);
        peak_ = live;
      }
      tick();
    });
  }

  static constexpr int64_t kMinPeak = 64;  // below this the buffers are not worth a trim
  asio::steady_timer timer_;
  int64_t peak_ = 0;
};

}  // namespace

int run_proxy_server(const proxy::ServerOptions& options) {
  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;

  auto registry = std::make_shared<prometheus::Registry>();
  ProxyMetrics proxy_metrics(*registry);
  auto process = metrics::make_process_collector();

  WorkerPool pool(threads);
  // -seed makes toxicity draws, jitter and slicer sizes reproducible (per connection, in
  // the order connections arrive on each worker).
  uint64_t seed =
      options.seed
          ? static_cast<uint64_t>(*options.seed)
          : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  TcpDataPlane plane(pool, proxy_metrics, seed);

  proxy::ApiOptions api_options;
  api_options.metrics_route = options.proxy_metrics || options.runtime_metrics;
  api_options.render_metrics = [&] {
    std::vector<std::shared_ptr<prometheus::Collectable>> sources;
    if (options.proxy_metrics) sources.push_back(registry);
    if (options.runtime_metrics) sources.push_back(process);
    return metrics::render(sources);
  };
  proxy::Api api(plane, std::move(api_options));

  // Proxies from the config file start before the API is reachable.
  if (!options.config.empty()) {
    std::ifstream in(options.config, std::ios::binary);
    if (!in) {
      log::error()
          .str("error", "open " + options.config + ": no such file or directory")
          .str("config", options.config)
          .msg("Error reading config file");
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      std::string err;
      bool toxic_error = false;
      int count = api.populate_from(ss.str(), err, &toxic_error);
      if (count < 0 && toxic_error) {
        // Toxics in the file are Faultline's own: a wrong one stops the start, so that a
        // test never runs against proxies without the faults it declared.
        log::error()
            .str("error", err)
            .str("config", options.config)
            .msg("Invalid toxic in config file");
        pool.stop();
        return 1;
      }
      if (count < 0) {
        log::error().str("error", err).msg("Failed to populate proxies from file");
      } else {
        log::info().num("proxies", count).msg("Populated proxies from file");
      }
    }
  }

  asio::io_context control(1);
  HttpServer server(control, [&](const http::Request& req, const std::string& peer) {
    return api.handle(req, peer);
  });
  std::string address = join_host_port(options.host, options.port);
  log::info().str("address", address).msg("Starting Toxiproxy HTTP server");
  std::string err;
  auto resolved = resolve_listen(address, err);
  int fd = -1;
  if (!resolved) {
    err = "listen tcp: " + err;
  } else {
    fd = bind_listener(*resolved, err, 1024);
  }
  if (fd < 0) {
    // Like Toxiproxy, keep running without an API: proxies from -config keep working.
    log::error().str("error", err).msg("Server finished with error");
  } else {
    server.start(fd);
  }

  MemoryRelease memory_release(control);
  asio::signal_set signals(control, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (ec) return;
    log::info().msg("Shutdown started");
    server.stop();
    control.stop();
  });
  control.run();
  pool.stop();
  std::fflush(stdout);
  // Proxies are not closed one by one; process exit closes their sockets.
  std::_Exit(0);
}

}  // namespace faultline::FAULTLINE_BACKEND_NS
