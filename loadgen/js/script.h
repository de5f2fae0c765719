// A k6 test script, as the rest of loadgen sees it. Loading it starts SpiderMonkey and
// runs k6's first runtime (#0, the "bundle"), which yields the exported options, the
// exported functions and the custom metrics. Once the run is configured, the script
// initialises its VUs (one runtime and one thread each) and serves the runner as its
// ScriptRuntime; at the end it runs handleSummary.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/js/context.h"
#include "loadgen/js/engine.h"
#include "loadgen/js/errors.h"
#include "loadgen/run/scripted.h"

namespace faultline::loadgen::js {

class Runtime;

// A runtime on a thread of its own, run by jobs posted from other threads.
class RuntimeThread {
 public:
  // Starts the thread; it creates the runtime and runs the init context.
  RuntimeThread(ScriptContext& script, int64_t vu_id);
  ~RuntimeThread();
  RuntimeThread(const RuntimeThread&) = delete;
  RuntimeThread& operator=(const RuntimeThread&) = delete;

  // Waits until init finished; false with `err` when it failed.
  bool wait_ready(ScriptError& err);
  // Runs `job` on the runtime's thread (in posting order).
  void post(std::function<void(Runtime&)> job);
  // Any thread: interrupts the JavaScript running now.
  void interrupt();
  // Any thread: asks the thread to end once its jobs are done (the destructor waits).
  void stop();

 private:
  void main();

  ScriptContext& script_;
  int64_t vu_id_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void(Runtime&)>> jobs_;
  bool quit_ = false;
  bool ready_ = false;
  bool init_ok_ = false;
  ScriptError init_error_;
  Runtime* runtime_ = nullptr;  // owned by the thread
  pthread_t thread_{};
};

struct ScriptLoadResult {
  bool ok = true;
  int exit_code = 0;  // 107 for script errors
  std::string message;
};

class Script : public ScriptRuntime {
 public:
  Script(const std::string& path, std::map<std::string, std::string> env, JitMode jit);
  ~Script() override;

  // Runs runtime #0. Afterwards options_json(), exports and declared metrics are known.
  ScriptLoadResult load();
  // JSON of the exported `options` ("null" when none).
  const std::string& options_json() const { return options_json_; }
  bool exports_function(const std::string& name) const;
  bool has_handle_summary() const { return exports_function("handleSummary"); }
  std::vector<ScriptMetric> declared_metrics();
  ScriptContext& context() { return context_; }

  // Initialises `count` VUs (several at a time); false with the message k6 gives.
  ScriptLoadResult init_vus(int64_t count);

  // ScriptRuntime
  ScriptedVu* acquire() override;
  void release(ScriptedVu* vu) override;
  void setup(VuHost& host, std::function<void(ScriptPhaseResult)> done) override;
  void teardown(VuHost& host, std::function<void(ScriptPhaseResult)> done) override;
  void interrupt_phase() override;
  bool abort_requested() const override { return context_.abort_requested.load(); }
  bool has_setup() const override { return exports_function("setup"); }
  bool has_teardown() const override { return exports_function("teardown"); }

  // Calls handleSummary(data) in a runtime of its own and writes what it returns; returns
  // false when the default summary must be printed instead (no function, a falsy result,
  // or an error, which is logged).
  bool handle_summary(const std::string& data_json);

 private:
  class Vu;
  // Runs setup() or teardown() (`name`) in a fresh runtime with `host`.
  void run_phase(const std::string& name, VuHost& host,
                 std::function<void(ScriptPhaseResult)> done);
  std::unique_ptr<Vu> make_vu(int64_t id, ScriptLoadResult& result);

  ScriptContext context_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RuntimeThread> bundle_;
  std::string options_json_ = "null";
  std::map<std::string, bool> exports_;    // name -> is a function
  std::optional<std::string> setup_data_;  // JSON of setup()'s result, when it gave one

  std::mutex vus_mutex_;
  std::vector<std::unique_ptr<Vu>> vus_;
  std::vector<Vu*> idle_;
  std::mutex phases_mutex_;
  std::vector<std::unique_ptr<RuntimeThread>> phases_;  // setup / teardown runtimes
};

}  // namespace faultline::loadgen::js
