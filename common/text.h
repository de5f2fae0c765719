// Small text helpers shared by both programs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace faultline {

// The pieces of `text` between `sep`s, empty ones kept, as Go's strings.Split cuts them
// ("" is one empty piece; "a,,b" is three).
inline std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? text.npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace faultline
