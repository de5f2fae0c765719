// bandwidth (rate: KB/s, i.e. bytes per ms): a chunk of L bytes takes L/rate ms to pass.
// Chunks longer than rate*100 bytes go out in rate*100-byte pieces, one every 100 ms.
// Emission times follow an ideal schedule (the next piece is timed from when the previous
// one was due, not from when the timer fired), so timer overshoot does not add up.
// rate <= 0 stalls the stream until the toxic is updated or removed (Toxiproxy crashes on
// negative rates; here they behave as 0).
#include <algorithm>
#include <deque>

#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Bandwidth : public Stage {
 public:
  void on_item(Item item, Time now) override {
    held_bytes_ += item.data.size();
    if (queue_.empty()) free_at_ = std::max(free_at_, now);
    queue_.push_back(std::move(item));
    schedule();
    on_timer(now);
  }

  void on_timer(Time now) override {
    while (next_at_ && *next_at_ <= now) {
      Item& front = queue_.front();
      Item piece;
      piece.kind = front.kind;
      if (front.kind == ItemKind::kData && front.data.size() > piece_limit()) {
        piece.data = front.data.substr(0, piece_limit());
        front.data.erase(0, piece_limit());
      } else {
        piece = std::move(front);
        queue_.pop_front();
      }
      held_bytes_ -= piece.data.size();
      free_at_ = *next_at_;
      emit(std::move(piece), now);
      schedule();
    }
  }

  std::optional<Time> deadline() const override { return next_at_; }

  void flush(Time now) override {
    next_at_.reset();
    while (!queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      held_bytes_ -= item.data.size();
      emit(std::move(item), now);
    }
  }

  // A new rate applies from now; the chunk in progress is released at once (Toxiproxy's
  // restart does the same).
  void configure(const std::vector<int64_t>& a, Time now) override {
    rate_ = a[0];
    if (!queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      held_bytes_ -= item.data.size();
      emit(std::move(item), now);
    }
    free_at_ = now;
    schedule();
  }

  size_t held_bytes() const override { return held_bytes_; }

 private:
  // Bytes sent per 100 ms, bounded so that huge rates cannot overflow.
  size_t piece_limit() const {
    int64_t r = std::min<int64_t>(rate_, int64_t{1} << 40);
    return static_cast<size_t>(r * 100);
  }

  void schedule() {
    next_at_.reset();
    if (queue_.empty() || rate_ <= 0) return;
    const Item& front = queue_.front();
    if (front.kind != ItemKind::kData) {
      next_at_ = free_at_;
    } else if (front.data.size() > piece_limit()) {
      next_at_ = free_at_ + Micros(100000);
    } else {
      int64_t r = std::min<int64_t>(rate_, int64_t{1} << 40);
      next_at_ = free_at_ + Micros(static_cast<int64_t>(front.data.size()) * 1000 / r);
    }
  }

  int64_t rate_ = 0;
  std::deque<Item> queue_;
  Time free_at_{};
  std::optional<Time> next_at_;
  size_t held_bytes_ = 0;
};

}  // namespace

const ToxicType& bandwidth_type() {
  static const ToxicType type{"bandwidth", "BandwidthToxic", {{"rate", "int64"}}, [] {
                                return std::unique_ptr<Stage>(std::make_unique<Bandwidth>());
                              }};
  return type;
}

}  // namespace faultline::toxics
