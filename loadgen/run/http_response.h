// The response half of an HTTP/1.1 exchange without a socket: llhttp fed whatever was
// read, finding the end of the message (Content-Length, chunked, or the close) and keeping
// headers and body when asked. Backend-independent, so it is fuzzed on its own.
#pragma once

#include <llhttp.h>

#include <cstddef>

#include "loadgen/run/http_exchange.h"

namespace faultline::loadgen {

class ResponseReader {
 public:
  ResponseReader();
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // Starts reading one response into `out` (headers and body only when asked; a body
  // longer than `body_limit` is cut and flagged). A response to HEAD has no body.
  void begin(HttpExchange& out, bool head, bool want_headers, bool want_body, size_t body_limit);

  enum class Step { kMore, kComplete, kMalformed };
  // Feeds bytes read from the connection. kComplete: the message ended (bytes after it in
  // this read are not looked at: a server may not pipeline responses we did not ask for).
  Step feed(const char* data, size_t n);
  // The peer closed the connection: true when that ends the message (a body delimited by
  // the close), false when the message was cut short.
  bool finish();

  int status() const { return parser_.status_code; }
  int http_minor() const { return parser_.http_minor; }
  bool keep_alive() const { return llhttp_should_keep_alive(&parser_) != 0; }

 private:
  static int on_message_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_header_field(llhttp_t* p, const char* at, size_t n);
  static int on_header_value(llhttp_t* p, const char* at, size_t n);
  static int on_body(llhttp_t* p, const char* at, size_t n);

  llhttp_t parser_{};
  llhttp_settings_t keeping_{};  // keeps headers and body
  llhttp_settings_t plain_{};    // only finds the end of the message
  HttpExchange* out_ = nullptr;
  size_t body_limit_ = 0;
  bool complete_ = false;
  bool skip_body_ = false;
  bool in_value_ = false;
};

}  // namespace faultline::loadgen
