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

#include "loadgen/config/duration.h"
#include "loadgen/config/options.h"
#include "loadgen/config/plan.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/samples.h"
#include "loadgen/run/http_exchange.h"
#include "loadgen/run/scripted.h"

namespace faultline::loadgen {

struct CompiledCheck {
  CheckSpec spec;
  uint32_t id = 0;                    // index into Recorder::checks
  uint32_t scenario_id = UINT32_MAX;  // full summary: the scenario's own count, if any
  uint32_t tags = 0;                  // tag set of its `checks` samples
};

struct CompiledRecord {
  RecordSpec spec;
  uint32_t metric = 0;
  uint32_t tags = 0;
};

// A request with everything resolved: address, the bytes to send, its tags.
struct CompiledRequest {
  HttpTarget target;
  std::string bytes;
  uint32_t tags = 0;  // tag set every sample of this request starts from (before status & co.)
  std::vector<CompiledCheck> checks;
  std::vector<CompiledRecord> records;
  bool need_body = false;
  bool need_headers = false;
  bool head = false;  // HEAD: the response has no body
  Duration timeout = std::chrono::seconds(60);
};

// A WebSocket step resolved: what to dial, the messages, the tags of its ws_* samples
// (before status and subproto, known after the handshake).
struct CompiledWs {
  WsOpenSpec open;
  std::vector<std::string> messages;
  size_t expect = 0;  // unasked messages to wait for after the replies
  Tags tags;
};

struct CompiledStep {
  bool is_sleep = false;
  Duration sleep_min{0};
  Duration sleep_max{0};
  CompiledRequest request;  // for a WebSocket step: its checks, records, timeout and tags
  bool is_ws = false;
  CompiledWs ws;
};

struct CompiledScenario {
  Scenario scenario;
  uint32_t index = 0;  // in RunConfig::scenarios
  std::vector<CompiledStep> flow;
  uint32_t tags = 0;          // run tags + scenario tags + scenario + group
  uint32_t dropped_tags = 0;  // the same without group (dropped_iterations)
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
  std::shared_ptr<TagSets> tag_sets;
  std::vector<CompiledScenario> scenarios;  // sorted by (startTime, name)
  std::vector<CompiledStep> setup;
  // A script's VUs, setup and teardown; null for scenario files (flows).
  ScriptRuntime* script = nullptr;
  uint32_t run_tags = 0;  // tag set of vus / vus_max samples
  // Per-tag-set series (for --out prometheus); null when no output needs them.
  std::shared_ptr<SeriesTable> series;
  // Called from the main thread every second with all metrics so far, and at the end.
  std::function<void(const Recorder&, double elapsed_s)> on_snapshot;
  // Keep per-group aggregates for the full summary's GROUP sections.
  bool group_sections = false;
  // Outputs that read every sample (--out json); they get batches on the main thread.
  std::vector<SampleOutput*> outputs;
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
  std::string setup_error;   // non-empty when setup failed (the run did not start)
  int script_exit_code = 0;  // a script's setup or teardown failed: k6's exit code
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
