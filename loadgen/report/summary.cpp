#include "loadgen/report/summary.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "common/json.h"

namespace faultline::loadgen {
namespace {

const char kCheckMark[] = "\xe2\x9c\x93";  // ✓
const char kCrossMark[] = "\xe2\x9c\x97";  // ✗
const char kBlock[] = "\xe2\x96\x88";      // █
const char kArrow[] = "\xe2\x86\xb3";      // ↳
const char kDash[] = "\xe2\x80\x94";       // —
const char kMicro[] = "\xc2\xb5";          // µ

// ---------------------------------------------------------------------------------------
// Numbers as JavaScript prints them. k6 renders its summaries in JavaScript, so rounding
// and the shortest-form printing must follow ECMAScript, not printf.

// Number.prototype.toFixed: the decimal closest to x with `digits` decimals, ties going
// away from zero (printf would round half to even on exact binary ties such as 0.125).
std::string js_to_fixed(double x, int digits) {
  if (!std::isfinite(x)) return std::isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity");
  bool negative = x < 0;
  double a = std::fabs(x);
  // glibc prints the exact binary value when asked for enough decimals (a double has at
  // most 1074 of them), so the digit after the cut decides the rounding exactly.
  char buf[1500];
  std::snprintf(buf, sizeof buf, "%.1100f", a);
  std::string exact = buf;
  size_t dot = exact.find('.');
  std::string kept = exact.substr(0, dot) + exact.substr(dot + 1, static_cast<size_t>(digits));
  bool up = exact[dot + 1 + static_cast<size_t>(digits)] >= '5';
  if (up) {
    size_t i = kept.size();
    while (i > 0) {
      --i;
      if (kept[i] == '9') {
        kept[i] = '0';
      } else {
        ++kept[i];
        break;
      }
      if (i == 0) kept.insert(kept.begin(), '1');
    }
  }
  size_t int_len = kept.size() - static_cast<size_t>(digits);
  std::string out = kept.substr(0, int_len);
  if (digits > 0) out += "." + kept.substr(int_len);
  return negative ? "-" + out : out;
}

// Number.prototype.toString / JSON.stringify: the shortest digits that read back as the
// same double, written plainly between 1e-7 and 1e21 and in e-notation outside.
std::string js_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string text = buf;
  bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  size_t e = text.find('e');
  int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i) {
    if (text[i] != '.') digits.push_back(text[i]);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // where the decimal point goes, counted from the first digit
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return negative ? "-" + out : out;
}

// parseFloat(x.toFixed(digits)).toString(): fixed decimals without trailing zeros.
std::string fixed_trimmed(double x, int digits) {
  return js_number(std::strtod(js_to_fixed(x, digits).c_str(), nullptr));
}

// Cuts (does not round) to `digits` decimals first, as k6 does for durations.
std::string truncated_trimmed(double x, int digits) {
  double scale = std::pow(10, digits);
  return fixed_trimmed(std::trunc(scale * x) / scale, digits);
}

// Columns are aligned by what the terminal shows: one cell per code point.
size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) ++n;
  }
  return n;
}

std::string pad_to(std::string s, size_t width) {
  size_t w = display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

// ---------------------------------------------------------------------------------------
// Metric names: sub-metrics, ordering, sections.

std::string parent_of(const std::string& key) {
  return key.substr(0, key.find('{'));
}

bool is_submetric(const std::string& key) {
  return key.find('{') != std::string::npos;
}

// "http_req_duration{expected_response:true}" is shown as "{ expected_response:true }".
std::string display_name(const std::string& key, const MetricValue* m) {
  size_t brace = key.find('{');
  if (brace == std::string::npos) return key;
  std::string selector = m != nullptr && !m->selector.empty()
                             ? m->selector
                             : key.substr(brace + 1, key.size() - brace - 2);
  return "{ " + selector + " }";
}

// k6 sorts names with JavaScript's localeCompare (Unicode root collation): case is
// ignored at first, punctuation sorts before digits and digits before letters; only
// when two names are otherwise equal does lower case come first.
int collation_rank(unsigned char c) {
  static const std::string kOrder =
      " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";
  if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
  size_t at = kOrder.find(static_cast<char>(c));
  if (at != std::string::npos) return static_cast<int>(at) + 1;
  return c < 0x80 ? 0 : 200 + c;
}

int collate(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int ra = collation_rank(static_cast<unsigned char>(a[i]));
    int rb = collation_rank(static_cast<unsigned char>(b[i]));
    if (ra != rb) return ra < rb ? -1 : 1;
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = 0; i < n; ++i) {
    bool upper_a = a[i] >= 'A' && a[i] <= 'Z', upper_b = b[i] >= 'A' && b[i] <= 'Z';
    if (upper_a != upper_b) return upper_a ? 1 : -1;
  }
  return a.compare(b);
}

// Sorted by name with every sub-metric right after its parent.
bool metric_order(const std::string& a, const std::string& b) {
  int by_parent = collate(parent_of(a), parent_of(b));
  if (by_parent != 0) return by_parent < 0;
  return collate(a.substr(parent_of(a).size()), b.substr(parent_of(b).size())) < 0;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The 1.x layout's block for a metric, by name prefix (sub-metrics follow their parent);
// empty for names that are never listed there.
std::string section_of(const std::string& name) {
  if (starts_with(name, "checks") || starts_with(name, "group_duration")) return "";
  static const char* http[] = {
      "http_reqs",        "http_req_failed",     "http_req_duration",
      "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking",
      "http_req_sending", "http_req_waiting",    "http_req_receiving"};
  for (const char* p : http) {
    if (starts_with(name, p)) return "HTTP";
  }
  static const char* exec[] = {"vus", "vus_max", "iterations", "iteration_duration",
                               "dropped_iterations"};
  for (const char* p : exec) {
    if (starts_with(name, p)) return "EXECUTION";
  }
  if (starts_with(name, "data_sent") || starts_with(name, "data_received")) return "NETWORK";
  if (starts_with(name, "browser_web_vital_")) return "WEB_VITALS";
  if (starts_with(name, "browser_")) return "BROWSER";
  if (starts_with(name, "grpc_")) return "GRPC";
  if (starts_with(name, "ws_")) return "WEBSOCKET";
  return "CUSTOM";
}

const char* const kSections[] = {"CUSTOM",  "HTTP",       "EXECUTION", "NETWORK",
                                 "BROWSER", "WEB_VITALS", "GRPC",      "WEBSOCKET"};

// The HTTP phase trends that `compact` leaves out.
bool hidden_in_compact(const std::string& name) {
  static const char* hidden[] = {"http_req_blocked",         "http_req_connecting",
                                 "http_req_receiving",       "http_req_sending",
                                 "http_req_tls_handshaking", "http_req_waiting"};
  return std::any_of(std::begin(hidden), std::end(hidden),
                     [&](const char* h) { return starts_with(name, h); });
}

// ---------------------------------------------------------------------------------------
// Values.

double rate_fraction(const MetricValue& m) {
  return m.total > 0 ? m.count / m.total : 0;
}

double per_second(double count, double elapsed_s) {
  return elapsed_s > 0 ? count / elapsed_s : 0;
}

// A trend statistic in the metric's reported unit (ms for time trends); 0 when empty.
double trend_value(const MetricValue& m, std::string_view stat) {
  return m.trend == nullptr ? 0 : trend_stat(*m.trend, m.trend_scale, stat);
}

// A sub-metric that was declared in a threshold but never saw a sample is still reported,
// with zero values and its parent's type.
std::optional<MetricValue> empty_like_parent(const std::string& key,
                                             const std::map<std::string, MetricValue>& metrics) {
  if (!is_submetric(key)) return std::nullopt;
  auto parent = metrics.find(parent_of(key));
  if (parent == metrics.end()) return std::nullopt;
  MetricValue m;
  m.type = parent->second.type;
  m.trend_scale = parent->second.trend_scale;
  m.is_time = parent->second.is_time;
  m.is_data = parent->second.is_data;
  m.parent = parent->first;
  size_t brace = key.find('{');
  m.selector = key.substr(brace + 1, key.size() - brace - 2);
  std::string name;
  parse_metric_key(key, name, m.selector_tags);
  return m;
}

// Every metric the reports list: the observed ones, sub-metrics named by thresholds, and
// `checks` when checks ran but the caller did not pass the metric.
std::map<std::string, MetricValue> reported_metrics(const SummaryInput& in) {
  std::map<std::string, MetricValue> out;
  if (in.metrics != nullptr) out = *in.metrics;
  for (const auto& r : in.thresholds) {
    if (out.count(r.metric) != 0) continue;
    if (auto m = empty_like_parent(r.metric, out)) out.emplace(r.metric, *m);
  }
  if (out.count("checks") == 0 && !in.checks.empty()) {
    MetricValue checks;
    checks.type = MetricType::kRate;
    for (const auto& c : in.checks) {
      checks.count += static_cast<double>(c.passes);
      checks.total += static_cast<double>(c.passes + c.fails);
    }
    out.emplace("checks", checks);
  }
  return out;
}

// A value in the metric's unit, as both layouts print it (§6.7).
std::string humanize(double v, const MetricValue& m, const std::string& time_unit) {
  if (m.type == MetricType::kRate) return format_rate(v);
  if (m.is_data) return format_bytes(v);
  if (m.is_time) {
    if (time_unit == "s") return js_to_fixed(v * 0.001, 2) + "s";
    if (time_unit == "ms") return js_to_fixed(v, 2) + "ms";
    if (time_unit == "us") return js_to_fixed(v * 1000, 2) + kMicro + "s";
    return format_time_ms(v);
  }
  return format_number(v);
}

std::string trend_cell(const MetricValue& m, const std::string& stat,
                       const std::string& time_unit) {
  if (stat == "count") return js_number(trend_value(m, stat));
  return humanize(trend_value(m, stat), m, time_unit);
}

// One line of a metrics table before alignment: trend cells, or the main value and its
// extras for the other types.
struct Row {
  std::string label;  // name, or "{ selector }" for a sub-metric
  size_t indent = 0;  // extra indent of a sub-metric
  std::string mark = " ";
  bool trend = false;
  std::vector<std::string> cells;
};

Row make_row(const std::string& key, const MetricValue& m, const SummaryOptions& opt,
             double elapsed_s) {
  Row row;
  row.label = display_name(key, &m);
  row.indent = is_submetric(key) ? 2 : 0;
  switch (m.type) {
    case MetricType::kTrend:
      row.trend = true;
      for (const auto& stat : opt.trend_stats)
        row.cells.push_back(trend_cell(m, stat, opt.time_unit));
      break;
    case MetricType::kCounter:
      row.cells = {humanize(m.count, m, opt.time_unit),
                   humanize(per_second(m.count, elapsed_s), m, opt.time_unit) + "/s"};
      break;
    case MetricType::kGauge:
      row.cells = {humanize(m.value, m, opt.time_unit), "min=" + humanize(m.min, m, opt.time_unit),
                   "max=" + humanize(m.max, m, opt.time_unit)};
      break;
    case MetricType::kRate:
      row.cells = {format_rate(rate_fraction(m)),
                   js_number(m.count) + " out of " + js_number(m.total)};
      break;
  }
  return row;
}

// Aligns a group of rows: names get dots so that the longest gets three, trend cells are
// padded per column, and the other types pad their main value and each extra column.
class Table {
 public:
  explicit Table(const std::vector<const Row*>& rows) {
    for (const Row* r : rows) {
      name_width_ = std::max(name_width_, r->indent + display_width(r->label));
      auto& widths = r->trend ? trend_widths_ : other_widths_;
      if (widths.size() < r->cells.size()) widths.resize(r->cells.size(), 0);
      for (size_t i = 0; i < r->cells.size(); ++i) {
        widths[i] = std::max(widths[i], display_width(r->cells[i]));
      }
    }
  }

  // "name.....: data" (without the leading indent and mark).
  std::string render(const Row& r, const std::vector<std::string>& trend_stats) const {
    std::string out = r.label;
    out.append(name_width_ + 3 - r.indent - display_width(r.label), '.');
    out += ": ";
    if (r.trend) {
      for (size_t i = 0; i < r.cells.size(); ++i) {
        if (i > 0) out += " ";
        out += trend_stats[i] + "=" + pad_to(r.cells[i], trend_widths_[i]);
      }
      return out;
    }
    out += pad_to(r.cells[0], other_widths_[0]);
    if (r.cells.size() == 2) {
      out += " " + r.cells[1];  // a lone extra is never padded
    } else {
      for (size_t i = 1; i < r.cells.size(); ++i) out += " " + pad_to(r.cells[i], other_widths_[i]);
    }
    return out;
  }

 private:
  size_t name_width_ = 0;
  std::vector<size_t> trend_widths_, other_widths_;
};

// Thresholds grouped by metric key, each group in declaration order.
std::map<std::string, std::vector<const ThresholdResult*>> thresholds_by_metric(
    const std::vector<ThresholdResult>& all) {
  std::map<std::string, std::vector<const ThresholdResult*>> out;
  for (const auto& r : all) out[r.metric].push_back(&r);
  return out;
}

std::vector<std::string> sorted_keys(const std::vector<std::string>& keys) {
  std::vector<std::string> out = keys;
  std::stable_sort(out.begin(), out.end(), metric_order);
  return out;
}

// "p(95)=140.08ms", "rate=0.41%", "rate=37.5/s" for the THRESHOLDS section.
std::string threshold_value_text(const ThresholdResult& r, const MetricValue& m,
                                 const SummaryInput& in) {
  const std::string& agg = r.threshold.aggregation;
  const std::string& unit = in.options.time_unit;
  switch (m.type) {
    case MetricType::kTrend:
      return agg + "=" + humanize(trend_value(m, agg), m, unit);
    case MetricType::kRate:
      return agg + "=" + format_rate(rate_fraction(m));
    case MetricType::kGauge:
      return agg + "=" + humanize(m.value, m, unit);
    case MetricType::kCounter:
      if (agg == "rate")
        return agg + "=" + humanize(per_second(m.count, in.elapsed_s), m, unit) + "/s";
      return agg + "=" + humanize(m.count, m, unit);
  }
  return agg;
}

// "✗ name" plus, for a check that failed at least once, the "↳  P% — ✓ n / ✗ m" line.
std::string check_lines(const CheckResult& c, const std::string& indent,
                        const std::string& detail_indent) {
  if (c.fails == 0) return indent + kCheckMark + " " + c.name;
  auto percent = (100 * c.passes) / (c.passes + c.fails);
  return indent + kCrossMark + " " + c.name + "\n" + detail_indent + kArrow + "  " +
         std::to_string(percent) + "% " + kDash + " " + kCheckMark + " " +
         std::to_string(c.passes) + " / " + kCrossMark + " " + std::to_string(c.fails);
}

// Builds text the way k6's renderer joins its pieces: every line starts with a newline,
// and a bare blank() adds just one.
class Lines {
 public:
  void line(const std::string& s) { out_ += "\n" + indent + s; }
  void blank() { out_ += "\n"; }
  const std::string& str() const { return out_; }
  std::string indent;  // before every line (nested GROUP sections)

 private:
  std::string out_;
};

// The checks and metric blocks of a TOTAL RESULTS or SCENARIO section.
void results_body(const std::map<std::string, MetricValue>& metrics,
                  const std::vector<CheckResult>& checks_list, const SummaryInput& in, bool full,
                  Lines& text) {
  // Checks: their three totals (aligned among themselves), then each check.
  auto checks = metrics.find("checks");
  if (checks != metrics.end() && checks->second.total > 0) {
    const MetricValue& c = checks->second;
    MetricValue total;
    total.type = MetricType::kCounter;
    total.count = c.total;
    MetricValue succeeded;
    succeeded.type = MetricType::kRate;
    succeeded.count = c.count;
    succeeded.total = c.total;
    MetricValue failed = succeeded;
    failed.count = c.total - c.count;
    std::vector<Row> rows = {make_row("checks_total", total, in.options, in.elapsed_s),
                             make_row("checks_succeeded", succeeded, in.options, in.elapsed_s),
                             make_row("checks_failed", failed, in.options, in.elapsed_s)};
    std::vector<const Row*> ptrs;
    for (const auto& r : rows) ptrs.push_back(&r);
    Table table(ptrs);
    for (const auto& r : rows) text.line("    " + table.render(r, in.options.trend_stats));
    text.blank();
    for (const auto& check : checks_list) text.line(check_lines(check, "    ", "      "));
    text.blank();
  }

  // Metric blocks, aligned together across the whole section.
  std::vector<std::string> keys;
  for (const auto& [key, m] : metrics) {
    if (section_of(key).empty() || (!full && hidden_in_compact(key))) continue;
    keys.push_back(key);
  }
  keys = sorted_keys(keys);
  std::map<std::string, Row> rows;
  std::vector<const Row*> ptrs;
  for (const auto& key : keys) {
    auto it = rows.emplace(key, make_row(key, metrics.at(key), in.options, in.elapsed_s)).first;
    ptrs.push_back(&it->second);
  }
  Table table(ptrs);
  for (const char* section : kSections) {
    bool any = false;
    for (const auto& key : keys) {
      if (section_of(key) != section) continue;
      if (!any) text.line(std::string("    ") + section);
      any = true;
      const Row& r = rows.at(key);
      text.line("    " + std::string(r.indent, ' ') + table.render(r, in.options.trend_stats));
    }
    if (any) text.blank();
  }
}

// k6 1.x layout (§6.5); `full` also lists the HTTP phase trends.
std::string modern_summary(const SummaryInput& in) {
  const auto metrics = reported_metrics(in);
  const auto declared = thresholds_by_metric(in.thresholds);
  const bool full = in.options.mode == "full";
  Lines text;

  if (!declared.empty()) {
    text.line(std::string("  ") + kBlock + " THRESHOLDS \n");
    std::vector<std::string> keys;
    for (const auto& [key, list] : declared) keys.push_back(key);
    for (const auto& key : sorted_keys(keys)) {
      bool nested = is_submetric(key) && declared.count(parent_of(key)) != 0;
      std::string indent = nested ? "      " : "    ";
      text.line(indent + (nested ? key.substr(parent_of(key).size()) : key));
      auto m = metrics.find(key);
      for (const ThresholdResult* r : declared.at(key)) {
        std::string l =
            indent + (r->ok ? kCheckMark : kCrossMark) + " '" + r->threshold.source + "'";
        if (m != metrics.end()) l += " " + threshold_value_text(*r, m->second, in);
        text.line(l);
      }
      text.blank();
    }
    text.blank();
  }

  text.line(std::string("  ") + kBlock + " TOTAL RESULTS \n");
  results_body(metrics, in.checks, in, full, text);
  // full: one section per top-level group in first-seen order, its sub-groups inside.
  if (full) {
    std::function<void(const GroupSection&, size_t)> group_section = [&](const GroupSection& g,
                                                                         size_t depth) {
      std::string name = g.path.substr(g.path.rfind("::") + 2);
      text.blank();
      if (depth == 0) {
        text.line(std::string("  ") + kBlock + " GROUP: " + name + " \n");
      } else {
        text.line("    ↳ GROUP: " + name + "\n");
      }
      std::string outer = text.indent;
      if (depth > 0) text.indent += "  ";
      results_body(g.metrics, g.checks, in, full, text);
      for (const auto& child : in.group_sections) {
        if (child.path.size() > g.path.size() + 2 && child.path.rfind(g.path + "::", 0) == 0 &&
            child.path.find("::", g.path.size() + 2) == std::string::npos) {
          group_section(child, depth + 1);
        }
      }
      text.indent = outer;
    };
    for (const auto& g : in.group_sections) {
      if (g.path.find("::", 2) == std::string::npos) group_section(g, 0);
    }
  }
  // full: one section per named scenario, from its own samples, sorted by name.
  if (full) {
    std::vector<const ScenarioSection*> sections;
    for (const auto& sc : in.scenarios) {
      if (sc.name != "default") sections.push_back(&sc);
    }
    std::sort(sections.begin(), sections.end(),
              [](const auto* a, const auto* b) { return a->name < b->name; });
    for (const auto* sc : sections) {
      text.blank();
      text.line(std::string("  ") + kBlock + " SCENARIO: " + sc->name + " \n");
      results_body(sc->metrics, sc->checks, in, full, text);
    }
  }
  text.blank();
  return "\n" + text.str() + "\n\n";
}

// The legacy layout (§6.6): root checks, then every metric in one sorted list with a
// threshold mark in front.
std::string legacy_summary(const SummaryInput& in) {
  const auto metrics = reported_metrics(in);
  const auto declared = thresholds_by_metric(in.thresholds);
  std::vector<std::string> lines;
  for (const auto& check : in.checks) lines.push_back(check_lines(check, "     ", "      "));
  if (!in.checks.empty()) lines.emplace_back();

  std::vector<std::string> keys;
  for (const auto& [key, m] : metrics) keys.push_back(key);
  keys = sorted_keys(keys);
  std::vector<Row> rows;
  for (const auto& key : keys) {
    Row r = make_row(key, metrics.at(key), in.options, in.elapsed_s);
    auto t = declared.find(key);
    if (t != declared.end()) {
      bool ok = std::all_of(t->second.begin(), t->second.end(),
                            [](const ThresholdResult* x) { return x->ok; });
      r.mark = ok ? kCheckMark : kCrossMark;
    }
    rows.push_back(std::move(r));
  }
  std::vector<const Row*> ptrs;
  for (const auto& r : rows) ptrs.push_back(&r);
  Table table(ptrs);
  for (const auto& r : rows) {
    lines.push_back("   " + std::string(r.indent, ' ') + r.mark + " " +
                    table.render(r, in.options.trend_stats));
  }
  std::string out = "\n";
  for (size_t i = 0; i < lines.size(); ++i) out += (i > 0 ? "\n" : "") + lines[i];
  return out + "\n\n";
}

// ---------------------------------------------------------------------------------------
// JSON, written as JSON.stringify writes it (k6 produces both files in JavaScript).

struct JsonMember;

struct Json {
  enum Kind { kNumber, kString, kBool, kObject, kArray, kRaw } kind = kObject;
  double number = 0;
  std::string text;
  bool flag = false;
  // A struct rather than std::pair: pair's constraints would need Json complete while Json
  // is being defined (clang rejects that).
  std::vector<JsonMember> members;
  std::vector<Json> items;

  static Json num(double v);
  static Json str(std::string s);
  static Json boolean(bool b);
  static Json array();
  static Json raw(std::string json);  // written as given
  Json& set(std::string key, Json value);

  // indent 0: compact; otherwise pretty-printed with that many spaces per level.
  void write(std::string& out, int indent, int depth = 0) const;
};

struct JsonMember {
  std::string key;
  Json value;
};

Json Json::num(double v) {
  Json j;
  j.kind = kNumber;
  j.number = v;
  return j;
}
Json Json::str(std::string s) {
  Json j;
  j.kind = kString;
  j.text = std::move(s);
  return j;
}
Json Json::boolean(bool b) {
  Json j;
  j.kind = kBool;
  j.flag = b;
  return j;
}
Json Json::array() {
  Json j;
  j.kind = kArray;
  return j;
}
Json Json::raw(std::string json) {
  Json j;
  j.kind = kRaw;
  j.text = std::move(json);
  return j;
}

void Json::write(std::string& out, int indent, int depth) const {
  std::string pad =
      indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
  std::string close =
      indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  switch (kind) {
    case kNumber:
      out += std::isfinite(number) ? js_number(number) : "null";
      return;
    case kString:
      json::append_quoted(out, text, false);
      return;
    case kBool:
      out += flag ? "true" : "false";
      return;
    case kRaw:
      out += text;
      return;
    case kArray:
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += "[";
      for (size_t i = 0; i < items.size(); ++i) {
        out += (i > 0 ? "," : "") + pad;
        items[i].write(out, indent, depth + 1);
      }
      out += close + "]";
      return;
    case kObject:
      if (members.empty()) {
        out += "{}";
        return;
      }
      out += "{";
      for (size_t i = 0; i < members.size(); ++i) {
        out += (i > 0 ? "," : "") + pad;
        json::append_quoted(out, members[i].key, false);
        out += indent > 0 ? ": " : ":";
        members[i].value.write(out, indent, depth + 1);
      }
      out += close + "}";
      return;
  }
}
Json& Json::set(std::string key, Json value) {
  members.push_back({std::move(key), std::move(value)});
  return members.back().value;
}

Json check_json(const CheckResult& c) {
  Json j;
  std::string path = c.group + "::" + c.name;
  j.set("name", Json::str(c.name));
  j.set("path", Json::str(path));
  j.set("id", Json::str(md5_hex(path)));
  j.set("passes", Json::num(static_cast<double>(c.passes)));
  j.set("fails", Json::num(static_cast<double>(c.fails)));
  return j;
}

// A group of the tree: its checks and sub-groups, as arrays (handleSummary data) or keyed
// by name (export).
Json group_json(const std::string& path, const SummaryInput& in, bool keyed) {
  Json g;
  g.set("name", Json::str(path.empty() ? "" : path.substr(path.rfind("::") + 2)));
  g.set("path", Json::str(path));
  g.set("id", Json::str(md5_hex(path)));
  Json& groups = g.set("groups", keyed ? Json() : Json::array());
  for (const auto& child : in.groups) {
    // Direct children only: "::a" is a child of "", "::a::b" of "::a".
    if (child.size() <= path.size() + 2 || child.compare(0, path.size(), path) != 0 ||
        child.compare(path.size(), 2, "::") != 0 ||
        child.find("::", path.size() + 2) != std::string::npos) {
      continue;
    }
    Json sub = group_json(child, in, keyed);
    if (keyed) {
      groups.set(child.substr(path.size() + 2), std::move(sub));
    } else {
      groups.items.push_back(std::move(sub));
    }
  }
  Json& checks = g.set("checks", keyed ? Json() : Json::array());
  for (const auto& c : in.checks) {
    if (c.group != path) continue;
    if (keyed) {
      checks.set(c.name, check_json(c));
    } else {
      checks.items.push_back(check_json(c));
    }
  }
  return g;
}

// root_group: checks and groups as arrays (handleSummary data) or keyed by name (export).
Json root_group_json(const SummaryInput& in, bool keyed) {
  return group_json("", in, keyed);
}

// The handleSummary "values" of one metric, in k6's key order.
Json metric_values_json(const MetricValue& m, const SummaryInput& in) {
  Json v;
  switch (m.type) {
    case MetricType::kTrend:
      for (const auto& stat : in.options.trend_stats) v.set(stat, Json::num(trend_value(m, stat)));
      break;
    case MetricType::kCounter:
      v.set("count", Json::num(m.count));
      v.set("rate", Json::num(per_second(m.count, in.elapsed_s)));
      break;
    case MetricType::kGauge:
      v.set("value", Json::num(m.value));
      v.set("min", Json::num(m.min));
      v.set("max", Json::num(m.max));
      break;
    case MetricType::kRate:
      v.set("rate", Json::num(rate_fraction(m)));
      v.set("passes", Json::num(m.count));
      v.set("fails", Json::num(m.total - m.count));
      break;
  }
  return v;
}

}  // namespace

std::vector<ThresholdResult> evaluate(const std::map<std::string, std::vector<Threshold>>& declared,
                                      const std::map<std::string, MetricValue>& metrics,
                                      double elapsed_s) {
  std::vector<ThresholdResult> out;
  for (const auto& [key, list] : declared) {
    std::optional<MetricValue> found;
    if (auto it = metrics.find(key); it != metrics.end()) {
      found = it->second;
    } else {
      found = empty_like_parent(key, metrics);
    }
    for (const auto& t : list) {
      ThresholdResult r;
      r.metric = key;
      r.threshold = t;
      if (found) {
        r.observed = aggregate(*found, t, elapsed_s);
        r.ok = !r.observed || compare(*r.observed, t.op, t.value);
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::string format_time_ms(double ms) {
  if (ms == 0) return "0s";
  if (ms < 0.001) return js_number(std::trunc(ms * 1e6)) + "ns";
  if (ms < 1) return truncated_trimmed(ms * 1000, 2) + kMicro + "s";
  if (ms < 1000) return truncated_trimmed(ms, 2) + "ms";
  std::string out = truncated_trimmed(std::fmod(ms, 60000) / 1000, ms > 60000 ? 0 : 2) + "s";
  double minutes = std::trunc(ms / 60000);
  if (minutes < 1) return out;
  out = js_number(std::fmod(minutes, 60)) + "m" + out;
  double hours = std::trunc(minutes / 60);
  if (hours < 1) return out;
  return js_number(hours) + "h" + out;
}

std::string format_bytes(double bytes) {
  if (bytes < 10) return js_number(bytes) + " B";
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  // The unit comes from floating-point logarithms, as in k6 (so 1e6 bytes is "1000 kB").
  auto e = static_cast<int>(std::floor(std::log(bytes) / std::log(1000.0)));
  e = std::clamp(e, 0, 8);
  double v = std::floor(bytes / std::pow(1000.0, e) * 10 + 0.5) / 10;
  return js_to_fixed(v, v < 10 ? 1 : 0) + " " + units[e];
}

std::string format_rate(double fraction) {
  return js_to_fixed(std::trunc(fraction * 100 * 100) / 100, 2) + "%";
}

std::string format_number(double v) {
  return fixed_trimmed(v, 6);
}

bool valid_trend_stat(std::string_view stat, std::string& err) {
  if (stat == "avg" || stat == "min" || stat == "med" || stat == "max" || stat == "count") {
    return true;
  }
  std::string text(stat);
  if (stat.size() < 3 || stat.substr(0, 2) != "p(" || stat.back() != ')') {
    err = "invalid trend stat '" + text + "', unknown format";
    return false;
  }
  // Go's strconv.ParseFloat: the whole text must be a number, no spaces around it.
  std::string inner(stat.substr(2, stat.size() - 3));
  char* end = nullptr;
  double p = inner.empty() || std::isspace(static_cast<unsigned char>(inner[0]))
                 ? std::nan("")
                 : std::strtod(inner.c_str(), &end);
  if (end != inner.c_str() + inner.size() || p < 0 || p > 100) {
    err = "invalid percentile trend stat value '" + text + "', provide a number between 0 and 100";
    return false;
  }
  return true;
}

bool valid_trend_stat(std::string_view stat) {
  std::string err;
  return valid_trend_stat(stat, err);
}

std::string console_summary(const SummaryInput& in) {
  if (in.options.mode == "legacy") return legacy_summary(in);
  return modern_summary(in);
}

std::string summary_export(const SummaryInput& in) {
  const auto metrics = reported_metrics(in);
  const auto declared = thresholds_by_metric(in.thresholds);
  Json root;
  root.set("root_group", root_group_json(in, true));
  Json& out = root.set("metrics", Json());
  for (const auto& [key, m] : metrics) {
    Json flat = metric_values_json(m, in);
    auto t = declared.find(key);
    if (t != declared.end()) {
      Json& th = flat.set("thresholds", Json());
      for (const ThresholdResult* r : t->second) th.set(r->threshold.source, Json::boolean(!r->ok));
    }
    if (m.type == MetricType::kRate) {
      // The export calls a rate's fraction "value" (and k6 moves it to the end).
      Json rate = flat.members.front().value;
      flat.members.erase(flat.members.begin());
      flat.set("value", rate);
    }
    out.set(key, std::move(flat));
  }
  if (!in.merge_state.empty()) root.set(kMergeStateKey, Json::raw(in.merge_state));
  std::string text;
  root.write(text, 4);
  return text;
}

std::string summary_data(const SummaryInput& in) {
  const auto metrics = reported_metrics(in);
  const auto declared = thresholds_by_metric(in.thresholds);
  Json root;
  root.set("root_group", root_group_json(in, false));
  Json& options = root.set("options", Json());
  Json& stats = options.set("summaryTrendStats", Json::array());
  for (const auto& s : in.options.trend_stats) stats.items.push_back(Json::str(s));
  options.set("summaryTimeUnit", Json::str(in.options.time_unit));
  options.set("noColor", Json::boolean(in.options.no_color));
  Json& state = root.set("state", Json());
  state.set("isStdOutTTY", Json::boolean(in.options.stdout_tty));
  state.set("isStdErrTTY", Json::boolean(in.options.stderr_tty));
  state.set("testRunDurationMs", Json::num(in.elapsed_s * 1000));
  Json& out = root.set("metrics", Json());
  for (const auto& [key, m] : metrics) {
    Json& j = out.set(key, Json());
    j.set("type", Json::str(metric_type_name(m.type)));
    j.set("contains", Json::str(m.is_time ? "time" : m.is_data ? "data" : "default"));
    j.set("values", metric_values_json(m, in));
    auto t = declared.find(key);
    if (t != declared.end()) {
      Json& th = j.set("thresholds", Json());
      for (const ThresholdResult* r : t->second) {
        th.set(r->threshold.source, Json()).set("ok", Json::boolean(r->ok));
      }
    }
  }
  for (const auto& [key, value] : in.extra_data) root.set(key, Json::raw(value));
  if (!in.merge_state.empty()) root.set(kMergeStateKey, Json::raw(in.merge_state));
  std::string text;
  root.write(text, 0);
  return text;
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
