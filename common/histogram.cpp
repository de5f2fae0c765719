#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline {

int Histogram::bucket_of(uint64_t value) {
  constexpr uint64_t kLimit = (uint64_t{1} << kMaxBits) - 1;
  if (value > kLimit) value = kLimit;
  if (value < kSubBuckets) return static_cast<int>(value);  // exact below 2^kSubBits
  int top = 63 - std::countl_zero(value);                   // index of the highest set bit
  int shift = top - kSubBits;
  int sub = static_cast<int>((value >> shift) & (kSubBuckets - 1));
  return (shift + 1) * kSubBuckets + sub;
}

uint64_t Histogram::bucket_low(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  int shift = bucket / kSubBuckets - 1;
  uint64_t sub = static_cast<uint64_t>(bucket % kSubBuckets);
  return (uint64_t{kSubBuckets} + sub) << shift;
}

uint64_t Histogram::bucket_high(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  int shift = bucket / kSubBuckets - 1;
  return bucket_low(bucket) + ((uint64_t{1} << shift) - 1);
}

void Histogram::record(uint64_t value) {
  ++counts_[static_cast<size_t>(bucket_of(value))];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::vector<std::pair<int, uint64_t>> Histogram::buckets() const {
  std::vector<std::pair<int, uint64_t>> out;
  for (int b = 0; b < kBuckets; ++b) {
    if (counts_[static_cast<size_t>(b)] != 0) out.emplace_back(b, counts_[static_cast<size_t>(b)]);
  }
  return out;
}

std::string Histogram::sum_text() const {
  if (sum_ == 0) return "0";
  std::string out;
  for (unsigned __int128 v = sum_; v != 0; v /= 10)
    out.insert(out.begin(), static_cast<char>('0' + v % 10));
  return out;
}

std::optional<Histogram> Histogram::from_parts(const std::vector<std::pair<int, uint64_t>>& buckets,
                                               const std::string& sum, uint64_t min, uint64_t max) {
  Histogram h;
  for (const auto& [b, n] : buckets) {
    if (b < 0 || b >= kBuckets) return std::nullopt;
    h.counts_[static_cast<size_t>(b)] += n;
    h.count_ += n;
  }
  if (sum.empty() || sum.size() > 38) return std::nullopt;
  for (char c : sum) {
    if (c < '0' || c > '9') return std::nullopt;
    h.sum_ = h.sum_ * 10 + static_cast<unsigned>(c - '0');
  }
  if (h.count_ != 0) {
    h.min_ = min;
    h.max_ = max;
  }
  return h;
}

void Histogram::reset() {
  *this = Histogram();
}

uint64_t Histogram::value_at_rank(uint64_t rank) const {
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen > rank) {
      uint64_t lo = bucket_low(b), hi = bucket_high(b);
      uint64_t mid = lo + (hi - lo) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

double Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  double pos = q * static_cast<double>(count_ - 1);
  auto lower = static_cast<uint64_t>(std::floor(pos));
  auto upper = static_cast<uint64_t>(std::ceil(pos));
  double a = static_cast<double>(value_at_rank(lower));
  if (upper == lower) return a;
  double b = static_cast<double>(value_at_rank(upper));
  return a + (b - a) * (pos - static_cast<double>(lower));
}

}  // namespace faultline
