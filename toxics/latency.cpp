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
      h.release = release_time(h.arrival);
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
    if (!queue_.empty()) pop_front(now);
    last_release_ = now;
    for (auto& h : queue_) {
      h.release =
          h.item.kind == ItemKind::kData ? release_time(h.arrival) : std::max(now, last_release_);
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

  Time release_time(Time arrival) {
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
       {"distribution", "string", {"uniform", "normal", "pareto", "paretonormal"}, true}},
      [] { return std::unique_ptr<Stage>(std::make_unique<Latency>()); }};
  return type;
}

}  // namespace faultline::toxics
