// Scenarios and their scheduling arithmetic (spec k6-compat §2.2-§2.4): the executors'
// options, k6's validation messages, when each VU of a ramp is active, when each
// arrival-rate iteration is due, and the VU plan that gives "max VUs" and "max duration".
// Everything here is pure computation; the runner turns it into timers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/config/duration.h"

namespace faultline::loadgen {

enum class Executor {
  kSharedIterations,
  kPerVuIterations,
  kConstantVus,
  kRampingVus,
  kConstantArrivalRate,
  kRampingArrivalRate,
  kExternallyControlled,
};

// k6's executor names ("shared-iterations", ...); false for an unknown name.
bool parse_executor(const std::string& name, Executor& out);
const char* executor_name(Executor e);

struct Stage {
  Duration duration{0};
  int64_t target = 0;
  bool has_duration = false;
  bool has_target = false;
};

// Which units (VUs, iterations) of a whole test an execution segment runs: unit u when
// u mod period is one of `positions` (ascending); all of them when period is 0
// (config/segment.h).
struct UnitStripe {
  int64_t period = 0;
  std::vector<int64_t> positions;
  bool owns(int64_t unit) const;
  // How many of the units 0..total-1 are owned.
  int64_t share(int64_t total) const;
};

struct Scenario {
  std::string name;
  Executor executor = Executor::kConstantVus;
  bool has_executor = false;
  Duration start_time{0};
  Duration graceful_stop = std::chrono::seconds(30);
  bool has_graceful_stop = false;
  std::string exec = "default";
  bool has_exec = false;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> tags;
  // constant-vus, shared-iterations, per-vu-iterations, externally-controlled
  int64_t vus = 1;
  int64_t iterations = 1;
  Duration duration{0};
  bool has_duration = false;
  Duration max_duration = std::chrono::minutes(10);
  // ramping-vus and ramping-arrival-rate
  int64_t start_vus = 1;
  std::vector<Stage> stages;
  Duration graceful_ramp_down = std::chrono::seconds(30);
  // arrival-rate executors
  int64_t rate = 0;
  bool has_rate = false;
  int64_t start_rate = 0;
  Duration time_unit = std::chrono::seconds(1);
  int64_t pre_allocated_vus = 0;
  bool has_pre_allocated_vus = false;
  int64_t max_vus = 0;
  bool has_max_vus = false;
  // An execution segment's part (config/segment.h): ramping-vus runs the global VUs k
  // (1-based) with vu_stripe.owns(k - 1); arrival-rate executors start the global
  // iterations g (0-based) with arrival_stripe.owns(g), which are rate_share of the rate.
  // Other counts (vus, iterations, preAllocatedVUs, maxVUs) are already this share.
  UnitStripe vu_stripe;
  UnitStripe arrival_stripe;
  double rate_share = 1;
};

// True when an execution segment leaves the scenario nothing to run here.
bool runs_nothing(const Scenario& s);

// k6's validation messages for one scenario (empty when valid), in k6's order.
std::vector<std::string> validate(const Scenario& s);

// When the scenario stops starting iterations, relative to its own start.
Duration regular_duration(const Scenario& s);

// One step of a VU plan: from `at` on, `planned` VUs are reserved (and `unplanned` more may
// be created on demand by arrival-rate executors).
struct PlanStep {
  Duration at{0};
  int64_t planned = 0;
  int64_t unplanned = 0;
};
// The scenario's plan, offset by its startTime; the last step has 0 VUs.
std::vector<PlanStep> plan(const Scenario& s);

struct RunPlan {
  int64_t initial_vus = 0;  // max of summed planned VUs: the initial vus_max
  int64_t max_vus = 0;      // max of summed planned + unplanned: the header's "max VUs"
  Duration max_duration{0};
};
RunPlan summarize(const std::vector<Scenario>& scenarios);

// ramping-vus: the number of VUs k6's plan asks for at time t (relative to the scenario
// start), before the regular end.
int64_t ramping_vus_at(int64_t start_vus, const std::vector<Stage>& stages, Duration t);

// ramping-vus: the intervals [start, stop) during which VU k (1-based) is active.
std::vector<std::pair<Duration, Duration>> ramping_vu_intervals(int64_t start_vus,
                                                                const std::vector<Stage>& stages,
                                                                int64_t k);

// ramping-arrival-rate: when iteration n (1-based) is due, or a negative duration when the
// stages end first.
class RampingArrivalSchedule {
 public:
  RampingArrivalSchedule(int64_t start_rate, Duration time_unit, const std::vector<Stage>& stages);
  Duration due(uint64_t n) const;
  // The current rate in iterations per second at time t (for the progress line).
  double rate_per_second_at(Duration t) const;

 private:
  struct Piece {
    double start_ns, length_ns, a, b;  // rates in iterations per nanosecond
    double area_before;
  };
  std::vector<Piece> pieces_;
  double total_area_ = 0;
};

// The header description of a scenario (§2.3), e.g. "10 looping VUs for 30s
// (gracefulStop: 30s)".
std::string describe(const Scenario& s);

// Scenarios ordered by (startTime, name).
void sort_scenarios(std::vector<Scenario>& scenarios);

}  // namespace faultline::loadgen
