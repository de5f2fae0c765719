// Scheduling arithmetic of the executors, checked against k6's own regression vectors
// (spec k6-compat §2.3, §2.4).
#include <catch2/catch.hpp>

#include "loadgen/config/plan.h"

using namespace faultline::loadgen;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

Stage stage(int64_t secs, int64_t target) {
  Stage s;
  s.duration = seconds(secs);
  s.target = target;
  s.has_duration = s.has_target = true;
  return s;
}

// k6's test: start 4; 2s->6, 5s->1, 4s->5, 4s->1, 3s->4, 2s->4, 0s->1, 3s->1.
std::vector<Stage> k6_stages() {
  return {stage(2, 6), stage(5, 1), stage(4, 5), stage(4, 1),
          stage(3, 4), stage(2, 4), stage(0, 1), stage(3, 1)};
}

Scenario constant(const std::string& name, int64_t vus, int64_t secs, int64_t start) {
  Scenario s;
  s.name = name;
  s.executor = Executor::kConstantVus;
  s.vus = vus;
  s.duration = seconds(secs);
  s.has_duration = true;
  s.start_time = seconds(start);
  return s;
}

}  // namespace

TEST_CASE("ramping-vus counts follow k6's rounding toward the stage start", "[plan]") {
  const std::pair<int, int64_t> expected[] = {{0, 4},  {1, 5},  {2, 6},  {3, 5},  {4, 4},  {5, 3},
                                              {6, 2},  {7, 1},  {8, 2},  {9, 3},  {10, 4}, {11, 5},
                                              {12, 4}, {13, 3}, {14, 2}, {15, 1}, {16, 2}, {17, 3},
                                              {18, 4}, {20, 1}, {23, 0}};
  for (auto [t, count] : expected) {
    INFO("t=" << t);
    CHECK(ramping_vus_at(4, k6_stages(), seconds(t)) == count);
  }
  // 0 -> 10 over 10 s: VU #1 at 1 s, VU #10 at 10 s, nothing in the first second.
  std::vector<Stage> up{stage(10, 10)};
  CHECK(ramping_vus_at(0, up, milliseconds(999)) == 0);
  CHECK(ramping_vus_at(0, up, seconds(1)) == 1);
  CHECK(ramping_vus_at(0, up, milliseconds(9999)) == 9);
}

TEST_CASE("each ramping VU knows when it is active", "[plan]") {
  // VU #6 exists only while the count reaches 6: from 2 s to 3 s.
  auto six = ramping_vu_intervals(4, k6_stages(), 6);
  REQUIRE(six.size() == 1);
  CHECK(six[0].first == seconds(2));
  CHECK(six[0].second == seconds(3));
  // VU #1 runs from the start to the end of the last stage.
  auto one = ramping_vu_intervals(4, k6_stages(), 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0] == std::make_pair(Duration(0), Duration(seconds(23))));
  // VU #4 stops at 5 s, comes back at 10 s, stops at 13 s, returns at 18 s, stops at 20 s.
  auto four = ramping_vu_intervals(4, k6_stages(), 4);
  REQUIRE(four.size() == 3);
  CHECK(four[0] == std::make_pair(Duration(0), Duration(seconds(5))));
  CHECK(four[1] == std::make_pair(Duration(seconds(10)), Duration(seconds(13))));
  CHECK(four[2] == std::make_pair(Duration(seconds(18)), Duration(seconds(20))));
  // Summed over VUs the intervals give back the count at every instant.
  for (int t = 0; t < 23; ++t) {
    int64_t active = 0;
    for (int64_t k = 1; k <= 6; ++k) {
      for (auto [from, to] : ramping_vu_intervals(4, k6_stages(), k)) {
        if (seconds(t) >= from && seconds(t) < to) ++active;
      }
    }
    INFO("t=" << t);
    CHECK(active == ramping_vus_at(4, k6_stages(), seconds(t)));
  }
}

TEST_CASE("ramping-vus plan reserves VUs for gracefulRampDown", "[plan]") {
  Scenario s;
  s.executor = Executor::kRampingVus;
  s.start_vus = 4;
  s.stages = k6_stages();
  auto steps = plan(s);
  const std::pair<int, int64_t> expected[] = {{0, 4},  {1, 5},  {2, 6}, {33, 5},
                                              {42, 4}, {50, 1}, {53, 0}};
  REQUIRE(steps.size() == std::size(expected));
  for (size_t i = 0; i < steps.size(); ++i) {
    CHECK(steps[i].at == seconds(expected[i].first));
    CHECK(steps[i].planned == expected[i].second);
  }
  s.graceful_stop = seconds(3);
  steps = plan(s);
  REQUIRE(steps.size() == 4);
  CHECK(steps[3].at == seconds(26));
  CHECK(steps[3].planned == 0);
}

TEST_CASE("the users' baseline scenarios need 15 VUs and 5m30s", "[plan]") {
  std::vector<Scenario> all{constant("warm_up", 1, 30, 0), constant("baseline", 5, 120, 30),
                            constant("light_load", 10, 120, 150),
                            constant("cool_down", 1, 30, 270)};
  auto p = summarize(all);
  CHECK(p.initial_vus == 15);
  CHECK(p.max_vus == 15);
  CHECK(p.max_duration == seconds(330));
  CHECK(describe(all[1]) == "5 looping VUs for 2m0s (startTime: 30s, gracefulStop: 30s)");
}

TEST_CASE("ramping-arrival-rate iterations are due where the rate's area reaches n", "[plan]") {
  RampingArrivalSchedule sched(0, seconds(1), {stage(5, 1), stage(1, 1), stage(5, 0)});
  const double expected[] = {3.162, 4.472, 5.500, 6.527, 7.837, 11.0};
  for (size_t n = 1; n <= 6; ++n) {
    INFO("n=" << n);
    CHECK(std::chrono::duration<double>(sched.due(n)).count() ==
          Approx(expected[n - 1]).margin(0.001));
  }
  CHECK(sched.due(7).count() < 0);
  // A constant 10/s: the first iteration at 100 ms, not at 0.
  RampingArrivalSchedule flat(10, seconds(1), {stage(10, 10)});
  CHECK(flat.due(1) == milliseconds(100));
  CHECK(flat.due(100) == seconds(10));
}

TEST_CASE("scenario validation uses k6's messages", "[plan]") {
  Scenario s;
  s.executor = Executor::kConstantVus;
  s.vus = 0;
  auto errors = validate(s);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "the number of VUs must be more than 0");
  CHECK(errors[1] == "the duration is unspecified");

  Scenario shared;
  shared.executor = Executor::kSharedIterations;
  shared.vus = 10;
  shared.iterations = 5;
  shared.max_duration = milliseconds(500);
  errors = validate(shared);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "the number of iterations (5) can't be less than the number of VUs (10)");
  CHECK(errors[1] == "the maxDuration must be at least 1s, but is 500ms");

  Scenario arrival;
  arrival.executor = Executor::kConstantArrivalRate;
  errors = validate(arrival);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == "the iteration rate isn't specified");
  CHECK(errors[2] == "the number of preAllocatedVUs isn't specified");

  Scenario ramp;
  ramp.executor = Executor::kRampingVus;
  ramp.start_vus = 0;
  ramp.stages = {stage(10, 0)};
  ramp.stages[0].has_target = false;
  errors = validate(ramp);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "stage 1 doesn't have a target");
}

TEST_CASE("executor descriptions read like k6's header", "[plan]") {
  Scenario s;
  s.executor = Executor::kSharedIterations;
  s.vus = 10;
  s.iterations = 100;
  CHECK(describe(s) ==
        "100 iterations shared among 10 VUs (maxDuration: 10m0s, gracefulStop: 30s)");
  s.executor = Executor::kConstantArrivalRate;
  s.rate = 7;
  s.duration = seconds(60);
  s.pre_allocated_vus = 10;
  s.max_vus = 50;
  s.has_max_vus = true;
  CHECK(describe(s) == "7.00 iterations/s for 1m0s (maxVUs: 10-50, gracefulStop: 30s)");
  s.executor = Executor::kRampingVus;
  s.start_vus = 0;
  s.stages = {stage(60, 50), stage(90, 50), stage(60, 0)};
  CHECK(describe(s) ==
        "Up to 50 looping VUs for 3m30s over 3 stages (gracefulRampDown: 30s, gracefulStop: 30s)");
}
