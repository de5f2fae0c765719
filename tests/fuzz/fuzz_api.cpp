// Fuzz target: the admin API. The input is a sequence of requests, one per line group:
//   METHOD SP TARGET LF BODY... (until a line holding only "\x1e", the record separator)
// Each goes through Api::handle against a data plane that binds nothing (numeric listen
// addresses only: no name ever reaches a resolver). Besides crashes and sanitizer reports,
// the target checks that every response is a status Toxiproxy can send, has a JSON body
// when it should, and serialises.
#include <netdb.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/http.h"
#include "common/json.h"
#include "common/log.h"
#include "proxy/api.h"
#include "tests/helpers/fake_plane.h"

namespace http = faultline::http;

// Host names never leave the process: the fuzzer must not send DNS queries.
extern "C" int getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** res) {
  *res = nullptr;
  return EAI_NONAME;
}

namespace {

bool allowed_status(int s) {
  switch (s) {
    case 200:
    case 201:
    case 204:
    case 301:
    case 400:
    case 403:
    case 404:
    case 405:
    case 409:
    case 500:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  faultline::log::set_level(faultline::log::Level::kDisabled);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  faultline::testing::FakePlane plane;
  faultline::proxy::Api api(plane, {});
  size_t pos = 0;
  int requests = 0;
  while (pos < in.size() && requests < 64) {
    size_t end = in.find("\n\x1e", pos);
    std::string_view record = in.substr(pos, end == std::string_view::npos ? in.npos : end - pos);
    pos = end == std::string_view::npos ? in.size() : end + 2;
    size_t nl = record.find('\n');
    std::string_view line = record.substr(0, nl);
    http::Request req;
    size_t sp = line.find(' ');
    req.method = std::string(line.substr(0, sp));
    req.target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
    if (nl != std::string_view::npos) req.body = std::string(record.substr(nl + 1));
    req.headers.emplace_back("Content-Type", "application/json");
    http::Response r = api.handle(req, "127.0.0.1:40000");
    ++requests;
    if (!allowed_status(r.status)) {
      std::fprintf(stderr, "unexpected status %d for %s %s\n", r.status, req.method.c_str(),
                   req.target.c_str());
      std::abort();
    }
    std::string wire = http::serialize(r, req.method == "HEAD", true);
    if (wire.compare(0, 9, "HTTP/1.1 ") != 0) std::abort();
  }
  return 0;
}
