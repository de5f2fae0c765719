// `--out experimental-prometheus-rw`: pushes the run's metrics to a Prometheus remote-write
// endpoint, as k6's output of that name does (spec k6-compat §9): every push interval one POST
// of a snappy-compressed protobuf WriteRequest holding, for each series that got samples
// since the previous push, its aggregate over the whole run so far under k6's names
// (prometheus_series.h). Configured only through K6_PROMETHEUS_RW_* variables. A failed push
// is logged and the run goes on; it is not retried.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http.h"
#include "loadgen/metrics/metrics.h"

namespace faultline::loadgen {

struct RemoteWriteSettings {
  std::string url = "http://localhost:9090/api/v1/write";
  std::chrono::milliseconds push_interval{5000};
  std::vector<std::string> trend_stats{"p(99)"};
  bool stale_markers = false;
  http::Headers headers;  // authentication and extra headers, sent with every push
};

// Reads K6_PROMETHEUS_RW_SERVER_URL, _PUSH_INTERVAL, _TREND_STATS, _STALE_MARKERS,
// _USERNAME/_PASSWORD, _BEARER_TOKEN, _HEADERS_<NAME>, _HTTP_HEADERS and
// _TREND_AS_NATIVE_HISTOGRAM from `env`. False with `error` for a value loadgen cannot use.
bool remote_write_settings(const std::map<std::string, std::string>& env, RemoteWriteSettings& out,
                           std::string& error);

// Encodes a WriteRequest (protobuf, then snappy) with one sample at `timestamp_ms` for every
// series whose sample count differs from `pushed_totals` (grown and updated in place);
// `stale` instead writes Prometheus' staleness marker for every series pushed so far.
// `series` counts the series written; nothing to send leaves `series` at 0.
struct RemoteWriteBatch {
  std::string body;
  size_t series = 0;
};
RemoteWriteBatch encode_remote_write(const Registry& registry,
                                     const std::vector<SeriesTable::Series>& all,
                                     const Recorder& metrics,
                                     const std::vector<std::string>& trend_stats,
                                     std::vector<uint64_t>& pushed_totals, int64_t timestamp_ms,
                                     bool stale = false);

class PrometheusRemoteWrite {
 public:
  PrometheusRemoteWrite(RemoteWriteSettings settings, std::shared_ptr<const Registry> registry,
                        std::shared_ptr<SeriesTable> series);
  ~PrometheusRemoteWrite();

  // Called with the run's metrics about once a second; pushes when the interval has passed.
  void update(const Recorder& metrics);
  // The last push (and the staleness markers when asked for); waits until it is sent.
  void finish(const Recorder& metrics);

  // The header's "output:" line.
  std::string description() const;

 private:
  void push(const Recorder& metrics, bool stale);
  void send_loop();

  RemoteWriteSettings settings_;
  std::shared_ptr<const Registry> registry_;
  std::shared_ptr<SeriesTable> series_;
  std::vector<uint64_t> pushed_totals_;
  std::chrono::steady_clock::time_point next_push_;
  int64_t last_timestamp_ms_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool sending_ = false;
  bool stopping_ = false;
  std::thread sender_;
};

}  // namespace faultline::loadgen
