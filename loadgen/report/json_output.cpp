#include "loadgen/report/json_output.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "common/json.h"

namespace faultline::loadgen {
std::string tags_to_json(const Tags& tags) {
  std::string out = "{";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += ',';
    json::append_quoted(out, tags[i].first, false);
    out += ':';
    json::append_quoted(out, tags[i].second, false);
  }
  out += '}';
  return out;
}

void format_second(int64_t unix_second, std::string& text, std::string& offset) {
  std::time_t t = static_cast<std::time_t>(unix_second);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  text = buf;
  long off = tm.tm_gmtoff;
  if (off == 0) {
    offset = "Z";
  } else {
    char z[48];
    long a = off < 0 ? -off : off;
    std::snprintf(z, sizeof z, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
    offset = z;
  }
}

void append_fraction(std::string& out, int64_t nanos) {
  if (nanos <= 0) return;
  char buf[32];
  std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos % 1000000000));
  std::string_view v(buf);
  while (v.back() == '0') v.remove_suffix(1);
  out += v;
}

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

std::string JsonFile::metric_line(const Registry& registry, uint32_t metric,
                                  const std::map<std::string, std::vector<Threshold>>& thresholds) {
  const MetricDef& def = registry.metrics()[metric];
  std::string out = "{\"type\":\"Metric\",\"data\":{\"name\":\"" + def.name + "\",\"type\":\"" +
                    metric_type_name(def.type) + "\",\"contains\":\"" +
                    (def.is_time   ? "time"
                     : def.is_data ? "data"
                                   : "default") +
                    "\",\"thresholds\":[";
  auto it = thresholds.find(def.name);
  if (it != thresholds.end()) {
    for (size_t i = 0; i < it->second.size(); ++i) {
      const Threshold& t = it->second[i];
      if (i) out += ',';
      if (t.abort_on_fail) {
        out += "{\"threshold\":";
        json::append_quoted(out, t.source, false);
        out += ",\"abortOnFail\":true,\"delayAbortEval\":";
        if (t.delay_abort_eval.empty()) {
          out += "null";
        } else {
          json::append_quoted(out, t.delay_abort_eval, false);
        }
        out += '}';
      } else {
        json::append_quoted(out, t.source, false);
      }
    }
  }
  out += "],\"submetrics\":";
  bool any = false;
  for (const auto& sub : registry.submetrics()) {
    if (sub.parent != metric) continue;
    out += any ? "," : "[";
    any = true;
    out += "{\"name\":";
    json::append_quoted(out, sub.key, false);
    out += ",\"suffix\":";
    json::append_quoted(out, sub.selector, false);
    out += ",\"tags\":" + tags_to_json(sub.tags) + "}";
  }
  out += any ? "]" : "null";
  out += "},\"metric\":\"" + def.name + "\"}";
  return out;
}

JsonFile::JsonFile(const std::string& path, const Registry& registry,
                   const std::map<std::string, std::vector<Threshold>>& thresholds)
    : out_(path), registry_(registry) {
  for (uint32_t m = 0; m < registry.metrics().size(); ++m) {
    metric_lines_.push_back(metric_line(registry, m, thresholds) + "\n");
  }
  announced_.assign(metric_lines_.size(), 0);
}

JsonFile::~JsonFile() = default;

void JsonFile::samples(const std::vector<Sample>& batch, const TagSets& tag_sets) {
  std::lock_guard lock(mutex_);
  std::string& out = lines_;
  out.clear();
  for (const Sample& s : batch) {
    if (!announced_[s.metric]) {
      announced_[s.metric] = 1;
      out += metric_lines_[s.metric];
    }
    if (tags_json_.size() <= s.tags) tags_json_.resize(s.tags + 1);
    std::string& tags = tags_json_[s.tags];
    if (tags.empty()) tags = tags_to_json(tag_sets.tags(s.tags));
    int64_t second = s.unix_ns / 1000000000;
    if (second != second_) {
      second_ = second;
      format_second(second, second_text_, offset_text_);
    }
    out += "{\"metric\":\"";
    out += registry_.metrics()[s.metric].name;
    out += "\",\"type\":\"Point\",\"data\":{\"time\":\"";
    out += second_text_;
    append_fraction(out, s.unix_ns % 1000000000);
    out += offset_text_;
    out += "\",\"value\":";
    append_number(out, s.value);
    out += ",\"tags\":";
    out += tags;
    out += "}}\n";
  }
  out_.write(out);
  auto now = std::chrono::steady_clock::now();
  if (now >= next_flush_) {
    out_.flush();
    next_flush_ = now + std::chrono::seconds(1);
  }
}

void JsonFile::finish() {
  std::lock_guard lock(mutex_);
  out_.close();
}

std::string JsonFile::description() const {
  return out_.to_stdout() ? "json(stdout)" : "json (" + out_.path() + ")";
}

}  // namespace faultline::loadgen
