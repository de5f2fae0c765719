// Runs a test: every scenario's executor on a pool of worker threads, each VU a coroutine
// with one keep-alive HTTP/1.1 connection. The runner is compiled once per I/O backend
// (namespaces faultline::uring / faultline::epoll); main() picks one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <netinet/in.h>

#include "loadgen/config/duration.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/config/options.h"
#include "loadgen/config/plan.h"

namespace faultline::loadgen {

struct CompiledCheck {
  CheckSpec spec;
  uint32_t id = 0;                    // index into Recorder::checks
  uint32_t scenario_id = UINT32_MAX;  // full summary: the scenario's own count, if any
  std::vector<uint32_t> subs;         // `checks` sub-metrics this check's samples belong to
  uint32_t series = 0;                // with RunConfig::series
  std::string tags_json;              // with RunConfig::json
};

struct CompiledRecord {
  RecordSpec spec;
  uint32_t metric = 0;
  std::vector<uint32_t> subs;
  uint32_t series = 0;
  std::string tags_json;
};

// A request with everything resolved: address, the bytes to send, its tags.
struct CompiledRequest {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string bytes;
  uint32_t site = 0;  // unique per request in the test, for the sub-metric cache
  Tags tags;          // tags every sample of this request carries, before status & co.
  std::vector<CompiledCheck> checks;
  std::vector<CompiledRecord> records;
  bool need_body = false;
  bool need_headers = false;
  bool head = false;  // HEAD: the response has no body
  Duration timeout = std::chrono::seconds(60);
};

struct CompiledStep {
  bool is_sleep = false;
  Duration sleep_min{0};
  Duration sleep_max{0};
  CompiledRequest request;
};

struct CompiledScenario {
  Scenario scenario;
  std::vector<CompiledStep> flow;
  Tags tags;                   // run tags + scenario tags + scenario + group
  std::vector<uint32_t> subs;  // sub-metrics matching `tags` (iterations, data, dropped)
  // With RunConfig::series: the series of iterations, iteration_duration, data_sent,
  // data_received and dropped_iterations for this scenario.
  uint32_t series_iterations = 0, series_iteration_duration = 0, series_data_sent = 0,
           series_data_received = 0, series_dropped = 0;
  // With RunConfig::json: the tags object of the scenario's samples, and of its
  // dropped_iterations samples (no group).
  std::string tags_json, dropped_tags_json;
};

// `--out json` (spec §8.1): receives JSON lines. Thread-safe.
class JsonSink {
 public:
  virtual ~JsonSink() = default;
  // Writes the metric's "Metric" line unless that was done already.
  virtual void announce(uint32_t metric) = 0;
  // Writes "Point" lines (complete lines).
  virtual void write(const std::string& lines) = 0;
};

struct ScenarioProgress {
  uint64_t completed = 0;
  uint64_t interrupted = 0;
  int64_t active = 0;   // VUs in the scenario (arrival rate: VUs in an iteration)
  int64_t created = 0;  // arrival rate: VUs created so far
  bool started = false;
  bool finished = false;
};

struct Progress {
  double elapsed_s = 0;            // since the run started (setup included)
  double scenarios_elapsed_s = 0;  // since the scenarios started
  int64_t active_vus = 0;
  uint64_t completed = 0;
  uint64_t interrupted = 0;
  std::vector<ScenarioProgress> scenarios;
};

struct RunConfig {
  std::shared_ptr<const Registry> registry;
  std::vector<CompiledScenario> scenarios;  // sorted by (startTime, name)
  std::vector<CompiledStep> setup;
  Tags setup_tags;
  std::vector<uint32_t> vus_subs;  // sub-metrics of vus / vus_max matching run tags
  // Per-tag-set series (for --out prometheus); null when no output needs them.
  std::shared_ptr<SeriesTable> series;
  uint32_t series_vus = 0, series_vus_max = 0;
  // Called from the main thread every second with all metrics so far, and at the end.
  std::function<void(const Recorder&, double elapsed_s)> on_snapshot;
  // --out json: every sample as a JSON line; null when not asked for.
  JsonSink* json = nullptr;
  std::string run_tags_json;  // tags of vus / vus_max samples
  size_t check_count = 0;
  RunPlan plan;
  int64_t rps = 0;  // process-wide request cap per second; 0 = none
  unsigned threads = 1;
  uint64_t seed = 0;
  // Called from the main thread every `progress_interval`.
  std::function<void(const Progress&)> on_progress;
  Duration progress_interval = std::chrono::seconds(1);
  // Called every 2 s with the metrics so far; returning true aborts the run
  // (abortOnFail thresholds).
  std::function<bool(const Recorder&, double elapsed_s)> should_abort;
};

struct RunResult {
  std::unique_ptr<Recorder> metrics;
  double elapsed_s = 0;
  int signal = 0;  // SIGINT or SIGTERM that aborted the run
  bool aborted_by_threshold = false;
  std::string setup_error;  // non-empty when setup failed (the run did not start)
  uint64_t completed = 0;
  uint64_t interrupted = 0;
  Progress final_progress;  // the state at the end, for the last progress block
};

}  // namespace faultline::loadgen

namespace faultline::uring {
loadgen::RunResult run_load(const loadgen::RunConfig& config);
}
namespace faultline::epoll {
loadgen::RunResult run_load(const loadgen::RunConfig& config);
}
