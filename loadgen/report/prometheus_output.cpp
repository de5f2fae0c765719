#include "loadgen/report/prometheus_output.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <cstdlib>
#include <map>
#include <mutex>

namespace faultline::loadgen {

class PrometheusOutput::Collector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mutex_);
    return families_;
  }
  void set(std::vector<prometheus::MetricFamily> families) {
    std::lock_guard lock(mutex_);
    families_ = std::move(families);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<prometheus::MetricFamily> families_;
};

namespace {

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

}  // namespace

std::string prometheus_stat_suffix(const std::string& stat) {
  if (stat.rfind("p(", 0) != 0) return stat;
  std::string out = "p";
  for (size_t i = 2; i + 1 < stat.size(); ++i) {
    if (stat[i] != '.') out += stat[i];
  }
  return out;
}

PrometheusOutput::PrometheusOutput(const std::string& address,
                                   std::shared_ptr<const Registry> registry,
                                   std::shared_ptr<SeriesTable> series,
                                   std::vector<std::string> trend_stats)
    : address_(address),
      registry_(std::move(registry)),
      series_(std::move(series)),
      trend_stats_(std::move(trend_stats)),
      collector_(std::make_shared<Collector>()),
      exposer_(std::make_unique<prometheus::Exposer>(address, 1)) {
  exposer_->RegisterCollectable(collector_);
}

PrometheusOutput::~PrometheusOutput() = default;

std::string PrometheusOutput::description() const {
  return "Prometheus (http://" + address_ + "/metrics)";
}

void PrometheusOutput::update(const Recorder& metrics) {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  std::map<std::string, MetricFamily> families;
  auto family = [&](const std::string& name, prometheus::MetricType type,
                    const std::string& help) -> MetricFamily& {
    auto& f = families[name];
    if (f.name.empty()) {
      f.name = name;
      f.type = type;
      f.help = help;
    }
    return f;
  };
  const auto& defs = registry_->metrics();
  auto all = series_->list();
  for (size_t id = 0; id < all.size() && id < metrics.series_count(); ++id) {
    const Sink& sink = metrics.series(static_cast<uint32_t>(id));
    if (sink.total == 0) continue;
    const MetricDef& def = defs[all[id].metric];
    ClientMetric base;
    for (const auto& [k, v] : all[id].tags) {
      if (valid_label_name(k)) base.label.push_back({k, v});
    }
    std::string prefix = "k6_" + def.name;
    switch (def.type) {
      case MetricType::kCounter: {
        ClientMetric m = base;
        m.counter.value = sink.sum;
        family(prefix + "_total", prometheus::MetricType::Counter, "k6 counter " + def.name)
            .metric.push_back(std::move(m));
        break;
      }
      case MetricType::kGauge: {
        ClientMetric m = base;
        m.gauge.value = sink.last;
        family(prefix, prometheus::MetricType::Gauge, "k6 gauge " + def.name)
            .metric.push_back(std::move(m));
        break;
      }
      case MetricType::kRate: {
        ClientMetric m = base;
        m.gauge.value = static_cast<double>(sink.nonzero) / static_cast<double>(sink.total);
        family(prefix + "_rate", prometheus::MetricType::Gauge, "k6 rate " + def.name)
            .metric.push_back(std::move(m));
        break;
      }
      case MetricType::kTrend: {
        if (!sink.trend) break;
        double scale = trend_scale(def);
        for (const auto& stat : trend_stats_) {
          ClientMetric m = base;
          double v = trend_stat(*sink.trend, scale, stat);
          // Time trends are written in seconds (the count stays a count).
          if (def.is_time && stat != "count") v /= 1000;
          m.gauge.value = v;
          family(prefix + "_" + prometheus_stat_suffix(stat), prometheus::MetricType::Gauge,
                 "k6 trend " + def.name + " " + stat + (def.is_time ? " (seconds)" : ""))
              .metric.push_back(std::move(m));
        }
        break;
      }
    }
  }
  std::vector<MetricFamily> out;
  out.reserve(families.size());
  for (auto& [name, f] : families) out.push_back(std::move(f));
  collector_->set(std::move(out));
}

}  // namespace faultline::loadgen
