#include "loadgen/report/prometheus_output.h"

#include "loadgen/report/prometheus_series.h"

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
    for (auto& v : prometheus_values(def, sink, trend_stats_)) {
      ClientMetric m = base;
      if (v.counter) {
        m.counter.value = v.value;
      } else {
        m.gauge.value = v.value;
      }
      family(v.name, v.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge,
             v.help)
          .metric.push_back(std::move(m));
    }
  }
  std::vector<MetricFamily> out;
  out.reserve(families.size());
  for (auto& [name, f] : families) out.push_back(std::move(f));
  collector_->set(std::move(out));
}

}  // namespace faultline::loadgen
