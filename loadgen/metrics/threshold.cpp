#include "loadgen/metrics/threshold.h"

#include <charconv>
#include <cstdlib>

namespace faultline::loadgen {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string text(s);
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

std::optional<Threshold> parse_threshold(std::string_view expr, std::string& err) {
  static const char* ops[] = {"<=", "<", ">=", ">", "===", "==", "!="};
  Threshold t;
  t.source = std::string(expr);
  size_t at = std::string_view::npos;
  std::string_view op;
  for (const char* candidate : ops) {
    size_t p = expr.find(candidate);
    if (p != std::string_view::npos && p + std::string_view(candidate).size() < expr.size()) {
      at = p;
      op = candidate;
      break;
    }
  }
  std::string quoted = "\"" + std::string(expr) + "\"";
  if (at == std::string_view::npos || trim(expr.substr(0, at)).empty()) {
    err = "failed parsing threshold expression " + quoted +
          "; reason: malformed threshold expression";
    return std::nullopt;
  }
  std::string_view lhs = trim(expr.substr(0, at));
  std::string_view rhs = trim(expr.substr(at + op.size()));
  t.op = op == "===" ? "==" : std::string(op);
  if (lhs == "avg" || lhs == "min" || lhs == "max" || lhs == "med" || lhs == "count" ||
      lhs == "rate" || lhs == "value") {
    t.aggregation = std::string(lhs);
  } else if (lhs == "p") {
    t.aggregation = "p(0)";  // k6 quirk: a bare p is p(0)
  } else if (lhs.size() > 3 && lhs.substr(0, 2) == "p(" && lhs.back() == ')') {
    std::string_view inner = lhs.substr(2, lhs.size() - 3);
    double p = 0;
    if (!parse_number(inner, p) || inner.find(' ') != std::string_view::npos || p < 0 || p > 100) {
      err = "failed parsing threshold expression's " + quoted +
            " left hand side; reason: malformed percentile value; reason: invalid percentile " +
            std::string(inner);
      return std::nullopt;
    }
    t.aggregation = std::string(lhs);
    t.percentile = p;
  } else {
    err = "failed parsing threshold expression's " + quoted +
          " left hand side; reason: failed parsing method from expression";
    return std::nullopt;
  }
  if (!parse_number(rhs, t.value)) {
    err = "failed parsing threshold expresion's " + quoted +
          " right hand side; reason: strconv.ParseFloat: parsing \"" + std::string(rhs) +
          "\": invalid syntax";
    return std::nullopt;
  }
  return t;
}

bool parse_metric_key(std::string_view key, std::string& name,
                      std::vector<std::pair<std::string, std::string>>& tags) {
  tags.clear();
  size_t brace = key.find('{');
  if (brace == std::string_view::npos) {
    if (key.find('}') != std::string_view::npos) return false;
    name = std::string(key);
    return !name.empty();
  }
  if (key.back() != '}') return false;
  name = std::string(key.substr(0, brace));
  std::string_view inner = key.substr(brace + 1, key.size() - brace - 2);
  while (!inner.empty()) {
    size_t comma = inner.find(',');
    std::string_view item = inner.substr(0, comma);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    auto unquote = [](std::string_view v) {
      v = trim(v);
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
        v = v.substr(1, v.size() - 2);
      }
      return std::string(v);
    };
    std::string k = unquote(item.substr(0, colon)), v = unquote(item.substr(colon + 1));
    if (k.empty() || v.empty()) return false;
    tags.emplace_back(k, v);
    if (comma == std::string_view::npos) break;
    inner.remove_prefix(comma + 1);
  }
  return !name.empty();
}

bool aggregation_allowed(const Threshold& t, MetricType type, std::string_view metric,
                         std::string& err) {
  const std::string& a = t.aggregation;
  bool ok = false;
  std::string supported;
  switch (type) {
    case MetricType::kCounter:
      ok = a == "count" || a == "rate";
      supported = "count, rate";
      break;
    case MetricType::kGauge:
      ok = a == "value";
      supported = "value";
      break;
    case MetricType::kRate:
      ok = a == "rate";
      supported = "rate";
      break;
    case MetricType::kTrend:
      ok = a == "avg" || a == "min" || a == "max" || a == "med" || a.rfind("p(", 0) == 0;
      supported = "avg, min, max, med, p";
      break;
  }
  if (!ok) {
    static const char* names[] = {"counter", "gauge", "rate", "trend"};
    err = "invalid threshold \"" + t.source + "\" applied on metric " + std::string(metric) +
          "; reason: unsupported aggregation method " + a + " on metric of type " +
          names[static_cast<int>(type)] +
          ". supported aggregation methods for this metric are: " + supported;
  }
  return ok;
}

bool compare(double lhs, const std::string& op, double rhs) {
  if (op == "<") return lhs < rhs;
  if (op == "<=") return lhs <= rhs;
  if (op == ">") return lhs > rhs;
  if (op == ">=") return lhs >= rhs;
  if (op == "==") return lhs == rhs;
  if (op == "!=") return lhs != rhs;
  return false;
}

}  // namespace faultline::loadgen
