// `--out prometheus=HOST:PORT`: serves the run's metrics on http://HOST:PORT/metrics while it
// runs, with the names and units of k6's Prometheus output (spec k6-compat §9.3), so that
// dashboards built on k6_http_reqs_total, k6_http_req_duration_p99, k6_vus, ... keep working.
// One series per metric and tag set; every value is cumulative since the start of the run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "loadgen/metrics/metrics.h"

namespace prometheus {
class Exposer;
}

namespace faultline::loadgen {

class PrometheusOutput {
 public:
  // Binds HOST:PORT at once; throws std::exception when that fails. `trend_stats` are the
  // stats written per trend ("p(99)", "avg", "min", "med", "max", "count", "sum").
  PrometheusOutput(const std::string& address, std::shared_ptr<const Registry> registry,
                   std::shared_ptr<SeriesTable> series, std::vector<std::string> trend_stats);
  ~PrometheusOutput();

  // Publishes the metrics so far (called once a second and at the end).
  void update(const Recorder& metrics);

  // The description for the header's "output:" line.
  std::string description() const;

 private:
  class Collector;
  std::string address_;
  std::shared_ptr<const Registry> registry_;
  std::shared_ptr<SeriesTable> series_;
  std::vector<std::string> trend_stats_;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace faultline::loadgen
