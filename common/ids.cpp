#include "common/ids.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <random>

namespace faultline {

// 12 bytes: 4 of time (seconds), 3 of machine, 2 of process id, 3 of a counter, encoded
// in base32hex without padding.
std::string new_request_id() {
  static const uint32_t machine = std::random_device{}() & 0xffffff;
  static std::atomic<uint32_t> counter{std::random_device{}()};
  uint8_t b[12];
  auto t = static_cast<uint32_t>(std::time(nullptr));
  b[0] = t >> 24;
  b[1] = t >> 16;
  b[2] = t >> 8;
  b[3] = t;
  b[4] = machine >> 16;
  b[5] = machine >> 8;
  b[6] = machine;
  auto pid = static_cast<uint16_t>(getpid());
  b[7] = pid >> 8;
  b[8] = pid;
  uint32_t c = counter.fetch_add(1);
  b[9] = c >> 16;
  b[10] = c >> 8;
  b[11] = c;
  static const char* alphabet = "0123456789abcdefghijklmnopqrstuv";
  std::string out;
  out.reserve(20);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : b) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

}  // namespace faultline
