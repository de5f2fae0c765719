// A data plane for tests of the admin API that binds nothing but behaves like the real
// one: it resolves the listen address with the same resolver, hands out ephemeral ports for
// port 0, reports "address already in use" for addresses held by running proxies (or marked
// as taken), stores the bound address in proxy.listen and keeps a RunningProxy handle. Used
// by the unit tests and the API's fuzz target.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/address.h"
#include "proxy/model.h"

namespace faultline::testing {

class FakePlane : public proxy::DataPlane {
 public:
  struct Running : proxy::RunningProxy {};

  bool start(proxy::Proxy& p, std::string& err) override {
    start_calls.push_back(p.name);
    if (fail_next) {
      err = *fail_next;
      fail_next.reset();
      return false;
    }
    std::string resolve_err;
    auto addr = faultline::resolve_listen(p.listen, resolve_err);
    if (!addr) {
      err = "listen tcp: " + resolve_err;
      return false;
    }
    auto colon = addr->resolved.rfind(':');
    std::string host = addr->wildcard ? "[::]" : addr->resolved.substr(0, colon);
    std::string port = addr->resolved.substr(colon + 1);
    if (port == "0") port = std::to_string(next_port++);
    std::string bound = host + ":" + port;
    if (in_use(host, port)) {
      err = "listen tcp " + bound + ": bind: address already in use";
      return false;
    }
    taken.insert(bound);
    p.listen = bound;
    p.running = std::make_unique<Running>();
    return true;
  }

  void stop(proxy::Proxy& p) override {
    stop_calls.push_back(p.name);
    taken.erase(p.listen);
    p.running.reset();
  }

  void toxics_changed(proxy::Proxy& p) override { toxic_updates.push_back(p.name); }

  bool in_use(const std::string& host, const std::string& port) const {
    for (const auto& t : taken) {
      auto c = t.rfind(':');
      if (t.substr(c + 1) != port) continue;
      std::string h = t.substr(0, c);
      if (h == host || h == "[::]" || host == "[::]") return true;
    }
    return false;
  }

  std::set<std::string> taken;  // bound addresses ("127.0.0.1:17001")
  std::optional<std::string> fail_next;
  int next_port = 40000;
  std::vector<std::string> start_calls;
  std::vector<std::string> stop_calls;
  std::vector<std::string> toxic_updates;
};

}  // namespace faultline::testing
