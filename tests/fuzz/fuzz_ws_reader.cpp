// Fuzz target: the WebSocket frame reader, fed a server's bytes in pieces whose sizes come
// from the input's first byte. Messages must respect the reader's size limit, and once it
// reports an error it must keep refusing.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "loadgen/run/ws_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 32;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t kLimit = 1024;
  faultline::loadgen::WsReader reader(kLimit);
  std::vector<faultline::loadgen::WsMessage> out;
  bool failed = false;
  for (size_t pos = 0; pos < in.size(); pos += piece) {
    std::string_view chunk = in.substr(pos, piece);
    bool ok = reader.feed(chunk.data(), chunk.size(), out);
    if (failed && ok) std::abort();
    if (!ok) {
      failed = true;
      if (reader.error().rfind("websocket: ", 0) != 0) std::abort();
    }
    for (const auto& m : out) {
      if (m.data.size() > kLimit) std::abort();
      if (m.op == faultline::loadgen::WsOpcode::kClose) {
        uint16_t code = 0;
        std::string reason;
        (void)faultline::loadgen::ws_parse_close(m.data, code, reason);
      }
    }
    out.clear();
  }
  return 0;
}
