// Base64 and hex as k6's Go code produces and accepts them (Go's encoding/base64 and
// encoding/hex), shared by k6/encoding and k6/crypto. Scripts compare these texts and parse
// the error offsets, so the decoder reproduces Go's rules rather than being lenient.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace faultline::loadgen::js {

// The four encodings k6 names "std", "rawstd", "url" and "rawurl".
struct Base64Variant {
  bool url = false;     // '-' and '_' instead of '+' and '/'
  bool padding = true;  // '=' up to a multiple of four characters
};
inline constexpr Base64Variant kBase64Std{false, true};
inline constexpr Base64Variant kBase64RawStd{false, false};
inline constexpr Base64Variant kBase64Url{true, true};
inline constexpr Base64Variant kBase64RawUrl{true, false};

// k6's encoding name to a variant; anything unknown is "std", as in k6.
Base64Variant base64_variant(std::string_view name);

std::string base64_encode(std::string_view bytes, Base64Variant variant);

// Decodes like Go's Encoding.DecodeString: '\r' and '\n' are skipped anywhere, trailing
// bits need not be zero, padding must be complete in padded variants and absent in raw
// ones. On malformed input returns nullopt and sets `error_at` to the byte offset Go
// reports ("illegal base64 data at input byte <n>").
std::optional<std::string> base64_decode(std::string_view text, Base64Variant variant,
                                         size_t& error_at);

std::string hex_encode(std::string_view bytes);

}  // namespace faultline::loadgen::js
