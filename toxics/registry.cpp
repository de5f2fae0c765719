#include "toxics/registry.h"

namespace faultline::toxics {

const std::vector<ToxicType>& all_types() {
  // Units: latency/jitter/delay/timeout in ms, rate in KB/s (1000 bytes), slicer delay in µs.
  static const std::vector<ToxicType> types = {
      {"noop", "NoopToxic", {}},
      {"latency", "LatencyToxic", {{"latency", "int64"}, {"jitter", "int64"}}},
      {"bandwidth", "BandwidthToxic", {{"rate", "int64"}}},
      {"slow_close", "SlowCloseToxic", {{"delay", "int64"}}},
      {"timeout", "TimeoutToxic", {{"timeout", "int64"}}},
      {"reset_peer", "ResetToxic", {{"timeout", "int64"}}},
      {"slicer",
       "SlicerToxic",
       {{"average_size", "int"}, {"size_variation", "int"}, {"delay", "int"}}},
      {"limit_data", "LimitDataToxic", {{"bytes", "int64"}}},
  };
  return types;
}

const ToxicType* find_type(std::string_view name) {
  for (const auto& t : all_types()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace faultline::toxics
