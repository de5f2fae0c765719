#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "common/text.h"
#include "loadgen/config/duration.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/metrics/stats.h"
#include "loadgen/metrics/threshold.h"
#include "loadgen/report/csv_output.h"
#include "loadgen/report/summary.h"
#include "loadgen/run/http_exchange.h"
#include "loadgen/run/http_response.h"

using namespace faultline;
using namespace faultline::loadgen;
using namespace std::chrono_literals;

TEST_CASE("Go durations parse like time.ParseDuration", "[loadgen]") {
  CHECK(parse_go_duration("30s") == Duration(30s));
  CHECK(parse_go_duration("1m30s") == Duration(90s));
  CHECK(parse_go_duration("500ms") == Duration(500ms));
  CHECK(parse_go_duration("1.5s") == Duration(1500ms));
  CHECK(parse_go_duration("2h45m") == Duration(165min));
  CHECK(parse_go_duration("0.5m") == Duration(30s));
  CHECK(parse_go_duration("0") == Duration(0));
  CHECK(parse_go_duration("10us") == Duration(10us));
  CHECK(parse_go_duration("10\xc2\xb5s") == Duration(10us));
  CHECK(parse_go_duration(".5s") == Duration(500ms));
  CHECK_FALSE(parse_go_duration("30"));
  CHECK_FALSE(parse_go_duration("1d"));
  CHECK_FALSE(parse_go_duration("1 m"));
  CHECK_FALSE(parse_go_duration(""));
  CHECK_FALSE(parse_go_duration("s"));
  CHECK_FALSE(parse_go_duration("1.2.3s"));
}

TEST_CASE("extended durations: plain numbers are milliseconds, days allowed", "[loadgen]") {
  CHECK(parse_extended_duration("1500") == Duration(1500ms));
  CHECK(parse_extended_duration("0.5") == Duration(500us));
  CHECK(parse_extended_duration("1d") == Duration(24h));
  // Beyond int64 nanoseconds is an overflow, not a wrapped value (found by fuzz_scenario).
  CHECK_FALSE(parse_extended_duration("016393852600612086d"));
  CHECK_FALSE(parse_extended_duration("106752d"));
  CHECK(parse_extended_duration("106751d"));
  CHECK_FALSE(parse_extended_duration("106751d23h59m59s"));
  CHECK_FALSE(parse_extended_duration("1e300"));
  CHECK_FALSE(parse_go_duration("9223372036854775807ns"));
  CHECK_FALSE(parse_go_duration("100000000h"));
  CHECK(parse_extended_duration("2d12h") == Duration(60h));
  CHECK(parse_extended_duration("30s") == Duration(30s));
  CHECK_FALSE(parse_extended_duration("xd"));
}

TEST_CASE("durations print the Go way", "[loadgen]") {
  CHECK(format_go_duration(30s) == "30s");
  CHECK(format_go_duration(60s) == "1m0s");
  CHECK(format_go_duration(150s) == "2m30s");
  CHECK(format_go_duration(1h) == "1h0m0s");
  CHECK(format_go_duration(500ms) == "500ms");
  CHECK(format_go_duration(1500ms) == "1.5s");
  CHECK(format_go_duration(Duration(0)) == "0s");
}

TEST_CASE("threshold expressions parse with k6's rules", "[loadgen]") {
  std::string err;
  auto t = parse_threshold("p(95)<2000", err);
  REQUIRE(t);
  CHECK(t->aggregation == "p(95)");
  CHECK(t->percentile == 95);
  CHECK(t->op == "<");
  CHECK(t->value == 2000);

  t = parse_threshold("rate <= 0.01", err);
  REQUIRE(t);
  CHECK(t->aggregation == "rate");
  CHECK(t->op == "<=");
  CHECK(t->value == 0.01);

  t = parse_threshold("count===3", err);
  REQUIRE(t);
  CHECK(t->op == "==");

  t = parse_threshold("p(99.9)>=1e3", err);
  REQUIRE(t);
  CHECK(t->percentile == Approx(99.9));
  CHECK(t->value == 1000);

  t = parse_threshold("p<5", err);  // k6 quirk: a bare p is p(0)
  REQUIRE(t);
  CHECK(t->percentile == 0);

  CHECK_FALSE(parse_threshold("p(95)", err));
  CHECK(err ==
        "failed parsing threshold expression \"p(95)\"; reason: malformed threshold expression");
  CHECK_FALSE(parse_threshold("p95<200", err));
  CHECK(err ==
        "failed parsing threshold expression's \"p95<200\" left hand side; reason: failed "
        "parsing method from expression");
  CHECK_FALSE(parse_threshold("p(95)<200ms", err));
  CHECK(err.rfind("failed parsing threshold expresion's \"p(95)<200ms\" right hand side", 0) == 0);
  CHECK_FALSE(parse_threshold("p( 95 )<200", err));
  CHECK_FALSE(parse_threshold("p(101)<200", err));
}

TEST_CASE("metric keys with tag selectors", "[loadgen]") {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;
  REQUIRE(parse_metric_key("http_req_duration", name, tags));
  CHECK(name == "http_req_duration");
  CHECK(tags.empty());
  REQUIRE(parse_metric_key("http_req_duration{scenario:baseline, method:\"POST\"}", name, tags));
  CHECK(name == "http_req_duration");
  REQUIRE(tags.size() == 2);
  CHECK(tags[0] == std::make_pair(std::string("scenario"), std::string("baseline")));
  CHECK(tags[1] == std::make_pair(std::string("method"), std::string("POST")));
  CHECK_FALSE(parse_metric_key("http_req_duration{status:}", name, tags));
  CHECK_FALSE(parse_metric_key("http_req_duration{status:200", name, tags));
  CHECK_FALSE(parse_metric_key("http_req_duration}", name, tags));
}

TEST_CASE("aggregations allowed per metric type", "[loadgen]") {
  std::string err;
  auto count = *parse_threshold("count<10", err);
  CHECK_FALSE(aggregation_allowed(count, MetricType::kTrend, "http_req_duration", err));
  CHECK(err ==
        "invalid threshold \"count<10\" applied on metric http_req_duration; reason: unsupported "
        "aggregation method count on metric of type trend. supported aggregation methods for this "
        "metric are: avg, min, max, med, p");
  CHECK(aggregation_allowed(count, MetricType::kCounter, "http_reqs", err));
  CHECK(aggregation_allowed(*parse_threshold("rate<0.1", err), MetricType::kRate, "x", err));
  CHECK(aggregation_allowed(*parse_threshold("value>1", err), MetricType::kGauge, "vus", err));
  CHECK_FALSE(aggregation_allowed(*parse_threshold("avg<1", err), MetricType::kRate, "x", err));
}

TEST_CASE("histogram quantiles stay within 1% of exact ones", "[loadgen][histogram]") {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(13.0, 1.5);  // around 0.4 ms in ns, long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    double pos = q * static_cast<double>(values.size() - 1);
    auto lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
    double exact = static_cast<double>(values[lo]) +
                   (static_cast<double>(values[hi]) - static_cast<double>(values[lo])) *
                       (pos - static_cast<double>(lo));
    CHECK(std::fabs(h.quantile(q) - exact) <= exact * 0.01 + 1);
  }
  CHECK(h.count() == values.size());
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
}

TEST_CASE("histograms merge by adding counts", "[loadgen][histogram]") {
  Histogram a, b, both;
  for (uint64_t v = 1; v < 5000; v += 3) {
    a.record(v);
    both.record(v);
  }
  for (uint64_t v = 100000; v < 200000; v += 7) {
    b.record(v);
    both.record(v);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  CHECK(a.quantile(0.5) == both.quantile(0.5));
  CHECK(a.quantile(0.99) == both.quantile(0.99));
  CHECK(a.mean() == Approx(both.mean()));
  CHECK(Histogram::bucket_of(Histogram::bucket_low(700)) == 700);
  CHECK(Histogram::bucket_of(Histogram::bucket_high(700)) == 700);
  CHECK(Histogram::bucket_of(Histogram::bucket_high(700) + 1) == 701);
}

TEST_CASE("summary values are formatted as k6 does", "[loadgen]") {
  CHECK(format_time_ms(0) == "0s");
  CHECK(format_time_ms(48.2113) == "48.21ms");
  CHECK(format_time_ms(0.91) == "910\xc2\xb5s");
  CHECK(format_time_ms(2950) == "2.95s");
  CHECK(format_time_ms(1000) == "1s");
  CHECK(format_time_ms(90000) == "1m30s");
  CHECK(format_bytes(19e6) == "19 MB");
  CHECK(format_bytes(2.2e6) == "2.2 MB");
  CHECK(format_bytes(346000) == "346 kB");
  CHECK(format_bytes(5) == "5 B");
  CHECK(format_rate(0.0041) == "0.41%");
  CHECK(format_rate(0.0019999) == "0.19%");
  CHECK(format_number(37.537719) == "37.537719");
  CHECK(format_number(3110) == "3110");
}

TEST_CASE("thresholds evaluate on the final values", "[loadgen]") {
  Registry reg;
  Recorder rec(reg);
  for (int i = 1; i <= 100; ++i) {
    rec.add(kHttpReqDuration, i);
    rec.add(kHttpReqs, 1);
    rec.add(kHttpReqFailed, i <= 3 ? 1 : 0);
  }
  rec.add(kVus, 5);
  auto metrics = observed_values(reg, rec, {});
  std::string err;
  std::map<std::string, std::vector<Threshold>> declared{
      {"http_req_duration", {*parse_threshold("p(95)<90", err), *parse_threshold("max<=100", err)}},
      {"http_req_failed", {*parse_threshold("rate<0.01", err)}},
      {"http_reqs", {*parse_threshold("count>=100", err)}},
  };
  auto results = evaluate(declared, metrics, 10.0);
  REQUIRE(results.size() == 4);
  CHECK_FALSE(results[0].ok);  // p(95) is about 95 ms
  CHECK(*results[0].observed == Approx(95.05).epsilon(0.01));
  CHECK(results[1].ok);
  CHECK_FALSE(results[2].ok);  // 3% failed
  CHECK(*results[2].observed == Approx(0.03));
  CHECK(results[3].ok);

  // A rate with no samples passes; an empty trend aggregates to 0.
  Recorder empty(reg);
  auto none = observed_values(reg, empty, {"http_req_failed", "http_req_duration"});
  auto r = evaluate({{"http_req_failed", {*parse_threshold("rate<0.01", err)}},
                     {"http_req_duration", {*parse_threshold("avg>0", err)}}},
                    none, 1.0);
  CHECK(r[0].ok == false);  // sorted by key: http_req_duration first
  CHECK(r[0].metric == "http_req_duration");
  CHECK(r[1].ok);

  SummaryInput in;
  in.metrics = &metrics;
  in.thresholds = results;
  in.elapsed_s = 10.0;
  auto text = console_summary(in);
  CHECK(text.find("\xe2\x9c\x97 'p(95)<90' p(95)=") != std::string::npos);
  CHECK(text.find("http_req_failed.....: 3.00% 3 out of 100") != std::string::npos);
  auto exported = summary_export(in);
  CHECK(exported.find("\"p(95)<90\": true") != std::string::npos);
  CHECK(exported.find("\"rate<0.01\": true") != std::string::npos);
  CHECK(exported.find("\"passes\": 3") != std::string::npos);
}

namespace {

using faultline::loadgen::ResponseReader;

// Feeds `text` in pieces of `piece` bytes; then the close when `close` is set.
ResponseReader::Step read_response(ResponseReader& r, const std::string& text, size_t piece,
                                   bool close) {
  auto step = ResponseReader::Step::kMore;
  for (size_t pos = 0; pos < text.size() && step == ResponseReader::Step::kMore; pos += piece) {
    step = r.feed(text.data() + pos, std::min(piece, text.size() - pos));
  }
  if (step == ResponseReader::Step::kMore && close) {
    step = r.finish() ? ResponseReader::Step::kComplete : ResponseReader::Step::kMalformed;
  }
  return step;
}

}  // namespace

TEST_CASE("response reader: framing, kept parts and malformed responses", "[loadgen]") {
  faultline::loadgen::HttpExchange out;
  ResponseReader r;
  SECTION("Content-Length and chunked bodies end the message in any split") {
    for (size_t piece : {1, 3, 64}) {
      out = {};
      r.begin(out, false, true, true, 1024);
      CHECK(read_response(r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", piece,
                          false) == ResponseReader::Step::kComplete);
      CHECK(out.body == "hello");
      CHECK(out.headers.size() == 2);
      CHECK(out.headers[1] == std::pair<std::string, std::string>("X-A", "b"));
      CHECK(r.status() == 200);
      CHECK(r.keep_alive());
      out = {};
      r.begin(out, false, false, true, 1024);
      CHECK(read_response(r,
                          "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                          piece, false) == ResponseReader::Step::kComplete);
      CHECK(out.body == "abcde");
      CHECK(out.headers.size() == 1);  // kept with the body
    }
  }
  SECTION("a body delimited by the close ends with it; a cut message does not") {
    r.begin(out, false, false, true, 1024);
    CHECK(read_response(r, "HTTP/1.0 200 OK\r\n\r\nuntil the close", 4, true) ==
          ResponseReader::Step::kComplete);
    CHECK(out.body == "until the close");
    CHECK_FALSE(r.keep_alive());
    out = {};
    r.begin(out, false, false, true, 1024);
    CHECK(read_response(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 4, true) ==
          ResponseReader::Step::kMalformed);
  }
  SECTION("HEAD has no body; a long body is cut at the limit") {
    r.begin(out, true, false, false, 0);
    CHECK(read_response(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 7, false) ==
          ResponseReader::Step::kComplete);
    out = {};
    r.begin(out, false, false, true, 4);
    CHECK(read_response(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 5, false) ==
          ResponseReader::Step::kComplete);
    CHECK(out.body == "0123");
    CHECK(out.body_truncated);
  }
  SECTION("a status outside 100-999 is malformed (found by fuzz_http_response)") {
    for (const char* line : {"HTTP/1.1  208 No\r\n", "HTTP/1.1 20 No\r\n", "garbage\r\n"}) {
      out = {};
      r.begin(out, false, false, false, 0);
      CHECK(read_response(r, std::string(line) + "Content-Length: 0\r\n\r\n", 2, true) ==
            ResponseReader::Step::kMalformed);
    }
  }
}

TEST_CASE("csv output: fields quoted as Go's encoding/csv quotes them", "[loadgen][csv]") {
  auto field = [](std::string_view f) {
    std::string out;
    append_csv_field(out, f);
    return out;
  };
  CHECK(field("") == "");
  CHECK(field("plain") == "plain");
  CHECK(field("a,b") == "\"a,b\"");
  CHECK(field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(field("two\nlines") == "\"two\nlines\"");
  CHECK(field("cr\rhere") == "\"cr\rhere\"");
  CHECK(field(" leading") == "\" leading\"");
  CHECK(field("\tleading") == "\"\tleading\"");
  CHECK(field("trailing ") == "trailing ");
  CHECK(field("\\.") == "\"\\.\"");
  CHECK(field("team=a&x=y") == "team=a&x=y");
}

TEST_CASE("csv output: settings from defaults, environment and argument", "[loadgen][csv]") {
  CsvSettings s;
  std::string err;
  std::vector<std::string> warnings;
  REQUIRE(csv_settings("", {}, s, err, warnings));
  CHECK(s.file_name == "file.csv");
  CHECK(s.save_interval == std::chrono::seconds(1));
  CHECK(s.time_format == CsvTime::kUnix);

  REQUIRE(csv_settings("out.csv", {}, s, err, warnings));
  CHECK(s.file_name == "out.csv");

  // The argument overrides the environment, key by key.
  std::map<std::string, std::string> env{{"K6_CSV_FILENAME", "env.csv"},
                                         {"K6_CSV_SAVE_INTERVAL", "5s"},
                                         {"K6_CSV_TIME_FORMAT", "unix_milli"}};
  REQUIRE(csv_settings("", env, s, err, warnings));
  CHECK(s.file_name == "env.csv");
  CHECK(s.save_interval == std::chrono::seconds(5));
  CHECK(s.time_format == CsvTime::kUnixMilli);
  REQUIRE(csv_settings("timeFormat=rfc3339_nano,saveInterval=250", env, s, err, warnings));
  CHECK(s.file_name == "env.csv");
  CHECK(s.save_interval == std::chrono::milliseconds(250));  // a plain number is milliseconds
  CHECK(s.time_format == CsvTime::kRfc3339Nano);
  CHECK(warnings.empty());

  REQUIRE(csv_settings("file_name=old.csv.gz,save_interval=2s", {}, s, err, warnings));
  CHECK(s.file_name == "old.csv.gz");
  CHECK(s.save_interval == std::chrono::seconds(2));
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] ==
        "CSV output argument 'file_name' is deprecated, please use 'fileName' instead.");

  CHECK_FALSE(csv_settings("fileName=a.csv,color=red", {}, s, err, warnings));
  CHECK(err == "unknown key \"color\" as argument for csv output");
  CHECK_FALSE(csv_settings("fileName=a.csv,oops", {}, s, err, warnings));
  CHECK(err == "couldn't parse \"fileName=a.csv,oops\" as argument for csv output");
  CHECK_FALSE(csv_settings("timeFormat=iso", {}, s, err, warnings));
  CHECK(err == "iso does not belong to TimeFormat values");
  CHECK_FALSE(csv_settings("saveInterval=soon", {}, s, err, warnings));
  CHECK(err == "time: invalid duration \"soon\"");
  CHECK_FALSE(csv_settings("", {{"K6_CSV_TIME_FORMAT", "x"}}, s, err, warnings));
  CHECK(err == "x does not belong to TimeFormat values");
}

TEST_CASE("csv output: the header lists k6's default indexable system tags, sorted",
          "[loadgen][csv]") {
  std::string header;
  for (const auto& c : CsvFile::tag_columns()) header += c + ",";
  CHECK(header ==
        "check,error,error_code,expected_response,group,method,name,proto,scenario,service,"
        "status,subproto,tls_version,url,");
}

TEST_CASE("histograms are written out and read back exactly (merge state)",
          "[loadgen][histogram]") {
  Histogram h;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) h.record(rng() % 5'000'000'000ULL);
  h.record(std::numeric_limits<uint64_t>::max() / 2);  // a saturated value
  auto back = Histogram::from_parts(h.buckets(), h.sum_text(), h.min(), h.max());
  REQUIRE(back);
  CHECK(back->count() == h.count());
  CHECK(back->sum_text() == h.sum_text());
  CHECK(back->min() == h.min());
  CHECK(back->max() == h.max());
  for (double q : {0.0, 0.5, 0.9, 0.95, 0.999, 1.0}) CHECK(back->quantile(q) == h.quantile(q));
  CHECK(Histogram().sum_text() == "0");
  CHECK_FALSE(Histogram::from_parts({{Histogram::kBuckets, 1}}, "1", 1, 1));
  CHECK_FALSE(Histogram::from_parts({{3, 1}}, "12x", 1, 1));
  CHECK_FALSE(Histogram::from_parts({{3, 1}}, "", 1, 1));
}

TEST_CASE("split cuts as Go's strings.Split", "[loadgen][text]") {
  CHECK(faultline::split("", ',') == std::vector<std::string>{""});
  CHECK(faultline::split("a", ',') == std::vector<std::string>{"a"});
  CHECK(faultline::split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
  CHECK(faultline::split("0,1/2,", ',') == std::vector<std::string>{"0", "1/2", ""});
}

TEST_CASE("resolve_target: the thread's last answer is reused only for the same host and port",
          "[loadgen]") {
  using faultline::loadgen::HttpTarget;
  using faultline::loadgen::resolve_target;
  auto port_of = [](const HttpTarget& t) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&t.address)->sin_port);
  };
  HttpTarget t;
  // Alternating ports and names on one thread: each answer is its own.
  for (int round = 0; round < 2; ++round) {
    REQUIRE(resolve_target("127.0.0.1", "8080", t));
    CHECK(port_of(t) == 8080);
    REQUIRE(resolve_target("127.0.0.1", "8081", t));
    CHECK(port_of(t) == 8081);
    REQUIRE(resolve_target("localhost", "8080", t));
    CHECK(port_of(t) == 8080);
    REQUIRE(resolve_target("127.0.0.2", "8080", t));
    CHECK(t.address.ss_family == AF_INET);
    CHECK(reinterpret_cast<const sockaddr_in*>(&t.address)->sin_addr.s_addr == htonl(0x7f000002));
  }
}
