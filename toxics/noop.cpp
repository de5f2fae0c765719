// noop: passes everything through. It still has a name and a place in the chain.
#include "toxics/stage.h"

namespace faultline::toxics {
namespace {

class Noop : public Stage {
 public:
  void on_item(Item item, Time now) override { emit(std::move(item), now); }
  void configure(const std::vector<int64_t>&, Time) override {}
};

}  // namespace

const ToxicType& noop_type() {
  static const ToxicType type{
      "noop", "NoopToxic", {}, [] { return std::unique_ptr<Stage>(std::make_unique<Noop>()); }};
  return type;
}

}  // namespace faultline::toxics
