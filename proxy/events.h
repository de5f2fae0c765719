// The fault timeline (an extension): a bounded, timestamped log of every change to the
// proxies and their toxics, served at GET /events, so that a load test can line its
// results up with the faults it ran under (loadgen --fault-timeline).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/model.h"

namespace faultline::proxy {

class EventLog {
 public:
  explicit EventLog(size_t capacity = kCapacity) : capacity_(capacity) {}

  static constexpr size_t kCapacity = 10000;

  // proxy_created, proxy_updated (listen or upstream), proxy_enabled, proxy_disabled,
  // proxy_deleted: the proxy as it is after the change.
  void proxy_event(std::string_view type, const Proxy& p);
  // toxic_added, toxic_updated, toxic_removed: the toxic as GET shows it (as it was, for
  // a removal).
  void toxic_event(std::string_view type, const Proxy& p, const Toxic& t);

  // A change begins: what causes the events recorded from now on (api, populate, config
  // or reset), and when. An event's time is when its change took effect: when the change
  // began for proxy_disabled and proxy_deleted (connections start failing then), when it
  // is recorded (the change done) for the others.
  void begin(std::string_view source);

  // {"events":[...],"last_id":N,"dropped":D}: the events after `since`, oldest first;
  // `dropped` counts the ones after `since` no longer kept.
  std::string render(uint64_t since) const;

 private:
  struct Event {
    uint64_t id = 0;
    int64_t unix_ms = 0;
    std::string json;  // the whole event object
  };
  void add(std::string_view type, const Proxy& p, int64_t unix_ms,
           const std::function<void(json::Writer&)>& rest);

  size_t capacity_;
  std::deque<Event> events_;
  uint64_t next_id_ = 1;
  std::string source_ = "api";
  int64_t began_ms_ = 0;
};

}  // namespace faultline::proxy
