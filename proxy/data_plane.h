// The data plane: listeners and links on the worker threads. Compiled once per backend.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/event_loop.h"
#include "proxy/model.h"

namespace faultline::FAULTLINE_BACKEND_NS {

// Metric families of the data path. Registered once; links add series as they start.
struct ProxyMetrics {
  explicit ProxyMetrics(prometheus::Registry& registry);
  prometheus::Family<prometheus::Counter>& received;  // toxiproxy_proxy_received_bytes_total
  prometheus::Family<prometheus::Counter>& sent;      // toxiproxy_proxy_sent_bytes_total
  prometheus::Family<prometheus::Gauge>& open;        // faultline_proxy_connections_open
  prometheus::Family<prometheus::Counter>& accepted;  // faultline_proxy_connections_accepted_total
  prometheus::Family<prometheus::Counter>&
      dial_failures;                              // faultline_proxy_upstream_connect_failures_total
  prometheus::Family<prometheus::Gauge>& toxics;  // faultline_proxy_toxics
  prometheus::Family<prometheus::Counter>& toxic_links;  // faultline_proxy_toxic_connections_total
  prometheus::Family<prometheus::Counter>& toxic_requests;  // ..._toxic_requests_total
};

// Client connections open right now, over every proxy and worker.
int64_t live_links();

class TcpDataPlane : public proxy::DataPlane {
 public:
  TcpDataPlane(WorkerPool& pool, ProxyMetrics& metrics, uint64_t seed);

  bool start(proxy::Proxy& proxy, std::string& err) override;
  void stop(proxy::Proxy& proxy) override;
  void toxics_changed(proxy::Proxy& proxy) override;

 private:
  void publish_toxics(const proxy::Proxy& proxy, bool running);

  WorkerPool& pool_;
  ProxyMetrics& metrics_;
  uint64_t seed_;
};

}  // namespace faultline::FAULTLINE_BACKEND_NS
