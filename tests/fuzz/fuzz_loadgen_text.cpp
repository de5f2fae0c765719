// Fuzz target: loadgen's small grammars. The first byte picks one: threshold expressions
// and metric keys, Go durations (flags) and extended durations (scenario files), URLs, or
// k6 module specifiers as the JavaScript loader resolves them. Properties: a refusal says
// why; a Go duration printed back parses to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/config/duration.h"
#include "loadgen/js/resolution.h"
#include "loadgen/metrics/threshold.h"
#include "loadgen/run/url.h"

namespace lg = faultline::loadgen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string err;
  switch (data[0] % 5) {
    case 0: {
      auto t = lg::parse_threshold(text, err);
      if (!t && err.empty()) std::abort();
      std::string name;
      std::vector<std::pair<std::string, std::string>> tags;
      (void)lg::parse_metric_key(text, name, tags);
      break;
    }
    case 1: {
      auto d = lg::parse_go_duration(text);
      if (d) {
        auto back = lg::parse_go_duration(lg::format_go_duration(*d));
        if (!back || *back != *d) std::abort();
      }
      break;
    }
    case 2:
      (void)lg::parse_extended_duration(text);
      break;
    case 3: {
      lg::Url url;
      if (lg::parse_url(text, url, err)) {
        if (url.target.empty() || url.target[0] != '/') std::abort();
        (void)lg::host_header(url);
      } else if (err.empty()) {
        std::abort();
      }
      break;
    }
    default: {
      std::string key;
      if (!lg::js::resolve_specifier(text, "file:///work/tests/load/script.js", key, err) &&
          err.empty()) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
