#include "loadgen/metrics/metrics.h"

#include <algorithm>

namespace faultline::loadgen {

Registry::Registry() {
  auto trend = [](const char* n) { return MetricDef{n, MetricType::kTrend, true, false}; };
  metrics_ = {
      {"http_reqs", MetricType::kCounter, false, false},
      trend("http_req_duration"),
      trend("http_req_blocked"),
      trend("http_req_connecting"),
      trend("http_req_tls_handshaking"),
      trend("http_req_sending"),
      trend("http_req_waiting"),
      trend("http_req_receiving"),
      {"http_req_failed", MetricType::kRate, false, false},
      {"iterations", MetricType::kCounter, false, false},
      trend("iteration_duration"),
      {"dropped_iterations", MetricType::kCounter, false, false},
      {"vus", MetricType::kGauge, false, false},
      {"vus_max", MetricType::kGauge, false, false},
      {"data_sent", MetricType::kCounter, false, true},
      {"data_received", MetricType::kCounter, false, true},
      {"checks", MetricType::kRate, false, false},
      trend("group_duration"),
      {"ws_sessions", MetricType::kCounter, false, false},
      trend("ws_connecting"),
      trend("ws_session_duration"),
      {"ws_msgs_sent", MetricType::kCounter, false, false},
      {"ws_msgs_received", MetricType::kCounter, false, false},
      trend("ws_ping"),
  };
}

uint32_t Registry::add_metric(const MetricDef& def) {
  metrics_.push_back(def);
  return static_cast<uint32_t>(metrics_.size() - 1);
}

uint32_t Registry::add_submetric(const std::string& key, uint32_t parent,
                                 const std::string& selector, const Tags& tags, bool hidden) {
  int existing = find_submetric(key);
  if (existing >= 0) return static_cast<uint32_t>(existing);
  subs_.push_back({key, parent, selector, tags, hidden});
  return static_cast<uint32_t>(subs_.size() - 1);
}

int Registry::find(const std::string& name) const {
  for (size_t i = 0; i < metrics_.size(); ++i) {
    if (metrics_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Registry::find_submetric(const std::string& key) const {
  for (size_t i = 0; i < subs_.size(); ++i) {
    if (subs_[i].key == key) return static_cast<int>(i);
  }
  return -1;
}

std::vector<uint32_t> Registry::matching(uint32_t metric, const Tags& tags) const {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < subs_.size(); ++i) {
    if (subs_[i].parent != metric) continue;
    bool all = std::all_of(subs_[i].tags.begin(), subs_[i].tags.end(), [&](const auto& want) {
      return std::find(tags.begin(), tags.end(), want) != tags.end();
    });
    if (all) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

uint32_t SeriesTable::id(uint32_t metric, const Tags& tags) {
  Tags sorted;
  for (const auto& t : tags) {
    if (!t.second.empty()) sorted.push_back(t);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // A later tag with the same name wins.
  Tags unique;
  for (const auto& t : sorted) {
    if (!unique.empty() && unique.back().first == t.first) {
      unique.back() = t;
    } else {
      unique.push_back(t);
    }
  }
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(metric, unique);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second;
  auto id = static_cast<uint32_t>(series_.size());
  series_.push_back({metric, std::move(unique)});
  index_.emplace(std::move(key), id);
  return id;
}

std::vector<SeriesTable::Series> SeriesTable::list() const {
  std::lock_guard lock(mutex_);
  return series_;
}

double trend_scale(const MetricDef& def) {
  return def.is_data ? 1 : 1e6;
}

void Sink::add(MetricType type, double value, double scale) {
  switch (type) {
    case MetricType::kCounter:
      sum += value;
      ++total;
      break;
    case MetricType::kGauge:
      if (total == 0 || value < min) min = value;
      if (total == 0 || value > max) max = value;
      last = value;
      ++total;
      break;
    case MetricType::kRate:
      if (value != 0) ++nonzero;
      ++total;
      break;
    case MetricType::kTrend:
      if (!trend) trend = std::make_unique<Histogram>();
      trend->record(value <= 0 ? 0 : static_cast<uint64_t>(value * scale + 0.5));
      ++total;
      break;
  }
}

void Sink::merge(MetricType type, const Sink& o) {
  if (o.total == 0) return;
  switch (type) {
    case MetricType::kGauge:
      if (total == 0 || o.min < min) min = o.min;
      if (total == 0 || o.max > max) max = o.max;
      last = o.last;
      break;
    case MetricType::kTrend:
      if (!trend) trend = std::make_unique<Histogram>();
      trend->merge(*o.trend);
      break;
    default:
      break;
  }
  sum += o.sum;
  nonzero += o.nonzero;
  total += o.total;
}

Recorder::Recorder(const Registry& registry) {
  for (const auto& m : registry.metrics()) {
    types_.push_back(m.type);
    scales_.push_back(trend_scale(m));
  }
  for (const auto& s : registry.submetrics()) parents_.push_back(s.parent);
  sinks_.resize(types_.size());
  subs_.resize(parents_.size());
}

void Recorder::merge(const Recorder& o) {
  for (size_t i = 0; i < sinks_.size(); ++i) sinks_[i].merge(types_[i], o.sinks_[i]);
  for (size_t i = 0; i < subs_.size(); ++i) subs_[i].merge(types_[parents_[i]], o.subs_[i]);
  if (series_.size() < o.series_.size()) {
    series_.resize(o.series_.size());
    series_metric_.resize(o.series_.size());
  }
  for (size_t i = 0; i < o.series_.size(); ++i) {
    if (o.series_[i].total == 0) continue;
    series_metric_[i] = o.series_metric_[i];
    series_[i].merge(types_[o.series_metric_[i]], o.series_[i]);
  }
  for (const auto& [path, sinks] : o.groups_) {
    auto& mine = group(path);
    for (size_t i = 0; i < sinks.size(); ++i) mine[i].merge(types_[i], sinks[i]);
  }
  if (checks.size() < o.checks.size()) checks.resize(o.checks.size());
  for (size_t i = 0; i < o.checks.size(); ++i) {
    checks[i].first += o.checks[i].first;
    checks[i].second += o.checks[i].second;
  }
}

std::map<std::string, MetricValue> scenario_values(const Registry& registry, const Recorder& r,
                                                   const std::string& scenario) {
  std::map<std::string, MetricValue> out;
  const Tags want{{"scenario", scenario}};
  const auto& subs = registry.submetrics();
  for (size_t i = 0; i < subs.size(); ++i) {
    const Sink& s = r.sub(static_cast<uint32_t>(i));
    if (subs[i].tags != want || s.total == 0) continue;
    const MetricDef& def = registry.metrics()[subs[i].parent];
    out[def.name] = value_of(def, s);
  }
  return out;
}

std::vector<Sink>& Recorder::group(const std::string& path) {
  auto it = groups_.find(path);
  if (it == groups_.end()) it = groups_.emplace(path, std::vector<Sink>(types_.size())).first;
  return it->second;
}

std::map<std::string, MetricValue> group_values(const Registry& registry, const Recorder& r,
                                                const std::string& path) {
  std::map<std::string, MetricValue> out;
  auto it = r.groups().find(path);
  if (it == r.groups().end()) return out;
  for (size_t m = 0; m < it->second.size(); ++m) {
    if (it->second[m].total == 0) continue;
    const MetricDef& def = registry.metrics()[m];
    out[def.name] = value_of(def, it->second[m]);
  }
  return out;
}

MetricValue value_of(const MetricDef& def, const Sink& s) {
  MetricValue v;
  v.type = def.type;
  v.is_time = def.is_time;
  v.is_data = def.is_data;
  v.trend_scale = trend_scale(def);
  switch (def.type) {
    case MetricType::kCounter:
      v.count = s.sum;
      break;
    case MetricType::kGauge:
      v.value = s.last;
      v.min = s.min;
      v.max = s.max;
      break;
    case MetricType::kRate:
      v.count = static_cast<double>(s.nonzero);
      v.total = static_cast<double>(s.total);
      break;
    case MetricType::kTrend: {
      static const Histogram kEmpty;
      v.trend = s.trend ? s.trend.get() : &kEmpty;
      break;
    }
  }
  return v;
}

std::map<std::string, MetricValue> observed_values(const Registry& registry, const Recorder& r,
                                                   const std::vector<std::string>& thresholded) {
  std::map<std::string, MetricValue> out;
  auto wanted = [&](const std::string& key) {
    return std::find(thresholded.begin(), thresholded.end(), key) != thresholded.end();
  };
  const auto& defs = registry.metrics();
  for (size_t i = 0; i < defs.size(); ++i) {
    const Sink& s = r.sink(static_cast<uint32_t>(i));
    if (s.total == 0 && !wanted(defs[i].name)) continue;
    out[defs[i].name] = value_of(defs[i], s);
  }
  const auto& subs = registry.submetrics();
  for (size_t i = 0; i < subs.size(); ++i) {
    const Sink& s = r.sub(static_cast<uint32_t>(i));
    if (subs[i].hidden && !wanted(subs[i].key)) continue;
    if (s.total == 0 && !wanted(subs[i].key)) continue;
    MetricValue v = value_of(defs[subs[i].parent], s);
    v.parent = defs[subs[i].parent].name;
    v.selector = subs[i].selector;
    v.selector_tags = subs[i].tags;
    out[subs[i].key] = v;
  }
  return out;
}

}  // namespace faultline::loadgen
