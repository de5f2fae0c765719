// The parts of a request URL that loadgen's clients need (http, https, ws, wss), as k6's
// Go URL parser splits them.
#pragma once

#include <string>

namespace faultline::loadgen {

struct Url {
  std::string scheme;  // lower case
  std::string user;    // "name:password" before '@', as written
  std::string host;    // without brackets for IPv6
  std::string port;    // the scheme's default when absent
  std::string target;  // path and query ("/" at least), without the fragment
};

// Splits `url`; false with Go's error text (after "invalid URL: ") when it has no scheme or
// no host. Any scheme is accepted: callers check the ones they serve.
bool parse_url(const std::string& url, Url& out, std::string& error);

// The Host header for `u`: the port only when it is not the scheme's default.
std::string host_header(const Url& u);

}  // namespace faultline::loadgen
