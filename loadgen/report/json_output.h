// `--out json[=FILE]` (spec k6-compat §8.1): every sample as one JSON line, preceded by one
// "Metric" line per metric, in k6's field order.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/samples.h"
#include "loadgen/metrics/threshold.h"
#include "loadgen/report/output_file.h"

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

class JsonFile : public SampleOutput {
 public:
  // `path` "-" or empty writes to stdout; a name ending in ".gz" is gzip-compressed. Throws
  // std::runtime_error when it cannot open.
  JsonFile(const std::string& path, const Registry& registry,
           const std::map<std::string, std::vector<Threshold>>& thresholds);
  ~JsonFile() override;
  JsonFile(const JsonFile&) = delete;
  JsonFile& operator=(const JsonFile&) = delete;

  // Writes one Point line per sample, each metric's Metric line before its first point.
  void samples(const std::vector<Sample>& batch, const TagSets& tag_sets) override;
  // At the end of the run: everything written, the file finished.
  void finish();
  std::string description() const;

  // The Metric line of one metric (without the newline).
  static std::string metric_line(const Registry& registry, uint32_t metric,
                                 const std::map<std::string, std::vector<Threshold>>& thresholds);

 private:
  std::mutex mutex_;
  OutputFile out_;
  const Registry& registry_;
  std::vector<std::string> metric_lines_;
  std::vector<char> announced_;
  std::vector<std::string> tags_json_;  // by tag set id, filled on first use
  int64_t second_ = -1;                 // the Unix second of second_text_
  std::string second_text_, offset_text_, lines_;
  // Written lines are flushed once a second, so a reader (tail -f, zcat of a .gz) sees the
  // run as it goes.
  std::chrono::steady_clock::time_point next_flush_{};
};

}  // namespace faultline::loadgen
