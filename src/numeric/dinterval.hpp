// DInterval: the double-precision fast path with a proven error bound (the "filter").
//
// Every bound follows from IEEE 754 alone: +, -, *, / and sqrt are correctly rounded (round to
// nearest, the default mode, which the toolkit never changes), so a result is within half an ulp
// of the exact one and moving it outward by one ulp (an integer step on the bit pattern, the
// same value as std::nextafter) encloses the exact value.  Multiplying by a power of two is
// exact unless the result is subnormal, zero or infinite.  exp and log are not taken from the C
// library: they are evaluated here from those operations alone (argument reduction by a
// certified two-part ln 2, a Taylor / atanh series with a proven remainder bound, all in this
// outward-rounded arithmetic; proofs beside the code and in docs/precision.md).  cos and sin go
// through MPFI (MPFR's correctly rounded functions), not the C library.
// The proofs are about the operations as written, each rounded once: the library is compiled with
// -ffp-contract=off (a PUBLIC option, so consumers instantiating these inline functions too).
// NaN means "no information": an operation with a NaN endpoint in an operand returns an all-NaN
// interval (every comparison on it is false, so no verdict can come from it), as does log of an
// interval reaching below 0 or sqrt of one entirely below 0.  sqrt of an interval straddling 0
// encloses sqrt over its non-negative part (rounding noise around 0 is common).
// No heap allocation: safe to use inside enumeration loops.
#pragma once
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "numeric/interval.hpp"

// The arithmetic below is a few instructions per operation; left to the compiler's heuristics the
// products and steps stay out of line in big callers (a call per operation in the hot loops).
#define ATTNBOUNDS_DINTERVAL_INLINE [[gnu::always_inline]] inline

namespace attnbounds {

// Doubles are evaluated in double (no x87 excess precision): the analysis above needs it.
static_assert(FLT_EVAL_METHOD == 0, "DInterval needs double arithmetic evaluated in double precision");
static_assert(std::numeric_limits<double>::is_iec559, "DInterval needs IEEE 754 binary64");

class DInterval {
 public:
  constexpr DInterval() : lo_(0), hi_(0) {}
  constexpr DInterval(double x) : lo_(x), hi_(x) {}  // exact: a double is its own enclosure
  constexpr DInterval(int x) : lo_(x), hi_(x) {}
  constexpr DInterval(double lo, double hi) : lo_(lo), hi_(hi) {}
  static DInterval from_interval(const Interval& x) { return {x.lower_double(), x.upper_double()}; }
  // The tightest double enclosure of an exact rational: a point when the rational is a double,
  // else the two neighbouring doubles (±inf beyond the double range).  Not for hot loops.
  static DInterval from_rational(const Rational& q);
  // An enclosure of a 128-bit integer: exact up to 2^53, else the correctly rounded conversion
  // widened by one ulp each way.
  __extension__ static DInterval from_int128(__int128 x) {
    __extension__ constexpr __int128 kExact = static_cast<__int128>(1) << 53;
    if (x <= kExact && x >= -kExact) return DInterval(static_cast<double>(static_cast<long long>(x)));
    const double d = static_cast<double>(x);  // rounded to nearest
    return {down(d), up(d)};
  }
  // An enclosure of a GMP integer: exact up to 2^53 in magnitude, else mpz_get_d's truncation
  // widened by one ulp each way; invalid() beyond 2^1000 (no conversion is attempted there).
  static DInterval from_mpz(mpz_srcptr x);
  Interval to_interval(mpfr_prec_t bits) const;

  constexpr double lower() const { return lo_; }
  constexpr double upper() const { return hi_; }
  double mid() const { return 0.5 * lo_ + 0.5 * hi_; }
  double width() const { return hi_ - lo_; }
  DInterval lower_point() const { return DInterval(lo_); }
  DInterval upper_point() const { return DInterval(hi_); }
  ATTNBOUNDS_DINTERVAL_INLINE bool is_finite() const { return std::isfinite(lo_) && std::isfinite(hi_); }
  ATTNBOUNDS_DINTERVAL_INLINE bool has_nan() const { return lo_ != lo_ || hi_ != hi_; }
  // The "no information" value (see above).
  static constexpr DInterval invalid() {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }

  // n steps to the next double below / above: the same values as std::nextafter toward -inf /
  // +inf (tested against it), by integer steps on the bit pattern, which the compiler inlines.
  ATTNBOUNDS_DINTERVAL_INLINE static constexpr double down(double x, int n = 1) {
    for (int i = 0; i < n; ++i) x = step_down(x);
    return x;
  }
  ATTNBOUNDS_DINTERVAL_INLINE static constexpr double up(double x, int n = 1) {
    for (int i = 0; i < n; ++i) x = -step_down(-x);
    return x;
  }
  // min / max by comparison: std::fmin / std::fmax are library calls at -O2.  Only for operands
  // that are not NaN (with a NaN the result is one of the two, not a NaN-skipping choice).
  ATTNBOUNDS_DINTERVAL_INLINE static constexpr double min2(double a, double b) { return b < a ? b : a; }
  ATTNBOUNDS_DINTERVAL_INLINE static constexpr double max2(double a, double b) { return a < b ? b : a; }

  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval operator+(DInterval a, DInterval b) { return {down(a.lo_ + b.lo_), up(a.hi_ + b.hi_)}; }
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval operator-(DInterval a, DInterval b) { return {down(a.lo_ - b.hi_), up(a.hi_ - b.lo_)}; }
  friend constexpr DInterval operator-(DInterval a) { return {-a.hi_, -a.lo_}; }
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval operator*(DInterval a, DInterval b) {
    if (a.has_nan() || b.has_nan()) return invalid();
    if (a.lo_ >= 0 && b.lo_ >= 0) {
      // Both non-negative: the extreme products are lo*lo and hi*hi.  0 * inf is NaN here
      // (and only here), which the general path below handles.
      const double lo = a.lo_ * b.lo_, hi = a.hi_ * b.hi_;
      if (lo == lo && hi == hi) return {down(lo), up(hi)};
    }
    return mul_general(a, b);
  }
  // x * b for a point x >= 0: two products instead of four (a scale factor, a count, a weight).
  // Any other x (negative, infinite, NaN) takes the general product.
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval scale_nonneg(double x, DInterval b) {
    if (x >= 0 && x < std::numeric_limits<double>::infinity() && !b.has_nan()) {
      const double lo = x * b.lo_, hi = x * b.hi_;
      if (lo == lo && hi == hi) return {down(lo), up(hi)};  // NaN only for 0 * inf
    }
    return DInterval(x) * b;
  }
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval operator/(DInterval a, DInterval b) {
    if (a.has_nan() || b.has_nan()) return invalid();
    if (b.lo_ <= 0 && b.hi_ >= 0) {
      const double inf = std::numeric_limits<double>::infinity();
      return {-inf, inf};
    }
    // b > 0: x / y increases with x, and decreases (x >= 0) or increases (x < 0) with y, so
    // the extremes take two quotients.  b < 0: a / b = -(a / -b).
    const bool neg = b.hi_ < 0;
    const double blo = neg ? -b.hi_ : b.lo_, bhi = neg ? -b.lo_ : b.hi_;
    const double lo = a.lo_ / (a.lo_ >= 0 ? bhi : blo), hi = a.hi_ / (a.hi_ >= 0 ? blo : bhi);
    if (lo == lo && hi == hi) return neg ? DInterval(down(-hi), up(-lo)) : DInterval(down(lo), up(hi));
    return div_corners(a, b);  // inf / inf: the NaN-skipping corner rule
  }
  ATTNBOUNDS_DINTERVAL_INLINE DInterval& operator+=(DInterval b) { return *this = *this + b; }
  ATTNBOUNDS_DINTERVAL_INLINE DInterval& operator-=(DInterval b) { return *this = *this - b; }
  ATTNBOUNDS_DINTERVAL_INLINE DInterval& operator*=(DInterval b) { return *this = *this * b; }
  ATTNBOUNDS_DINTERVAL_INLINE DInterval& operator/=(DInterval b) { return *this = *this / b; }

  // exp is increasing: [lower enclosure of e^lo, upper enclosure of e^hi].
  friend DInterval exp(DInterval a) {
    if (a.has_nan()) return invalid();
    const DInterval lo = exp_point(a.lo_);
    if (a.lo_ == a.hi_) return lo;
    return {lo.lo_, exp_point(a.hi_).hi_};
  }
  // log is increasing; it is undefined below 0.
  friend DInterval log(DInterval a) {
    if (a.has_nan() || a.lo_ < 0) return invalid();
    const DInterval lo = log_point(a.lo_);
    if (a.lo_ == a.hi_) return lo;
    return {lo.lo_, log_point(a.hi_).hi_};
  }
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval sqrt(DInterval a) {
    if (a.has_nan() || a.hi_ < 0) return invalid();
    return {down(std::sqrt(max2(a.lo_, 0.0))), up(std::sqrt(a.hi_))};
  }
  ATTNBOUNDS_DINTERVAL_INLINE friend DInterval abs(DInterval a) {
    if (a.has_nan()) return invalid();
    if (a.lo_ >= 0) return a;
    if (a.hi_ <= 0) return -a;
    return {0.0, max2(-a.lo_, a.hi_)};
  }
  friend DInterval cos(DInterval a);
  friend DInterval sin(DInterval a);

  // Enclosures of e^x and log x for one double x (exposed for tests and benchmarks).
  static DInterval exp_point(double x);
  static DInterval log_point(double x);

  // The certified constants of the reductions (verified against MPFR by the test suite).
  // ln 2 = kLn2Hi + t with t in [kLn2LoDown, kLn2LoUp]; kLn2Hi has 32 significant bits, so
  // k * kLn2Hi is exact for |k| < 2^21.
  static constexpr double kLn2Hi = 0x1.62e42feep-1;
  static constexpr double kLn2LoDown = 0x1.a39ef35793c76p-33;
  static constexpr double kLn2LoUp = 0x1.a39ef35793c77p-33;
  static constexpr double kInvLn2 = 0x1.71547652b82fep0;  // any value works: it only picks k
  // Degree of the Taylor polynomial of e^r on |r| <= kExpReduced, and its remainder bound
  // (|R| <= e^0.35 * 0.35^15 / 15! < 1.6e-19 < 2^-62).
  static constexpr int kExpDegree = 14;
  static constexpr double kExpReduced = 0.35;
  static constexpr double kExpRemainder = 0x1p-62;
  // Terms of the atanh series of log on m in [sqrt(2)/2, sqrt(2)], and its remainder factor
  // (|R| <= 2 |s|^25 / (25 (1 - s^2)) <= 2^-64 |s| for |s| <= 0.1716).
  static constexpr int kLogTerms = 12;
  static constexpr double kLogReduced = 0.1716;
  static constexpr double kLogRemainderFactor = 0x1p-64;

 private:
  ATTNBOUNDS_DINTERVAL_INLINE static constexpr double step_down(double x) {
    if (!(x > -std::numeric_limits<double>::infinity())) return x;  // NaN and -inf stay
    if (x == 0) return -std::numeric_limits<double>::denorm_min();
    std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    return std::bit_cast<double>(x > 0 ? bits - 1 : bits + 1);  // +inf - 1 ulp = DBL_MAX
  }
  ATTNBOUNDS_DINTERVAL_INLINE static DInterval mul_general(DInterval a, DInterval b) {
    const double p1 = a.lo_ * b.lo_, p2 = a.lo_ * b.hi_, p3 = a.hi_ * b.lo_, p4 = a.hi_ * b.hi_;
    if (a.is_finite() && b.is_finite())  // no 0 * inf, so no NaN corner
      return {down(min2(min2(p1, p2), min2(p3, p4))), up(max2(max2(p1, p2), max2(p3, p4)))};
    // 0 * inf corners are NaN and are skipped by fmin/fmax; the remaining corners still bound
    // every product of real points, because each interval holds only reals.
    return {down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
            up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
  }
  static DInterval div_corners(DInterval a, DInterval b) {
    const double p1 = a.lo_ / b.lo_, p2 = a.lo_ / b.hi_, p3 = a.hi_ / b.lo_, p4 = a.hi_ / b.hi_;
    return {down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
            up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
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
  return {DInterval::min2(a.lower(), b.lower()), DInterval::max2(a.upper(), b.upper())};
}

namespace dinterval_detail {

// Coefficient enclosures, computed at compile time from IEEE division with outward steps (the
// compiler folds + - * / correctly rounded; the test suite also checks them against MPFR).
struct CoefficientTable {
  double lo[DInterval::kExpDegree + 1];
  double hi[DInterval::kExpDegree + 1];
};
// 1/i! for i = 0..kExpDegree.
constexpr CoefficientTable exp_coefficients() {
  CoefficientTable t{};
  t.lo[0] = t.hi[0] = 1.0;
  for (int i = 1; i <= DInterval::kExpDegree; ++i) {
    t.lo[i] = DInterval::down(t.lo[i - 1] / i);
    t.hi[i] = DInterval::up(t.hi[i - 1] / i);
  }
  return t;
}
// 1/(2i+1) for i = 0..kLogTerms-1.
constexpr CoefficientTable log_coefficients() {
  CoefficientTable t{};
  for (int i = 0; i < DInterval::kLogTerms; ++i) {
    const double q = 1.0 / (2 * i + 1);
    t.lo[i] = i == 0 ? 1.0 : DInterval::down(q);
    t.hi[i] = i == 0 ? 1.0 : DInterval::up(q);
  }
  return t;
}
inline constexpr CoefficientTable kExpCoefficients = exp_coefficients();
inline constexpr CoefficientTable kLogCoefficients = log_coefficients();
static_assert(DInterval::kLogTerms <= DInterval::kExpDegree + 1);

// r * q for an interval q with q.lo > 0 (two products; the sign of r picks the corners).
inline DInterval mul_positive(DInterval r, DInterval q) {
  double lo, hi;
  if (r.lower() >= 0) { lo = r.lower() * q.lower(); hi = r.upper() * q.upper(); }
  else if (r.upper() <= 0) { lo = r.lower() * q.upper(); hi = r.upper() * q.lower(); }
  else { lo = r.lower() * q.upper(); hi = r.upper() * q.upper(); }
  return {DInterval::down(lo), DInterval::up(hi)};
}

// One step toward / away from zero from a finite nonzero double, without the special cases of
// step_down (toward zero from +-2^-1074 is +-0, away from +-DBL_MAX is +-inf: both still enclose).
inline double toward_zero(double x) { return std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) - 1); }
inline double away_from_zero(double x) { return std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) + 1); }

// Horner evaluation of sum_{i<=kExpDegree} r^i/i! in outward-rounded arithmetic (see exp_point).
// When r is one-signed and |r| >= 2^-900, every product r*q is a normal number of the sign of r
// and every partial sum is positive and normal (q >= 1/14! > 2^-37), so the outward steps are
// plain bit steps toward or away from zero; otherwise the general operations are used.
inline DInterval horner_exp(DInterval r) {
  const auto& c = kExpCoefficients;
  double qlo = c.lo[DInterval::kExpDegree], qhi = c.hi[DInterval::kExpDegree];
  if (r.lower() >= 0x1p-900) {
    for (int i = DInterval::kExpDegree - 1; i >= 0; --i) {
      qlo = toward_zero(c.lo[i] + toward_zero(r.lower() * qlo));
      qhi = away_from_zero(c.hi[i] + away_from_zero(r.upper() * qhi));
    }
    return {qlo, qhi};
  }
  if (r.upper() <= -0x1p-900) {
    for (int i = DInterval::kExpDegree - 1; i >= 0; --i) {
      // r*q is negative: its lower end is r.lo * q.hi (stepped away from zero), its upper end
      // r.hi * q.lo (stepped toward zero).
      const double plo = away_from_zero(r.lower() * qhi), phi = toward_zero(r.upper() * qlo);
      qlo = toward_zero(c.lo[i] + plo);
      qhi = away_from_zero(c.hi[i] + phi);
    }
    return {qlo, qhi};
  }
  DInterval q(qlo, qhi);
  for (int i = DInterval::kExpDegree - 1; i >= 0; --i) q = DInterval(c.lo[i], c.hi[i]) + mul_positive(r, q);
  return q;
}

// 2^k as a double, for -1022 <= k <= 1023 (exact: built from the bit pattern).
constexpr double pow2(int k) { return std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52); }

// y * 2^k rounded once (y a positive normal double with exponent near 0): one multiply when
// 2^k is a double, else first an exact multiply that keeps the result normal, then one that
// rounds.  Returns the correctly rounded value.
inline double scale_pow2(double y, int k) {
  if (k >= -1022 && k <= 1023) return y * pow2(k);
  if (k > 1023) return (y * pow2(k - 600)) * pow2(600);
  return (y * pow2(k + 600)) * pow2(-600);
}
inline bool exact_scale(double r) {  // a normal, finite product by a power of two is exact
  return std::fabs(r) >= std::numeric_limits<double>::min() && std::fabs(r) <= std::numeric_limits<double>::max();
}

}  // namespace dinterval_detail

// e^x = 2^k e^r with k = round(x / ln 2) and r = x - k ln 2, |r| <= ln2/2 + tiny < 0.35.
// r is enclosed as (x - k*kLn2Hi) - k*[kLn2LoDown, kLn2LoUp] (k*kLn2Hi exact).  On |r| <= 0.35,
// e^r = sum_{i<=14} r^i/i! + R with |R| = e^xi |r|^15 / 15! <= e^0.35 0.35^15/15! < 2^-62
// (Lagrange remainder).  The polynomial is evaluated by Horner in this arithmetic with interval
// coefficients; every partial Horner value is positive (q_i >= 1/i! (1 - 0.35/(i+1) - ...) > 0),
// which mul_positive needs.  The last Horner step rounds to nearest and steps outward, which
// leaves at least half the gap between neighbouring doubles beyond the exact Horner value; the
// sum lies in [0.7, 1.42], where that gap is at least 2^-54, so the margin (>= 2^-55) covers
// |R| < 2^-62.  Scaling by 2^k is exact unless the result leaves the normal range, where it is
// rounded once and stepped outward.
// Outside (-1100, 1100): e^x < 2^-1586 resp. > DBL_MAX, enclosed by [0, 2^-1074] resp.
// [DBL_MAX, inf].
inline DInterval DInterval::exp_point(double x) {
  using namespace dinterval_detail;
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (x != x) return invalid();
  if (x == 0) return {1.0, 1.0};  // e^0 = 1 exactly (the softmax maximum's own term)
  if (std::fabs(x) < 0x1p-60) {
    // e^x lies strictly between 1 + x and 1 + x + x^2 (|x| < 2^-60), and the outward step of the
    // rounded 1 + x leaves a margin of at least 2^-54 > x^2.
    const double s = 1.0 + x;
    return {down(s), up(s)};
  }
  if (x <= -1100.0) return {0.0, std::numeric_limits<double>::denorm_min()};
  if (x >= 1100.0) return {std::numeric_limits<double>::max(), inf};
  // k = x / ln 2 rounded to an integer by the 1.5 * 2^52 shift (|x / ln 2| < 2^51).
  constexpr double kShift = 0x1.8p52;
  const double kd = (x * kInvLn2 + kShift) - kShift;
  const int k = static_cast<int>(kd);
  DInterval r(x);  // k = 0: r = x exactly
  if (k != 0) {
    const double t = x - kd * kLn2Hi;  // k*kLn2Hi is exact; one rounding
    // k * [kLn2LoDown, kLn2LoUp], outward.
    const double a = kd * kLn2LoDown, b = kd * kLn2LoUp;
    const DInterval klo = kd > 0 ? DInterval(down(a), up(b)) : DInterval(down(b), up(a));
    r = DInterval(down(t), up(t)) - klo;
  }
  if (!(std::fabs(r.lo_) <= kExpReduced && std::fabs(r.hi_) <= kExpReduced)) {
    // Unreachable by the bound on |r|; kept so that the remainder bound is never misapplied.
    return from_interval(exp(r.to_interval(64)));
  }
  DInterval q = horner_exp(r);
  double lo = scale_pow2(q.lo_, k), hi = scale_pow2(q.hi_, k);
  if (!exact_scale(lo)) lo = down(lo);
  if (!exact_scale(hi)) hi = up(hi);
  return {max2(lo, 0.0), hi};
}

}  // namespace attnbounds
