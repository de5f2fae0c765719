// What loadgen prints while it runs, in k6's shapes (spec k6-compat §6.1-§6.3): log lines
// on stderr, the header before the run and the progress blocks during it.
#pragma once

#include <string>
#include <vector>

#include "loadgen/config/plan.h"
#include "loadgen/run/runner.h"

namespace faultline::loadgen {

// One log line on stderr in logrus' text form:
// time="2026-08-12T10:15:30Z" level=warning msg="..." key=value
// Lines of level "debug" are written only after set_verbose(true) (k6's --verbose).
void log_line(const std::string& level, const std::string& msg, const std::string& fields = "");
void set_verbose(bool on);
bool verbose();
// One `key=value` field of a log line, the value quoted as logrus quotes it.
std::string log_field(const std::string& key, const std::string& value);

// k6's fixed-width elapsed time (§6.3): the layout is chosen by `reference_s`.
std::string fixed_width_duration(double seconds, double reference_s);

// The header printed before the run (§6.2), without the banner.
// `share` is the execution segment's, "(100.00%)" for the whole test.
std::string run_header(const std::string& script, const std::vector<std::string>& outputs,
                       const std::vector<Scenario>& scenarios, const RunPlan& plan,
                       const std::string& share = "(100.00%)");

// One progress block (§6.3): an empty line, the run status line and one line per
// scenario. `tty` selects the 38-cell bar.
std::string progress_block(const Progress& p, const std::vector<Scenario>& scenarios,
                           const RunPlan& plan, bool tty);

}  // namespace faultline::loadgen
