// Toxics as stages on one direction of a connection. A stage receives items (data chunks
// and the end of the stream), and passes items on to the next stage, possibly later,
// sliced, truncated or not at all, or asks for the connection to be closed. Stages never
// touch sockets: time is given to them (so tests drive them with a fake clock) and
// randomness comes from an injected generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "toxics/registry.h"

namespace faultline::toxics {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
using Micros = std::chrono::microseconds;

enum class ItemKind {
  kData,   // bytes
  kEnd,    // the source ended: deliver what precedes, then close the connection
  kClose,  // a toxic closes the connection (an RST when it was set up for reset_peer)
};

struct Item {
  ItemKind kind = ItemKind::kData;
  std::string data;
};

using Random = std::mt19937_64;

// What a protocol toxic did to one request (counted in the proxy's metrics).
enum class RequestFault { kFailed, kDelayed };

// Where a stage sends its output.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void push(Item item, Time now) = 0;
};

class Stage {
 public:
  virtual ~Stage() = default;
  // An item arrives at `now`.
  virtual void on_item(Item item, Time now) = 0;
  // The time the stage asked for (deadline()) has come.
  virtual void on_timer(Time /*now*/) {}
  virtual std::optional<Time> deadline() const { return std::nullopt; }
  // The toxic is being removed: hand everything held to the next stage at once.
  virtual void flush(Time /*now*/) {}
  // New attribute values (in registry order); timers restart, per-link state is kept.
  virtual void configure(const std::vector<int64_t>& attributes, Time now) = 0;
  // The text attributes (in registry order, empty for the others); given before configure().
  virtual void configure_texts(const std::vector<std::string>& /*texts*/) {}
  // The stage joins a stream already under way (a toxic added to an open connection): the
  // first item need not start a message of the protocol.
  virtual void join_midstream() {}
  // When the toxic was created or its attributes last changed; given before configure().
  // A toxic that follows a schedule (stall) starts it there, on every connection alike.
  virtual void set_since(Time /*since*/) {}
  // A protocol toxic that must see the server's replies to keep its answers in order: the
  // connection's other direction hands each of its items here first, before its own
  // toxics; what the stage passes on goes in `out`.
  virtual bool filters_replies() const { return false; }
  virtual void on_reply(Item item, Time /*now*/, std::vector<Item>& out) {
    out.push_back(std::move(item));
  }
  // Whether a removed stage that reads replies has nothing more to do with them.
  virtual bool settled() const { return true; }
  // Bytes held inside the stage (for backpressure).
  virtual size_t held_bytes() const { return 0; }

  // Where the stage can answer the client itself: the start of the connection's other
  // direction (given to stages on the upstream stream).
  void set_answers(Sink* answers) { answers_ = answers; }

  // Told of each request the stage fails or delays.
  void set_request_listener(std::function<void(RequestFault)> listener) {
    request_listener_ = std::move(listener);
  }

  // A toxic whose toxicity is drawn per message (ToxicType::per_message) is always active;
  // it draws against this itself.
  void set_toxicity(float toxicity) { toxicity_ = toxicity; }

  // `replies`, when given, counts the data chunks read so far from the connection's other
  // direction (what a request-response exchange looks like from this side).
  void attach(Sink* next, Random* rng, const uint64_t* replies = nullptr) {
    next_ = next;
    rng_ = rng;
    replies_ = replies;
  }

 protected:
  void emit(Item item, Time now) { next_->push(std::move(item), now); }
  Random& rng() { return *rng_; }
  const uint64_t* replies() const { return replies_; }
  float toxicity() const { return toxicity_; }
  void counted(RequestFault fault) {
    if (request_listener_) request_listener_(fault);
  }
  // Sends an item towards the client (nothing when the stage has no way back).
  void answer(Item item, Time now) {
    if (answers_ != nullptr) answers_->push(std::move(item), now);
  }

 private:
  Sink* next_ = nullptr;
  Random* rng_ = nullptr;
  const uint64_t* replies_ = nullptr;
  float toxicity_ = 1.0f;
  Sink* answers_ = nullptr;
  std::function<void(RequestFault)> request_listener_;
};

// Creates the stage for a registered type (nullptr for an unknown type).
std::unique_ptr<Stage> make_stage(std::string_view type);

// A random number in [0, 1) from the generator.
double uniform01(Random& rng);

// Milliseconds from an API attribute, clamped so that huge values cannot overflow.
Micros millis(int64_t ms);

}  // namespace faultline::toxics
