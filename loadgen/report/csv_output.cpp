#include "loadgen/report/csv_output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/text.h"
#include "loadgen/report/json_output.h"

namespace faultline::loadgen {

namespace {

bool parse_time_format(const std::string& text, CsvTime& out) {
  static const std::pair<const char*, CsvTime> names[] = {
      {"unix", CsvTime::kUnix},
      {"unix_milli", CsvTime::kUnixMilli},
      {"unix_micro", CsvTime::kUnixMicro},
      {"unix_nano", CsvTime::kUnixNano},
      {"rfc3339", CsvTime::kRfc3339},
      {"rfc3339_nano", CsvTime::kRfc3339Nano},
  };
  for (const auto& [name, value] : names) {
    if (text == name) {
      out = value;
      return true;
    }
  }
  return false;
}

bool set_interval(const std::string& text, CsvSettings& out, std::string& err) {
  auto d = parse_extended_duration(text);
  if (!d) {
    err = "time: invalid duration \"" + text + "\"";
    return false;
  }
  out.save_interval = *d;
  return true;
}

bool set_time_format(const std::string& text, CsvSettings& out, std::string& err) {
  if (!parse_time_format(text, out.time_format)) {
    err = text + " does not belong to TimeFormat values";
    return false;
  }
  return true;
}

// Tags that never get a column nor a place in extra_tags: the system tags that are off by
// default, and vu/iter, which k6 keeps as metadata.
bool ignored_tag(const std::string& key) {
  return key == "ip" || key == "ocsp_status" || key == "vu" || key == "iter";
}

// Go's %f: six decimals; NaN and infinities as Go spells them.
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[400];
    std::snprintf(buf, sizeof buf, "%f", v);
    out += buf;
  }
}

}  // namespace

bool csv_settings(const std::string& arg, const std::map<std::string, std::string>& env,
                  CsvSettings& out, std::string& err, std::vector<std::string>& warnings) {
  out = CsvSettings{};
  if (auto it = env.find("K6_CSV_FILENAME"); it != env.end()) out.file_name = it->second;
  if (auto it = env.find("K6_CSV_SAVE_INTERVAL"); it != env.end()) {
    if (!set_interval(it->second, out, err)) {
      err = "K6_CSV_SAVE_INTERVAL: " + err;
      return false;
    }
  }
  if (auto it = env.find("K6_CSV_TIME_FORMAT"); it != env.end()) {
    if (!set_time_format(it->second, out, err)) return false;
  }
  if (arg.empty()) return true;
  if (arg.find('=') == std::string::npos) {
    out.file_name = arg;
    return true;
  }
  for (const auto& pair : split(arg, ',')) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos) {
      err = "couldn't parse \"" + arg + "\" as argument for csv output";
      return false;
    }
    std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "save_interval" || key == "file_name") {
      std::string now = key == "save_interval" ? "saveInterval" : "fileName";
      warnings.push_back("CSV output argument '" + key + "' is deprecated, please use '" + now +
                         "' instead.");
      key = now;
    }
    if (key == "saveInterval") {
      if (!set_interval(value, out, err)) return false;
    } else if (key == "fileName") {
      out.file_name = value;
    } else if (key == "timeFormat") {
      if (!set_time_format(value, out, err)) return false;
    } else {
      err = "unknown key \"" + key + "\" as argument for csv output";
      return false;
    }
  }
  return true;
}

void append_csv_field(std::string& out, std::string_view field) {
  bool quote = field == "\\.";
  if (!field.empty() && !quote) {
    quote = field.find_first_of(",\"\r\n") != std::string_view::npos || field[0] == ' ' ||
            field[0] == '\t';
  }
  if (!quote) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

const std::vector<std::string>& CsvFile::tag_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c{"proto",       "subproto",
                               "status",      "method",
                               "url",         "name",
                               "group",       "check",
                               "error",       "error_code",
                               "tls_version", "scenario",
                               "service",     "expected_response"};
    std::sort(c.begin(), c.end());
    return c;
  }();
  return columns;
}

CsvFile::CsvFile(const CsvSettings& settings, const Registry& registry)
    : settings_(settings), registry_(registry), out_(settings.file_name) {
  std::string header = "metric_name,timestamp,metric_value";
  for (const auto& column : tag_columns()) header += "," + column;
  header += ",extra_tags,metadata\n";
  out_.write(header);
  out_.flush();
  next_save_ = std::chrono::steady_clock::now() + settings_.save_interval;
}

const std::string& CsvFile::tag_cells(uint32_t id, const TagSets& tag_sets) {
  if (cells_.size() <= id) cells_.resize(id + 1);
  std::string& cells = cells_[id];
  if (!cells.empty()) return cells;
  const Tags& tags = tag_sets.tags(id);
  const auto& columns = tag_columns();
  for (const auto& column : columns) {
    cells += ',';
    auto it =
        std::find_if(tags.begin(), tags.end(), [&](const auto& t) { return t.first == column; });
    if (it != tags.end()) append_csv_field(cells, it->second);
  }
  std::string extra;
  for (const auto& [key, value] : tags) {
    if (ignored_tag(key) || std::binary_search(columns.begin(), columns.end(), key)) continue;
    if (!extra.empty()) extra += '&';
    extra += key + "=" + value;
  }
  cells += ',';
  append_csv_field(cells, extra);
  cells += ",\n";  // metadata: loadgen attaches none
  return cells;
}

void CsvFile::samples(const std::vector<Sample>& batch, const TagSets& tag_sets) {
  std::lock_guard lock(mutex_);
  for (const Sample& s : batch) {
    append_csv_field(rows_, registry_.metrics()[s.metric].name);
    rows_ += ',';
    int64_t second = s.unix_ns / 1000000000;
    switch (settings_.time_format) {
      case CsvTime::kUnix:
        rows_ += std::to_string(second);
        break;
      case CsvTime::kUnixMilli:
        rows_ += std::to_string(s.unix_ns / 1000000);
        break;
      case CsvTime::kUnixMicro:
        rows_ += std::to_string(s.unix_ns / 1000);
        break;
      case CsvTime::kUnixNano:
        rows_ += std::to_string(s.unix_ns);
        break;
      case CsvTime::kRfc3339:
      case CsvTime::kRfc3339Nano:
        if (second != second_) {
          second_ = second;
          format_second(second, second_text_, offset_text_);
        }
        rows_ += second_text_;
        if (settings_.time_format == CsvTime::kRfc3339Nano) {
          append_fraction(rows_, s.unix_ns % 1000000000);
        }
        rows_ += offset_text_;
        break;
    }
    rows_ += ',';
    append_value(rows_, s.value);
    rows_ += tag_cells(s.tags, tag_sets);
  }
  if (std::chrono::steady_clock::now() >= next_save_) {
    write_out(true);
  } else if (rows_.size() >= kMaxBuffered) {
    write_out(false);  // a long saveInterval must not hold a fast run's rows in memory
  }
}

void CsvFile::write_out(bool save) {
  out_.write(rows_);
  rows_.clear();
  if (!save) return;
  out_.flush();
  next_save_ = std::chrono::steady_clock::now() + settings_.save_interval;
}

void CsvFile::finish() {
  std::lock_guard lock(mutex_);
  write_out(true);
  out_.close();
}

std::string CsvFile::description() const {
  return out_.to_stdout() ? "csv (stdout)" : "csv (" + out_.path() + ")";
}

}  // namespace faultline::loadgen
