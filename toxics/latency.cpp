// latency (latency, jitter: ms): each chunk leaves at its arrival + latency + j, where j is
// drawn per chunk uniformly from [-jitter, +jitter) when jitter > 0. Chunks leave in order,
// so the delay does not accumulate over a stream; a negative total means no delay.
#include <algorithm>
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

  Time release_time(Time arrival) {
    Micros delay = millis(latency_);
    if (jitter_ > 0) {
      std::uniform_int_distribution<int64_t> j(-jitter_, jitter_ - 1);
      delay += millis(j(rng()));
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
  std::deque<Held> queue_;
  Time last_release_{};
  size_t held_bytes_ = 0;
};

}  // namespace

const ToxicType& latency_type() {
  static const ToxicType type{
      "latency", "LatencyToxic", {{"latency", "int64"}, {"jitter", "int64"}}, [] {
        return std::unique_ptr<Stage>(std::make_unique<Latency>());
      }};
  return type;
}

}  // namespace faultline::toxics
