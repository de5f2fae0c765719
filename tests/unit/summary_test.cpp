// The end-of-test reports: k6's console layouts, the export and handleSummary JSON.
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "loadgen/metrics/stats.h"
#include "loadgen/metrics/threshold.h"
#include "loadgen/report/summary.h"

using namespace faultline;
using namespace faultline::loadgen;

TEST_CASE("md5 matches the RFC 1321 test suite", "[summary]") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                "7890") == "57edf4a22be3c955ac49da2e2107b67a");
  // Lengths around the padding boundary (55, 56 and 64 bytes).
  CHECK(md5_hex(std::string(55, 'x')) == "04364420e25c512fd958a70738aa8f72");
  CHECK(md5_hex(std::string(56, 'a')) == "3b0c8ac703f828b04c6c197006d17218");
  CHECK(md5_hex(std::string(64, 'a')) == "014842d480b571495a4a0363793f7367");
}

namespace {

// A small finished run whose trend values are exact: the histograms hold whole
// milliseconds below 256 (trend_scale 1), where every bucket is one unit wide.
struct Fixture {
  Histogram duration, duration_ok, iteration;
  std::map<std::string, MetricValue> metrics;
  SummaryInput in;

  Fixture() {
    for (uint64_t v : {2, 4, 6, 8, 10, 20, 30, 40, 50, 100, 200}) duration.record(v);
    for (uint64_t v : {2, 4, 6, 8, 10, 20, 30, 40, 50, 60, 100}) duration_ok.record(v);
    for (uint64_t v = 100; v <= 200; v += 10) iteration.record(v);
    auto trend = [&](const Histogram& h) {
      MetricValue m;
      m.type = MetricType::kTrend;
      m.trend = &h;
      m.trend_scale = 1;
      m.is_time = true;
      return m;
    };
    auto counter = [](double n, bool data) {
      MetricValue m;
      m.type = MetricType::kCounter;
      m.count = n;
      m.is_data = data;
      return m;
    };
    auto gauge = [](double value, double min, double max) {
      MetricValue m;
      m.type = MetricType::kGauge;
      m.value = value;
      m.min = min;
      m.max = max;
      return m;
    };
    auto rate = [](double nonzero, double total) {
      MetricValue m;
      m.type = MetricType::kRate;
      m.count = nonzero;
      m.total = total;
      return m;
    };
    metrics["http_req_duration"] = trend(duration);
    MetricValue ok = trend(duration_ok);
    ok.parent = "http_req_duration";
    ok.selector = "expected_response:true";
    ok.selector_tags = {{"expected_response", "true"}};
    metrics["http_req_duration{expected_response:true}"] = ok;
    metrics["http_req_waiting"] = trend(duration_ok);
    metrics["iteration_duration"] = trend(iteration);
    metrics["http_reqs"] = counter(11, false);
    metrics["iterations"] = counter(11, false);
    metrics["data_sent"] = counter(2200, true);
    metrics["data_received"] = counter(19000, true);
    metrics["http_req_failed"] = rate(1, 11);
    metrics["checks"] = rate(20, 22);
    metrics["vus"] = gauge(1, 1, 5);
    metrics["vus_max"] = gauge(5, 5, 5);
    in.metrics = &metrics;
    in.elapsed_s = 10;
    in.checks = {{"status is 200", 11, 0}, {"body ok", 9, 2}};
  }

  void thresholds(std::map<std::string, std::vector<std::string>> declared) {
    std::map<std::string, std::vector<Threshold>> parsed;
    std::string err;
    for (const auto& [key, list] : declared) {
      for (const auto& src : list) parsed[key].push_back(*parse_threshold(src, err));
    }
    in.thresholds = evaluate(parsed, metrics, in.elapsed_s);
  }
};

}  // namespace

void declare_fixture_thresholds(Fixture& f) {
  f.thresholds({{"http_req_duration", {"p(95)<200", "p(99)<300"}},
                {"http_req_duration{expected_response:true}", {"max<50"}},
                {"http_req_failed", {"rate<0.05"}},
                {"iteration_duration{scenario:default}", {"avg<1000"}}});
}

TEST_CASE("1.x compact layout: thresholds, sub-metrics and checks", "[summary]") {
  Fixture f;
  declare_fixture_thresholds(f);
  const std::string expected =
      "\n\n"
      "  █ THRESHOLDS \n"
      "\n"
      "    http_req_duration\n"
      "    ✓ 'p(95)<200' p(95)=150ms\n"
      "    ✓ 'p(99)<300' p(99)=190ms\n"
      "\n"
      "      {expected_response:true}\n"
      "      ✗ 'max<50' max=100ms\n"
      "\n"
      "    http_req_failed\n"
      "    ✗ 'rate<0.05' rate=9.09%\n"
      "\n"
      "    iteration_duration{scenario:default}\n"
      "    ✓ 'avg<1000' avg=0s\n"
      "\n"
      "\n"
      "  █ TOTAL RESULTS \n"
      "\n"
      "    checks_total.......: 22     2.2/s\n"
      "    checks_succeeded...: 90.90% 20 out of 22\n"
      "    checks_failed......: 9.09%  2 out of 22\n"
      "\n"
      "    ✓ status is 200\n"
      "    ✗ body ok\n"
      "      ↳  81% — ✓ 9 / ✗ 2\n"
      "\n"
      "    HTTP\n"
      "    http_req_duration..............: avg=42.72ms min=2ms   med=20ms  max=200ms "
      "p(90)=100ms p(95)=150ms\n"
      "      { expected_response:true }...: avg=30ms    min=2ms   med=20ms  max=100ms "
      "p(90)=60ms  p(95)=80ms \n"
      "    http_req_failed................: 9.09%  1 out of 11\n"
      "    http_reqs......................: 11     1.1/s\n"
      "\n"
      "    EXECUTION\n"
      "    iteration_duration.............: avg=150ms   min=100ms med=150ms max=200ms "
      "p(90)=190ms p(95)=195ms\n"
      "      { scenario:default }.........: avg=0s      min=0s    med=0s    max=0s    "
      "p(90)=0s    p(95)=0s   \n"
      "    iterations.....................: 11     1.1/s\n"
      "    vus............................: 1      min=1       max=5\n"
      "    vus_max........................: 5      min=5       max=5\n"
      "\n"
      "    NETWORK\n"
      "    data_received..................: 19 kB  1.9 kB/s\n"
      "    data_sent......................: 2.2 kB 220 B/s\n"
      "\n"
      "\n"
      "\n";
  CHECK(console_summary(f.in) == expected);
}

TEST_CASE("1.x layout without thresholds or checks; full mode shows HTTP phases", "[summary]") {
  Fixture f;
  f.metrics.erase("checks");
  f.in.checks.clear();
  auto compact = console_summary(f.in);
  CHECK(compact.rfind("\n\n  █ TOTAL RESULTS \n\n    HTTP\n", 0) == 0);
  CHECK(compact.find("http_req_waiting") == std::string::npos);
  CHECK(compact.find("checks") == std::string::npos);

  f.in.options.mode = "full";
  auto full = console_summary(f.in);
  CHECK(full.find("    http_req_failed................: 9.09%  1 out of 11\n"
                  "    http_req_waiting...............: avg=30ms    min=2ms   med=20ms  max=100ms "
                  "p(90)=60ms  p(95)=80ms \n"
                  "    http_reqs......................: 11     1.1/s\n") != std::string::npos);
}

TEST_CASE("full mode adds a section per named scenario, sorted, without default", "[summary]") {
  Fixture f;
  f.in.options.mode = "full";
  ScenarioSection b{"b_phase", {}, {{"status is 200", 4, 0}}};
  b.metrics["http_reqs"] = f.metrics["http_reqs"];
  b.metrics["http_reqs"].count = 4;
  b.metrics["checks"] = f.metrics["checks"];
  b.metrics["checks"].count = 4;
  b.metrics["checks"].total = 4;
  ScenarioSection a{"a_phase", {}, {}};
  a.metrics["iterations"] = f.metrics["iterations"];
  a.metrics["iterations"].count = 7;
  ScenarioSection none{"default", {}, {}};
  f.in.scenarios = {b, none, a};
  auto text = console_summary(f.in);
  size_t at_a =
      text.find("\n  █ SCENARIO: a_phase \n\n    EXECUTION\n    iterations...: 7 0.7/s\n");
  size_t at_b = text.find("\n  █ SCENARIO: b_phase \n\n    checks_total.......: 4       0.4/s\n");
  CHECK(at_a != std::string::npos);
  CHECK(at_b != std::string::npos);
  CHECK(at_a < at_b);
  CHECK(text.find("SCENARIO: default") == std::string::npos);
  CHECK(text.find("    \xe2\x9c\x93 status is 200\n", at_b) != std::string::npos);
  CHECK(text.find("    http_reqs...: 4 0.4/s\n", at_b) != std::string::npos);
  // compact mode never shows them
  f.in.options.mode = "compact";
  CHECK(console_summary(f.in).find("SCENARIO:") == std::string::npos);
}

TEST_CASE("legacy layout: every metric sorted, threshold marks, k6-to-junit lines", "[summary]") {
  Fixture f;
  declare_fixture_thresholds(f);
  f.in.options.mode = "legacy";
  const std::string expected =
      "\n"
      "     ✓ status is 200\n"
      "     ✗ body ok\n"
      "      ↳  81% — ✓ 9 / ✗ 2\n"
      "\n"
      "     checks.........................: 90.90% 20 out of 22\n"
      "     data_received..................: 19 kB  1.9 kB/s\n"
      "     data_sent......................: 2.2 kB 220 B/s\n"
      "   ✓ http_req_duration..............: avg=42.72ms min=2ms   med=20ms  max=200ms "
      "p(90)=100ms p(95)=150ms\n"
      "     ✗ { expected_response:true }...: avg=30ms    min=2ms   med=20ms  max=100ms "
      "p(90)=60ms  p(95)=80ms \n"
      "   ✗ http_req_failed................: 9.09%  1 out of 11\n"
      "     http_req_waiting...............: avg=30ms    min=2ms   med=20ms  max=100ms "
      "p(90)=60ms  p(95)=80ms \n"
      "     http_reqs......................: 11     1.1/s\n"
      "     iteration_duration.............: avg=150ms   min=100ms med=150ms max=200ms "
      "p(90)=190ms p(95)=195ms\n"
      "     ✓ { scenario:default }.........: avg=0s      min=0s    med=0s    max=0s    "
      "p(90)=0s    p(95)=0s   \n"
      "     iterations.....................: 11     1.1/s\n"
      "     vus............................: 1      min=1        max=5\n"
      "     vus_max........................: 5      min=5        max=5\n"
      "\n";
  auto text = console_summary(f.in);
  CHECK(text == expected);

  // k6-to-junit makes one test case per line matching /([✓|✗]) (.*?)\.+:/ (its own
  // expression; the character class is written out as an alternation for bytes).
  std::regex junit_case("(✓|✗|\\|) (.*?)\\.+:");
  std::vector<std::pair<std::string, bool>> cases;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, junit_case)) cases.emplace_back(m[2], m[1] == "✓");
  }
  std::vector<std::pair<std::string, bool>> want = {{"http_req_duration", true},
                                                    {"{ expected_response:true }", false},
                                                    {"http_req_failed", false},
                                                    {"{ scenario:default }", true}};
  CHECK(cases == want);
}

TEST_CASE("trend stats and --summary-time-unit choose the trend columns", "[summary]") {
  Fixture f;
  f.in.checks.clear();
  f.metrics.erase("checks");
  f.in.options.trend_stats = {"avg", "p(99.9)", "count"};
  f.in.options.time_unit = "s";
  f.thresholds({{"http_req_duration", {"med<100"}}});
  auto text = console_summary(f.in);
  CHECK(text.find("    ✓ 'med<100' med=0.02s\n") != std::string::npos);
  CHECK(text.find("    http_req_duration..............: avg=0.04s p(99.9)=0.20s count=11\n") !=
        std::string::npos);
  f.in.options.time_unit = "us";
  text = console_summary(f.in);
  CHECK(text.find("    iteration_duration.............: avg=150000.00µs p(99.9)=199900.00µs "
                  "count=11\n") != std::string::npos);

  auto exported = summary_export(f.in);
  CHECK(exported.find("        \"http_req_duration\": {\n"
                      "            \"avg\": 42.72727272727273,\n"
                      "            \"p(99.9)\": 199.0000000000002,\n"
                      "            \"count\": 11,\n"
                      "            \"thresholds\": {\n"
                      "                \"med<100\": false\n"
                      "            }\n"
                      "        },\n") != std::string::npos);
}

TEST_CASE("trend stat validation accepts what k6 accepts", "[summary]") {
  for (const char* ok :
       {"avg", "min", "med", "max", "count", "p(0)", "p(99.9)", "p(100)", "p(95)", "p(1e1)"}) {
    CHECK(valid_trend_stat(ok));
  }
  std::string err;
  CHECK_FALSE(valid_trend_stat("p95", err));
  CHECK(err == "invalid trend stat 'p95', unknown format");
  CHECK_FALSE(valid_trend_stat("AVG", err));
  CHECK_FALSE(valid_trend_stat("rate", err));
  CHECK_FALSE(valid_trend_stat("p(101)", err));
  CHECK(err == "invalid percentile trend stat value 'p(101)', provide a number between 0 and 100");
  CHECK_FALSE(valid_trend_stat("p(-1)"));
  CHECK_FALSE(valid_trend_stat("p()"));
  CHECK_FALSE(valid_trend_stat("p( 95)"));
  CHECK_FALSE(valid_trend_stat("p(95ms)"));
}

TEST_CASE("values are rounded and printed as k6's JavaScript does", "[summary]") {
  // toFixed rounds binary ties away from zero, unlike printf.
  CHECK(format_bytes(10.5e6) == "11 MB");
  CHECK(format_bytes(2250) == "2.3 kB");
  CHECK(format_bytes(999999) == "1000 kB");
  CHECK(format_bytes(3.5) == "3.5 B");
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_number(0.0000125) == "0.000013");
  CHECK(format_number(2.5) == "2.5");
  CHECK(format_number(1e-7) == "0");
  CHECK(format_time_ms(0.0005) == "500ns");
  CHECK(format_time_ms(0.0011) == "1.1\xc2\xb5s");
  CHECK(format_time_ms(59999) == "59.99s");
  CHECK(format_time_ms(61500) == "1m1s");
  CHECK(format_time_ms(3723000) == "1h2m3s");
  CHECK(format_rate(0.909090909) == "90.90%");
  CHECK(format_rate(1) == "100.00%");
}

TEST_CASE("summary export: flat values, failed thresholds true, checks by name", "[summary]") {
  Histogram h;
  for (uint64_t v : {1, 2, 3}) h.record(v);
  std::map<std::string, MetricValue> metrics;
  MetricValue trend;
  trend.type = MetricType::kTrend;
  trend.trend = &h;
  trend.trend_scale = 1;
  trend.is_time = true;
  metrics["http_req_duration"] = trend;
  MetricValue failed;
  failed.type = MetricType::kRate;
  failed.count = 1;
  failed.total = 3;
  metrics["http_req_failed"] = failed;
  MetricValue vus;
  vus.type = MetricType::kGauge;
  vus.value = 2;
  vus.min = 1;
  vus.max = 3;
  metrics["vus"] = vus;
  std::string err;
  SummaryInput in;
  in.metrics = &metrics;
  in.elapsed_s = 1.5;
  in.checks = {{"is <ok>", 2, 1}};
  in.options.trend_stats = {"avg", "max"};
  in.thresholds = evaluate({{"http_req_failed", {*parse_threshold("rate<0.1", err)}},
                            {"http_req_duration{status:200}", {*parse_threshold("avg<5", err)}}},
                           metrics, in.elapsed_s);
  const std::string expected = R"({
    "root_group": {
        "name": "",
        "path": "",
        "id": "d41d8cd98f00b204e9800998ecf8427e",
        "groups": {},
        "checks": {
            "is <ok>": {
                "name": "is <ok>",
                "path": "::is <ok>",
                "id": ")" + md5_hex("::is <ok>") +
                               R"(",
                "passes": 2,
                "fails": 1
            }
        }
    },
    "metrics": {
        "checks": {
            "passes": 2,
            "fails": 1,
            "value": 0.6666666666666666
        },
        "http_req_duration": {
            "avg": 2,
            "max": 3
        },
        "http_req_duration{status:200}": {
            "avg": 0,
            "max": 0,
            "thresholds": {
                "avg<5": false
            }
        },
        "http_req_failed": {
            "passes": 1,
            "fails": 2,
            "thresholds": {
                "rate<0.1": true
            },
            "value": 0.3333333333333333
        },
        "vus": {
            "value": 2,
            "min": 1,
            "max": 3
        }
    }
})";
  CHECK(summary_export(in) == expected);

  const std::string data =
      R"({"root_group":{"name":"","path":"","id":"d41d8cd98f00b204e9800998ecf8427e",)"
      R"("groups":[],"checks":[{"name":"is <ok>","path":"::is <ok>","id":")" +
      md5_hex("::is <ok>") +
      R"(","passes":2,"fails":1}]},)"
      R"("options":{"summaryTrendStats":["avg","max"],"summaryTimeUnit":"","noColor":true},)"
      R"("state":{"isStdOutTTY":false,"isStdErrTTY":false,"testRunDurationMs":1500},)"
      R"("metrics":{"checks":{"type":"rate","contains":"default",)"
      R"("values":{"rate":0.6666666666666666,"passes":2,"fails":1}},)"
      R"("http_req_duration":{"type":"trend","contains":"time","values":{"avg":2,"max":3}},)"
      R"("http_req_duration{status:200}":{"type":"trend","contains":"time",)"
      R"("values":{"avg":0,"max":0},"thresholds":{"avg<5":{"ok":true}}},)"
      R"("http_req_failed":{"type":"rate","contains":"default",)"
      R"("values":{"rate":0.3333333333333333,"passes":1,"fails":2},)"
      R"("thresholds":{"rate<0.1":{"ok":false}}},)"
      R"("vus":{"type":"gauge","contains":"default","values":{"value":2,"min":1,"max":3}}}})";
  CHECK(summary_data(in) == data);
}

TEST_CASE("summary data numbers print like JSON.stringify", "[summary]") {
  std::map<std::string, MetricValue> metrics;
  auto gauge = [&](const char* name, double v) {
    MetricValue m;
    m.type = MetricType::kGauge;
    m.value = m.min = m.max = v;
    metrics[name] = m;
  };
  gauge("a_tiny", 1.5e-7);
  gauge("b_huge", 1e21);
  gauge("c_sum", 0.1 + 0.2);
  gauge("d_big", 123456789012345680000.0);
  gauge("e_neg", -0.5);
  SummaryInput in;
  in.metrics = &metrics;
  auto data = summary_data(in);
  CHECK(data.find(R"("value":1.5e-7,)") != std::string::npos);
  CHECK(data.find(R"("value":1e+21,)") != std::string::npos);
  CHECK(data.find(R"("value":0.30000000000000004,)") != std::string::npos);
  CHECK(data.find(R"("value":123456789012345680000,)") != std::string::npos);
  CHECK(data.find(R"("value":-0.5,)") != std::string::npos);
}

// Expected order checked against Node: names.sort() with k6's parent-then-suffix
// localeCompare comparator.
TEST_CASE("metrics sort like JavaScript's localeCompare, sub-metrics after parents", "[summary]") {
  std::map<std::string, MetricValue> metrics;
  for (const char* name : {"b_total", "a1", "a_b", "Ab", "ab", "aB", "ab{tag:x}", "ab_c"}) {
    metrics[name].count = 1;  // counters
  }
  SummaryInput in;
  in.metrics = &metrics;
  in.options.mode = "legacy";
  auto text = console_summary(in);
  std::vector<std::string> order;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 5) order.push_back(line.substr(5, line.find('.') - 5));
  }
  std::vector<std::string> want = {"a_b", "a1", "ab", "  { tag:x }", "aB", "Ab", "ab_c", "b_total"};
  CHECK(order == want);
}
