// `--out json[=FILE]` (spec k6-compat §8.1): every sample as one JSON line, preceded by one
// "Metric" line per metric, in k6's field order.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "loadgen/metrics/metrics.h"
#include "loadgen/run/runner.h"
#include "loadgen/metrics/threshold.h"

namespace faultline::loadgen {

// {"name":"value",...} with JSON escaping.
std::string tags_to_json(const Tags& tags);
// RFC 3339 text of a Unix second in local time ("2026-08-12T10:15:31") and the zone suffix
// ("Z" for UTC, else "+02:00").
void format_second(int64_t unix_second, std::string& text, std::string& offset);
// ".482731904" with trailing zeros dropped; nothing for 0.
void append_fraction(std::string& out, int64_t nanos);
// The shortest text that reads back as the same double.
void append_number(std::string& out, double v);

class JsonFile : public JsonSink {
 public:
  // `path` "-" or empty writes to stdout. Throws std::runtime_error when it cannot open.
  JsonFile(const std::string& path, const Registry& registry,
           const std::map<std::string, std::vector<Threshold>>& thresholds);
  ~JsonFile() override;
  JsonFile(const JsonFile&) = delete;
  JsonFile& operator=(const JsonFile&) = delete;

  void announce(uint32_t metric) override;
  void write(const std::string& lines) override;
  void flush();
  std::string description() const;

  // The Metric line of one metric (without the newline).
  static std::string metric_line(const Registry& registry, uint32_t metric,
                                 const std::map<std::string, std::vector<Threshold>>& thresholds);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  std::string path_;
  std::vector<std::string> metric_lines_;
  std::vector<char> announced_;
};

}  // namespace faultline::loadgen
