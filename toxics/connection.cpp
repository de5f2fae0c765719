// Connection toxics, Faultline's own: faults of a connection as a whole rather than of
// the bytes on it. They act once, when a client connects, before the upstream is dialled
// (proxy/data_plane.cpp carries them out), so they have no stage. Each draws its toxicity
// per connection, like the stream toxics.
//
//   refuse           the client's connection is reset (RST) before any byte passes
//   accept_delay     the connection waits `delay` ms before the upstream is dialled
//   upstream_refuse  the client's connection is closed with no data, as when the
//                    upstream refuses the dial
//   max_connections  at most `connections` connections of the proxy at once; a further
//                    one is reset, or with `queue` 1 waits until one ends
#include "toxics/registry.h"

namespace faultline::toxics {

namespace {
constexpr std::string_view kOnConnect = "acts on new connections";
}  // namespace

const ToxicType& refuse_type() {
  static const ToxicType type{"refuse",  "RefuseToxic", {}, nullptr, ConnectionFault::kRefuse,
                              kOnConnect};
  return type;
}

const ToxicType& accept_delay_type() {
  static const ToxicType type{"accept_delay",
                              "AcceptDelayToxic",
                              {{"delay", "int64"}},
                              nullptr,
                              ConnectionFault::kAcceptDelay,
                              kOnConnect};
  return type;
}

const ToxicType& upstream_refuse_type() {
  static const ToxicType type{
      "upstream_refuse", "UpstreamRefuseToxic", {}, nullptr, ConnectionFault::kUpstreamRefuse,
      kOnConnect};
  return type;
}

const ToxicType& max_connections_type() {
  static const ToxicType type{"max_connections",
                              "MaxConnectionsToxic",
                              {{"connections", "int64"}, {"queue", "int64"}},
                              nullptr,
                              ConnectionFault::kMaxConnections,
                              kOnConnect};
  return type;
}

}  // namespace faultline::toxics
