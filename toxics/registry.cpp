#include "toxics/registry.h"

#include "toxics/stage.h"

namespace faultline::toxics {

const std::vector<ToxicType>& all_types() {
  // Adding a toxic: one file with its stage and type, and one line here.
  static const std::vector<ToxicType> types = {
      noop_type(),
      latency_type(),
      bandwidth_type(),
      slow_close_type(),
      timeout_type(),
      reset_peer_type(),
      slicer_type(),
      limit_data_type(),
      // Faultline's own: a schedule of stalls, and faults of the connection itself.
      stall_type(),
      refuse_type(),
      accept_delay_type(),
      upstream_refuse_type(),
      max_connections_type(),
      redis_type(),
      postgres_type(),
  };
  return types;
}

const ToxicType* find_type(std::string_view name) {
  for (const auto& t : all_types()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::unique_ptr<Stage> make_stage(std::string_view type) {
  const ToxicType* t = find_type(type);
  return t != nullptr && t->create != nullptr ? t->create() : nullptr;
}

double uniform01(Random& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Micros millis(int64_t ms) {
  // Clamp far beyond any useful value so that the conversion cannot overflow.
  constexpr int64_t kLimit = int64_t{1} << 40;  // about 35 years
  if (ms > kLimit) ms = kLimit;
  if (ms < -kLimit) ms = -kLimit;
  return Micros(ms * 1000);
}

}  // namespace faultline::toxics
