#include "loadgen/run/http_exchange.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <map>
#include <mutex>

namespace faultline::loadgen {

bool resolve_target(const std::string& host, const std::string& port, HttpTarget& out) {
  // Each thread keeps its last answer: a VU (one thread each when it runs a script) that
  // calls one host all along takes no lock and builds no key.
  thread_local std::string last_host, last_port;
  thread_local HttpTarget last;
  thread_local bool have_last = false;
  if (have_last && host == last_host && port == last_port) {
    out = last;
    return true;
  }
  auto remember = [&](const HttpTarget& t) {
    last_host = host;
    last_port = port;
    last = t;
    have_last = true;
    out = t;
    return true;
  };
  static std::mutex mutex;
  static std::map<std::string, HttpTarget> cache;
  std::string key = host + "\n" + port;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return remember(it->second);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return false;
  const addrinfo* pick = res;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  HttpTarget t;
  std::memcpy(&t.address, pick->ai_addr, pick->ai_addrlen);
  t.length = pick->ai_addrlen;
  freeaddrinfo(res);
  {
    std::lock_guard lock(mutex);
    cache[key] = t;
  }
  return remember(t);
}

size_t HttpTagCache::Hash::operator()(const Key& k) const {
  size_t h = (static_cast<size_t>(k.base) << 32) ^ (static_cast<size_t>(k.status) << 16) ^
             static_cast<size_t>(k.code) ^ (static_cast<size_t>(k.judged) << 31);
  if (!k.text.empty()) h ^= std::hash<std::string>{}(k.text) * 0x9E3779B97F4A7C15ull;
  h ^= reinterpret_cast<uintptr_t>(k.tls_version) >> 4;
  return h;
}

uint32_t HttpTagCache::tags(TagSets& sets, uint32_t base, const HttpExchange& x,
                            const Expectation& e) {
  // Transport errors carry their text as a tag, so it is part of the key.
  Key key{base,
          x.status,
          x.failure.code,
          e.judged ? 1 : 0,
          x.status == 0 ? x.failure.text : std::string(),
          x.tls_version};
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  Tags tags = sets.tags(base);
  tags.emplace_back("status", std::to_string(x.status));
  if (e.judged) tags.emplace_back("expected_response", e.expected(x.status) ? "true" : "false");
  if (x.status != 0) tags.emplace_back("proto", x.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
  if (*x.tls_version != '\0') tags.emplace_back("tls_version", x.tls_version);
  if (x.failure.code != 0) tags.emplace_back("error_code", std::to_string(x.failure.code));
  if (x.status == 0) tags.emplace_back("error", x.failure.text);
  uint32_t id = sets.intern(tags);
  cache_.emplace(std::move(key), id);
  return id;
}

void record_http(SampleSink& sink, uint32_t tags, const HttpExchange& x, const Expectation& e,
                 int64_t when) {
  const double values[] = {1,
                           x.duration,
                           x.blocked,
                           x.connecting,
                           x.tls_handshaking,
                           x.sending,
                           x.waiting,
                           x.receiving,
                           e.expected(x.status) ? 0.0 : 1.0};
  const uint32_t last = e.judged ? kHttpReqFailed : kHttpReqReceiving;
  for (uint32_t m = kHttpReqs; m <= last; ++m) sink.add(m, tags, values[m], when);
}

}  // namespace faultline::loadgen
