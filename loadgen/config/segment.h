// Execution segments (spec k6-compat §10): one test split over several loadgen processes,
// each running an exact share of every scenario's VUs, iterations and arrivals, so that
// the shares of all segments of one sequence add up to the whole test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/config/plan.h"

namespace faultline::loadgen {

// A non-negative rational number in lowest terms.
struct Fraction {
  int64_t num = 0;
  int64_t den = 1;
  bool operator==(const Fraction& o) const { return num == o.num && den == o.den; }
  bool operator<(const Fraction& o) const;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
  // k6's text of a segment bound: two decimals ("0.25").
  std::string text() const;
  // "1/4", "0", "1": the exact value, as segments are written.
  std::string rat() const;
};

// How the units (VUs, iterations) of a total are striped over the segments of a sequence:
// unit u belongs to the segment that owns position u mod period().
class Striping {
 public:
  // `lengths`: the segments' lengths, in sequence order, positive and adding up to 1.
  // Throws std::invalid_argument when the period would exceed 10,000,000 positions.
  explicit Striping(const std::vector<Fraction>& lengths);
  int64_t period() const { return static_cast<int64_t>(owner_.size()); }
  size_t owner(int64_t unit) const { return owner_[static_cast<size_t>(unit % period())]; }
  // The units segment `index` owns, as a scenario carries them.
  const UnitStripe& segment(size_t index) const { return segments_[index]; }
  // How many of the units 0..total-1 segment `index` owns.
  int64_t share(size_t index, int64_t total) const { return segments_[index].share(total); }

 private:
  std::vector<size_t> owner_;         // per position
  std::vector<UnitStripe> segments_;  // each segment's positions
};

// An --execution-segment-sequence: its points, with 0 and 1 added where missing. On failure,
// nullopt with k6's message in `err`.
std::optional<std::vector<Fraction>> parse_sequence(const std::string& text, std::string& err);

// One instance's part of a test: its segment within a sequence.
class ExecutionSegment {
 public:
  // The whole test (0:1 in the sequence 0,1).
  ExecutionSegment();
  // Parses --execution-segment and --execution-segment-sequence (either may be empty). On
  // failure, nullopt with k6's message in `err`.
  static std::optional<ExecutionSegment> parse(const std::string& segment,
                                               const std::string& sequence, std::string& err);

  bool whole() const { return from_.num == 0 && to_ == Fraction{1, 1}; }
  double length() const { return to_.value() - from_.value(); }
  // "(25.00%)" in the header.
  std::string percent() const;

  // This instance's share of `total` units striped over the sequence.
  int64_t share(int64_t total) const { return stripes_.share(index_, total); }
  bool owns(int64_t unit) const { return stripes_.owner(unit) == index_; }

  // The sequence derived from the shares of `total` (k6's rule for shared-iterations and
  // the arrival rates): segment lengths share_i / total with empty shares dropped. Null
  // when this instance's share is empty.
  std::optional<Striping> derived(int64_t total, size_t& index) const;

  // The scenario as this instance runs it: VUs, iterations and stage targets scaled,
  // `units`/`arrivals` set for the executors whose units are striped.
  Scenario apply(const Scenario& s) const;

 private:
  Fraction from_{0, 1}, to_{1, 1};
  std::vector<Fraction> lengths_{{1, 1}};
  size_t index_ = 0;
  Striping stripes_{std::vector<Fraction>{{1, 1}}};
};

}  // namespace faultline::loadgen
