// loadgen: k6-style HTTP load generation, e.g. `loadgen --vus 50 --duration 5m URL`.
#include <netdb.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/backend.h"
#include "loadgen/duration.h"
#include "loadgen/runner.h"
#include "loadgen/summary.h"

namespace fl = faultline::loadgen;

namespace {

// Exit codes as k6's (spec k6-compat §5).
constexpr int kExitThresholds = 99;
constexpr int kExitConfig = 104;
constexpr int kExitSignal = 105;
constexpr int kExitOther = 255;

struct Url {
  std::string host, port = "80", target = "/";
};

bool parse_url(const std::string& url, Url& out, std::string& err) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    err = "only http:// URLs are supported: " + url;
    return false;
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.target = rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) {
      err = "malformed URL: " + url;
      return false;
    }
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      out.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    err = "malformed URL: " + url;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loadgen: k6-style HTTP load generator (Faultline)", "loadgen"};
  std::string url, method = "GET", body, body_file, duration_text, summary_export,
                   backend_text = "auto";
  uint64_t vus = 1, iterations = 0;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> headers, threshold_flags;
  bool quiet = false;
  app.add_option("url", url, "Target URL (http://host:port/path)")->required();
  app.add_option("-u,--vus", vus, "Number of virtual users")->check(CLI::PositiveNumber);
  app.add_option("-d,--duration", duration_text, "Test duration (Go syntax: 30s, 1m30s)");
  app.add_option("-i,--iterations", iterations, "Total iterations shared by all VUs");
  app.add_option("-X,--method", method, "HTTP method");
  app.add_option("-H,--header", headers, "Request header \"Name: value\" (repeatable)");
  app.add_option("--body", body, "Request body");
  app.add_option("--body-file", body_file, "Read the request body from a file");
  app.add_option("--threshold", threshold_flags,
                 "Threshold \"metric: expression\", e.g. 'http_req_duration: p(95)<2000'");
  app.add_option("--summary-export", summary_export, "Write k6's flat summary JSON to FILE");
  std::string timeout_text = "60s";
  app.add_option("--request-timeout", timeout_text,
                 "Abandon a request after this long (k6's per-request timeout; default 60s)");
  app.add_flag("-q,--quiet", quiet, "No progress output");
  app.add_option("--threads", threads, "Worker threads")->check(CLI::Range(1u, 1024u));
  app.add_option("--backend", backend_text, "I/O backend: auto, io_uring or epoll");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitOther;
  }

  auto config_error = [](const std::string& msg) {
    std::fprintf(stderr, "level=error msg=\"%s\"\n", msg.c_str());
    return kExitConfig;
  };

  fl::RunConfig cfg;
  cfg.vus = vus;
  cfg.iterations = iterations;
  cfg.threads = threads;
  cfg.progress = !quiet;
  if (!duration_text.empty()) {
    auto d = fl::parse_go_duration(duration_text);
    if (!d || d->count() < 0) return config_error("invalid duration \"" + duration_text + "\"");
    cfg.duration = *d;
  }
  if (auto t = fl::parse_go_duration(timeout_text); t && t->count() > 0) {
    cfg.request_timeout = *t;
  } else {
    return config_error("invalid request timeout \"" + timeout_text + "\"");
  }
  if (iterations == 0 && cfg.duration.count() == 0) {
    // k6 runs a single iteration when neither is given.
    cfg.iterations = 1;
  }
  if (cfg.iterations > 0 && cfg.iterations < cfg.vus) cfg.vus = cfg.iterations;
  if (cfg.iterations > 0 && cfg.duration.count() > 0) cfg.max_duration = cfg.duration;

  // Thresholds, validated before any VU starts.
  std::map<std::string, std::vector<fl::Threshold>> thresholds;
  {
    fl::Stats empty;
    auto known = fl::metric_values(empty, 0, 0);
    for (const auto& flag : threshold_flags) {
      size_t colon = flag.find(": ");
      if (colon == std::string::npos) colon = flag.find(':');
      if (colon == std::string::npos) {
        return config_error("threshold \"" + flag + "\" must read 'metric: expression'");
      }
      std::string key = flag.substr(0, colon);
      std::string expr = flag.substr(colon + 1);
      while (!expr.empty() && expr.front() == ' ') expr.erase(0, 1);
      std::string name, err;
      std::vector<std::pair<std::string, std::string>> tags;
      if (!fl::parse_metric_key(key, name, tags)) {
        return config_error(
            "unable to validate threshold expressions; reason: parsing metric "
            "name failed, metric \"" +
            key + "\" tag expression is malformed");
      }
      if (!tags.empty()) {
        return config_error("sub-metric thresholds (\"" + key + "\") are not supported yet");
      }
      auto it = known.find(name);
      if (it == known.end()) {
        return config_error("invalid threshold defined on " + key + "; reason: no metric name \"" +
                            key + "\" found");
      }
      auto t = fl::parse_threshold(expr, err);
      if (!t) return config_error(err);
      if (!fl::aggregation_allowed(*t, it->second.type, name, err)) return config_error(err);
      thresholds[key].push_back(*t);
    }
  }

  Url target;
  std::string err;
  if (!parse_url(url, target, err)) return config_error(err);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &res) != 0 || !res) {
    return config_error("cannot resolve " + target.host);
  }
  const addrinfo* pick = res;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  std::memcpy(&cfg.address, pick->ai_addr, pick->ai_addrlen);
  cfg.address_length = pick->ai_addrlen;
  freeaddrinfo(res);

  if (!body_file.empty()) {
    std::ifstream in(body_file, std::ios::binary);
    if (!in) return config_error("cannot read body file " + body_file);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string host_header = target.host.find(':') != std::string::npos
                                ? "[" + target.host + "]:" + target.port
                                : target.host + ":" + target.port;
  cfg.request = method + " " + target.target + " HTTP/1.1\r\nHost: " + host_header +
                "\r\nUser-Agent: faultline-loadgen/" FAULTLINE_VERSION "\r\n";
  for (const auto& h : headers) cfg.request += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    cfg.request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  cfg.request += "\r\n" + body;

  faultline::Backend backend;
  if (!faultline::parse_backend(backend_text, backend)) {
    return config_error("invalid backend \"" + backend_text + "\"");
  }
  backend = faultline::resolve_backend(backend);
  fl::RunResult result = backend == faultline::Backend::kIoUring ? faultline::uring::run_load(cfg)
                                                                 : faultline::epoll::run_load(cfg);

  auto metrics = fl::metric_values(result.stats, cfg.vus, cfg.vus);
  auto evaluated = fl::evaluate(thresholds, metrics, result.elapsed_s);
  fl::SummaryInput summary;
  summary.metrics = &metrics;
  summary.thresholds = evaluated;
  summary.elapsed_s = result.elapsed_s;
  std::fputs(fl::console_summary(summary).c_str(), stdout);
  if (!result.stats.errors.empty() && !quiet) {
    for (const auto& [what, n] : result.stats.errors) {
      std::fprintf(stderr, "level=warn msg=\"%llu requests failed: %s\"\n",
                   static_cast<unsigned long long>(n), what.c_str());
    }
  }
  if (!summary_export.empty()) {
    std::ofstream out(summary_export, std::ios::binary);
    out << fl::summary_export(summary);
    if (!out) std::fprintf(stderr, "level=error msg=\"cannot write %s\"\n", summary_export.c_str());
  }
  if (result.interrupted) return kExitSignal;
  std::vector<std::string> crossed;
  for (const auto& r : evaluated) {
    if (!r.ok && (crossed.empty() || crossed.back() != r.metric)) crossed.push_back(r.metric);
  }
  if (!crossed.empty()) {
    std::string keys;
    for (const auto& k : crossed) keys += (keys.empty() ? "" : ", ") + k;
    std::fprintf(stderr, "level=error msg=\"thresholds on metrics '%s' have been crossed\"\n",
                 keys.c_str());
    return kExitThresholds;
  }
  return 0;
}
