#include "loadgen/metrics/samples.h"

namespace faultline::loadgen {

namespace {

std::string key_of(const Tags& tags) {
  std::string key;
  for (const auto& [name, value] : tags) {
    key += name;
    key += '\0';
    key += value;
    key += '\0';
  }
  return key;
}

}  // namespace

uint32_t TagSets::intern(const Tags& tags) {
  std::string key = key_of(tags);
  {
    std::shared_lock lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  auto [it, added] = index_.emplace(std::move(key), static_cast<uint32_t>(sets_.size()));
  if (added) sets_.push_back(std::make_unique<const Tags>(tags));
  return it->second;
}

const Tags& TagSets::tags(uint32_t id) const {
  std::shared_lock lock(mutex_);
  return *sets_.at(id);
}

size_t TagSets::size() const {
  std::shared_lock lock(mutex_);
  return sets_.size();
}

SampleSink::SampleSink(const Registry& registry, TagSets& tag_sets, SeriesTable* series, bool keep)
    : registry_(registry), tag_sets_(tag_sets), series_(series), keep_(keep), recorder_(registry) {}

const SampleSink::Route& SampleSink::route(uint32_t metric, uint32_t tags) {
  uint64_t key = (static_cast<uint64_t>(tags) << 32) | metric;
  auto it = routes_.find(key);
  if (it != routes_.end()) return it->second;
  const Tags& t = tag_sets_.tags(tags);
  Route r;
  r.subs = registry_.matching(metric, t);
  if (series_) r.series = series_->id(metric, t);
  if (groups_) {
    // setup() and teardown() samples belong to no group section (k6 §6.5).
    for (const auto& [name, value] : t) {
      const std::string& path = value;
      auto within = [&](const std::string& g) { return path == g || path.rfind(g + "::", 0) == 0; };
      if (name != "group" || value.empty() || within("::setup") || within("::teardown")) continue;
      r.group = &recorder_.group(value);
    }
  }
  return routes_.emplace(key, std::move(r)).first->second;
}

void SampleSink::add(uint32_t metric, uint32_t tags, double value, int64_t when) {
  const Route& r = route(metric, tags);
  recorder_.add(metric, value, r.subs);
  if (series_) recorder_.add_series(r.series, metric, value);
  if (r.group) recorder_.add_group(*r.group, metric, value);
  if (keep_) kept_.push_back({metric, tags, value, when != 0 ? when : unix_now_ns()});
}

void SampleSink::check_outcome(uint32_t id, bool pass) {
  auto& checks = recorder_.checks;
  if (id >= checks.size()) checks.resize(id + 1);
  (pass ? checks[id].first : checks[id].second) += 1;
}

void SampleSink::drain(std::vector<Sample>& out) {
  std::lock_guard lock(mutex_);
  out.insert(out.end(), kept_.begin(), kept_.end());
  kept_.clear();
}

}  // namespace faultline::loadgen
