// Execution segments (spec k6-compat §10): parsing, k6's striping rule and what each
// executor's share is, checked against the spec's worked examples.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "loadgen/config/segment.h"

using namespace faultline::loadgen;

namespace {

ExecutionSegment segment(const std::string& seg, const std::string& seq) {
  std::string err;
  auto s = ExecutionSegment::parse(seg, seq, err);
  INFO(err);
  REQUIRE(s);
  return *s;
}

std::string error_of(const std::string& seg, const std::string& seq) {
  std::string err;
  auto s = ExecutionSegment::parse(seg, seq, err);
  return s ? "" : err;
}

const char* kQuarters = "0,1/4,1/2,3/4,1";
const char* kFourths[] = {"0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"};

}  // namespace

TEST_CASE("execution segments: values, forms and k6's messages", "[loadgen][segment]") {
  CHECK(segment("", "").whole());
  CHECK(segment("1", "").whole());
  CHECK(segment("0:100%", "").whole());
  CHECK(segment("1/4", "").percent() == "(25.00%)");
  CHECK(segment("25%:0.5", "").percent() == "(25.00%)");
  CHECK(segment("2/4:75%", "").percent() == "(25.00%)");
  CHECK(segment("0:1/3", "").percent() == "(33.33%)");
  CHECK(error_of("12.5%", "") == "'12.5%' is not a valid percentage");
  CHECK(error_of("abc", "") ==
        "'abc' is not a valid percentage, decimal, fraction or interval value");
  CHECK(error_of("1/0", "") ==
        "'1/0' is not a valid percentage, decimal, fraction or interval value");
  CHECK(error_of("-0.1:0.5", "") == "segment start value must be at least 0 but was -0.10");
  CHECK(error_of("0.5:0.5", "") == "segment start(0.50) must be less than its end(0.50)");
  CHECK(error_of("0.5:5/4", "") == "segment end value can't be more than 1 but was 1.25");
  CHECK(error_of("0:1/4", "1/2") ==
        "at least 2 points are needed for an execution segment sequence, 1 given");
  CHECK(error_of("0:1/4", "0,1/2,1/4,1") == "segment start(0.50) must be less than its end(0.25)");
  CHECK(error_of("0:1/3", kQuarters) ==
        "provided segment 0:1/3 can't be found in sequence 0,1/4,1/2,3/4,1");
  // Edges left out of a sequence are implied.
  CHECK(segment("1/4:1/2", "1/4,1/2,3/4").percent() == "(25.00%)");
}

TEST_CASE("execution segments: k6's striping of units over a sequence", "[loadgen][segment]") {
  // The check vector of the spec (§10.2): L = 10.
  const char* seq = "0,0.3,0.5,0.6,0.7,0.8,0.9,1";
  auto first = segment("0:0.3", seq);
  auto second = segment("0.3:0.5", seq);
  std::vector<int64_t> a, b;
  for (int64_t u = 0; u < 10; ++u) {
    if (first.owns(u)) a.push_back(u);
    if (second.owns(u)) b.push_back(u);
  }
  CHECK(a == std::vector<int64_t>{0, 4, 7});
  CHECK(b == std::vector<int64_t>{1, 5});
  CHECK(first.owns(14));
  CHECK_FALSE(first.owns(15));

  // Four equal segments: 10 VUs are 3, 3, 2, 2 (not 3, 2, 3, 2); 7 are 2, 2, 2, 1.
  std::vector<int64_t> ten, seven;
  for (const char* s : kFourths) {
    ten.push_back(segment(s, kQuarters).share(10));
    seven.push_back(segment(s, kQuarters).share(7));
  }
  CHECK(ten == std::vector<int64_t>{3, 3, 2, 2});
  CHECK(seven == std::vector<int64_t>{2, 2, 2, 1});

  // Any sequence: the shares of all segments add up to the whole, for every total.
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<int> cuts{0};
    int den = 2 + static_cast<int>(rng() % 30);
    for (int c = 1; c < den; ++c) {
      if (rng() % 3 == 0) cuts.push_back(c);
    }
    cuts.push_back(den);
    std::string sequence;
    for (size_t i = 0; i < cuts.size(); ++i) {
      sequence += (i ? "," : "") + std::to_string(cuts[i]) + "/" + std::to_string(den);
    }
    for (int64_t total : {0, 1, 2, 5, 13, 29, 100, 1001}) {
      int64_t sum = 0;
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        auto seg = segment(std::to_string(cuts[i]) + "/" + std::to_string(den) + ":" +
                               std::to_string(cuts[i + 1]) + "/" + std::to_string(den),
                           sequence);
        int64_t owned = 0;
        for (int64_t u = 0; u < total; ++u) owned += seg.owns(u) ? 1 : 0;
        CHECK(seg.share(total) == owned);
        sum += seg.share(total);
      }
      INFO(sequence << " total " << total);
      CHECK(sum == total);
    }
  }
}

TEST_CASE("execution segments: each executor's share (the spec's worked examples)",
          "[loadgen][segment]") {
  Scenario shared;
  shared.executor = Executor::kSharedIterations;
  shared.vus = 10;
  shared.iterations = 100;
  std::vector<int64_t> vus, iterations;
  for (const char* s : kFourths) {
    Scenario mine = segment(s, kQuarters).apply(shared);
    vus.push_back(mine.vus);
    iterations.push_back(mine.iterations);
  }
  CHECK(vus == std::vector<int64_t>{3, 3, 2, 2});
  CHECK(iterations == std::vector<int64_t>{30, 30, 20, 20});
  shared.vus = 8;
  for (const char* s : kFourths) CHECK(segment(s, kQuarters).apply(shared).iterations == 25);

  // constant-arrival-rate, rate 7/s, 10 VUs: the derived sequence 3/10, 3/10, 2/10, 2/10.
  Scenario car;
  car.executor = Executor::kConstantArrivalRate;
  car.rate = 7;
  car.duration = std::chrono::seconds(10);
  car.pre_allocated_vus = 10;
  std::vector<int> owner(10, -1);
  std::vector<double> rates;
  std::vector<int64_t> pre;
  for (int k = 0; k < 4; ++k) {
    Scenario mine = segment(kFourths[k], kQuarters).apply(car);
    pre.push_back(mine.pre_allocated_vus);
    rates.push_back(7 * mine.rate_share);
    for (int g = 0; g < 10; ++g) {
      if (mine.arrival_stripe.owns(g)) {
        CHECK(owner[g] == -1);
        owner[g] = k;
      }
    }
    CHECK(describe(mine).rfind(k < 2 ? "2.10 iterations/s" : "1.40 iterations/s", 0) == 0);
  }
  CHECK(pre == std::vector<int64_t>{3, 3, 2, 2});
  CHECK(owner == std::vector<int>{0, 1, 2, 3, 0, 1, 2, 0, 1, 3});
  CHECK(rates[0] == Approx(2.1));
  CHECK(rates[3] == Approx(1.4));
  // maxVUs 20, a multiple of 4: the original sequence; instance k runs g = k mod 4.
  car.max_vus = 20;
  car.has_max_vus = true;
  for (int k = 0; k < 4; ++k) {
    Scenario mine = segment(kFourths[k], kQuarters).apply(car);
    CHECK(mine.max_vus == 5);
    CHECK(mine.rate_share == Approx(0.25));
    for (int g = 0; g < 12; ++g) CHECK(mine.arrival_stripe.owns(g) == (g % 4 == k));
  }

  // ramping-vus 0 -> 10 over 10 s: instance 0 runs global VUs 1, 5 and 9.
  Scenario ramp;
  ramp.executor = Executor::kRampingVus;
  ramp.start_vus = 0;
  ramp.stages = {{std::chrono::seconds(10), 10, true, true}};
  Scenario first = segment(kFourths[0], kQuarters).apply(ramp);
  std::vector<int64_t> ks;
  for (int64_t k = 1; k <= 10; ++k) {
    if (first.vu_stripe.owns(k - 1)) ks.push_back(k);
  }
  CHECK(ks == std::vector<int64_t>{1, 5, 9});
  CHECK(describe(first).rfind("Up to 3 looping VUs", 0) == 0);
  // The plans of the four instances add up to the whole plan at every instant.
  auto whole = plan(ramp);
  for (int64_t t_ms = 0; t_ms <= 10000; t_ms += 250) {
    auto at = [&](const std::vector<PlanStep>& p) {
      int64_t v = 0;
      for (const auto& st : p) {
        if (st.at <= std::chrono::milliseconds(t_ms)) v = st.planned;
      }
      return v;
    };
    int64_t sum = 0;
    for (const char* s : kFourths) sum += at(plan(segment(s, kQuarters).apply(ramp)));
    CHECK(sum == at(whole));
  }

  // ramping-arrival-rate without a sequence, segment 0:1/3 (implied 0,1/3,1): it owns
  // position 1 of 3, i.e. iterations #2, #5, #8 ... (1-based).
  Scenario rar;
  rar.executor = Executor::kRampingArrivalRate;
  rar.pre_allocated_vus = 3;
  Scenario third = segment("0:1/3", "").apply(rar);
  for (int64_t g = 0; g < 9; ++g) CHECK(third.arrival_stripe.owns(g) == (g % 3 == 1));

  // A share of nothing: the scenario does not run on that instance.
  Scenario one;
  one.executor = Executor::kConstantVus;
  one.vus = 1;
  CHECK_FALSE(runs_nothing(segment(kFourths[0], kQuarters).apply(one)));
  CHECK(runs_nothing(segment(kFourths[1], kQuarters).apply(one)));
}
