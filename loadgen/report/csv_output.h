// `--out csv[=ARG]` (spec k6-compat §8.2): every sample as one CSV row in k6's column
// layout. ARG is a file name, or fileName=…,saveInterval=…,timeFormat=… pairs; the
// K6_CSV_FILENAME, K6_CSV_SAVE_INTERVAL and K6_CSV_TIME_FORMAT variables come first.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "loadgen/config/duration.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/samples.h"
#include "loadgen/report/output_file.h"

namespace faultline::loadgen {

enum class CsvTime { kUnix, kUnixMilli, kUnixMicro, kUnixNano, kRfc3339, kRfc3339Nano };

struct CsvSettings {
  std::string file_name = "file.csv";
  Duration save_interval = std::chrono::seconds(1);
  CsvTime time_format = CsvTime::kUnix;
};

// k6's order: defaults, then the environment, then the --out argument. False with k6's
// error text in `err`; `warnings` gets the notes on deprecated keys.
bool csv_settings(const std::string& arg, const std::map<std::string, std::string>& env,
                  CsvSettings& out, std::string& err, std::vector<std::string>& warnings);

// One field as Go's encoding/csv writes it: quoted when it holds a comma, a quote or a line
// break, starts with white space, or is exactly \. (quotes inside doubled).
void append_csv_field(std::string& out, std::string_view field);

class CsvFile : public SampleOutput {
 public:
  // Writes the header row at once. Throws std::runtime_error when the file cannot be made.
  CsvFile(const CsvSettings& settings, const Registry& registry);
  CsvFile(const CsvFile&) = delete;
  CsvFile& operator=(const CsvFile&) = delete;

  // Rows are buffered and written every saveInterval.
  void samples(const std::vector<Sample>& batch, const TagSets& tag_sets) override;
  // At the end of the run: the rest written, the file finished.
  void finish();
  std::string description() const;

  // The tag columns: k6's indexable system tags that are on by default, sorted.
  static const std::vector<std::string>& tag_columns();

 private:
  // A tag set's columns after the timestamp and value: ",v1,...,vN,extra,metadata".
  const std::string& tag_cells(uint32_t id, const TagSets& tag_sets);
  // Hands the buffered rows to the file; `save` also flushes it (the saveInterval tick).
  void write_out(bool save);

  static constexpr size_t kMaxBuffered = 4u << 20;

  std::mutex mutex_;
  CsvSettings settings_;
  const Registry& registry_;
  OutputFile out_;
  std::string rows_;
  std::vector<std::string> cells_;  // by tag set id, filled on first use
  std::chrono::steady_clock::time_point next_save_;
  int64_t second_ = -1;  // the Unix second of second_text_ (RFC 3339 formats)
  std::string second_text_, offset_text_;
};

}  // namespace faultline::loadgen
