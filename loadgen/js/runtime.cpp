#include "loadgen/js/runtime.h"

#include <js/CompilationAndEvaluation.h>
#include <js/Context.h>
#include <js/GCVector.h>
#include <js/Initialization.h>
#include <js/Interrupt.h>
#include <js/Modules.h>
#include <js/Promise.h>
#include <js/SourceText.h>
#include <js/Stack.h>
#include <js/experimental/JSStencil.h>
#include <jsfriendapi.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "loadgen/js/engine.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/resolution.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

using Clock = std::chrono::steady_clock;

const JSClass kGlobalClass = {"global", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps};

}  // namespace

Runtime::Runtime(ScriptContext& script, int64_t vu) : vu_id(vu), script_(script) {
  env = script.env;
  cx_ = JS_NewContext(512u << 20, script.engine->parent_runtime());
  if (!cx_) throw std::runtime_error("cannot create a JavaScript context");
  JS_SetContextPrivate(cx_, this);
  // Set right after creation (spidermonkey-notes: a quota of the whole stack crashes deep
  // recursion; under 90% gives a catchable "too much recursion").
  JS_SetNativeStackQuota(cx_, kStackQuota);
  // A small nursery keeps a VU's memory small; minor collections stay cheap.
  JS_SetGCParameter(cx_, JSGC_MAX_NURSERY_BYTES, 256 * 1024);
  // The job queue must be chosen before self-hosted code is initialised.
  if (!::js::UseInternalJobQueues(cx_)) {
    JS_DestroyContext(cx_);
    throw std::runtime_error("cannot set up the JavaScript job queue");
  }
  if (!JS::InitSelfHostedCode(cx_)) {
    JS_DestroyContext(cx_);
    throw std::runtime_error("cannot initialise a JavaScript context");
  }
  JS_AddInterruptCallback(cx_, &Runtime::interrupt_callback);
  JSRuntime* rt = JS_GetRuntime(cx_);
  JS::SetModuleResolveHook(rt, &Runtime::resolve_hook);
  JS::SetModuleMetadataHook(rt, &Runtime::metadata_hook);
  JS::SetPromiseRejectionTrackerCallback(cx_, &Runtime::rejection_tracker, this);
  rejected_ =
      std::make_unique<JS::PersistentRooted<JS::GCVector<JSObject*, 0, ::js::SystemAllocPolicy>>>(
          cx_);

  JS::RealmOptions options;
  JS::RootedObject global(
      cx_, JS_NewGlobalObject(cx_, &kGlobalClass, nullptr, JS::FireOnNewGlobalHook, options));
  if (!global) {
    rejected_.reset();
    JS_DestroyContext(cx_);
    throw std::runtime_error("cannot create a JavaScript global");
  }
  global_ = std::make_unique<JS::PersistentRootedObject>(cx_, global);
  JSAutoRealm realm(cx_, global);
  if (!define_globals(cx_, global)) {
    ScriptError err = take_error(cx_);
    global_.reset();
    rejected_.reset();
    JS_DestroyContext(cx_);
    throw std::runtime_error("cannot define the k6 globals: " + err.message);
  }
}

Runtime::~Runtime() {
  timers_.clear();
  setup_data_.reset();
  modules_.clear();
  namespace_.reset();
  main_.reset();
  rejected_.reset();
  global_.reset();
  JS_DestroyContext(cx_);
}

Runtime& Runtime::of(JSContext* cx) {
  return *static_cast<Runtime*>(JS_GetContextPrivate(cx));
}

void Runtime::interrupt() {
  interrupted_ = true;
  JS_RequestInterruptCallback(cx_);
}

bool Runtime::interrupt_callback(JSContext* cx) {
  // Returning false ends the running script without an exception (uncatchable).
  return !of(cx).interrupted_.load(std::memory_order_relaxed);
}

void Runtime::rejection_tracker(JSContext* cx, bool, JS::HandleObject promise,
                                JS::PromiseRejectionHandlingState state, void* data) {
  auto* self = static_cast<Runtime*>(data);
  auto& list = self->rejected_->get();
  if (state == JS::PromiseRejectionHandlingState::Unhandled) {
    if (!list.append(promise)) JS_ClearPendingException(cx);
    return;
  }
  for (size_t i = 0; i < list.length(); ++i) {
    if (list[i] == promise) {
      list.erase(list.begin() + i);
      break;
    }
  }
}

bool Runtime::metadata_hook(JSContext* cx, JS::HandleValue priv, JS::HandleObject meta) {
  if (!priv.isString()) return true;
  JS::RootedValue url(cx, priv);
  return JS_DefineProperty(cx, meta, "url", url, JSPROP_ENUMERATE);
}

JSObject* Runtime::resolve_hook(JSContext* cx, JS::HandleValue referrer, JS::HandleObject request) {
  Runtime& self = of(cx);
  JS::RootedString spec_string(cx, JS::GetModuleRequestSpecifier(cx, request));
  if (!spec_string) return nullptr;
  std::string spec = utf8(cx, spec_string);
  std::string from = self.script_.main_url;
  if (referrer.isString()) {
    JS::RootedString r(cx, referrer.toString());
    from = utf8(cx, r);
  }
  std::string key, error;
  if (!resolve_specifier(spec, from, key, error)) {
    self.load_error_ = error;
    throw_go_error(cx, error);
    return nullptr;
  }
  return self.load_module(key, spec);
}

JSObject* Runtime::load_module(const std::string& key, const std::string& specifier) {
  auto found = modules_.find(key);
  if (found != modules_.end()) return found->second;
  const BuiltinModule* builtin = find_builtin(key);
  std::string read_error;
  auto source = [&]() -> std::optional<std::string> {
    if (builtin) return std::string(builtin->source);
    if (key == "faultline:prelude") return std::string(prelude_source());
    if (key == script_.main_url && script_.main_source) return *script_.main_source;
    return read_whole_file(url_to_path(key), read_error);
  };
  bool missing = false, not_loaded = false;
  const CompiledModule* compiled = script_.engine->module(cx_, key, source, missing, not_loaded);
  if (missing) {
    load_error_ = "The moduleSpecifier \"" + specifier + "\" couldn't be found on local disk.";
    throw_go_error(cx_, "The moduleSpecifier \"" + specifier +
                            "\" couldn't be found on local disk. Make sure that you've "
                            "specified the right path to the file. If you're running k6 using "
                            "the Docker image make sure you have mounted the local directory "
                            "(-v /local/path/:/inside/docker/path) containing your script and "
                            "modules so that they're accessible by k6 from inside of the "
                            "container, see https://grafana.com/docs/k6/latest/using-k6/"
                            "modules/#using-local-modules-with-docker. (" +
                            read_error + ")");
    return nullptr;
  }
  if (not_loaded) {
    load_error_ = "the module \"" + specifier +
                  "\" was not previously resolved during initialization (__VU==0)";
    throw_go_error(cx_, "the module \"" + specifier +
                            "\" was not previously resolved during initialization (__VU==0)");
    return nullptr;
  }
  if (!compiled->stencil) {
    JS_ReportErrorUTF8(cx_, "%s", compiled->error.c_str());
    return nullptr;
  }
  JS::CompileOptions options(cx_);
  options.setFileAndLine(key.c_str(), 1);
  options.setForceFullParse();
  JS::InstantiateOptions instantiate(options);
  JS::RootedObject module(cx_,
                          JS::InstantiateModuleStencil(cx_, instantiate, compiled->stencil.get()));
  if (!module) return nullptr;
  JS::RootedString url(cx_, new_string(cx_, key));
  if (!url) return nullptr;
  JS::SetModulePrivate(module, JS::StringValue(url));
  modules_.emplace(key, JS::PersistentRootedObject(cx_, module));
  return module;
}

bool Runtime::init(ScriptError& err) {
  JSAutoRealm realm(cx_, *global_);
  for (const std::string& key : {std::string("faultline:prelude"), script_.main_url}) {
    JS::RootedObject module(cx_, load_module(key, key));
    if (!module || !JS::ModuleInstantiate(cx_, module)) {
      err = take_error(cx_);
      if (!load_error_.empty()) {
        // A module that could not be loaded: k6 reports the reason alone.
        err.message = load_error_;
        err.stack.clear();
      }
      return false;
    }
    JS::RootedValue promise(cx_);
    if (!JS::ModuleEvaluate(cx_, module, &promise)) {
      err = take_error(cx_);
      return false;
    }
    // Top-level await: settle the evaluation before looking at its outcome.
    ::js::RunJobs(cx_);
    JS::RootedObject evaluation(cx_, promise.isObject() ? &promise.toObject() : nullptr);
    // Whether the evaluation has failed; a still pending one (a top-level await) has not
    // yet. ThrowOnModuleEvaluationFailure must only see settled promises: for a pending one
    // it throws `undefined`.
    auto evaluation_failed = [&] {
      if (!evaluation || JS::GetPromiseState(evaluation) == JS::PromiseState::Pending ||
          JS::ThrowOnModuleEvaluationFailure(cx_, evaluation, JS::ThrowModuleErrorsSync)) {
        return false;
      }
      err = take_error(cx_);
      return true;
    };
    if (evaluation_failed()) return false;
    // k6 runs init code on the VU's event loop too: timers set there fire now (and may
    // finish a top-level await), not in the first iteration. An error thrown by the
    // module's own code is reported as such, not as an unhandled rejection.
    if (key == script_.main_url && !run_event_loop(err)) {
      evaluation_failed();
      return false;
    }
    if (evaluation_failed()) return false;
    if (evaluation && JS::GetPromiseState(evaluation) == JS::PromiseState::Pending &&
        !interrupted()) {
      err.message = "the top-level await of " + key + " never settled";
      return false;
    }
    if (interrupted()) {
      err.uncatchable = true;
      return false;
    }
    if (key == script_.main_url) main_ = std::make_unique<JS::PersistentRootedObject>(cx_, module);
  }
  return true;
}

std::vector<std::pair<std::string, bool>> Runtime::export_names() {
  std::vector<std::pair<std::string, bool>> out;
  JSAutoRealm realm(cx_, *global_);
  JS::RootedObject ns(cx_, JS::GetModuleNamespace(cx_, *main_));
  if (!ns) {
    JS_ClearPendingException(cx_);
    return out;
  }
  JS::Rooted<JS::IdVector> ids(cx_, JS::IdVector(cx_));
  if (!JS_Enumerate(cx_, ns, &ids)) {
    JS_ClearPendingException(cx_);
    return out;
  }
  for (size_t i = 0; i < ids.length(); ++i) {
    if (!ids[i].isString()) continue;
    JS::RootedString name(cx_, ids[i].toString());
    JS::RootedValue v(cx_);
    if (!JS_GetPropertyById(cx_, ns, ids[i], &v)) {
      JS_ClearPendingException(cx_);
      continue;
    }
    out.emplace_back(utf8(cx_, name), v.isObject() && JS::IsCallable(&v.toObject()));
  }
  return out;
}

bool Runtime::get_export(const std::string& name, JS::MutableHandleValue out) {
  // The namespace is looked up once; the value every time (an exported `let` may change).
  // A name the module does not export reads as undefined.
  if (!namespace_) {
    JS::RootedObject ns(cx_, JS::GetModuleNamespace(cx_, *main_));
    if (!ns) return false;
    namespace_ = std::make_unique<JS::PersistentRootedObject>(cx_, ns);
  }
  return JS_GetProperty(cx_, *namespace_, name.c_str(), out);
}

bool Runtime::call_export(const std::string& name, JS::HandleValue arg,
                          JS::MutableHandleValue result, ScriptError& err) {
  JSAutoRealm realm(cx_, *global_);
  rejected_->get().clear();
  JS::RootedValue fn(cx_);
  if (!get_export(name, &fn)) {
    err = take_error(cx_);
    return false;
  }
  JS::RootedValueArray<1> args(cx_);
  args[0].set(arg);
  bool ok = JS_CallFunctionValue(cx_, nullptr, fn, args, result);
  if (!ok) {
    err = take_error(cx_);
    // An error thrown while timers were pending: they die with the iteration.
    timers_.clear();
    return false;
  }
  return run_event_loop(err) && [&] {
    // An async exec function: its promise is the iteration's outcome.
    if (!result.isObject()) return true;
    JS::RootedObject obj(cx_, &result.toObject());
    if (!JS::IsPromiseObject(obj)) return true;
    switch (JS::GetPromiseState(obj)) {
      case JS::PromiseState::Fulfilled:
        result.set(JS::GetPromiseResult(obj));
        return true;
      case JS::PromiseState::Rejected: {
        JS::RootedValue reason(cx_, JS::GetPromiseResult(obj));
        JS_SetPendingException(cx_, reason);
        err = take_error(cx_);
        return false;
      }
      case JS::PromiseState::Pending:
        err.message = "the promise returned by " + name + "() never settled";
        return false;
    }
    return true;
  }();
}

bool Runtime::run_event_loop(ScriptError& err) {
  for (;;) {
    ::js::RunJobs(cx_);
    if (interrupted()) {
      err.uncatchable = true;
      timers_.clear();
      return false;
    }
    if (JS_IsExceptionPending(cx_)) {
      err = take_error(cx_);
      timers_.clear();
      return false;
    }
    if (timers_.empty()) break;
    // The earliest timer, after waiting for it; sleep() is how the VU waits.
    auto next = std::min_element(timers_.begin(), timers_.end(),
                                 [](const Timer& a, const Timer& b) { return a.due < b.due; });
    auto now = Clock::now();
    if (next->due > now) {
      auto wait = std::chrono::duration_cast<Duration>(next->due - now);
      if (host) {
        if (!host->sleep(wait)) continue;  // interrupted: seen at the top
      } else {
        // No VU to wait through (init code): short naps, so that an interrupt is noticed.
        std::this_thread::sleep_for(std::min(wait, Duration(std::chrono::milliseconds(20))));
      }
      continue;
    }
    JS::RootedValue fn(cx_, next->fn->get());
    JS::RootedValueVector args(cx_);
    if (!args.appendAll(next->args->get())) return false;
    if (next->interval_ms >= 0) {
      next->due = now + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double, std::milli>(next->interval_ms));
    } else {
      timers_.erase(next);
    }
    JS::RootedValue ignored(cx_);
    JS::RootedValue self(cx_, JS::ObjectValue(**global_));
    if (!JS::Call(cx_, self, fn, JS::HandleValueArray(args), &ignored)) {
      err = take_error(cx_);
      timers_.clear();
      return false;
    }
  }
  auto& rejected = rejected_->get();
  if (!rejected.empty()) {
    JS::RootedObject promise(cx_, rejected[0]);
    rejected.clear();
    JS::RootedValue reason(cx_, JS::GetPromiseResult(promise));
    JS_SetPendingException(cx_, reason);
    ScriptError e = take_error(cx_);
    err.message = "Uncaught (in promise) " + e.message;
    err.stack = e.stack;
    return false;
  }
  return true;
}

bool Runtime::set_env(const std::map<std::string, std::string>& values) {
  env = values;
  JSAutoRealm realm(cx_, *global_);
  JS::RootedObject object(cx_, JS_NewPlainObject(cx_));
  if (!object) return false;
  for (const auto& [k, v] : env) {
    if (!set_string(cx_, object, k.c_str(), v)) return false;
  }
  JS::RootedValue value(cx_, JS::ObjectValue(*object));
  return JS_DefineProperty(cx_, *global_, "__ENV", value, JSPROP_ENUMERATE);
}

bool Runtime::set_iteration(int64_t n) {
  iteration = n;
  JSAutoRealm realm(cx_, *global_);
  JS::RootedValue value(cx_, JS::NumberValue(static_cast<double>(n)));
  return JS_DefineProperty(cx_, *global_, "__ITER", value, JSPROP_ENUMERATE);
}

bool Runtime::setup_data(const std::optional<std::string>& json, JS::MutableHandleValue out) {
  if (!json) {
    out.setUndefined();
    return true;
  }
  if (!setup_data_) {
    JSAutoRealm realm(cx_, *global_);
    JS::RootedValue parsed(cx_);
    if (!parse_json(cx_, *json, &parsed)) return false;
    setup_data_ = std::make_unique<JS::PersistentRootedValue>(cx_, parsed);
  }
  out.set(setup_data_->get());
  return true;
}

uint32_t Runtime::add_timer(JS::HandleValue fn, JS::HandleValueArray args, double delay_ms,
                            bool repeat) {
  // k6 turns the delay into a Go time.Duration: NaN, infinities and delays beyond its range
  // (about 292 years) come out in the past and fire at once. Doing the same keeps the
  // steady clock from overflowing.
  if (!(delay_ms > 0) || !(delay_ms < 9e12)) delay_ms = 0;
  Timer t;
  t.id = next_timer_++;
  t.due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double, std::milli>(delay_ms));
  t.interval_ms = repeat ? delay_ms : -1;
  t.fn = std::make_unique<JS::PersistentRootedValue>(cx_, fn);
  t.args =
      std::make_unique<JS::PersistentRooted<JS::GCVector<JS::Value, 0, ::js::SystemAllocPolicy>>>(
          cx_);
  for (size_t i = 0; i < args.length(); ++i) {
    if (!t.args->get().append(args[i])) return 0;
  }
  timers_.push_back(std::move(t));
  return timers_.back().id;
}

void Runtime::clear_timer(uint32_t id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->id == id) {
      timers_.erase(it);
      return;
    }
  }
}

uint32_t Runtime::tags(const Tags& extra) {
  tags_key_.clear();
  tags_key_ += std::to_string(scope.scenario ? scope.scenario_index : UINT32_MAX);
  tags_key_ += '\1';
  tags_key_ += group;
  for (const Tags* list : {static_cast<const Tags*>(&vu_tags), &extra}) {
    for (const auto& [k, v] : *list) {
      tags_key_ += '\1';
      tags_key_ += k;
      tags_key_ += '\2';
      tags_key_ += v;
    }
    tags_key_ += '\3';
  }
  auto it = tag_cache_.find(tags_key_);
  if (it != tag_cache_.end()) return it->second;
  Tags all = script_.run_tags;
  if (scope.scenario) {
    for (const auto& [k, v] : scope.scenario->tags) all.emplace_back(k, v);
    all.emplace_back("scenario", scope.scenario->name);
  }
  all.emplace_back("group", group);
  for (const Tags* list : {static_cast<const Tags*>(&vu_tags), &extra}) {
    for (const auto& tag : *list) {
      auto same =
          std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.first == tag.first; });
      if (same != all.end()) {
        same->second = tag.second;
      } else {
        all.push_back(tag);
      }
    }
  }
  uint32_t id = script_.tag_sets->intern(all);
  tag_cache_.emplace(tags_key_, id);
  return id;
}

}  // namespace faultline::loadgen::js
