// Fuzz target: the protocol toxics (redis, postgres) fed a client's and a server's bytes in
// pieces the input chooses. The first byte picks the toxic and whether its patterns can
// match. When nothing can match, both directions must come out exactly as they went in,
// whatever the bytes; when they can, the stages must only not crash or leak.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "toxics/registry.h"
#include "toxics/stage.h"

namespace tx = faultline::toxics;

namespace {

struct Collect : tx::Sink {
  std::string bytes;
  void push(tx::Item item, tx::Time) override { bytes += item.data; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool postgres = (data[0] & 1) != 0;
  bool can_match = (data[0] & 2) != 0;
  int64_t delay = (data[0] & 4) != 0 ? 3 : 0;
  const tx::ToxicType& type = postgres ? tx::postgres_type() : tx::redis_type();
  std::vector<std::string> texts;
  if (postgres) {
    // (A connection-time code refuses every startup: it can always match.)
    bool at_startup = can_match && (data[0] & 8) != 0;
    texts = {can_match ? "*" : "\x01never", at_startup ? "53300" : "40001", "", ""};
  } else {
    texts = {can_match ? "*" : "\x01never", "", "ERR x", ""};
  }
  std::vector<int64_t> numbers = {0, 0, 0, delay};
  Collect out;
  Collect answers;
  Collect replies;
  tx::Random rng(1);
  auto stage = type.create();
  stage->attach(&out, &rng);
  stage->set_answers(&answers);
  stage->set_toxicity(0.5f);
  stage->configure_texts(texts);
  auto now = tx::Clock::time_point{} + std::chrono::hours(1);
  stage->configure(numbers, now);
  if ((data[0] & 16) != 0) stage->join_midstream();

  // Then segments: a header byte (bit 7: from the server; bits 0-6: length), its bytes.
  std::string sent;
  std::string answered_by_server;
  for (size_t pos = 1; pos < size;) {
    bool from_server = (data[pos] & 0x80) != 0;
    size_t len = std::min<size_t>(data[pos] & 0x7f, size - pos - 1);
    std::string bytes(reinterpret_cast<const char*>(data) + pos + 1, len);
    pos += 1 + len;
    now += std::chrono::milliseconds(1);
    if (from_server) {
      answered_by_server += bytes;
      std::vector<tx::Item> passed;
      stage->on_reply(tx::Item{tx::ItemKind::kData, bytes}, now, passed);
      for (auto& item : passed) replies.bytes += item.data;
    } else {
      sent += bytes;
      stage->on_item(tx::Item{tx::ItemKind::kData, bytes}, now);
    }
    if (auto d = stage->deadline(); d && *d <= now) stage->on_timer(now);
  }
  // The server's stream ends (what a stage holds of a reply goes on then); the client's
  // ends too, or the toxic is removed.
  std::vector<tx::Item> passed;
  stage->on_reply(tx::Item{tx::ItemKind::kEnd, {}}, now, passed);
  for (auto& item : passed) replies.bytes += item.data;
  if ((data[0] & 32) != 0) {
    stage->flush(now);
  } else {
    stage->on_item(tx::Item{tx::ItemKind::kEnd, {}}, now);
    stage->flush(now);
  }
  if (!can_match) {
    if (out.bytes != sent) std::abort();
    if (!answers.bytes.empty()) std::abort();
    if (replies.bytes != answered_by_server) std::abort();
  }
  return 0;
}
