#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "loadgen/report/compare.h"

using namespace faultline::loadgen;

namespace {

std::string num(double v) {
  return std::to_string(v);
}

// --summary-export's flat form.
std::string export_json(double p95, double reqs_rate, double failed, double checks) {
  return R"J({"root_group": {}, "metrics": {
    "http_req_duration": {"avg": 10, "min": 1, "med": 9, "max": 80, "p(90)": 20,
                          "p(95)": )J" +
         num(p95) + R"J(, "thresholds": {"p(95)<500": false}},
    "http_reqs": {"count": 1000, "rate": )J" +
         num(reqs_rate) + R"J(},
    "http_req_failed": {"passes": 3, "fails": 997, "value": )J" +
         num(failed) + R"J(},
    "checks": {"passes": 990, "fails": 10, "value": )J" +
         num(checks) + R"J(},
    "vus": {"value": 5, "min": 5, "max": 5},
    "agent_spawn_duration": {"avg": 100, "min": 50, "med": 90, "max": 300, "p(90)": 200,
                             "p(95)": 250},
    "errors": {"passes": 1, "fails": 99, "value": 0.01}
  }})J";
}

// --summary-data / handleSummary()'s form: types, and a rate's share named "rate".
std::string data_json(double p95, double reqs_rate, double failed) {
  return R"J({"metrics": {
    "http_req_duration": {"type": "trend", "contains": "time",
                          "values": {"avg": 10, "min": 1, "med": 9, "max": 80, "p(90)": 20,
                                     "p(95)": )J" +
         num(p95) + R"J(}},
    "http_reqs": {"type": "counter", "contains": "default",
                  "values": {"count": 1000, "rate": )J" +
         num(reqs_rate) + R"J(}},
    "http_req_failed": {"type": "rate", "contains": "default",
                        "values": {"rate": )J" +
         num(failed) + R"J(, "passes": 3, "fails": 997}},
    "ws_message_latency": {"type": "trend", "contains": "time",
                           "values": {"avg": 3, "med": 2, "p(95)": 7}},
    "ws_messages": {"type": "trend", "contains": "default", "values": {"avg": 30, "med": 20}}
  }})J";
}

const CompareRow* row(const CompareResult& r, const std::string& metric, const std::string& fig) {
  for (const auto& x : r.rows)
    if (x.metric == metric && x.figure == fig) return &x;
  return nullptr;
}

}  // namespace

TEST_CASE("compare: the regression limit is a percentage") {
  CHECK(parse_regression_limit("10%") == Approx(0.10));
  CHECK(parse_regression_limit("10") == Approx(0.10));
  CHECK(parse_regression_limit("0.5%") == Approx(0.005));
  CHECK(parse_regression_limit("0") == 0);
  CHECK_THROWS_AS(parse_regression_limit("ten"), std::runtime_error);
  CHECK_THROWS_AS(parse_regression_limit("-5%"), std::runtime_error);
  CHECK_THROWS_AS(parse_regression_limit("%"), std::runtime_error);
}

TEST_CASE("compare: the same summary has no regression and every built-in figure") {
  std::string a = export_json(30, 500, 0.003, 0.99);
  CompareResult r = compare_summaries(a, a, "a", "a", 0.10, {});
  CHECK(r.regressions == 0);
  // Trend figures: avg, med and the percentiles in order; min and max are left out.
  std::vector<std::string> figs;
  for (const auto& x : r.rows)
    if (x.metric == "http_req_duration") figs.push_back(x.figure);
  CHECK(figs == std::vector<std::string>{"avg", "med", "p(90)", "p(95)"});
  REQUIRE(row(r, "http_reqs", "rate"));
  CHECK(row(r, "http_reqs", "rate")->unit == "/s");
  REQUIRE(row(r, "checks", "share"));
  CHECK(row(r, "checks", "share")->unit == "%");
  // vus and custom metrics are compared only when asked for.
  CHECK(row(r, "vus", "value") == nullptr);
  CHECK(row(r, "agent_spawn_duration", "avg") == nullptr);
  CHECK(compare_markdown(r, 0.10).find("No figure got worse by more than 10%.") !=
        std::string::npos);
}

TEST_CASE("compare: which way is worse") {
  std::string base = export_json(30, 500, 0.003, 0.99);
  SECTION("a slower p95 beyond the limit") {
    CompareResult r =
        compare_summaries(base, export_json(34, 500, 0.003, 0.99), "a", "b", 0.10, {});
    CHECK(r.regressions == 1);
    REQUIRE(row(r, "http_req_duration", "p(95)"));
    CHECK(row(r, "http_req_duration", "p(95)")->regression);
    CHECK(row(r, "http_req_duration", "p(95)")->change == Approx(4.0 / 30));
    std::string md = compare_markdown(r, 0.10);
    CHECK(
        md.find("| http_req_duration | p(95) | 30.00 ms | 34.00 ms | +13.3% | **regression** |") !=
        std::string::npos);
    CHECK(md.find("**1 figure got worse by more than 10%.**") != std::string::npos);
  }
  SECTION("within the limit, or better") {
    CHECK(compare_summaries(base, export_json(32.9, 500, 0.003, 0.99), "a", "b", 0.10, {})
              .regressions == 0);
    CHECK(compare_summaries(base, export_json(5, 900, 0, 1), "a", "b", 0.10, {}).regressions == 0);
  }
  SECTION("fewer requests per second") {
    CompareResult r =
        compare_summaries(base, export_json(30, 440, 0.003, 0.99), "a", "b", 0.10, {});
    CHECK(r.regressions == 1);
    CHECK(row(r, "http_reqs", "rate")->regression);
  }
  SECTION("shares: failed requests up, checks down, with a noise floor of 0.1 point") {
    CompareResult r = compare_summaries(base, export_json(30, 500, 0.02, 0.95), "a", "b", 0.10, {});
    CHECK(row(r, "http_req_failed", "share")->regression);
    CHECK(row(r, "checks", "share")->regression);
    CHECK(r.regressions == 2);
    // Shares change by percentage points in the table.
    CHECK(compare_markdown(r, 0.10).find("| checks | share | 99.00% | 95.00% | -4.00 pt | "
                                         "**regression** |") != std::string::npos);
    // More checks passing is never a regression.
    CHECK(compare_summaries(base, export_json(30, 500, 0.003, 1), "a", "b", 0.10, {}).regressions ==
          0);
    // 0 -> 0.0008 failed is +inf% relatively but below the floor.
    std::string zero = export_json(30, 500, 0, 0.99);
    CHECK(compare_summaries(zero, export_json(30, 500, 0.0008, 0.99), "a", "b", 0.10, {})
              .regressions == 0);
    CHECK(compare_summaries(zero, export_json(30, 500, 0.0015, 0.99), "a", "b", 0.10, {})
              .regressions == 1);
  }
}

TEST_CASE("compare: --summary-data against --summary-export") {
  CompareResult r = compare_summaries(export_json(30, 500, 0.003, 0.99), data_json(30, 500, 0.003),
                                      "a", "b", 0.10, {});
  CHECK(r.regressions == 0);
  REQUIRE(row(r, "http_req_failed", "share"));
  CHECK(row(r, "http_req_failed", "share")->current == Approx(0.003));
  // checks exists in the baseline only: shown, not judged.
  REQUIRE(row(r, "checks", "share"));
  CHECK_FALSE(row(r, "checks", "share")->in_current);
  CHECK(compare_markdown(r, 0.10).find("| checks | share | 99.00% | missing |  |  |") !=
        std::string::npos);
  // The data form says which trends hold times; the export leaves it to the names.
  CompareResult custom =
      compare_summaries(data_json(30, 500, 0.003), data_json(30, 500, 0.003), "a", "b", 0.10,
                        {{"ws_message_latency", ""}, {"ws_messages", ""}});
  CHECK(row(custom, "ws_message_latency", "p(95)")->unit == "ms");
  CHECK(row(custom, "ws_messages", "avg")->unit == "");
  CHECK(row(custom, "http_req_duration", "avg")->unit == "ms");
  CHECK(compare_summaries(data_json(30, 500, 0.003), data_json(40, 500, 0.003), "a", "b", 0.10, {})
            .regressions == 1);
}

TEST_CASE("compare: --metric adds custom metrics and sets directions") {
  std::string a = export_json(30, 500, 0.003, 0.99);
  CompareResult r =
      compare_summaries(a, a, "a", "b", 0.10, {{"agent_spawn_duration", ""}, {"errors", "higher"}});
  CHECK(row(r, "agent_spawn_duration", "p(95)") != nullptr);
  CHECK(row(r, "agent_spawn_duration", "p(95)")->unit == "ms");
  CHECK(row(r, "errors", "share") != nullptr);
  // A rate says which way is worse; a direction is higher or lower; the metric must exist.
  CHECK_THROWS_WITH(compare_summaries(a, a, "a", "b", 0.10, {{"errors", ""}}),
                    Catch::Contains("a rate needs its worse direction"));
  CHECK_THROWS_WITH(compare_summaries(a, a, "a", "b", 0.10, {{"errors", "up"}}),
                    Catch::Contains("higher or lower"));
  CHECK_THROWS_WITH(compare_summaries(a, a, "a", "b", 0.10, {{"nope", ""}}),
                    Catch::Contains("in neither summary"));
  // Overriding a built-in's direction: more requests per second now counts as worse.
  CompareResult flipped = compare_summaries(a, export_json(30, 600, 0.003, 0.99), "a", "b", 0.10,
                                            {{"http_reqs", "higher"}});
  CHECK(flipped.regressions == 1);
}

TEST_CASE("compare: files that are not summaries") {
  std::string a = export_json(30, 500, 0.003, 0.99);
  CHECK_THROWS_WITH(compare_summaries("{nope", a, "base.json", "cur.json", 0.1, {}),
                    "base.json: not JSON");
  CHECK_THROWS_WITH(compare_summaries(a, R"({"state": {}})", "base.json", "cur.json", 0.1, {}),
                    Catch::Contains("cur.json: no \"metrics\" object"));
  CHECK_THROWS_WITH(compare_summaries(a, R"({"metrics": {"http_reqs": {"type": "trend",
                                          "values": {"avg": 1}}}})",
                                      "base.json", "cur.json", 0.1, {}),
                    "http_reqs is a counter in base.json but a trend in cur.json");
}
