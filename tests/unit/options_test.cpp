// Scenario files, configuration layers and the shorthand options (spec k6-compat §1.4,
// §1.5, §2.1-§2.3, §4.1). Raw strings use the delimiter J because the JSON inside holds
// `)"` (as in "p(95)").
#include <catch2/catch.hpp>

#include "loadgen/config/options.h"

using namespace faultline::loadgen;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// Parses text that must be valid.
ScriptFile parse_ok(const std::string& text) {
  std::string err;
  auto file = parse_script(text, err);
  INFO(err);
  REQUIRE(file.has_value());
  return *file;
}

// Parses text that must fail and returns the message.
std::string parse_error(const std::string& text) {
  std::string err;
  auto file = parse_script(text, err);
  REQUIRE_FALSE(file.has_value());
  return err;
}

// A file with one scenario object (given as JSON text) and a default flow.
std::string with_scenario(const std::string& scenario) {
  return R"J({"options": {"scenarios": {"s": )J" + scenario +
         R"J(}}, "flows": {"default": [{"url": "http://x/"}]}})J";
}

// A file with one step in the default flow.
std::string with_step(const std::string& step, const std::string& metrics = "{}") {
  return R"J({"metrics": )J" + metrics + R"J(, "flows": {"default": [)J" + step + "]}}";
}

const Scenario& only_scenario(const ScriptFile& f) {
  REQUIRE(f.options.scenarios.has_value());
  REQUIRE(f.options.scenarios->size() == 1);
  return f.options.scenarios->front();
}

// clang-format off
const char* kBaseline = R"J({
  "options": {
    "scenarios": {
      "warm_up": {"executor": "constant-vus", "vus": 1, "duration": "30s",
                  "tags": {"phase": "warm_up"}, "env": {"PHASE": "warm"}},
      "baseline": {"executor": "constant-vus", "vus": 5, "duration": "2m",
                   "startTime": "30s", "tags": {"phase": "baseline"}, "gracefulStop": "10s"},
      "light_load": {"executor": "constant-vus", "vus": 10, "duration": "2m",
                     "startTime": "2m30s", "exec": "browse", "tags": {"phase": "light"}},
      "cool_down": {"executor": "constant-vus", "vus": 1, "duration": 30000,
                    "startTime": "4m30s"}
    },
    "thresholds": {
      "http_req_duration": ["p(95)<2000", "p(99)<5000"],
      "http_req_failed": ["rate<0.01"],
      "http_req_duration{scenario:baseline}": [
        {"threshold": "p(95)<500", "abortOnFail": true, "delayAbortEval": "30s"}
      ],
      "agent_spawn_duration": ["avg<300"]
    },
    "tags": {"suite": "chaos"},
    "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
    "summaryTimeUnit": "ms",
    "setupTimeout": "45s",
    "userAgent": "loadgen-test",
    "rps": 50,
    "noConnectionReuse": false,
    "maxRedirects": 5
  },
  "metrics": {"agent_spawn_duration": "trend", "errors": "rate"},
  "setup": [{"method": "POST", "url": "${BASE:-http://localhost:9200}/reset",
             "checks": [{"status": 204}]}],
  "flows": {
    "default": [
      {"method": "POST", "url": "${BASE:-http://localhost:9200}/api/v1/agents",
       "headers": {"X-API-Key": "${KEY}", "Content-Type": "application/json"},
       "body": {"name": "a", "n": [1, 2]}, "name": "spawn",
       "checks": [{"name": "spawned", "status": 201}],
       "record": {"agent_spawn_duration": "duration", "errors": "failed"},
       "sleep": {"min": "1s", "max": "3s"}},
      {"sleep": "500ms"}
    ],
    "browse": [{"url": "http://localhost:9200/api/v1/agents"}]
  }
})J";
// clang-format on

}  // namespace

TEST_CASE("the users' baseline file is read completely", "[options]") {
  ScriptFile f = parse_ok(kBaseline);
  const Options& o = f.options;
  REQUIRE(o.scenarios.has_value());
  const auto& sc = *o.scenarios;
  REQUIRE(sc.size() == 4);
  // File order is kept.
  CHECK(sc[0].name == "warm_up");
  CHECK(sc[1].name == "baseline");
  CHECK(sc[2].name == "light_load");
  CHECK(sc[3].name == "cool_down");
  for (const auto& s : sc) {
    CHECK(s.executor == Executor::kConstantVus);
    CHECK(s.has_executor);
    CHECK(s.has_duration);
    CHECK(validate(s).empty());
  }
  CHECK(sc[0].vus == 1);
  CHECK(sc[0].duration == seconds(30));
  CHECK(sc[0].start_time == seconds(0));
  CHECK(sc[0].tags == std::map<std::string, std::string>{{"phase", "warm_up"}});
  CHECK(sc[0].env == std::map<std::string, std::string>{{"PHASE", "warm"}});
  CHECK(sc[0].exec == "default");
  CHECK_FALSE(sc[0].has_exec);
  CHECK_FALSE(sc[0].has_graceful_stop);
  CHECK(sc[0].graceful_stop == seconds(30));
  CHECK(sc[1].vus == 5);
  CHECK(sc[1].duration == minutes(2));
  CHECK(sc[1].start_time == seconds(30));
  CHECK(sc[1].has_graceful_stop);
  CHECK(sc[1].graceful_stop == seconds(10));
  CHECK(sc[2].start_time == seconds(150));
  CHECK(sc[2].exec == "browse");
  CHECK(sc[2].has_exec);
  CHECK(sc[3].duration == seconds(30));  // a JSON number is milliseconds
  CHECK(sc[3].start_time == seconds(270));

  REQUIRE(o.thresholds.has_value());
  const auto& th = *o.thresholds;
  REQUIRE(th.size() == 4);
  REQUIRE(th.at("http_req_duration").size() == 2);
  CHECK(th.at("http_req_duration")[0].source == "p(95)<2000");
  CHECK(th.at("http_req_duration")[0].aggregation == "p(95)");
  CHECK(th.at("http_req_duration")[0].value == 2000);
  CHECK_FALSE(th.at("http_req_duration")[0].abort_on_fail);
  CHECK(th.at("http_req_duration")[0].delay_abort_eval_ns == -1);
  CHECK(th.at("http_req_duration")[1].source == "p(99)<5000");
  CHECK(th.at("http_req_failed")[0].aggregation == "rate");
  const Threshold& abort = th.at("http_req_duration{scenario:baseline}").at(0);
  CHECK(abort.source == "p(95)<500");
  CHECK(abort.abort_on_fail);
  CHECK(abort.delay_abort_eval_ns == 30'000'000'000);
  CHECK(abort.delay_abort_eval == "30s");
  CHECK(th.count("agent_spawn_duration") == 1);

  CHECK(o.tags == std::map<std::string, std::string>{{"suite", "chaos"}});
  REQUIRE(o.summary_trend_stats.has_value());
  CHECK(o.summary_trend_stats->size() == 7);
  CHECK(o.summary_time_unit == "ms");
  CHECK(o.setup_timeout == seconds(45));
  CHECK(o.user_agent == "loadgen-test");
  CHECK(o.rps == 50);
  CHECK_FALSE(o.vus.has_value());
  CHECK_FALSE(o.duration.has_value());
  CHECK_FALSE(o.iterations.has_value());
  CHECK_FALSE(o.stages.has_value());

  REQUIRE(f.metrics.size() == 2);
  CHECK(f.metrics[0].name == "agent_spawn_duration");
  CHECK(f.metrics[0].type == MetricType::kTrend);
  CHECK(f.metrics[0].is_time);
  CHECK(f.metrics[1].name == "errors");
  CHECK(f.metrics[1].type == MetricType::kRate);
  CHECK_FALSE(f.metrics[1].is_time);

  REQUIRE(f.setup.size() == 1);
  CHECK(f.setup[0].method == "POST");
  CHECK(f.setup[0].checks.at(0).statuses == std::vector<int>{204});

  REQUIRE(f.flows.size() == 2);
  const auto& flow = f.flows.at("default");
  REQUIRE(flow.size() == 2);
  const Step& spawn = flow[0];
  CHECK_FALSE(spawn.is_sleep);
  CHECK(spawn.url == "${BASE:-http://localhost:9200}/api/v1/agents");
  CHECK(spawn.headers == std::vector<std::pair<std::string, std::string>>{
                             {"X-API-Key", "${KEY}"}, {"Content-Type", "application/json"}});
  CHECK(spawn.body == R"J({"name":"a","n":[1,2]})J");
  CHECK(spawn.name == "spawn");
  REQUIRE(spawn.checks.size() == 1);
  CHECK(spawn.checks[0].name == "spawned");
  REQUIRE(spawn.records.size() == 2);
  CHECK(spawn.records[0].metric == "agent_spawn_duration");
  CHECK(spawn.records[0].source == RecordSpec::Source::kDuration);
  CHECK(spawn.records[1].metric == "errors");
  CHECK(spawn.records[1].source == RecordSpec::Source::kFailed);
  CHECK(spawn.sleep_min == seconds(1));
  CHECK(spawn.sleep_max == seconds(3));
  CHECK(flow[1].is_sleep);
  CHECK(flow[1].sleep_min == milliseconds(500));
  CHECK(flow[1].sleep_max == milliseconds(500));
  CHECK(f.flows.at("browse").size() == 1);
}

TEST_CASE("each executor reads its own keys", "[options]") {
  SECTION("shared-iterations") {
    auto f = parse_ok(with_scenario(
        R"J({"executor": "shared-iterations", "vus": 3, "iterations": 30, "maxDuration": "1m"})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kSharedIterations);
    CHECK(s.vus == 3);
    CHECK(s.iterations == 30);
    CHECK(s.max_duration == minutes(1));
  }
  SECTION("per-vu-iterations") {
    auto f = parse_ok(with_scenario(
        R"J({"executor": "per-vu-iterations", "vus": 2, "iterations": 7, "maxDuration": 90000})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kPerVuIterations);
    CHECK(s.vus == 2);
    CHECK(s.iterations == 7);
    CHECK(s.max_duration == seconds(90));
  }
  SECTION("per-vu-iterations defaults") {
    auto f = parse_ok(with_scenario(R"J({"executor": "per-vu-iterations"})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.vus == 1);
    CHECK(s.iterations == 1);
    CHECK(s.max_duration == minutes(10));
  }
  SECTION("constant-vus without a duration leaves has_duration unset") {
    auto f = parse_ok(with_scenario(R"J({"executor": "constant-vus", "vus": 4})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.vus == 4);
    CHECK_FALSE(s.has_duration);
    CHECK(validate(s) == std::vector<std::string>{"the duration is unspecified"});
  }
  SECTION("ramping-vus") {
    auto f = parse_ok(with_scenario(R"J({"executor": "ramping-vus", "startVUs": 0,
        "stages": [{"duration": "10s", "target": 5}, {"duration": "1d", "target": 0},
                   {"target": 3}],
        "gracefulRampDown": "5s"})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kRampingVus);
    CHECK(s.start_vus == 0);
    REQUIRE(s.stages.size() == 3);
    CHECK(s.stages[0].duration == seconds(10));
    CHECK(s.stages[0].target == 5);
    CHECK(s.stages[0].has_duration);
    CHECK(s.stages[0].has_target);
    CHECK(s.stages[1].duration == std::chrono::hours(24));
    CHECK_FALSE(s.stages[2].has_duration);
    CHECK(s.stages[2].has_target);
    CHECK(s.graceful_ramp_down == seconds(5));
  }
  SECTION("constant-arrival-rate") {
    auto f = parse_ok(with_scenario(R"J({"executor": "constant-arrival-rate", "rate": 7,
        "timeUnit": "1m", "duration": "30s", "preAllocatedVUs": 10, "maxVUs": 50})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kConstantArrivalRate);
    CHECK(s.rate == 7);
    CHECK(s.has_rate);
    CHECK(s.time_unit == minutes(1));
    CHECK(s.duration == seconds(30));
    CHECK(s.pre_allocated_vus == 10);
    CHECK(s.has_pre_allocated_vus);
    CHECK(s.max_vus == 50);
    CHECK(s.has_max_vus);
  }
  SECTION("constant-arrival-rate without its required keys") {
    auto f = parse_ok(with_scenario(R"J({"executor": "constant-arrival-rate"})J"));
    const Scenario& s = only_scenario(f);
    CHECK_FALSE(s.has_rate);
    CHECK_FALSE(s.has_pre_allocated_vus);
    CHECK_FALSE(s.has_max_vus);
    CHECK_FALSE(s.has_duration);
  }
  SECTION("ramping-arrival-rate") {
    auto f = parse_ok(with_scenario(R"J({"executor": "ramping-arrival-rate", "startRate": 2,
        "timeUnit": "2s", "stages": [{"duration": "1m", "target": 20}],
        "preAllocatedVUs": 5, "maxVUs": 9})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kRampingArrivalRate);
    CHECK(s.start_rate == 2);
    CHECK(s.time_unit == seconds(2));
    REQUIRE(s.stages.size() == 1);
    CHECK(s.stages[0].target == 20);
    CHECK(s.pre_allocated_vus == 5);
    CHECK(s.max_vus == 9);
  }
  SECTION("externally-controlled") {
    auto f = parse_ok(with_scenario(R"J({"executor": "externally-controlled", "vus": 2,
        "maxVUs": 8, "duration": "0"})J"));
    const Scenario& s = only_scenario(f);
    CHECK(s.executor == Executor::kExternallyControlled);
    CHECK(s.vus == 2);
    CHECK(s.max_vus == 8);
    CHECK(s.has_duration);
    CHECK(s.duration == Duration(0));
  }
  SECTION("browser options are ignored") {
    auto f = parse_ok(with_scenario(
        R"J({"executor": "constant-vus", "duration": "1s", "options": {"browser": {"type": "x"}}})J"));
    CHECK(only_scenario(f).duration == seconds(1));
  }
}

TEST_CASE("keys of another executor are unknown fields", "[options]") {
  CHECK(parse_error(with_scenario(R"J({"executor": "constant-vus", "iterations": 5})J")) ==
        R"J(json: unknown field "iterations")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "shared-iterations", "duration": "5s"})J")) ==
        R"J(json: unknown field "duration")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "ramping-vus", "vus": 5})J")) ==
        R"J(json: unknown field "vus")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "constant-arrival-rate", "stages": []})J")) ==
        R"J(json: unknown field "stages")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "ramping-arrival-rate", "rate": 5})J")) ==
        R"J(json: unknown field "rate")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "per-vu-iterations", "maxVUs": 5})J")) ==
        R"J(json: unknown field "maxVUs")J");
  CHECK(parse_error(with_scenario(R"J({"executor": "constant-vus", "xyz": 1})J")) ==
        R"J(json: unknown field "xyz")J");
}

TEST_CASE("unknown keys are errors everywhere but in threshold objects", "[options]") {
  CHECK(parse_error(R"J({"option": {}})J") == R"J(json: unknown field "option")J");
  CHECK(parse_error(R"J({"options": {"vu": 1}})J") == R"J(json: unknown field "vu")J");
  CHECK(parse_error(R"J({"options": {"stages": [{"duration": "1s", "targets": 1}]}})J") ==
        R"J(json: unknown field "targets")J");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "header": {}})J")) ==
        R"J(json: unknown field "header")J");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "checks": [{"status": 200, "x": 1}]})J")) ==
        R"J(json: unknown field "x")J");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "sleep": {"min": 1, "mx": 2}})J")) ==
        R"J(json: unknown field "mx")J");
  CHECK(parse_error(R"J({"metrics": {"m_1": {"type": "counter", "kind": "x"}}})J") ==
        R"J(json: unknown field "kind")J");
  // The harmless k6 options are accepted.
  parse_ok(R"J({"options": {"noConnectionReuse": true, "noVUConnectionReuse": false,
      "discardResponseBodies": true, "insecureSkipTLSVerify": true, "maxRedirects": 3,
      "batch": 20, "batchPerHost": 6}})J");
  // Threshold objects ignore what they do not know.
  auto f = parse_ok(R"J({"options": {"thresholds": {"checks": [
      {"threshold": "rate>0.9", "comment": "ignored"}]}}})J");
  CHECK(f.options.thresholds->at("checks").at(0).aggregation == "rate");
}

TEST_CASE("wrong JSON types name the field and the expected type", "[options]") {
  CHECK(parse_error(R"J({"options": {"vus": "10"}})J") ==
        "json: cannot unmarshal string into Go struct field Options.vus of type int64");
  CHECK(parse_error(R"J({"options": {"vus": 1.5}})J") ==
        "json: cannot unmarshal number 1.5 into Go struct field Options.vus of type int64");
  CHECK(parse_error(R"J({"options": {"iterations": true}})J") ==
        "json: cannot unmarshal bool into Go struct field Options.iterations of type int64");
  CHECK(parse_error(R"J({"options": {"duration": true}})J") ==
        "json: cannot unmarshal bool into Go struct field Options.duration of type "
        "types.NullDuration");
  CHECK(parse_error(R"J({"options": {"duration": "10 seconds"}})J") ==
        R"J(time: invalid duration "10 seconds")J");
  CHECK(parse_error(R"J({"options": {"tags": {"a": 1}}})J") ==
        "json: cannot unmarshal number into Go struct field Options.tags of type string");
  CHECK(parse_error(R"J({"options": {"tags": []}})J") ==
        "json: cannot unmarshal array into Go struct field Options.tags of type "
        "map[string]string");
  CHECK(parse_error(R"J({"options": {"summaryTrendStats": "avg"}})J") ==
        "json: cannot unmarshal string into Go struct field Options.summaryTrendStats of type "
        "[]string");
  CHECK(parse_error(R"J({"options": {"noConnectionReuse": 1}})J") ==
        "json: cannot unmarshal number into Go struct field Options.noConnectionReuse of type "
        "bool");
  CHECK(parse_error(with_scenario(R"J({"executor": "constant-vus", "vus": "10"})J")) ==
        "json: cannot unmarshal string into Go struct field ConstantVUsConfig.vus of type int64");
  CHECK(parse_error(with_scenario(R"J({"executor": 5})J")) ==
        "json: cannot unmarshal number into Go struct field BaseConfig.executor of type string");
  CHECK(parse_error(R"J({"options": {"stages": [{"duration": "1s", "target": "5"}]}})J") ==
        "json: cannot unmarshal string into Go struct field Stage.target of type int64");
  CHECK(parse_error(R"J({"options": {"thresholds": {"http_req_duration": "p(95)<200"}}})J") ==
        "json: cannot unmarshal string into Go struct field "
        "Options.thresholds.http_req_duration of type []metrics.thresholdConfig");
  CHECK(parse_error(R"J({"options": {"thresholds": {"checks": [5]}}})J") ==
        "json: cannot unmarshal number into Go value of type metrics.thresholdConfig");
  CHECK(parse_error(R"J({"options": {"thresholds": {"checks": [
      {"threshold": "rate>0.9", "abortOnFail": "yes"}]}}})J") ==
        "json: cannot unmarshal string into Go struct field thresholdConfig.abortOnFail of type "
        "bool");
  CHECK(parse_error(R"J([1, 2])J") ==
        "json: cannot unmarshal array into Go value of type ScriptFile");
  CHECK(parse_error(with_step(R"J({"url": 5})J")) ==
        "json: cannot unmarshal number into Go struct field Step.url of type string");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "checks": [{"status": "200"}]})J")) ==
        "json: cannot unmarshal string into Go struct field Check.status of type int64");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "checks": [{"status": [200, 2.5]}]})J")) ==
        "json: cannot unmarshal number 2.5 into Go struct field Check.status of type int64");
}

TEST_CASE("JSON syntax errors are reported", "[options]") {
  CHECK_FALSE(parse_error(R"J({"options": {"vus": 1,}})J").empty());
  CHECK_FALSE(parse_error(R"J({"options": )J").empty());
  CHECK(parse_error("") == "unexpected end of JSON input");
  CHECK(parse_error(R"J({"options": {}} x)J") == "invalid character 'x' after top-level value");
}

TEST_CASE("null leaves an option unset", "[options]") {
  auto f = parse_ok(R"J({"options": {"vus": null, "duration": null, "scenarios": null}})J");
  CHECK_FALSE(f.options.vus.has_value());
  CHECK_FALSE(f.options.duration.has_value());
  CHECK_FALSE(f.options.scenarios.has_value());
}

TEST_CASE("threshold declarations", "[options]") {
  SECTION("expression errors come from parse_threshold verbatim") {
    std::string expected;
    parse_threshold("p95<200", expected);
    CHECK(parse_error(R"J({"options": {"thresholds": {"http_req_duration": ["p95<200"]}}})J") ==
          expected);
    CHECK(
        parse_error(R"J({"options": {"thresholds": {"http_req_duration": ["p(95)"]}}})J") ==
        R"J(failed parsing threshold expression "p(95)"; reason: malformed threshold expression)J");
    CHECK(parse_error(R"J({"options": {"thresholds": {"x": [{"threshold": "p(95)<200ms"}]}}})J") ==
          "failed parsing threshold expresion's \"p(95)<200ms\" right hand side; reason: "
          "strconv.ParseFloat: parsing \"200ms\": invalid syntax");
  }
  SECTION("malformed selectors") {
    for (const char* key : {"http_req_duration{status:}", "http_req_duration{status",
                            "http_req_duration{a:b}x", "http_req_duration{status}"}) {
      std::string text =
          std::string(R"J({"options": {"thresholds": {")J") + key + R"J(": ["p(95)<1"]}}})J";
      CHECK(parse_error(text) ==
            "unable to validate threshold expressions; reason: parsing metric name failed, "
            "metric \"" +
                std::string(key) + "\" tag expression is malformed");
    }
  }
  SECTION("metrics are not looked up here") {
    auto f = parse_ok(R"J({"options": {"thresholds": {"no_such_metric{a:b}": ["count>1"]}}})J");
    CHECK(f.options.thresholds->count("no_such_metric{a:b}") == 1);
  }
  SECTION("delayAbortEval as a number of milliseconds") {
    auto f = parse_ok(R"J({"options": {"thresholds": {"checks": [
        {"threshold": "rate>0.9", "abortOnFail": true, "delayAbortEval": 1500}]}}})J");
    const Threshold& t = f.options.thresholds->at("checks").at(0);
    CHECK(t.abort_on_fail);
    CHECK(t.delay_abort_eval_ns == 1'500'000'000);
    CHECK(t.delay_abort_eval == "1500");
  }
  SECTION("=== means ==") {
    auto f = parse_ok(R"J({"options": {"thresholds": {"vus": ["value===3"]}}})J");
    CHECK(f.options.thresholds->at("vus").at(0).op == "==");
  }
}

TEST_CASE("scenario names and executors", "[options]") {
  CHECK(
      parse_error(R"J({"options": {"scenarios": {"bad name": {"executor": "constant-vus"}}}})J") ==
      "the scenario name should contain only numbers, latin letters, underscores, and dashes");
  CHECK(parse_error(R"J({"options": {"scenarios": {"s": {"vus": 1}}}})J") ==
        "scenario 's' doesn't have a specified executor type");
  CHECK(parse_error(R"J({"options": {"scenarios": {"s": {"executor": "constant-vu"}}}})J") ==
        "unknown executor type 'constant-vu'");
  CHECK(parse_error(R"J({"options": {"scenarios": {"spike": {"executor": "constant-vus",
        "duration": "1s", "exec": "spikeFn"}}}, "flows": {"default": []}})J") ==
        "executor spike: function 'spikeFn' not found in exports");
  CHECK(parse_error(R"J({"options": {"scenarios": {"s": {"executor": "constant-vus"}}}})J") ==
        "executor s: function 'default' not found in exports");
  // Names with digits, dashes and underscores are fine.
  auto f = parse_ok(R"J({"options": {"scenarios": {"Load-1_a": {"executor": "constant-vus"}}},
      "flows": {"default": []}})J");
  CHECK(only_scenario(f).name == "Load-1_a");
}

TEST_CASE("custom metric declarations", "[options]") {
  auto f = parse_ok(R"J({"metrics": {"c_1": "counter", "g1": {"type": "gauge"},
      "t_time": "trend", "t_plain": {"type": "trend"}, "t_data": {"type": "trend",
      "contains": "data"}, "r1": "rate", "t2": {"type": "trend", "contains": "time"}}})J");
  REQUIRE(f.metrics.size() == 7);
  CHECK(f.metrics[0].name == "c_1");
  CHECK(f.metrics[0].type == MetricType::kCounter);
  CHECK(f.metrics[1].type == MetricType::kGauge);
  CHECK(f.metrics[2].type == MetricType::kTrend);
  CHECK(f.metrics[2].is_time);
  CHECK_FALSE(f.metrics[3].is_time);
  CHECK(f.metrics[4].is_data);
  CHECK_FALSE(f.metrics[4].is_time);
  CHECK(f.metrics[5].type == MetricType::kRate);
  CHECK(f.metrics[6].is_time);

  CHECK(parse_error(R"J({"metrics": {"x": "counter"}})J") == "Invalid metric name: 'x'");
  CHECK(parse_error(R"J({"metrics": {"1abc": "counter"}})J") == "Invalid metric name: '1abc'");
  CHECK(parse_error(R"J({"metrics": {"a-b": "counter"}})J") == "Invalid metric name: 'a-b'");
  CHECK(parse_error(R"J({"metrics": {"http_req_duration": "trend"}})J") ==
        R"J(metric "http_req_duration" is a built-in metric and cannot be redeclared)J");
  CHECK(parse_error(R"J({"metrics": {"checks": "rate"}})J") ==
        R"J(metric "checks" is a built-in metric and cannot be redeclared)J");
  CHECK(parse_error(R"J({"metrics": {"abc": "histogram"}})J") ==
        R"J(metric "abc": unknown type "histogram" (counter, gauge, rate or trend))J");
  CHECK(parse_error(R"J({"metrics": {"abc": {"contains": "time"}}})J") ==
        R"J(metric "abc" has no "type")J");
  CHECK(parse_error(R"J({"metrics": {"abc": {"type": "trend", "contains": "bytes"}}})J") ==
        R"J(metric "abc": unknown "contains" value "bytes" (default, time or data))J");
  CHECK(parse_error(R"J({"metrics": {"abc": 5}})J") ==
        "json: cannot unmarshal number into Go struct field ScriptFile.metrics of type string "
        "or Metric");
}

TEST_CASE("steps: requests and pauses", "[options]") {
  SECTION("defaults") {
    auto f = parse_ok(with_step(R"J({"url": "http://x/"})J"));
    const Step& s = f.flows.at("default").at(0);
    CHECK(s.method == "GET");
    CHECK_FALSE(s.is_sleep);
    CHECK(s.body.empty());
    CHECK(s.sleep_min == Duration(0));
    CHECK_FALSE(s.timeout.has_value());
  }
  SECTION("method kept as given, string body, tags, timeout, fixed think time") {
    auto f = parse_ok(with_step(R"J({"method": "patch", "url": "http://x/", "body": "a=b",
        "tags": {"k": "v"}, "timeout": "10s", "sleep": 250})J"));
    const Step& s = f.flows.at("default").at(0);
    CHECK(s.method == "patch");
    CHECK(s.body == "a=b");
    CHECK(s.tags == std::map<std::string, std::string>{{"k", "v"}});
    CHECK(s.timeout == seconds(10));
    CHECK(s.sleep_min == milliseconds(250));
    CHECK(s.sleep_max == milliseconds(250));
  }
  SECTION("a non-string body is sent serialised") {
    auto f = parse_ok(with_step(R"J({"url": "http://x/", "body": [1, {"a": true}]})J"));
    CHECK(f.flows.at("default").at(0).body == R"J([1,{"a":true}])J");
  }
  SECTION("pauses") {
    auto f = parse_ok(with_step(R"J({"sleep": {"min": "1s", "max": 3000}}, {"sleep": "2s"})J"));
    const auto& flow = f.flows.at("default");
    CHECK(flow[0].is_sleep);
    CHECK(flow[0].sleep_min == seconds(1));
    CHECK(flow[0].sleep_max == seconds(3));
    CHECK(flow[1].is_sleep);
    CHECK(flow[1].sleep_min == seconds(2));
  }
  SECTION("errors") {
    CHECK(parse_error(with_step(R"J({"method": "GET"})J")) ==
          R"J(step: "url" is required (only a pause step has no url))J");
    CHECK(parse_error(with_step("{}")) ==
          R"J(step: "url" is required (only a pause step has no url))J");
    CHECK(parse_error(with_step(R"J({"sleep": {"min": "1s"}})J")) ==
          R"J(sleep: both "min" and "max" are required)J");
    CHECK(parse_error(with_step(R"J({"sleep": {"min": "3s", "max": "1s"}})J")) ==
          R"J(sleep: "min" is greater than "max")J");
    CHECK(parse_error(R"J({"flows": {"default": {"url": "http://x/"}}})J") ==
          "json: cannot unmarshal object into Go struct field ScriptFile.flows of type []Step");
  }
  SECTION("setup steps") {
    auto f = parse_ok(R"J({"setup": [{"url": "http://x/a"}, {"sleep": "1s"}]})J");
    REQUIRE(f.setup.size() == 2);
    CHECK(f.setup[0].url == "http://x/a");
    CHECK(f.setup[1].is_sleep);
  }
}

TEST_CASE("checks and their generated names", "[options]") {
  auto f = parse_ok(with_step(R"J({"url": "http://x/", "checks": [
      {"status": 200}, {"status": [200, 201]}, {"body_contains": "ok"},
      {"header": "X-Id"}, {"header": "Content-Type", "equals": "text/plain"},
      {"header": "Content-Type", "contains": "json"}, {"duration_below": 200},
      {"duration_below": 0.5}, {"name": "mine", "status": [204]}]})J"));
  const auto& c = f.flows.at("default").at(0).checks;
  REQUIRE(c.size() == 9);
  CHECK(c[0].name == "status is 200");
  CHECK(c[0].kind == CheckSpec::Kind::kStatus);
  CHECK(c[0].statuses == std::vector<int>{200});
  CHECK(c[1].name == "status is 200 or 201");
  CHECK(c[1].statuses == std::vector<int>{200, 201});
  CHECK(c[2].name == "body contains ok");
  CHECK(c[2].kind == CheckSpec::Kind::kBodyContains);
  CHECK(c[2].text == "ok");
  CHECK(c[3].name == "header X-Id present");
  CHECK(c[3].kind == CheckSpec::Kind::kHeader);
  CHECK(c[3].header == "X-Id");
  CHECK(c[3].match == CheckSpec::Match::kPresent);
  CHECK(c[4].name == "header Content-Type is text/plain");
  CHECK(c[4].match == CheckSpec::Match::kEquals);
  CHECK(c[4].text == "text/plain");
  CHECK(c[5].name == "header Content-Type contains json");
  CHECK(c[5].match == CheckSpec::Match::kContains);
  CHECK(c[5].text == "json");
  CHECK(c[6].name == "duration < 200ms");
  CHECK(c[6].kind == CheckSpec::Kind::kDurationBelow);
  CHECK(c[6].max_ms == 200);
  CHECK(c[7].name == "duration < 0.5ms");
  CHECK(c[8].name == "mine");
  CHECK(c[8].statuses == std::vector<int>{204});

  const std::string one_of =
      R"J(check: exactly one of "status", "body_contains", "header" or "duration_below" )J"
      "is required";
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "checks": [{"name": "n"}]})J")) == one_of);
  CHECK(parse_error(with_step(
            R"J({"url": "http://x/", "checks": [{"status": 200, "body_contains": "x"}]})J")) ==
        one_of);
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "checks": [{"status": []}]})J")) ==
        R"J(check: "status" needs at least one code)J");
  CHECK(parse_error(
            with_step(R"J({"url": "http://x/", "checks": [{"status": 200, "equals": "x"}]})J")) ==
        R"J(check: "equals" and "contains" apply only to "header")J");
  CHECK(
      parse_error(with_step(
          R"J({"url": "http://x/", "checks": [{"header": "A", "equals": "x", "contains": "y"}]})J")) ==
      R"J(check: "equals" and "contains" cannot be combined)J");
}

TEST_CASE("record: sources and comparisons", "[options]") {
  const std::string metrics =
      R"J({"dd": "trend", "ww": "trend", "viol": "counter", "errs": "rate", "st": "gauge",
          "nn": "counter", "five": "rate", "ne": "rate", "cf": "rate", "le": "rate"})J";
  auto f = parse_ok(with_step(R"J({"url": "http://x/", "record": {"dd": "duration",
      "ww": "waiting", "viol": "duration>20", "errs": "failed", "st": "status",
      "nn": "one", "five": "status >= 500", "ne": "status!=200", "cf": "checks_failed",
      "le": "blocked<=1.5"}})J",
                              metrics));
  const auto& r = f.flows.at("default").at(0).records;
  REQUIRE(r.size() == 10);
  using S = RecordSpec::Source;
  CHECK(r[0].metric == "dd");
  CHECK(r[0].source == S::kDuration);
  CHECK(r[0].op.empty());
  CHECK(r[1].source == S::kWaiting);
  CHECK(r[2].metric == "viol");
  CHECK(r[2].source == S::kDuration);
  CHECK(r[2].op == ">");
  CHECK(r[2].operand == 20);
  CHECK(r[3].source == S::kFailed);
  CHECK(r[4].source == S::kStatus);
  CHECK(r[5].source == S::kOne);
  CHECK(r[6].source == S::kStatus);
  CHECK(r[6].op == ">=");
  CHECK(r[6].operand == 500);
  CHECK(r[7].op == "!=");
  CHECK(r[7].operand == 200);
  CHECK(r[8].source == S::kChecksFailed);
  CHECK(r[9].source == S::kBlocked);
  CHECK(r[9].op == "<=");
  CHECK(r[9].operand == 1.5);

  auto f2 = parse_ok(with_step(R"J({"url": "http://x/", "record": {"aa": "connecting",
      "bb": "sending", "cc": "receiving", "dd": "ok", "ee": "checks_ok"}})J",
                               R"J({"aa": "trend", "bb": "trend", "cc": "trend", "dd": "rate",
                                   "ee": "rate"})J"));
  const auto& r2 = f2.flows.at("default").at(0).records;
  REQUIRE(r2.size() == 5);
  CHECK(r2[0].source == S::kConnecting);
  CHECK(r2[1].source == S::kSending);
  CHECK(r2[2].source == S::kReceiving);
  CHECK(r2[3].source == S::kOk);
  CHECK(r2[4].source == S::kChecksOk);

  CHECK(parse_error(with_step(R"J({"url": "http://x/", "record": {"nope": "duration"}})J")) ==
        R"J(record: metric "nope" is not declared in "metrics")J");
  // A metric declared after the flows in the file still counts.
  parse_ok(R"J({"flows": {"default": [{"url": "http://x/", "record": {"late": "one"}}]},
               "metrics": {"late": "counter"}})J");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "record": {"dd": "latency"}})J",
                              R"J({"dd": "trend"})J")) ==
        R"J(record: unknown source "latency" for metric "dd" (duration, waiting, blocked, )J"
        "connecting, sending, receiving, failed, ok, checks_failed, checks_ok, status, one or "
        "message_latency)");
  CHECK(
      parse_error(with_step(R"J({"url": "http://x/", "record": {"dd": "duration>>2"}})J",
                            R"J({"dd": "trend"})J")) ==
      R"J(record: malformed comparison "duration>>2" for metric "dd" (want e.g. "duration>20"))J");
  CHECK(parse_error(with_step(R"J({"url": "http://x/", "record": {"dd": "duration>"}})J",
                              R"J({"dd": "trend"})J")) ==
        R"J(record: malformed comparison "duration>" for metric "dd" (want e.g. "duration>20"))J");
  CHECK(parse_error(
            with_step(R"J({"url": "http://x/", "record": {"dd": 5}})J", R"J({"dd": "trend"})J")) ==
        "json: cannot unmarshal number into Go struct field Step.record of type string");
}

TEST_CASE("split_threshold_flag", "[options]") {
  std::string key, expr;
  REQUIRE(split_threshold_flag("http_req_duration: p(95)<2000", key, expr));
  CHECK(key == "http_req_duration");
  CHECK(expr == "p(95)<2000");
  REQUIRE(split_threshold_flag("http_req_duration{scenario:baseline}:p(99) < 5", key, expr));
  CHECK(key == "http_req_duration{scenario:baseline}");
  CHECK(expr == "p(99) < 5");
  REQUIRE(split_threshold_flag("checks{check:a:b}:rate>0.9", key, expr));
  CHECK(key == "checks{check:a:b}");
  CHECK(expr == "rate>0.9");
  CHECK_FALSE(split_threshold_flag("http_req_duration", key, expr));
  CHECK_FALSE(split_threshold_flag("http_req_duration:", key, expr));
  CHECK_FALSE(split_threshold_flag(": p(95)<1", key, expr));
  CHECK_FALSE(split_threshold_flag("m{a:b", key, expr));
}

TEST_CASE("apply_layer: field by field with the execution group rule", "[options]") {
  SECTION("CLI --vus --duration replaces file scenarios but keeps thresholds") {
    Options file = parse_ok(kBaseline).options;
    Options cli;
    cli.vus = 5;
    cli.duration = seconds(60);
    CHECK(apply_layer(file, cli));
    CHECK_FALSE(file.scenarios.has_value());
    CHECK(file.vus == 5);
    CHECK(file.duration == seconds(60));
    REQUIRE(file.thresholds.has_value());
    CHECK(file.thresholds->size() == 4);
    CHECK(file.tags == std::map<std::string, std::string>{{"suite", "chaos"}});
    std::vector<std::string> errors, warnings;
    auto scenarios = derive_scenarios(file, errors, warnings);
    CHECK(errors.empty());
    REQUIRE(scenarios.size() == 1);
    CHECK(scenarios[0].name == "default");
    CHECK(scenarios[0].executor == Executor::kConstantVus);
    CHECK(scenarios[0].vus == 5);
    CHECK(scenarios[0].duration == seconds(60));
    CHECK(scenarios[0].tags.empty());
    CHECK(scenarios[0].start_time == Duration(0));
  }
  SECTION("--iterations on vus + duration gives shared-iterations for 10m") {
    Options script;
    script.vus = 5;
    script.duration = minutes(1);
    Options cli;
    cli.iterations = 10;
    CHECK_FALSE(apply_layer(script, cli));
    CHECK_FALSE(script.duration.has_value());
    CHECK(script.iterations == 10);
    CHECK(script.vus == 5);
    std::vector<std::string> errors, warnings;
    auto s = derive_scenarios(script, errors, warnings);
    REQUIRE(s.size() == 1);
    CHECK(s[0].executor == Executor::kSharedIterations);
    CHECK(s[0].vus == 5);
    CHECK(s[0].iterations == 10);
    CHECK(s[0].max_duration == minutes(10));
  }
  SECTION("vus alone is not in the group: scenarios stay") {
    Options file = parse_ok(kBaseline).options;
    Options cli;
    cli.vus = 50;
    CHECK_FALSE(apply_layer(file, cli));
    REQUIRE(file.scenarios.has_value());
    CHECK(file.scenarios->size() == 4);
    std::vector<std::string> errors, warnings;
    CHECK(derive_scenarios(file, errors, warnings).size() == 4);
    CHECK(errors.empty());
  }
  SECTION("stages from above clear duration below") {
    Options lower;
    lower.duration = seconds(30);
    lower.iterations = 3;
    Options upper;
    upper.stages = std::vector<Stage>{Stage{seconds(5), 2, true, true}};
    apply_layer(lower, upper);
    CHECK_FALSE(lower.duration.has_value());
    CHECK_FALSE(lower.iterations.has_value());
    REQUIRE(lower.stages.has_value());
    CHECK(lower.stages->size() == 1);
  }
  SECTION("scalars, lists and maps are replaced whole; unset fields keep the lower value") {
    Options lower;
    lower.summary_trend_stats = std::vector<std::string>{"avg", "max"};
    lower.tags = std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}};
    lower.thresholds = std::map<std::string, std::vector<Threshold>>{{"x", {}}, {"y", {}}};
    lower.user_agent = "low";
    lower.rps = 5;
    lower.setup_timeout = seconds(10);
    lower.summary_time_unit = "s";
    Options upper;
    upper.summary_trend_stats = std::vector<std::string>{"p(99)"};
    upper.tags = std::map<std::string, std::string>{{"c", "3"}};
    upper.thresholds = std::map<std::string, std::vector<Threshold>>{{"z", {}}};
    upper.rps = 9;
    CHECK_FALSE(apply_layer(lower, upper));
    CHECK(lower.summary_trend_stats == std::vector<std::string>{"p(99)"});
    CHECK(lower.tags == std::map<std::string, std::string>{{"c", "3"}});
    CHECK(lower.thresholds->size() == 1);
    CHECK(lower.thresholds->count("z") == 1);
    CHECK(lower.rps == 9);
    CHECK(lower.user_agent == "low");
    CHECK(lower.setup_timeout == seconds(10));
    CHECK(lower.summary_time_unit == "s");
    // An empty tag set does not replace.
    Options empty_tags;
    empty_tags.tags = std::map<std::string, std::string>{};
    apply_layer(lower, empty_tags);
    CHECK(lower.tags == std::map<std::string, std::string>{{"c", "3"}});
  }
}

TEST_CASE("derive_scenarios follows the shorthand table", "[options]") {
  std::vector<std::string> errors, warnings;
  auto derive = [&](const Options& o) {
    errors.clear();
    warnings.clear();
    return derive_scenarios(o, errors, warnings);
  };
  std::vector<Stage> stages{Stage{seconds(10), 5, true, true}, Stage{seconds(5), 0, true, true}};
  std::vector<Scenario> two(2);
  two[0].name = "a";
  two[1].name = "b";

  SECTION("iterations") {
    Options o;
    o.iterations = 20;
    auto s = derive(o);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "default");
    CHECK(s[0].executor == Executor::kSharedIterations);
    CHECK(s[0].vus == 1);
    CHECK(s[0].iterations == 20);
    CHECK(s[0].max_duration == minutes(10));
    CHECK(s[0].graceful_stop == seconds(30));
    o.duration = seconds(45);
    o.vus = 4;
    s = derive(o);
    REQUIRE(s.size() == 1);
    CHECK(s[0].vus == 4);
    CHECK(s[0].max_duration == seconds(45));
    o.stages = stages;
    CHECK(derive(o).empty());
    CHECK(errors == std::vector<std::string>{
                        "using `iterations` and `stages` options simultaneously is not allowed"});
    o.stages = std::vector<Stage>{};  // empty stages do not conflict
    CHECK(derive(o).size() == 1);
    CHECK(errors.empty());
    o.scenarios = two;
    CHECK(derive(o).empty());
    CHECK(errors ==
          std::vector<std::string>{
              "using `iterations` and `scenarios` options simultaneously is not allowed"});
  }
  SECTION("duration") {
    Options o;
    o.duration = seconds(30);
    auto s = derive(o);
    REQUIRE(s.size() == 1);
    CHECK(s[0].executor == Executor::kConstantVus);
    CHECK(s[0].vus == 1);
    CHECK(s[0].duration == seconds(30));
    CHECK(s[0].has_duration);
    CHECK(validate(s[0]).empty());
    o.vus = 0;
    CHECK(derive(o).at(0).vus == 0);
    o.duration = Duration(0);
    CHECK(derive(o).empty());
    CHECK(errors == std::vector<std::string>{
                        "`duration` option should be more than 0, for infinite duration use the "
                        "externally-controlled executor"});
    o.duration = seconds(30);
    o.stages = stages;
    CHECK(derive(o).empty());
    CHECK(errors == std::vector<std::string>{
                        "using `duration` and `stages` options simultaneously is not allowed"});
    o.stages.reset();
    o.scenarios = two;
    CHECK(derive(o).empty());
    CHECK(errors == std::vector<std::string>{
                        "using `duration` and `scenarios` options simultaneously is not allowed"});
  }
  SECTION("stages") {
    Options o;
    o.stages = stages;
    auto s = derive(o);
    REQUIRE(s.size() == 1);
    CHECK(s[0].executor == Executor::kRampingVus);
    CHECK(s[0].start_vus == 1);
    CHECK(s[0].stages.size() == 2);
    CHECK(s[0].graceful_ramp_down == seconds(30));
    CHECK(s[0].graceful_stop == seconds(30));
    o.vus = 0;
    CHECK(derive(o).at(0).start_vus == 0);
    o.scenarios = two;
    CHECK(derive(o).empty());
    CHECK(errors == std::vector<std::string>{
                        "using `stages` and `scenarios` options simultaneously is not allowed"});
  }
  SECTION("scenarios as given") {
    Options o;
    o.scenarios = two;
    o.vus = 7;
    auto s = derive(o);
    REQUIRE(s.size() == 2);
    CHECK(s[0].name == "a");
    CHECK(s[1].name == "b");
    CHECK(errors.empty());
    CHECK(warnings.empty());
  }
  SECTION("nothing set") {
    Options o;
    auto s = derive(o);
    REQUIRE(s.size() == 1);
    CHECK(s[0].executor == Executor::kPerVuIterations);
    CHECK(s[0].vus == 1);
    CHECK(s[0].iterations == 1);
    CHECK(warnings.empty());
    o.vus = 1;
    derive(o);
    CHECK(warnings.empty());
    o.vus = 10;
    s = derive(o);
    CHECK(s.at(0).vus == 1);
    CHECK(warnings == std::vector<std::string>{
                          "`vus=10` option will be ignored, it only works in conjunction with "
                          "`iterations`, `duration`, or `stages`"});
    o.vus.reset();
    o.stages = std::vector<Stage>{};
    o.scenarios = std::vector<Scenario>{};
    s = derive(o);
    CHECK(s.size() == 1);
    CHECK(errors.empty());
    CHECK(warnings.size() == 2);
  }
}

TEST_CASE("substitute_env", "[options]") {
  std::map<std::string, std::string> env{{"HOST", "example.com"}, {"KEY", "s3cr3t"}, {"EMPTY", ""}};
  CHECK(substitute_env("http://${HOST}/x", env) == "http://example.com/x");
  CHECK(substitute_env("${HOST}${KEY}", env) == "example.coms3cr3t");
  CHECK(substitute_env("${MISSING}", env) == "");
  CHECK(substitute_env("a${MISSING}b", env) == "ab");
  CHECK(substitute_env("${MISSING:-http://localhost:9200}/api", env) ==
        "http://localhost:9200/api");
  CHECK(substitute_env("${HOST:-fallback}", env) == "example.com");
  CHECK(substitute_env("${EMPTY:-fallback}", env) == "fallback");
  CHECK(substitute_env("${EMPTY}", env) == "");
  CHECK(substitute_env("${MISSING:-}", env) == "");
  CHECK(substitute_env("cost $5 and $HOST", env) == "cost $5 and $HOST");
  CHECK(substitute_env("trailing $", env) == "trailing $");
  CHECK(substitute_env("open ${HOST", env) == "open ${HOST");
  CHECK(substitute_env("${HOST} then ${KEY", env) == "example.com then ${KEY");
  CHECK(substitute_env("$${HOST}", env) == "$example.com");
  CHECK(substitute_env("", env) == "");
}

TEST_CASE("TLS options: k6's forms and errors", "[options][tls]") {
  auto f = parse_ok(R"J({"options": {"insecureSkipTLSVerify": true, "tlsVersion": "tls1.2",
      "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
      "tlsAuth": [{"domains": ["example.com", "*.example.org"], "cert": "C", "key": "K",
                   "password": "P"}]}})J");
  CHECK(*f.options.insecure_skip_tls_verify);
  CHECK(f.options.tls_version->min == "tls1.2");
  CHECK(f.options.tls_version->max == "tls1.2");  // a string pins one version
  CHECK(f.options.tls_cipher_suites->size() == 1);
  REQUIRE(f.options.tls_auth->size() == 1);
  CHECK(f.options.tls_auth->at(0).domains.at(1) == "*.example.org");
  CHECK(f.options.tls_auth->at(0).password == "P");
  auto range = parse_ok(R"J({"options": {"tlsVersion": {"min": "tls1.3"}}})J");
  CHECK(range.options.tls_version->min == "tls1.3");
  CHECK(range.options.tls_version->max.empty());  // the default bound
  CHECK(parse_error(R"J({"options": {"tlsVersion": "tls2.0"}})J") ==
        "unknown TLS version 'tls2.0'");
  CHECK(parse_error(R"J({"options": {"tlsVersion": {"low": "tls1.2"}}})J") ==
        "json: unknown field \"low\"");
  CHECK(parse_error(R"J({"options": {"tlsAuth": [{"domain": "x"}]}})J") ==
        "json: unknown field \"domain\"");
  CHECK(parse_error(R"J({"options": {"insecureSkipTLSVerify": "yes"}})J") ==
        "json: cannot unmarshal string into Go struct field Options.insecureSkipTLSVerify of "
        "type bool");
  // The layers: a higher one replaces the TLS settings it sets.
  Options lower = f.options, upper;
  upper.tls_version = TlsVersions{"tls1.3", "tls1.3"};
  apply_layer(lower, upper);
  CHECK(lower.tls_version->min == "tls1.3");
  CHECK(*lower.insecure_skip_tls_verify);
}
