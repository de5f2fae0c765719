#include "loadgen/stats.h"

namespace faultline::loadgen {

void Stats::merge(const Stats& o) {
  http_req_duration.merge(o.http_req_duration);
  http_req_waiting.merge(o.http_req_waiting);
  http_req_sending.merge(o.http_req_sending);
  http_req_receiving.merge(o.http_req_receiving);
  http_req_connecting.merge(o.http_req_connecting);
  http_req_blocked.merge(o.http_req_blocked);
  iteration_duration.merge(o.iteration_duration);
  http_reqs += o.http_reqs;
  iterations += o.iterations;
  data_sent += o.data_sent;
  data_received += o.data_received;
  failed += o.failed;
  for (const auto& [k, v] : o.errors) errors[k] += v;
}

std::map<std::string, MetricValue> metric_values(const Stats& s, uint64_t vus, uint64_t vus_max) {
  std::map<std::string, MetricValue> m;
  auto trend = [&](const char* name, const Histogram& h) {
    MetricValue v;
    v.type = MetricType::kTrend;
    v.trend = &h;
    v.is_time = true;
    m[name] = v;
  };
  auto counter = [&](const char* name, uint64_t n, bool data) {
    MetricValue v;
    v.type = MetricType::kCounter;
    v.count = static_cast<double>(n);
    v.is_data = data;
    m[name] = v;
  };
  auto gauge = [&](const char* name, uint64_t value, uint64_t min, uint64_t max) {
    MetricValue v;
    v.type = MetricType::kGauge;
    v.value = static_cast<double>(value);
    v.min = static_cast<double>(min);
    v.max = static_cast<double>(max);
    m[name] = v;
  };
  trend("http_req_duration", s.http_req_duration);
  trend("http_req_waiting", s.http_req_waiting);
  trend("http_req_sending", s.http_req_sending);
  trend("http_req_receiving", s.http_req_receiving);
  trend("http_req_connecting", s.http_req_connecting);
  trend("http_req_blocked", s.http_req_blocked);
  trend("iteration_duration", s.iteration_duration);
  counter("http_reqs", s.http_reqs, false);
  counter("iterations", s.iterations, false);
  counter("data_sent", s.data_sent, true);
  counter("data_received", s.data_received, true);
  MetricValue failed;
  failed.type = MetricType::kRate;
  failed.count = static_cast<double>(s.failed);
  failed.total = static_cast<double>(s.http_reqs);
  m["http_req_failed"] = failed;
  gauge("vus", vus, vus, vus);
  gauge("vus_max", vus_max, vus_max, vus_max);
  return m;
}

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
      double ms = 1e6;
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
