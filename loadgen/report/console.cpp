#include "loadgen/report/console.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/go_quote.h"

namespace faultline::loadgen {
namespace {

double seconds_of(Duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string pad_number(int64_t v, int64_t max) {
  std::string digits = std::to_string(max);
  std::string text = std::to_string(v);
  if (text.size() < digits.size()) text.insert(0, digits.size() - text.size(), '0');
  return text;
}

std::string two_decimals(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Display width of UTF-8 text (one column per code point).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

namespace {

// logrus quotes a value unless it is made only of these characters; quoting is Go's %q.
bool needs_quoting(const std::string& text) {
  if (text.empty()) return true;
  for (unsigned char c : text) {
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' ||
          c == '+')) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string log_field(const std::string& key, const std::string& value) {
  return key + "=" + (needs_quoting(value) ? go_quote(value) : value);
}

namespace {
std::atomic<bool> g_verbose{false};
}  // namespace

void set_verbose(bool on) {
  g_verbose.store(on, std::memory_order_relaxed);
}

bool verbose() {
  return g_verbose.load(std::memory_order_relaxed);
}

void log_line(const std::string& level, const std::string& msg, const std::string& fields) {
  if (level == "debug" && !verbose()) return;
  char when[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = "time=\"" + std::string(when) + "\" level=" + level +
                     " msg=" + (needs_quoting(msg) ? go_quote(msg) : msg);
  if (!fields.empty()) line += " " + fields;
  line += "\n";
  std::fputs(line.c_str(), stderr);
}

std::string fixed_width_duration(double seconds, double reference_s) {
  int64_t tenths = std::llround(seconds * 10);
  int64_t t = tenths % 10;
  int64_t total = tenths / 10;
  int64_t s = total % 60, m = (total / 60) % 60, h = (total / 3600) % 24, d = total / 86400;
  char buf[64];
  if (reference_s < 10) {
    std::snprintf(buf, sizeof buf, "%lld.%llds", static_cast<long long>(total),
                  static_cast<long long>(t));
  } else if (reference_s < 60) {
    std::snprintf(buf, sizeof buf, "%02lld.%llds", static_cast<long long>(total),
                  static_cast<long long>(t));
  } else if (reference_s < 600) {
    std::snprintf(buf, sizeof buf, "%lldm%02lld.%llds", static_cast<long long>(total / 60),
                  static_cast<long long>(s), static_cast<long long>(t));
  } else if (reference_s < 3600) {
    std::snprintf(buf, sizeof buf, "%02lldm%02lld.%llds", static_cast<long long>(total / 60),
                  static_cast<long long>(s), static_cast<long long>(t));
  } else if (reference_s < 36000) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02lld.%llds", static_cast<long long>(total / 3600),
                  static_cast<long long>(m), static_cast<long long>(s), static_cast<long long>(t));
  } else if (reference_s < 86400) {
    std::snprintf(buf, sizeof buf, "%02lldh%02lldm%02lld.%llds",
                  static_cast<long long>(total / 3600), static_cast<long long>(m),
                  static_cast<long long>(s), static_cast<long long>(t));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm%02lld.%llds", static_cast<long long>(d),
                  static_cast<long long>(h), static_cast<long long>(m), static_cast<long long>(s),
                  static_cast<long long>(t));
  }
  return buf;
}

std::string run_header(const std::string& script, const std::vector<std::string>& outputs,
                       const std::vector<Scenario>& scenarios, const RunPlan& plan,
                       const std::string& share) {
  std::string out = "\n     execution: local\n        script: " + script + "\n        output: ";
  if (outputs.empty()) {
    out += "-";
  } else {
    for (size_t i = 0; i < outputs.size(); ++i) out += (i ? ", " : "") + outputs[i];
  }
  // The max duration is printed after rounding to 100 ms.
  Duration rounded = std::chrono::milliseconds(
      (std::chrono::duration_cast<std::chrono::milliseconds>(plan.max_duration).count() + 50) /
      100 * 100);
  out += "\n\n     scenarios: " + share + " " + std::to_string(scenarios.size()) +
         (scenarios.size() == 1 ? " scenario, " : " scenarios, ") + std::to_string(plan.max_vus) +
         " max VUs, " + format_go_duration(rounded) + " max duration (incl. graceful stop):\n";
  for (const auto& s : scenarios) out += "              * " + s.name + ": " + describe(s) + "\n";
  out += "\n";
  return out;
}

std::string progress_block(const Progress& p, const std::vector<Scenario>& scenarios,
                           const RunPlan& plan, bool tty) {
  double max_s = seconds_of(plan.max_duration);
  std::string out = "\nrunning (" + fixed_width_duration(p.elapsed_s, max_s) + "), " +
                    pad_number(p.active_vus, plan.max_vus) + "/" + std::to_string(plan.max_vus) +
                    " VUs, " + std::to_string(p.completed) + " complete and " +
                    std::to_string(p.interrupted) + " interrupted iterations\n";
  size_t label = 4;  // "Init"
  for (const auto& s : scenarios) label = std::max(label, std::min<size_t>(s.name.size(), 30));

  struct Line {
    std::string name, status;
    double fraction;
    std::vector<std::string> columns;
  };
  std::vector<Line> lines;
  for (size_t i = 0; i < scenarios.size() && i < p.scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    const ScenarioProgress& sp = p.scenarios[i];
    Line l;
    l.name = s.name.size() > 30 ? s.name.substr(0, 27) + "..." : s.name;
    double since = p.scenarios_elapsed_s - seconds_of(s.start_time);
    double regular = seconds_of(regular_duration(s));
    double elapsed = std::clamp(since, 0.0, regular);
    bool waiting = since < 0;
    bool ended = since >= regular;
    std::string time_column;
    if (ended) {
      time_column = format_go_duration(regular_duration(s));
    } else if (s.executor == Executor::kRampingVus) {
      time_column =
          fixed_width_duration(elapsed, regular) + "/" + fixed_width_duration(regular, regular);
    } else {
      time_column =
          fixed_width_duration(elapsed, regular) + "/" + format_go_duration(regular_duration(s));
    }
    uint64_t done = sp.completed + sp.interrupted;
    switch (s.executor) {
      case Executor::kConstantVus:
        l.columns = {std::to_string(s.vus) + " VUs", time_column};
        l.fraction = regular > 0 ? elapsed / regular : 1;
        break;
      case Executor::kSharedIterations:
        l.columns = {std::to_string(s.vus) + " VUs", time_column,
                     pad_number(static_cast<int64_t>(done), s.iterations) + "/" +
                         std::to_string(s.iterations) + " shared iters"};
        l.fraction = static_cast<double>(done) / static_cast<double>(s.iterations);
        break;
      case Executor::kPerVuIterations: {
        int64_t total = s.iterations * s.vus;
        l.columns = {std::to_string(s.vus) + " VUs", time_column,
                     pad_number(static_cast<int64_t>(done), total) + "/" + std::to_string(total) +
                         " iters, " + std::to_string(s.iterations) + " per VU"};
        l.fraction = static_cast<double>(done) / static_cast<double>(total);
        break;
      }
      case Executor::kRampingVus: {
        int64_t peak = s.start_vus;
        for (const auto& st : s.stages) peak = std::max(peak, st.target);
        peak = s.vu_stripe.share(peak);  // an execution segment's own VUs
        l.columns = {pad_number(sp.active, peak) + "/" + std::to_string(peak) + " VUs",
                     time_column};
        l.fraction = regular > 0 ? elapsed / regular : 1;
        break;
      }
      case Executor::kConstantArrivalRate:
      case Executor::kRampingArrivalRate: {
        int64_t max_vus = s.has_max_vus ? s.max_vus : s.pre_allocated_vus;
        double rate = static_cast<double>(s.rate) * 1e9 / static_cast<double>(s.time_unit.count());
        if (s.executor == Executor::kRampingArrivalRate) {
          RampingArrivalSchedule sched(s.start_rate, s.time_unit, s.stages);
          rate = sched.rate_per_second_at(
              std::chrono::duration_cast<Duration>(std::chrono::duration<double>(elapsed)));
        }
        rate *= s.rate_share;
        l.columns = {
            pad_number(sp.active, max_vus) + "/" + pad_number(sp.created, max_vus) + " VUs",
            time_column, two_decimals(rate) + " iters/s"};
        l.fraction = regular > 0 ? elapsed / regular : 1;
        break;
      }
      case Executor::kExternallyControlled:
        l.fraction = 0;
        break;
    }
    l.fraction = std::clamp(l.fraction, 0.0, 1.0);
    if (waiting) {
      l.status = "\xe2\x80\xa2";  // •
      l.columns = {"waiting", fixed_width_duration(-since, seconds_of(s.start_time))};
      l.fraction = 0;
    } else if (sp.finished && sp.started) {
      l.status = l.fraction >= 1 ? "\xe2\x9c\x93" : "\xe2\x9c\x97";  // ✓ / ✗
    } else if (ended) {
      l.status = "\xe2\x86\x93";  // ↓
    } else {
      l.status = " ";
    }
    lines.push_back(std::move(l));
  }
  std::vector<size_t> widths;
  for (const auto& l : lines) {
    for (size_t c = 0; c < l.columns.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], width(l.columns[c]));
    }
  }
  for (const auto& l : lines) {
    std::string line = l.name + std::string(label - width(l.name), ' ') + " " + l.status + " ";
    int percent = static_cast<int>(std::lround(l.fraction * 100));
    if (tty) {
      int filled = static_cast<int>(std::floor(l.fraction * 38));
      line += "[";
      for (int c = 0; c < 38; ++c) {
        if (c < filled) {
          line += (c == filled - 1 && filled < 38) ? ">" : "=";
        } else {
          line += "-";
        }
      }
      line += "]";
    } else {
      char bar[16];
      std::snprintf(bar, sizeof bar, "[ %3d%% ]", percent);
      line += bar;
    }
    for (size_t c = 0; c < l.columns.size(); ++c) {
      line += " " + l.columns[c];
      if (c + 1 < l.columns.size()) line += std::string(widths[c] + 1 - width(l.columns[c]), ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace faultline::loadgen
