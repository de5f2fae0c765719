// One JavaScript runtime: a SpiderMonkey context (a child of the engine's parent runtime)
// with one global, the module instances of the script, and the k6 state of the VU it
// serves. Created, used and destroyed on one thread.
#pragma once

#include <js/GCVector.h>
#include <js/Promise.h>
#include <jsapi.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "loadgen/js/context.h"
#include "loadgen/js/errors.h"
#include "loadgen/run/http_exchange.h"
#include "loadgen/run/scripted.h"

namespace faultline::loadgen::js {

// Where a runtime is in k6's life cycle (k6-js-api §1.7 says what is allowed where).
enum class Phase { kInit, kSetup, kIteration, kTeardown, kSummary };

class Runtime {
 public:
  // The native stack a runtime's thread gets, and how much of it scripts may use.
  static constexpr size_t kStackSize = 2u << 20;
  static constexpr size_t kStackQuota = 1536u << 10;

  // Makes the context and global on the calling thread; throws std::runtime_error when
  // SpiderMonkey cannot. `vu_id` is __VU (0 for runtime #0, setup, teardown, summary).
  Runtime(ScriptContext& script, int64_t vu_id);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  static Runtime& of(JSContext* cx);
  JSContext* cx() const { return cx_; }
  JSObject* global() const { return *global_; }
  ScriptContext& script() const { return script_; }

  // Runs the init context: evaluates the main module and everything it imports.
  bool init(ScriptError& err);
  // The names the main module exports, and whether each is a function.
  std::vector<std::pair<std::string, bool>> export_names();
  // The value of export `name` (undefined when absent).
  bool get_export(const std::string& name, JS::MutableHandleValue out);
  // Calls export `name` with `arg`, then runs the event loop (promise jobs, timers) until
  // nothing is pending; an async function's promise is awaited. On failure `err` says
  // why; err.uncatchable means the runtime was interrupted.
  bool call_export(const std::string& name, JS::HandleValue arg, JS::MutableHandleValue result,
                   ScriptError& err);

  // Makes __ENV the given environment (a scenario's env on top of the base one).
  bool set_env(const std::map<std::string, std::string>& env);
  // Defines __ITER (iterations only).
  bool set_iteration(int64_t iteration);
  // The value setup() returned, parsed from its JSON once per runtime and then shared by
  // its iterations (k6-js-api §1.3); undefined when there is none.
  bool setup_data(const std::optional<std::string>& json, JS::MutableHandleValue out);

  // From any thread: stop the JavaScript running now (gracefulStop, abort, signal).
  void interrupt();
  void clear_interrupt() { interrupted_ = false; }
  bool interrupted() const { return interrupted_.load(std::memory_order_relaxed); }

  // --- k6 state the modules read and change ---
  Phase phase = Phase::kInit;
  int64_t vu_id = 0;
  int64_t iteration = -1;  // __ITER: iterations of this VU so far (during one: its number)
  VuHost* host = nullptr;  // during setup, iterations and teardown
  IterationScope scope;
  std::string group;                       // "" at the root, "::a::b" inside groups
  std::set<std::string> groups_seen;       // noted in the script's CheckTable already
  Tags vu_tags;                            // exec.vu.tags
  Expectation expectation;                 // k6/http's responseCallback
  std::map<std::string, std::string> env;  // this runtime's __ENV source
  // The SharedArrays this runtime has views of, by the handle k6/data's JavaScript holds;
  // the data itself is the process's one copy (ScriptContext::shared).
  std::vector<SharedData::Items> shared_arrays;
  // Bumped when k6 gives the VU a new cookie jar (every iteration unless noCookiesReset):
  // k6/http makes a new jar when it sees the number change.
  uint64_t cookie_jar_generation = 0;
  // Tag set id of the VU's current tags plus `extra`, cached (the run's tag sets).
  uint32_t tags(const Tags& extra = {});

  // State a module keeps per runtime (k6/ws's open sessions, k6/http's last plain
  // request), by module name.
  std::map<std::string, std::shared_ptr<void>> module_state;

  // Timers of k6/timers and the global setTimeout family.
  uint32_t add_timer(JS::HandleValue fn, JS::HandleValueArray args, double delay_ms, bool repeat);
  void clear_timer(uint32_t id);

 private:
  static JSObject* resolve_hook(JSContext* cx, JS::HandleValue referrer, JS::HandleObject request);
  static bool metadata_hook(JSContext* cx, JS::HandleValue priv, JS::HandleObject meta);
  static bool interrupt_callback(JSContext* cx);
  static void rejection_tracker(JSContext* cx, bool muted, JS::HandleObject promise,
                                JS::PromiseRejectionHandlingState state, void* data);
  JSObject* load_module(const std::string& key, const std::string& specifier);
  bool run_event_loop(ScriptError& err);

  ScriptContext& script_;
  JSContext* cx_ = nullptr;
  std::unique_ptr<JS::PersistentRootedObject> global_;
  std::unique_ptr<JS::PersistentRootedObject> main_;
  std::unique_ptr<JS::PersistentRootedObject> namespace_;  // main_'s, made when first read
  std::unique_ptr<JS::PersistentRootedValue> setup_data_;
  std::map<std::string, JS::PersistentRootedObject> modules_;  // by URL or built-in name
  std::atomic<bool> interrupted_{false};
  std::string load_error_;  // why a module could not be loaded: k6 reports it as it is
  std::unique_ptr<JS::PersistentRooted<JS::GCVector<JSObject*, 0, ::js::SystemAllocPolicy>>>
      rejected_;  // unhandled rejections of the current call

  struct Timer {
    uint32_t id;
    std::chrono::steady_clock::time_point due;
    double interval_ms;  // < 0: once
    std::unique_ptr<JS::PersistentRootedValue> fn;
    std::unique_ptr<JS::PersistentRooted<JS::GCVector<JS::Value, 0, ::js::SystemAllocPolicy>>> args;
  };
  std::vector<Timer> timers_;
  uint32_t next_timer_ = 1;

  std::string tags_key_;
  std::unordered_map<std::string, uint32_t> tag_cache_;
};

}  // namespace faultline::loadgen::js
