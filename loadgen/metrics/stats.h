// A metric's aggregated values as the summary and the thresholds read them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/histogram.h"
#include "loadgen/metrics/threshold.h"

namespace faultline::loadgen {

// One metric's values as the summary and the thresholds see them.
struct MetricValue {
  MetricType type = MetricType::kCounter;
  const Histogram* trend = nullptr;    // for trends, in units of 1/trend_scale
  double trend_scale = 1e6;            // histogram units per reported unit (ns per ms)
  double count = 0;                    // counter: sum; rate: non-zero samples
  double total = 0;                    // rate: all samples
  double value = 0, min = 0, max = 0;  // gauge
  bool is_time = false;                // k6 "contains": time (values in ms)
  bool is_data = false;                // k6 "contains": data (bytes)
  // A sub-metric ("http_req_duration{status:200}") names its parent and keeps the text
  // between the braces as written ("status:200"); both are empty for a plain metric.
  std::string parent;
  std::string selector;
  std::vector<std::pair<std::string, std::string>> selector_tags;  // parsed pairs
};

// The number a threshold compares (k6 §3.6, §4.3); nullopt when not available (a rate
// with no samples, which passes). Trends are in milliseconds.
std::optional<double> aggregate(const MetricValue& m, const Threshold& t, double elapsed_s);

// A trend statistic ("avg", "min", "med", "max", "count", "sum", "p(N)") of a histogram
// whose values were recorded multiplied by `scale`; 0 for an empty histogram.
double trend_stat(const Histogram& h, double scale, std::string_view stat);

// k6's name of a metric type: "counter", "gauge", "rate", "trend".
const char* metric_type_name(MetricType t);

}  // namespace faultline::loadgen
