// A small blocking HTTP/1.1 client for command-line tools (faultline-cli talks to the admin
// API with it): POSIX sockets, llhttp for the response, one request per connection. URLs are
// read with the rules of Go's net/url and failures are worded as Go's net/http client words
// them (`Get "http://h/p": dial tcp 127.0.0.1:1: connect: connection refused`), since the
// tools built on it reproduce Go programs' messages. Plain http only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/http.h"

namespace faultline::http {

struct ClientUrl {
  std::string scheme;     // "http", lower case
  std::string authority;  // host[:port] as written (the Host header)
  std::string host;       // host name or address, without IPv6 brackets
  std::string port;       // as written; empty means the scheme's default
  std::string target;     // escaped path (at least "/") plus "?query" when present
  std::string display;    // the URL as Go's URL.String() writes it (path escaped)
};

// Parses an absolute URL the way Go's url.Parse does for the parts a client needs: the
// fragment is dropped, percent escapes are checked, the path is escaped for the request
// line. On failure `error` is Go's text, e.g. `parse "http://h/%zz": invalid URL escape "%zz"`.
bool parse_client_url(std::string_view text, ClientUrl& out, std::string& error);

struct ClientRequest {
  std::string method;
  std::string url;
  Headers headers;                  // sent as given, after Host
  std::optional<std::string> body;  // with Content-Length when present
  std::chrono::milliseconds timeout{30000};
  int max_redirects = 10;  // followed as Go's client does (301/302/303 become GET)
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // First value of a header, case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
};

// Sends the request and reads the whole response. On failure returns false with the error
// as Go's *url.Error prints it: the method in Go's spelling ("Get", "Post"), the quoted URL,
// then the cause ("dial tcp [::1]:8474: connect: connection refused", "EOF", ...). A URL
// that does not parse gives Go's `parse "...": ...` text alone.
bool send_request(const ClientRequest& request, ClientResponse& response, std::string& error);

// "Get" for GET, "Post" for POST: how Go's url.Error names the operation.
std::string go_method_name(std::string_view method);

}  // namespace faultline::http
