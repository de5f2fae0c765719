// faultline-proxy: a drop-in replacement for toxiproxy-server.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "common/backend.h"
#include "common/log.h"
#include "proxy/flags.h"
#include "proxy/model.h"
#include "proxy/options.h"

int main(int argc, char** argv) {
  using namespace faultline;
  std::vector<std::string> args(argv, argv + argc);
  proxy::ServerOptions options;
  auto parsed = proxy::parse_flags(args, options);
  if (parsed.exit_code >= 0) {
    std::fputs(parsed.output.c_str(), stderr);
    return parsed.exit_code;
  }
  if (options.version) {
    std::printf("faultline-proxy version %s (toxiproxy-server version %s compatible)\n",
                FAULTLINE_VERSION, proxy::kToxiproxyApiVersion);
    return 0;
  }
  // A peer that closes while bytes are being spliced to it must cost that connection, not
  // the process (send() has MSG_NOSIGNAL; splice(2) has no such flag).
  std::signal(SIGPIPE, SIG_IGN);
  log::init_from_env();
  log::info()
      .str("version", proxy::kToxiproxyApiVersion)
      .str("faultline", FAULTLINE_VERSION)
      .msg("Starting Toxiproxy");
  Backend backend;
  std::string error;
  if (!resolve_backend(options.backend, backend, error)) {
    log::error().str("error", error).msg("Cannot start the I/O backend");
    return 1;
  }
  log::debug().str("backend", backend_name(backend)).msg("I/O backend selected");
  if (backend == Backend::kIoUring) return uring::run_proxy_server(options);
  return epoll::run_proxy_server(options);
}
