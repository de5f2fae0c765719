// How loadgen's metrics look in Prometheus, shared by `--out prometheus` (served on /metrics)
// and `--out experimental-prometheus-rw` (pushed): k6's names and units (spec k6-compat §9.3).
// A counter is k6_<name>_total (running sum), a gauge k6_<name> (last value), a rate
// k6_<name>_rate (non-zero/total so far), a trend one k6_<name>_<stat> per configured stat;
// time trends are in seconds. Unlike k6, a trend's count stays a count (k6 divides it by 1000
// as well; the README says so).
#pragma once

#include <string>
#include <vector>

#include "loadgen/metrics/metrics.h"

namespace faultline::loadgen {

struct PrometheusValue {
  std::string name;  // k6_http_reqs_total, k6_http_req_duration_p99, ...
  double value = 0;
  bool counter = false;  // a counter's sum; everything else is a gauge
  std::string help;
};

// The values one series (a metric with one tag set) contributes; none for an empty trend.
std::vector<PrometheusValue> prometheus_values(const MetricDef& def, const Sink& sink,
                                               const std::vector<std::string>& trend_stats);

// "p(99)" -> "p99", "p(99.9)" -> "p999", "avg" -> "avg".
std::string prometheus_stat_suffix(const std::string& stat);

// The trend stats both outputs write, from K6_PROMETHEUS_RW_TREND_STATS: a comma-separated
// list of avg, min, med, max, count, sum and p(N), blanks around entries ignored. False with
// `error` naming the first entry that is none of these.
bool parse_prometheus_trend_stats(const std::string& text, std::vector<std::string>& out,
                                  std::string& error);

// Whether a tag name can be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting
// with "__"); tags with other names are left out of the labels.
bool valid_label_name(const std::string& name);

}  // namespace faultline::loadgen
