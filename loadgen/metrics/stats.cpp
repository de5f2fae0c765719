#include "loadgen/metrics/stats.h"

#include <cstdlib>
#include <string>

namespace faultline::loadgen {

std::optional<double> aggregate(const MetricValue& m, const Threshold& t, double elapsed_s) {
  const std::string& a = t.aggregation;
  switch (m.type) {
    case MetricType::kCounter:
      if (a == "count") return m.count;
      if (elapsed_s <= 0) return std::nullopt;
      return m.count / elapsed_s;
    case MetricType::kGauge:
      return m.value;
    case MetricType::kRate:
      if (m.total == 0) return std::nullopt;
      return m.count / m.total;
    case MetricType::kTrend:
      if (m.trend == nullptr || m.trend->count() == 0) return 0.0;
      if (!a.empty() && a[0] == 'p') {
        return m.trend->quantile(t.percentile / 100.0) / (m.trend_scale > 0 ? m.trend_scale : 1);
      }
      return trend_stat(*m.trend, m.trend_scale, a);
  }
  return std::nullopt;
}

double trend_stat(const Histogram& h, double scale, std::string_view stat) {
  if (h.count() == 0) return 0;
  if (scale <= 0) scale = 1;
  if (stat == "count") return static_cast<double>(h.count());
  if (stat == "sum") return h.sum() / scale;
  if (stat == "avg") return h.mean() / scale;
  if (stat == "min") return static_cast<double>(h.min()) / scale;
  if (stat == "max") return static_cast<double>(h.max()) / scale;
  if (stat == "med") return h.quantile(0.5) / scale;
  double p = 0;
  if (stat.size() > 3 && stat.substr(0, 2) == "p(") {
    p = std::strtod(std::string(stat.substr(2, stat.size() - 3)).c_str(), nullptr);
  }
  return h.quantile(p / 100.0) / scale;
}

const char* metric_type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kRate:
      return "rate";
    case MetricType::kTrend:
      return "trend";
  }
  return "";
}

}  // namespace faultline::loadgen
