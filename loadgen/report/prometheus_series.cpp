#include "loadgen/report/prometheus_series.h"

#include "loadgen/metrics/stats.h"

namespace faultline::loadgen {

std::string prometheus_stat_suffix(const std::string& stat) {
  if (stat.rfind("p(", 0) != 0) return stat;
  std::string out = "p";
  for (size_t i = 2; i + 1 < stat.size(); ++i) {
    if (stat[i] != '.') out += stat[i];
  }
  return out;
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
