// timeout (timeout: ms): every chunk is discarded. With timeout > 0 the connection is
// closed once `timeout` ms pass without a chunk arriving (each chunk and each update
// restarts the countdown); with timeout <= 0 it stays open, silent, until the toxic goes.
// Removing the toxic closes the connection (the chain does that).
#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Timeout : public Stage {
 public:
  void on_item(Item item, Time now) override {
    if (item.kind != ItemKind::kData) {
      emit(std::move(item), now);
      return;
    }
    restart(now);
  }

  void on_timer(Time now) override {
    if (due_ && *due_ <= now) {
      due_.reset();
      emit(Item{ItemKind::kClose, {}}, now);
    }
  }

  std::optional<Time> deadline() const override { return due_; }

  void configure(const std::vector<int64_t>& a, Time now) override {
    timeout_ = a[0];
    restart(now);
  }

 private:
  void restart(Time now) {
    if (timeout_ > 0) {
      due_ = now + millis(timeout_);
    } else {
      due_.reset();
    }
  }

  int64_t timeout_ = 0;
  std::optional<Time> due_;
};

}  // namespace

const ToxicType& timeout_type() {
  static const ToxicType type{"timeout", "TimeoutToxic", {{"timeout", "int64"}}, [] {
                                return std::unique_ptr<Stage>(std::make_unique<Timeout>());
                              }};
  return type;
}

}  // namespace faultline::toxics
