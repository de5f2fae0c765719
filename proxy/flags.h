// Command-line parsing in the style of Go's flag package, which toxiproxy-server uses:
// "-host x", "--host x", "-host=x", bare boolean flags or "-flag=true|false", parsing stops
// at the first non-flag argument. CLI11 cannot express single-dash long names with these
// rules (or Go's exact error text and exit code 2), so this small parser does it.
#pragma once

#include <string>
#include <vector>

#include "proxy/options.h"

namespace faultline::proxy {

struct FlagResult {
  int exit_code = -1;  // >= 0: exit now with this code (help, errors)
  std::string output;  // what to print to stderr before exiting
};

FlagResult parse_flags(const std::vector<std::string>& args, ServerOptions& out);
std::string usage_text(const std::string& program);

}  // namespace faultline::proxy
