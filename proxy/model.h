// The proxies and toxics the admin API manages, their JSON shapes, and the interface to
// the data plane that runs them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "toxics/registry.h"

namespace faultline::proxy {

// Version of the Toxiproxy API this server implements (reported by GET /version).
inline constexpr const char* kToxiproxyApiVersion = "2.12.0";

struct Toxic {
  uint64_t id = 0;       // unique for the server's life
  uint64_t version = 0;  // bumped on every update
  std::string name;
  const toxics::ToxicType* type = nullptr;
  std::string stream;  // as submitted ("UpStream" stays "UpStream")
  toxics::Stream direction = toxics::Stream::kDownstream;
  float toxicity = 1.0f;
  std::vector<int64_t> attributes;  // in the order of type->attributes
  std::vector<std::string> texts;   // the same order; the values of text attributes
  // When the toxic was created or its attributes last changed: a toxic that follows a
  // schedule (stall) starts it there, the same for every connection.
  std::chrono::steady_clock::time_point since;
};

// Handle for a running listener; defined by the data plane.
struct RunningProxy {
  virtual ~RunningProxy() = default;
};

struct Proxy {
  std::string name;
  std::string listen;
  std::string upstream;
  bool enabled = false;
  uint64_t created = 0;          // creation order, used to visit proxies in /reset
  std::vector<Toxic> toxics[2];  // indexed by toxics::Stream
  std::unique_ptr<RunningProxy> running;

  std::vector<Toxic>& chain(toxics::Stream s) { return toxics[static_cast<int>(s)]; }
  Toxic* find_toxic(std::string_view name);
};

// Proxies by name; std::map keeps Go's byte order for listings.
using ProxyMap = std::map<std::string, std::unique_ptr<Proxy>>;

// Where proxies actually listen and forward. Called on the API thread only.
class DataPlane {
 public:
  virtual ~DataPlane() = default;
  // Binds proxy.listen and starts accepting; on success stores the bound address in
  // proxy.listen. On failure returns false with Go's error text.
  virtual bool start(Proxy& proxy, std::string& err) = 0;
  // Closes the listener and every open connection of the proxy.
  virtual void stop(Proxy& proxy) = 0;
  // The proxy's toxics changed: apply them to its open connections.
  virtual void toxics_changed(Proxy& proxy) = 0;
};

void write_toxic(json::Writer& w, const Toxic& t);
void write_proxy(json::Writer& w, const Proxy& p);

}  // namespace faultline::proxy
