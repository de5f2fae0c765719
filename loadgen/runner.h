// Runs virtual users against one HTTP/1.1 target. The runner is compiled once per I/O
// backend (namespaces faultline::uring / faultline::epoll); main() picks one.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <netinet/in.h>

#include "loadgen/duration.h"
#include "loadgen/stats.h"

namespace faultline::loadgen {

struct RunConfig {
  sockaddr_storage address{};  // resolved target
  socklen_t address_length = 0;
  std::string request;  // the complete request bytes, built once
  uint64_t vus = 1;
  Duration duration{0};     // constant-vus: how long VUs loop (0 with iterations)
  uint64_t iterations = 0;  // shared-iterations: total across all VUs
  Duration max_duration = std::chrono::minutes(10);  // shared-iterations' limit
  Duration graceful_stop = std::chrono::seconds(30);
  Duration request_timeout = std::chrono::seconds(60);
  unsigned threads = 1;
  bool progress = true;  // print a progress line every second on stderr
};

struct RunResult {
  Stats stats;
  double elapsed_s = 0;
  bool interrupted = false;  // SIGINT or SIGTERM
};

}  // namespace faultline::loadgen

namespace faultline::uring {
loadgen::RunResult run_load(const loadgen::RunConfig& config);
}
namespace faultline::epoll {
loadgen::RunResult run_load(const loadgen::RunConfig& config);
}
