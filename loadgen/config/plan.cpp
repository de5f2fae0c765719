#include "loadgen/config/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace faultline::loadgen {
namespace {

constexpr int64_t kMaxVuLimit = 100000000;

using std::chrono::seconds;

int64_t ns(Duration d) {
  return d.count();
}

struct ExecutorName {
  const char* name;
  Executor executor;
};
constexpr ExecutorName kExecutors[] = {
    {"shared-iterations", Executor::kSharedIterations},
    {"per-vu-iterations", Executor::kPerVuIterations},
    {"constant-vus", Executor::kConstantVus},
    {"ramping-vus", Executor::kRampingVus},
    {"constant-arrival-rate", Executor::kConstantArrivalRate},
    {"ramping-arrival-rate", Executor::kRampingArrivalRate},
    {"externally-controlled", Executor::kExternallyControlled},
};

Duration stages_total(const std::vector<Stage>& stages) {
  Duration total{0};
  for (const auto& st : stages) total += st.duration;
  return total;
}

void validate_stages(const std::vector<Stage>& stages, std::vector<std::string>& errors) {
  if (stages.empty()) {
    errors.push_back("at least one stage has to be specified");
    return;
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string n = std::to_string(i + 1);
    const Stage& st = stages[i];
    if (!st.has_duration) {
      errors.push_back("stage " + n + " doesn't have a duration");
    } else if (st.duration.count() < 0) {
      errors.push_back("the duration for stage " + n + " can't be negative");
    }
    if (!st.has_target) {
      errors.push_back("stage " + n + " doesn't have a target");
    } else if (st.target < 0) {
      errors.push_back("the target for stage " + n + " can't be negative");
    } else if (st.target > kMaxVuLimit) {
      errors.push_back("target for stage " + n + " exceeds max limit of 100000000");
    }
  }
}

void validate_duration(const Scenario& s, std::vector<std::string>& errors) {
  if (!s.has_duration) {
    errors.push_back("the duration is unspecified");
  } else if (s.duration < seconds(1)) {
    errors.push_back("the duration must be at least 1s, but is " + format_go_duration(s.duration));
  }
}

void validate_arrival_vus(const Scenario& s, std::vector<std::string>& errors) {
  if (!s.has_pre_allocated_vus) {
    errors.push_back("the number of preAllocatedVUs isn't specified");
  } else if (s.pre_allocated_vus < 0) {
    errors.push_back("the number of preAllocatedVUs can't be negative");
  }
  if (s.has_max_vus && s.max_vus < s.pre_allocated_vus) {
    errors.push_back("maxVUs can't be less than preAllocatedVUs");
  }
}

int64_t max_vus_of(const Scenario& s) {
  return s.has_max_vus ? s.max_vus : s.pre_allocated_vus;
}

// k6's ramping-vus plan with VUs reserved for gracefulRampDown after every decrease
// (§2.3): a drop is planned only once the grace has passed without the count coming back.
std::vector<PlanStep> ramping_vus_plan(const Scenario& s) {
  // The raw step function: one step per change of the active count.
  std::vector<PlanStep> raw;
  raw.push_back({Duration{0}, s.start_vus, 0});
  int64_t from = s.start_vus;
  Duration offset{0};
  for (const auto& st : s.stages) {
    int64_t to = st.target;
    if (st.duration.count() == 0 || from == to) {
      if (from != to) raw.push_back({offset, to, 0});
    } else if (to > from) {
      for (int64_t k = from + 1; k <= to; ++k) {
        __int128 back = static_cast<__int128>(ns(st.duration)) * (to - k) / (to - from);
        raw.push_back({offset + st.duration - Duration(static_cast<int64_t>(back)), k, 0});
      }
    } else {
      for (int64_t k = from; k > to; --k) {
        __int128 back = static_cast<__int128>(ns(st.duration)) * (k - 1 - to) / (from - to);
        raw.push_back({offset + st.duration - Duration(static_cast<int64_t>(back)), k - 1, 0});
      }
    }
    offset += st.duration;
    from = to;
  }
  raw.push_back({offset, 0, 0});
  // An execution segment runs the global VUs it owns: of the first k, share(k).
  for (auto& r : raw) r.planned = s.vu_stripe.share(r.planned);
  // Several changes at one instant: the last one holds.
  std::vector<PlanStep> steps;
  for (const auto& r : raw) {
    if (!steps.empty() && steps.back().at == r.at) {
      steps.back() = r;
    } else {
      steps.push_back(r);
    }
  }
  Duration end = offset + s.graceful_stop;
  std::vector<PlanStep> out;
  int64_t last = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const PlanStep& st = steps[i];
    if (i == 0 || st.planned > last) {
      out.push_back(st);
      last = st.planned;
      continue;
    }
    if (st.planned == last) continue;
    Duration deadline = st.at + s.graceful_ramp_down;
    bool back_up = false;
    for (size_t j = i + 1; j < steps.size() && steps[j].at <= deadline; ++j) {
      if (steps[j].planned >= last) {
        i = j;  // the reserved VUs cover everything up to here
        back_up = true;
        break;
      }
    }
    if (back_up) {
      if (steps[i].planned > last) {
        out.push_back(steps[i]);
        last = steps[i].planned;
      }
      continue;
    }
    if (deadline >= end) break;
    out.push_back({deadline, st.planned, 0});
    last = st.planned;
  }
  out.push_back({end, 0, 0});
  return out;
}

std::string rate_text(double rate, Duration time_unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", rate * 1e9 / static_cast<double>(ns(time_unit)));
  return buf;
}

}  // namespace

bool parse_executor(const std::string& name, Executor& out) {
  for (const auto& e : kExecutors) {
    if (name == e.name) {
      out = e.executor;
      return true;
    }
  }
  return false;
}

const char* executor_name(Executor e) {
  for (const auto& x : kExecutors) {
    if (x.executor == e) return x.name;
  }
  return "";
}

std::vector<std::string> validate(const Scenario& s) {
  std::vector<std::string> errors;
  if (s.start_time.count() < 0) errors.push_back("the startTime can't be negative");
  if (s.graceful_stop.count() < 0) errors.push_back("the gracefulStop timeout can't be negative");
  switch (s.executor) {
    case Executor::kSharedIterations:
    case Executor::kPerVuIterations:
      if (s.vus <= 0) errors.push_back("the number of VUs must be more than 0");
      if (s.executor == Executor::kSharedIterations) {
        if (s.iterations < s.vus) {
          errors.push_back("the number of iterations (" + std::to_string(s.iterations) +
                           ") can't be less than the number of VUs (" + std::to_string(s.vus) +
                           ")");
        }
      } else if (s.iterations <= 0) {
        errors.push_back("the number of iterations must be more than 0");
      }
      if (s.max_duration < seconds(1)) {
        errors.push_back("the maxDuration must be at least 1s, but is " +
                         format_go_duration(s.max_duration));
      }
      break;
    case Executor::kConstantVus:
      if (s.vus <= 0) errors.push_back("the number of VUs must be more than 0");
      validate_duration(s, errors);
      break;
    case Executor::kRampingVus: {
      if (s.start_vus < 0) errors.push_back("the number of start VUs can't be negative");
      if (s.start_vus > kMaxVuLimit) errors.push_back("the startVUs exceed max limit of 100000000");
      validate_stages(s.stages, errors);
      int64_t peak = s.start_vus;
      for (const auto& st : s.stages) peak = std::max(peak, st.target);
      if (peak <= 0) {
        errors.push_back(
            "either startVUs or one of the stages' target values must be greater than 0");
      }
      break;
    }
    case Executor::kConstantArrivalRate:
      if (!s.has_rate) {
        errors.push_back("the iteration rate isn't specified");
      } else if (s.rate <= 0) {
        errors.push_back("the iteration rate must be more than 0");
      } else if (s.time_unit.count() > 0 && s.time_unit.count() / s.rate == 0) {
        errors.push_back("the iteration rate can't be more than one per nanosecond");
      }
      if (s.time_unit.count() <= 0) errors.push_back("the timeUnit must be more than 0");
      validate_duration(s, errors);
      validate_arrival_vus(s, errors);
      break;
    case Executor::kRampingArrivalRate:
      if (s.start_rate < 0) errors.push_back("the startRate value can't be negative");
      if (s.time_unit.count() <= 0) errors.push_back("the timeUnit must be more than 0");
      validate_stages(s.stages, errors);
      validate_arrival_vus(s, errors);
      break;
    case Executor::kExternallyControlled:
      errors.push_back(
          "the externally-controlled executor needs k6's REST API, which loadgen does not "
          "have");
      break;
  }
  if (s.has_exec && s.exec.empty()) errors.push_back("exec value cannot be empty");
  return errors;
}

Duration regular_duration(const Scenario& s) {
  switch (s.executor) {
    case Executor::kSharedIterations:
    case Executor::kPerVuIterations:
      return s.max_duration;
    case Executor::kRampingVus:
    case Executor::kRampingArrivalRate:
      return stages_total(s.stages);
    default:
      return s.duration;
  }
}

bool UnitStripe::owns(int64_t unit) const {
  return period == 0 || std::binary_search(positions.begin(), positions.end(), unit % period);
}

int64_t UnitStripe::share(int64_t total) const {
  if (period == 0 || total <= 0) return std::max<int64_t>(total, 0);
  auto rest = std::lower_bound(positions.begin(), positions.end(), total % period);
  return total / period * static_cast<int64_t>(positions.size()) + (rest - positions.begin());
}

bool runs_nothing(const Scenario& s) {
  switch (s.executor) {
    case Executor::kRampingVus: {
      int64_t peak = s.start_vus;
      for (const auto& st : s.stages) peak = std::max(peak, st.target);
      return s.vu_stripe.share(peak) == 0;
    }
    case Executor::kConstantArrivalRate:
    case Executor::kRampingArrivalRate:
      return s.rate_share <= 0;
    default:
      return s.vus <= 0;
  }
}

std::vector<PlanStep> plan(const Scenario& s) {
  std::vector<PlanStep> steps;
  Duration end = regular_duration(s) + s.graceful_stop;
  switch (s.executor) {
    case Executor::kRampingVus:
      steps = ramping_vus_plan(s);
      break;
    case Executor::kConstantArrivalRate:
    case Executor::kRampingArrivalRate:
      steps = {{Duration{0}, s.pre_allocated_vus, max_vus_of(s) - s.pre_allocated_vus},
               {end, 0, 0}};
      break;
    default:
      steps = {{Duration{0}, s.vus, 0}, {end, 0, 0}};
      break;
  }
  for (auto& st : steps) st.at += s.start_time;
  return steps;
}

RunPlan summarize(const std::vector<Scenario>& scenarios) {
  std::vector<std::vector<PlanStep>> plans;
  std::set<int64_t> times;
  RunPlan out;
  for (const auto& s : scenarios) {
    plans.push_back(plan(s));
    for (const auto& st : plans.back()) times.insert(ns(st.at));
    out.max_duration = std::max(out.max_duration, plans.back().back().at);
  }
  for (int64_t t : times) {
    int64_t planned = 0, unplanned = 0;
    for (const auto& p : plans) {
      const PlanStep* current = nullptr;
      for (const auto& st : p) {
        if (ns(st.at) > t) break;
        current = &st;
      }
      if (current) {
        planned += current->planned;
        unplanned += current->unplanned;
      }
    }
    out.initial_vus = std::max(out.initial_vus, planned);
    out.max_vus = std::max(out.max_vus, planned + unplanned);
  }
  return out;
}

int64_t ramping_vus_at(int64_t start_vus, const std::vector<Stage>& stages, Duration t) {
  int64_t from = start_vus;
  Duration offset{0};
  for (const auto& st : stages) {
    if (t < offset + st.duration) {
      __int128 elapsed = ns(t - offset);
      __int128 d = ns(st.duration);
      if (st.target >= from) {
        return from + static_cast<int64_t>((st.target - from) * elapsed / d);
      }
      return from - static_cast<int64_t>((from - st.target) * elapsed / d);
    }
    offset += st.duration;
    from = st.target;
  }
  return 0;  // the regular end
}

std::vector<std::pair<Duration, Duration>> ramping_vu_intervals(int64_t start_vus,
                                                                const std::vector<Stage>& stages,
                                                                int64_t k) {
  std::vector<std::pair<Duration, Duration>> out;
  bool active = start_vus >= k;
  Duration since{0};
  int64_t from = start_vus;
  Duration offset{0};
  for (const auto& st : stages) {
    int64_t to = st.target;
    if (!active && from < k && k <= to) {
      Duration at = offset;
      if (st.duration.count() > 0) {
        __int128 back = static_cast<__int128>(ns(st.duration)) * (to - k) / (to - from);
        at = offset + st.duration - Duration(static_cast<int64_t>(back));
      }
      active = true;
      since = at;
    } else if (active && to < k && k <= from) {
      Duration at = offset;
      if (st.duration.count() > 0) {
        __int128 back = static_cast<__int128>(ns(st.duration)) * (k - 1 - to) / (from - to);
        at = offset + st.duration - Duration(static_cast<int64_t>(back));
      }
      active = false;
      if (at > since) out.emplace_back(since, at);
    }
    offset += st.duration;
    from = to;
  }
  if (active && offset > since) out.emplace_back(since, offset);
  return out;
}

RampingArrivalSchedule::RampingArrivalSchedule(int64_t start_rate, Duration time_unit,
                                               const std::vector<Stage>& stages) {
  double unit = static_cast<double>(ns(time_unit));
  double a = static_cast<double>(start_rate) / unit;
  double start = 0;
  for (const auto& st : stages) {
    double b = static_cast<double>(st.target) / unit;
    double d = static_cast<double>(ns(st.duration));
    pieces_.push_back({start, d, a, b, total_area_});
    total_area_ += (a + b) / 2 * d;
    start += d;
    a = b;
  }
}

Duration RampingArrivalSchedule::due(uint64_t n) const {
  const double want = static_cast<double>(n);
  for (const auto& p : pieces_) {
    double area = (p.a + p.b) / 2 * p.length_ns;
    if (p.area_before + area + 1e-9 < want) continue;
    double m = want - p.area_before;
    double x;
    if (p.a == p.b) {
      x = m / p.a;
    } else {
      double radicand = p.length_ns * (p.a * p.a * p.length_ns + 2 * m * (p.b - p.a));
      x = (p.a * p.length_ns - std::sqrt(std::max(0.0, radicand))) / (p.a - p.b);
    }
    x = std::clamp(x, 0.0, p.length_ns);
    return Duration(static_cast<int64_t>(std::llround(p.start_ns + x)));
  }
  return Duration(-1);
}

double RampingArrivalSchedule::rate_per_second_at(Duration t) const {
  double at = static_cast<double>(ns(t));
  for (const auto& p : pieces_) {
    if (at < p.start_ns + p.length_ns) {
      double f = p.length_ns > 0 ? (at - p.start_ns) / p.length_ns : 1;
      return (p.a + (p.b - p.a) * f) * 1e9;
    }
  }
  return pieces_.empty() ? 0 : pieces_.back().b * 1e9;
}

std::string describe(const Scenario& s) {
  std::string text;
  std::vector<std::string> facts;
  switch (s.executor) {
    case Executor::kSharedIterations:
      text = std::to_string(s.iterations) + " iterations shared among " + std::to_string(s.vus) +
             " VUs";
      facts.push_back("maxDuration: " + format_go_duration(s.max_duration));
      break;
    case Executor::kPerVuIterations:
      text = std::to_string(s.iterations) + " iterations for each of " + std::to_string(s.vus) +
             " VUs";
      facts.push_back("maxDuration: " + format_go_duration(s.max_duration));
      break;
    case Executor::kConstantVus:
      text = std::to_string(s.vus) + " looping VUs for " + format_go_duration(s.duration);
      break;
    case Executor::kRampingVus: {
      int64_t peak = s.start_vus;
      for (const auto& st : s.stages) peak = std::max(peak, st.target);
      text = "Up to " + std::to_string(s.vu_stripe.share(peak)) + " looping VUs for " +
             format_go_duration(stages_total(s.stages)) + " over " +
             std::to_string(s.stages.size()) + " stages";
      facts.push_back("gracefulRampDown: " + format_go_duration(s.graceful_ramp_down));
      break;
    }
    case Executor::kConstantArrivalRate:
    case Executor::kRampingArrivalRate: {
      std::string vus = std::to_string(s.pre_allocated_vus);
      if (max_vus_of(s) != s.pre_allocated_vus) vus += "-" + std::to_string(max_vus_of(s));
      if (s.executor == Executor::kConstantArrivalRate) {
        text = rate_text(static_cast<double>(s.rate) * s.rate_share, s.time_unit) +
               " iterations/s for " + format_go_duration(s.duration);
      } else {
        int64_t peak = s.start_rate;
        for (const auto& st : s.stages) peak = std::max(peak, st.target);
        text = "Up to " + rate_text(static_cast<double>(peak) * s.rate_share, s.time_unit) +
               " iterations/s for " + format_go_duration(stages_total(s.stages)) + " over " +
               std::to_string(s.stages.size()) + " stages";
      }
      facts.push_back("maxVUs: " + vus);
      break;
    }
    case Executor::kExternallyControlled:
      text = "Externally controlled execution";
      break;
  }
  if (s.has_exec) facts.push_back("exec: " + s.exec);
  if (s.start_time.count() > 0) facts.push_back("startTime: " + format_go_duration(s.start_time));
  if (s.graceful_stop.count() > 0) {
    facts.push_back("gracefulStop: " + format_go_duration(s.graceful_stop));
  }
  if (!facts.empty()) {
    text += " (";
    for (size_t i = 0; i < facts.size(); ++i) text += (i ? ", " : "") + facts[i];
    text += ")";
  }
  return text;
}

void sort_scenarios(std::vector<Scenario>& scenarios) {
  std::stable_sort(scenarios.begin(), scenarios.end(), [](const Scenario& a, const Scenario& b) {
    if (a.start_time != b.start_time) return a.start_time < b.start_time;
    return a.name < b.name;
  });
}

}  // namespace faultline::loadgen
