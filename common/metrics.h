// Prometheus support shared by both programs: prometheus-cpp's registry and text
// serializer, plus a collector for the standard process_* metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

namespace faultline::metrics {

// process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds.
std::shared_ptr<prometheus::Collectable> make_process_collector();

// Text exposition format 0.0.4 of everything the collectables hold.
std::string render(const std::vector<std::shared_ptr<prometheus::Collectable>>& sources);

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace faultline::metrics
