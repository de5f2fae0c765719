// What every runtime of one test shares: the script's location and environment, what the
// first runtime (#0, k6's "bundle") found — files opened, metrics declared — and, once the
// run is configured, the registry and tag sets the VUs record into. Read-only for the VUs
// except for the tables that say they are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/config/duration.h"
#include "loadgen/config/options.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/samples.h"

namespace faultline::loadgen::js {

class Engine;

// Files read with open() during the first init; later runtimes may only read these (k6).
// Thread-safe.
class FileStore {
 public:
  // The content of `path`, reading it now when allowed; nullopt with `error` otherwise.
  std::optional<std::string> read(const std::string& path, std::string& error);
  void freeze();

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const std::string>> files_;
  bool frozen_ = false;
};

// Check ids by group path and name, and the groups entered, in first-seen order (the
// summary lists them so). Thread-safe.
class CheckTable {
 public:
  uint32_t id(const std::string& group, const std::string& name);
  struct Entry {
    std::string group, name;
  };
  std::vector<Entry> entries() const;
  // A group path ("::a::b") was entered.
  void note_group(const std::string& path);
  std::vector<std::string> groups() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, uint32_t> ids_;
  std::vector<Entry> entries_;
  std::set<std::string> group_set_;
  std::vector<std::string> groups_;
};

// SharedArray data: one copy per process, each element kept as JSON text. The first
// runtime to ask for a name builds the array while later askers of that name wait for it,
// so the script's function runs once per process even when VUs initialise in parallel.
// Thread-safe.
class SharedData {
 public:
  using Items = std::shared_ptr<const std::vector<std::string>>;
  enum class Claim {
    kReady,      // `items` holds the array
    kBuild,      // the caller must build it and then publish() or abandon() it
    kRecursive,  // the calling thread is building this very name (its function asks for it)
    kInterrupted,
  };
  // Looks `name` up, waiting while another thread builds it; `interrupted` is polled then.
  Claim claim(const std::string& name, const std::function<bool()>& interrupted, Items& items);
  // Stores the array the caller built after claim() said kBuild, and wakes the waiters.
  Items publish(const std::string& name, std::vector<std::string> items);
  // The build failed: the next claim() of `name` builds it again.
  void abandon(const std::string& name);

 private:
  std::mutex mutex_;
  std::condition_variable built_;
  std::map<std::string, Items> arrays_;
  std::map<std::string, std::thread::id> building_;
};

// A custom metric as a script declared it (new Trend('name', true)).
struct ScriptMetric {
  std::string name;
  MetricType type = MetricType::kTrend;
  bool is_time = false;
};

struct ScriptContext {
  Engine* engine = nullptr;
  std::string main_path;  // absolute path of the script
  std::string main_url;   // file:///... of the script
  // `run -`: the script came on standard input; relative imports and open() start from
  // the working directory.
  std::optional<std::string> main_source;
  std::map<std::string, std::string> env;  // __ENV before scenario env

  FileStore files;
  CheckTable checks;
  SharedData shared;

  // Metrics the scripts declared, in declaration order; until `registry` is set (runtime
  // #0) declarations are collected here, afterwards they are looked up in the registry.
  std::mutex metrics_mutex;
  std::vector<ScriptMetric> declared;

  // The run's configuration, set before any VU is initialised.
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<TagSets> tag_sets;
  Tags run_tags;
  std::vector<Scenario> scenarios;
  std::string user_agent = "Grafana k6/1.8.1";
  Duration request_timeout = std::chrono::seconds(60);
  bool throw_errors = false;      // k6's `throw` option
  bool no_cookies_reset = false;  // k6's `noCookiesReset`: one cookie jar per VU, not per iteration
  std::string test_options_json;  // exec.test.options

  // exec.test.abort(): set by any runtime, read by the runner.
  std::atomic<bool> abort_requested{false};
  std::mutex abort_mutex;
  std::string abort_reason;
  // exec.test.fail()
  std::atomic<bool> marked_failed{false};
};

}  // namespace faultline::loadgen::js
