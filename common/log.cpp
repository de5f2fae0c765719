#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "common/json.h"

namespace faultline::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kTrace)};
std::mutex g_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kFatal:
      return "fatal";
    case Level::kPanic:
      return "panic";
    case Level::kDisabled:
      return "disabled";
  }
  return "info";
}
}  // namespace

void set_level(Level l) {
  g_level.store(static_cast<int>(l));
}

bool enabled(Level l) {
  int cur = g_level.load(std::memory_order_relaxed);
  return cur != static_cast<int>(Level::kDisabled) && static_cast<int>(l) >= cur;
}

void init_from_env() {
  const char* v = std::getenv("LOG_LEVEL");
  if (v == nullptr) return;
  std::string_view s = v;
  for (int i = 0; i <= static_cast<int>(Level::kDisabled); ++i) {
    if (s == level_name(static_cast<Level>(i))) {
      set_level(static_cast<Level>(i));
      return;
    }
  }
  set_level(Level::kTrace);
  error().msg(std::string("unknown LOG_LEVEL value: \"") + v + "\"");
}

Entry::Entry(Level l) : level_(l), on_(enabled(l)) {
  if (!on_) return;
  line_.reserve(256);
  line_ = "{\"level\":\"";
  line_ += level_name(l);
  line_ += '"';
}

Entry& Entry::str(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  line_ += ',';
  json::append_quoted(line_, key);
  line_ += ':';
  json::append_quoted(line_, value);
  return *this;
}

Entry& Entry::num(std::string_view key, int64_t value) {
  if (!on_) return *this;
  line_ += ',';
  json::append_quoted(line_, key);
  line_ += ':';
  line_ += std::to_string(value);
  return *this;
}

Entry& Entry::dbl(std::string_view key, double value) {
  if (!on_) return *this;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", value);
  line_ += ',';
  json::append_quoted(line_, key);
  line_ += ':';
  line_ += buf;
  return *this;
}

std::string rfc3339_ms(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

void Entry::msg(std::string_view message) {
  if (!on_) return;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  line_ += ",\"time\":\"";
  line_ += ts;
  line_ += '"';
  if (!message.empty()) {
    line_ += ",\"message\":";
    json::append_quoted(line_, message);
  }
  line_ += "}\n";
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line_.data(), 1, line_.size(), stdout);
  std::fflush(stdout);
  (void)level_;
}

}  // namespace faultline::log
