#include "numeric/dinterval.hpp"

namespace attnbounds {

Interval DInterval::to_interval(mpfr_prec_t bits) const {
  Interval r(0L, bits);
  mpfi_interv_d(r.get(), lo_, hi_);
  return r;
}

DInterval DInterval::from_rational(const Rational& q) {
  // Directed rounding straight from the rational (MPFR handles overflow and subnormals), so each
  // endpoint is the nearest double on its side.
  mpfr_t x;
  mpfr_init2(x, 53);
  mpfr_set_q(x, q.get_mpq_t(), MPFR_RNDD);
  const double lo = mpfr_get_d(x, MPFR_RNDD);
  mpfr_set_q(x, q.get_mpq_t(), MPFR_RNDU);
  const double hi = mpfr_get_d(x, MPFR_RNDU);
  mpfr_clear(x);
  return {lo, hi};
}

DInterval DInterval::from_mpz(mpz_srcptr x) {
  const std::size_t bits = mpz_sizeinbase(x, 2);
  if (bits <= 53) return DInterval(mpz_get_d(x));  // exact
  if (bits > 1000) return invalid();
  const double d = mpz_get_d(x);  // truncated toward zero: |x| - |d| < ulp(d)
  return {down(d), up(d)};
}

// log x = e ln 2 + log m with x = m 2^e, m in [0x1.6a09e667f3bcdp-1, 0x1.6a09e667f3bcdp0), split
// from the bit pattern (exact; subnormals are first scaled by 2^54, exactly).  With
// s = (m - 1)/(m + 1), |s| <= 0.171573 (at either end of the m range) and
// log m = 2 atanh s = 2 sum_{i>=0} s^(2i+1)/(2i+1).  Keeping the terms i < 12 leaves
// R = 2 sum_{i>=12} s^(2i+1)/(2i+1), of the sign of s, with
// |R| <= 2 |s|^25 / (25 (1 - s^2)) = |s| * 2 (s^2)^12 / (25 (1 - s^2)) <= |s| * 3.6e-20 < 2^-64 |s|.
// m - 1 is exact (Sterbenz), m + 1, s, s^2, the Horner sum u in s^2 and w = s * u are enclosed in
// this arithmetic.  R needs no extra step: the outward step that produced each endpoint of w
// leaves at least half a gap between doubles beyond the exact product, i.e. >= 2^-54 |w| >=
// 2^-55 |s| (u >= 1), so 2w's margin exceeds 2^-64 |s| >= |R|.  e ln 2 uses the two-part constant
// (e * kLn2Hi exact for |e| < 2^21).
DInterval DInterval::log_point(double x) {
  using namespace dinterval_detail;
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (x != x || x < 0) return invalid();
  if (x == 0) return {-inf, -std::numeric_limits<double>::max()};
  if (x == inf) return {std::numeric_limits<double>::max(), inf};
  int e = 0;
  if (x < std::numeric_limits<double>::min()) {
    x *= 0x1p54;  // exact: a subnormal times 2^54 is a normal double
    e = -54;
  }
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  e += static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  double m = std::bit_cast<double>((bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1023} << 52));
  if (m >= 0x1.6a09e667f3bcdp0) {
    m *= 0.5;  // exact
    ++e;
  }
  DInterval v(0.0);
  const double a = m - 1.0;  // exact
  if (a != 0) {
    const double b = m + 1.0;
    const DInterval s = DInterval(a) / DInterval(down(b), up(b));
    const double smax = max2(std::fabs(s.lo_), std::fabs(s.hi_));
    if (!(smax <= kLogReduced)) return from_interval(log(Interval(x, 64)) + Interval(static_cast<long>(e), 64) * log(Interval(2L, 64)));
    // s is one-signed and |s| >= 2^-54, so s^2 is a normal positive number.
    const double slo = std::fabs(s.lo_), shi = std::fabs(s.hi_);
    const DInterval t(down(min2(slo, shi) * min2(slo, shi)), up(smax * smax));
    DInterval u(kLogCoefficients.lo[kLogTerms - 1], kLogCoefficients.hi[kLogTerms - 1]);
    for (int i = kLogTerms - 2; i >= 0; --i)
      u = DInterval(kLogCoefficients.lo[i], kLogCoefficients.hi[i]) + mul_positive(t, u);
    const DInterval w = mul_positive(s, u);
    v = DInterval(2.0 * w.lo_, 2.0 * w.hi_);  // exact doubling; R is inside (see above)
  }
  if (e == 0) return v;
  const double ed = e;
  const double eh = ed * kLn2Hi;  // exact
  const double l1 = ed * kLn2LoDown, l2 = ed * kLn2LoUp;
  const DInterval el = ed > 0 ? DInterval(down(l1), up(l2)) : DInterval(down(l2), up(l1));
  return DInterval(eh) + (el + v);  // the small parts first: one rounding at the result's scale
}

// cos and sin go through MPFI (MPFR's correctly rounded functions, not the C library): certified
// for any argument width, and rare in hot loops (constructions tabulate them once per value).
DInterval cos(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(cos(a.to_interval(64)));
}
DInterval sin(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(sin(a.to_interval(64)));
}

}  // namespace attnbounds
