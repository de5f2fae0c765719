#include "proxy/events.h"

#include <chrono>
#include <functional>

#include "common/log.h"

namespace faultline::proxy {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void EventLog::begin(std::string_view source) {
  source_ = source;
  began_ms_ = now_ms();
}

void EventLog::add(std::string_view type, const Proxy& p, int64_t unix_ms,
                   const std::function<void(json::Writer&)>& rest) {
  Event e;
  e.id = next_id_++;
  e.unix_ms = unix_ms;
  json::Writer w;
  w.begin_object();
  w.key("id").integer(static_cast<int64_t>(e.id));
  w.key("time").string(log::rfc3339_ms(e.unix_ms));
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
  bool from_start = type == "proxy_disabled" || type == "proxy_deleted";
  add(type, p, from_start && began_ms_ != 0 ? began_ms_ : now_ms(), [&](json::Writer& w) {
    w.key("listen").string(p.listen);
    w.key("upstream").string(p.upstream);
    w.key("enabled").boolean(p.enabled);
  });
}

void EventLog::toxic_event(std::string_view type, const Proxy& p, const Toxic& t) {
  add(type, p, now_ms(), [&](json::Writer& w) {
    w.key("toxic");
    write_toxic(w, t);
  });
}

std::string EventLog::render(uint64_t since) const {
  uint64_t first = events_.empty() ? next_id_ : events_.front().id;
  uint64_t dropped = since < first - 1 ? first - 1 - since : 0;
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
