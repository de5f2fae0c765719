// Fuzz target: the admin server's HTTP/1.1 request parser (llhttp underneath), fed the
// input in pieces whose sizes come from the input's first byte, as a slow client sends it.
// Every request it completes must be within the limits it was given.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  faultline::http::Limits limits;
  limits.max_header_bytes = 4096;
  limits.max_body_bytes = 8192;
  faultline::http::RequestParser parser(limits);
  std::string buffered;
  size_t pos = 0;
  while (pos < in.size()) {
    buffered.append(in.substr(pos, piece));
    pos += piece;
    for (;;) {
      size_t used = 0;
      faultline::http::Request req;
      auto status = parser.feed(buffered, used, req);
      if (used > buffered.size()) std::abort();
      buffered.erase(0, used);
      if (status == faultline::http::RequestParser::Status::kError) {
        int s = parser.error_status();
        if (s != 400 && s != 413 && s != 431) std::abort();
        return 0;
      }
      if (status != faultline::http::RequestParser::Status::kComplete) break;
      if (req.body.size() > limits.max_body_bytes) std::abort();
      (void)req.raw_path();
    }
  }
  return 0;
}
