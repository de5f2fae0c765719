// limit_data (bytes): forwards at most `bytes` bytes on this link, truncating the chunk
// that crosses the limit, then closes the connection after delivering them. The count
// survives updates; with bytes <= 0 the first chunk is dropped and the link closes.
#include <algorithm>

#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class LimitData : public Stage {
 public:
  void on_item(Item item, Time now) override {
    if (done_) return;
    if (item.kind != ItemKind::kData) {
      emit(std::move(item), now);
      return;
    }
    int64_t remaining = limit_ - sent_;
    if (remaining > 0) {
      if (static_cast<int64_t>(item.data.size()) > remaining) {
        item.data.resize(static_cast<size_t>(remaining));
      }
      sent_ += static_cast<int64_t>(item.data.size());
      emit(std::move(item), now);
    }
    if (sent_ >= limit_) {
      done_ = true;
      emit(Item{ItemKind::kEnd, {}}, now);
    }
  }

  void configure(const std::vector<int64_t>& a, Time) override { limit_ = a[0]; }

 private:
  int64_t limit_ = 0;
  int64_t sent_ = 0;
  bool done_ = false;
};

}  // namespace

const ToxicType& limit_data_type() {
  static const ToxicType type{"limit_data", "LimitDataToxic", {{"bytes", "int64"}}, [] {
                                return std::unique_ptr<Stage>(std::make_unique<LimitData>());
                              }};
  return type;
}

}  // namespace faultline::toxics
