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

// cos and sin go through MPFI: certified for any argument width, and rare in hot loops
// (constructions tabulate them once per value).
DInterval cos(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(cos(a.to_interval(64)));
}
DInterval sin(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(sin(a.to_interval(64)));
}

}  // namespace attnbounds
