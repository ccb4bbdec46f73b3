// DInterval: the double-precision fast path with a proven error bound (the "filter").
//
// Each operation is evaluated in IEEE double with round-to-nearest and its endpoints are then
// moved outward by one ulp (std::nextafter).  A correctly rounded result is within half an ulp
// of the exact one, so the widened pair encloses it.  +, -, *, / and sqrt are correctly rounded
// by IEEE 754.  exp, log, cos, sin come from the C library, which is not correctly rounded: we
// widen by kLibmUlps ulps, an assumption about glibc (its manual lists at most 1-2 ulp for these
// on x86_64; we take 4).  The test suite checks every operation against MPFR at 200 bits.
// NaN means "no information": an operation with a NaN endpoint in an operand returns an all-NaN
// interval (every comparison on it is false, so no verdict can come from it), as does log of an
// interval reaching below 0 or sqrt of one entirely below 0.  sqrt of an interval straddling 0
// encloses sqrt over its non-negative part (rounding noise around 0 is common).
// No heap allocation: safe to use inside enumeration loops.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "numeric/interval.hpp"

namespace attnbounds {

class DInterval {
 public:
  static constexpr int kLibmUlps = 4;
  constexpr DInterval() : lo_(0), hi_(0) {}
  constexpr DInterval(double x) : lo_(x), hi_(x) {}  // exact: a double is its own enclosure
  constexpr DInterval(int x) : lo_(x), hi_(x) {}
  DInterval(double lo, double hi) : lo_(lo), hi_(hi) {}
  static DInterval from_interval(const Interval& x) { return {x.lower_double(), x.upper_double()}; }
  // The tightest double enclosure of an exact rational: a point when the rational is a double,
  // else the two neighbouring doubles (±inf beyond the double range).  Not for hot loops.
  static DInterval from_rational(const Rational& q);
  Interval to_interval(mpfr_prec_t bits) const;

  double lower() const { return lo_; }
  double upper() const { return hi_; }
  double mid() const { return 0.5 * lo_ + 0.5 * hi_; }
  double width() const { return hi_ - lo_; }
  DInterval lower_point() const { return DInterval(lo_); }
  DInterval upper_point() const { return DInterval(hi_); }
  bool is_finite() const { return std::isfinite(lo_) && std::isfinite(hi_); }
  bool has_nan() const { return std::isnan(lo_) || std::isnan(hi_); }
  // The "no information" value (see above).
  static DInterval invalid() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }

  // n steps to the next double below / above: the same values as std::nextafter toward -inf /
  // +inf (tested against it), by integer steps on the bit pattern, which the compiler inlines
  // (nextafter is a library call and dominated the cost of the filter).
  static double down(double x, int n = 1) {
    for (int i = 0; i < n; ++i) x = step_down(x);
    return x;
  }
  static double up(double x, int n = 1) {
    for (int i = 0; i < n; ++i) x = -step_down(-x);
    return x;
  }

  friend DInterval operator+(DInterval a, DInterval b) { return {down(a.lo_ + b.lo_), up(a.hi_ + b.hi_)}; }
  friend DInterval operator-(DInterval a, DInterval b) { return {down(a.lo_ - b.hi_), up(a.hi_ - b.lo_)}; }
  friend DInterval operator-(DInterval a) { return {-a.hi_, -a.lo_}; }
  // 0 * inf corner products are NaN and are skipped by fmin/fmax; the remaining corners still
  // bound every product of real points, because each interval holds only reals.
  friend DInterval operator*(DInterval a, DInterval b) {
    if (a.has_nan() || b.has_nan()) return invalid();
    double p1 = a.lo_ * b.lo_, p2 = a.lo_ * b.hi_, p3 = a.hi_ * b.lo_, p4 = a.hi_ * b.hi_;
    return {down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
            up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
  }
  friend DInterval operator/(DInterval a, DInterval b) {
    if (a.has_nan() || b.has_nan()) return invalid();
    if (b.lo_ <= 0 && b.hi_ >= 0) {
      const double inf = std::numeric_limits<double>::infinity();
      return {-inf, inf};
    }
    double p1 = a.lo_ / b.lo_, p2 = a.lo_ / b.hi_, p3 = a.hi_ / b.lo_, p4 = a.hi_ / b.hi_;
    return {down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
            up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
  }
  DInterval& operator+=(DInterval b) { return *this = *this + b; }
  DInterval& operator-=(DInterval b) { return *this = *this - b; }
  DInterval& operator*=(DInterval b) { return *this = *this * b; }
  DInterval& operator/=(DInterval b) { return *this = *this / b; }

  friend DInterval exp(DInterval a) {
    if (a.has_nan()) return invalid();
    double lo = down(std::exp(a.lo_), kLibmUlps), hi = up(std::exp(a.hi_), kLibmUlps);
    return {std::fmax(lo, 0.0), hi};
  }
  friend DInterval log(DInterval a) {
    if (a.has_nan() || a.lo_ < 0) return invalid();
    return {down(std::log(a.lo_), kLibmUlps), up(std::log(a.hi_), kLibmUlps)};
  }
  friend DInterval sqrt(DInterval a) {
    if (a.has_nan() || a.hi_ < 0) return invalid();
    return {down(std::sqrt(std::fmax(a.lo_, 0.0))), up(std::sqrt(a.hi_))};
  }
  friend DInterval abs(DInterval a) {
    if (a.has_nan()) return invalid();
    if (a.lo_ >= 0) return a;
    if (a.hi_ <= 0) return -a;
    return {0.0, std::fmax(-a.lo_, a.hi_)};
  }
  friend DInterval cos(DInterval a);
  friend DInterval sin(DInterval a);

 private:
  static double step_down(double x) {
    if (!(x > -std::numeric_limits<double>::infinity())) return x;  // NaN and -inf stay
    if (x == 0) return -std::numeric_limits<double>::denorm_min();
    std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    return std::bit_cast<double>(x > 0 ? bits - 1 : bits + 1);  // +inf - 1 ulp = DBL_MAX
  }

  double lo_, hi_;
};

inline bool certainly_less(DInterval a, DInterval b) { return a.upper() < b.lower(); }
inline bool certainly_less_equal(DInterval a, DInterval b) { return a.upper() <= b.lower(); }
inline bool upper_less(DInterval a, DInterval b) {
  return a.upper() != b.upper() ? a.upper() < b.upper() : a.lower() < b.lower();
}
inline DInterval hull(DInterval a, DInterval b) {
  if (a.has_nan() || b.has_nan()) return DInterval::invalid();
  return {std::fmin(a.lower(), b.lower()), std::fmax(a.upper(), b.upper())};
}

}  // namespace attnbounds
