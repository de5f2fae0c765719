// reset_peer (timeout: ms): waits for the first chunk or the end of the stream, discards
// it, then closes the connection after `timeout` ms (at once when <= 0). The close is an
// RST when the toxic was present when the connection was set up (the link sets
// SO_LINGER 0 then), a FIN otherwise. Unlike Toxiproxy, the wait never blocks the API:
// removing the toxic mid-wait closes the connection at once, an update restarts the wait.
#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class ResetPeer : public Stage {
 public:
  void on_item(Item item, Time now) override {
    (void)item;  // discarded, as is everything after it
    if (!due_) {
      due_ = now + std::max(Micros(0), millis(timeout_));
      on_timer(now);
    }
  }

  void on_timer(Time now) override {
    if (due_ && *due_ <= now && !fired_) {
      fired_ = true;
      emit(Item{ItemKind::kClose, {}}, now);
    }
  }

  std::optional<Time> deadline() const override {
    if (fired_) return std::nullopt;
    return due_;
  }

  void flush(Time now) override {
    if (due_ && !fired_) {
      fired_ = true;
      emit(Item{ItemKind::kClose, {}}, now);
    }
  }

  void configure(const std::vector<int64_t>& a, Time now) override {
    timeout_ = a[0];
    if (due_ && !fired_) due_ = now + std::max(Micros(0), millis(timeout_));
  }

 private:
  int64_t timeout_ = 0;
  std::optional<Time> due_;
  bool fired_ = false;
};

}  // namespace

const ToxicType& reset_peer_type() {
  static const ToxicType type{"reset_peer", "ResetToxic", {{"timeout", "int64"}}, [] {
                                return std::unique_ptr<Stage>(std::make_unique<ResetPeer>());
                              }};
  return type;
}

}  // namespace faultline::toxics
