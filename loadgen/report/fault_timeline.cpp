#include "loadgen/report/fault_timeline.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/http_client_sync.h"
#include "common/json.h"
#include "common/log.h"
#include "loadgen/report/summary.h"

namespace faultline::loadgen {

namespace {

int64_t now_ms() {
  return unix_now_ns() / 1000000;
}

// "latency_downstream latency=200 jitter=0", with the toxicity when it is not 1.
std::string toxic_label(simdjson::dom::element toxic) {
  std::string_view name, type;
  std::string label;
  if (toxic["name"].get(name) == simdjson::SUCCESS) label = std::string(name);
  if (toxic["type"].get(type) == simdjson::SUCCESS && type != name) {
    label += " (" + std::string(type) + ")";
  }
  simdjson::dom::object attrs;
  if (toxic["attributes"].get(attrs) == simdjson::SUCCESS) {
    for (auto field : attrs) {
      label += " " + std::string(field.key) + "=";
      int64_t i = 0;
      std::string_view s;
      if (field.value.get(i) == simdjson::SUCCESS) {
        label += std::to_string(i);
      } else if (field.value.get(s) == simdjson::SUCCESS) {
        label += std::string(s);
      }
    }
  }
  double toxicity = 1;
  if (toxic["toxicity"].get(toxicity) == simdjson::SUCCESS && toxicity != 1) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " toxicity=%g", toxicity);
    label += buf;
  }
  return label;
}

// Windows without requests are shown only when they last a second or more (a toxic
// removed right after a proxy came back makes a window of a few milliseconds).
bool shown(const FaultWindow& w) {
  return w.requests > 0 || w.end_ms - w.start_ms >= 1000;
}

bool get_json(const std::string& url, std::string& body, std::string& err) {
  http::ClientRequest req;
  req.method = "GET";
  req.url = url;
  req.timeout = std::chrono::milliseconds(2000);
  http::ClientResponse resp;
  if (!http::send_request(req, resp, err)) return false;
  if (resp.status != 200) {
    err = "GET " + url + ": HTTP " + std::to_string(resp.status);
    return false;
  }
  body = std::move(resp.body);
  return true;
}

}  // namespace

FaultTimeline::FaultTimeline(std::string api_url, const Registry& registry)
    : url_(std::move(api_url)) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  duration_metric_ = registry.find("http_req_duration");
  failed_metric_ = registry.find("http_req_failed");
}

FaultTimeline::~FaultTimeline() = default;

bool FaultTimeline::start(std::string& err) {
  std::string body;
  if (!get_json(url_ + "/proxies", body, err)) return false;
  simdjson::dom::parser parser;
  simdjson::dom::object proxies;
  if (parser.parse(body).get(proxies) != simdjson::SUCCESS) {
    err = url_ + "/proxies did not answer with faultline-proxy's (or Toxiproxy's) JSON";
    return false;
  }
  for (auto [name, p] : proxies) {
    ProxyState& st = proxies_[std::string(name)];
    bool enabled = true;
    if (p["enabled"].get(enabled) == simdjson::SUCCESS) st.enabled = enabled;
    simdjson::dom::array toxics;
    if (p["toxics"].get(toxics) != simdjson::SUCCESS) continue;
    for (auto t : toxics) {
      std::string_view tname;
      if (t["name"].get(tname) == simdjson::SUCCESS) st.toxics[std::string(tname)] = toxic_label(t);
    }
  }
  // Where the event log stands now: only later events matter.
  if (!get_json(url_ + "/events?since=" + std::to_string(std::numeric_limits<uint64_t>::max()),
                body, err)) {
    err += " (the fault timeline needs faultline-proxy's GET /events)";
    return false;
  }
  uint64_t last = 0;
  if (parser.parse(body)["last_id"].get(last) != simdjson::SUCCESS) {
    err = url_ + "/events did not answer with an event list";
    return false;
  }
  last_id_ = last;
  last_poll_ms_ = now_ms();
  open_window(last_poll_ms_);
  return true;
}

std::vector<std::string> FaultTimeline::current_faults() const {
  std::vector<std::string> faults;
  for (const auto& [name, st] : proxies_) {
    if (!st.enabled) {
      faults.push_back(name + ": down");
      continue;
    }
    for (const auto& [tname, label] : st.toxics) faults.push_back(name + ": " + label);
  }
  return faults;
}

void FaultTimeline::open_window(int64_t at_ms) {
  auto faults = current_faults();
  if (!windows_.empty()) {
    if (windows_.back().faults == faults) return;
    at_ms = std::max(at_ms, windows_.back().start_ms);  // clocks never run backwards here
    windows_.back().end_ms = at_ms;
  }
  windows_.emplace_back();
  windows_.back().start_ms = at_ms;
  windows_.back().end_ms = at_ms;
  windows_.back().faults = std::move(faults);
}

bool FaultTimeline::poll(std::string& err) {
  int64_t sent = now_ms();
  std::string body;
  if (!get_json(url_ + "/events?since=" + std::to_string(last_id_), body, err)) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array events;
  if (parser.parse(body).get(root) != simdjson::SUCCESS ||
      root["events"].get(events) != simdjson::SUCCESS) {
    err = url_ + "/events did not answer with an event list";
    return false;
  }
  for (auto e : events) {
    std::string_view type, proxy;
    int64_t at = sent;
    uint64_t id = 0;
    if (e["type"].get(type) || e["proxy"].get(proxy)) continue;
    if (e["unix_ms"].get(at) != simdjson::SUCCESS) at = sent;
    if (e["id"].get(id) == simdjson::SUCCESS) last_id_ = std::max(last_id_, id);
    std::string name(proxy);
    if (type == "proxy_created") {
      proxies_[name] = ProxyState{};
    } else if (type == "proxy_deleted") {
      proxies_.erase(name);
    }
    if (type == "proxy_created" || type == "proxy_updated" || type == "proxy_enabled" ||
        type == "proxy_disabled") {
      bool enabled = true;
      if (e["enabled"].get(enabled) == simdjson::SUCCESS) proxies_[name].enabled = enabled;
    }
    simdjson::dom::element toxic;
    std::string_view tname;
    if (e["toxic"].get(toxic) == simdjson::SUCCESS &&
        toxic["name"].get(tname) == simdjson::SUCCESS) {
      if (type == "toxic_removed") {
        proxies_[name].toxics.erase(std::string(tname));
      } else {
        proxies_[name].toxics[std::string(tname)] = toxic_label(toxic);
      }
    }
    open_window(at);
  }
  uint64_t last = 0;
  if (root["last_id"].get(last) == simdjson::SUCCESS) last_id_ = std::max(last_id_, last);
  last_poll_ms_ = sent;
  assign(sent);
  return true;
}

void FaultTimeline::assign(int64_t until_ms) {
  // Workers' batches interleave, so the pending samples are not in time order: each one
  // before `until_ms` goes to its window, the rest wait for the next poll.
  std::deque<Pending> later;
  for (const Pending& p : pending_) {
    if (p.unix_ms >= until_ms) {
      later.push_back(p);
      continue;
    }
    // The window the sample's time falls in (before the first: the first).
    auto it = std::upper_bound(windows_.begin(), windows_.end(), p.unix_ms,
                               [](int64_t t, const FaultWindow& w) { return t < w.start_ms; });
    FaultWindow& w = it == windows_.begin() ? windows_.front() : *(it - 1);
    if (p.duration) {
      w.duration_us.record(static_cast<uint64_t>(std::llround(std::max(0.0, p.value) * 1000)));
    } else {
      ++w.requests;
      if (p.value != 0) ++w.failed;
    }
  }
  pending_ = std::move(later);
}

void FaultTimeline::samples(const std::vector<Sample>& batch, const TagSets&) {
  for (const Sample& s : batch) {
    bool duration = static_cast<int>(s.metric) == duration_metric_;
    if (!duration && static_cast<int>(s.metric) != failed_metric_) continue;
    pending_.push_back(Pending{s.unix_ns / 1000000, duration, s.value});
  }
  if (windows_.empty() || now_ms() - last_poll_ms_ < 1000) return;
  std::string err;
  if (!poll(err)) {
    ++failed_polls_;
    last_poll_ms_ = now_ms();  // try again in a second
  }
}

void FaultTimeline::finish() {
  if (windows_.empty()) return;
  std::string err;
  if (!poll(err)) ++failed_polls_;
  windows_.back().end_ms = std::max(windows_.back().start_ms, now_ms());
  assign(std::numeric_limits<int64_t>::max());
}

std::string FaultTimeline::table() const {
  std::string out = "\n  fault windows (" + url_ + "/events)\n";
  char line[512];
  std::snprintf(line, sizeof line, "    %-8s %-8s %9s %10s %10s %8s  %s\n", "from", "to",
                "requests", "p(50)", "p(95)", "failed", "faults");
  out += line;
  if (windows_.empty()) return out;
  const int64_t t0 = windows_.front().start_ms;
  for (const auto& w : windows_) {
    if (!shown(w)) continue;
    std::string faults;
    for (const auto& f : w.faults) faults += (faults.empty() ? "" : "; ") + f;
    if (faults.empty()) faults = "healthy";
    auto secs = [&](int64_t t) {
      char b[32];
      std::snprintf(b, sizeof b, "%.1fs", static_cast<double>(t - t0) / 1000.0);
      return std::string(b);
    };
    std::string p50 =
        w.duration_us.count() ? format_time_ms(w.duration_us.quantile(0.5) / 1000) : "-";
    std::string p95 =
        w.duration_us.count() ? format_time_ms(w.duration_us.quantile(0.95) / 1000) : "-";
    std::string failed =
        w.requests ? format_rate(static_cast<double>(w.failed) / static_cast<double>(w.requests))
                   : "-";
    std::snprintf(line, sizeof line, "    %-8s %-8s %9llu %10s %10s %8s  %s\n",
                  secs(w.start_ms).c_str(), secs(w.end_ms).c_str(),
                  static_cast<unsigned long long>(w.requests), p50.c_str(), p95.c_str(),
                  failed.c_str(), faults.c_str());
    out += line;
  }
  if (failed_polls_ > 0) {
    out += "    (" + std::to_string(failed_polls_) + " reads of the timeline failed)\n";
  }
  return out;
}

std::string FaultTimeline::json() const {
  auto quote = [](const std::string& s) {
    std::string q;
    json::append_quoted(q, s, false);
    return q;
  };
  auto num = [](double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", std::isfinite(v) ? v : 0.0);
    return std::string(b);
  };
  std::string out = "{\"source\":" + quote(url_ + "/events") + ",\"windows\":[";
  const int64_t t0 = windows_.empty() ? 0 : windows_.front().start_ms;
  bool first = true;
  for (const auto& w : windows_) {
    if (!shown(w)) continue;
    if (!first) out += ',';
    first = false;
    out += "{\"start\":" + quote(log::rfc3339_ms(w.start_ms)) +
           ",\"end\":" + quote(log::rfc3339_ms(w.end_ms));
    out += ",\"start_s\":" + num(static_cast<double>(w.start_ms - t0) / 1000.0);
    out += ",\"end_s\":" + num(static_cast<double>(w.end_ms - t0) / 1000.0);
    out += ",\"healthy\":" + std::string(w.faults.empty() ? "true" : "false") + ",\"faults\":[";
    for (size_t i = 0; i < w.faults.size(); ++i) out += (i ? "," : "") + quote(w.faults[i]);
    out += "],\"http_reqs\":" + std::to_string(w.requests);
    const Histogram& h = w.duration_us;
    out += ",\"http_req_duration\":{\"avg\":" + num(h.mean() / 1000) +
           ",\"med\":" + num(h.quantile(0.5) / 1000) + ",\"p(90)\":" + num(h.quantile(0.9) / 1000) +
           ",\"p(95)\":" + num(h.quantile(0.95) / 1000) +
           ",\"p(99)\":" + num(h.quantile(0.99) / 1000) +
           ",\"max\":" + num(static_cast<double>(h.max()) / 1000) + "}";
    double rate = w.requests ? static_cast<double>(w.failed) / static_cast<double>(w.requests) : 0;
    out += ",\"http_req_failed\":{\"rate\":" + num(rate) +
           ",\"failed\":" + std::to_string(w.failed) + "}}";
  }
  out += "]}";
  return out;
}

}  // namespace faultline::loadgen
