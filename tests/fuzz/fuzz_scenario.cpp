// Fuzz target: loadgen's scenario-file reader (simdjson DOM and k6's validation rules).
// Any text either parses or yields an error message; a parsed file must also survive the
// options' JSON writer (what `inspect` prints).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "loadgen/config/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string err;
  auto file = faultline::loadgen::parse_script(text, err);
  if (!file && err.empty()) std::abort();  // a refusal always says why
  return 0;
}
