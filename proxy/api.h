// The admin REST API, wire-compatible with Toxiproxy 2.12: routing (gorilla/mux rules),
// middleware (request id, browser block, access log) and every route's handler.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "common/http.h"
#include "proxy/events.h"
#include "proxy/model.h"

namespace faultline::proxy {

struct ApiOptions {
  bool metrics_route = false;  // -proxy-metrics or -runtime-metrics
  // Produces the /metrics text.
  std::function<std::string()> render_metrics;
};

class Api {
 public:
  Api(DataPlane& plane, ApiOptions options);

  http::Response handle(const http::Request& req, const std::string& peer);

  // Loads proxies from a config file body (same format as /populate). Returns the number
  // of proxies on success; on failure returns -1 and sets err, and `toxic_error` (when
  // given) tells whether a toxic of the file was the cause.
  int populate_from(std::string_view body, std::string& err, bool* toxic_error = nullptr);

  ProxyMap& proxies() { return proxies_; }
  const EventLog& events() const { return events_; }

 private:
  struct Result;
  Result proxy_index();
  Result proxy_create(const http::Request& req);
  Result populate(const http::Request& req);
  Result proxy_show(const std::string& name);
  Result proxy_update(const std::string& name, const http::Request& req);
  Result proxy_delete(const std::string& name);
  Result toxic_index(const std::string& name);
  Result toxic_create(const std::string& name, const http::Request& req);
  Result toxic_show(const std::string& name, const std::string& toxic);
  Result toxic_update(const std::string& name, const std::string& toxic, const http::Request& req);
  Result toxic_delete(const std::string& name, const std::string& toxic);
  Result reset();
  static std::optional<Result> decode_toxic(std::string_view body, Toxic& t);
  static std::optional<Result> decode_toxic_attributes(std::string_view body, Toxic& t);

  bool start(Proxy& p, std::string& err);
  void stop(Proxy& p);
  // A proxy's listen, upstream and enabled before a change, for the event log.
  struct ProxyState {
    std::string listen;
    std::string upstream;
    bool enabled = false;
  };
  void note_proxy(const Proxy& p, const ProxyState& before);
  Result events(const http::Request& req);

  struct PopulateOutcome {
    int status = 201;
    std::string error;
    std::vector<Proxy*> proxies;
    // Proxies this body replaced. An earlier entry of the same body may still list one of
    // them (Toxiproxy reports it as it was left: stopped), so they live until the
    // response is written.
    std::vector<std::unique_ptr<Proxy>> replaced;
    bool toxic_error = false;  // the error is one of a `toxics` entry
  };
  PopulateOutcome run_populate(std::string_view body);
  void set_toxics(Proxy& p, std::vector<Toxic> list);

  DataPlane& plane_;
  ApiOptions options_;
  ProxyMap proxies_;
  uint64_t next_created_ = 0;
  uint64_t next_toxic_id_ = 1;
  EventLog events_;
};

}  // namespace faultline::proxy
