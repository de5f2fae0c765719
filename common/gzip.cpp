#include "common/gzip.h"

#include <algorithm>
#include <array>

namespace faultline {

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

std::string gzip_stored(std::string_view data) {
  auto le32 = [](std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);  // header, no mtime
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(data.size() - pos, 65535);
    bool last = pos + n == data.size();
    out += static_cast<char>(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored), byte-aligned
    auto len = static_cast<uint16_t>(n);
    auto nlen = static_cast<uint16_t>(~len);
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>(len >> 8);
    out += static_cast<char>(nlen & 0xff);
    out += static_cast<char>(nlen >> 8);
    out.append(data.substr(pos, n));
    pos += n;
  } while (pos < data.size());
  le32(out, crc32(data));
  le32(out, static_cast<uint32_t>(data.size()));
  return out;
}

}  // namespace faultline
