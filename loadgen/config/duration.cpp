#include "loadgen/config/duration.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace faultline::loadgen {

std::optional<Duration> parse_go_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    bool digits = false;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
      digits = digits || s[i] != '.';
      ++i;
    }
    if (!digits) return std::nullopt;
    std::string number(s.substr(0, i));
    if (number.find('.') != number.rfind('.')) return std::nullopt;
    long double value = std::strtold(number.c_str(), nullptr);
    s.remove_prefix(i);
    static const std::pair<std::string_view, long double> units[] = {
        {"ns", 1.0L}, {"us", 1e3L}, {"\xc2\xb5s", 1e3L}, {"\xce\xbcs", 1e3L},
        {"ms", 1e6L}, {"s", 1e9L},  {"m", 60e9L},        {"h", 3600e9L},
    };
    bool matched = false;
    for (const auto& [name, scale] : units) {
      // "ms" must win over "m" and "s": units are ordered longest-first per prefix.
      if (s.substr(0, name.size()) == name) {
        if (name == "m" && s.substr(0, 2) == "ms") continue;
        total += value * scale;
        s.remove_prefix(name.size());
        matched = true;
        break;
      }
    }
    if (!matched) return std::nullopt;
  }
  if (total >= static_cast<long double>(INT64_MAX)) return std::nullopt;  // Go: overflow
  auto ns = static_cast<int64_t>(std::llround(total));
  return Duration(negative ? -ns : ns);
}

std::optional<Duration> parse_extended_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double ms = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (ec == std::errc() && ptr == s.data() + s.size()) {
    // Milliseconds; beyond int64 nanoseconds (about 292 years) is an overflow, as in Go.
    if (!(std::fabs(ms) * 1e6 < 9.2e18)) return std::nullopt;
    return Duration(static_cast<int64_t>(std::llround(ms * 1e6)));
  }
  if (auto d = s.find('d'); d != std::string_view::npos) {
    int64_t days = 0;
    auto r = std::from_chars(s.data(), s.data() + d, days);
    if (r.ec != std::errc() || r.ptr != s.data() + d) return std::nullopt;
    constexpr int64_t kDayNs = 86400LL * 1000000000LL;
    if (days > INT64_MAX / kDayNs || days < -(INT64_MAX / kDayNs)) return std::nullopt;
    Duration rest(0);
    if (d + 1 < s.size()) {
      auto more = parse_go_duration(s.substr(d + 1));
      if (!more) return std::nullopt;
      rest = *more;
    }
    int64_t total = 0;
    if (__builtin_add_overflow(days * kDayNs, rest.count(), &total)) return std::nullopt;
    return Duration(total);
  }
  return parse_go_duration(s);
}

std::string format_go_duration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  auto trim = [](std::string v) {
    if (v.find('.') != std::string::npos) {
      while (v.back() == '0') v.pop_back();
      if (v.back() == '.') v.pop_back();
    }
    return v;
  };
  char buf[64];
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) {
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(u) / 1e3);
    return sign + trim(buf) + "\xc2\xb5s";
  }
  if (u < 1000000000) {
    std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(u) / 1e6);
    return sign + trim(buf) + "ms";
  }
  uint64_t hours = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  uint64_t minutes = u / 60000000000ULL;
  u %= 60000000000ULL;
  std::snprintf(buf, sizeof buf, "%.9f", static_cast<double>(u) / 1e9);
  std::string secs = trim(buf) + "s";
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + secs;
}

}  // namespace faultline::loadgen
