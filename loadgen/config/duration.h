// k6's duration grammars (spec k6-compat §1.3): Go durations for flags ("1m30s", "500ms")
// and the extended form for scenario files (plain numbers are milliseconds, "2d12h").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::loadgen {

using Duration = std::chrono::nanoseconds;

// Go's time.ParseDuration: one or more <number><unit>, optional sign, or "0".
std::optional<Duration> parse_go_duration(std::string_view text);
// The extended grammar of script options and scenario fields.
std::optional<Duration> parse_extended_duration(std::string_view text);
// Go's Duration.String(): "30s", "1m0s", "1h0m0s", "500ms", "1.5s".
std::string format_go_duration(Duration d);

}  // namespace faultline::loadgen
