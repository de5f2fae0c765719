// Module `k6/execution` (k6-js-api §7): what a VU knows about itself, its scenario, the
// instance and the test, and test.abort() / test.fail().
#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/report/console.h"

namespace faultline::loadgen::js {

namespace {

bool in_vu_context(Runtime& rt) {
  return rt.phase != Phase::kInit && rt.host;
}

// vu() -> {idInInstance, idInTest, iterationInInstance, iterationInScenario}
bool vu_info(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (!in_vu_context(rt)) {
    return throw_go_error(cx, "getting VU information in the init context is not supported");
  }
  JS::RootedObject o(cx, JS_NewPlainObject(cx));
  bool in_iteration = rt.phase == Phase::kIteration;
  if (!o || !set_number(cx, o, "idInInstance", static_cast<double>(rt.vu_id)) ||
      !set_number(cx, o, "idInTest", static_cast<double>(rt.vu_id)) ||
      !set_number(cx, o, "iterationInInstance",
                  in_iteration ? static_cast<double>(rt.iteration) : 0) ||
      !set_number(cx, o, "iterationInScenario",
                  in_iteration ? static_cast<double>(rt.scope.iteration_in_scenario) : 0)) {
    return false;
  }
  args.rval().setObject(*o);
  return true;
}

// scenario() -> {name, executor, startTime, progress, iterationInInstance, iterationInTest}
bool scenario_info(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase != Phase::kIteration || !rt.scope.scenario) {
    return throw_go_error(
        cx, "getting scenario information outside of the VU context is not supported");
  }
  const Scenario& s = *rt.scope.scenario;
  InstanceState state = rt.host->instance(rt.scope.scenario_index);
  JS::RootedObject o(cx, JS_NewPlainObject(cx));
  if (!o || !set_string(cx, o, "name", s.name) ||
      !set_string(cx, o, "executor", executor_name(s.executor)) ||
      !set_number(cx, o, "startTime", std::floor(state.scenario_start_unix_ms)) ||
      !set_number(cx, o, "progress", state.scenario_progress) ||
      !set_number(cx, o, "iterationInInstance", static_cast<double>(rt.scope.iteration_in_test)) ||
      !set_number(cx, o, "iterationInTest", static_cast<double>(rt.scope.iteration_in_test))) {
    return false;
  }
  args.rval().setObject(*o);
  return true;
}

// instance() -> {iterationsCompleted, iterationsInterrupted, vusActive, vusInitialized,
//                currentTestRunDuration}
bool instance_info(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (!in_vu_context(rt)) {
    return throw_go_error(cx, "getting instance information in the init context is not supported");
  }
  InstanceState state = rt.host->instance(rt.scope.scenario_index);
  JS::RootedObject o(cx, JS_NewPlainObject(cx));
  if (!o ||
      !set_number(cx, o, "iterationsCompleted", static_cast<double>(state.iterations_completed)) ||
      !set_number(cx, o, "iterationsInterrupted",
                  static_cast<double>(state.iterations_interrupted)) ||
      !set_number(cx, o, "vusActive", static_cast<double>(state.vus_active)) ||
      !set_number(cx, o, "vusInitialized", static_cast<double>(state.vus_initialized)) ||
      !set_number(cx, o, "currentTestRunDuration", state.run_duration_ms)) {
    return false;
  }
  args.rval().setObject(*o);
  return true;
}

// options() -> the consolidated options as JSON text.
bool test_options(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (!in_vu_context(rt)) {
    return throw_go_error(cx, "getting test options in the init context is not supported");
  }
  JSString* s = new_string(cx, rt.script().test_options_json);
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// The script's position that called abort(), for "test aborted: reason at fn (file:...)":
// the first frame in a file (built-in modules' frames are skipped).
std::string caller(JSContext* cx) {
  JS::RootedObject stack(cx);
  JS::RootedString text(cx);
  if (!JS::CaptureCurrentStack(cx, &stack, JS::StackCapture(JS::MaxFrames(16))) ||
      !JS::BuildStackString(cx, nullptr, stack, &text)) {
    JS_ClearPendingException(cx);
    return "";
  }
  std::string frames = k6_stack(utf8(cx, text));
  size_t pos = 0;
  while ((pos = frames.find("\n\tat ", pos)) != std::string::npos) {
    size_t start = pos + 5;
    size_t end = frames.find('\n', start);
    std::string frame = frames.substr(start, end == std::string::npos ? end : end - start);
    if (frame.find("file://") != std::string::npos) return frame;
    pos = start;
  }
  return "";
}

// abort(reason): stops the whole test; cannot be caught.
bool abort_test(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  std::string reason = "test aborted";
  if (!args.get(0).isUndefined()) {
    auto text = to_utf8(cx, args[0]);
    if (!text) return false;
    reason += ": " + *text;
  }
  if (rt.phase == Phase::kIteration) {
    std::string where = caller(cx);
    if (!where.empty()) reason += " at " + where;
  }
  ScriptContext& script = rt.script();
  {
    std::lock_guard lock(script.abort_mutex);
    if (script.abort_reason.empty()) script.abort_reason = reason;
  }
  script.abort_requested = true;
  rt.interrupt();
  return false;  // no exception: the runtime stops here
}

// fail(reason): marks the test failed (exit 110) and lets it go on.
bool fail_test(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (!in_vu_context(rt)) {
    return throw_go_error(cx, "execution.test.fail() called outside of VU context");
  }
  std::string message = "test marked as failed";
  if (!args.get(0).isUndefined()) {
    auto text = to_utf8(cx, args[0]);
    if (!text) return false;
    message += ": " + *text;
  }
  log_line("error", message);
  rt.script().marked_failed = true;
  args.rval().setUndefined();
  return true;
}

// Tags of exec.vu.tags: get(name) / set(name, value) / remove(name) / names().
bool tag_get(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  // The VU's own tags first, then the ones it inherits (scenario, run tags).
  for (const auto& [k, v] : rt.vu_tags) {
    if (k == *name) {
      JSString* s = new_string(cx, v);
      if (!s) return false;
      args.rval().setString(s);
      return true;
    }
  }
  const Tags& base = rt.script().tag_sets->tags(rt.tags());
  for (const auto& [k, v] : base) {
    if (k == *name) {
      JSString* s = new_string(cx, v);
      if (!s) return false;
      args.rval().setString(s);
      return true;
    }
  }
  args.rval().setUndefined();
  return true;
}

bool tag_set(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  JS::HandleValue v = args.get(1);
  if (!v.isString() && !v.isNumber() && !v.isBoolean()) {
    return throw_type_error(cx, "invalid value for metric tag '" + *name +
                                    "': only String, Boolean and Number types are accepted as a "
                                    "metric tag values");
  }
  auto text = to_utf8(cx, v);
  if (!text) return false;
  for (auto& [k, value] : rt.vu_tags) {
    if (k == *name) {
      value = *text;
      args.rval().setBoolean(true);
      return true;
    }
  }
  rt.vu_tags.emplace_back(*name, *text);
  args.rval().setBoolean(true);
  return true;
}

bool tag_remove(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  auto& tags = rt.vu_tags;
  tags.erase(
      std::remove_if(tags.begin(), tags.end(), [&](const auto& t) { return t.first == *name; }),
      tags.end());
  args.rval().setBoolean(true);
  return true;
}

bool tag_names(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  const Tags& base = rt.script().tag_sets->tags(rt.tags());
  JS::RootedObject list(cx, JS::NewArrayObject(cx, 0));
  if (!list) return false;
  uint32_t i = 0;
  for (const auto& [k, v] : base) {
    JS::RootedString s(cx, new_string(cx, k));
    if (!s) return false;
    JS::RootedValue sv(cx, JS::StringValue(s));
    if (!JS_SetElement(cx, list, i++, sv)) return false;
  }
  args.rval().setObject(*list);
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("vu", vu_info, 0, 0),
                                             JS_FN("scenario", scenario_info, 0, 0),
                                             JS_FN("instance", instance_info, 0, 0),
                                             JS_FN("options", test_options, 0, 0),
                                             JS_FN("abort", abort_test, 1, 0),
                                             JS_FN("fail", fail_test, 1, 0),
                                             JS_FN("tagGet", tag_get, 1, 0),
                                             JS_FN("tagSet", tag_set, 2, 0),
                                             JS_FN("tagRemove", tag_remove, 1, 0),
                                             JS_FN("tagNames", tag_names, 0, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/execution');

// exec.vu.tags: a live view of the VU's tags (reads give strings, writes set tags on the
// VU's later samples).
const tags = new Proxy({}, {
  get: (_, name) => (typeof name === 'string' ? n.tagGet(name) : undefined),
  set: (_, name, value) => n.tagSet(String(name), value),
  deleteProperty: (_, name) => n.tagRemove(String(name)),
  has: (_, name) => n.tagGet(String(name)) !== undefined,
  ownKeys: () => n.tagNames(),
  getOwnPropertyDescriptor: (_, name) => {
    const value = n.tagGet(String(name));
    return value === undefined ? undefined
      : { value, writable: true, enumerable: true, configurable: true };
  },
});
const metadata = {};

let options;
const test = Object.freeze({
  abort: (reason) => n.abort(reason),
  fail: (reason) => n.fail(reason),
  get options() {
    if (options === undefined) options = deepFreeze(JSON.parse(n.options()));
    return options;
  },
});

function deepFreeze(value) {
  if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze(value[key]);
    Object.freeze(value);
  }
  return value;
}

// A view whose properties are read anew at every access, so `import { vu } from
// 'k6/execution'` works in VU code although nothing is readable during init.
function liveView(read, extra = {}) {
  const value = (key) => (key in extra ? extra[key] : read()[key]);
  return new Proxy({}, {
    get: (_, key) => (typeof key === 'string' ? value(key) : undefined),
    has: (_, key) => key in extra || key in read(),
    ownKeys: () => [...Object.keys(read()), ...Object.keys(extra)],
    getOwnPropertyDescriptor: (_, key) => ({ value: value(key), enumerable: true, configurable: true }),
    set: () => false,
  });
}

export const vu = liveView(n.vu, { tags, metrics: Object.freeze({ tags, metadata }) });
export const scenario = liveView(n.scenario);
export const instance = liveView(n.instance);
export { test };
export default Object.freeze({ vu, scenario, instance, test });
)js";

}  // namespace

const BuiltinModule kModuleExecution{"k6/execution", kSource, define};

}  // namespace faultline::loadgen::js
