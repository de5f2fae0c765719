// JSON-lines logger on stdout in Toxiproxy's shape:
// {"level":"info","name":"redis",...,"time":"2026-11-26T18:08:19Z","message":"Started proxy"}
// LOG_LEVEL takes zerolog's names; unset means everything (trace included).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace faultline::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kFatal, kPanic, kDisabled };

// A Unix time in milliseconds as RFC 3339 in UTC: 2026-12-02T06:40:01.123Z (the fault
// timeline's events and what loadgen writes of them).
std::string rfc3339_ms(int64_t unix_ms);

// Reads LOG_LEVEL; an unknown value logs an error and keeps everything enabled.
void init_from_env();
void set_level(Level l);
bool enabled(Level l);

class Entry {
 public:
  explicit Entry(Level l);
  Entry& str(std::string_view key, std::string_view value);
  Entry& num(std::string_view key, int64_t value);
  Entry& dbl(std::string_view key, double value);
  // Writes the line; an empty message omits the "message" field (access lines).
  void msg(std::string_view message);

 private:
  Level level_;
  bool on_;
  std::string line_;
};

inline Entry trace() {
  return Entry(Level::kTrace);
}
inline Entry debug() {
  return Entry(Level::kDebug);
}
inline Entry info() {
  return Entry(Level::kInfo);
}
inline Entry warn() {
  return Entry(Level::kWarn);
}
inline Entry error() {
  return Entry(Level::kError);
}

}  // namespace faultline::log
