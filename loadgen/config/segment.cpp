#include "loadgen/config/segment.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "common/text.h"

namespace faultline::loadgen {

namespace {

constexpr int64_t kMaxPeriod = 10'000'000;

Fraction reduce(__int128 num, __int128 den) {
  if (den < 0) num = -num, den = -den;
  __int128 a = num < 0 ? -num : num, b = den;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  if (a == 0) a = 1;
  num /= a;
  den /= a;
  if (num > INT64_MAX || num < -INT64_MAX || den > INT64_MAX) {
    throw std::overflow_error("fraction out of range");
  }
  return {static_cast<int64_t>(num), static_cast<int64_t>(den)};
}

Fraction sub(const Fraction& a, const Fraction& b) {
  return reduce(static_cast<__int128>(a.num) * b.den - static_cast<__int128>(b.num) * a.den,
                static_cast<__int128>(a.den) * b.den);
}

bool digits_only(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A percentage (integers only), a decimal or a fraction, as k6 reads segment bounds.
std::optional<Fraction> parse_value(const std::string& text, std::string& err) {
  auto invalid = [&] {
    err = "'" + text + "' is not a valid percentage, decimal, fraction or interval value";
    return std::nullopt;
  };
  std::string s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  try {
    Fraction f;
    if (!s.empty() && s.back() == '%') {
      std::string n = s.substr(0, s.size() - 1);
      if (!digits_only(n) || n.size() > 15) {
        err = "'" + text + "' is not a valid percentage";
        return std::nullopt;
      }
      f = reduce(std::stoll(n), 100);
    } else if (size_t slash = s.find('/'); slash != std::string::npos) {
      std::string n = s.substr(0, slash), d = s.substr(slash + 1);
      if (!digits_only(n) || !digits_only(d) || n.size() > 18 || d.size() > 18) return invalid();
      if (std::stoll(d) == 0) return invalid();
      f = reduce(std::stoll(n), std::stoll(d));
    } else {
      size_t dot = s.find('.');
      std::string whole = s.substr(0, dot);
      std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
      if ((whole.empty() && frac.empty()) || (!whole.empty() && !digits_only(whole)) ||
          (!frac.empty() && !digits_only(frac)) || whole.size() + frac.size() > 18) {
        return invalid();
      }
      __int128 den = 1;
      for (size_t i = 0; i < frac.size(); ++i) den *= 10;
      f = reduce(
          std::stoll(whole.empty() ? "0" : whole) * den + std::stoll(frac.empty() ? "0" : frac),
          den);
    }
    if (negative) f.num = -f.num;
    return f;
  } catch (const std::exception&) {
    return invalid();
  }
}

// k6's rule for one segment's bounds.
bool check_segment(const Fraction& from, const Fraction& to, std::string& err) {
  if (from.num < 0) {
    err = "segment start value must be at least 0 but was " + from.text();
  } else if (!(from < to)) {
    err = "segment start(" + from.text() + ") must be less than its end(" + to.text() + ")";
  } else if (Fraction{1, 1} < to) {
    err = "segment end value can't be more than 1 but was " + to.text();
  } else {
    return true;
  }
  return false;
}

}  // namespace

bool Fraction::operator<(const Fraction& o) const {
  return static_cast<__int128>(num) * o.den < static_cast<__int128>(o.num) * den;
}

std::string Fraction::text() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", value());
  return buf;
}

std::string Fraction::rat() const {
  return den == 1 ? std::to_string(num) : std::to_string(num) + "/" + std::to_string(den);
}

Striping::Striping(const std::vector<Fraction>& lengths) {
  // The period: the least common multiple of the denominators; each segment owns its
  // length times the period of its positions.
  __int128 period = 1;
  for (const auto& l : lengths) {
    period = period / std::gcd(static_cast<int64_t>(period), l.den) * l.den;
    if (period > kMaxPeriod) {
      throw std::invalid_argument(
          "the execution segment sequence needs a period of more than 10000000 units; use "
          "simpler fractions");
    }
  }
  const int64_t L = static_cast<int64_t>(period);
  std::vector<int64_t> per_period;  // positions each segment owns
  for (const auto& l : lengths) per_period.push_back(l.num * (L / l.den));
  // Rank: most positions first, ties in sequence order.
  std::vector<size_t> rank(lengths.size());
  std::iota(rank.begin(), rank.end(), 0);
  std::stable_sort(rank.begin(), rank.end(),
                   [&](size_t a, size_t b) { return per_period[a] > per_period[b]; });
  // Each position goes to the first segment, in rank order, that is due for its next one:
  // a segment that has c positions is next due at ceil(c * L / n).
  segments_.assign(lengths.size(), UnitStripe{L, {}});
  owner_.assign(static_cast<size_t>(L), 0);
  for (int64_t p = 0; p < L; ++p) {
    for (size_t i : rank) {
      int64_t n = per_period[i];
      auto c = static_cast<int64_t>(segments_[i].positions.size());
      if (c >= n) continue;
      __int128 due = (static_cast<__int128>(c) * L + n - 1) / n;
      if (due <= p) {
        owner_[static_cast<size_t>(p)] = i;
        segments_[i].positions.push_back(p);
        break;
      }
    }
  }
}

std::optional<std::vector<Fraction>> parse_sequence(const std::string& text, std::string& err) {
  std::vector<Fraction> points;
  for (const auto& item : split(text, ',')) {
    auto p = parse_value(item, err);
    if (!p) return std::nullopt;
    points.push_back(*p);
  }
  if (points.size() < 2) {
    err = "at least 2 points are needed for an execution segment sequence, " +
          std::to_string(points.size()) + " given";
    return std::nullopt;
  }
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    if (!check_segment(points[i], points[i + 1], err)) return std::nullopt;
  }
  if (!(points.front() == Fraction{0, 1})) points.insert(points.begin(), {0, 1});
  if (!(points.back() == Fraction{1, 1})) points.push_back({1, 1});
  return points;
}

ExecutionSegment::ExecutionSegment() = default;

std::optional<ExecutionSegment> ExecutionSegment::parse(const std::string& segment,
                                                        const std::string& sequence,
                                                        std::string& err) {
  ExecutionSegment out;
  // The segment: "FROM:TO", "TO" (from 0) or "" (the whole test).
  std::string text = segment.empty() ? "1" : segment;
  size_t colon = text.find(':');
  if (colon != std::string::npos) {
    auto from = parse_value(text.substr(0, colon), err);
    if (!from) return std::nullopt;
    out.from_ = *from;
    text = text.substr(colon + 1);
  }
  auto to = parse_value(text, err);
  if (!to) return std::nullopt;
  out.to_ = *to;
  if (!check_segment(out.from_, out.to_, err)) return std::nullopt;

  // The points of the sequence; without one, 0, FROM, TO, 1.
  std::vector<Fraction> points;
  if (!sequence.empty()) {
    auto parsed = parse_sequence(sequence, err);
    if (!parsed) return std::nullopt;
    points = std::move(*parsed);
  } else {
    points.push_back({0, 1});
    if (out.from_.num != 0) points.push_back(out.from_);
    points.push_back(out.to_);
    if (!(out.to_ == Fraction{1, 1})) points.push_back({1, 1});
  }
  bool found = false;
  out.lengths_.clear();
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    if (points[i] == out.from_ && points[i + 1] == out.to_) {
      out.index_ = i;
      found = true;
    }
    out.lengths_.push_back(sub(points[i + 1], points[i]));
  }
  if (!found) {
    auto rat = [](const Fraction& f) {
      return f.den == 1 ? std::to_string(f.num)
                        : std::to_string(f.num) + "/" + std::to_string(f.den);
    };
    std::string seq;
    for (size_t i = 0; i < points.size(); ++i) seq += (i ? "," : "") + rat(points[i]);
    err = "provided segment " + rat(out.from_) + ":" + rat(out.to_) +
          " can't be found in sequence " + seq;
    return std::nullopt;
  }
  try {
    out.stripes_ = Striping(out.lengths_);
  } catch (const std::exception& e) {
    err = e.what();
    return std::nullopt;
  }
  return out;
}

std::string ExecutionSegment::percent() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "(%.2f%%)", length() * 100);
  return buf;
}

std::optional<Striping> ExecutionSegment::derived(int64_t total, size_t& index) const {
  std::vector<Fraction> lengths;
  std::optional<size_t> mine;
  for (size_t i = 0; i < lengths_.size(); ++i) {
    int64_t share = stripes_.share(i, total);
    if (share == 0) continue;
    if (i == index_) mine = lengths.size();
    lengths.push_back(reduce(share, total));
  }
  if (!mine) return std::nullopt;
  index = *mine;
  return Striping(lengths);
}

Scenario ExecutionSegment::apply(const Scenario& s) const {
  if (whole()) return s;
  Scenario out = s;
  switch (s.executor) {
    case Executor::kConstantVus:
    case Executor::kPerVuIterations:
      out.vus = share(s.vus);
      break;
    case Executor::kSharedIterations: {
      out.vus = share(s.vus);
      // Iterations follow the VUs: split over the sequence of the VU shares.
      size_t index = 0;
      auto d = derived(s.vus, index);
      out.iterations = d ? d->share(index, s.iterations) : 0;
      break;
    }
    case Executor::kRampingVus:
      // The global ramp stays; this instance runs the global VUs it owns.
      out.vu_stripe = stripes_.segment(index_);
      break;
    case Executor::kConstantArrivalRate:
    case Executor::kRampingArrivalRate: {
      int64_t max_vus = s.has_max_vus ? s.max_vus : s.pre_allocated_vus;
      out.pre_allocated_vus = share(s.pre_allocated_vus);
      if (s.has_max_vus) out.max_vus = share(s.max_vus);
      size_t index = 0;
      auto d = derived(max_vus, index);
      if (d) {
        out.arrival_stripe = d->segment(index);
        out.rate_share =
            static_cast<double>(d->share(index, d->period())) / static_cast<double>(d->period());
      } else {
        out.arrival_stripe.period = 1;  // owns nothing
        out.rate_share = 0;
      }
      break;
    }
    case Executor::kExternallyControlled:
      out.vus = share(s.vus);
      break;
  }
  return out;
}

}  // namespace faultline::loadgen
