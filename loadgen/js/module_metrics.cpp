// Module `k6/metrics`: Counter, Gauge, Rate, Trend (k6-js-api §5). Metrics are declared in
// the init context; the first runtime's declarations become the run's custom metrics
// (thresholds and summaries need them before the run), later runtimes find them there.
#include <regex>

#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/metrics/stats.h"
#include "loadgen/report/console.h"

namespace faultline::loadgen::js {

namespace {

bool type_from(const std::string& name, MetricType& out) {
  if (name == "counter") {
    out = MetricType::kCounter;
  } else if (name == "gauge") {
    out = MetricType::kGauge;
  } else if (name == "rate") {
    out = MetricType::kRate;
  } else if (name == "trend") {
    out = MetricType::kTrend;
  } else {
    return false;
  }
  return true;
}

// declare(name, type, isTime) -> the metric's id in the run's registry (-1 in runtime #0).
bool declare(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase != Phase::kInit)
    return throw_go_error(cx, "metrics must be declared in the init context");
  auto name = to_utf8(cx, args.get(0));
  auto type_name = to_utf8(cx, args.get(1));
  if (!name || !type_name) return false;
  bool is_time = JS::ToBoolean(args.get(2));
  static const std::regex valid("^[a-zA-Z_][a-zA-Z0-9_]{1,128}$");
  if (!std::regex_match(*name, valid)) {
    return throw_go_error(cx, "Invalid metric name: '" + *name +
                                  "'. Metric names must only include up to 128 ASCII letters, "
                                  "numbers, or underscores and start with a letter or an "
                                  "underscore.");
  }
  MetricType type{};
  type_from(*type_name, type);
  auto mismatch = [&](MetricType have, bool have_time) -> std::optional<std::string> {
    if (have != type) {
      return "metric '" + *name + "' already exists but with type " + metric_type_name(have) +
             ", instead of " + *type_name;
    }
    if (have_time != is_time) {
      return "metric '" + *name + "' already exists but with a value type " +
             (have_time ? "time" : "default") + ", instead of " + (is_time ? "time" : "default");
    }
    return std::nullopt;
  };
  ScriptContext& script = rt.script();
  if (script.registry) {
    int id = script.registry->find(*name);
    if (id < 0) {
      return throw_go_error(cx, "metric '" + *name +
                                    "' was not declared when the script was first initialised "
                                    "(loadgen needs every metric declared by every VU's init)");
    }
    const MetricDef& def = script.registry->metrics()[id];
    if (auto bad = mismatch(def.type, def.is_time)) return throw_go_error(cx, *bad);
    args.rval().setInt32(id);
    return true;
  }
  std::lock_guard lock(script.metrics_mutex);
  Registry builtins;
  int builtin = builtins.find(*name);
  if (builtin >= 0) {
    const MetricDef& def = builtins.metrics()[builtin];
    if (auto bad = mismatch(def.type, def.is_time)) return throw_go_error(cx, *bad);
    args.rval().setInt32(-1);
    return true;
  }
  for (const auto& m : script.declared) {
    if (m.name != *name) continue;
    if (auto bad = mismatch(m.type, m.is_time)) return throw_go_error(cx, *bad);
    args.rval().setInt32(-1);
    return true;
  }
  script.declared.push_back({*name, type, is_time});
  args.rval().setInt32(-1);
  return true;
}

// add(id, value, tags) with value already a number.
bool add(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    return throw_go_error(cx, "Adding to metrics in the init context is not supported");
  }
  int32_t id = args.get(0).isInt32() ? args.get(0).toInt32() : -1;
  if (id < 0) return throw_go_error(cx, "this metric was not declared in the init context");
  Tags extra;
  if (args.get(2).isObject()) {
    const std::string& name = rt.script().registry->metrics()[id].name;
    if (!tags_from(cx, args.get(2), extra,
                   "cannot add tags for the '" + name + "' custom metric: "))
      return false;
  }
  double value = args.get(1).isNumber() ? args.get(1).toNumber() : 0;
  rt.host->add(static_cast<uint32_t>(id), rt.tags(extra), value);
  args.rval().setBoolean(true);
  return true;
}

bool warn(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto text = to_utf8(cx, args.get(0));
  if (!text) return false;
  log_line("warning", *text);
  args.rval().setUndefined();
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("declare", declare, 3, 0),
                                             JS_FN("add", add, 3, 0), JS_FN("warn", warn, 1, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/metrics');

function shorten(text) {
  if (text.length <= 100) return text;
  return text.slice(0, 50) + '... omitting ' + (text.length - 100) + ' characters ...' +
    text.slice(-50);
}

// The metric's id in the run's registry, under a symbol: JSON.stringify and Object.keys
// do not show it, and SpiderMonkey's interpreter reads it with less work than a private
// field (no brand check; ~170 instructions less per add()).
const ID = Symbol('id');

class Metric {
  constructor(name, isTime, type) {
    Object.defineProperty(this, ID, { value: n.declare(name, type, isTime) });
    Object.defineProperty(this, 'name', { value: name, enumerable: true });
  }
  // (A rest parameter, not `arguments`, tells add() from add(undefined): SpiderMonkey's
  // interpreter makes an arguments object on every call of a function that names it.)
  add(...args) {
    if (args.length === 0) {
      n.goError("no value was provided for metric '" + this.name +
        "', a number or a boolean value is expected");
    }
    const value = args[0];
    const tags = args[1];
    let number = typeof value === 'number' ? value : Number(value);
    if (value === null || number !== number) {
      n.warn("'" + shorten(String(value)) + "' is an invalid value for metric '" + this.name +
        "', a number or a boolean value is expected");
      return false;
    }
    if (number === 0 && value) number = 1;
    return n.add(this[ID], number, tags);
  }
}

export class Counter extends Metric { constructor(name, isTime) { super(name, isTime, 'counter'); } }
export class Gauge extends Metric { constructor(name, isTime) { super(name, isTime, 'gauge'); } }
export class Rate extends Metric { constructor(name, isTime) { super(name, isTime, 'rate'); } }
export class Trend extends Metric { constructor(name, isTime) { super(name, isTime, 'trend'); } }
export default { Counter, Gauge, Rate, Trend };
)js";

}  // namespace

const BuiltinModule kModuleMetrics{"k6/metrics", kSource, define};

}  // namespace faultline::loadgen::js
