// The output of a protocol toxic (redis, postgres): pieces leave in the order they were
// put, each no earlier than its ready time. While nothing waits, bytes go straight on, and
// a piece being read (a long message) can be streamed rather than held whole.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toxics/stage.h"

namespace faultline::toxics {

class Outbox {
 public:
  // A whole piece (bytes or the end of the stream).
  void put(Item item, Time ready, Time now) {
    streaming_queued_ = false;
    if (queue_.empty() && ready <= now && item.kind == ItemKind::kData) {
      direct_ += item.data;
      return;
    }
    held_ += item.data.size();
    queue_.push_back(Piece{std::move(item), ready});
  }
  void put(std::string bytes, Time ready, Time now) {
    if (!bytes.empty()) put(Item{ItemKind::kData, std::move(bytes)}, ready, now);
  }
  // Starts a piece whose further bytes come with add(), until the next begin() or put().
  void begin(std::string first, Time ready, Time now) {
    if (queue_.empty() && ready <= now) {
      direct_ += first;
      streaming_queued_ = false;
      return;
    }
    held_ += first.size();
    queue_.push_back(Piece{Item{ItemKind::kData, std::move(first)}, ready});
    streaming_queued_ = true;
  }
  void add(std::string_view bytes) {
    if (streaming_queued_) {
      queue_.back().item.data.append(bytes);
      held_ += bytes.size();
    } else {
      direct_.append(bytes);
    }
  }

  std::optional<Time> deadline() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.front().ready;
  }
  size_t held_bytes() const { return held_; }
  bool waiting() const { return !queue_.empty(); }

  // What may leave at `now`, in order (all of it with `everything`).
  std::vector<Item> take(Time now, bool everything = false) {
    std::vector<Item> out;
    if (!direct_.empty()) out.push_back(Item{ItemKind::kData, std::move(direct_)});
    direct_.clear();
    while (!queue_.empty() && (everything || queue_.front().ready <= now)) {
      Item item = std::move(queue_.front().item);
      queue_.pop_front();
      held_ -= item.data.size();
      if (item.kind == ItemKind::kData && !out.empty() && out.back().kind == ItemKind::kData) {
        out.back().data += item.data;
      } else if (item.kind != ItemKind::kData || !item.data.empty()) {
        out.push_back(std::move(item));
      }
    }
    // A streamed piece that left: the rest of its bytes follow it straight on.
    if (queue_.empty()) streaming_queued_ = false;
    return out;
  }

 private:
  struct Piece {
    Item item;
    Time ready;
  };
  std::deque<Piece> queue_;
  std::string direct_;             // bytes that leave at the next take()
  size_t held_ = 0;                // bytes in queue_
  bool streaming_queued_ = false;  // add() appends to queue_.back()
};

// The common part of the protocol toxics' stages: their Outbox, and the message being
// read (`head_`) that goes on unchanged when the stream ends or the toxic is removed.
class MessageStage : public Stage {
 public:
  std::optional<Time> deadline() const override { return out_.deadline(); }
  void on_timer(Time now) override {
    for (auto& item : out_.take(now)) emit(std::move(item), now);
  }
  // Only what waits for its time; a message being read is not counted, so that one
  // longer than the proxy's buffer cannot stop the reading.
  size_t held_bytes() const override { return out_.held_bytes(); }

 protected:
  // The message being read goes on as it came, behind what is queued.
  void release_head(Time now) {
    out_.put(std::move(head_), now, now);
    head_.clear();
  }
  // Everything held leaves now, in order.
  void release_all(Time now) {
    release_head(now);
    for (auto& item : out_.take(now, true)) emit(std::move(item), now);
  }

  Outbox out_;
  std::string head_;  // the message being read, while it must be held
};

}  // namespace faultline::toxics
