// stall (every, duration: ms), an extension: the stream stops for `duration` ms, first when
// the toxic is created (or its attributes change), then again every `every` ms; with
// every <= 0 it stops once. Every connection follows the same schedule, so a stall hits
// them all at the same moment, like a network that hiccups. Bytes arriving during a stall
// wait for its end and then leave at once, in order; nothing is lost or reordered, and
// outside the stalls the stream passes untouched. A duration >= every stalls for good.
#include <deque>

#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Stall : public Stage {
 public:
  void on_item(Item item, Time now) override {
    if (queue_.empty()) {
      auto end = stall_end(now);
      if (!end) {
        emit(std::move(item), now);
        return;
      }
      release_ = *end;
    }
    held_bytes_ += item.data.size();
    queue_.push_back(std::move(item));
  }

  void on_timer(Time now) override {
    if (queue_.empty() || now < release_) return;
    // The next stall may begin the moment this one ends.
    if (auto end = stall_end(now)) {
      release_ = *end;
      return;
    }
    flush(now);
  }

  std::optional<Time> deadline() const override {
    if (queue_.empty()) return std::nullopt;
    return release_;
  }

  void flush(Time now) override {
    while (!queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      held_bytes_ -= item.data.size();
      emit(std::move(item), now);
    }
  }

  void set_since(Time since) override { since_ = since; }

  // A new schedule starts at the new `since`; what is held waits for its stall to end.
  void configure(const std::vector<int64_t>& a, Time now) override {
    every_ = a[0];
    duration_ = a[1];
    if (queue_.empty()) return;
    if (auto end = stall_end(now)) {
      release_ = *end;
    } else {
      flush(now);
    }
  }

  size_t held_bytes() const override { return held_bytes_; }

 private:
  // The end of the stall `now` falls in, if it falls in one.
  std::optional<Time> stall_end(Time now) const {
    if (duration_ <= 0 || now < since_) return std::nullopt;
    Micros into = std::chrono::duration_cast<Micros>(now - since_);
    Time start = since_;
    if (every_ > 0) {
      Micros period = millis(every_);
      start += period * (into / period);
    }
    Time end = start + millis(duration_);
    if (every_ > 0 && duration_ >= every_) end = Time::max();  // stalled for good
    if (now < end) return end;
    return std::nullopt;
  }

  int64_t every_ = 0;
  int64_t duration_ = 0;
  Time since_{};
  Time release_{};
  std::deque<Item> queue_;
  size_t held_bytes_ = 0;
};

}  // namespace

const ToxicType& stall_type() {
  static const ToxicType type{
      "stall", "StallToxic", {{"every", "int64"}, {"duration", "int64"}}, [] {
        return std::unique_ptr<Stage>(std::make_unique<Stall>());
      }};
  return type;
}

}  // namespace faultline::toxics
