// `--fault-timeline http://HOST:8474` (Faultline's own): reads faultline-proxy's fault
// timeline (GET /proxies at the start, then GET /events every second and at the end) and
// splits the run's key results into windows: one per stretch of time in which the same
// faults were in effect ("healthy" when none was). Each window gets its requests, their
// duration's percentiles and the share that failed, printed after the summary and written
// into --summary-data under "faultline_fault_windows".
//
// Times are compared as wall-clock times of the two machines: run both on one host, or
// keep their clocks in sync.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "loadgen/metrics/samples.h"

namespace faultline::loadgen {

struct FaultWindow {
  int64_t start_ms = 0;  // unix ms
  int64_t end_ms = 0;
  std::vector<std::string> faults;  // sorted; empty: healthy
  Histogram duration_us;            // http_req_duration
  uint64_t failed = 0;              // http_req_failed
  uint64_t requests = 0;
};

class FaultTimeline : public SampleOutput {
 public:
  FaultTimeline(std::string api_url, const Registry& registry);
  ~FaultTimeline() override;

  // Reads the proxy's state and the position of its event log. False with a message when
  // the API cannot be read.
  bool start(std::string& err);
  void samples(const std::vector<Sample>& batch, const TagSets& tag_sets) override;
  // The last poll, at the end of the run; every sample goes to its window.
  void finish();

  const std::vector<FaultWindow>& windows() const { return windows_; }
  const std::string& url() const { return url_; }
  // Polls that failed (the proxy went away); their events come with the next good one.
  uint64_t failed_polls() const { return failed_polls_; }

  // The table printed after the summary, and the JSON value written into --summary-data.
  std::string table() const;
  std::string json() const;

 private:
  struct Pending {
    int64_t unix_ms;
    bool duration;  // else http_req_failed
    double value;
  };
  bool poll(std::string& err);
  void open_window(int64_t at_ms);
  void assign(int64_t until_ms);
  std::vector<std::string> current_faults() const;

  std::string url_;
  int duration_metric_ = -1;
  int failed_metric_ = -1;
  // proxy name -> (enabled, toxic name -> label)
  struct ProxyState {
    bool enabled = true;
    std::map<std::string, std::string> toxics;
  };
  std::map<std::string, ProxyState> proxies_;
  uint64_t last_id_ = 0;
  int64_t last_poll_ms_ = 0;
  uint64_t failed_polls_ = 0;
  std::vector<FaultWindow> windows_;
  std::deque<Pending> pending_;
};

}  // namespace faultline::loadgen
