#include "numeric/activation.hpp"

#include <mpfi.h>
#include <mpfr.h>

namespace attnbounds {

DInterval relu(DInterval x) {
  return DInterval(DInterval::max2(x.lower(), 0.0), DInterval::max2(x.upper(), 0.0));
}

Interval relu(const Interval& x) {
  const mpfr_prec_t p = x.precision();
  mpfr_t lo, hi;
  mpfr_inits2(p, lo, hi, static_cast<mpfr_ptr>(nullptr));
  mpfi_get_left(lo, x.get());
  mpfi_get_right(hi, x.get());
  if (mpfr_sgn(lo) < 0) mpfr_set_zero(lo, 1);
  if (mpfr_sgn(hi) < 0) mpfr_set_zero(hi, 1);
  Interval r(0L, p);
  mpfi_interv_fr(r.get(), lo, hi);
  mpfr_clears(lo, hi, static_cast<mpfr_ptr>(nullptr));
  return r;
}

namespace {

// An enclosure of GELU(e) = e·Φ(e) at the point e, at precision p.
Interval gelu_point(mpfr_srcptr e, mpfr_prec_t p) {
  Interval t(2L, p + 8);
  mpfi_sqrt(t.get(), t.get());
  mpfi_fr_div(t.get(), e, t.get());  // e/√2, enclosed
  mpfr_t lo, hi;
  mpfr_inits2(p + 8, lo, hi, static_cast<mpfr_ptr>(nullptr));
  mpfi_get_left(lo, t.get());
  mpfi_get_right(hi, t.get());
  mpfr_erf(lo, lo, MPFR_RNDD);  // erf is increasing: its values at the ends bound it
  mpfr_erf(hi, hi, MPFR_RNDU);
  mpfr_add_ui(lo, lo, 1, MPFR_RNDD);
  mpfr_add_ui(hi, hi, 1, MPFR_RNDU);
  mpfr_div_2ui(lo, lo, 1, MPFR_RNDD);  // Φ = (1 + erf(e/√2))/2
  mpfr_div_2ui(hi, hi, 1, MPFR_RNDU);
  Interval phi(0L, p + 8);
  mpfi_interv_fr(phi.get(), lo, hi);
  mpfr_clears(lo, hi, static_cast<mpfr_ptr>(nullptr));
  Interval r(0L, p);
  mpfi_mul_fr(r.get(), phi.get(), e);
  return r;
}

}  // namespace

Interval gelu(const Interval& x) {
  const mpfr_prec_t p = x.precision();
  mpfr_t a, b, lo, hi;
  mpfr_inits2(p, a, b, lo, hi, static_cast<mpfr_ptr>(nullptr));
  mpfi_get_left(a, x.get());
  mpfi_get_right(b, x.get());
  const Interval ga = gelu_point(a, p), gb = gelu_point(b, p);
  if (mpfr_cmp_d(a, -0.75) >= 0) {  // [a, b] above the minimiser: increasing
    mpfi_get_left(lo, ga.get());
    mpfi_get_right(hi, gb.get());
  } else if (mpfr_cmp_d(b, -0.76) <= 0) {  // below it: decreasing
    mpfi_get_left(lo, gb.get());
    mpfi_get_right(hi, ga.get());
  } else {  // the minimum −0.16997… may be inside: −0.17 bounds it from below
    mpfr_set_d(lo, -0.17, MPFR_RNDD);
    mpfi_get_right(hi, ga.get());
    mpfr_t h2;
    mpfr_init2(h2, p);
    mpfi_get_right(h2, gb.get());
    mpfr_max(hi, hi, h2, MPFR_RNDU);
    mpfr_clear(h2);
  }
  Interval r(0L, p);
  mpfi_interv_fr(r.get(), lo, hi);
  mpfr_clears(a, b, lo, hi, static_cast<mpfr_ptr>(nullptr));
  return r;
}

DInterval gelu(DInterval x) {
  if (!x.is_finite()) return DInterval::invalid();
  Interval i(0L, 64);
  mpfi_interv_d(i.get(), x.lower(), x.upper());
  return DInterval::from_interval(gelu(i));
}

}  // namespace attnbounds
