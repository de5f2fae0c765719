#include "loadgen/report/compare.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace faultline::loadgen {
namespace {

// A share must move by more than this (0.1 percentage point) to count as a regression.
constexpr double kShareNoise = 0.001;

struct Metric {
  std::string type;   // trend, counter, rate, gauge
  bool time = false;  // its values are durations in ms
  std::map<std::string, double> values;
};

// The export does not say which metrics hold times: k6's own ones and, by the custom
// metrics' usual naming, *_duration do.
bool named_as_time(const std::string& name) {
  static const char* kTimes[] = {"http_req_blocked",
                                 "http_req_connecting",
                                 "http_req_tls_handshaking",
                                 "http_req_sending",
                                 "http_req_waiting",
                                 "http_req_receiving",
                                 "ws_connecting",
                                 "ws_ping",
                                 "group_duration"};
  if (name.find("duration") != std::string::npos) return true;
  for (const char* t : kTimes)
    if (name == t) return true;
  return false;
}

using Summary = std::map<std::string, Metric>;

std::string infer_type(const std::map<std::string, double>& v) {
  if (v.count("passes") || v.count("fails")) return "rate";
  if (v.count("count") && v.count("rate")) return "counter";
  if (v.count("avg") || v.count("med")) return "trend";
  if (v.count("value")) return "gauge";
  return "";
}

void read_numbers(simdjson::dom::object o, std::map<std::string, double>& out) {
  for (auto [key, value] : o) {
    double d;
    if (value.get_double().get(d) == simdjson::SUCCESS) out[std::string(key)] = d;
  }
}

// Reads --summary-export (flat values) or --summary-data (type + values) JSON.
Summary read_summary(std::string_view text, const std::string& name) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS)
    throw std::runtime_error(name + ": not JSON");
  simdjson::dom::object metrics;
  if (root["metrics"].get_object().get(metrics) != simdjson::SUCCESS) {
    throw std::runtime_error(name +
                             ": no \"metrics\" object (expected --summary-export or "
                             "--summary-data output)");
  }
  Summary out;
  for (auto [key, value] : metrics) {
    simdjson::dom::object o;
    if (value.get_object().get(o) != simdjson::SUCCESS) continue;
    Metric m;
    simdjson::dom::object values;
    if (o["values"].get_object().get(values) == simdjson::SUCCESS) {
      std::string_view type;
      if (o["type"].get_string().get(type) == simdjson::SUCCESS) m.type = std::string(type);
      std::string_view contains;
      m.time = o["contains"].get_string().get(contains) == simdjson::SUCCESS && contains == "time";
      read_numbers(values, m.values);
      // handleSummary data calls a rate's share "rate"; the export calls it "value".
      if (m.type == "rate" && m.values.count("rate")) m.values["value"] = m.values["rate"];
    } else {
      read_numbers(o, m.values);
      m.type = infer_type(m.values);
      m.time = m.type == "trend" && named_as_time(std::string(key));
    }
    if (!m.type.empty()) out[std::string(key)] = std::move(m);
  }
  return out;
}

// The built-in metrics compared by default and which way is worse.
const std::vector<CompareMetric>& default_metrics() {
  static const std::vector<CompareMetric> kDefaults = {
      {"http_req_duration", "higher"},  {"http_req_waiting", "higher"},
      {"iteration_duration", "higher"}, {"ws_connecting", "higher"},
      {"http_reqs", "lower"},           {"iterations", "lower"},
      {"http_req_failed", "higher"},    {"checks", "lower"},
  };
  return kDefaults;
}

// Percentile keys sort by their number: p(90) < p(95) < p(99) < p(99.9).
double percentile_of(const std::string& key) {
  return std::strtod(key.c_str() + 2, nullptr);
}

// The figures of a metric both summaries can be compared on.
std::vector<std::string> figures(const std::string& type, const Metric* a, const Metric* b) {
  auto has = [&](const std::string& k) {
    return (!a || a->values.count(k)) && (!b || b->values.count(k));
  };
  std::vector<std::string> out;
  if (type == "trend") {
    for (const char* k : {"avg", "med"})
      if (has(k)) out.push_back(k);
    std::vector<std::string> pcts;
    const Metric* any = a ? a : b;
    for (const auto& [k, v] : any->values) {
      if (k.rfind("p(", 0) == 0 && has(k)) pcts.push_back(k);
    }
    std::sort(pcts.begin(), pcts.end(), [](const std::string& x, const std::string& y) {
      return percentile_of(x) < percentile_of(y);
    });
    out.insert(out.end(), pcts.begin(), pcts.end());
  } else if (type == "counter") {
    out.push_back("rate");
  } else {
    out.push_back("value");
  }
  return out;
}

std::string format_value(double v, const std::string& unit) {
  char buf[64];
  if (unit == "%") {
    std::snprintf(buf, sizeof buf, "%.2f%%", v * 100);
  } else if (unit.empty()) {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, unit.c_str());
  }
  return buf;
}

}  // namespace

double parse_regression_limit(std::string_view text) {
  std::string s(text);
  if (!s.empty() && s.back() == '%') s.pop_back();
  char* end = nullptr;
  double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) {
    throw std::runtime_error("--max-regression must be a percentage such as 10% (got \"" +
                             std::string(text) + "\")");
  }
  return v / 100;
}

CompareResult compare_summaries(std::string_view baseline, std::string_view current,
                                const std::string& baseline_name, const std::string& current_name,
                                double max_regression, const std::vector<CompareMetric>& extra) {
  const Summary a = read_summary(baseline, baseline_name);
  const Summary b = read_summary(current, current_name);
  // Built-in metrics first, then the ones asked for (a repeat overrides the direction).
  std::vector<CompareMetric> wanted = default_metrics();
  for (const auto& m : extra) {
    if (!m.worse.empty() && m.worse != "higher" && m.worse != "lower") {
      throw std::runtime_error("--metric " + m.name + ":" + m.worse +
                               ": say which way is worse, higher or lower");
    }
    auto same = std::find_if(wanted.begin(), wanted.end(),
                             [&](const CompareMetric& w) { return w.name == m.name; });
    if (same != wanted.end()) {
      if (!m.worse.empty()) same->worse = m.worse;
    } else {
      wanted.push_back(m);
    }
  }
  CompareResult result;
  for (const auto& w : wanted) {
    auto ia = a.find(w.name);
    auto ib = b.find(w.name);
    const Metric* ma = ia == a.end() ? nullptr : &ia->second;
    const Metric* mb = ib == b.end() ? nullptr : &ib->second;
    bool asked = std::any_of(extra.begin(), extra.end(),
                             [&](const CompareMetric& m) { return m.name == w.name; });
    if (!ma && !mb) {
      if (asked) throw std::runtime_error("--metric " + w.name + ": in neither summary");
      continue;
    }
    const std::string type = ma ? ma->type : mb->type;
    if (ma && mb && ma->type != mb->type) {
      throw std::runtime_error(w.name + " is a " + ma->type + " in " + baseline_name + " but a " +
                               mb->type + " in " + current_name);
    }
    std::string worse = w.worse;
    if (worse.empty()) {
      if (type == "rate")
        throw std::runtime_error("--metric " + w.name + ": a rate needs its worse direction (" +
                                 w.name + ":higher or " + w.name + ":lower)");
      worse = type == "counter" ? "lower" : "higher";
    }
    for (const auto& fig : figures(type, ma, mb)) {
      CompareRow row;
      row.metric = w.name;
      row.figure = type == "rate" ? "share" : fig;
      row.higher_is_worse = worse == "higher";
      row.in_baseline = ma && ma->values.count(fig);
      row.in_current = mb && mb->values.count(fig);
      if (row.in_baseline) row.baseline = ma->values.at(fig);
      if (row.in_current) row.current = mb->values.at(fig);
      if (type == "rate") {
        row.unit = "%";
      } else if (type == "counter") {
        row.unit = "/s";
      } else if ((ma && ma->time) || (mb && mb->time)) {
        row.unit = "ms";
      }
      if (row.in_baseline && row.in_current) {
        row.change = row.baseline != 0 ? (row.current - row.baseline) / std::fabs(row.baseline) : 0;
        double base = row.baseline, cur = row.current;
        if (type == "rate" && !row.higher_is_worse) {
          // A share where lower is worse (checks) is judged by its complement, the share
          // that failed: 99% -> 95% passing is 1% -> 5% failing.
          base = 1 - base;
          cur = 1 - cur;
        } else if (!row.higher_is_worse) {
          base = -base;
          cur = -cur;
        }
        double worse_by = cur - base;
        bool beyond = worse_by > max_regression * std::fabs(base);
        if (type == "rate") beyond = beyond && worse_by > kShareNoise;
        row.regression = beyond;
        if (beyond) ++result.regressions;
      }
      result.rows.push_back(std::move(row));
    }
  }
  return result;
}

std::string compare_markdown(const CompareResult& r, double max_regression) {
  std::string out = "| metric | figure | baseline | current | change | |\n";
  out += "|---|---|---:|---:|---:|---|\n";
  char change[32];
  for (const auto& row : r.rows) {
    std::string base = row.in_baseline ? format_value(row.baseline, row.unit) : "missing";
    std::string cur = row.in_current ? format_value(row.current, row.unit) : "missing";
    std::string delta = "";
    if (row.in_baseline && row.in_current) {
      if (row.unit == "%") {
        std::snprintf(change, sizeof change, "%+.2f pt", (row.current - row.baseline) * 100);
        delta = change;
      } else if (row.baseline != 0) {
        std::snprintf(change, sizeof change, "%+.1f%%", row.change * 100);
        delta = change;
      } else {
        delta = row.current == 0 ? "+0.0%" : "new";
      }
    }
    std::string verdict = row.regression                      ? "**regression**"
                          : row.in_baseline && row.in_current ? "ok"
                                                              : "";
    out += "| " + row.metric + " | " + row.figure + " | " + base + " | " + cur + " | " + delta +
           " | " + verdict + " |\n";
  }
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g%%", max_regression * 100);
  out += "\n";
  if (r.regressions == 0) {
    out += std::string("No figure got worse by more than ") + limit + ".\n";
  } else {
    out += "**" + std::to_string(r.regressions) + (r.regressions == 1 ? " figure" : " figures") +
           " got worse by more than " + limit + ".**\n";
  }
  return out;
}

}  // namespace faultline::loadgen
