#include "loadgen/report/merge.h"

#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "loadgen/report/json_output.h"

namespace faultline::loadgen {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// ---- writing -------------------------------------------------------------------------

void key(std::string& out, std::string_view k) {
  json::append_quoted(out, k, false);
  out += ':';
}

void write_metric(std::string& out, const MetricValue& m) {
  out += '{';
  key(out, "type");
  json::append_quoted(out, metric_type_name(m.type), false);
  out += ",\"time\":";
  out += m.is_time ? "true" : "false";
  out += ",\"data\":";
  out += m.is_data ? "true" : "false";
  out += ',';
  key(out, "parent");
  json::append_quoted(out, m.parent, false);
  out += ',';
  key(out, "selector");
  json::append_quoted(out, m.selector, false);
  out += ",\"tags\":[";
  for (size_t i = 0; i < m.selector_tags.size(); ++i) {
    out += i ? ",[" : "[";
    json::append_quoted(out, m.selector_tags[i].first, false);
    out += ',';
    json::append_quoted(out, m.selector_tags[i].second, false);
    out += ']';
  }
  out += "],\"count\":";
  append_number(out, m.count);
  out += ",\"total\":";
  append_number(out, m.total);
  out += ",\"value\":";
  append_number(out, m.value);
  out += ",\"min\":";
  append_number(out, m.min);
  out += ",\"max\":";
  append_number(out, m.max);
  if (m.type == MetricType::kTrend && m.trend) {
    out += ",\"scale\":";
    append_number(out, m.trend_scale);
    out += ",\"hist\":{\"sum\":\"" + m.trend->sum_text() +
           "\",\"min\":" + std::to_string(m.trend->min()) +
           ",\"max\":" + std::to_string(m.trend->max()) + ",\"buckets\":[";
    bool first = true;
    for (const auto& [b, n] : m.trend->buckets()) {
      out += first ? "[" : ",[";
      first = false;
      out += std::to_string(b) + "," + std::to_string(n) + "]";
    }
    out += "]}";
  }
  out += '}';
}

void write_metrics(std::string& out, const std::map<std::string, MetricValue>& metrics) {
  out += '{';
  bool first = true;
  for (const auto& [name, m] : metrics) {
    if (!first) out += ',';
    first = false;
    key(out, name);
    write_metric(out, m);
  }
  out += '}';
}

void write_checks(std::string& out, const std::vector<CheckResult>& checks) {
  out += '[';
  for (size_t i = 0; i < checks.size(); ++i) {
    if (i) out += ',';
    out += '{';
    key(out, "name");
    json::append_quoted(out, checks[i].name, false);
    out += ',';
    key(out, "group");
    json::append_quoted(out, checks[i].group, false);
    out += ",\"passes\":" + std::to_string(checks[i].passes) +
           ",\"fails\":" + std::to_string(checks[i].fails) + "}";
  }
  out += ']';
}

void write_strings(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    json::append_quoted(out, list[i], false);
  }
  out += ']';
}

// The sections of --summary-mode full (ScenarioSection, GroupSection): each named by `id`.
template <typename Section>
void write_sections(std::string& out, const std::vector<Section>& sections,
                    std::string Section::*id, const char* id_key) {
  out += '[';
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i) out += ',';
    out += '{';
    key(out, id_key);
    json::append_quoted(out, sections[i].*id, false);
    out += ",\"metrics\":";
    write_metrics(out, sections[i].metrics);
    out += ",\"checks\":";
    write_checks(out, sections[i].checks);
    out += '}';
  }
  out += ']';
}

// ---- reading -------------------------------------------------------------------------

std::string text_of(element e) {
  std::string_view v;
  return e.get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

double number_of(element e) {
  double d = 0;
  if (e.is_double()) return e.get(d) == simdjson::SUCCESS ? d : 0;
  int64_t i = 0;
  if (e.get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  uint64_t u = 0;
  if (e.get(u) == simdjson::SUCCESS) return static_cast<double>(u);
  return 0;
}

uint64_t uint_of(element e) {
  uint64_t u = 0;
  return e.get(u) == simdjson::SUCCESS ? u : 0;
}

bool type_of(const std::string& name, MetricType& out) {
  for (MetricType t :
       {MetricType::kCounter, MetricType::kGauge, MetricType::kRate, MetricType::kTrend}) {
    if (name == metric_type_name(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

// One metric of a state, added to `into` (created on first sight).
bool add_metric(const std::string& name, element e, std::map<std::string, MetricValue>& into,
                std::deque<Histogram>& store, std::string& err) {
  MetricValue m;
  if (!type_of(text_of(e["type"]), m.type)) {
    err = "metric " + name + " has an unknown type";
    return false;
  }
  bool flag = false;
  m.is_time = e["time"].get(flag) == simdjson::SUCCESS && flag;
  m.is_data = e["data"].get(flag) == simdjson::SUCCESS && flag;
  m.parent = text_of(e["parent"]);
  m.selector = text_of(e["selector"]);
  array tags;
  if (e["tags"].get(tags) == simdjson::SUCCESS) {
    for (element pair : tags)
      m.selector_tags.emplace_back(text_of(pair.at(0)), text_of(pair.at(1)));
  }
  m.count = number_of(e["count"]);
  m.total = number_of(e["total"]);
  m.value = number_of(e["value"]);
  m.min = number_of(e["min"]);
  m.max = number_of(e["max"]);
  std::optional<Histogram> hist;
  if (m.type == MetricType::kTrend) {
    m.trend_scale = number_of(e["scale"]);
    element h;
    if (e["hist"].get(h) != simdjson::SUCCESS) {
      err = "trend " + name + " has no histogram";
      return false;
    }
    std::vector<std::pair<int, uint64_t>> buckets;
    array list;
    if (h["buckets"].get(list) == simdjson::SUCCESS) {
      for (element pair : list) {
        buckets.emplace_back(static_cast<int>(uint_of(pair.at(0))), uint_of(pair.at(1)));
      }
    }
    hist = Histogram::from_parts(buckets, text_of(h["sum"]), uint_of(h["min"]), uint_of(h["max"]));
    if (!hist) {
      err = "trend " + name + " has a malformed histogram";
      return false;
    }
  }
  auto it = into.find(name);
  if (it == into.end()) {
    if (hist) m.trend = &store.emplace_back(*hist);
    into.emplace(name, std::move(m));
    return true;
  }
  MetricValue& have = it->second;
  if (have.type != m.type) {
    err = "metric " + name + " is a " + metric_type_name(m.type) + " here but a " +
          metric_type_name(have.type) + " in an earlier file";
    return false;
  }
  switch (m.type) {
    case MetricType::kCounter:
      have.count += m.count;
      break;
    case MetricType::kRate:
      have.count += m.count;
      have.total += m.total;
      break;
    case MetricType::kGauge:
      // vus and vus_max are per-instance counts: the test's are their sums.
      have.value += m.value;
      have.min += m.min;
      have.max += m.max;
      break;
    case MetricType::kTrend:
      // Every trend of a MergedRun points into its own `histograms`.
      const_cast<Histogram*>(have.trend)->merge(*hist);
      break;
  }
  return true;
}

bool add_metrics(element e, std::map<std::string, MetricValue>& into, std::deque<Histogram>& store,
                 std::string& err) {
  object metrics;
  if (e.get(metrics) != simdjson::SUCCESS) return true;
  for (auto [name, value] : metrics) {
    if (!add_metric(std::string(name), value, into, store, err)) return false;
  }
  return true;
}

void add_checks(element e, std::vector<CheckResult>& into) {
  array list;
  if (e.get(list) != simdjson::SUCCESS) return;
  for (element c : list) {
    CheckResult r{text_of(c["name"]), uint_of(c["passes"]), uint_of(c["fails"]),
                  text_of(c["group"])};
    auto it = std::find_if(into.begin(), into.end(), [&](const CheckResult& x) {
      return x.name == r.name && x.group == r.group;
    });
    if (it == into.end()) {
      into.push_back(std::move(r));
    } else {
      it->passes += r.passes;
      it->fails += r.fails;
    }
  }
}

std::vector<std::string> strings_of(element e) {
  std::vector<std::string> out;
  array list;
  if (e.get(list) == simdjson::SUCCESS) {
    for (element s : list) out.push_back(text_of(s));
  }
  return out;
}

// Sections of a state, added to those of the same name (created on first sight).
template <typename Section>
bool add_sections(element e, std::vector<Section>& into, std::string Section::*id,
                  const char* id_key, std::deque<Histogram>& store, std::string& err) {
  array sections;
  if (e.get(sections) != simdjson::SUCCESS) return true;
  for (element s : sections) {
    std::string name = text_of(s[id_key]);
    auto it =
        std::find_if(into.begin(), into.end(), [&](const Section& x) { return x.*id == name; });
    if (it == into.end()) {
      into.emplace_back();
      it = into.end() - 1;
      (*it).*id = name;
    }
    if (!add_metrics(s["metrics"], it->metrics, store, err)) return false;
    add_checks(s["checks"], it->checks);
  }
  return true;
}

}  // namespace

std::string merge_state(const SummaryInput& in,
                        const std::map<std::string, std::vector<Threshold>>& declared) {
  std::string out = "{\"version\":1,\"elapsed_s\":";
  append_number(out, in.elapsed_s);
  out += ",\"options\":{\"trendStats\":";
  write_strings(out, in.options.trend_stats);
  out += ",\"timeUnit\":";
  json::append_quoted(out, in.options.time_unit, false);
  out += ",\"mode\":";
  json::append_quoted(out, in.options.mode, false);
  out += "},\"metrics\":";
  write_metrics(out, *in.metrics);
  out += ",\"checks\":";
  write_checks(out, in.checks);
  out += ",\"groups\":";
  write_strings(out, in.groups);
  out += ",\"thresholds\":{";
  bool first = true;
  for (const auto& [metric, list] : declared) {
    if (!first) out += ',';
    first = false;
    key(out, metric);
    out += '[';
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      out += '{';
      key(out, "source");
      json::append_quoted(out, list[i].source, false);
      out += ",\"abortOnFail\":";
      out += list[i].abort_on_fail ? "true" : "false";
      out += ',';
      key(out, "delayAbortEval");
      json::append_quoted(out, list[i].delay_abort_eval, false);
      out += '}';
    }
    out += ']';
  }
  out += "},\"scenarios\":";
  write_sections(out, in.scenarios, &ScenarioSection::name, "name");
  out += ",\"group_sections\":";
  write_sections(out, in.group_sections, &GroupSection::path, "path");
  out += "}";
  return out;
}

bool merge_file(const std::string& path, MergedRun& out, std::string& err) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    err = "cannot read " + path;
    return false;
  }
  std::stringstream text;
  text << file.rdbuf();
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(text.str()).get(root) != simdjson::SUCCESS) {
    err = path + " is not JSON";
    return false;
  }
  element state;
  if (root[kMergeStateKey].get(state) != simdjson::SUCCESS) {
    err = path + " has no \"" + std::string(kMergeStateKey) +
          "\" state: write it with loadgen run --summary-export or --summary-data";
    return false;
  }
  uint64_t version = 0;
  if (state["version"].get(version) != simdjson::SUCCESS || version != 1) {
    err = path + ": unknown state version";
    return false;
  }
  auto fail = [&](const std::string& why) {
    err = path + ": " + why;
    return false;
  };
  // Thresholds: the same test on every instance.
  std::map<std::string, std::vector<Threshold>> thresholds;
  object declared;
  if (state["thresholds"].get(declared) == simdjson::SUCCESS) {
    for (auto [metric, list] : declared) {
      std::vector<Threshold>& into = thresholds[std::string(metric)];
      array items;
      if (list.get(items) != simdjson::SUCCESS) continue;
      for (element t : items) {
        std::string perr;
        auto parsed = parse_threshold(text_of(t["source"]), perr);
        if (!parsed) return fail("threshold " + text_of(t["source"]) + ": " + perr);
        bool abort = false;
        parsed->abort_on_fail = t["abortOnFail"].get(abort) == simdjson::SUCCESS && abort;
        parsed->delay_abort_eval = text_of(t["delayAbortEval"]);
        into.push_back(*parsed);
      }
    }
  }
  if (out.runs == 0) {
    out.thresholds = std::move(thresholds);
    element options;
    if (state["options"].get(options) == simdjson::SUCCESS) {
      auto stats = strings_of(options["trendStats"]);
      if (!stats.empty()) out.options.trend_stats = stats;
      out.options.time_unit = text_of(options["timeUnit"]);
      std::string mode = text_of(options["mode"]);
      if (!mode.empty()) out.options.mode = mode;
    }
  } else {
    auto sources = [](const std::map<std::string, std::vector<Threshold>>& m) {
      std::map<std::string, std::vector<std::string>> s;
      for (const auto& [k, list] : m) {
        for (const auto& t : list) s[k].push_back(t.source);
      }
      return s;
    };
    if (sources(thresholds) != sources(out.thresholds)) {
      return fail(
          "its thresholds differ from those of the first file (every part must come "
          "from the same test)");
    }
  }
  std::string merr;
  if (!add_metrics(state["metrics"], out.metrics, out.histograms, merr)) return fail(merr);
  add_checks(state["checks"], out.checks);
  for (const auto& g : strings_of(state["groups"])) {
    if (std::find(out.groups.begin(), out.groups.end(), g) == out.groups.end()) {
      out.groups.push_back(g);
    }
  }
  if (!add_sections(state["scenarios"], out.scenarios, &ScenarioSection::name, "name",
                    out.histograms, merr) ||
      !add_sections(state["group_sections"], out.group_sections, &GroupSection::path, "path",
                    out.histograms, merr)) {
    return fail(merr);
  }
  out.elapsed_s = std::max(out.elapsed_s, number_of(state["elapsed_s"]));
  ++out.runs;
  return true;
}

}  // namespace faultline::loadgen
