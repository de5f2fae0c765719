// Scenario files: decoding with k6's strictness (spec k6-compat §2.1-§2.3, §4.1), the
// configuration layers (§1.4) and the shorthand options turned into scenarios (§1.5).
#include "loadgen/config/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string_view>

#include <simdjson.h>

#include "common/json.h"

namespace faultline::loadgen {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::string quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Shortest decimal text of a number: 200 -> "200", 0.5 -> "0.5".
std::string number_text(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Go's names for JSON kinds in "cannot unmarshal" errors.
std::string_view kind_of(element v) {
  switch (v.type()) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "bool";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

// Copies of an element's object or array view (the caller has checked the type). Range-for
// over a temporary simdjson_result would dangle, so loops go through these.
object as_object(element v) {
  object o;
  if (v.get(o) != simdjson::SUCCESS) return object();
  return o;
}

array as_array(element v) {
  array a;
  if (v.get(a) != simdjson::SUCCESS) return array();
  return a;
}

// A field for error messages: "<owner>.<name>", as Go names struct fields.
struct Field {
  std::string_view owner;
  std::string_view name;
};

// Decodes DOM values into the model, keeping the first error. Every reader returns false
// on error; JSON null leaves the target untouched (and `*set` false), as Go does.
class Decoder {
 public:
  std::string error;

  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }

  bool unknown_field(std::string_view key) { return fail("json: unknown field " + quote(key)); }

  bool type_error(element v, Field f, std::string_view want) {
    std::string kind(kind_of(v));
    // Go shows the literal when a number does not fit an integer field.
    if (kind == "number" && want == "int64") kind += " " + simdjson::to_string(v);
    return fail("json: cannot unmarshal " + kind + " into Go struct field " + std::string(f.owner) +
                "." + std::string(f.name) + " of type " + std::string(want));
  }

  bool read(element v, Field f, int64_t& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() != element_type::INT64) return type_error(v, f, "int64");
    out = v.get_int64().value_unsafe();
    if (set) *set = true;
    return true;
  }

  bool read(element v, Field f, double& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (!v.is_number()) return type_error(v, f, "float64");
    double d = 0;
    if (v.get_double().get(d) != simdjson::SUCCESS) return type_error(v, f, "float64");
    out = d;
    if (set) *set = true;
    return true;
  }

  bool read(element v, Field f, bool& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() != element_type::BOOL) return type_error(v, f, "bool");
    out = v.get_bool().value_unsafe();
    if (set) *set = true;
    return true;
  }

  bool read(element v, Field f, std::string& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() != element_type::STRING) return type_error(v, f, "string");
    out = std::string(v.get_string().value_unsafe());
    if (set) *set = true;
    return true;
  }

  // Extended duration grammar for strings; a JSON number is milliseconds (§1.3.2).
  bool read(element v, Field f, Duration& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() == element_type::STRING) {
      std::string_view text = v.get_string().value_unsafe();
      auto d = parse_extended_duration(text);
      if (!d) return fail("time: invalid duration " + quote(text));
      out = *d;
    } else if (v.is_number()) {
      double ms = v.get_double().value_unsafe();
      out = Duration(static_cast<int64_t>(std::llround(ms * 1e6)));
    } else {
      return type_error(v, f, "types.NullDuration");
    }
    if (set) *set = true;
    return true;
  }

  bool read(element v, Field f, std::map<std::string, std::string>& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() != element_type::OBJECT) return type_error(v, f, "map[string]string");
    std::map<std::string, std::string> result;
    for (auto [key, value] : as_object(v)) {
      std::string text;
      if (!read(value, f, text)) return false;
      result[std::string(key)] = text;
    }
    out = std::move(result);
    if (set) *set = true;
    return true;
  }

  bool read(element v, Field f, std::vector<std::string>& out, bool* set = nullptr) {
    if (set) *set = false;
    if (v.is_null()) return true;
    if (v.type() != element_type::ARRAY) return type_error(v, f, "[]string");
    std::vector<std::string> result;
    for (element item : as_array(v)) {
      std::string text;
      if (!read(item, f, text)) return false;
      result.push_back(std::move(text));
    }
    out = std::move(result);
    if (set) *set = true;
    return true;
  }

  // For std::optional fields of the options layer.
  template <typename T>
  bool read_opt(element v, Field f, std::optional<T>& out) {
    T value{};
    bool set = false;
    if (!read(v, f, value, &set)) return false;
    if (set) out = std::move(value);
    return true;
  }

  // An object is required here; `want` is the Go type named in the error.
  bool object_of(element v, Field f, std::string_view want, object& out) {
    if (v.type() != element_type::OBJECT) return type_error(v, f, want);
    out = as_object(v);
    return true;
  }

  bool array_of(element v, Field f, std::string_view want, array& out) {
    if (v.type() != element_type::ARRAY) return type_error(v, f, want);
    out = as_array(v);
    return true;
  }
};

bool is_scenario_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-';
  });
}

bool is_metric_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 129) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

bool is_builtin_metric(std::string_view name) {
  static const std::set<std::string_view> builtin = {"http_reqs",
                                                     "http_req_duration",
                                                     "http_req_blocked",
                                                     "http_req_connecting",
                                                     "http_req_tls_handshaking",
                                                     "http_req_sending",
                                                     "http_req_waiting",
                                                     "http_req_receiving",
                                                     "http_req_failed",
                                                     "iterations",
                                                     "iteration_duration",
                                                     "dropped_iterations",
                                                     "vus",
                                                     "vus_max",
                                                     "data_sent",
                                                     "data_received",
                                                     "checks",
                                                     "group_duration",
                                                     "ws_sessions",
                                                     "ws_connecting",
                                                     "ws_session_duration",
                                                     "ws_msgs_sent",
                                                     "ws_msgs_received",
                                                     "ws_ping"};
  return builtin.count(name) > 0;
}

// ---- options -----------------------------------------------------------------------

bool parse_stages(Decoder& d, element v, Field f, std::vector<Stage>& out) {
  array items;
  if (!d.array_of(v, f, "[]Stage", items)) return false;
  out.clear();
  for (element item : items) {
    object fields;
    if (!d.object_of(item, f, "Stage", fields)) return false;
    Stage st;
    for (auto [key, value] : fields) {
      if (key == "duration") {
        if (!d.read(value, {"Stage", key}, st.duration, &st.has_duration)) return false;
      } else if (key == "target") {
        if (!d.read(value, {"Stage", key}, st.target, &st.has_target)) return false;
      } else {
        return d.unknown_field(key);
      }
    }
    out.push_back(st);
  }
  return true;
}

bool known_tls_version(std::string_view v) {
  return v.empty() || v == "ssl3.0" || v == "tls1.0" || v == "tls1.1" || v == "tls1.2" ||
         v == "tls1.3";
}

// tlsVersion: a string pins one version; an object gives "min" and "max".
bool parse_tls_version(Decoder& d, element v, Field f, std::optional<TlsVersions>& out) {
  if (v.is_null()) return true;
  TlsVersions tv;
  if (v.type() == element_type::STRING) {
    std::string text;
    if (!d.read(v, f, text)) return false;
    tv.min = tv.max = text;
  } else {
    object fields;
    if (!d.object_of(v, f, "TLSVersions", fields)) return false;
    for (auto [key, value] : fields) {
      if (key == "min") {
        if (!d.read(value, {"TLSVersions", key}, tv.min)) return false;
      } else if (key == "max") {
        if (!d.read(value, {"TLSVersions", key}, tv.max)) return false;
      } else {
        return d.unknown_field(key);
      }
    }
  }
  for (const auto& version : {tv.min, tv.max}) {
    if (!known_tls_version(version)) return d.fail("unknown TLS version '" + version + "'");
  }
  out = tv;
  return true;
}

// tlsAuth: [{domains, cert, key, password}]; the PEM texts are checked when the TLS
// configuration is built (run/tls_config.h).
bool parse_tls_auth(Decoder& d, element v, Field f, std::optional<std::vector<TlsAuth>>& out) {
  if (v.is_null()) return true;
  array items;
  if (!d.array_of(v, f, "[]*TLSAuth", items)) return false;
  std::vector<TlsAuth> result;
  for (element item : items) {
    object fields;
    if (!d.object_of(item, f, "TLSAuth", fields)) return false;
    TlsAuth a;
    for (auto [key, value] : fields) {
      Field at{"TLSAuth", key};
      bool ok = key == "domains"    ? d.read(value, at, a.domains)
                : key == "cert"     ? d.read(value, at, a.cert)
                : key == "key"      ? d.read(value, at, a.key)
                : key == "password" ? d.read(value, at, a.password)
                                    : d.unknown_field(key);
      if (!ok) return false;
    }
    result.push_back(std::move(a));
  }
  out = std::move(result);
  return true;
}

// Which executor-specific keys each executor's configuration has (k6 decodes each
// executor into its own struct, so a key of another executor is an unknown field).
struct ExecutorKeys {
  Executor executor;
  const char* go_struct;
  std::set<std::string_view> keys;
};

const ExecutorKeys& keys_of(Executor e) {
  static const std::vector<ExecutorKeys> table = {
      {Executor::kSharedIterations, "SharedIterationsConfig", {"vus", "iterations", "maxDuration"}},
      {Executor::kPerVuIterations, "PerVUIterationsConfig", {"vus", "iterations", "maxDuration"}},
      {Executor::kConstantVus, "ConstantVUsConfig", {"vus", "duration"}},
      {Executor::kRampingVus, "RampingVUsConfig", {"startVUs", "stages", "gracefulRampDown"}},
      {Executor::kConstantArrivalRate,
       "ConstantArrivalRateConfig",
       {"rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"}},
      {Executor::kRampingArrivalRate,
       "RampingArrivalRateConfig",
       {"startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"}},
      {Executor::kExternallyControlled,
       "ExternallyControlledConfig",
       {"vus", "maxVUs", "duration"}},
  };
  for (const auto& k : table) {
    if (k.executor == e) return k;
  }
  return table.front();
}

bool parse_scenario(Decoder& d, std::string_view name, element v, Scenario& s) {
  if (!is_scenario_name(name)) {
    return d.fail(
        "the scenario name should contain only numbers, latin letters, underscores, and dashes");
  }
  object fields;
  if (!d.object_of(v, {"Options", "scenarios"}, "lib.ExecutorConfig", fields)) return false;
  s.name = std::string(name);
  element executor;
  if (fields["executor"].get(executor) != simdjson::SUCCESS || executor.is_null()) {
    return d.fail("scenario '" + s.name + "' doesn't have a specified executor type");
  }
  std::string executor_text;
  if (!d.read(executor, {"BaseConfig", "executor"}, executor_text)) return false;
  if (!parse_executor(executor_text, s.executor)) {
    return d.fail("unknown executor type '" + executor_text + "'");
  }
  s.has_executor = true;
  const ExecutorKeys& own = keys_of(s.executor);
  std::string_view owner = own.go_struct;
  for (auto [key, value] : fields) {
    Field f{owner, key};
    bool ok = true;
    if (key == "executor" || key == "options") {
      // The executor was read above; `options` holds browser settings, which do not apply.
    } else if (key == "startTime") {
      ok = d.read(value, f, s.start_time);
    } else if (key == "gracefulStop") {
      ok = d.read(value, f, s.graceful_stop, &s.has_graceful_stop);
    } else if (key == "exec") {
      ok = d.read(value, f, s.exec, &s.has_exec);
    } else if (key == "env") {
      ok = d.read(value, f, s.env);
    } else if (key == "tags") {
      ok = d.read(value, f, s.tags);
    } else if (own.keys.count(key) == 0) {
      return d.unknown_field(key);
    } else if (key == "vus") {
      ok = d.read(value, f, s.vus);
    } else if (key == "iterations") {
      ok = d.read(value, f, s.iterations);
    } else if (key == "duration") {
      ok = d.read(value, f, s.duration, &s.has_duration);
    } else if (key == "maxDuration") {
      ok = d.read(value, f, s.max_duration);
    } else if (key == "startVUs") {
      ok = d.read(value, f, s.start_vus);
    } else if (key == "stages") {
      ok = value.is_null() || parse_stages(d, value, f, s.stages);
    } else if (key == "gracefulRampDown") {
      ok = d.read(value, f, s.graceful_ramp_down);
    } else if (key == "rate") {
      ok = d.read(value, f, s.rate, &s.has_rate);
    } else if (key == "startRate") {
      ok = d.read(value, f, s.start_rate);
    } else if (key == "timeUnit") {
      ok = d.read(value, f, s.time_unit);
    } else if (key == "preAllocatedVUs") {
      ok = d.read(value, f, s.pre_allocated_vus, &s.has_pre_allocated_vus);
    } else if (key == "maxVUs") {
      ok = d.read(value, f, s.max_vus, &s.has_max_vus);
    } else {
      return d.unknown_field(key);
    }
    if (!ok) return false;
  }
  return true;
}

bool parse_scenarios(Decoder& d, element v, std::vector<Scenario>& out) {
  object fields;
  if (!d.object_of(v, {"Options", "scenarios"}, "lib.ScenarioConfigs", fields)) return false;
  out.clear();
  for (auto [name, value] : fields) {
    Scenario s;
    if (!parse_scenario(d, name, value, s)) return false;
    // A repeated name replaces the earlier object, as a Go map would.
    auto same =
        std::find_if(out.begin(), out.end(), [&](const Scenario& x) { return x.name == s.name; });
    if (same != out.end()) {
      *same = std::move(s);
    } else {
      out.push_back(std::move(s));
    }
  }
  return true;
}

bool parse_threshold_entry(Decoder& d, element v, Threshold& out) {
  std::string expr;
  bool abort_on_fail = false;
  std::optional<Duration> delay;
  std::string delay_text;
  if (v.type() == element_type::STRING) {
    expr = std::string(v.get_string().value_unsafe());
  } else if (v.type() == element_type::OBJECT) {
    // Unknown keys are ignored here, as k6 does.
    for (auto [key, value] : as_object(v)) {
      Field f{"thresholdConfig", key};
      if (key == "threshold") {
        if (!d.read(value, f, expr)) return false;
      } else if (key == "abortOnFail") {
        if (!d.read(value, f, abort_on_fail)) return false;
      } else if (key == "delayAbortEval") {
        if (!d.read_opt(value, f, delay)) return false;
        if (delay) {
          delay_text = value.type() == element_type::STRING
                           ? std::string(value.get_string().value_unsafe())
                           : simdjson::to_string(value);
        }
      }
    }
  } else {
    return d.fail("json: cannot unmarshal " + std::string(kind_of(v)) +
                  " into Go value of type metrics.thresholdConfig");
  }
  std::string err;
  auto t = parse_threshold(expr, err);
  if (!t) return d.fail(err);
  t->abort_on_fail = abort_on_fail;
  if (delay) {
    t->delay_abort_eval_ns = delay->count();
    t->delay_abort_eval = delay_text;
  }
  out = std::move(*t);
  return true;
}

bool parse_thresholds(Decoder& d, element v, std::map<std::string, std::vector<Threshold>>& out) {
  object fields;
  if (!d.object_of(v, {"Options", "thresholds"}, "map[string]metrics.Thresholds", fields)) {
    return false;
  }
  out.clear();
  for (auto [key, value] : fields) {
    std::string name;
    std::vector<std::pair<std::string, std::string>> tags;
    if (!parse_metric_key(key, name, tags)) {
      return d.fail(
          "unable to validate threshold expressions; reason: parsing metric name failed, "
          "metric " +
          quote(key) + " tag expression is malformed");
    }
    std::vector<Threshold> list;
    if (!value.is_null()) {
      array entries;
      std::string field = "thresholds." + std::string(key);
      if (!d.array_of(value, {"Options", field}, "[]metrics.thresholdConfig", entries)) {
        return false;
      }
      for (element entry : entries) {
        Threshold t;
        if (!parse_threshold_entry(d, entry, t)) return false;
        list.push_back(std::move(t));
      }
    }
    out[std::string(key)] = std::move(list);
  }
  return true;
}

// `unknown` (scripts) collects top-level keys loadgen does not know instead of failing.
bool parse_options(Decoder& d, element v, Options& o, std::vector<std::string>* unknown = nullptr) {
  object fields;
  if (!d.object_of(v, {"ScriptFile", "options"}, "lib.Options", fields)) return false;
  for (auto [key, value] : fields) {
    Field f{"Options", key};
    bool ok = true;
    if (key == "vus") {
      ok = d.read_opt(value, f, o.vus);
    } else if (key == "duration") {
      ok = d.read_opt(value, f, o.duration);
    } else if (key == "iterations") {
      ok = d.read_opt(value, f, o.iterations);
    } else if (key == "stages") {
      if (!value.is_null()) {
        std::vector<Stage> stages;
        ok = parse_stages(d, value, f, stages);
        if (ok) o.stages = std::move(stages);
      }
    } else if (key == "scenarios") {
      if (!value.is_null()) {
        std::vector<Scenario> scenarios;
        ok = parse_scenarios(d, value, scenarios);
        if (ok) o.scenarios = std::move(scenarios);
      }
    } else if (key == "thresholds") {
      if (!value.is_null()) {
        std::map<std::string, std::vector<Threshold>> thresholds;
        ok = parse_thresholds(d, value, thresholds);
        if (ok) o.thresholds = std::move(thresholds);
      }
    } else if (key == "tags") {
      ok = d.read_opt(value, f, o.tags);
    } else if (key == "summaryTrendStats") {
      ok = d.read_opt(value, f, o.summary_trend_stats);
    } else if (key == "summaryTimeUnit") {
      ok = d.read_opt(value, f, o.summary_time_unit);
    } else if (key == "rps") {
      ok = d.read_opt(value, f, o.rps);
    } else if (key == "setupTimeout") {
      ok = d.read_opt(value, f, o.setup_timeout);
    } else if (key == "userAgent") {
      ok = d.read_opt(value, f, o.user_agent);
    } else if (key == "throw") {
      ok = d.read_opt(value, f, o.throw_errors);
    } else if (key == "noCookiesReset") {
      ok = d.read_opt(value, f, o.no_cookies_reset);
    } else if (key == "executionSegment") {
      ok = d.read_opt(value, f, o.execution_segment);
    } else if (key == "executionSegmentSequence") {
      ok = d.read_opt(value, f, o.execution_segment_sequence);
    } else if (key == "insecureSkipTLSVerify") {
      ok = d.read_opt(value, f, o.insecure_skip_tls_verify);
    } else if (key == "tlsVersion") {
      ok = parse_tls_version(d, value, f, o.tls_version);
    } else if (key == "tlsAuth") {
      ok = parse_tls_auth(d, value, f, o.tls_auth);
    } else if (key == "tlsCipherSuites") {
      ok = d.read_opt(value, f, o.tls_cipher_suites);
    } else if (key == "noConnectionReuse" || key == "noVUConnectionReuse" ||
               key == "discardResponseBodies") {
      bool ignored = false;  // accepted for k6 compatibility, no effect in loadgen
      ok = d.read(value, f, ignored);
    } else if (key == "maxRedirects" || key == "batch" || key == "batchPerHost") {
      int64_t ignored = 0;
      ok = d.read(value, f, ignored);
    } else if (unknown) {
      unknown->emplace_back(key);
    } else {
      return d.unknown_field(key);
    }
    if (!ok) return false;
  }
  return true;
}

// ---- custom metrics ------------------------------------------------------------------

bool metric_type(std::string_view text, MetricType& out) {
  if (text == "counter") {
    out = MetricType::kCounter;
  } else if (text == "gauge") {
    out = MetricType::kGauge;
  } else if (text == "rate") {
    out = MetricType::kRate;
  } else if (text == "trend") {
    out = MetricType::kTrend;
  } else {
    return false;
  }
  return true;
}

bool parse_metric(Decoder& d, std::string_view name, element v, MetricDecl& m) {
  m.name = std::string(name);
  if (!is_metric_name(name)) return d.fail("Invalid metric name: '" + m.name + "'");
  if (is_builtin_metric(name)) {
    return d.fail("metric " + quote(name) + " is a built-in metric and cannot be redeclared");
  }
  std::string type;
  std::string contains = "default";
  if (v.type() == element_type::STRING) {
    type = std::string(v.get_string().value_unsafe());
    // The short form of a trend is a time trend, like `new Trend(name, true)`.
    if (type == "trend") contains = "time";
  } else if (v.type() == element_type::OBJECT) {
    bool has_type = false;
    for (auto [key, value] : as_object(v)) {
      Field f{"Metric", key};
      if (key == "type") {
        if (!d.read(value, f, type, &has_type)) return false;
      } else if (key == "contains") {
        if (!d.read(value, f, contains)) return false;
      } else {
        return d.unknown_field(key);
      }
    }
    if (!has_type) return d.fail("metric " + quote(name) + " has no \"type\"");
  } else {
    return d.type_error(v, {"ScriptFile", "metrics"}, "string or Metric");
  }
  if (!metric_type(type, m.type)) {
    return d.fail("metric " + quote(name) + ": unknown type " + quote(type) +
                  " (counter, gauge, rate or trend)");
  }
  if (contains != "default" && contains != "time" && contains != "data") {
    return d.fail("metric " + quote(name) + ": unknown \"contains\" value " + quote(contains) +
                  " (default, time or data)");
  }
  m.is_time = contains == "time";
  m.is_data = contains == "data";
  return true;
}

// ---- steps ---------------------------------------------------------------------------

bool parse_check(Decoder& d, element v, CheckSpec& c) {
  object fields;
  if (!d.object_of(v, {"Step", "checks"}, "Check", fields)) return false;
  int kinds = 0;
  bool has_name = false, has_equals = false, has_contains = false;
  std::string equals, contains;
  for (auto [key, value] : fields) {
    Field f{"Check", key};
    bool ok = true;
    if (key == "name") {
      ok = d.read(value, f, c.name, &has_name);
    } else if (key == "status") {
      ++kinds;
      c.kind = CheckSpec::Kind::kStatus;
      auto code_of = [&](element item) {
        if (item.type() != element_type::INT64) return d.type_error(item, f, "int64");
        c.statuses.push_back(static_cast<int>(item.get_int64().value_unsafe()));
        return true;
      };
      if (value.type() == element_type::ARRAY) {
        for (element item : as_array(value)) {
          if (!code_of(item)) return false;
        }
        if (c.statuses.empty()) return d.fail("check: \"status\" needs at least one code");
      } else {
        ok = code_of(value);
      }
    } else if (key == "body_contains") {
      ++kinds;
      c.kind = CheckSpec::Kind::kBodyContains;
      ok = d.read(value, f, c.text);
    } else if (key == "header") {
      ++kinds;
      c.kind = CheckSpec::Kind::kHeader;
      ok = d.read(value, f, c.header);
    } else if (key == "equals") {
      ok = d.read(value, f, equals, &has_equals);
    } else if (key == "contains") {
      ok = d.read(value, f, contains, &has_contains);
    } else if (key == "duration_below") {
      ++kinds;
      c.kind = CheckSpec::Kind::kDurationBelow;
      ok = d.read(value, f, c.max_ms);
    } else {
      return d.unknown_field(key);
    }
    if (!ok) return false;
  }
  if (kinds != 1) {
    return d.fail(
        "check: exactly one of \"status\", \"body_contains\", \"header\" or \"duration_below\" "
        "is required");
  }
  if ((has_equals || has_contains) && c.kind != CheckSpec::Kind::kHeader) {
    return d.fail("check: \"equals\" and \"contains\" apply only to \"header\"");
  }
  if (has_equals && has_contains) {
    return d.fail("check: \"equals\" and \"contains\" cannot be combined");
  }
  if (has_equals) {
    c.match = CheckSpec::Match::kEquals;
    c.text = equals;
  } else if (has_contains) {
    c.match = CheckSpec::Match::kContains;
    c.text = contains;
  }
  if (!has_name) {
    switch (c.kind) {
      case CheckSpec::Kind::kStatus: {
        c.name = "status is ";
        for (size_t i = 0; i < c.statuses.size(); ++i) {
          if (i > 0) c.name += " or ";
          c.name += std::to_string(c.statuses[i]);
        }
        break;
      }
      case CheckSpec::Kind::kBodyContains:
        c.name = "body contains " + c.text;
        break;
      case CheckSpec::Kind::kHeader:
        c.name = "header " + c.header;
        if (c.match == CheckSpec::Match::kPresent) c.name += " present";
        if (c.match == CheckSpec::Match::kEquals) c.name += " is " + c.text;
        if (c.match == CheckSpec::Match::kContains) c.name += " contains " + c.text;
        break;
      case CheckSpec::Kind::kDurationBelow:
        c.name = "duration < " + number_text(c.max_ms) + "ms";
        break;
    }
  }
  return true;
}

bool record_source(std::string_view word, RecordSpec::Source& out) {
  using S = RecordSpec::Source;
  static const std::pair<std::string_view, S> names[] = {
      {"duration", S::kDuration},
      {"waiting", S::kWaiting},
      {"blocked", S::kBlocked},
      {"connecting", S::kConnecting},
      {"sending", S::kSending},
      {"receiving", S::kReceiving},
      {"failed", S::kFailed},
      {"ok", S::kOk},
      {"checks_failed", S::kChecksFailed},
      {"checks_ok", S::kChecksOk},
      {"status", S::kStatus},
      {"one", S::kOne},
      {"message_latency", S::kMessageLatency},
  };
  for (const auto& [name, source] : names) {
    if (word == name) {
      out = source;
      return true;
    }
  }
  return false;
}

// "duration", "status>=500", "duration > 20".
bool parse_record(Decoder& d, std::string_view metric, std::string_view text, RecordSpec& r) {
  r.metric = std::string(metric);
  std::string_view rest = trim(text);
  size_t end = 0;
  while (end < rest.size() && ((rest[end] >= 'a' && rest[end] <= 'z') || rest[end] == '_')) ++end;
  std::string_view word = rest.substr(0, end);
  if (!record_source(word, r.source)) {
    return d.fail("record: unknown source " + quote(text) + " for metric " + quote(metric) +
                  " (duration, waiting, blocked, connecting, sending, receiving, failed, ok, "
                  "checks_failed, checks_ok, status, one or message_latency)");
  }
  rest = trim(rest.substr(end));
  if (rest.empty()) return true;
  static const char* ops[] = {"<=", ">=", "==", "!=", "<", ">"};
  for (const char* op : ops) {
    std::string_view o(op);
    if (rest.substr(0, o.size()) != o) continue;
    std::string number(trim(rest.substr(o.size())));
    char* stop = nullptr;
    double value = number.empty() ? 0 : std::strtod(number.c_str(), &stop);
    if (number.empty() || stop != number.c_str() + number.size()) break;
    r.op = op;
    r.operand = value;
    return true;
  }
  return d.fail("record: malformed comparison " + quote(text) + " for metric " + quote(metric) +
                " (want e.g. \"duration>20\")");
}

bool parse_sleep(Decoder& d, element v, Step& s) {
  if (v.type() != element_type::OBJECT) {
    bool set = false;
    if (!d.read(v, {"Step", "sleep"}, s.sleep_min, &set)) return false;
    s.sleep_max = s.sleep_min;
    return true;
  }
  bool has_min = false, has_max = false;
  for (auto [key, value] : as_object(v)) {
    if (key == "min") {
      if (!d.read(value, {"Sleep", key}, s.sleep_min, &has_min)) return false;
    } else if (key == "max") {
      if (!d.read(value, {"Sleep", key}, s.sleep_max, &has_max)) return false;
    } else {
      return d.unknown_field(key);
    }
  }
  if (!has_min || !has_max) return d.fail("sleep: both \"min\" and \"max\" are required");
  if (s.sleep_min > s.sleep_max) return d.fail("sleep: \"min\" is greater than \"max\"");
  return true;
}

bool parse_step(Decoder& d, element v, const std::vector<MetricDecl>& metrics, Step& s) {
  object fields;
  if (!d.object_of(v, {"ScriptFile", "flows"}, "Step", fields)) return false;
  bool has_url = false, has_sleep = false, other = false;
  for (auto [key, value] : fields) {
    Field f{"Step", key};
    bool ok = true;
    if (key != "sleep") other = true;
    if (key == "method") {
      ok = d.read(value, f, s.method);
    } else if (key == "url") {
      ok = d.read(value, f, s.url, &has_url);
    } else if (key == "ws") {
      ok = d.read(value, f, s.url, &has_url);
      s.is_ws = true;
    } else if (key == "send") {
      array messages;
      if (value.is_null()) continue;
      if (!d.array_of(value, f, "[]interface {}", messages)) return false;
      for (element m : messages) {
        s.ws_send.push_back(m.type() == element_type::STRING
                                ? std::string(m.get_string().value_unsafe())
                                : simdjson::to_string(m));
      }
    } else if (key == "expect") {
      ok = d.read(value, f, s.ws_expect);
      if (ok && s.ws_expect < 0) return d.fail("step: \"expect\" must not be negative");
    } else if (key == "headers") {
      object headers;
      if (value.is_null()) continue;
      if (!d.object_of(value, f, "map[string]string", headers)) return false;
      for (auto [name, text] : headers) {
        std::string header_value;
        if (!d.read(text, f, header_value)) return false;
        s.headers.emplace_back(std::string(name), std::move(header_value));
      }
    } else if (key == "body") {
      if (value.type() == element_type::STRING) {
        s.body = std::string(value.get_string().value_unsafe());
      } else if (!value.is_null()) {
        s.body = simdjson::to_string(value);
      }
    } else if (key == "name") {
      ok = d.read(value, f, s.name);
    } else if (key == "tags") {
      ok = d.read(value, f, s.tags);
    } else if (key == "timeout") {
      ok = d.read_opt(value, f, s.timeout);
    } else if (key == "checks") {
      array checks;
      if (value.is_null()) continue;
      if (!d.array_of(value, f, "[]Check", checks)) return false;
      for (element item : checks) {
        CheckSpec c;
        if (!parse_check(d, item, c)) return false;
        s.checks.push_back(std::move(c));
      }
    } else if (key == "record") {
      object records;
      if (value.is_null()) continue;
      if (!d.object_of(value, f, "map[string]string", records)) return false;
      for (auto [metric, source] : records) {
        std::string text;
        bool set = false;
        if (!d.read(source, f, text, &set)) return false;
        if (!set) continue;
        std::string_view name =
            metric;  // a structured binding cannot be captured before C++20's rules (clang 14)
        bool declared = std::any_of(metrics.begin(), metrics.end(),
                                    [&](const MetricDecl& m) { return m.name == name; });
        if (!declared) {
          return d.fail("record: metric " + quote(metric) + " is not declared in \"metrics\"");
        }
        RecordSpec r;
        if (!parse_record(d, metric, text, r)) return false;
        s.records.push_back(std::move(r));
      }
    } else if (key == "sleep") {
      has_sleep = !value.is_null();
      if (has_sleep && !parse_sleep(d, value, s)) return false;
    } else {
      return d.unknown_field(key);
    }
    if (!ok) return false;
  }
  if (has_sleep && !other) {
    s.is_sleep = true;
    return true;
  }
  if (!has_url) return d.fail("step: \"url\" is required (only a pause step has no url)");
  if (s.is_ws && fields["url"].error() == simdjson::SUCCESS) {
    return d.fail("step: \"ws\" and \"url\" cannot both be given");
  }
  if (!s.is_ws && (!s.ws_send.empty() || s.ws_expect != 0)) {
    return d.fail("step: \"send\" and \"expect\" need a \"ws\" step");
  }
  for (const auto& r : s.records) {
    if (!s.is_ws && r.source == RecordSpec::Source::kMessageLatency) {
      return d.fail("record: message_latency needs a \"ws\" step");
    }
  }
  return true;
}

bool parse_steps(Decoder& d, element v, Field f, const std::vector<MetricDecl>& metrics,
                 std::vector<Step>& out) {
  array items;
  if (!d.array_of(v, f, "[]Step", items)) return false;
  for (element item : items) {
    Step s;
    if (!parse_step(d, item, metrics, s)) return false;
    out.push_back(std::move(s));
  }
  return true;
}

// Go's wording for a document that is not valid JSON; simdjson's when the scanner in
// common/json accepts what simdjson refused.
std::string syntax_error(const std::string& text, simdjson::error_code code) {
  std::string go_error;
  auto value = json::first_value(text, go_error);
  if (!value) {
    if (go_error == "EOF" || go_error == "unexpected EOF") return "unexpected end of JSON input";
    return go_error;
  }
  size_t pos = static_cast<size_t>(value->data() + value->size() - text.data());
  while (pos < text.size() &&
         (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
    ++pos;
  }
  if (pos < text.size()) {
    return std::string("invalid character '") + text[pos] + "' after top-level value";
  }
  return std::string("invalid JSON: ") + simdjson::error_message(code);
}

}  // namespace

std::optional<ScriptFile> parse_script(const std::string& text, std::string& err) {
  simdjson::dom::parser parser;
  element root;
  if (auto code = parser.parse(text).get(root); code != simdjson::SUCCESS) {
    err = syntax_error(text, code);
    return std::nullopt;
  }
  Decoder d;
  ScriptFile file;
  if (root.type() != element_type::OBJECT) {
    err = "json: cannot unmarshal " + std::string(kind_of(root)) +
          " into Go value of type ScriptFile";
    return std::nullopt;
  }
  // Metrics are needed before the steps that record into them, so the sections are read
  // in a fixed order whatever their order in the file.
  std::optional<element> options, metrics, setup, flows;
  for (auto [key, value] : as_object(root)) {
    if (key == "options") {
      options = value;
    } else if (key == "metrics") {
      metrics = value;
    } else if (key == "setup") {
      setup = value;
    } else if (key == "flows") {
      flows = value;
    } else {
      d.unknown_field(key);
      err = d.error;
      return std::nullopt;
    }
  }
  auto failed = [&] {
    err = d.error;
    return std::nullopt;
  };
  if (options && !options->is_null() && !parse_options(d, *options, file.options)) {
    return failed();
  }
  if (metrics && !metrics->is_null()) {
    object fields;
    if (!d.object_of(*metrics, {"ScriptFile", "metrics"}, "map[string]Metric", fields)) {
      return failed();
    }
    for (auto [name, value] : fields) {
      MetricDecl m;
      if (!parse_metric(d, name, value, m)) return failed();
      auto same = std::find_if(file.metrics.begin(), file.metrics.end(),
                               [&](const MetricDecl& x) { return x.name == m.name; });
      if (same != file.metrics.end()) {
        *same = m;
      } else {
        file.metrics.push_back(m);
      }
    }
  }
  if (setup && !setup->is_null() &&
      !parse_steps(d, *setup, {"ScriptFile", "setup"}, file.metrics, file.setup)) {
    return failed();
  }
  if (flows && !flows->is_null()) {
    object fields;
    if (!d.object_of(*flows, {"ScriptFile", "flows"}, "map[string][]Step", fields)) {
      return failed();
    }
    for (auto [name, value] : fields) {
      std::vector<Step> steps;
      if (!value.is_null() &&
          !parse_steps(d, value, {"ScriptFile", "flows"}, file.metrics, steps)) {
        return failed();
      }
      file.flows[std::string(name)] = std::move(steps);
    }
  }
  // Explicit scenarios must name an existing flow (an empty exec means "default", as in
  // k6; that emptiness itself is reported by validate()).
  if (file.options.scenarios) {
    for (const Scenario& s : *file.options.scenarios) {
      std::string exec = s.exec.empty() ? "default" : s.exec;
      if (file.flows.count(exec) == 0) {
        err = "executor " + s.name + ": function '" + exec + "' not found in exports";
        return std::nullopt;
      }
    }
  }
  return file;
}

std::optional<Options> parse_script_options(const std::string& json,
                                            std::vector<std::string>& unknown, std::string& err) {
  simdjson::dom::parser parser;
  element root;
  if (auto code = parser.parse(json).get(root); code != simdjson::SUCCESS) {
    err = syntax_error(json, code);
    return std::nullopt;
  }
  Options o;
  if (root.is_null()) return o;
  Decoder d;
  if (!parse_options(d, root, o, &unknown)) {
    err = d.error;
    return std::nullopt;
  }
  return o;
}

namespace {

void write_scenario(json::Writer& w, const Scenario& s) {
  w.begin_object();
  w.key("executor").string(executor_name(s.executor));
  w.key("startTime").string(format_go_duration(s.start_time));
  w.key("gracefulStop").string(format_go_duration(s.graceful_stop));
  w.key("env").begin_object();
  for (const auto& [k, v] : s.env) w.key(k).string(v);
  w.end_object();
  w.key("exec").string(s.exec);
  w.key("tags").begin_object();
  for (const auto& [k, v] : s.tags) w.key(k).string(v);
  w.end_object();
  auto stages = [&] {
    w.key("stages").begin_array();
    for (const auto& st : s.stages) {
      w.begin_object()
          .key("duration")
          .string(format_go_duration(st.duration))
          .key("target")
          .integer(st.target)
          .end_object();
    }
    w.end_array();
  };
  switch (s.executor) {
    case Executor::kConstantVus:
      w.key("vus").integer(s.vus).key("duration").string(format_go_duration(s.duration));
      break;
    case Executor::kRampingVus:
      w.key("startVUs").integer(s.start_vus);
      stages();
      w.key("gracefulRampDown").string(format_go_duration(s.graceful_ramp_down));
      break;
    case Executor::kSharedIterations:
    case Executor::kPerVuIterations:
      w.key("vus").integer(s.vus).key("iterations").integer(s.iterations);
      w.key("maxDuration").string(format_go_duration(s.max_duration));
      break;
    case Executor::kConstantArrivalRate:
      w.key("rate").integer(s.rate).key("timeUnit").string(format_go_duration(s.time_unit));
      w.key("duration").string(format_go_duration(s.duration));
      w.key("preAllocatedVUs").integer(s.pre_allocated_vus).key("maxVUs").integer(s.max_vus);
      break;
    case Executor::kRampingArrivalRate:
      w.key("startRate")
          .integer(s.start_rate)
          .key("timeUnit")
          .string(format_go_duration(s.time_unit));
      stages();
      w.key("preAllocatedVUs").integer(s.pre_allocated_vus).key("maxVUs").integer(s.max_vus);
      break;
    case Executor::kExternallyControlled:
      break;
  }
  w.end_object();
}

}  // namespace

std::string options_to_json(const Options& o, const std::vector<Scenario>& scenarios) {
  json::Writer w;
  w.begin_object();
  w.key("scenarios").begin_object();
  for (const auto& s : scenarios) {
    w.key(s.name);
    write_scenario(w, s);
  }
  w.end_object();
  w.key("thresholds");
  if (o.thresholds) {
    w.begin_object();
    for (const auto& [key, list] : *o.thresholds) {
      w.key(key).begin_array();
      for (const auto& t : list) {
        if (!t.abort_on_fail) {
          w.string(t.source);
          continue;
        }
        w.begin_object().key("threshold").string(t.source).key("abortOnFail").boolean(true);
        w.key("delayAbortEval");
        if (t.delay_abort_eval.empty()) {
          w.null();
        } else {
          w.string(t.delay_abort_eval);
        }
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  } else {
    w.null();
  }
  w.key("tags");
  if (o.tags) {
    w.begin_object();
    for (const auto& [k, v] : *o.tags) w.key(k).string(v);
    w.end_object();
  } else {
    w.null();
  }
  w.key("summaryTrendStats");
  if (o.summary_trend_stats) {
    w.begin_array();
    for (const auto& st : *o.summary_trend_stats) w.string(st);
    w.end_array();
  } else {
    w.null();
  }
  w.key("summaryTimeUnit");
  o.summary_time_unit ? w.string(*o.summary_time_unit) : w.null();
  w.key("rps");
  o.rps ? w.integer(*o.rps) : w.null();
  w.key("setupTimeout");
  o.setup_timeout ? w.string(format_go_duration(*o.setup_timeout)) : w.null();
  w.key("userAgent");
  o.user_agent ? w.string(*o.user_agent) : w.null();
  w.key("throw");
  o.throw_errors ? w.boolean(*o.throw_errors) : w.null();
  w.key("insecureSkipTLSVerify");
  o.insecure_skip_tls_verify ? w.boolean(*o.insecure_skip_tls_verify) : w.null();
  w.key("tlsVersion");
  if (o.tls_version) {
    w.begin_object();
    w.key("min");
    w.string(o.tls_version->min);
    w.key("max");
    w.string(o.tls_version->max);
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

bool split_threshold_flag(const std::string& flag, std::string& key, std::string& expr) {
  int depth = 0;
  for (size_t i = 0; i < flag.size(); ++i) {
    char c = flag[i];
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth > 0) --depth;
    } else if (c == ':' && depth == 0) {
      key = std::string(trim(std::string_view(flag).substr(0, i)));
      expr = std::string(trim(std::string_view(flag).substr(i + 1)));
      return !key.empty() && !expr.empty();
    }
  }
  return false;
}

bool apply_layer(Options& lower, const Options& upper) {
  bool cleared_scenarios = false;
  if (upper.duration || upper.iterations || upper.stages || upper.scenarios) {
    cleared_scenarios = lower.scenarios.has_value();
    lower.duration.reset();
    lower.iterations.reset();
    lower.stages.reset();
    lower.scenarios.reset();
  }
  auto take = [](auto& to, const auto& from) {
    if (from) to = from;
  };
  take(lower.vus, upper.vus);
  take(lower.duration, upper.duration);
  take(lower.iterations, upper.iterations);
  take(lower.stages, upper.stages);
  take(lower.scenarios, upper.scenarios);
  take(lower.thresholds, upper.thresholds);
  // Run tags: only a non-empty set replaces the lower one (§1.3.4).
  if (upper.tags && !upper.tags->empty()) lower.tags = upper.tags;
  take(lower.summary_trend_stats, upper.summary_trend_stats);
  take(lower.summary_time_unit, upper.summary_time_unit);
  take(lower.rps, upper.rps);
  take(lower.setup_timeout, upper.setup_timeout);
  take(lower.user_agent, upper.user_agent);
  take(lower.no_cookies_reset, upper.no_cookies_reset);
  take(lower.throw_errors, upper.throw_errors);
  take(lower.insecure_skip_tls_verify, upper.insecure_skip_tls_verify);
  take(lower.tls_version, upper.tls_version);
  take(lower.tls_auth, upper.tls_auth);
  take(lower.tls_cipher_suites, upper.tls_cipher_suites);
  return cleared_scenarios;
}

std::vector<Scenario> derive_scenarios(const Options& o, std::vector<std::string>& errors,
                                       std::vector<std::string>& warnings) {
  auto conflict = [&](const char* a, const char* b) {
    errors.push_back(std::string("using `") + a + "` and `" + b +
                     "` options simultaneously is not allowed");
    return std::vector<Scenario>{};
  };
  const bool has_stages = o.stages && !o.stages->empty();
  // Like k6, scenarios conflict with the shorthands whenever they were set, even empty.
  const bool has_scenarios = o.scenarios.has_value();
  const int64_t vus = o.vus.value_or(1);
  Scenario s;
  s.name = "default";
  s.has_executor = true;
  if (o.iterations) {
    if (has_stages) return conflict("iterations", "stages");
    if (has_scenarios) return conflict("iterations", "scenarios");
    s.executor = Executor::kSharedIterations;
    s.vus = vus;
    s.iterations = *o.iterations;
    s.max_duration = o.duration.value_or(std::chrono::minutes(10));
    return {s};
  }
  if (o.duration) {
    if (has_stages) return conflict("duration", "stages");
    if (has_scenarios) return conflict("duration", "scenarios");
    if (o.duration->count() <= 0) {
      errors.push_back(
          "`duration` option should be more than 0, for infinite duration use the "
          "externally-controlled executor");
      return {};
    }
    s.executor = Executor::kConstantVus;
    s.vus = vus;
    s.duration = *o.duration;
    s.has_duration = true;
    return {s};
  }
  if (has_stages) {
    if (has_scenarios) return conflict("stages", "scenarios");
    s.executor = Executor::kRampingVus;
    s.start_vus = vus;
    s.stages = *o.stages;
    s.graceful_ramp_down = std::chrono::seconds(30);
    return {s};
  }
  if (o.scenarios && !o.scenarios->empty()) return *o.scenarios;
  if (o.vus && *o.vus != 1) {
    warnings.push_back("`vus=" + std::to_string(*o.vus) +
                       "` option will be ignored, it only works in conjunction with "
                       "`iterations`, `duration`, or `stages`");
  }
  if (o.stages && o.stages->empty()) {
    warnings.push_back(
        "`stages` was explicitly set to an empty value, running the script with 1 iteration in "
        "1 VU");
  }
  if (o.scenarios && o.scenarios->empty()) {
    warnings.push_back(
        "`scenarios` was explicitly set to an empty value, running the script with 1 iteration "
        "in 1 VU");
  }
  s.executor = Executor::kPerVuIterations;
  s.vus = 1;
  s.iterations = 1;
  return {s};
}

std::string substitute_env(const std::string& text, const std::map<std::string, std::string>& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {  // unterminated: the rest is literal
      out.append(text, i, std::string::npos);
      break;
    }
    std::string_view inner(text.data() + i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    auto found = env.find(std::string(name));
    // As in the shell, the default also replaces a variable that is set but empty.
    if (found != env.end() && !(fallback && found->second.empty())) {
      out += found->second;
    } else if (fallback) {
      out += *fallback;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace faultline::loadgen
