// loadgen's Prometheus remote-write output: the WriteRequest it encodes (read back with
// protobuf and snappy) and the K6_PROMETHEUS_RW_* settings it accepts.
#include <snappy.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>

#include "loadgen/report/prometheus_series.h"
#include "loadgen/report/remote_write.h"
#include "loadgen/report/remote_write.pb.h"

using namespace faultline::loadgen;

namespace {

faultline::remote_write::WriteRequest decode(const std::string& body) {
  std::string raw;
  REQUIRE(snappy::Uncompress(body.data(), body.size(), &raw));
  faultline::remote_write::WriteRequest request;
  REQUIRE(request.ParseFromString(raw));
  return request;
}

std::string labels_of(const faultline::remote_write::TimeSeries& ts) {
  std::string out;
  for (const auto& l : ts.labels()) out += l.name() + "=" + l.value() + ";";
  return out;
}

}  // namespace

TEST_CASE("remote write: k6's names, sorted labels, only series with new samples", "[rw]") {
  Registry reg;
  SeriesTable table;
  Recorder rec(reg);
  Tags tags{{"method", "GET"},
            {"scenario", "default"},
            {"status", "200"},
            {"Zone", "eu"},
            {"bad-name", "x"}};
  std::sort(tags.begin(), tags.end());
  uint32_t reqs = table.id(kHttpReqs, tags);
  uint32_t duration = table.id(kHttpReqDuration, tags);
  uint32_t vus = table.id(kVus, {});
  for (int i = 1; i <= 100; ++i) {
    rec.add_series(reqs, kHttpReqs, 1);
    rec.add_series(duration, kHttpReqDuration, i);  // 1..100 ms
  }
  rec.add_series(vus, kVus, 7);

  std::vector<uint64_t> pushed;
  auto batch = encode_remote_write(reg, table.list(), rec, {"p(99)", "count"}, pushed, 1234);
  CHECK(batch.series == 4);  // reqs, duration p99 and count, vus
  auto request = decode(batch.body);
  REQUIRE(request.timeseries_size() == 4);
  std::map<std::string, const faultline::remote_write::TimeSeries*> by_name;
  for (const auto& ts : request.timeseries()) {
    REQUIRE(ts.samples_size() == 1);
    CHECK(ts.samples(0).timestamp() == 1234);
    // Sorted by label name: "Zone" < "__name__" < "method" (byte order); the tag whose name
    // is not a label name is left out.
    for (int i = 1; i < ts.labels_size(); ++i) CHECK(ts.labels(i - 1).name() < ts.labels(i).name());
    for (const auto& l : ts.labels()) {
      CHECK(l.name() != "bad-name");
      if (l.name() == "__name__") by_name[l.value()] = &ts;
    }
  }
  REQUIRE(by_name.count("k6_http_reqs_total"));
  CHECK(labels_of(*by_name["k6_http_reqs_total"]) ==
        "Zone=eu;__name__=k6_http_reqs_total;method=GET;scenario=default;status=200;");
  CHECK(by_name["k6_http_reqs_total"]->samples(0).value() == 100);
  REQUIRE(by_name.count("k6_http_req_duration_p99"));
  // Time trends in seconds; the count stays a count.
  CHECK(by_name["k6_http_req_duration_p99"]->samples(0).value() == Approx(0.099).epsilon(0.02));
  REQUIRE(by_name.count("k6_http_req_duration_count"));
  CHECK(by_name["k6_http_req_duration_count"]->samples(0).value() == 100);
  REQUIRE(by_name.count("k6_vus"));
  CHECK(labels_of(*by_name["k6_vus"]) == "__name__=k6_vus;");
  CHECK(by_name["k6_vus"]->samples(0).value() == 7);

  // Nothing new: nothing to send. One new request: only that series.
  auto none = encode_remote_write(reg, table.list(), rec, {"p(99)"}, pushed, 2000);
  CHECK(none.series == 0);
  CHECK(none.body.empty());
  rec.add_series(reqs, kHttpReqs, 1);
  auto one = encode_remote_write(reg, table.list(), rec, {"p(99)"}, pushed, 3000);
  REQUIRE(one.series == 1);
  auto again = decode(one.body);
  CHECK(labels_of(again.timeseries(0)).find("__name__=k6_http_reqs_total;") != std::string::npos);
  CHECK(again.timeseries(0).samples(0).value() == 101);

  // Staleness markers: every series pushed so far, with Prometheus' stale NaN.
  auto stale = encode_remote_write(reg, table.list(), rec, {"p(99)"}, pushed, 4000, true);
  CHECK(stale.series == 3);
  auto stale_request = decode(stale.body);
  for (const auto& ts : stale_request.timeseries()) {
    double v = ts.samples(0).value();
    CHECK(std::isnan(v));
    CHECK(std::bit_cast<uint64_t>(v) == 0x7ff0000000000002ull);
  }
}

TEST_CASE("remote write: settings from K6_PROMETHEUS_RW_*", "[rw]") {
  RemoteWriteSettings s;
  std::string err;
  REQUIRE(remote_write_settings({}, s, err));
  CHECK(s.url == "http://localhost:9090/api/v1/write");
  CHECK(s.push_interval == std::chrono::seconds(5));
  CHECK(s.trend_stats == std::vector<std::string>{"p(99)"});
  CHECK(s.headers.empty());

  RemoteWriteSettings t;
  REQUIRE(remote_write_settings({{"K6_PROMETHEUS_RW_SERVER_URL", "http://prom:9090/api/v1/write"},
                                 {"K6_PROMETHEUS_RW_PUSH_INTERVAL", "1500"},
                                 {"K6_PROMETHEUS_RW_TREND_STATS", "p(95), p(99),avg,sum"},
                                 {"K6_PROMETHEUS_RW_STALE_MARKERS", "true"},
                                 {"K6_PROMETHEUS_RW_USERNAME", "user"},
                                 {"K6_PROMETHEUS_RW_PASSWORD", "pass"},
                                 {"K6_PROMETHEUS_RW_HTTP_HEADERS", "X-A: 1,X-B:2"},
                                 {"K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID", "team"}},
                                t, err));
  CHECK(t.url == "http://prom:9090/api/v1/write");
  CHECK(t.push_interval == std::chrono::milliseconds(1500));  // a bare number is milliseconds
  CHECK(t.trend_stats == std::vector<std::string>{"p(95)", "p(99)", "avg", "sum"});
  CHECK(t.stale_markers);
  faultline::http::Headers expected{{"Authorization", "Basic dXNlcjpwYXNz"},
                                    {"X-A", "1"},
                                    {"X-B", "2"},
                                    {"X-Scope-OrgID", "team"}};
  CHECK(t.headers == expected);

  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"K6_PROMETHEUS_RW_PUSH_INTERVAL", "0"},
           {"K6_PROMETHEUS_RW_PUSH_INTERVAL", "soon"},
           {"K6_PROMETHEUS_RW_TREND_STATS", "p(95),median"},
           {"K6_PROMETHEUS_RW_STALE_MARKERS", "yes"},
           {"K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true"},
           {"K6_PROMETHEUS_RW_SERVER_URL", "https://prom/api/v1/write"},
           {"K6_PROMETHEUS_RW_SIGV4_REGION", "eu-west-1"},
           {"K6_PROMETHEUS_RW_HTTP_HEADERS", "novalue"}}) {
    RemoteWriteSettings bad;
    std::string why;
    CHECK_FALSE(remote_write_settings({{name, value}}, bad, why));
    CHECK(why.find(name) != std::string::npos);
  }
  RemoteWriteSettings off;
  CHECK(remote_write_settings({{"K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "false"}}, off, err));
}

TEST_CASE("prometheus outputs: trend stats from K6_PROMETHEUS_RW_TREND_STATS", "[rw]") {
  std::vector<std::string> stats;
  std::string err;
  REQUIRE(parse_prometheus_trend_stats("p(95), p(99.9) ,avg,count,sum", stats, err));
  CHECK(stats == std::vector<std::string>{"p(95)", "p(99.9)", "avg", "count", "sum"});
  CHECK(prometheus_stat_suffix("p(99.9)") == "p999");
  CHECK_FALSE(parse_prometheus_trend_stats("p(95),median", stats, err));
  CHECK(err == "invalid K6_PROMETHEUS_RW_TREND_STATS entry 'median'");
  CHECK_FALSE(parse_prometheus_trend_stats("p(95),", stats, err));
  CHECK(err == "invalid K6_PROMETHEUS_RW_TREND_STATS entry ''");
}
