// `loadgen compare BASELINE CURRENT`: two runs' end-of-test summaries side by side, for a
// CI job that fails a pull request when a figure got worse by more than a set share.
//
// Both files may be --summary-export output (k6's flat form) or --summary-data /
// handleSummary() data (with metric types); they may differ in form. Which figures are
// compared, and which way is worse:
//   http_req_duration, http_req_waiting, iteration_duration, ws_connecting (trends):
//       avg, med and every percentile both files have; higher is worse
//   http_reqs, iterations (counters): the rate per second; lower is worse
//   http_req_failed (rate): the share; higher is worse
//   checks (rate): the share; lower is worse
// plus each metric named with --metric NAME[:higher|:lower] (which way is worse; trends
// and gauges default to higher, counters to lower, rates must say). A figure regresses when
// it is worse than the baseline by more than the allowed fraction of the baseline. A share
// (a rate metric) is judged by its bad part — the failed requests, the checks that did not
// pass (99% -> 95% passing is 1% -> 5% failing) — and must also move by more than 0.1
// percentage point, so 0 -> 0.04% of failed requests is noise, not a regression.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace faultline::loadgen {

struct CompareMetric {
  std::string name;
  // "higher" or "lower": which way is worse; empty for the metric's default.
  std::string worse;
};

struct CompareRow {
  std::string metric;
  std::string figure;  // "p(95)", "rate", "value", ...
  bool higher_is_worse = true;
  bool in_baseline = false, in_current = false;
  double baseline = 0, current = 0;
  double change = 0;  // (current - baseline) / |baseline|; 0 when the baseline is 0
  bool regression = false;
  std::string unit;  // "ms", "/s", "%" or ""
};

struct CompareResult {
  std::vector<CompareRow> rows;
  int regressions = 0;
};

// Compares two summaries' JSON texts. Throws std::runtime_error with a message naming
// the file (`baseline_name`, `current_name`) when a text is not a summary or a --metric
// cannot be compared.
CompareResult compare_summaries(std::string_view baseline, std::string_view current,
                                const std::string& baseline_name, const std::string& current_name,
                                double max_regression, const std::vector<CompareMetric>& extra);

// The Markdown report: a table of every compared figure and a closing verdict line.
std::string compare_markdown(const CompareResult& r, double max_regression);

// "10%", "10", "0.5%" -> 0.10, 0.10, 0.005; throws std::runtime_error otherwise.
double parse_regression_limit(std::string_view text);

}  // namespace faultline::loadgen
