// Unit tests for the toxic stages and the toxic chain. Everything runs on a fake clock:
// times are built from a fixed origin and timers are fired exactly at the deadlines the
// stages report, so bytes and times can be checked exactly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "toxics/chain.h"
#include "toxics/registry.h"
#include "toxics/stage.h"

namespace tx = faultline::toxics;
using tx::Item;
using tx::ItemKind;
using tx::Random;
using tx::Stage;
using tx::Time;
using tx::ToxicChain;
using tx::ToxicSpec;

namespace {

// The fake clock's origin; kept away from the clock's epoch so that state initialised to
// Time{} inside a stage cannot coincide with it by accident.
const Time kT0 = Time{} + std::chrono::hours(1);

Time at_ms(int64_t ms) {
  return kT0 + std::chrono::milliseconds(ms);
}
Time at_us(int64_t us) {
  return kT0 + std::chrono::microseconds(us);
}

// Microseconds since the origin; expected values are written as ms(n) or plain µs.
int64_t since(Time t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t - kT0).count();
}
constexpr int64_t ms(int64_t n) {
  return n * 1000;
}
// A deadline in µs since the origin, or -1 when there is none.
int64_t due(const std::optional<Time>& d) {
  return d ? since(*d) : -1;
}

struct Record {
  ItemKind kind;
  std::string data;
  Time time;
};

class Recorder : public tx::Sink {
 public:
  void push(Item item, Time now) override {
    records.push_back(Record{item.kind, std::move(item.data), now});
  }

  std::string bytes() const {
    std::string all;
    for (const auto& r : records) all += r.data;
    return all;
  }
  size_t count(ItemKind kind) const {
    size_t n = 0;
    for (const auto& r : records) n += r.kind == kind ? 1 : 0;
    return n;
  }

  std::vector<Record> records;
};

// A recognisable byte pattern that does not repeat over short distances.
std::string pattern(size_t n, int salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('!' + (i * 31 + i / 89 + static_cast<size_t>(salt) * 7) % 90);
  }
  return s;
}

Item data_item(std::string s) {
  return Item{ItemKind::kData, std::move(s)};
}
Item end_item() {
  return Item{ItemKind::kEnd, {}};
}

// Fires a stage's timers exactly when they are due, up to `until`.
void run_stage_until(Stage& stage, Time until) {
  for (int guard = 0; guard < 100000; ++guard) {
    auto d = stage.deadline();
    if (!d || *d > until) return;
    stage.on_timer(*d);
  }
  FAIL("stage timers did not settle");
}

// One stage, attached to a recorder, configured at kT0 (or a given time).
struct Rig {
  Recorder out;
  Random rng;
  std::unique_ptr<Stage> stage;

  Rig(std::string_view type, const std::vector<int64_t>& attrs, Time now = kT0, uint64_t seed = 1)
      : rng(seed) {
    const tx::ToxicType* t = tx::find_type(type);
    REQUIRE(t != nullptr);
    stage = t->create();
    REQUIRE(stage != nullptr);
    stage->attach(&out, &rng);
    // The API always gives every attribute; extensions' optional ones default to 0.
    REQUIRE(attrs.size() <= t->attributes.size());
    std::vector<int64_t> all = attrs;
    all.resize(t->attributes.size(), 0);
    stage->configure(all, now);
  }

  void data(std::string s, Time now) { stage->on_item(data_item(std::move(s)), now); }
  void end(Time now) { stage->on_item(end_item(), now); }

  void run_until(Time until) { run_stage_until(*stage, until); }
};

void run_chain(ToxicChain& chain, Time until) {
  for (int guard = 0; guard < 100000; ++guard) {
    auto d = chain.deadline();
    if (!d || *d > until) return;
    chain.on_timer(*d);
  }
  FAIL("chain timers did not settle");
}

ToxicSpec spec(uint64_t id, uint64_t version, std::string_view type, std::vector<int64_t> attrs,
               float toxicity = 1.0f) {
  const tx::ToxicType* t = tx::find_type(type);
  REQUIRE(t != nullptr);
  REQUIRE(attrs.size() <= t->attributes.size());
  attrs.resize(t->attributes.size(), 0);
  return ToxicSpec{id,
                   version,
                   t,
                   toxicity,
                   std::move(attrs),
                   Time{},
                   std::vector<std::string>(t->attributes.size())};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------

TEST_CASE("registry: every toxic type is found by its exact name and creates a stage", "[toxics]") {
  const std::vector<std::pair<std::string_view, size_t>> expected = {
      {"noop", 0},    {"latency", 4},    {"bandwidth", 1}, {"slow_close", 1},
      {"timeout", 1}, {"reset_peer", 1}, {"slicer", 3},    {"limit_data", 1},
      {"stall", 2},   {"redis", 4},      {"postgres", 4}};
  const std::vector<std::pair<std::string_view, size_t>> connection = {
      {"refuse", 0}, {"accept_delay", 1}, {"upstream_refuse", 0}, {"max_connections", 2}};
  CHECK(tx::all_types().size() == expected.size() + connection.size());
  for (const auto& [name, attrs] : expected) {
    const tx::ToxicType* t = tx::find_type(name);
    REQUIRE(t != nullptr);
    CHECK(t->name == name);
    CHECK(t->attributes.size() == attrs);
    CHECK(t->connection == tx::ConnectionFault::kNone);
    CHECK(tx::make_stage(name) != nullptr);
  }
  // Connection toxics act before the upstream is dialled: no stage.
  for (const auto& [name, attrs] : connection) {
    const tx::ToxicType* t = tx::find_type(name);
    REQUIRE(t != nullptr);
    CHECK(t->attributes.size() == attrs);
    CHECK(t->connection != tx::ConnectionFault::kNone);
    CHECK(tx::make_stage(name) == nullptr);
  }
  CHECK(tx::find_type("Latency") == nullptr);
  CHECK(tx::make_stage("nope") == nullptr);
  CHECK(tx::find_type("latency")->name == tx::latency_type().name);
}

// ---------------------------------------------------------------------------------------
// noop
// ---------------------------------------------------------------------------------------

TEST_CASE("noop: passes data, end and close through untouched and at once", "[toxics]") {
  Rig rig("noop", {});
  rig.data("hello", at_ms(5));
  rig.data("world", at_ms(7));
  rig.stage->on_item(Item{ItemKind::kClose, {}}, at_ms(9));
  rig.end(at_ms(11));
  REQUIRE(rig.out.records.size() == 4);
  CHECK(rig.out.records[0].data == "hello");
  CHECK(since(rig.out.records[0].time) == ms(5));
  CHECK(rig.out.records[1].data == "world");
  CHECK(since(rig.out.records[1].time) == ms(7));
  CHECK(rig.out.records[2].kind == ItemKind::kClose);
  CHECK(since(rig.out.records[2].time) == ms(9));
  CHECK(rig.out.records[3].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[3].time) == ms(11));
  CHECK_FALSE(rig.stage->deadline().has_value());
  CHECK(rig.stage->held_bytes() == 0);
}

// ---------------------------------------------------------------------------------------
// latency
// ---------------------------------------------------------------------------------------

TEST_CASE("latency: a chunk leaves exactly at arrival + latency", "[toxics]") {
  Rig rig("latency", {100, 0});
  rig.data("abc", at_ms(0));
  CHECK(rig.out.records.empty());
  CHECK(rig.stage->held_bytes() == 3);
  CHECK(due(rig.stage->deadline()) == ms(100));
  rig.stage->on_timer(at_us(ms(100) - 1));
  CHECK(rig.out.records.empty());
  rig.stage->on_timer(at_ms(100));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].kind == ItemKind::kData);
  CHECK(rig.out.records[0].data == "abc");
  CHECK(since(rig.out.records[0].time) == ms(100));
  CHECK(rig.stage->held_bytes() == 0);
  CHECK_FALSE(rig.stage->deadline().has_value());
}

TEST_CASE("latency: a burst keeps its spacing and order; delay does not accumulate", "[toxics]") {
  Rig rig("latency", {100, 0});
  for (int i = 0; i < 5; ++i) rig.data(pattern(10, i), at_ms(10 * i));
  CHECK(rig.stage->held_bytes() == 50);
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(rig.out.records[static_cast<size_t>(i)].data == pattern(10, i));
    CHECK(since(rig.out.records[static_cast<size_t>(i)].time) == ms(100 + 10 * i));
  }
  CHECK(rig.stage->held_bytes() == 0);
}

TEST_CASE("latency: jitter stays between -jitter and +jitter and keeps the order", "[toxics]") {
  Rig rig("latency", {100, 20}, kT0, 0x5eed);
  // Chunks 50 ms apart: more than the jitter range, so ordering never shifts a release.
  const int n = 300;
  for (int i = 0; i < n; ++i) {
    rig.run_until(at_ms(50 * i));  // timers first, so every release is on time
    rig.data(std::to_string(i), at_ms(50 * i));
  }
  rig.run_until(at_ms(50 * n + 1000));
  REQUIRE(rig.out.records.size() == static_cast<size_t>(n));
  int64_t lo = std::numeric_limits<int64_t>::max();
  int64_t hi = std::numeric_limits<int64_t>::min();
  for (int i = 0; i < n; ++i) {
    const auto& r = rig.out.records[static_cast<size_t>(i)];
    CHECK(r.data == std::to_string(i));
    int64_t delay = since(r.time) - ms(50 * i);
    CHECK(delay % 1000 == 0);  // jitter is drawn in whole milliseconds
    CHECK(delay >= ms(80));
    CHECK(delay <= ms(119));
    lo = std::min(lo, delay);
    hi = std::max(hi, delay);
  }
  // Over 300 draws from 40 values, both ends of the range are reached or nearly so.
  CHECK(lo <= ms(83));
  CHECK(hi >= ms(116));
}

namespace {

// Delays (ms) of `n` chunks through a latency stage, spaced far enough apart that keeping
// the order never moves a release.
std::vector<double> latency_samples(int64_t latency, int64_t jitter, int64_t distribution, int n,
                                    uint64_t seed) {
  Rig rig("latency", {latency, jitter, distribution}, kT0, seed);
  const int64_t gap = 10 * (latency + 30 * jitter);
  for (int i = 0; i < n; ++i) {
    rig.run_until(at_ms(gap * i));
    rig.data("x", at_ms(gap * i));
  }
  rig.run_until(at_ms(gap * n + gap));
  REQUIRE(rig.out.records.size() == static_cast<size_t>(n));
  std::vector<double> delays;
  for (int i = 0; i < n; ++i) {
    delays.push_back(
        static_cast<double>(since(rig.out.records[static_cast<size_t>(i)].time) - ms(gap * i)) /
        1000.0);
  }
  return delays;
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

// The extension's distributions, over 20,000 draws each, against their exact values
// (tolerances several times the sampling error).
TEST_CASE("latency: distributions match their shapes", "[toxics]") {
  const int n = 20000;
  SECTION("normal: mean latency, standard deviation jitter") {
    auto d = latency_samples(100, 20, 1, n, 11);
    double m = mean_of(d);
    double var = 0;
    for (double x : d) var += (x - m) * (x - m);
    double sd = std::sqrt(var / n);
    CHECK(m == Approx(100).margin(1.0));
    CHECK(sd == Approx(20).margin(1.0));
    CHECK(quantile(d, 0.5) == Approx(100).margin(1.0));
    CHECK(quantile(d, 0.1587) == Approx(80).margin(1.5));   // -1 sd
    CHECK(quantile(d, 0.9772) == Approx(140).margin(2.5));  // +2 sd
  }
  SECTION("pareto: mean latency, a long right tail") {
    auto d = latency_samples(100, 20, 2, n, 12);
    CHECK(mean_of(d) == Approx(100).margin(1.5));
    // z = (u^(-1/3) - 1.5) * 4/3: min -2/3, median (2^(1/3) - 1.5) * 4/3 = -0.3195,
    // p90 (10^(1/3) - 1.5) * 4/3 = 0.8724, p99 (100^(1/3) - 1.5) * 4/3 = 4.1888.
    CHECK(*std::min_element(d.begin(), d.end()) >= 100 - 20 * 2.0 / 3.0 - 0.001);
    CHECK(quantile(d, 0.5) == Approx(100 - 20 * 0.3195).margin(0.6));
    CHECK(quantile(d, 0.9) == Approx(100 + 20 * 0.8724).margin(1.0));
    CHECK(quantile(d, 0.99) == Approx(100 + 20 * 4.1888).margin(8.0));
  }
  SECTION("paretonormal: a quarter normal, three quarters pareto") {
    auto d = latency_samples(100, 20, 3, n, 13);
    CHECK(mean_of(d) == Approx(100).margin(1.0));
    // Right-skewed: the median under the mean, a tail far above it (the pareto part's p99
    // alone is 0.75 * 4.19 = 3.1 jitter), and far less room below.
    CHECK(quantile(d, 0.5) < 99);
    CHECK(quantile(d, 0.99) > 100 + 20 * 2.5);
    CHECK(quantile(d, 0.01) > 100 - 20 * 1.5);
  }
  SECTION("uniform (the default) is Toxiproxy's draw: whole ms in [-jitter, +jitter)") {
    auto d = latency_samples(100, 20, 0, n, 15);
    CHECK(*std::min_element(d.begin(), d.end()) == 80);
    CHECK(*std::max_element(d.begin(), d.end()) == 119);
    CHECK(std::all_of(d.begin(), d.end(), [](double x) { return x == std::floor(x); }));
    CHECK(mean_of(d) == Approx(99.5).margin(0.5));
  }
  SECTION("the same seed gives the same delays; another seed others") {
    CHECK(latency_samples(50, 10, 2, 200, 99) == latency_samples(50, 10, 2, 200, 99));
    CHECK(latency_samples(50, 10, 2, 200, 99) != latency_samples(50, 10, 2, 200, 98));
  }
  SECTION("delays never go below zero") {
    auto d = latency_samples(5, 50, 1, 2000, 16);
    CHECK(*std::min_element(d.begin(), d.end()) >= 0);
    CHECK(quantile(d, 0.3) == 0);
  }
}

// round_trip (an extension): one draw per request-response exchange.
TEST_CASE("latency: round_trip draws once per exchange", "[toxics]") {
  uint64_t replies = 0;
  Rig rig("latency", {100, 50, 0, 1}, kT0, 7);
  rig.stage->attach(&rig.out, &rig.rng, &replies);
  const int exchanges = 200;
  for (int e = 0; e < exchanges; ++e) {
    // A request in three pieces 10 ms apart, then the reply comes back.
    for (int piece = 0; piece < 3; ++piece) {
      int64_t t = 1000 * e + 10 * piece;
      rig.run_until(at_ms(t));
      rig.data(std::to_string(e) + "." + std::to_string(piece), at_ms(t));
    }
    rig.run_until(at_ms(1000 * e + 500));
    ++replies;
  }
  const auto& r = rig.out.records;
  REQUIRE(r.size() == 3 * exchanges);
  int64_t lo = ms(1000), hi = 0;
  std::set<int64_t> distinct;
  for (int e = 0; e < exchanges; ++e) {
    int64_t d0 = since(r[3 * e].time) - ms(1000 * e);
    // Every piece of an exchange has the same delay: their spacing arrives intact.
    CHECK(since(r[3 * e + 1].time) - ms(1000 * e + 10) == d0);
    CHECK(since(r[3 * e + 2].time) - ms(1000 * e + 20) == d0);
    CHECK(d0 >= ms(50));
    CHECK(d0 <= ms(149));
    lo = std::min(lo, d0);
    hi = std::max(hi, d0);
    distinct.insert(d0);
  }
  // A fresh draw per exchange: the whole range is covered.
  CHECK(lo <= ms(55));
  CHECK(hi >= ms(144));
  CHECK(distinct.size() > 50);
  SECTION("without round_trip every piece draws its own delay") {
    Rig plain("latency", {100, 50, 0, 0}, kT0, 7);
    plain.stage->attach(&plain.out, &plain.rng, &replies);
    int same = 0;
    for (int e = 0; e < 50; ++e) {
      for (int piece = 0; piece < 2; ++piece) {
        plain.run_until(at_ms(1000 * e + 200 * piece));
        plain.data("x", at_ms(1000 * e + 200 * piece));
      }
      plain.run_until(at_ms(1000 * e + 900));
      const auto& p = plain.out.records;
      same += since(p[2 * e + 1].time) - since(p[2 * e].time) == ms(200);
    }
    CHECK(same < 10);
  }
}

TEST_CASE("latency: a negative total delay means no delay", "[toxics]") {
  SECTION("negative latency") {
    Rig rig("latency", {-50, 0});
    rig.data("now", at_ms(3));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].data == "now");
    CHECK(since(rig.out.records[0].time) == ms(3));
    CHECK_FALSE(rig.stage->deadline().has_value());
  }
  SECTION("jitter larger than the latency never delays below zero") {
    Rig rig("latency", {5, 50}, kT0, 42);
    for (int i = 0; i < 100; ++i) {
      rig.data(std::to_string(i), at_ms(200 * i));
      rig.run_until(at_ms(200 * i + 199));
    }
    REQUIRE(rig.out.records.size() == 100);
    size_t immediate = 0;
    for (int i = 0; i < 100; ++i) {
      const auto& r = rig.out.records[static_cast<size_t>(i)];
      CHECK(r.data == std::to_string(i));
      int64_t delay = since(r.time) - ms(200 * i);
      CHECK(delay >= 0);
      CHECK(delay <= ms(54));
      immediate += delay == 0 ? 1 : 0;
    }
    // j < -5 in 45 of 100 values: many chunks pass at once.
    CHECK(immediate >= 20);
  }
}

TEST_CASE("latency: the end of the stream is not delayed but stays behind the data", "[toxics]") {
  SECTION("end alone passes at once") {
    Rig rig("latency", {100, 0});
    rig.end(at_ms(4));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[0].time) == ms(4));
  }
  SECTION("end waits for the data in front of it, then goes with it") {
    Rig rig("latency", {100, 0});
    rig.data("a", at_ms(0));
    rig.data("b", at_ms(20));
    rig.end(at_ms(30));
    CHECK(rig.out.records.empty());
    rig.run_until(at_ms(1000));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(rig.out.records[0].data == "a");
    CHECK(since(rig.out.records[0].time) == ms(100));
    CHECK(rig.out.records[1].data == "b");
    CHECK(since(rig.out.records[1].time) == ms(120));
    CHECK(rig.out.records[2].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[2].time) == ms(120));
  }
  SECTION("end after the data has left is immediate") {
    Rig rig("latency", {100, 0});
    rig.data("a", at_ms(0));
    rig.run_until(at_ms(150));
    rig.end(at_ms(150));
    REQUIRE(rig.out.records.size() == 2);
    CHECK(rig.out.records[1].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[1].time) == ms(150));
  }
}

TEST_CASE("latency: an update releases the held chunk at once and re-times the rest", "[toxics]") {
  Rig rig("latency", {100, 0});
  rig.data("a", at_ms(0));
  rig.data("b", at_ms(10));
  rig.data("c", at_ms(20));
  SECTION("shorter latency") {
    rig.stage->configure({50, 0, 0, 0}, at_ms(30));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].data == "a");
    CHECK(since(rig.out.records[0].time) == ms(30));
    CHECK(rig.stage->held_bytes() == 2);
    CHECK(due(rig.stage->deadline()) == ms(60));  // b: 10 + 50
    rig.run_until(at_ms(1000));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(rig.out.records[1].data == "b");
    CHECK(since(rig.out.records[1].time) == ms(60));
    CHECK(rig.out.records[2].data == "c");
    CHECK(since(rig.out.records[2].time) == ms(70));
  }
  SECTION("zero latency: the rest is due now") {
    rig.stage->configure({0, 0, 0, 0}, at_ms(30));
    CHECK(due(rig.stage->deadline()) == ms(30));
    rig.stage->on_timer(at_ms(30));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(rig.out.bytes() == "abc");
    for (const auto& r : rig.out.records) CHECK(since(r.time) == ms(30));
  }
  SECTION("longer latency") {
    rig.stage->configure({300, 0, 0, 0}, at_ms(30));
    REQUIRE(rig.out.records.size() == 1);
    rig.run_until(at_ms(1000));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(since(rig.out.records[1].time) == ms(310));
    CHECK(since(rig.out.records[2].time) == ms(320));
  }
}

TEST_CASE("latency: an update does not delay a held end of stream", "[toxics]") {
  // The end arrives behind one chunk; the update releases that chunk, so nothing is in
  // front of the end any more and it must not be delayed by the new latency.
  Rig rig("latency", {100, 0});
  rig.data("a", at_ms(0));
  rig.end(at_ms(10));
  rig.stage->configure({100, 0, 0, 0}, at_ms(50));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].data == "a");
  CHECK(since(rig.out.records[0].time) == ms(50));
  CHECK(due(rig.stage->deadline()) == ms(50));
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[1].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[1].time) == ms(50));
}

TEST_CASE("latency: flush hands over everything held, in order, at once", "[toxics]") {
  Rig rig("latency", {100, 0});
  rig.data("one", at_ms(0));
  rig.data("two", at_ms(5));
  rig.end(at_ms(6));
  rig.stage->flush(at_ms(40));
  REQUIRE(rig.out.records.size() == 3);
  CHECK(rig.out.records[0].data == "one");
  CHECK(rig.out.records[1].data == "two");
  CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  for (const auto& r : rig.out.records) CHECK(since(r.time) == ms(40));
  CHECK(rig.stage->held_bytes() == 0);
  CHECK_FALSE(rig.stage->deadline().has_value());
}

// ---------------------------------------------------------------------------------------
// bandwidth
// ---------------------------------------------------------------------------------------

TEST_CASE("bandwidth: 5000 bytes at rate 10 go out in 1000-byte pieces every 100 ms", "[toxics]") {
  Rig rig("bandwidth", {10});
  const std::string payload = pattern(5000);
  rig.data(payload, at_ms(0));
  CHECK(rig.out.records.empty());
  CHECK(rig.stage->held_bytes() == 5000);
  CHECK(due(rig.stage->deadline()) == ms(100));
  rig.stage->on_timer(at_ms(100));
  CHECK(rig.stage->held_bytes() == 4000);
  rig.run_until(at_ms(10000));
  REQUIRE(rig.out.records.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(rig.out.records[i].data.size() == 1000);
    CHECK(since(rig.out.records[i].time) == ms(100 * static_cast<int64_t>(i + 1)));
  }
  CHECK(rig.out.bytes() == payload);
  CHECK(since(rig.out.records.back().time) == ms(500));
  CHECK(rig.stage->held_bytes() == 0);
}

TEST_CASE("bandwidth: a small chunk of L bytes takes L/rate ms", "[toxics]") {
  Rig rig("bandwidth", {10});
  rig.data(pattern(50), at_ms(0));
  CHECK(due(rig.stage->deadline()) == ms(5));
  rig.data(pattern(30, 1), at_ms(1));  // queued behind the first
  rig.data(pattern(15, 2), at_ms(2));
  rig.run_until(at_ms(100));
  REQUIRE(rig.out.records.size() == 3);
  CHECK(rig.out.records[0].data == pattern(50));
  CHECK(since(rig.out.records[0].time) == ms(5));
  CHECK(rig.out.records[1].data == pattern(30, 1));
  CHECK(since(rig.out.records[1].time) == ms(8));
  CHECK(rig.out.records[2].data == pattern(15, 2));
  CHECK(since(rig.out.records[2].time) == ms(8) + 1500);
  // After an idle gap the budget starts from the new arrival.
  rig.data("0123456789", at_ms(500));
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 4);
  CHECK(since(rig.out.records[3].time) == ms(501));
}

TEST_CASE("bandwidth: late timers do not push the schedule back", "[toxics]") {
  Rig rig("bandwidth", {10});
  rig.data(pattern(3000), at_ms(0));
  rig.stage->on_timer(at_ms(130));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(since(rig.out.records[0].time) == ms(130));
  CHECK(due(rig.stage->deadline()) == ms(200));
  rig.stage->on_timer(at_ms(310));  // two pieces were due by now
  REQUIRE(rig.out.records.size() == 3);
  CHECK(rig.out.bytes() == pattern(3000));
  CHECK_FALSE(rig.stage->deadline().has_value());
}

TEST_CASE("bandwidth: the end of the stream follows the last piece", "[toxics]") {
  Rig rig("bandwidth", {10});
  rig.data(pattern(2000), at_ms(0));
  rig.end(at_ms(1));
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 3);
  CHECK(since(rig.out.records[1].time) == ms(200));
  CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[2].time) == ms(200));
}

TEST_CASE("bandwidth: rate 0 and negative rates stall until flush or update", "[toxics]") {
  const std::vector<int64_t> rates = {0, -1, -1000, std::numeric_limits<int64_t>::min()};
  SECTION("flush") {
    for (int64_t rate : rates) {
      CAPTURE(rate);
      Rig rig("bandwidth", {rate});
      rig.data("first", at_ms(0));
      rig.data("second", at_ms(10));
      rig.end(at_ms(20));
      CHECK_FALSE(rig.stage->deadline().has_value());
      rig.stage->on_timer(at_ms(100000));
      CHECK(rig.out.records.empty());
      CHECK(rig.stage->held_bytes() == 11);
      rig.stage->flush(at_ms(100000));
      REQUIRE(rig.out.records.size() == 3);
      CHECK(rig.out.records[0].data == "first");
      CHECK(rig.out.records[1].data == "second");
      CHECK(rig.out.records[2].kind == ItemKind::kEnd);
      for (const auto& r : rig.out.records) CHECK(since(r.time) == ms(100000));
      CHECK(rig.stage->held_bytes() == 0);
    }
  }
  SECTION("update to a positive rate") {
    for (int64_t rate : rates) {
      CAPTURE(rate);
      Rig rig("bandwidth", {rate});
      rig.data(pattern(100), at_ms(0));
      rig.data(pattern(50, 1), at_ms(10));
      rig.stage->configure({10}, at_ms(1000));
      // The chunk in progress goes at once, the next one at the new rate.
      REQUIRE(rig.out.records.size() == 1);
      CHECK(rig.out.records[0].data == pattern(100));
      CHECK(since(rig.out.records[0].time) == ms(1000));
      rig.run_until(at_ms(5000));
      REQUIRE(rig.out.records.size() == 2);
      CHECK(rig.out.records[1].data == pattern(50, 1));
      CHECK(since(rig.out.records[1].time) == ms(1005));
    }
  }
}

TEST_CASE("bandwidth: flush releases the rest of the current chunk and the queue in order",
          "[toxics]") {
  Rig rig("bandwidth", {10});
  const std::string big = pattern(5000);
  rig.data(big, at_ms(0));
  rig.data("tail", at_ms(20));
  rig.end(at_ms(30));
  rig.run_until(at_ms(150));
  REQUIRE(rig.out.records.size() == 1);
  rig.stage->flush(at_ms(150));
  REQUIRE(rig.out.records.size() == 4);
  CHECK(rig.out.records[1].data == big.substr(1000));
  CHECK(since(rig.out.records[1].time) == ms(150));
  CHECK(rig.out.records[2].data == "tail");
  CHECK(rig.out.records[3].kind == ItemKind::kEnd);
  CHECK(rig.out.bytes() == big + "tail");
  CHECK(rig.stage->held_bytes() == 0);
  CHECK_FALSE(rig.stage->deadline().has_value());
}

// ---------------------------------------------------------------------------------------
// slow_close
// ---------------------------------------------------------------------------------------

TEST_CASE("slow_close: data is immediate, the end is held for delay ms", "[toxics]") {
  Rig rig("slow_close", {300});
  rig.data("abc", at_ms(5));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(since(rig.out.records[0].time) == ms(5));
  CHECK_FALSE(rig.stage->deadline().has_value());
  rig.end(at_ms(10));
  CHECK(rig.out.records.size() == 1);
  CHECK(due(rig.stage->deadline()) == ms(310));
  rig.stage->on_timer(at_us(ms(310) - 1));
  CHECK(rig.out.records.size() == 1);
  rig.stage->on_timer(at_ms(310));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[1].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[1].time) == ms(310));
  CHECK_FALSE(rig.stage->deadline().has_value());
}

TEST_CASE("slow_close: flush passes the held end on at once", "[toxics]") {
  Rig rig("slow_close", {300});
  rig.stage->flush(at_ms(1));  // nothing held: nothing happens
  CHECK(rig.out.records.empty());
  rig.end(at_ms(10));
  rig.stage->flush(at_ms(50));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[0].time) == ms(50));
  rig.run_until(at_ms(10000));
  CHECK(rig.out.records.size() == 1);
}

TEST_CASE("slow_close: an update restarts the wait with the new delay", "[toxics]") {
  Rig rig("slow_close", {300});
  rig.end(at_ms(0));
  rig.stage->configure({100}, at_ms(250));
  CHECK(due(rig.stage->deadline()) == ms(350));
  rig.run_until(at_ms(349));
  CHECK(rig.out.records.empty());
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(since(rig.out.records[0].time) == ms(350));
}

TEST_CASE("slow_close: delay <= 0 passes the end at once", "[toxics]") {
  for (int64_t delay : {int64_t{0}, int64_t{-20}}) {
    CAPTURE(delay);
    Rig rig("slow_close", {delay});
    rig.end(at_ms(7));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[0].time) == ms(7));
  }
}

// ---------------------------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------------------------

TEST_CASE("timeout: data is dropped and the link closes after timeout ms of silence", "[toxics]") {
  Rig rig("timeout", {300});
  CHECK(due(rig.stage->deadline()) == ms(300));
  rig.data("dropped", at_ms(100));
  CHECK(due(rig.stage->deadline()) == ms(400));
  rig.data("also dropped", at_ms(350));
  CHECK(due(rig.stage->deadline()) == ms(650));
  rig.stage->on_timer(at_ms(649));
  CHECK(rig.out.records.empty());
  rig.stage->on_timer(at_ms(650));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].kind == ItemKind::kClose);
  CHECK(rig.out.records[0].data.empty());
  CHECK(since(rig.out.records[0].time) == ms(650));
  CHECK_FALSE(rig.stage->deadline().has_value());
  CHECK(rig.stage->held_bytes() == 0);
}

TEST_CASE("timeout: a steady sender never times out", "[toxics]") {
  Rig rig("timeout", {100});
  for (int i = 1; i <= 50; ++i) {
    rig.run_until(at_ms(90 * i - 1));
    rig.data("x", at_ms(90 * i));
  }
  CHECK(rig.out.records.empty());
  CHECK(due(rig.stage->deadline()) == ms(90 * 50 + 100));
}

TEST_CASE("timeout: an update restarts the countdown", "[toxics]") {
  Rig rig("timeout", {300});
  rig.stage->configure({500}, at_ms(200));
  CHECK(due(rig.stage->deadline()) == ms(700));
  rig.run_until(at_ms(699));
  CHECK(rig.out.records.empty());
  rig.run_until(at_ms(2000));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(since(rig.out.records[0].time) == ms(700));
}

TEST_CASE("timeout: timeout <= 0 never closes and drops everything", "[toxics]") {
  for (int64_t timeout : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min()}) {
    CAPTURE(timeout);
    Rig rig("timeout", {timeout});
    CHECK_FALSE(rig.stage->deadline().has_value());
    rig.data("gone", at_ms(10));
    CHECK_FALSE(rig.stage->deadline().has_value());
    rig.stage->on_timer(at_ms(1000000));
    CHECK(rig.out.records.empty());
    // An update to a positive timeout starts the countdown.
    rig.stage->configure({40}, at_ms(2000));
    CHECK(due(rig.stage->deadline()) == ms(2040));
  }
}

// ---------------------------------------------------------------------------------------
// reset_peer
// ---------------------------------------------------------------------------------------

TEST_CASE("reset_peer: an idle link is left alone", "[toxics]") {
  Rig rig("reset_peer", {100});
  CHECK_FALSE(rig.stage->deadline().has_value());
  rig.stage->on_timer(at_ms(100000));
  rig.stage->flush(at_ms(100000));
  CHECK(rig.out.records.empty());
}

TEST_CASE("reset_peer: the first item is discarded, then the link closes after timeout",
          "[toxics]") {
  SECTION("a data chunk") {
    Rig rig("reset_peer", {100});
    rig.data("hello", at_ms(50));
    CHECK(rig.out.records.empty());
    CHECK(due(rig.stage->deadline()) == ms(150));
    rig.data("more", at_ms(120));  // discarded too; the wait is not restarted
    CHECK(due(rig.stage->deadline()) == ms(150));
    rig.stage->on_timer(at_ms(149));
    CHECK(rig.out.records.empty());
    rig.stage->on_timer(at_ms(150));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kClose);
    CHECK(since(rig.out.records[0].time) == ms(150));
    CHECK_FALSE(rig.stage->deadline().has_value());
    // Afterwards nothing more comes out.
    rig.data("late", at_ms(200));
    rig.stage->flush(at_ms(300));
    rig.run_until(at_ms(10000));
    CHECK(rig.out.records.size() == 1);
  }
  SECTION("the end of the stream") {
    Rig rig("reset_peer", {100});
    rig.end(at_ms(10));
    CHECK(rig.out.records.empty());
    rig.run_until(at_ms(1000));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kClose);
    CHECK(since(rig.out.records[0].time) == ms(110));
  }
}

TEST_CASE("reset_peer: timeout <= 0 closes as soon as the first item arrives", "[toxics]") {
  for (int64_t timeout : {int64_t{0}, int64_t{-5}}) {
    CAPTURE(timeout);
    Rig rig("reset_peer", {timeout});
    rig.data("x", at_ms(33));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kClose);
    CHECK(since(rig.out.records[0].time) == ms(33));
  }
}

TEST_CASE("reset_peer: flush mid-wait closes at once, exactly once", "[toxics]") {
  Rig rig("reset_peer", {1000});
  rig.data("x", at_ms(0));
  rig.stage->flush(at_ms(300));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].kind == ItemKind::kClose);
  CHECK(since(rig.out.records[0].time) == ms(300));
  rig.stage->flush(at_ms(400));
  rig.run_until(at_ms(5000));
  CHECK(rig.out.records.size() == 1);
}

TEST_CASE("reset_peer: an update restarts the wait", "[toxics]") {
  Rig rig("reset_peer", {100});
  rig.data("x", at_ms(0));
  rig.stage->configure({200}, at_ms(50));
  CHECK(due(rig.stage->deadline()) == ms(250));
  rig.run_until(at_ms(249));
  CHECK(rig.out.records.empty());
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(since(rig.out.records[0].time) == ms(250));
}

// ---------------------------------------------------------------------------------------
// slicer
// ---------------------------------------------------------------------------------------

TEST_CASE("slicer: 50 bytes, average 10, no variation, 20 ms delay", "[toxics]") {
  Rig rig("slicer", {10, 0, 20000});
  const std::string payload = pattern(50);
  rig.data(payload, at_ms(0));
  // The first piece leaves at once.
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.stage->held_bytes() == 50 - rig.out.records[0].data.size());
  CHECK(due(rig.stage->deadline()) == ms(20));
  rig.run_until(at_ms(10000));
  const std::vector<size_t> sizes = {6, 6, 6, 7, 6, 6, 6, 7};
  REQUIRE(rig.out.records.size() == sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto& r = rig.out.records[i];
    CHECK(r.kind == ItemKind::kData);
    CHECK(r.data.size() == sizes[i]);
    CHECK(r.data.size() >= 5);
    CHECK(r.data.size() <= 10);
    CHECK(since(r.time) == ms(20 * static_cast<int64_t>(i)));
  }
  CHECK(rig.out.bytes() == payload);
  CHECK(rig.stage->held_bytes() == 0);
}

TEST_CASE("slicer: the delay follows the last piece too; the end comes after it", "[toxics]") {
  Rig rig("slicer", {10, 0, 20000});
  rig.data(pattern(20), at_ms(0));  // two pieces: 0 ms and 20 ms
  rig.run_until(at_ms(30));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(since(rig.out.records[1].time) == ms(20));
  rig.data(pattern(5, 1), at_ms(30));  // must wait until 40 ms
  CHECK(rig.out.records.size() == 2);
  CHECK(due(rig.stage->deadline()) == ms(40));
  rig.end(at_ms(31));
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 4);
  CHECK(rig.out.records[2].data == pattern(5, 1));
  CHECK(since(rig.out.records[2].time) == ms(40));
  CHECK(rig.out.records[3].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[3].time) == ms(60));
}

TEST_CASE("slicer: size variation with a seeded generator keeps every byte in order", "[toxics]") {
  for (uint64_t seed : {1u, 7u, 2024u}) {
    CAPTURE(seed);
    Rig rig("slicer", {10, 5, 0}, kT0, seed);
    const std::string payload = pattern(1000, static_cast<int>(seed));
    rig.data(payload, at_ms(0));
    rig.end(at_ms(0));
    // With no delay everything leaves at once.
    REQUIRE(rig.out.records.size() >= 2);
    CHECK(rig.out.records.back().kind == ItemKind::kEnd);
    CHECK(rig.out.bytes() == payload);
    bool varied = false;
    for (size_t i = 0; i + 1 < rig.out.records.size(); ++i) {
      const auto& r = rig.out.records[i];
      CHECK(!r.data.empty());
      CHECK(r.data.size() <= 15);
      CHECK(since(r.time) == 0);
      varied = varied || r.data.size() != rig.out.records[0].data.size();
    }
    CHECK(varied);
    CHECK(rig.stage->held_bytes() == 0);
  }
}

TEST_CASE("slicer: degenerate settings never crash or loop and keep every byte", "[toxics]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    int64_t average, variation;
    size_t max_piece;
  };
  const std::vector<Case> cases = {
      {0, 0, 1},      {-5, 0, 1},      {-5, -3, 1},        {10, -3, 10},
      {1, 40, 41},    {2, 1000, 1002}, {10, 1000000, 500}, {1, kMax - 1, 500},
      {kMax, 0, 500}, {0, 1, 2},       {1, 1, 2},
  };
  for (const auto& c : cases) {
    CAPTURE(c.average, c.variation);
    Rig rig("slicer", {c.average, c.variation, 0}, kT0, 99);
    const std::string payload = pattern(500);
    rig.data(payload, at_ms(0));
    rig.run_until(at_ms(1));
    CHECK(rig.out.bytes() == payload);
    CHECK(rig.stage->held_bytes() == 0);
    for (const auto& r : rig.out.records) {
      CHECK(!r.data.empty());
      CHECK(r.data.size() <= c.max_piece);
    }
  }
}

TEST_CASE("slicer: flush forwards the rest of the chunk unsliced", "[toxics]") {
  Rig rig("slicer", {10, 0, 20000});
  const std::string payload = pattern(50);
  rig.data(payload, at_ms(0));
  rig.data("next", at_ms(1));
  rig.end(at_ms(2));
  rig.run_until(at_ms(45));  // pieces at 0, 20, 40: 6 + 6 + 6 bytes
  REQUIRE(rig.out.records.size() == 3);
  rig.stage->flush(at_ms(50));
  REQUIRE(rig.out.records.size() == 5);
  CHECK(rig.out.records[3].data == payload.substr(18) + "next");
  CHECK(since(rig.out.records[3].time) == ms(50));
  CHECK(rig.out.records[4].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[4].time) == ms(50));
  CHECK(rig.out.bytes() == payload + "next");
  CHECK(rig.stage->held_bytes() == 0);
  CHECK_FALSE(rig.stage->deadline().has_value());
}

TEST_CASE("slicer: an update forwards the rest unsliced and applies the new sizes", "[toxics]") {
  Rig rig("slicer", {10, 0, 20000});
  rig.data(pattern(50), at_ms(0));
  rig.stage->configure({25, 0, 0}, at_ms(10));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[1].data == pattern(50).substr(6));
  CHECK(since(rig.out.records[1].time) == ms(10));
  rig.data(pattern(50, 3), at_ms(11));
  REQUIRE(rig.out.records.size() == 4);
  CHECK(rig.out.records[2].data.size() == 25);
  CHECK(rig.out.records[3].data.size() == 25);
  CHECK(since(rig.out.records[3].time) == ms(11));
}

TEST_CASE("slicer: a huge delay never schedules the next piece before the previous one",
          "[toxics]") {
  // delay is a µs count of Go type int; any int64 passes the API.
  Rig rig("slicer", {10, 0, std::numeric_limits<int64_t>::max()});
  rig.data(pattern(50), at_ms(0));
  REQUIRE(rig.out.records.size() >= 1);
  CHECK(rig.out.records.size() == 1);
  REQUIRE(rig.stage->deadline().has_value());
  CHECK(*rig.stage->deadline() > at_ms(0));
}

// ---------------------------------------------------------------------------------------
// stall (an extension)
// ---------------------------------------------------------------------------------------

namespace {

// A stall stage whose schedule starts at kT0.
std::unique_ptr<Rig> stall_rig(int64_t every, int64_t duration) {
  auto rig = std::make_unique<Rig>("stall", std::vector<int64_t>{every, duration});
  rig->stage->set_since(kT0);
  rig->stage->configure({every, duration}, kT0);
  return rig;
}

}  // namespace

TEST_CASE("stall: holds the stream during each stall, passes it between", "[toxics]") {
  auto rig = stall_rig(1000, 200);
  rig->data("a", at_ms(50));  // in the first stall [0, 200)
  rig->run_until(at_ms(300));
  rig->data("b", at_ms(300));   // between stalls: at once
  rig->data("c", at_ms(1100));  // in the second stall [1000, 1200)
  rig->data("d", at_ms(1150));
  rig->end(at_ms(1190));
  CHECK(rig->stage->held_bytes() == 2);
  CHECK(due(rig->stage->deadline()) == ms(1200));
  rig->run_until(at_ms(5000));
  const auto& r = rig->out.records;
  REQUIRE(r.size() == 5);
  CHECK(r[0].data == "a");
  CHECK(since(r[0].time) == ms(200));
  CHECK(r[1].data == "b");
  CHECK(since(r[1].time) == ms(300));
  CHECK(r[2].data == "c");
  CHECK(r[3].data == "d");
  CHECK(since(r[2].time) == ms(1200));
  CHECK(since(r[3].time) == ms(1200));
  CHECK(r[4].kind == ItemKind::kEnd);
  CHECK(since(r[4].time) == ms(1200));
  CHECK(rig->stage->held_bytes() == 0);
}

TEST_CASE("stall: every <= 0 stalls once", "[toxics]") {
  auto rig = stall_rig(0, 300);
  rig->data("a", at_ms(100));
  rig->run_until(at_ms(1000));
  rig->data("b", at_ms(2000));
  REQUIRE(rig->out.records.size() == 2);
  CHECK(since(rig->out.records[0].time) == ms(300));
  CHECK(since(rig->out.records[1].time) == ms(2000));
}

TEST_CASE("stall: back-to-back stalls and a duration >= every", "[toxics]") {
  SECTION("a stall ending as the next begins keeps holding") {
    auto rig = stall_rig(100, 60);
    rig->data("a", at_ms(50));
    rig->run_until(at_ms(60));
    rig->data("b", at_ms(99));
    rig->data("c", at_ms(100));
    rig->run_until(at_ms(1000));
    REQUIRE(rig->out.records.size() == 3);
    CHECK(since(rig->out.records[0].time) == ms(60));
    CHECK(since(rig->out.records[1].time) == ms(99));
    CHECK(since(rig->out.records[2].time) == ms(160));
  }
  SECTION("duration >= every: stalled for good until removed (flush)") {
    auto rig = stall_rig(100, 100);
    rig->data("a", at_ms(10));
    rig->data("b", at_ms(5000));
    rig->run_until(at_ms(100000));
    CHECK(rig->out.records.empty());
    CHECK(rig->stage->held_bytes() == 2);
    rig->stage->flush(at_ms(100001));
    REQUIRE(rig->out.records.size() == 2);
    CHECK(rig->out.bytes() == "ab");
  }
}

TEST_CASE("stall: an update starts a new schedule; held data follows it", "[toxics]") {
  auto rig = stall_rig(10000, 5000);
  rig->data("a", at_ms(100));
  CHECK(due(rig->stage->deadline()) == ms(5000));
  // Updated at 1000 ms: stalls of 300 ms every 2000 ms from there.
  rig->stage->set_since(at_ms(1000));
  rig->stage->configure({2000, 300}, at_ms(1000));
  CHECK(due(rig->stage->deadline()) == ms(1300));
  rig->run_until(at_ms(1300));
  rig->data("b", at_ms(1500));
  rig->data("c", at_ms(3100));
  rig->run_until(at_ms(10000));
  const auto& r = rig->out.records;
  REQUIRE(r.size() == 3);
  CHECK(since(r[0].time) == ms(1300));
  CHECK(since(r[1].time) == ms(1500));
  CHECK(since(r[2].time) == ms(3300));
  SECTION("an update outside any stall lets held data go at once") {
    rig->data("d", at_ms(11050));  // in the stall [11000, 11300)
    rig->stage->set_since(at_ms(11100));
    rig->stage->configure({5000, 0}, at_ms(11100));
    REQUIRE(rig->out.records.size() == 4);
    CHECK(since(rig->out.records[3].time) == ms(11100));
  }
}

TEST_CASE("stall: a chain gives the stage the toxic's time, the same on every link", "[toxics]") {
  Recorder out1, out2;
  Random rng(1);
  ToxicChain a(out1, rng), b(out2, rng);
  auto s = spec(1, 1, "stall", {1000, 400});
  s.since = at_ms(0);
  a.apply({s}, at_ms(0));
  b.apply({s}, at_ms(250));  // a link that starts later joins the same schedule
  a.push(data_item("x"), at_ms(300));
  b.push(data_item("y"), at_ms(300));
  run_chain(a, at_ms(2000));
  run_chain(b, at_ms(2000));
  REQUIRE(out1.records.size() == 1);
  REQUIRE(out2.records.size() == 1);
  CHECK(since(out1.records[0].time) == ms(400));
  CHECK(since(out2.records[0].time) == ms(400));
}

// ---------------------------------------------------------------------------------------
// limit_data
// ---------------------------------------------------------------------------------------

TEST_CASE("limit_data: exactly N bytes, then the end", "[toxics]") {
  Rig rig("limit_data", {10});
  rig.data("01234", at_ms(1));
  rig.data("56789", at_ms(2));
  rig.data("ignored", at_ms(3));
  rig.end(at_ms(4));
  REQUIRE(rig.out.records.size() == 3);
  CHECK(rig.out.records[0].data == "01234");
  CHECK(rig.out.records[1].data == "56789");
  CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[2].time) == ms(2));
  CHECK(rig.out.bytes() == "0123456789");
}

TEST_CASE("limit_data: the chunk crossing the limit is truncated", "[toxics]") {
  Rig rig("limit_data", {10});
  rig.data("0123456", at_ms(1));
  rig.data("789abcdef", at_ms(2));
  REQUIRE(rig.out.records.size() == 3);
  CHECK(rig.out.records[0].data == "0123456");
  CHECK(rig.out.records[1].data == "789");
  CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  CHECK(rig.out.count(ItemKind::kEnd) == 1);
}

TEST_CASE("limit_data: the end of the stream before the limit passes through", "[toxics]") {
  Rig rig("limit_data", {10});
  rig.data("abc", at_ms(1));
  rig.end(at_ms(2));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[0].data == "abc");
  CHECK(rig.out.records[1].kind == ItemKind::kEnd);
  CHECK(since(rig.out.records[1].time) == ms(2));
}

TEST_CASE("limit_data: bytes <= 0 drops the first chunk and ends", "[toxics]") {
  for (int64_t limit : {int64_t{0}, int64_t{-7}, std::numeric_limits<int64_t>::min()}) {
    CAPTURE(limit);
    Rig rig("limit_data", {limit});
    CHECK(rig.out.records.empty());
    rig.data("abc", at_ms(5));
    REQUIRE(rig.out.records.size() == 1);
    CHECK(rig.out.records[0].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[0].time) == ms(5));
    rig.data("def", at_ms(6));
    CHECK(rig.out.records.size() == 1);
  }
}

TEST_CASE("limit_data: the count survives updates", "[toxics]") {
  SECTION("same limit") {
    Rig rig("limit_data", {10});
    rig.data("012345", at_ms(1));
    rig.stage->configure({10}, at_ms(2));
    rig.data("6789ab", at_ms(3));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(rig.out.bytes() == "0123456789");
    CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  }
  SECTION("raised limit") {
    Rig rig("limit_data", {5});
    rig.data("01", at_ms(1));
    rig.stage->configure({8}, at_ms(2));
    rig.data("234567890", at_ms(3));
    REQUIRE(rig.out.records.size() == 3);
    CHECK(rig.out.bytes() == "01234567");
    CHECK(rig.out.records[2].kind == ItemKind::kEnd);
  }
  SECTION("lowered below the count: the next chunk ends the link") {
    Rig rig("limit_data", {10});
    rig.data("012345", at_ms(1));
    rig.stage->configure({3}, at_ms(2));
    CHECK(rig.out.records.size() == 1);
    rig.data("xyz", at_ms(3));
    REQUIRE(rig.out.records.size() == 2);
    CHECK(rig.out.records[1].kind == ItemKind::kEnd);
    CHECK(since(rig.out.records[1].time) == ms(3));
    CHECK(rig.out.bytes() == "012345");
  }
}

// ---------------------------------------------------------------------------------------
// ToxicChain
// ---------------------------------------------------------------------------------------

TEST_CASE("chain: an empty chain passes items straight through", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  CHECK(chain.empty());
  chain.push(data_item("abc"), at_ms(3));
  chain.push(end_item(), at_ms(4));
  REQUIRE(out.records.size() == 2);
  CHECK(out.records[0].data == "abc");
  CHECK(since(out.records[0].time) == ms(3));
  CHECK(out.records[1].kind == ItemKind::kEnd);
  CHECK_FALSE(chain.deadline().has_value());
  CHECK(chain.held_bytes() == 0);
}

TEST_CASE("chain: connection toxics take no place in a stream's chain", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  chain.apply({spec(1, 1, "refuse", {}), spec(2, 1, "max_connections", {1, 0}),
               spec(3, 1, "accept_delay", {100})},
              at_ms(0));
  CHECK(chain.empty());
  chain.push(data_item("abc"), at_ms(1));
  REQUIRE(out.records.size() == 1);
  CHECK(out.records[0].data == "abc");
  CHECK(since(out.records[0].time) == ms(1));
}

TEST_CASE("chain: stages run in the order the toxics were added", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  SECTION("limit_data before slow_close: the end limit_data makes is held") {
    chain.apply({spec(1, 1, "limit_data", {3}), spec(2, 1, "slow_close", {200})}, at_ms(0));
    chain.push(data_item("abcdef"), at_ms(10));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].data == "abc");
    CHECK(due(chain.deadline()) == ms(210));
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[1].kind == ItemKind::kEnd);
    CHECK(since(out.records[1].time) == ms(210));
  }
  SECTION("slow_close before limit_data: the end goes out at once") {
    chain.apply({spec(1, 1, "slow_close", {200}), spec(2, 1, "limit_data", {3})}, at_ms(0));
    chain.push(data_item("abcdef"), at_ms(10));
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[0].data == "abc");
    CHECK(out.records[1].kind == ItemKind::kEnd);
    CHECK(since(out.records[1].time) == ms(10));
    CHECK_FALSE(chain.deadline().has_value());
  }
}

TEST_CASE("chain: two latency toxics add up", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  chain.apply({spec(1, 1, "latency", {50, 0}), spec(2, 1, "latency", {70, 0})}, at_ms(0));
  CHECK(chain.active_count() == 2);
  chain.push(data_item("a"), at_ms(0));
  chain.push(data_item("b"), at_ms(10));
  CHECK(due(chain.deadline()) == ms(50));
  CHECK(chain.held_bytes() == 2);
  run_chain(chain, at_ms(1000));
  REQUIRE(out.records.size() == 2);
  CHECK(out.records[0].data == "a");
  CHECK(since(out.records[0].time) == ms(120));
  CHECK(out.records[1].data == "b");
  CHECK(since(out.records[1].time) == ms(130));
  CHECK(chain.held_bytes() == 0);
}

TEST_CASE("chain: toxicity 0 passes through, toxicity 1 is active", "[toxics]") {
  Recorder out;
  Random rng(3);
  ToxicChain chain(out, rng);
  SECTION("toxicity 0") {
    chain.apply({spec(1, 1, "latency", {100, 0}, 0.0f)}, at_ms(0));
    CHECK(chain.active_count() == 0);
    chain.push(data_item("x"), at_ms(5));
    REQUIRE(out.records.size() == 1);
    CHECK(since(out.records[0].time) == ms(5));
    CHECK_FALSE(chain.deadline().has_value());
  }
  SECTION("toxicity 1") {
    chain.apply({spec(1, 1, "latency", {100, 0}, 1.0f)}, at_ms(0));
    CHECK(chain.active_count() == 1);
    chain.push(data_item("x"), at_ms(5));
    CHECK(out.records.empty());
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 1);
    CHECK(since(out.records[0].time) == ms(105));
  }
  SECTION("an inactive stage in the middle is skipped") {
    chain.apply({spec(1, 1, "latency", {100, 0}), spec(2, 1, "timeout", {0}, 0.0f),
                 spec(3, 1, "latency", {10, 0})},
                at_ms(0));
    CHECK(chain.active_count() == 2);
    chain.push(data_item("x"), at_ms(0));
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].data == "x");
    CHECK(since(out.records[0].time) == ms(110));
  }
}

TEST_CASE("chain: removing a stage mid-delay hands its data on without loss or reordering",
          "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  const ToxicSpec first = spec(1, 1, "latency", {100, 0});
  const ToxicSpec second = spec(2, 1, "latency", {100, 0});
  chain.apply({first, second}, at_ms(0));
  chain.push(data_item("a"), at_ms(0));
  chain.push(data_item("bb"), at_ms(10));
  run_chain(chain, at_ms(120));
  chain.push(data_item("ccc"), at_ms(120));
  // At 150 ms: a and bb wait in the second stage, ccc in the first.
  run_chain(chain, at_ms(150));
  CHECK(out.records.empty());
  CHECK(chain.held_bytes() == 6);

  SECTION("remove the second stage") {
    chain.apply({first}, at_ms(150));
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[0].data == "a");
    CHECK(out.records[1].data == "bb");
    CHECK(since(out.records[0].time) == ms(150));
    CHECK(since(out.records[1].time) == ms(150));
    CHECK(chain.held_bytes() == 3);
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 3);
    CHECK(out.records[2].data == "ccc");
    CHECK(since(out.records[2].time) == ms(220));
  }
  SECTION("remove the first stage") {
    chain.apply({second}, at_ms(150));
    CHECK(out.records.empty());  // ccc now waits in the second stage
    CHECK(chain.held_bytes() == 6);
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 3);
    CHECK(out.records[0].data == "a");
    CHECK(since(out.records[0].time) == ms(200));
    CHECK(out.records[1].data == "bb");
    CHECK(since(out.records[1].time) == ms(210));
    CHECK(out.records[2].data == "ccc");
    CHECK(since(out.records[2].time) == ms(250));
  }
  SECTION("remove both") {
    chain.apply({}, at_ms(150));
    CHECK(chain.empty());
    REQUIRE(out.records.size() == 3);
    CHECK(out.bytes() == "abbccc");
    for (const auto& r : out.records) CHECK(since(r.time) == ms(150));
    CHECK(chain.held_bytes() == 0);
  }
  CHECK(out.count(ItemKind::kClose) == 0);
}

TEST_CASE("chain: removing bandwidth and slicer mid-stream loses nothing", "[toxics]") {
  Recorder out;
  Random rng(5);
  ToxicChain chain(out, rng);
  const ToxicSpec slicer = spec(1, 1, "slicer", {100, 20, 1000});
  const ToxicSpec bandwidth = spec(2, 1, "bandwidth", {1});
  chain.apply({slicer, bandwidth}, at_ms(0));
  std::string sent;
  for (int i = 0; i < 20; ++i) {
    std::string chunk = pattern(400, i);
    sent += chunk;
    run_chain(chain, at_ms(5 * i));
    chain.push(data_item(chunk), at_ms(5 * i));
  }
  run_chain(chain, at_ms(200));
  CHECK(out.bytes().size() < sent.size());
  CHECK(out.bytes() == sent.substr(0, out.bytes().size()));
  chain.apply({bandwidth}, at_ms(200));
  run_chain(chain, at_ms(400));
  chain.apply({}, at_ms(400));
  CHECK(chain.empty());
  CHECK(chain.held_bytes() == 0);
  CHECK(out.bytes() == sent);
  CHECK(out.count(ItemKind::kClose) == 0);
}

TEST_CASE("chain: removing a timeout toxic closes the link, active or not", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  SECTION("active") {
    chain.apply({spec(1, 1, "timeout", {0})}, at_ms(0));
    chain.push(data_item("dropped"), at_ms(10));
    CHECK(out.records.empty());
    chain.apply({}, at_ms(20));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].kind == ItemKind::kClose);
    CHECK(since(out.records[0].time) == ms(20));
  }
  SECTION("inactive") {
    chain.apply({spec(1, 1, "timeout", {1000}, 0.0f)}, at_ms(0));
    CHECK(chain.active_count() == 0);
    chain.push(data_item("passes"), at_ms(10));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].data == "passes");
    run_chain(chain, at_ms(5000));
    CHECK(out.records.size() == 1);
    chain.apply({}, at_ms(6000));
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[1].kind == ItemKind::kClose);
    CHECK(since(out.records[1].time) == ms(6000));
  }
  SECTION("the close follows the data held by later stages") {
    const ToxicSpec latency = spec(2, 1, "latency", {100, 0});
    chain.apply({spec(1, 1, "timeout", {0}, 0.0f), latency}, at_ms(0));
    chain.push(data_item("x"), at_ms(0));
    chain.apply({latency}, at_ms(10));
    CHECK(out.records.empty());
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[0].data == "x");
    CHECK(out.records[1].kind == ItemKind::kClose);
    CHECK(since(out.records[1].time) == ms(100));
  }
  SECTION("removing other toxics does not close") {
    chain.apply({spec(1, 1, "noop", {}), spec(2, 1, "latency", {10, 0})}, at_ms(0));
    chain.apply({}, at_ms(5));
    CHECK(out.records.empty());
  }
}

TEST_CASE("chain: a toxic added to a live chain goes on the end", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  const ToxicSpec first = spec(1, 1, "latency", {100, 0});
  chain.apply({first}, at_ms(0));
  chain.push(data_item("a"), at_ms(0));
  chain.apply({first, spec(2, 1, "latency", {50, 0})}, at_ms(10));
  CHECK(chain.active_count() == 2);
  chain.push(data_item("b"), at_ms(20));
  run_chain(chain, at_ms(1000));
  REQUIRE(out.records.size() == 2);
  CHECK(out.records[0].data == "a");
  CHECK(since(out.records[0].time) == ms(150));
  CHECK(out.records[1].data == "b");
  CHECK(since(out.records[1].time) == ms(170));
}

TEST_CASE("chain: a new limit_data counts from zero when it is attached", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  chain.apply({spec(1, 1, "noop", {})}, at_ms(0));
  chain.push(data_item("0123456789"), at_ms(1));
  chain.apply({spec(1, 1, "noop", {}), spec(2, 1, "limit_data", {4})}, at_ms(2));
  chain.push(data_item("abcdef"), at_ms(3));
  REQUIRE(out.records.size() == 3);
  CHECK(out.records[1].data == "abcd");
  CHECK(out.records[2].kind == ItemKind::kEnd);
}

TEST_CASE("chain: updates restart the stage and keep limit_data's count", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  SECTION("limit_data") {
    chain.apply({spec(1, 1, "limit_data", {10})}, at_ms(0));
    chain.push(data_item("012345"), at_ms(1));
    chain.apply({spec(1, 2, "limit_data", {10})}, at_ms(2));
    chain.push(data_item("6789ab"), at_ms(3));
    REQUIRE(out.records.size() == 3);
    CHECK(out.bytes() == "0123456789");
    CHECK(out.records[2].kind == ItemKind::kEnd);
  }
  SECTION("timeout countdown restarts") {
    chain.apply({spec(1, 1, "timeout", {300})}, at_ms(0));
    CHECK(due(chain.deadline()) == ms(300));
    chain.apply({spec(1, 2, "timeout", {300})}, at_ms(200));
    CHECK(due(chain.deadline()) == ms(500));
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].kind == ItemKind::kClose);
    CHECK(since(out.records[0].time) == ms(500));
  }
  SECTION("an unchanged version is not an update") {
    chain.apply({spec(1, 1, "timeout", {300})}, at_ms(0));
    chain.apply({spec(1, 1, "timeout", {300})}, at_ms(200));
    CHECK(due(chain.deadline()) == ms(300));
  }
  SECTION("latency update releases the held chunk") {
    chain.apply({spec(1, 1, "latency", {100, 0})}, at_ms(0));
    chain.push(data_item("a"), at_ms(0));
    chain.push(data_item("b"), at_ms(10));
    chain.apply({spec(1, 2, "latency", {20, 0})}, at_ms(15));
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].data == "a");
    CHECK(since(out.records[0].time) == ms(15));
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 2);
    CHECK(since(out.records[1].time) == ms(30));
  }
  SECTION("an update to toxicity 0 hands over what the stage holds") {
    chain.apply({spec(1, 1, "latency", {100, 0})}, at_ms(0));
    chain.push(data_item("a"), at_ms(0));
    chain.push(data_item("b"), at_ms(10));
    chain.apply({spec(1, 2, "latency", {100, 0}, 0.0f)}, at_ms(20));
    CHECK(chain.active_count() == 0);
    REQUIRE(out.records.size() == 2);
    CHECK(out.bytes() == "ab");
    CHECK(since(out.records[1].time) == ms(20));
    CHECK(chain.held_bytes() == 0);
    chain.push(data_item("c"), at_ms(30));
    REQUIRE(out.records.size() == 3);
    CHECK(since(out.records[2].time) == ms(30));
  }
}

TEST_CASE("chain: held_bytes follows the data through the stages", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  chain.apply({spec(1, 1, "latency", {100, 0}), spec(2, 1, "bandwidth", {10})}, at_ms(0));
  chain.push(data_item(pattern(500)), at_ms(0));
  chain.push(data_item(pattern(300, 1)), at_ms(1));
  CHECK(chain.held_bytes() == 800);
  run_chain(chain, at_ms(100));  // the first chunk moved to bandwidth: due at 150
  CHECK(chain.held_bytes() == 800);
  CHECK(due(chain.deadline()) == ms(101));
  run_chain(chain, at_ms(150));
  REQUIRE(out.records.size() == 1);
  CHECK(since(out.records[0].time) == ms(150));
  CHECK(chain.held_bytes() == 300);
  run_chain(chain, at_ms(1000));
  REQUIRE(out.records.size() == 2);
  CHECK(since(out.records[1].time) == ms(180));
  CHECK(chain.held_bytes() == 0);
  CHECK(out.bytes() == pattern(500) + pattern(300, 1));
}

TEST_CASE("chain: toxicity 0.5 makes about half of the links toxic", "[toxics]") {
  Random rng(20240601);
  const int links = 400;
  int active = 0;
  for (int i = 0; i < links; ++i) {
    Recorder out;
    ToxicChain chain(out, rng);
    chain.apply({spec(1, 1, "latency", {100, 0}, 0.5f)}, at_ms(0));
    const bool is_active = chain.active_count() == 1;
    active += is_active ? 1 : 0;
    // Each link is consistently delayed or not.
    chain.push(data_item("x"), at_ms(0));
    chain.push(data_item("y"), at_ms(10));
    run_chain(chain, at_ms(1000));
    REQUIRE(out.records.size() == 2);
    CHECK(since(out.records[0].time) == (is_active ? ms(100) : 0));
    CHECK(since(out.records[1].time) == (is_active ? ms(110) : ms(10)));
  }
  const double fraction = static_cast<double>(active) / links;
  CHECK(fraction > 0.3);
  CHECK(fraction < 0.7);
}

// ---------------------------------------------------------------------------------------
// Protocol toxics (redis, postgres): text attributes, a toxicity drawn per message, and
// answers that go back to the client
// ---------------------------------------------------------------------------------------

namespace {

// A protocol stage with its text attributes, its delay (the fourth attribute of both) and
// a recorder for what it sends back towards the client.
struct ProtocolRig {
  Recorder out;
  Recorder answers;
  Random rng;
  std::unique_ptr<Stage> stage;

  ProtocolRig(std::string_view type, std::vector<std::string> texts, int64_t delay_ms = 0,
              float toxicity = 1.0f, uint64_t seed = 1)
      : rng(seed) {
    const tx::ToxicType* t = tx::find_type(type);
    REQUIRE(t != nullptr);
    REQUIRE(t->per_message);
    stage = t->create();
    stage->attach(&out, &rng);
    stage->set_answers(&answers);
    stage->set_toxicity(toxicity);
    texts.resize(4);
    std::vector<int64_t> numbers = {0, 0, 0, delay_ms};
    REQUIRE(t->validate(numbers, texts).empty());
    stage->configure_texts(texts);
    stage->configure(numbers, kT0);
  }
  void data(std::string s, Time now) { stage->on_item(data_item(std::move(s)), now); }
  void run_until(Time until) { run_stage_until(*stage, until); }
};

std::string resp(std::vector<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

std::string eval_error(const std::string& error) {
  return resp({"EVAL", "return redis.error_reply(ARGV[1])", "0", error});
}

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
  return s;
}
std::string pg_message(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}
std::string pg_query(const std::string& sql) {
  return pg_message('Q', sql + std::string(1, '\0'));
}
std::string pg_startup(const std::string& user) {
  std::string body = be32(196608) + "user" + std::string(1, '\0') + user + std::string(1, '\0') +
                     std::string(1, '\0');
  return be32(static_cast<uint32_t>(body.size() + 4)) + body;
}
std::string z(const std::string& s) {
  return s + std::string(1, '\0');
}

}  // namespace

TEST_CASE("redis: matching commands are answered by the server with the error, in place",
          "[toxics][redis]") {
  ProtocolRig rig("redis", {"SET,del", "user:*", "-READONLY You can't write against a replica."});
  const std::string get = resp({"GET", "user:1"});
  const std::string set = resp({"SET", "user:1", "v"});
  const std::string set_other = resp({"set", "cache:1", "v"});
  const std::string del = resp({"DEL", "user:2"});
  // Pipelined in one chunk: each matching command becomes the EVAL, the rest is untouched.
  rig.data(get + set + set_other + del + get, kT0);
  const std::string error = eval_error("READONLY You can't write against a replica.");
  CHECK(rig.out.bytes() == get + error + set_other + error + get);
  CHECK(rig.stage->deadline() == std::nullopt);
  CHECK(rig.answers.records.empty());
}

TEST_CASE("redis: commands split anywhere are read the same", "[toxics][redis]") {
  const std::string stream = resp({"SET", "k", std::string(300, 'x')}) + resp({"PING"}) +
                             "GET k\r\n" + resp({"SET", "k2", "v"}) + resp({"GET", "k"});
  const std::string expected =
      eval_error("ERR x") + resp({"PING"}) + "GET k\r\n" + eval_error("ERR x") + resp({"GET", "k"});
  for (size_t piece : {1, 2, 3, 7, 64, 1000}) {
    ProtocolRig rig("redis", {"set", "", "ERR x"});
    for (size_t at = 0; at < stream.size(); at += piece) {
      rig.data(stream.substr(at, piece), kT0);
    }
    CHECK(rig.out.bytes() == expected);
  }
}

TEST_CASE("redis: inline commands are matched on their first words", "[toxics][redis]") {
  ProtocolRig rig("redis", {"flushall", "", "ERR no"});
  rig.data("PING\r\nflushall async\r\nping\r\n", kT0);
  CHECK(rig.out.bytes() == "PING\r\n" + eval_error("ERR no") + "ping\r\n");
  // A stray empty line is its own (empty) command, not the start of the next one.
  rig.data("\n" + resp({"FLUSHALL"}), kT0);
  CHECK(rig.out.bytes() == "PING\r\n" + eval_error("ERR no") + "ping\r\n\n" + eval_error("ERR no"));
}

TEST_CASE("redis: a delay holds matching commands and what follows them", "[toxics][redis]") {
  ProtocolRig rig("redis", {"GET", "", ""}, 100);
  const std::string set = resp({"SET", "a", "1"});
  const std::string get = resp({"GET", "a"});
  rig.data(set + get + set, at_ms(0));
  CHECK(rig.out.bytes() == set);  // the SET before the GET is not held
  CHECK(due(rig.stage->deadline()) == ms(100));
  CHECK(rig.stage->held_bytes() == get.size() + set.size());
  rig.data(set, at_ms(50));  // behind the held GET, it waits too
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[1].data == get + set + set);
  CHECK(since(rig.out.records[1].time) == ms(100));
  CHECK(rig.stage->held_bytes() == 0);
}

TEST_CASE("redis: a delayed error answers after the delay", "[toxics][redis]") {
  ProtocolRig rig("redis", {"INCR", "", "LOADING Redis is loading the dataset in memory"}, 40);
  rig.data(resp({"INCR", "n"}) + resp({"GET", "n"}), at_ms(0));
  CHECK(rig.out.bytes().empty());
  rig.run_until(at_ms(1000));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].data ==
        eval_error("LOADING Redis is loading the dataset in memory") + resp({"GET", "n"}));
  CHECK(since(rig.out.records[0].time) == ms(40));
}

TEST_CASE("redis: a long command that does not match streams through", "[toxics][redis]") {
  ProtocolRig rig("redis", {"GET", "", "ERR x"});
  const std::string value = pattern(1 << 20);
  const std::string set = resp({"SET", "big", value});
  size_t fed = 0;
  for (size_t at = 0; at < set.size(); at += 16384) {
    rig.data(set.substr(at, 16384), kT0);
    fed += std::min<size_t>(16384, set.size() - at);
    CHECK(rig.out.bytes().size() == fed);  // nothing is held back
    CHECK(rig.stage->held_bytes() == 0);
  }
  CHECK(rig.out.bytes() == set);
}

TEST_CASE("redis: toxicity is drawn for each matching command", "[toxics][redis]") {
  ProtocolRig rig("redis", {"SET", "", "ERR x"}, 0, 0.25f, 7);
  const std::string set = resp({"SET", "a", "1"});
  for (int i = 0; i < 2000; ++i) rig.data(set, kT0);
  std::string all = rig.out.bytes();
  size_t answered = 0;
  for (size_t at = all.find("EVAL"); at != std::string::npos; at = all.find("EVAL", at + 1)) {
    ++answered;
  }
  CHECK(all.size() == answered * eval_error("ERR x").size() + (2000 - answered) * set.size());
  CHECK(answered > 400);
  CHECK(answered < 600);
}

TEST_CASE("redis: bytes that are not RESP pass untouched", "[toxics][redis]") {
  ProtocolRig rig("redis", {"", "", "ERR x"});
  const std::string junk = "*x\r\nhello\r\n" + resp({"GET", "a"});
  rig.data(junk, kT0);
  CHECK(rig.out.bytes() == junk);
  rig.data(resp({"GET", "a"}), kT0);  // and the stream stays untouched
  CHECK(rig.out.bytes() == junk + resp({"GET", "a"}));
}

TEST_CASE("redis: joining a connection under way waits for a command's start", "[toxics][redis]") {
  ProtocolRig rig("redis", {"GET", "", "ERR x"});
  rig.stage->join_midstream();
  const std::string tail = "lue\r\n";  // the end of a command begun before the toxic
  rig.data(tail, kT0);
  rig.data(resp({"GET", "a"}), kT0);
  CHECK(rig.out.bytes() == tail + eval_error("ERR x"));
}

TEST_CASE("redis: removing the toxic sends on what it holds, a command cut short unchanged",
          "[toxics][redis]") {
  ProtocolRig rig("redis", {"SET", "", "ERR x"}, 100);
  const std::string set = resp({"SET", "a", "1"});
  rig.data(set + set.substr(0, 9), at_ms(0));  // one whole, one begun
  CHECK(rig.out.bytes().empty());
  rig.stage->flush(at_ms(5));
  CHECK(rig.out.bytes() == eval_error("ERR x") + set.substr(0, 9));
}

TEST_CASE("redis: attributes are checked", "[toxics][redis]") {
  const auto& t = tx::redis_type();
  CHECK(t.upstream_only == "reads the commands clients send");
  CHECK(t.validate({0, 0, 0, -1}, {"", "", "", ""}) == "delay must not be negative");
  CHECK(t.validate({0, 0, 0, 0}, {"", "", "ERR a\r\nb", ""}) == "error must be one line");
  CHECK(t.validate({0, 0, 0, 5}, {"GET", "k*", "ERR a", ""}).empty());
}

TEST_CASE("postgres: a matching simple query becomes one the server fails with the code",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"*update accounts*", "40001", ""});
  const std::string startup = pg_startup("app");
  const std::string select = pg_query("SELECT 1");
  rig.data(startup + select, kT0);
  CHECK(rig.out.bytes() == startup + select);
  rig.data(pg_query("UPDATE accounts SET n = 1") + select, kT0);
  CHECK(rig.out.bytes() ==
        startup + select +
            pg_query("DO $faultline$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = "
                     "'could not serialize access due to concurrent update'; END $faultline$") +
            select);
  CHECK(rig.answers.records.empty());
}

TEST_CASE("postgres: a message of one's own is quoted; 57P01 terminates the backend",
          "[toxics][postgres]") {
  SECTION("message") {
    ProtocolRig rig("postgres", {"", "XX001", "it's broken"});
    rig.data(pg_startup("u") + pg_query("select 1"), kT0);
    CHECK(rig.out.bytes() == pg_startup("u") + pg_query("DO $faultline$ BEGIN RAISE EXCEPTION "
                                                        "USING ERRCODE = 'XX001', MESSAGE = "
                                                        "'it''s broken'; END $faultline$"));
  }
  SECTION("57P01") {
    ProtocolRig rig("postgres", {"", "57P01", ""});
    rig.data(pg_startup("u") + pg_query("select 1"), kT0);
    CHECK(rig.out.bytes() ==
          pg_startup("u") + pg_query("SELECT pg_terminate_backend(pg_backend_pid())"));
  }
}

TEST_CASE("postgres: a connection-time code answers the startup message with FATAL",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"", "53300", ""});
  rig.data(pg_startup("app") + pg_query("SELECT 1"), kT0);
  CHECK(rig.out.bytes().empty());  // nothing reaches the server
  REQUIRE(rig.answers.records.size() == 2);
  CHECK(rig.answers.records[0].data ==
        pg_message('E', z("SFATAL") + z("VFATAL") + z("C53300") +
                            z("Msorry, too many clients already") + std::string(1, '\0')));
  CHECK(rig.answers.records[1].kind == ItemKind::kEnd);
  SECTION("the user's name in the server's wording") {
    ProtocolRig auth("postgres", {"", "28P01", ""});
    auth.data(pg_startup("alice"), kT0);
    REQUIRE(!auth.answers.records.empty());
    CHECK(auth.answers.records[0].data.find("password authentication failed for user \"alice\"") !=
          std::string::npos);
  }
}

TEST_CASE("postgres: an SSL request is passed on, and a TLS handshake after it untouched",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"", "40001", ""});
  const std::string ssl = be32(8) + be32(80877103);
  SECTION("the server said no: the startup and queries follow in the clear") {
    rig.data(ssl, kT0);
    rig.data(pg_startup("u") + pg_query("select 1"), kT0);
    CHECK(rig.out.bytes().find("RAISE EXCEPTION") != std::string::npos);
  }
  SECTION("the server said yes: everything after is opaque") {
    const std::string hello = "\x16\x03\x01\x02\x00" + pattern(512);
    rig.data(ssl, kT0);
    rig.data(hello, kT0);
    rig.data(pg_query("select 1"), kT0);
    CHECK(rig.out.bytes() == ssl + hello + pg_query("select 1"));
  }
}

TEST_CASE("postgres: delays hold simple queries and extended executes of matching SQL",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"*pgbench_branches*", "", ""}, 50);
  rig.data(pg_startup("u"), at_ms(0));
  const std::string parse =
      pg_message('P', z("s1") + z("UPDATE pgbench_branches SET b = $1") + std::string(2, '\0'));
  const std::string bind = pg_message(
      'B', z("") + z("s1") + std::string(2, '\0') + std::string(2, '\0') + std::string(2, '\0'));
  const std::string execute = pg_message('E', z("") + be32(0));
  const std::string sync = pg_message('S', "");
  rig.data(parse + bind + execute + sync, at_ms(0));
  CHECK(rig.out.bytes() == pg_startup("u") + parse + bind);
  CHECK(due(rig.stage->deadline()) == ms(50));
  rig.run_until(at_ms(49));
  CHECK(rig.out.bytes() == pg_startup("u") + parse + bind);
  rig.run_until(at_ms(50));
  CHECK(rig.out.bytes() == pg_startup("u") + parse + bind + execute + sync);
  // The statement stays known: a later Bind and Execute of it are held again.
  rig.data(bind + execute + sync + pg_query("select 1"), at_ms(100));
  CHECK(due(rig.stage->deadline()) == ms(150));
  rig.run_until(at_ms(150));
  CHECK(rig.out.bytes().size() == (pg_startup("u") + parse + bind + execute + sync + bind +
                                   execute + sync + pg_query("select 1"))
                                      .size());
}

TEST_CASE("postgres: long messages stream through; unreadable streams pass untouched",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"", "40001", ""});
  rig.data(pg_startup("u"), kT0);
  const std::string copy = pg_message('d', pattern(1 << 20));
  for (size_t at = 0; at < copy.size(); at += 16384) {
    rig.data(copy.substr(at, 16384), kT0);
    CHECK(rig.stage->held_bytes() == 0);
  }
  CHECK(rig.out.bytes() == pg_startup("u") + copy);
  const std::string bad = std::string("Q") + be32(2) + "junk";
  rig.data(bad + pg_query("select 1"), kT0);
  CHECK(rig.out.bytes() == pg_startup("u") + copy + bad + pg_query("select 1"));
}

TEST_CASE("postgres: attributes are checked", "[toxics][postgres]") {
  const auto& t = tx::postgres_type();
  CHECK(t.validate({0, 0, 0, 0}, {"", "4000", "", ""}) ==
        "code must be a SQLSTATE of five digits or capital letters (got \"4000\")");
  CHECK(t.validate({0, 0, 0, 0}, {"", "40p01", "", ""}).find("code must be") == 0);
  CHECK(t.validate({0, 0, 0, 0}, {"", "40P01", "a $faultline$ b", ""}).find("message") == 0);
  CHECK(t.validate({0, 0, 0, -3}, {"", "", "", ""}) == "delay must not be negative");
  CHECK(t.validate({0, 0, 0, 0}, {"select*", "40P01", "", ""}).empty());
}

TEST_CASE("chain: a protocol toxic is always active and draws per message", "[toxics]") {
  Recorder out;
  Random rng(1);
  ToxicChain chain(out, rng);
  ToxicSpec s = spec(1, 1, "redis", {0, 0, 0, 0}, 0.0f);
  s.texts = {"GET", "", "ERR x", ""};
  chain.apply({s}, kT0);
  CHECK(chain.active_count() == 1);
  chain.push(data_item(resp({"GET", "a"})), kT0);
  CHECK(out.bytes() == resp({"GET", "a"}));  // toxicity 0: never answered
  s.version = 2;
  s.toxicity = 1.0f;
  chain.apply({s}, kT0);
  chain.push(data_item(resp({"GET", "a"})), kT0);
  CHECK(out.bytes() == resp({"GET", "a"}) + eval_error("ERR x"));
}

namespace {

// What the server sends, as the stage passes it on towards the client.
std::string replies_through(Stage& stage, const std::string& bytes, Time now) {
  std::vector<Item> out;
  stage.on_reply(data_item(bytes), now, out);
  std::string all;
  for (const auto& item : out) all += item.data;
  return all;
}

std::string pg_ready(char status) {
  return pg_message('Z', std::string(1, status));
}
std::string pg_error(const std::string& code) {
  return pg_message('E', z("SERROR") + z("C" + code) + z("Mx") + std::string(1, '\0'));
}

}  // namespace

TEST_CASE("postgres: a failed Execute becomes a Sync and the failing query; replies stay in step",
          "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"update accounts*", "40001", ""});
  REQUIRE(rig.stage->filters_replies());
  const std::string startup = pg_startup("u");
  rig.data(startup, kT0);
  CHECK(replies_through(*rig.stage, pg_message('R', be32(0)) + pg_ready('I'), kT0) ==
        pg_message('R', be32(0)) + pg_ready('I'));
  const std::string parse =
      pg_message('P', z("") + z("UPDATE accounts SET n = $1") + std::string(2, '\0'));
  const std::string bind = pg_message('B', z("") + z("") + std::string(6, '\0'));
  const std::string describe = pg_message('D', "P" + z(""));
  const std::string execute = pg_message('E', z("") + be32(0));
  const std::string sync = pg_message('S', "");
  const std::string failing = pg_query(
      "DO $faultline$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'could "
      "not serialize access due to concurrent update'; END $faultline$");
  const std::string select = pg_query("SELECT 1");

  SECTION("the client's Sync in the same batch") {
    rig.data(parse + bind + describe + execute + sync + select, kT0);
    CHECK(rig.out.bytes() == startup + parse + bind + describe + sync + failing + select);
    // The server: ParseComplete, BindComplete, NoData, the ReadyForQuery of the Sync put in
    // (dropped), the error and the ReadyForQuery the client waits for, then SELECT's.
    const std::string head = pg_message('1', "") + pg_message('2', "") + pg_message('n', "");
    CHECK(replies_through(*rig.stage, head + pg_ready('I') + pg_error("40001") + pg_ready('I'),
                          kT0) == head + pg_error("40001") + pg_ready('I'));
    CHECK(replies_through(*rig.stage, pg_message('C', z("SELECT 1")) + pg_ready('I'), kT0) ==
          pg_message('C', z("SELECT 1")) + pg_ready('I'));
  }
  SECTION("replies split anywhere") {
    rig.data(parse + bind + execute + sync, kT0);
    const std::string server = pg_message('1', "") + pg_message('2', "") + pg_ready('T') +
                               pg_error("40001") + pg_ready('E');
    std::string got;
    for (char c : server) got += replies_through(*rig.stage, std::string(1, c), kT0);
    CHECK(got == pg_message('1', "") + pg_message('2', "") + pg_error("40001") + pg_ready('E'));
  }
  SECTION("the server answers before the client's Sync: its ReadyForQuery waits for it") {
    rig.data(parse + bind + execute + pg_message('H', ""), kT0);
    CHECK(replies_through(*rig.stage, pg_ready('I') + pg_error("40001") + pg_ready('I'), kT0) ==
          pg_error("40001"));
    CHECK(rig.answers.records.empty());
    rig.data(sync, kT0);
    REQUIRE(rig.answers.records.size() == 1);
    CHECK(rig.answers.records[0].data == pg_ready('I'));
    CHECK(rig.out.bytes() == startup + parse + bind + sync + failing);  // Flush, Sync dropped
  }
  SECTION("a batch the server had already failed keeps its one error") {
    rig.data(parse + bind + execute + sync, kT0);
    CHECK(replies_through(*rig.stage,
                          pg_error("25P02") + pg_ready('E') + pg_error("25P02") + pg_ready('E'),
                          kT0) == pg_error("25P02") + pg_ready('E'));
  }
  SECTION("pipelined batches: each Sync's ReadyForQuery is counted") {
    const std::string ok_parse = pg_message('P', z("") + z("SELECT 1") + std::string(2, '\0'));
    rig.data(ok_parse + bind + execute + sync + parse + bind + execute + sync, kT0);
    CHECK(rig.out.bytes() ==
          startup + ok_parse + bind + execute + sync + parse + bind + sync + failing);
    const std::string first = pg_message('1', "") + pg_message('2', "") +
                              pg_message('D', std::string(6, '\0')) +
                              pg_message('C', z("SELECT 1")) + pg_ready('I');
    CHECK(replies_through(*rig.stage,
                          first + pg_message('1', "") + pg_message('2', "") + pg_ready('I') +
                              pg_error("40001") + pg_ready('I'),
                          kT0) ==
          first + pg_message('1', "") + pg_message('2', "") + pg_error("40001") + pg_ready('I'));
  }
}

TEST_CASE("postgres: the one-byte answer to an SSL request is read as such", "[toxics][postgres]") {
  ProtocolRig rig("postgres", {"", "40001", ""});
  rig.data(be32(8) + be32(80877103), kT0);
  CHECK(replies_through(*rig.stage, "N", kT0) == "N");
  rig.data(pg_startup("u"), kT0);
  CHECK(replies_through(*rig.stage, pg_ready('I'), kT0) == pg_ready('I'));
  SECTION("and after an 'S' the replies are opaque") {
    ProtocolRig tls("postgres", {"", "40001", ""});
    tls.data(be32(8) + be32(80877103), kT0);
    const std::string record = "S\x16\x03\x03\x00\x05hello";
    CHECK(replies_through(*tls.stage, record, kT0) == record);
  }
}

TEST_CASE("chain: a removed postgres toxic still drops the ReadyForQuery it owes",
          "[toxics][postgres]") {
  Recorder out;
  Recorder back;
  Random rng(1);
  ToxicChain chain(out, rng);
  chain.set_answers(&back);
  ToxicSpec s = spec(1, 1, "postgres", {0, 0, 0, 0});
  s.texts = {"", "40001", "", ""};
  chain.apply({s}, kT0);
  REQUIRE(chain.filters_replies());
  chain.push(data_item(pg_startup("u")), kT0);
  const std::string parse = pg_message('P', z("") + z("SELECT 1") + std::string(2, '\0'));
  const std::string bind = pg_message('B', z("") + z("") + std::string(6, '\0'));
  chain.push(data_item(parse + bind + pg_message('E', z("") + be32(0))), kT0);
  chain.apply({}, kT0);  // removed before the client's Sync and the server's replies
  CHECK(chain.filters_replies());
  Recorder client;
  chain.filter_reply(data_item(pg_ready('I')), kT0, client);  // the startup's
  chain.filter_reply(data_item(pg_message('1', "") + pg_message('2', "") + pg_ready('I')), kT0,
                     client);  // the batch, then the Sync the toxic put in
  CHECK(chain.filters_replies());
  // The client's Sync now reaches the server: the failing query's ReadyForQuery is dropped
  // and the one of that Sync answers the client.
  chain.push(data_item(pg_message('S', "")), kT0);
  CHECK(out.bytes().substr(out.bytes().size() - 5) == pg_message('S', ""));
  chain.filter_reply(data_item(pg_error("40001") + pg_ready('I')), kT0, client);
  CHECK(!chain.filters_replies());  // settled, gone
  chain.filter_reply(data_item(pg_ready('I')), kT0, client);
  CHECK(client.bytes() == pg_ready('I') + pg_message('1', "") + pg_message('2', "") +
                              pg_error("40001") + pg_ready('I'));
}
