// faultline-cli: toxiproxy-cli's commands, flags, help and messages. The command line is
// read as urfave/cli v2 (the version Toxiproxy 2.12's CLI was built with here, 2.3) reads
// it on top of Go's flag package: flags before positional arguments, `-name value`,
// `--name=value`, bare booleans, each alias a flag of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

struct Environment {
  std::vector<std::string> args;             // argv, program name first
  std::optional<std::string> toxiproxy_url;  // $TOXIPROXY_URL, when set (even empty)
  bool tty = false;                          // stdout is a terminal: colours and headers
  std::string version;                       // Faultline's version
};

struct Outcome {
  int exit_code = 0;
  std::string out;  // for stdout
  std::string err;  // for stderr
};

// Runs one invocation. The program calls itself toxiproxy-cli when argv[0]'s file name is
// toxiproxy-cli (a symlink), faultline-cli otherwise; help text and the User-Agent use that
// name.
Outcome run_cli(const Environment& env);

}  // namespace faultline::cli
