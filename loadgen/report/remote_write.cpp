#include "loadgen/report/remote_write.h"

#include <openssl/evp.h>
#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/http_client_sync.h"
#include "common/text.h"
#include "loadgen/config/duration.h"
#include "loadgen/report/console.h"
#include "loadgen/report/prometheus_series.h"
#include "loadgen/report/remote_write.pb.h"

namespace faultline::loadgen {

namespace {

constexpr const char* kPrefix = "K6_PROMETHEUS_RW_";
// Prometheus' staleness marker: a NaN with this exact bit pattern.
constexpr uint64_t kStaleNaN = 0x7ff0000000000002ull;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? "" : s.substr(start);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out = split(text, ',');
  for (auto& piece : out) piece = trim(piece);
  return out;
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "t" || text == "T" || text == "TRUE" ||
      text == "True") {
    out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "f" || text == "F" || text == "FALSE" ||
      text == "False") {
    out = false;
    return true;
  }
  return false;
}

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool remote_write_settings(const std::map<std::string, std::string>& env, RemoteWriteSettings& out,
                           std::string& error) {
  auto get = [&](const std::string& name) -> const std::string* {
    auto it = env.find(kPrefix + name);
    return it == env.end() ? nullptr : &it->second;
  };
  if (auto v = get("SERVER_URL")) out.url = *v;
  if (out.url.rfind("http://", 0) != 0) {
    error =
        "K6_PROMETHEUS_RW_SERVER_URL must be an http:// URL (TLS endpoints are not supported "
        "yet): " +
        out.url;
    return false;
  }
  if (auto v = get("PUSH_INTERVAL")) {
    auto d = parse_extended_duration(*v);
    if (!d || *d <= Duration::zero()) {
      error = "K6_PROMETHEUS_RW_PUSH_INTERVAL: '" + *v + "' is not a positive duration";
      return false;
    }
    out.push_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    if (out.push_interval.count() == 0) out.push_interval = std::chrono::milliseconds(1);
  }
  if (auto v = get("TREND_STATS")) {
    if (!parse_prometheus_trend_stats(*v, out.trend_stats, error)) return false;
  }
  if (auto v = get("STALE_MARKERS")) {
    if (!parse_bool(*v, out.stale_markers)) {
      error = "K6_PROMETHEUS_RW_STALE_MARKERS: '" + *v + "' is not a boolean";
      return false;
    }
  }
  if (auto v = get("TREND_AS_NATIVE_HISTOGRAM")) {
    bool native = false;
    if (!parse_bool(*v, native)) {
      error = "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM: '" + *v + "' is not a boolean";
      return false;
    }
    if (native) {
      error =
          "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM: loadgen does not send native "
          "histograms; choose the trend stats with K6_PROMETHEUS_RW_TREND_STATS";
      return false;
    }
  }
  for (const char* name :
       {"INSECURE_SKIP_TLS_VERIFY", "TLS_MINIMUM_VERSION", "CLIENT_CERTIFICATE",
        "CLIENT_CERTIFICATE_KEY", "SIGV4_REGION", "SIGV4_ACCESS_KEY", "SIGV4_SECRET_KEY"}) {
    if (auto v = get(name); v && !v->empty() && *v != "false") {
      error = std::string(kPrefix) + name + " is not supported by loadgen yet";
      return false;
    }
  }
  auto user = get("USERNAME");
  auto password = get("PASSWORD");
  if (user || password) {
    out.headers.emplace_back("Authorization", "Basic " + base64((user ? *user : "") + ":" +
                                                                (password ? *password : "")));
  }
  if (auto v = get("BEARER_TOKEN"); v && !v->empty()) {
    out.headers.emplace_back("Authorization", "Bearer " + *v);
  }
  if (auto v = get("HTTP_HEADERS"); v && !v->empty()) {
    for (const auto& pair : split_commas(*v)) {
      size_t colon = pair.find(':');
      if (colon == std::string::npos || colon == 0) {
        error = "K6_PROMETHEUS_RW_HTTP_HEADERS: '" + pair + "' is not name:value";
        return false;
      }
      out.headers.emplace_back(trim(pair.substr(0, colon)), trim(pair.substr(colon + 1)));
    }
  }
  const std::string header_prefix = std::string(kPrefix) + "HEADERS_";
  for (auto it = env.lower_bound(header_prefix);
       it != env.end() && it->first.compare(0, header_prefix.size(), header_prefix) == 0; ++it) {
    std::string name = it->first.substr(header_prefix.size());
    if (!name.empty()) out.headers.emplace_back(name, it->second);
  }
  return true;
}

RemoteWriteBatch encode_remote_write(const Registry& registry,
                                     const std::vector<SeriesTable::Series>& all,
                                     const Recorder& metrics,
                                     const std::vector<std::string>& trend_stats,
                                     std::vector<uint64_t>& pushed_totals, int64_t timestamp_ms,
                                     bool stale) {
  remote_write::WriteRequest request;
  RemoteWriteBatch batch;
  const auto& defs = registry.metrics();
  const size_t count = std::min(all.size(), metrics.series_count());
  if (pushed_totals.size() < count) pushed_totals.resize(count, 0);
  for (size_t id = 0; id < count; ++id) {
    const Sink& sink = metrics.series(static_cast<uint32_t>(id));
    if (stale ? pushed_totals[id] == 0 : sink.total == pushed_totals[id]) continue;
    if (!stale) pushed_totals[id] = sink.total;
    std::vector<std::pair<std::string, std::string>> labels;
    for (const auto& [k, v] : all[id].tags) {
      if (!v.empty() && valid_label_name(k)) labels.emplace_back(k, v);
    }
    for (const auto& value : prometheus_values(defs[all[id].metric], sink, trend_stats)) {
      auto* ts = request.add_timeseries();
      auto with_name = labels;
      with_name.emplace_back("__name__", value.name);
      std::sort(with_name.begin(), with_name.end());
      for (const auto& [k, v] : with_name) {
        auto* label = ts->add_labels();
        label->set_name(k);
        label->set_value(v);
      }
      auto* sample = ts->add_samples();
      sample->set_value(stale ? std::bit_cast<double>(kStaleNaN) : value.value);
      sample->set_timestamp(timestamp_ms);
      ++batch.series;
    }
  }
  if (batch.series == 0) return batch;
  std::string raw;
  request.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &batch.body);
  return batch;
}

PrometheusRemoteWrite::PrometheusRemoteWrite(RemoteWriteSettings settings,
                                             std::shared_ptr<const Registry> registry,
                                             std::shared_ptr<SeriesTable> series)
    : settings_(std::move(settings)),
      registry_(std::move(registry)),
      series_(std::move(series)),
      next_push_(std::chrono::steady_clock::now() + settings_.push_interval),
      sender_([this] { send_loop(); }) {}

PrometheusRemoteWrite::~PrometheusRemoteWrite() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sender_.join();
}

std::string PrometheusRemoteWrite::description() const {
  return "Prometheus remote-write (" + settings_.url + ")";
}

void PrometheusRemoteWrite::update(const Recorder& metrics) {
  auto now = std::chrono::steady_clock::now();
  if (now < next_push_) return;
  while (next_push_ <= now) next_push_ += settings_.push_interval;
  push(metrics, false);
}

void PrometheusRemoteWrite::finish(const Recorder& metrics) {
  push(metrics, false);
  if (settings_.stale_markers) push(metrics, true);
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return queue_.empty() && !sending_; });
}

void PrometheusRemoteWrite::push(const Recorder& metrics, bool stale) {
  // Every push gets a later timestamp than the one before: Prometheus refuses a second,
  // different value for a series at the same millisecond.
  int64_t ts = std::max(now_ms() + (stale ? 1 : 0), last_timestamp_ms_ + 1);
  last_timestamp_ms_ = ts;
  auto batch = encode_remote_write(*registry_, series_->list(), metrics, settings_.trend_stats,
                                   pushed_totals_, ts, stale);
  if (batch.series == 0) return;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(batch.body));
  }
  wake_.notify_all();
}

void PrometheusRemoteWrite::send_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::string body = std::move(queue_.front());
    queue_.pop_front();
    sending_ = true;
    lock.unlock();

    http::ClientRequest request;
    request.method = "POST";
    request.url = settings_.url;
    request.headers = {{"Content-Encoding", "snappy"},
                       {"Content-Type", "application/x-protobuf"},
                       {"User-Agent", "k6-prometheus-rw-output"},
                       {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    request.headers.insert(request.headers.end(), settings_.headers.begin(),
                           settings_.headers.end());
    request.body = std::move(body);
    request.timeout = std::chrono::milliseconds(5000);
    request.max_redirects = 0;
    auto started = std::chrono::steady_clock::now();
    http::ClientResponse response;
    std::string error;
    if (!http::send_request(request, response, error)) {
      log_line("error", "Failed to send the time series data to the endpoint",
               log_field("error", error) + " " + log_field("output", "Prometheus remote-write"));
    } else if (response.status < 200 || response.status > 299) {
      std::string text = response.body.substr(0, response.body.find('\n'));
      log_line("error", "Failed to send the time series data to the endpoint",
               log_field("error", "the endpoint answered " + std::to_string(response.status) +
                                      (text.empty() ? "" : ": " + text)) +
                   " " + log_field("output", "Prometheus remote-write"));
    }
    auto took = std::chrono::steady_clock::now() - started;
    if (took > settings_.push_interval) {
      log_line("warning",
               "A push to the remote-write endpoint took longer than the push interval; "
               "samples are sent less often than asked",
               log_field("took", format_go_duration(took)) + " " +
                   log_field("interval", format_go_duration(settings_.push_interval)));
    }

    lock.lock();
    sending_ = false;
    wake_.notify_all();
  }
}

}  // namespace faultline::loadgen
