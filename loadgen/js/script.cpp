#include "loadgen/js/script.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <semaphore>

#include "loadgen/js/resolution.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/report/console.h"

namespace faultline::loadgen::js {

// ---- RuntimeThread ------------------------------------------------------------------

RuntimeThread::RuntimeThread(ScriptContext& script, int64_t vu_id)
    : script_(script), vu_id_(vu_id) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, Runtime::kStackSize);
  int rc = pthread_create(
      &thread_, &attr,
      [](void* self) -> void* {
        static_cast<RuntimeThread*>(self)->main();
        return nullptr;
      },
      this);
  pthread_attr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start a thread for a JavaScript runtime");
}

RuntimeThread::~RuntimeThread() {
  stop();
  pthread_join(thread_, nullptr);
}

void RuntimeThread::stop() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  interrupt();
}

void RuntimeThread::main() {
  std::unique_ptr<Runtime> rt;
  ScriptError err;
  bool ok = false;
  try {
    rt = std::make_unique<Runtime>(script_, vu_id_);
    ok = rt->init(err);
  } catch (const std::exception& e) {
    err.message = e.what();
  }
  {
    std::lock_guard lock(mutex_);
    ready_ = true;
    init_ok_ = ok;
    init_error_ = err;
    runtime_ = rt.get();
  }
  cv_.notify_all();
  for (;;) {
    std::function<void(Runtime&)> job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return quit_ || !jobs_.empty(); });
      if (jobs_.empty()) break;  // quit with nothing left to do
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (rt && init_ok_) {
      JSAutoRealm realm(rt->cx(), rt->global());
      job(*rt);
    }
  }
  {
    std::lock_guard lock(mutex_);
    runtime_ = nullptr;
  }
  rt.reset();
}

bool RuntimeThread::wait_ready(ScriptError& err) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return ready_; });
  if (!init_ok_) err = init_error_;
  return init_ok_;
}

void RuntimeThread::post(std::function<void(Runtime&)> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void RuntimeThread::interrupt() {
  std::lock_guard lock(mutex_);
  if (runtime_) runtime_->interrupt();
}

// ---- Script::Vu -----------------------------------------------------------------------

class Script::Vu : public ScriptedVu {
 public:
  Vu(Script& script, int64_t id)
      : script_(script), id_(id), thread_(std::make_unique<RuntimeThread>(script.context_, id)) {}

  bool wait_ready(ScriptError& err) { return thread_->wait_ready(err); }
  int64_t id() const override { return id_; }

  void iterate(const IterationScope& scope, VuHost& host,
               std::function<void(bool, uint32_t)> done) override {
    thread_->post([this, scope, &host, done = std::move(done)](Runtime& rt) {
      uint32_t tags = 0;
      bool completed = run_iteration(rt, scope, host, tags);
      done(completed, tags);
    });
  }

  void loop(Loop loop, VuHost& host, std::function<void()> done) override {
    thread_->post([this, loop = std::move(loop), &host, done = std::move(done)](Runtime& rt) {
      IterationScope scope;
      while (loop.next(scope)) {
        uint32_t tags = 0;
        bool completed = run_iteration(rt, scope, host, tags);
        loop.finished(completed, tags);
      }
      done();
    });
  }

  void interrupt() override { thread_->interrupt(); }
  void stop() { thread_->stop(); }

 private:
  // One iteration on the runtime's thread; false when it was interrupted. `tags` receives
  // the tag set of its samples (0 when it did not start).
  bool run_iteration(Runtime& rt, const IterationScope& scope, VuHost& host, uint32_t& tags) {
    rt.clear_interrupt();
    // An interruption that came before this iteration started (see interrupt()).
    if (host.interrupted()) return false;
    rt.phase = Phase::kIteration;
    rt.host = &host;
    rt.scope = scope;
    rt.group.clear();
    ScriptContext& sc = script_.context_;
    if (scope.scenario_index != scenario_) {
      // k6 replaces __ENV when a VU moves to another scenario.
      auto env = sc.env;
      for (const auto& [k, v] : scope.scenario->env) env[k] = v;
      rt.set_env(env);
      rt.vu_tags.clear();
      scenario_ = scope.scenario_index;
    }
    rt.set_iteration(++iterations_);
    // k6 starts every iteration with an empty cookie jar unless noCookiesReset.
    if (!sc.no_cookies_reset) ++rt.cookie_jar_generation;
    ScriptError err;
    bool ok = false;
    {
      JS::RootedValue data(rt.cx());
      JS::RootedValue result(rt.cx());
      if (!rt.setup_data(script_.setup_data_, &data)) {
        err = take_error(rt.cx());
      } else {
        ok = rt.call_export(scope.scenario->exec, data, &result, err);
      }
    }
    rt.host = nullptr;
    rt.group.clear();
    tags = rt.tags();
    bool completed = !err.uncatchable && !host.interrupted();
    if (!ok && completed) {
      log_line("error", err.text(),
               "executor=" + std::string(executor_name(scope.scenario->executor)) +
                   " scenario=" + scope.scenario->name + " source=stacktrace");
    }
    return completed;
  }

  Script& script_;
  int64_t id_;
  int64_t iterations_ = -1;
  uint32_t scenario_ = UINT32_MAX;
  std::unique_ptr<RuntimeThread> thread_;
};

// ---- Script ---------------------------------------------------------------------------

Script::Script(const std::string& path, std::map<std::string, std::string> env, JitMode jit) {
  context_.main_path = absolute_path(path);
  context_.main_url = path_to_url(context_.main_path);
  if (path == "-") {
    std::string text;
    char buffer[65536];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) text.append(buffer, n);
    context_.main_source = std::move(text);
  }
  context_.env = std::move(env);
  engine_ = std::make_unique<Engine>(jit);
  context_.engine = engine_.get();
}

Script::~Script() {
  {
    std::lock_guard lock(vus_mutex_);
    idle_.clear();
  }
  // Every runtime is told to end first, so they tear down in parallel, then joined.
  for (auto& vu : vus_) {
    if (vu) vu->stop();
  }
  vus_.clear();
  phases_.clear();
  bundle_.reset();
  engine_.reset();
}

bool Script::exports_function(const std::string& name) const {
  auto it = exports_.find(name);
  return it != exports_.end() && it->second;
}

std::vector<ScriptMetric> Script::declared_metrics() {
  std::lock_guard lock(context_.metrics_mutex);
  return context_.declared;
}

ScriptLoadResult Script::load() {
  ScriptLoadResult result;
  std::string read_error;
  if (!context_.main_source && !read_whole_file(context_.main_path, read_error)) {
    result = {false, 107,
              "The moduleSpecifier \"" + context_.main_path +
                  "\" couldn't be found on local disk. (" + read_error + ")"};
    return result;
  }
  bundle_ = std::make_unique<RuntimeThread>(context_, 0);
  ScriptError err;
  if (!bundle_->wait_ready(err)) {
    if (context_.abort_requested) return {false, 108, context_.abort_reason};
    return {false, 107, err.text()};
  }
  std::promise<ScriptLoadResult> outcome;
  bundle_->post([&](Runtime& rt) {
    ScriptLoadResult r;
    for (const auto& [name, is_function] : rt.export_names()) exports_[name] = is_function;
    for (const char* name : {"setup", "teardown"}) {
      auto it = exports_.find(name);
      if (it != exports_.end() && !it->second) {
        r = {false, 107, std::string("exported '") + name + "' must be a function"};
        outcome.set_value(r);
        return;
      }
    }
    if (std::none_of(exports_.begin(), exports_.end(), [](const auto& e) { return e.second; })) {
      outcome.set_value({false, 107, "no exported functions in script"});
      return;
    }
    JSContext* cx = rt.cx();
    JS::RootedValue options(cx);
    if (!rt.get_export("options", &options)) {
      outcome.set_value({false, 107, take_error(cx).text()});
      return;
    }
    bool failed = false;
    auto json = stringify(cx, options, failed);
    if (failed) {
      outcome.set_value({false, 107, take_error(cx).text()});
      return;
    }
    options_json_ = json.value_or("null");
    outcome.set_value(r);
  });
  result = outcome.get_future().get();
  // Later runtimes may only use what this one loaded (k6-js-api §1.8, §2.3).
  engine_->freeze();
  context_.files.freeze();
  return result;
}

std::unique_ptr<Script::Vu> Script::make_vu(int64_t id, ScriptLoadResult& result) {
  auto vu = std::make_unique<Vu>(*this, id);
  ScriptError err;
  if (!vu->wait_ready(err)) {
    result = {
        false, 107,
        err.text() + "error while initializing VU #" + std::to_string(id) + " (script exception)"};
    return nullptr;
  }
  return vu;
}

ScriptLoadResult Script::init_vus(int64_t count) {
  ScriptLoadResult result;
  // Several at a time, not all at once: a runtime's start is mostly CPU.
  unsigned parallel = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Vu>> made(static_cast<size_t>(count));
  std::mutex m;
  std::atomic<int64_t> next{0};
  std::vector<std::thread> starters;
  for (unsigned t = 0; t < parallel && t < count; ++t) {
    starters.emplace_back([&] {
      for (int64_t i = next++; i < count; i = next++) {
        ScriptLoadResult r;
        auto vu = make_vu(i + 1, r);
        std::lock_guard lock(m);
        if (!vu && result.ok) result = r;
        made[static_cast<size_t>(i)] = std::move(vu);
        if (!result.ok) next = count;
      }
    });
  }
  for (auto& t : starters) t.join();
  std::lock_guard lock(vus_mutex_);
  for (auto& vu : made) {
    if (!vu) continue;
    idle_.push_back(vu.get());
    vus_.push_back(std::move(vu));
  }
  // Handed out lowest id first.
  std::sort(idle_.begin(), idle_.end(), [](Vu* a, Vu* b) { return a->id() > b->id(); });
  return result;
}

ScriptedVu* Script::acquire() {
  {
    std::lock_guard lock(vus_mutex_);
    if (!idle_.empty()) {
      Vu* vu = idle_.back();
      idle_.pop_back();
      return vu;
    }
  }
  int64_t id;
  {
    std::lock_guard lock(vus_mutex_);
    id = static_cast<int64_t>(vus_.size()) + 1;
    vus_.push_back(nullptr);  // reserves the id
  }
  ScriptLoadResult r;
  auto vu = make_vu(id, r);
  if (!vu) {
    log_line("error", r.message);
    return nullptr;
  }
  Vu* raw = vu.get();
  std::lock_guard lock(vus_mutex_);
  vus_[static_cast<size_t>(id - 1)] = std::move(vu);
  return raw;
}

void Script::release(ScriptedVu* vu) {
  std::lock_guard lock(vus_mutex_);
  idle_.push_back(static_cast<Vu*>(vu));
}

void Script::run_phase(const std::string& name, VuHost& host,
                       std::function<void(ScriptPhaseResult)> done) {
  auto thread = std::make_unique<RuntimeThread>(context_, 0);
  RuntimeThread& t = *thread;
  {
    std::lock_guard lock(phases_mutex_);
    phases_.push_back(std::move(thread));
  }
  t.post([this, name, &host, done = std::move(done)](Runtime& rt) {
    rt.phase = name == "setup" ? Phase::kSetup : Phase::kTeardown;
    rt.host = &host;
    rt.group = "::" + name;
    context_.checks.note_group(rt.group);
    JSContext* cx = rt.cx();
    ScriptPhaseResult result;
    ScriptError err;
    JS::RootedValue data(cx), value(cx);
    bool ok = name == "setup" || rt.setup_data(setup_data_, &data);
    if (!ok) err = take_error(cx);
    if (ok) ok = rt.call_export(name, data, &value, err);
    if (ok && name == "setup" && !value.isUndefined()) {
      bool failed = false;
      auto json = stringify(cx, value, failed);
      if (failed) {
        ok = false;
        err = take_error(cx);
        err.message = "error marshaling setup() data to JSON: " + err.message;
      } else {
        setup_data_ = json;
      }
    }
    rt.host = nullptr;
    if (!ok) {
      result.ok = false;
      result.exit_code = context_.abort_requested ? 108 : 107;
      result.message = err.uncatchable ? name + "() was interrupted" : err.text();
      if (!err.uncatchable) log_line("error", err.text(), log_field("hint", "script exception"));
    }
    done(result);
  });
}

void Script::interrupt_phase() {
  std::lock_guard lock(phases_mutex_);
  for (auto& t : phases_) t->interrupt();
}

void Script::setup(VuHost& host, std::function<void(ScriptPhaseResult)> done) {
  run_phase("setup", host, std::move(done));
}

void Script::teardown(VuHost& host, std::function<void(ScriptPhaseResult)> done) {
  run_phase("teardown", host, std::move(done));
}

bool Script::handle_summary(const std::string& data_json) {
  auto it = exports_.find("handleSummary");
  if (it == exports_.end()) return false;
  if (!it->second) {
    log_line("error", "failed to handle the end-of-test summary",
             log_field("error", "exported identifier handleSummary must be a function"));
    return false;
  }
  RuntimeThread thread(context_, 0);
  ScriptError init_error;
  if (!thread.wait_ready(init_error)) {
    log_line("error", init_error.text());
    return false;
  }
  std::promise<bool> handled;
  thread.post([&](Runtime& rt) {
    rt.phase = Phase::kSummary;
    JSContext* cx = rt.cx();
    JS::RootedValue data(cx), result(cx);
    ScriptError err;
    if (!parse_json(cx, data_json, &data) || !rt.call_export("handleSummary", data, &result, err)) {
      if (err.message.empty()) err = take_error(cx);
      log_line("error", err.text(), log_field("hint", "script exception"));
      handled.set_value(false);
      return;
    }
    if (!JS::ToBoolean(result)) {
      handled.set_value(false);
      return;
    }
    if (!result.isObject()) {
      log_line("error", "failed to handle the end-of-test summary",
               log_field("error", "handleSummary() should return a map with string keys"));
      handled.set_value(true);
      return;
    }
    JS::RootedObject outputs(cx, &result.toObject());
    JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
    if (!JS_Enumerate(cx, outputs, &ids)) {
      log_line("error", take_error(cx).text());
      handled.set_value(true);
      return;
    }
    // Every value is checked before anything is written (k6-js-api §1.5).
    std::vector<std::pair<std::string, std::string>> writes;
    for (size_t i = 0; i < ids.length(); ++i) {
      JS::RootedValue key(cx), value(cx);
      if (!JS_IdToValue(cx, ids[i], &key) || !JS_GetPropertyById(cx, outputs, ids[i], &value)) {
        handled.set_value(true);
        return;
      }
      auto name = to_utf8(cx, key);
      std::string bytes;
      if (!name ||
          !(value.isString() || (value.isObject() && is_array_buffer(&value.toObject()))) ||
          !bytes_of(cx, value, bytes)) {
        std::string type = value.isObject() ? "object" : value.isNumber() ? "number" : "other";
        log_line("error", "failed to handle the end-of-test summary",
                 log_field("error", "error handling summary object " + name.value_or("") +
                                        ": invalid type " + type +
                                        ", it needs to be a string or ArrayBuffer"));
        handled.set_value(true);
        return;
      }
      writes.emplace_back(*name, std::move(bytes));
    }
    std::string problems;
    for (const auto& [name, bytes] : writes) {
      if (name == "stdout" || name == "stderr") {
        std::FILE* f = name == "stdout" ? stdout : stderr;
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fflush(f);
        continue;
      }
      std::ofstream out(name, std::ios::binary | std::ios::trunc);
      out << bytes;
      if (!out) problems += "\n\t- could not open '" + name + "': " + std::strerror(errno);
    }
    if (!problems.empty()) {
      log_line("error", "failed to handle the end-of-test summary",
               log_field("error", "Could not save some summary information:" + problems));
    }
    handled.set_value(true);
  });
  return handled.get_future().get();
}

}  // namespace faultline::loadgen::js
