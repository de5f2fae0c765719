// Fuzz target: faultline-proxy's Go-style command line and Go's address rules. The first
// byte picks: the flag parser (the rest split into arguments at newlines), or the address
// functions (split, join, resolve for listening). Properties: a flag error exits 2 with the
// usage text; a split address joins back to one that splits the same way.
#include <netdb.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/address.h"
#include "proxy/flags.h"

// Host names never leave the process: the fuzzer must not send DNS queries.
extern "C" int getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** res) {
  *res = nullptr;
  return EAI_NONAME;
}

namespace {

void fuzz_flags(std::string_view text) {
  std::vector<std::string> args{"faultline-proxy"};
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      args.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  faultline::proxy::ServerOptions options;
  auto result = faultline::proxy::parse_flags(args, options);
  if (result.exit_code == 2 &&
      result.output.find("Usage of faultline-proxy:") == std::string::npos) {
    std::abort();
  }
}

void fuzz_address(std::string_view text) {
  std::string err;
  auto hp = faultline::split_host_port(text, err);
  if (hp) {
    std::string joined = faultline::join_host_port(hp->host, hp->port);
    std::string err2;
    auto again = faultline::split_host_port(joined, err2);
    if (!again || again->host != hp->host || again->port != hp->port) std::abort();
  } else if (err.empty()) {
    std::abort();  // a refusal always says why
  }
  err.clear();
  auto listen = faultline::resolve_listen(text, err);
  if (!listen && err.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    fuzz_flags(text);
  } else {
    fuzz_address(text);
  }
  return 0;
}
