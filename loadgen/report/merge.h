// `loadgen merge`: the results of the execution segments of one test, combined into the
// results of the whole test. A run with an execution segment writes its state under the
// key kMergeStateKey ("faultline_merge") of --summary-export and --summary-data (k6's tools
// ignore keys they do not know): every observed metric with its full histogram or exact counts, the
// checks with their group, the groups, the declared thresholds, the run's duration, the sections of
// --summary-mode full and its summary options. Merging adds counters, rates and check counts
// exactly, merges histograms bucket by bucket (so percentiles are those of the whole test), adds
// gauges (vus, vus_max: the instances' sum) and takes the longest run.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "loadgen/metrics/stats.h"
#include "loadgen/metrics/threshold.h"
#include "loadgen/report/summary.h"

namespace faultline::loadgen {

// The state of one run, as the JSON value written under kMergeStateKey.
std::string merge_state(const SummaryInput& in,
                        const std::map<std::string, std::vector<Threshold>>& declared);

// Several runs combined. `metrics` (and the sections' metrics) point into `histograms`.
struct MergedRun {
  std::deque<Histogram> histograms;
  std::map<std::string, MetricValue> metrics;
  std::map<std::string, std::vector<Threshold>> thresholds;
  std::vector<CheckResult> checks;
  std::vector<std::string> groups;
  std::vector<ScenarioSection> scenarios;
  std::vector<GroupSection> group_sections;
  SummaryOptions options;  // the first run's
  double elapsed_s = 0;
  size_t runs = 0;
};

// Reads the state of one --summary-export or --summary-data file and adds it to `out`.
// False with a message naming the file when it has no state or does not fit the runs
// read before (different thresholds, a metric of another type).
bool merge_file(const std::string& path, MergedRun& out, std::string& err);

}  // namespace faultline::loadgen
