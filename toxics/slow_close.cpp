// slow_close (delay: ms): data passes untouched; the end of the stream is held back for
// `delay` ms. Removal passes the end on at once; an update restarts the wait.
#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class SlowClose : public Stage {
 public:
  void on_item(Item item, Time now) override {
    if (item.kind == ItemKind::kData || end_) {
      emit(std::move(item), now);
      return;
    }
    end_ = std::move(item);
    due_ = now + std::max(Micros(0), millis(delay_));
    on_timer(now);
  }

  void on_timer(Time now) override {
    if (end_ && due_ <= now) release(now);
  }

  std::optional<Time> deadline() const override {
    if (!end_) return std::nullopt;
    return due_;
  }

  void flush(Time now) override {
    if (end_) release(now);
  }

  void configure(const std::vector<int64_t>& a, Time now) override {
    delay_ = a[0];
    if (end_) due_ = now + std::max(Micros(0), millis(delay_));
  }

 private:
  void release(Time now) {
    Item item = std::move(*end_);
    end_.reset();
    emit(std::move(item), now);
  }

  int64_t delay_ = 0;
  std::optional<Item> end_;
  Time due_{};
};

}  // namespace

const ToxicType& slow_close_type() {
  static const ToxicType type{"slow_close", "SlowCloseToxic", {{"delay", "int64"}}, [] {
                                return std::unique_ptr<Stage>(std::make_unique<SlowClose>());
                              }};
  return type;
}

}  // namespace faultline::toxics
