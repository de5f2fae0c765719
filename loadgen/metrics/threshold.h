// k6 thresholds (spec k6-compat §4): "p(95)<2000", "rate<0.01", "count>100", declared per
// metric key ("http_req_duration" or "http_req_duration{name:login}").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::loadgen {

enum class MetricType { kCounter, kGauge, kRate, kTrend };

struct Threshold {
  std::string source;       // the expression as written
  std::string aggregation;  // "avg", "min", "max", "med", "count", "rate", "value", "p(N)"
  double percentile = 0;    // for p(N)
  std::string op;           // "<", "<=", ">", ">=", "==", "!="
  double value = 0;
  bool abort_on_fail = false;
  int64_t delay_abort_eval_ns = -1;  // delayAbortEval; -1 when unset
  std::string delay_abort_eval;      // as written, for --out json's Metric lines
};

// Parses one expression; on failure returns nullopt and k6's message in `err`.
std::optional<Threshold> parse_threshold(std::string_view expr, std::string& err);

// Splits "metric{k:v,...}" into the name and its tag selector; false when malformed.
bool parse_metric_key(std::string_view key, std::string& name,
                      std::vector<std::pair<std::string, std::string>>& tags);

// Checks that the aggregation fits the metric type (k6 §4.3); k6's message in `err`.
bool aggregation_allowed(const Threshold& t, MetricType type, std::string_view metric,
                         std::string& err);

bool compare(double lhs, const std::string& op, double rhs);

}  // namespace faultline::loadgen
