#include "loadgen/summary.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "common/json.h"

namespace faultline::loadgen {
namespace {

const char* kTrendStats[] = {"avg", "min", "med", "max", "p(90)", "p(95)"};

std::string trim_zeros(std::string s) {
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

// Truncates (not rounds) to two decimals, as k6 does.
std::string two_decimals_truncated(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::trunc(v * 100) / 100);
  return trim_zeros(buf);
}

double trend_stat(const Histogram& h, const std::string& stat) {
  if (stat == "avg") return h.mean() / 1e6;
  if (stat == "min") return static_cast<double>(h.min()) / 1e6;
  if (stat == "max") return static_cast<double>(h.max()) / 1e6;
  if (stat == "med") return h.quantile(0.5) / 1e6;
  double p = std::strtod(stat.c_str() + 2, nullptr);
  return h.quantile(p / 100.0) / 1e6;
}

std::string section_of(const std::string& name) {
  static const char* http[] = {
      "http_reqs",        "http_req_failed",     "http_req_duration",
      "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking",
      "http_req_sending", "http_req_waiting",    "http_req_receiving"};
  for (const char* p : http) {
    if (name.rfind(p, 0) == 0) return "HTTP";
  }
  static const char* exec[] = {"vus", "vus_max", "iterations", "iteration_duration",
                               "dropped_iterations"};
  for (const char* p : exec) {
    if (name.rfind(p, 0) == 0) return "EXECUTION";
  }
  if (name.rfind("data_sent", 0) == 0 || name.rfind("data_received", 0) == 0) return "NETWORK";
  if (name.rfind("ws_", 0) == 0) return "WEBSOCKET";
  return "CUSTOM";
}

bool hidden_in_compact(const std::string& name) {
  static const char* hidden[] = {"http_req_blocked",         "http_req_connecting",
                                 "http_req_receiving",       "http_req_sending",
                                 "http_req_tls_handshaking", "http_req_waiting"};
  return std::any_of(std::begin(hidden), std::end(hidden),
                     [&](const char* h) { return name == h; });
}

std::string threshold_value_text(const ThresholdResult& r, const MetricValue& m, double elapsed) {
  const std::string& a = r.threshold.aggregation;
  double v = r.observed.value_or(0);
  switch (m.type) {
    case MetricType::kTrend:
      return a + "=" + format_time_ms(v);
    case MetricType::kRate:
      return "rate=" + format_rate(v);
    case MetricType::kGauge:
      return "value=" + format_number(v);
    case MetricType::kCounter:
      if (a == "rate") {
        double per_s = elapsed > 0 ? m.count / elapsed : 0;
        return "rate=" + (m.is_data ? format_bytes(per_s) : format_number(per_s)) + "/s";
      }
      return "count=" + format_number(v);
  }
  return "";
}

}  // namespace

std::vector<ThresholdResult> evaluate(const std::map<std::string, std::vector<Threshold>>& declared,
                                      const std::map<std::string, MetricValue>& metrics,
                                      double elapsed_s) {
  std::vector<ThresholdResult> out;
  for (const auto& [key, list] : declared) {
    auto it = metrics.find(key);
    for (const auto& t : list) {
      ThresholdResult r;
      r.metric = key;
      r.threshold = t;
      if (it != metrics.end()) {
        r.observed = aggregate(it->second, t, elapsed_s);
        r.ok = !r.observed || compare(*r.observed, t.op, t.value);
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::string format_time_ms(double ms) {
  if (ms == 0) return "0s";
  if (ms < 0.001) return std::to_string(static_cast<int64_t>(ms * 1e6)) + "ns";
  if (ms < 1) return two_decimals_truncated(ms * 1000) + "\xc2\xb5s";
  if (ms < 1000) return two_decimals_truncated(ms) + "ms";
  double s = ms / 1000;
  if (s < 60) return two_decimals_truncated(s) + "s";
  auto total = static_cast<int64_t>(s);
  int64_t h = total / 3600, m = (total % 3600) / 60, sec = total % 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  out += std::to_string(m) + "m" + std::to_string(sec) + "s";
  return out;
}

std::string format_bytes(double bytes) {
  if (bytes < 10) return std::to_string(static_cast<int64_t>(bytes)) + " B";
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  double v = bytes;
  while (v >= 1000 && u < 6) {
    v /= 1000;
    ++u;
  }
  v = std::round(v * 10) / 10;
  char buf[64];
  if (v < 10) {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  }
  return buf;
}

std::string format_rate(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%", std::trunc(fraction * 100 * 100) / 100);
  return buf;
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return trim_zeros(buf);
}

std::string console_summary(const SummaryInput& in) {
  const auto& metrics = *in.metrics;
  const auto& thresholds = in.thresholds;
  double elapsed_s = in.elapsed_s;
  std::string out = "\n\n";
  if (!thresholds.empty()) {
    out += "  \xe2\x96\x88 THRESHOLDS \n\n";
    std::string current;
    for (const auto& r : thresholds) {
      if (r.metric != current) {
        if (!current.empty()) out += "\n";
        current = r.metric;
        out += "    " + r.metric + "\n";
      }
      auto it = metrics.find(r.metric);
      out += std::string("    ") + (r.ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97") + " '" +
             r.threshold.source + "'";
      if (it != metrics.end()) out += " " + threshold_value_text(r, it->second, elapsed_s);
      out += "\n";
    }
    out += "\n\n";
  }
  out += "  \xe2\x96\x88 TOTAL RESULTS \n\n";

  // Lay out every shown metric line, then pad names and columns across the whole block.
  struct Line {
    std::string section, name;
    std::vector<std::string> fields;
    bool trend = false;
  };
  std::vector<Line> lines;
  for (const auto& [name, m] : metrics) {
    if (hidden_in_compact(name) || name.rfind("checks", 0) == 0) continue;
    Line l{section_of(name), name, {}, m.type == MetricType::kTrend};
    switch (m.type) {
      case MetricType::kTrend:
        for (const char* stat : kTrendStats) {
          l.fields.push_back(std::string(stat) + "=" + format_time_ms(trend_stat(*m.trend, stat)));
        }
        break;
      case MetricType::kCounter: {
        double per_s = elapsed_s > 0 ? m.count / elapsed_s : 0;
        if (m.is_data) {
          l.fields = {format_bytes(m.count), format_bytes(per_s) + "/s"};
        } else {
          l.fields = {format_number(m.count), format_number(per_s) + "/s"};
        }
        break;
      }
      case MetricType::kRate:
        l.fields = {format_rate(m.total > 0 ? m.count / m.total : 0),
                    format_number(m.count) + " out of " + format_number(m.total)};
        break;
      case MetricType::kGauge:
        l.fields = {format_number(m.value), "min=" + format_number(m.min),
                    "max=" + format_number(m.max)};
        break;
    }
    lines.push_back(std::move(l));
  }
  size_t name_width = 0;
  std::vector<size_t> trend_width(6, 0), other_width(3, 0);
  for (const auto& l : lines) {
    name_width = std::max(name_width, l.name.size());
    auto& widths = l.trend ? trend_width : other_width;
    for (size_t i = 0; i < l.fields.size() && i < widths.size(); ++i) {
      // Columns are padded by display width; µ counts once.
      size_t w = l.fields[i].size() - (l.fields[i].find("\xc2\xb5") != std::string::npos ? 1 : 0);
      widths[i] = std::max(widths[i], w);
    }
  }
  for (const char* section : {"CUSTOM", "HTTP", "EXECUTION", "NETWORK", "WEBSOCKET"}) {
    bool any = false;
    for (const auto& l : lines) {
      if (l.section != section) continue;
      if (!any) out += std::string("    ") + section + "\n";
      any = true;
      std::string line = "    " + l.name + std::string(name_width + 3 - l.name.size(), '.') + ": ";
      const auto& widths = l.trend ? trend_width : other_width;
      for (size_t i = 0; i < l.fields.size(); ++i) {
        std::string f = l.fields[i];
        size_t w = f.size() - (f.find("\xc2\xb5") != std::string::npos ? 1 : 0);
        if (i + 1 < l.fields.size() && i < widths.size() && w < widths[i]) {
          f += std::string(widths[i] - w, ' ');
        }
        line += (i == 0 ? "" : " ") + f;
      }
      out += line + "\n";
    }
    if (any) out += "\n";
  }
  out += "\n\n";
  return out;
}

std::string summary_export(const SummaryInput& in) {
  const auto& metrics = *in.metrics;
  const auto& thresholds = in.thresholds;
  double elapsed_s = in.elapsed_s;
  // Pretty-printed with four spaces, one key per line, like k6.
  std::string out =
      "{\n    \"root_group\": {\n        \"name\": \"\",\n        \"path\": \"\",\n"
      "        \"id\": \"d41d8cd98f00b204e9800998ecf8427e\",\n"
      "        \"groups\": {},\n        \"checks\": {}\n    },\n    \"metrics\": {";
  bool first_metric = true;
  for (const auto& [name, m] : metrics) {
    std::vector<std::pair<std::string, double>> values;
    switch (m.type) {
      case MetricType::kTrend:
        for (const char* stat : kTrendStats) values.emplace_back(stat, trend_stat(*m.trend, stat));
        break;
      case MetricType::kCounter:
        values = {{"count", m.count}, {"rate", elapsed_s > 0 ? m.count / elapsed_s : 0}};
        break;
      case MetricType::kRate:
        values = {{"passes", m.count},
                  {"fails", m.total - m.count},
                  {"value", m.total > 0 ? m.count / m.total : 0}};
        break;
      case MetricType::kGauge:
        values = {{"value", m.value}, {"min", m.min}, {"max", m.max}};
        break;
    }
    out += first_metric ? "\n" : ",\n";
    first_metric = false;
    out += "        ";
    json::append_quoted(out, name, false);
    out += ": {";
    bool first = true;
    for (const auto& [k, v] : values) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "            ";
      json::append_quoted(out, k);
      out += ": " + format_number(v);
    }
    bool any_threshold = false;
    for (const auto& r : thresholds) {
      if (r.metric != name) continue;
      out += any_threshold ? ",\n" : ",\n            \"thresholds\": {\n";
      any_threshold = true;
      out += "                ";
      json::append_quoted(out, r.threshold.source, false);
      out += r.ok ? ": false" : ": true";  // true means the threshold failed
    }
    if (any_threshold) out += "\n            }";
    out += "\n        }";
  }
  out += "\n    }\n}\n";
  return out;
}

}  // namespace faultline::loadgen

namespace faultline::loadgen {
bool valid_trend_stat(std::string_view) {
  return true;
}
std::string summary_data(const SummaryInput&) {
  return "{}";
}

// MD5 as RFC 1321 defines it: the message is padded to 56 bytes modulo 64, its bit length
// appended (little-endian), and every 64-byte block is mixed into four 32-bit words over
// four rounds of sixteen steps.
std::string md5_hex(std::string_view data) {
  // Step constants: the integer part of 2^32 * |sin(i + 1)|, computed once.
  static const std::array<uint32_t, 64> kSine = [] {
    std::array<uint32_t, 64> k{};
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = static_cast<uint32_t>(
          std::floor(std::fabs(std::sin(static_cast<double>(i + 1))) * 4294967296.0));
    }
    return k;
  }();
  static const int kRotate[4][4] = {
      {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

  std::string msg(data);
  uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));

  uint32_t state[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  auto rotl = [](uint32_t v, int n) { return (v << n) | (v >> (32 - n)); };
  for (size_t block = 0; block < msg.size(); block += 64) {
    uint32_t w[16];
    for (int i = 0; i < 16; ++i) {
      const auto* b = reinterpret_cast<const unsigned char*>(msg.data() + block + 4 * i);
      w[i] =
          uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; ++i) {
      int round = i / 16;
      uint32_t mix;
      int word;
      switch (round) {
        case 0:
          mix = (b & c) | (~b & d);
          word = i;
          break;
        case 1:
          mix = (d & b) | (~d & c);
          word = (5 * i + 1) % 16;
          break;
        case 2:
          mix = b ^ c ^ d;
          word = (3 * i + 5) % 16;
          break;
        default:
          mix = c ^ (b | ~d);
          word = (7 * i) % 16;
          break;
      }
      uint32_t next = b + rotl(a + mix + kSine[i] + w[word], kRotate[round][i % 4]);
      a = d;
      d = c;
      c = b;
      b = next;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint32_t word : state) {
    for (int i = 0; i < 4; ++i) {
      auto byte = (word >> (8 * i)) & 0xff;
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}
}  // namespace faultline::loadgen
