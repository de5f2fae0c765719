// The registry of toxic types: each type's name, the Go struct name Toxiproxy reports in
// decode errors, and its attributes in the order they are emitted. The API validates and
// prints toxics from this table.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace faultline::toxics {

class Stage;

struct AttributeSpec {
  std::string_view name;     // JSON key, e.g. "latency"
  std::string_view go_type;  // "int64" or "int", as named in Go's type errors
};

struct ToxicType {
  std::string_view name;       // registered type name, e.g. "latency" (case-sensitive)
  std::string_view go_struct;  // e.g. "LatencyToxic"
  std::vector<AttributeSpec> attributes;
  std::unique_ptr<Stage> (*create)() = nullptr;  // a fresh stage for one link direction
};

// One function per toxic file (toxics/<name>.cpp).
const ToxicType& noop_type();
const ToxicType& latency_type();
const ToxicType& bandwidth_type();
const ToxicType& slow_close_type();
const ToxicType& timeout_type();
const ToxicType& reset_peer_type();
const ToxicType& slicer_type();
const ToxicType& limit_data_type();

// Looks a type up by its exact name; nullptr when unknown.
const ToxicType* find_type(std::string_view name);
const std::vector<ToxicType>& all_types();

enum class Stream { kUpstream, kDownstream };

}  // namespace faultline::toxics
