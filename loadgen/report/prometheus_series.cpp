#include "loadgen/report/prometheus_series.h"

#include <algorithm>

#include "loadgen/metrics/stats.h"
#include "loadgen/report/summary.h"

namespace faultline::loadgen {

std::string prometheus_stat_suffix(const std::string& stat) {
  if (stat.rfind("p(", 0) != 0) return stat;
  std::string out = "p";
  for (size_t i = 2; i + 1 < stat.size(); ++i) {
    if (stat[i] != '.') out += stat[i];
  }
  return out;
}

bool parse_prometheus_trend_stats(const std::string& text, std::vector<std::string>& out,
                                  std::string& error) {
  out.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string stat = text.substr(start, comma - start);
    stat.erase(0, stat.find_first_not_of(" \t"));
    stat.erase(stat.find_last_not_of(" \t") + 1);
    if (stat != "sum" && !valid_trend_stat(stat)) {
      error = "invalid K6_PROMETHEUS_RW_TREND_STATS entry '" + stat + "'";
      return false;
    }
    out.push_back(std::move(stat));
    start = comma + 1;
  }
  return true;
}

bool valid_label_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9') || name.rfind("__", 0) == 0) {
    return false;
  }
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

std::vector<PrometheusValue> prometheus_values(const MetricDef& def, const Sink& sink,
                                               const std::vector<std::string>& trend_stats) {
  std::vector<PrometheusValue> out;
  const std::string prefix = "k6_" + def.name;
  switch (def.type) {
    case MetricType::kCounter:
      out.push_back({prefix + "_total", sink.sum, true, "k6 counter " + def.name});
      break;
    case MetricType::kGauge:
      out.push_back({prefix, sink.last, false, "k6 gauge " + def.name});
      break;
    case MetricType::kRate:
      if (sink.total > 0) {
        out.push_back({prefix + "_rate",
                       static_cast<double>(sink.nonzero) / static_cast<double>(sink.total), false,
                       "k6 rate " + def.name});
      }
      break;
    case MetricType::kTrend: {
      if (!sink.trend) break;
      const double scale = trend_scale(def);
      for (const auto& stat : trend_stats) {
        double v = trend_stat(*sink.trend, scale, stat);
        // Time trends are written in seconds (the count stays a count).
        if (def.is_time && stat != "count") v /= 1000;
        out.push_back({prefix + "_" + prometheus_stat_suffix(stat), v, false,
                       "k6 trend " + def.name + " " + stat + (def.is_time ? " (seconds)" : "")});
      }
      break;
    }
  }
  return out;
}

}  // namespace faultline::loadgen
