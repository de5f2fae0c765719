#include "proxy/events.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>

namespace faultline::proxy {

namespace {

// RFC 3339 in UTC with milliseconds: 2026-12-02T06:40:01.123Z.
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

}  // namespace

void EventLog::add(std::string_view type, const Proxy& p,
                   const std::function<void(json::Writer&)>& rest) {
  Event e;
  e.id = next_id_++;
  e.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  json::Writer w;
  w.begin_object();
  w.key("id").integer(static_cast<int64_t>(e.id));
  w.key("time").string(rfc3339_ms(e.unix_ms));
  w.key("unix_ms").integer(e.unix_ms);
  w.key("type").string(type);
  w.key("source").string(source_);
  w.key("proxy").string(p.name);
  rest(w);
  w.end_object();
  e.json = w.take();
  events_.push_back(std::move(e));
  while (events_.size() > capacity_) events_.pop_front();
}

void EventLog::proxy_event(std::string_view type, const Proxy& p) {
  add(type, p, [&](json::Writer& w) {
    w.key("listen").string(p.listen);
    w.key("upstream").string(p.upstream);
    w.key("enabled").boolean(p.enabled);
  });
}

void EventLog::toxic_event(std::string_view type, const Proxy& p, const Toxic& t) {
  add(type, p, [&](json::Writer& w) {
    w.key("toxic");
    write_toxic(w, t);
  });
}

std::string EventLog::render(uint64_t since) const {
  uint64_t first = events_.empty() ? next_id_ : events_.front().id;
  uint64_t dropped = first > since + 1 ? first - since - 1 : 0;
  std::string out = "{\"events\":[";
  bool comma = false;
  for (const auto& e : events_) {
    if (e.id <= since) continue;
    if (comma) out += ',';
    out += e.json;
    comma = true;
  }
  out += "],\"last_id\":" + std::to_string(next_id_ - 1) +
         ",\"dropped\":" + std::to_string(dropped) + "}";
  return out;
}

}  // namespace faultline::proxy
