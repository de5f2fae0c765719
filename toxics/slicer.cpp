// slicer (average_size, size_variation: bytes; delay: µs): each chunk is cut into pieces
// by splitting at the midpoint (shifted by a uniform offset in [-size_variation,
// +size_variation) when size_variation > 0) until every piece is at most average_size +
// size_variation bytes; pieces leave in order with `delay` µs after each one.
// Where Toxiproxy crashes (average_size <= 0 with size_variation <= 0, a negative
// variation, or a split point outside the piece) the values are clamped: the average is at
// least 1, the variation at least 0, and a split always leaves both halves non-empty.
// Sizes and the delay are capped (2^40 bytes, 2^40 µs) so that no arithmetic overflows.
#include <algorithm>
#include <deque>

#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Slicer : public Stage {
 public:
  void on_item(Item item, Time now) override {
    if (item.kind != ItemKind::kData) {
      pending_.push_back(std::move(item));
    } else {
      slice(std::move(item.data));
    }
    if (!next_at_) next_at_ = std::max(now, free_at_);
    on_timer(now);
  }

  void on_timer(Time now) override {
    while (next_at_ && *next_at_ <= now && !pending_.empty()) {
      Item piece = std::move(pending_.front());
      pending_.pop_front();
      held_bytes_ -= piece.data.size();
      free_at_ = *next_at_ + (piece.kind == ItemKind::kData ? Micros(delay_) : Micros(0));
      next_at_ = pending_.empty() ? std::nullopt : std::optional<Time>(free_at_);
      emit(std::move(piece), now);
    }
    if (pending_.empty()) next_at_.reset();
  }

  std::optional<Time> deadline() const override { return next_at_; }

  // Removal and updates forward the rest of the current chunk unsliced.
  void flush(Time now) override {
    next_at_.reset();
    Item merged;
    while (!pending_.empty()) {
      Item piece = std::move(pending_.front());
      pending_.pop_front();
      held_bytes_ -= piece.data.size();
      if (piece.kind == ItemKind::kData) {
        merged.data += piece.data;
        continue;
      }
      if (!merged.data.empty()) emit(std::move(merged), now);
      merged = Item{};
      emit(std::move(piece), now);
    }
    if (!merged.data.empty()) emit(std::move(merged), now);
    free_at_ = now;
  }

  void configure(const std::vector<int64_t>& a, Time now) override {
    // Bounds far beyond any useful value keep the arithmetic below free of overflow.
    constexpr int64_t kMaxSize = int64_t{1} << 40;
    constexpr int64_t kMaxDelayMicros = int64_t{1} << 40;  // about 12 days
    average_ = std::clamp<int64_t>(a[0], 1, kMaxSize);
    variation_ = std::clamp<int64_t>(a[1], 0, kMaxSize);
    delay_ = std::clamp<int64_t>(a[2], 0, kMaxDelayMicros);
    flush(now);
  }

  size_t held_bytes() const override { return held_bytes_; }

 private:
  void slice(std::string data) {
    held_bytes_ += data.size();
    // Iterative version of the recursive split, producing pieces in order.
    struct Span {
      size_t begin, end;
    };
    std::vector<Span> stack{{0, data.size()}};
    const auto limit = static_cast<size_t>(average_ + variation_);
    while (!stack.empty()) {
      Span s = stack.back();
      stack.pop_back();
      size_t len = s.end - s.begin;
      if (len <= limit || len < 2) {
        pending_.push_back(Item{ItemKind::kData, data.substr(s.begin, len)});
        continue;
      }
      int64_t mid = static_cast<int64_t>(len / 2);
      if (variation_ > 0) {
        std::uniform_int_distribution<int64_t> shift(-variation_, variation_ - 1);
        mid += shift(rng());
      }
      mid = std::clamp<int64_t>(mid, 1, static_cast<int64_t>(len) - 1);
      size_t cut = s.begin + static_cast<size_t>(mid);
      stack.push_back({cut, s.end});  // second half after the first
      stack.push_back({s.begin, cut});
    }
  }

  int64_t average_ = 1;
  int64_t variation_ = 0;
  int64_t delay_ = 0;
  std::deque<Item> pending_;
  std::optional<Time> next_at_;
  Time free_at_{};
  size_t held_bytes_ = 0;
};

}  // namespace

const ToxicType& slicer_type() {
  static const ToxicType type{
      "slicer",
      "SlicerToxic",
      {{"average_size", "int"}, {"size_variation", "int"}, {"delay", "int"}},
      [] { return std::unique_ptr<Stage>(std::make_unique<Slicer>()); }};
  return type;
}

}  // namespace faultline::toxics
