#include "loadgen/js/codec.h"

#include <array>
#include <cstdint>

namespace faultline::loadgen::js {

namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xff;

using DecodeTable = std::array<uint8_t, 256>;

constexpr DecodeTable make_table(const char* alphabet) {
  DecodeTable t{};
  for (auto& v : t) v = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}

constexpr DecodeTable kStdTable = make_table(kStdAlphabet);
constexpr DecodeTable kUrlTable = make_table(kUrlAlphabet);

bool is_newline(char c) {
  return c == '\n' || c == '\r';
}

}  // namespace

Base64Variant base64_variant(std::string_view name) {
  if (name == "rawstd") return kBase64RawStd;
  if (name == "url") return kBase64Url;
  if (name == "rawurl") return kBase64RawUrl;
  return kBase64Std;
}

std::string base64_encode(std::string_view bytes, Base64Variant variant) {
  const char* alphabet = variant.url ? kUrlAlphabet : kStdAlphabet;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
  out += alphabet[v >> 18 & 63];
  out += alphabet[v >> 12 & 63];
  if (rest == 2) out += alphabet[v >> 6 & 63];
  if (variant.padding) out.append(rest == 2 ? 1 : 2, '=');
  return out;
}

// Go decodes in quanta of four digits; a quantum may be cut short by padding or, in the raw
// variants, by the end of the input. The offsets reported below are the ones Go's
// decodeQuantum computes, newlines included.
std::optional<std::string> base64_decode(std::string_view src, Base64Variant variant,
                                         size_t& error_at) {
  const DecodeTable& table = variant.url ? kUrlTable : kStdTable;
  std::string out;
  out.reserve(src.size() / 4 * 3 + 2);
  size_t si = 0;
  while (si < src.size()) {
    uint8_t digits[4] = {0, 0, 0, 0};
    int count = 4;
    std::optional<size_t> garbage_at;  // data after the padding: Go decodes, then fails
    for (int j = 0; j < 4; ++j) {
      if (si == src.size()) {
        if (j == 0) return out;  // only newlines were left
        if (j == 1 || variant.padding) {
          error_at = si - static_cast<size_t>(j);
          return std::nullopt;
        }
        count = j;
        break;
      }
      char c = src[si++];
      uint8_t d = table[static_cast<unsigned char>(c)];
      if (d != kInvalid) {
        digits[j] = d;
        continue;
      }
      if (is_newline(c)) {
        --j;
        continue;
      }
      if (!variant.padding || c != '=' || j < 2) {
        error_at = si - 1;
        return std::nullopt;
      }
      if (j == 2) {
        // One '=' seen; a second one must follow (newlines may come between).
        while (si < src.size() && is_newline(src[si])) ++si;
        if (si == src.size()) {
          error_at = src.size();
          return std::nullopt;
        }
        if (src[si] != '=') {
          error_at = si - 1;
          return std::nullopt;
        }
        ++si;
      }
      while (si < src.size() && is_newline(src[si])) ++si;
      if (si < src.size()) garbage_at = si;
      count = j;
      break;
    }
    uint32_t v = uint32_t{digits[0]} << 18 | uint32_t{digits[1]} << 12 | uint32_t{digits[2]} << 6 |
                 uint32_t{digits[3]};
    out += static_cast<char>(v >> 16 & 0xff);
    if (count >= 3) out += static_cast<char>(v >> 8 & 0xff);
    if (count == 4) out += static_cast<char>(v & 0xff);
    if (garbage_at) {
      error_at = *garbage_at;
      return std::nullopt;
    }
  }
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace faultline::loadgen::js
