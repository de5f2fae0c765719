// What a load test measures, with k6's metric names. Each worker thread records into its
// own Stats (no locks on the hot path); the results are merged at the end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "loadgen/threshold.h"

namespace faultline::loadgen {

struct Stats {
  // Trends, in nanoseconds.
  Histogram http_req_duration;
  Histogram http_req_waiting;
  Histogram http_req_sending;
  Histogram http_req_receiving;
  Histogram http_req_connecting;
  Histogram http_req_blocked;
  Histogram iteration_duration;
  // Counters.
  uint64_t http_reqs = 0;
  uint64_t iterations = 0;
  uint64_t data_sent = 0;
  uint64_t data_received = 0;
  // Rate: requests that failed (status >= 400 or a transport error) out of all.
  uint64_t failed = 0;
  std::map<std::string, uint64_t> errors;  // by error text, for the report

  void merge(const Stats& other);
};

// One metric's values as the summary and the thresholds see them.
struct MetricValue {
  MetricType type = MetricType::kCounter;
  const Histogram* trend = nullptr;    // for trends (nanoseconds)
  double count = 0;                    // counter: sum; rate: non-zero samples
  double total = 0;                    // rate: all samples
  double value = 0, min = 0, max = 0;  // gauge
  bool is_time = false;
  bool is_data = false;
};

// The metrics of a finished run, by name (std::map: sorted).
std::map<std::string, MetricValue> metric_values(const Stats& s, uint64_t vus, uint64_t vus_max);

// The number a threshold compares (k6 §3.6, §4.3); nullopt when not available (a rate
// with no samples, which passes). Trends are in milliseconds.
std::optional<double> aggregate(const MetricValue& m, const Threshold& t, double elapsed_s);

}  // namespace faultline::loadgen
