// The registry of toxic types: each type's name, the Go struct name Toxiproxy reports in
// decode errors, and its attributes in the order they are emitted. The API validates and
// prints toxics from this table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::toxics {

class Stage;

struct AttributeSpec {
  std::string_view name;  // JSON key, e.g. "latency"
  // "int64" or "int"; "string" for choices and for text, as in Go's type errors.
  std::string_view go_type;
  // Extensions only. A named choice is a JSON string, kept as its index in `choices`.
  std::vector<std::string_view> choices = {};
  // An optional attribute is left out of the toxic's JSON while it is 0, so a toxic that
  // does not use the extension prints exactly as Toxiproxy's.
  bool optional = false;

  // A text attribute (an extension): a JSON string, kept as it is.
  bool is_text() const { return go_type == "string" && choices.empty(); }
};

// What a connection toxic does to a new connection before the upstream is dialled.
enum class ConnectionFault {
  kNone,            // a stream toxic: a stage on the data path
  kRefuse,          // reset the client's connection before any byte
  kAcceptDelay,     // hold the connection for `delay` ms, then dial
  kUpstreamRefuse,  // close the client's connection as a refused dial would
  kMaxConnections,  // at most `connections` at once; the others are reset or wait (`queue`)
};

struct ToxicType {
  std::string_view name;       // registered type name, e.g. "latency" (case-sensitive)
  std::string_view go_struct;  // e.g. "LatencyToxic"
  std::vector<AttributeSpec> attributes;
  std::unique_ptr<Stage> (*create)() = nullptr;  // a fresh stage for one link direction
  // Connection toxics (an extension) have no stage; they live on the upstream stream.
  ConnectionFault connection = ConnectionFault::kNone;
  // Extensions. Non-empty for a toxic that only works on the upstream stream: why, as the
  // API says it ("acts on new connections").
  std::string_view upstream_only = {};
  // Toxicity drawn for each request the toxic matches rather than once per connection
  // (the protocol toxics: a pooled connection lives long).
  bool per_message = false;
  // Checks values the JSON types cannot: an error text for the API, empty when fine.
  std::string (*validate)(const std::vector<int64_t>& numbers,
                          const std::vector<std::string>& texts) = nullptr;
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
const ToxicType& stall_type();  // an extension
// Connection toxics (toxics/connection.cpp).
const ToxicType& refuse_type();
const ToxicType& accept_delay_type();
const ToxicType& upstream_refuse_type();
const ToxicType& max_connections_type();
// Protocol toxics: Redis (toxics/redis.cpp) and PostgreSQL (toxics/postgres.cpp).
const ToxicType& redis_type();
const ToxicType& postgres_type();

// Looks a type up by its exact name; nullptr when unknown.
const ToxicType* find_type(std::string_view name);
const std::vector<ToxicType>& all_types();

enum class Stream { kUpstream, kDownstream };

}  // namespace faultline::toxics
