#include "loadgen/stats.h"

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
    case MetricType::kTrend: {
      const Histogram& h = *m.trend;
      double ms = m.trend_scale;
      if (a == "avg") return h.mean() / ms;
      if (a == "min") return static_cast<double>(h.min()) / ms;
      if (a == "max") return static_cast<double>(h.max()) / ms;
      if (a == "med") return h.quantile(0.5) / ms;
      return h.quantile(t.percentile / 100.0) / ms;
    }
  }
  return std::nullopt;
}

}  // namespace faultline::loadgen
