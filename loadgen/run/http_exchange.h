// One HTTP request and its outcome as the client measured it, independent of the I/O
// backend: what scenario flows and JavaScript's k6/http both hand to the client and read
// back, and what the samples of a request are made from (k6-compat §3.3-§3.5).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <netinet/in.h>

#include "loadgen/config/duration.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/samples.h"

namespace faultline::loadgen {

struct HttpTarget {
  sockaddr_storage address{};
  socklen_t length = 0;
  bool tls = false;         // https:// or wss://
  std::string server_name;  // with tls: the host to name (SNI) and verify
};

// Resolves host and port once per process (IPv4 preferred, as loadgen has always
// connected); false when the name does not resolve. Thread-safe.
bool resolve_target(const std::string& host, const std::string& port, HttpTarget& out);

struct HttpRequestSpec {
  HttpTarget target;
  std::string_view bytes;  // the whole request
  Duration timeout = std::chrono::seconds(60);
  bool head = false;          // the response has no body
  bool want_headers = false;  // keep the response headers
  bool want_body = false;     // keep the response body (up to body_limit bytes)
  size_t body_limit = 1 << 20;
};

// A transport failure with k6's error code (§3.5); code 0 means none. HTTP statuses of 400
// and above get code 1000 + status with an empty text.
struct HttpFailure {
  int code = 0;
  std::string text;
};

struct HttpExchange {
  int status = 0;  // 0 on a transport failure
  HttpFailure failure;
  int http_minor = 1;  // HTTP/1.<minor> of the response
  // Phases in milliseconds (§3.3); duration = sending + waiting + receiving.
  double blocked = 0, connecting = 0, tls_handshaking = 0, sending = 0, waiting = 0, receiving = 0,
         duration = 0;
  // The connection's TLS version ("tls1.3"…) and cipher suite (IANA's name); "" on plain
  // HTTP and when no TLS connection was established. Static strings.
  const char* tls_version = "";
  const char* tls_cipher = "";
  uint64_t sent = 0, received = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // with want_headers
  std::string body;                                          // with want_body
  bool body_truncated = false;                               // the body was longer than body_limit
  bool interrupted = false;                                  // the VU was interrupted: no samples
};

// Which statuses count as expected (k6's responseCallback, §3.4): a list of inclusive
// ranges; `judged` false means no callback (no http_req_failed sample and no
// expected_response tag).
struct Expectation {
  bool judged = true;
  std::vector<std::pair<int, int>> ranges{{200, 399}};
  bool expected(int status) const {
    for (auto [lo, hi] : ranges) {
      if (status >= lo && status <= hi) return true;
    }
    return false;
  }
};

// The tag set of a request's samples: its own tags plus status, expected_response, proto,
// error_code and error. Cached per worker by (request tags, status, error), so a request
// seen before costs one lookup.
class HttpTagCache {
 public:
  uint32_t tags(TagSets& sets, uint32_t base, const HttpExchange& x, const Expectation& e);

 private:
  struct Key {
    uint32_t base;
    int status, code, judged;
    std::string text;
    const char* tls_version;  // one of tls_version_name's static strings
    bool operator==(const Key&) const = default;
  };
  struct Hash {
    size_t operator()(const Key& k) const;
  };
  std::unordered_map<Key, uint32_t, Hash> cache_;
};

// Records the http_req_* samples of one exchange (not data_sent/received: scenario flows
// record those per request, scripts per iteration).
void record_http(SampleSink& sink, uint32_t tags, const HttpExchange& x, const Expectation& e,
                 int64_t when);

}  // namespace faultline::loadgen
