// How samples leave a virtual user. Every sample names its metric, its tag set (interned once
// per run in TagSets) and its value, and goes to the SampleSink of the worker that produced
// it. The sink aggregates it for thresholds and summaries (its Recorder, with the matching
// sub-metrics and per-series aggregates) and, when some output reads samples one by one,
// keeps it until the output drains the sink. Neither the runner nor the JavaScript
// bindings know which outputs exist.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "loadgen/metrics/metrics.h"

namespace faultline::loadgen {

// The tag sets of a run. The same tags in the same order get the same id; ids are dense and
// never reused, and the tags of an id never move. Thread-safe.
class TagSets {
 public:
  uint32_t intern(const Tags& tags);
  const Tags& tags(uint32_t id) const;
  size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<const Tags>> sets_;
  std::unordered_map<std::string, uint32_t> index_;
};

struct Sample {
  uint32_t metric = 0;
  uint32_t tags = 0;
  double value = 0;
  int64_t unix_ns = 0;  // wall-clock time of the sample
};

// Receives the samples drained from the sinks, on the main thread, in batches (every
// 200 ms and at the end of the run).
class SampleOutput {
 public:
  virtual ~SampleOutput() = default;
  virtual void samples(const std::vector<Sample>& batch, const TagSets& tag_sets) = 0;
};

inline int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SampleSink {
 public:
  // `series` may be null (no per-series aggregates); `keep` asks for the samples to be kept
  // for draining.
  SampleSink(const Registry& registry, TagSets& tag_sets, SeriesTable* series, bool keep);

  // The lock to hold around add/check when another thread also uses this sink (a
  // JavaScript VU's thread, or the main thread reading it during the run). `shared()` says
  // whether anyone does; when it is false the owning worker records without locking.
  std::mutex& mutex() { return mutex_; }
  bool shared() const { return shared_; }
  void set_shared(bool shared) { shared_ = shared; }

  // Keeps per-group aggregates too (`--summary-mode full` GROUP sections). Before any add.
  void set_group_breakdown(bool on) { groups_ = on; }

  // `when` is the sample's wall-clock time; only kept samples need it (pass 0 otherwise and
  // the sink reads the clock when it keeps the sample).
  void add(uint32_t metric, uint32_t tags, double value, int64_t when = 0);
  // One outcome of check number `id` (root group and scenario counts of the summary).
  void check_outcome(uint32_t id, bool pass);
  bool keeps_samples() const { return keep_; }

  Recorder& recorder() { return recorder_; }
  const Recorder& recorder() const { return recorder_; }
  // Moves the kept samples to the end of `out`. Takes the lock.
  void drain(std::vector<Sample>& out);

 private:
  struct Route {
    std::vector<uint32_t> subs;
    uint32_t series = 0;
    std::vector<Sink>* group = nullptr;  // with the group breakdown, a group's sample
  };
  const Route& route(uint32_t metric, uint32_t tags);

  const Registry& registry_;
  TagSets& tag_sets_;
  SeriesTable* series_;
  bool keep_;
  bool shared_ = false;
  bool groups_ = false;
  std::mutex mutex_;
  Recorder recorder_;
  std::unordered_map<uint64_t, Route> routes_;
  std::vector<Sample> kept_;
};

// Holds a sink's lock when it is shared.
class SinkLock {
 public:
  explicit SinkLock(SampleSink& sink) {
    if (sink.shared()) {
      mutex_ = &sink.mutex();
      mutex_->lock();
    }
  }
  ~SinkLock() {
    if (mutex_) mutex_->unlock();
  }
  SinkLock(const SinkLock&) = delete;
  SinkLock& operator=(const SinkLock&) = delete;

 private:
  std::mutex* mutex_ = nullptr;
};

}  // namespace faultline::loadgen
