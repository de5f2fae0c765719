// Settings of faultline-proxy, filled from the command line (see flags.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/backend.h"

namespace faultline::proxy {

struct ServerOptions {
  std::string host = "localhost";
  std::string port = "8474";
  std::string config;
  std::optional<int64_t> seed;
  bool proxy_metrics = false;
  bool runtime_metrics = false;
  bool version = false;
  bool help = false;
  unsigned threads = 0;  // 0: one per core
  Backend backend = Backend::kAuto;
};

}  // namespace faultline::proxy

namespace faultline::uring {
int run_proxy_server(const proxy::ServerOptions& options);
}
namespace faultline::epoll {
int run_proxy_server(const proxy::ServerOptions& options);
}
