// The toxics of one direction of one connection, in the order they were added. Items pass
// through the active stages; a stage whose toxicity draw failed passes items on untouched.
// The chain follows the proxy's toxic list as it changes (apply), never losing, duplicating
// or reordering bytes: removed stages hand over what they hold first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "toxics/stage.h"

namespace faultline::toxics {

// One toxic as configured through the API; `id` identifies it for its whole life and
// `version` changes with every update.
struct ToxicSpec {
  uint64_t id = 0;
  uint64_t version = 0;
  const ToxicType* type = nullptr;
  float toxicity = 1.0f;
  std::vector<int64_t> attributes;
  Time since{};                    // when it was created or its attributes last changed
  std::vector<std::string> texts;  // text attributes (extensions), like `attributes`
};

class ToxicChain {
 public:
  // `replies`: see Stage::attach.
  ToxicChain(Sink& out, Random& rng, const uint64_t* replies = nullptr);
  ~ToxicChain();
  ToxicChain(const ToxicChain&) = delete;
  ToxicChain& operator=(const ToxicChain&) = delete;

  bool empty() const { return slots_.empty(); }
  void push(Item item, Time now) { deliver(0, std::move(item), now); }
  // Runs the stages whose time has come.
  void on_timer(Time now);
  std::optional<Time> deadline() const;
  size_t held_bytes() const;
  // Brings the chain in line with `specs` (the direction's toxics, in order). `midstream`:
  // bytes have already passed, so a new stage joins a stream under way.
  void apply(const std::vector<ToxicSpec>& specs, Time now, bool midstream = false);
  // Whether a stage reads the other direction's items (Stage::filters_replies), and the
  // way in for them: through those stages, last first, then to `out`.
  bool filters_replies() const;
  void filter_reply(Item item, Time now, Sink& out);
  // Called for each request a protocol toxic fails or delays (for metrics).
  void on_request(std::function<void(const ToxicSpec&, RequestFault)> listener) {
    requested_ = std::move(listener);
  }
  // Where stages may answer the client (see Stage::set_answers).
  void set_answers(Sink* answers) { answers_ = answers; }
  // How many stages are active (their toxicity draw succeeded).
  size_t active_count() const;
  // Called whenever a stage turns active (for metrics).
  void on_activate(std::function<void(const ToxicSpec&)> listener) {
    activated_ = std::move(listener);
  }

 private:
  struct Slot;
  void deliver(size_t index, Item item, Time now);
  void renumber();

  Sink& out_;
  Random& rng_;
  const uint64_t* replies_;
  Sink* answers_ = nullptr;
  std::function<void(const ToxicSpec&)> activated_;
  std::function<void(const ToxicSpec&, RequestFault)> requested_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> retired_;  // removed, still reading replies
};

}  // namespace faultline::toxics
