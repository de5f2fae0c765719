// The metrics of a run (spec k6-compat §3): k6's built-in metrics, the file's custom ones,
// and the sub-metrics that thresholds select by tags ("http_req_duration{name:login}").
// A Registry is fixed before the run starts. Each worker thread records into its own
// Recorder (no locks, no allocation once warm); the main thread merges them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "loadgen/metrics/stats.h"

namespace faultline::loadgen {

using Tags = std::vector<std::pair<std::string, std::string>>;

// Built-in metrics, in registry order.
enum Builtin : uint32_t {
  kHttpReqs,
  kHttpReqDuration,
  kHttpReqBlocked,
  kHttpReqConnecting,
  kHttpReqTlsHandshaking,
  kHttpReqSending,
  kHttpReqWaiting,
  kHttpReqReceiving,
  kHttpReqFailed,
  kIterations,
  kIterationDuration,
  kDroppedIterations,
  kVus,
  kVusMax,
  kDataSent,
  kDataReceived,
  kChecks,
  kGroupDuration,
  kWsSessions,
  kWsConnecting,
  kWsSessionDuration,
  kWsMsgsSent,
  kWsMsgsReceived,
  kWsPing,
  kBuiltinCount
};

struct MetricDef {
  std::string name;
  MetricType type = MetricType::kCounter;
  bool is_time = false;
  bool is_data = false;
};

struct SubMetricDef {
  std::string key;  // as written: "http_req_duration{name:login}"
  uint32_t parent = 0;
  std::string selector;  // text between the braces
  Tags tags;             // the pairs to match
  bool hidden = false;   // internal (full summary's per-scenario values), not reported
};

class Registry {
 public:
  Registry();
  // Adds a custom metric; returns its id.
  uint32_t add_metric(const MetricDef& def);
  // Adds (or finds) a sub-metric; returns its id.
  uint32_t add_submetric(const std::string& key, uint32_t parent, const std::string& selector,
                         const Tags& tags, bool hidden = false);
  // The metric id for a plain name, or -1.
  int find(const std::string& name) const;
  int find_submetric(const std::string& key) const;

  const std::vector<MetricDef>& metrics() const { return metrics_; }
  const std::vector<SubMetricDef>& submetrics() const { return subs_; }

  // Sub-metrics of `metric` whose selectors all appear in `tags`.
  std::vector<uint32_t> matching(uint32_t metric, const Tags& tags) const;

 private:
  std::vector<MetricDef> metrics_;
  std::vector<SubMetricDef> subs_;
};

// Time series for outputs that keep one aggregate per metric and tag set (k6's Prometheus
// output, spec §9.3). Ids are handed out once per (metric, tags); lookups after that are by
// id only. Safe to use from several threads.
class SeriesTable {
 public:
  struct Series {
    uint32_t metric = 0;
    Tags tags;  // sorted by name, empty values dropped
  };
  uint32_t id(uint32_t metric, const Tags& tags);
  std::vector<Series> list() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Series> series_;
  std::map<std::pair<uint32_t, Tags>, uint32_t> index_;
};

// One metric's aggregate: a counter's sum, a gauge's last/min/max, a rate's non-zero and
// total counts, or a trend's histogram.
struct Sink {
  std::unique_ptr<Histogram> trend;
  double sum = 0;
  uint64_t nonzero = 0;
  uint64_t total = 0;
  double last = 0, min = 0, max = 0;

  void add(MetricType type, double value, double scale);
  void merge(MetricType type, const Sink& other);
};

// Histogram units per reported unit: ns per ms for time trends, millionths otherwise
// (data trends are whole bytes).
double trend_scale(const MetricDef& def);

class Recorder {
 public:
  explicit Recorder(const Registry& registry);

  // Adds a sample to a metric and to the listed sub-metrics (each must belong to it).
  void add(uint32_t metric, double value) {
    sinks_[metric].add(types_[metric], value, scales_[metric]);
  }
  void add_sub(uint32_t sub, double value) {
    uint32_t parent = parents_[sub];
    subs_[sub].add(types_[parent], value, scales_[parent]);
  }
  void add(uint32_t metric, double value, const std::vector<uint32_t>& subs) {
    add(metric, value);
    for (uint32_t s : subs) {
      if (parents_[s] == metric) add_sub(s, value);
    }
  }

  // Adds a sample to one series of `metric` (see SeriesTable).
  void add_series(uint32_t series, uint32_t metric, double value) {
    if (series >= series_.size()) {
      series_.resize(series + 1);
      series_metric_.resize(series + 1);
    }
    series_metric_[series] = metric;
    series_[series].add(types_[metric], value, scales_[metric]);
  }
  size_t series_count() const { return series_.size(); }
  const Sink& series(uint32_t id) const { return series_[id]; }

  void merge(const Recorder& other);
  const Sink& sink(uint32_t metric) const { return sinks_[metric]; }
  const Sink& sub(uint32_t id) const { return subs_[id]; }

  // Check outcomes by check id (root group), for the summary's check list.
  std::vector<std::pair<uint64_t, uint64_t>> checks;  // passes, fails

  // `--summary-mode full` with groups: the aggregates of the samples of each group path
  // (their `group` tag), one Sink per metric. The vector of a path never moves once made.
  std::vector<Sink>& group(const std::string& path);
  void add_group(std::vector<Sink>& sinks, uint32_t metric, double value) {
    sinks[metric].add(types_[metric], value, scales_[metric]);
  }
  const std::map<std::string, std::vector<Sink>>& groups() const { return groups_; }

 private:
  std::vector<MetricType> types_;
  std::vector<double> scales_;
  std::vector<uint32_t> parents_;
  std::vector<Sink> sinks_;
  std::vector<Sink> subs_;
  std::vector<Sink> series_;
  std::vector<uint32_t> series_metric_;
  std::map<std::string, std::vector<Sink>> groups_;
};

// The values the summary and thresholds read, for every metric that has samples plus every
// metric or sub-metric named in a threshold (k6 §7). `thresholded` lists the threshold keys.
// The values of one scenario's samples (`--summary-mode full`), read from the sub-metrics
// selecting exactly {scenario:NAME}, keyed by their parents' names.
std::map<std::string, MetricValue> scenario_values(const Registry& registry, const Recorder& r,
                                                   const std::string& scenario);

// The values of one group's samples (`--summary-mode full`), keyed by metric name.
std::map<std::string, MetricValue> group_values(const Registry& registry, const Recorder& r,
                                                const std::string& path);

// A sink's values in the shape the summary reads.
MetricValue value_of(const MetricDef& def, const Sink& s);

std::map<std::string, MetricValue> observed_values(const Registry& registry, const Recorder& r,
                                                   const std::vector<std::string>& thresholded);

}  // namespace faultline::loadgen
