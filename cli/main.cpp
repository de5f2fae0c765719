// faultline-cli: a command-line client of the admin API, command-compatible with
// Toxiproxy 2.12's toxiproxy-cli (see cli/app.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/app.h"

int main(int argc, char** argv) {
  faultline::cli::Environment env;
  env.args.assign(argv, argv + argc);
  if (const char* url = std::getenv("TOXIPROXY_URL")) env.toxiproxy_url = url;
  env.tty = isatty(STDOUT_FILENO) == 1;
  env.version = FAULTLINE_VERSION;
  faultline::cli::Outcome outcome = faultline::cli::run_cli(env);
  std::fwrite(outcome.out.data(), 1, outcome.out.size(), stdout);
  std::fflush(stdout);
  std::fwrite(outcome.err.data(), 1, outcome.err.size(), stderr);
  std::fflush(stderr);
  return outcome.exit_code;
}
