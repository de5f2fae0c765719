// HTTP/1.1 message layer on llhttp: an incremental request parser with size limits and a
// response writer that lays out headers the way Go's net/http server does, so admin API
// responses match Toxiproxy's byte for byte.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string target;  // as sent: path plus optional query
  Headers headers;
  std::string body;
  bool keep_alive = true;
  int version_minor = 1;

  // First value of a header, case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  std::string_view raw_path() const;  // target without the query
};

struct Limits {
  size_t max_header_bytes = 1 << 20;  // Go's DefaultMaxHeaderBytes
  size_t max_body_bytes = 16 << 20;
};

// Feeds bytes and yields one request at a time (pipelined requests stay buffered).
class RequestParser {
 public:
  enum class Status { kNeedMore, kComplete, kError };

  explicit RequestParser(Limits limits = {});
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes from `data`; returns kComplete with the request in `out` and the number of
  // bytes used in `consumed`. On kError, `error_status` is 400, 413 or 431.
  Status feed(std::string_view data, size_t& consumed, Request& out);
  int error_status() const { return error_status_; }
  const std::string& error_text() const { return error_text_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int error_status_ = 400;
  std::string error_text_;
};

struct Response {
  int status = 200;
  Headers headers;  // set by the handler; written sorted by name, as Go does
  std::string body;
  bool close = false;  // close the connection after writing
};

std::string_view status_text(int status);
// "Thu, 26 Nov 2026 18:08:20 GMT" for now.
std::string http_date();
// Serialises a response: sorted handler headers, then Connection, Transfer-Encoding, Date,
// Content-Length. Bodies up to 2048 bytes get Content-Length, larger ones are chunked
// (Go's behaviour); 204/304 and HEAD carry no body.
std::string serialize(const Response& r, bool head_request, bool keep_alive);

// Percent-decodes a URL path; returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);
// gorilla/mux's cleanPath: path.Clean, keeping a trailing slash.
std::string clean_path(std::string_view p);

}  // namespace faultline::http
