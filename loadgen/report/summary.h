// The end-of-test report in k6's shapes: the 1.x console summary (spec k6-compat §6.5,
// values formatted as §6.7) and the flat `--summary-export` JSON (§7.1).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/metrics/stats.h"
#include "loadgen/metrics/threshold.h"

namespace faultline::loadgen {

struct ThresholdResult {
  std::string metric;  // key as declared, e.g. "http_req_duration"
  Threshold threshold;
  bool ok = true;
  std::optional<double> observed;
};

// Evaluates every threshold on the final values (k6 §4.5).
std::vector<ThresholdResult> evaluate(const std::map<std::string, std::vector<Threshold>>& declared,
                                      const std::map<std::string, MetricValue>& metrics,
                                      double elapsed_s);

std::string format_time_ms(double ms);     // 48.21ms, 910µs, 2.95s, 1m30s
std::string format_bytes(double bytes);    // 2.2 MB, 19 MB, 346 kB
std::string format_rate(double fraction);  // 0.41%
std::string format_number(double v);       // 37.537719, 3110

// One check, in first-seen order.
struct CheckResult {
  std::string name;
  uint64_t passes = 0;
  uint64_t fails = 0;
  std::string group;  // path of the group it ran in: "" (root), "::a", "::a::b"
};

struct SummaryOptions {
  // Trend columns and keys (--summary-trend-stats): "avg", "min", "med", "max", "count",
  // "p(N)".
  std::vector<std::string> trend_stats = {"avg", "min", "med", "max", "p(90)", "p(95)"};
  std::string time_unit;         // --summary-time-unit: "", "s", "ms" or "us"
  std::string mode = "compact";  // compact, full, legacy
  bool no_color = true;          // colours are never written when true
  bool stdout_tty = false;
  bool stderr_tty = false;
};

// `--summary-mode full`: one scenario's own metrics and checks (k6 §6.5 item 3).
struct ScenarioSection {
  std::string name;
  std::map<std::string, MetricValue> metrics;  // keyed by metric name
  std::vector<CheckResult> checks;
};

// `--summary-mode full`: one group's own metrics and checks (k6 §6.5 item 3).
struct GroupSection {
  std::string path;  // "::a", "::a::b"
  std::map<std::string, MetricValue> metrics;
  std::vector<CheckResult> checks;
};

// Everything the end-of-test reports are made from. `metrics` holds every observed
// metric and sub-metric, keyed by name ("http_req_duration{status:200}" for a sub-metric).
struct SummaryInput {
  const std::map<std::string, MetricValue>* metrics = nullptr;
  std::vector<ThresholdResult> thresholds;   // in declaration order per metric
  std::vector<CheckResult> checks;           // every check, first-seen order
  std::vector<std::string> groups;           // group paths entered, first-seen order
  double elapsed_s = 0;                      // test-run duration (k6 §2.5)
  std::vector<ScenarioSection> scenarios;    // full mode: SCENARIO sections (not "default")
  std::vector<GroupSection> group_sections;  // full mode: GROUP sections, first-seen order
  SummaryOptions options;
  // Extra keys of summary_data(), each a JSON value (k6's tools ignore keys they do not
  // know): the fault windows of --fault-timeline.
  std::vector<std::pair<std::string, std::string>> extra_data;
  // What `loadgen merge` reads (report/merge.h), written under kMergeStateKey in both
  // summary_export() and summary_data() when not empty.
  std::string merge_state;
};

inline constexpr const char* kMergeStateKey = "faultline_merge";

// Checks one --summary-trend-stats entry: avg, min, med, max, count or p(N) with N a
// number from 0 to 100.
bool valid_trend_stat(std::string_view stat);
// The same, with k6's error text in `err` when the entry is rejected.
bool valid_trend_stat(std::string_view stat, std::string& err);

// Lowercase hex MD5 (RFC 1321) of `data`: k6 names groups and checks by the MD5 of their
// path.
std::string md5_hex(std::string_view data);

// The text printed on stdout at the end: k6 1.x layout (§6.5) or the legacy one (§6.6),
// framed as in §6.4.
std::string console_summary(const SummaryInput& in);
// `--summary-export` (§7.1): flat values, thresholds as {source: failed}.
std::string summary_export(const SummaryInput& in);
// `--summary-data` (§7.2): the object k6 hands to handleSummary().
std::string summary_data(const SummaryInput& in);

}  // namespace faultline::loadgen
