// latency (latency, jitter: ms): each chunk leaves at its arrival + latency + j, where j is
// drawn per chunk uniformly from [-jitter, +jitter) when jitter > 0. Chunks leave in order,
// so the delay does not accumulate over a stream; a negative total means no delay.
//
// An extension, `distribution`, gives j another shape (netem's family), j = jitter * z:
//   uniform       Toxiproxy's draw above (the default; then the attribute is not shown)
//   normal        z ~ N(0, 1): mean latency, standard deviation jitter
//   pareto        z = (u^(-1/3) - 1.5) * 4/3, u uniform in (0, 1]: a Pareto of shape 3 and
//                 scale 1 moved to mean 0 and scaled as netem's table (a long right tail:
//                 median latency - 0.32 jitter, p99 latency + 4.19 jitter)
//   paretonormal  z = 0.25 * normal + 0.75 * pareto, both drawn
//
// Another, `round_trip` (0 or 1; meant for the upstream stream), draws the delay once per
// request-response exchange instead of once per chunk: every chunk of a request gets the
// same delay, and a new draw comes with the first chunk after the other direction has
// carried data (the reply). A request written in pieces then reaches the server with its
// pieces' spacing intact, and one toxic models a link's round-trip time with one draw.
#include <algorithm>
#include <cmath>
#include <deque>

#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Latency : public Stage {
 public:
  void on_item(Item item, Time now) override {
    Held h{now, now, std::move(item)};
    if (h.item.kind == ItemKind::kData) {
      h.release = release_time(h.arrival, exchange_delay());
    } else {
      // The end of the stream is not delayed itself; it only waits for the data before it.
      h.release = std::max(now, last_release_);
    }
    held_bytes_ += h.item.data.size();
    queue_.push_back(std::move(h));
    on_timer(now);
  }

  void on_timer(Time now) override {
    while (!queue_.empty() && queue_.front().release <= now) pop_front(now);
  }

  std::optional<Time> deadline() const override {
    if (queue_.empty()) return std::nullopt;
    return queue_.front().release;
  }

  void flush(Time now) override {
    while (!queue_.empty()) pop_front(now);
  }

  // An update releases the chunk being delayed at once (as Toxiproxy's restart does) and
  // re-times the rest from their arrival with the new values.
  void configure(const std::vector<int64_t>& a, Time now) override {
    latency_ = a[0];
    jitter_ = a[1];
    distribution_ = static_cast<Distribution>(a[2]);
    round_trip_ = a[3] != 0;
    exchange_open_ = false;  // the next chunk draws with the new values
    if (!queue_.empty()) pop_front(now);
    last_release_ = now;
    for (auto& h : queue_) {
      h.release = h.item.kind == ItemKind::kData ? release_time(h.arrival, exchange_delay())
                                                 : std::max(now, last_release_);
    }
  }

  size_t held_bytes() const override { return held_bytes_; }

 private:
  struct Held {
    Time arrival;
    Time release;
    Item item;
  };

  enum Distribution { kUniform, kNormal, kPareto, kParetoNormal };

  double normal() { return std::normal_distribution<double>(0.0, 1.0)(rng()); }
  double pareto() { return (std::pow(1.0 - uniform01(rng()), -1.0 / 3.0) - 1.5) * 4.0 / 3.0; }

  // The delay of the next data chunk: a fresh draw, or the exchange's in round-trip mode.
  Micros exchange_delay() {
    if (!round_trip_ || replies() == nullptr) return draw();
    if (!exchange_open_ || *replies() != exchange_replies_) {
      exchange_open_ = true;
      exchange_replies_ = *replies();
      exchange_delay_ = draw();
    }
    return exchange_delay_;
  }

  Micros draw() {
    Micros delay = millis(latency_);
    if (jitter_ > 0 && distribution_ == kUniform) {
      std::uniform_int_distribution<int64_t> j(-jitter_, jitter_ - 1);
      delay += millis(j(rng()));
    } else if (jitter_ > 0) {
      double z = distribution_ == kNormal   ? normal()
                 : distribution_ == kPareto ? pareto()
                                            : 0.25 * normal() + 0.75 * pareto();
      // In µs, clamped as millis() clamps, so that no draw can overflow.
      constexpr double kLimit = static_cast<double>(int64_t{1} << 40) * 1000.0;
      double us = std::clamp(z * static_cast<double>(millis(jitter_).count()), -kLimit, kLimit);
      delay += Micros(static_cast<int64_t>(std::llround(us)));
    }
    if (delay.count() < 0) delay = Micros(0);
    return delay;
  }

  Time release_time(Time arrival, Micros delay) {
    Time t = arrival + delay;
    if (t < last_release_) t = last_release_;  // keep the order
    last_release_ = t;
    return t;
  }

  void pop_front(Time now) {
    Held h = std::move(queue_.front());
    queue_.pop_front();
    held_bytes_ -= h.item.data.size();
    emit(std::move(h.item), now);
  }

  int64_t latency_ = 0;
  int64_t jitter_ = 0;
  Distribution distribution_ = kUniform;
  bool round_trip_ = false;
  bool exchange_open_ = false;
  uint64_t exchange_replies_ = 0;  // the other direction's chunks when the exchange began
  Micros exchange_delay_{0};
  std::deque<Held> queue_;
  Time last_release_{};
  size_t held_bytes_ = 0;
};

}  // namespace

const ToxicType& latency_type() {
  static const ToxicType type{
      "latency",
      "LatencyToxic",
      {{"latency", "int64"},
       {"jitter", "int64"},
       {"distribution", "string", {"uniform", "normal", "pareto", "paretonormal"}, true},
       {"round_trip", "int64", {}, true}},
      [] { return std::unique_ptr<Stage>(std::make_unique<Latency>()); }};
  return type;
}

}  // namespace faultline::toxics
