// The end-of-test report in k6's shapes: the 1.x console summary (spec k6-compat §6.5,
// values formatted as §6.7) and the flat `--summary-export` JSON (§7.1).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "loadgen/stats.h"
#include "loadgen/threshold.h"

namespace faultline::loadgen {

struct ThresholdResult {
  std::string metric;  // key as declared, e.g. "http_req_duration"
  Threshold threshold;
  bool ok = true;
  std::optional<double> observed;
};

// Evaluates every threshold on the final values (k6 §4.5).
std::vector<ThresholdResult> evaluate(const std::map<std::string, std::vector<Threshold>>& declared,
                                      const std::map<std::string, MetricValue>& metrics,
                                      double elapsed_s);

std::string format_time_ms(double ms);     // 48.21ms, 910µs, 2.95s, 1m30s
std::string format_bytes(double bytes);    // 2.2 MB, 19 MB, 346 kB
std::string format_rate(double fraction);  // 0.41%
std::string format_number(double v);       // 37.537719, 3110

std::string console_summary(const std::map<std::string, MetricValue>& metrics,
                            const std::vector<ThresholdResult>& thresholds, double elapsed_s);
std::string summary_export(const std::map<std::string, MetricValue>& metrics,
                           const std::vector<ThresholdResult>& thresholds, double elapsed_s);

}  // namespace faultline::loadgen
