// Fuzz target: loadgen's HTTP/1.1 response reader (llhttp underneath: status line,
// headers, Content-Length, chunked and close-delimited bodies), fed a server's bytes in
// pieces whose sizes come from the input's first byte; the second byte picks HEAD, kept
// headers and a kept body. A kept body never exceeds its limit, and a finished message
// stays finished.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "loadgen/run/http_response.h"

using faultline::loadgen::ResponseReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t piece = 1 + data[0] % 64;
  bool head = data[1] & 1, want_headers = data[1] & 2, want_body = data[1] & 4;
  constexpr size_t kLimit = 512;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  faultline::loadgen::HttpExchange out;
  ResponseReader reader;
  reader.begin(out, head, want_headers, want_body, kLimit);
  auto step = ResponseReader::Step::kMore;
  for (size_t pos = 0; pos < in.size() && step == ResponseReader::Step::kMore; pos += piece) {
    std::string_view chunk = in.substr(pos, piece);
    step = reader.feed(chunk.data(), chunk.size());
  }
  bool complete = step == ResponseReader::Step::kComplete;
  if (step == ResponseReader::Step::kMore) complete = reader.finish();
  if (complete) {
    if (reader.status() < 100 || reader.status() > 999) std::abort();
    if (!reader.finish()) std::abort();  // the end stays the end
  }
  if (out.body.size() > kLimit || (!want_body && !out.body.empty())) std::abort();
  if (!want_headers && !want_body && !out.headers.empty()) std::abort();
  return 0;
}
