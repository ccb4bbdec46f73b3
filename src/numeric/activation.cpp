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

// Enclosures of GELU(e) = e·Φ(e) and of its slope GELU'(e) = Φ(e) + e·φ(e) at the point e, at
// precision p.
struct GeluAt {
  Interval value, slope;
};

GeluAt gelu_at(mpfr_srcptr e, mpfr_prec_t p) {
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
  GeluAt g{Interval(0L, p), Interval(0L, p + 8)};
  mpfi_mul_fr(g.value.get(), phi.get(), e);
  // φ(e) = exp(−e²/2)/√(2π)
  Interval density(0L, p + 8), root(0L, p + 8);
  mpfi_set_fr(density.get(), e);
  mpfi_sqr(density.get(), density.get());
  mpfi_div_2ui(density.get(), density.get(), 1);
  mpfi_neg(density.get(), density.get());
  mpfi_exp(density.get(), density.get());
  mpfi_const_pi(root.get());
  mpfi_mul_2ui(root.get(), root.get(), 1);
  mpfi_sqrt(root.get(), root.get());
  mpfi_div(density.get(), density.get(), root.get());
  mpfi_mul_fr(density.get(), density.get(), e);
  mpfi_add(g.slope.get(), phi.get(), density.get());
  return g;
}

// The lower end of an enclosure, as an MPFR number of precision p.
void left_of(mpfr_ptr out, const Interval& x) { mpfi_get_left(out, x.get()); }
void right_of(mpfr_ptr out, const Interval& x) { mpfi_get_right(out, x.get()); }

}  // namespace

Interval gelu(const Interval& x) {
  const mpfr_prec_t p = x.precision();
  mpfr_t a, b, lo, hi, tmp;
  mpfr_inits2(p, a, b, lo, hi, tmp, static_cast<mpfr_ptr>(nullptr));
  mpfi_get_left(a, x.get());
  mpfi_get_right(b, x.get());
  const GeluAt ga = gelu_at(a, p), gb = gelu_at(b, p);
  if (mpfr_cmp_d(a, -0.75) >= 0) {  // [a, b] above the minimiser x* ≈ −0.7518: increasing
    left_of(lo, ga.value);
    right_of(hi, gb.value);
  } else if (mpfr_cmp_d(b, -0.76) <= 0) {  // below it: decreasing
    left_of(lo, gb.value);
    right_of(hi, ga.value);
  } else {
    // The minimum −0.16997… may be inside; −0.17 bounds it from below.  On [−√2, √2] GELU is
    // convex (GELU'' = φ(x)(2 − x²)), so it lies above its tangents at a and at b:
    // GELU(x) ≥ GELU(a) + min(0, GELU'(a))(b − a) and GELU(x) ≥ GELU(b) − max(0, GELU'(b))(b − a),
    // which keeps a thin interval's enclosure thin.
    mpfr_set_d(lo, -0.17, MPFR_RNDD);
    if (mpfr_cmp_d(a, -1.4) >= 0 && mpfr_cmp_d(b, 1.4) <= 0) {
      Interval width(0L, p + 8), t1(0L, p + 8), t2(0L, p + 8), zero(0L, p + 8);
      mpfi_interv_fr(width.get(), a, a);
      mpfi_fr_sub(width.get(), b, width.get());
      // GELU(a) + min(0, slope_a)·width
      Interval sa = ga.slope;
      mpfr_t s;
      mpfr_init2(s, p + 8);
      mpfi_get_left(s, sa.get());
      if (mpfr_sgn(s) > 0) mpfr_set_zero(s, 1);
      mpfi_mul_fr(t1.get(), width.get(), s);
      mpfi_add(t1.get(), t1.get(), ga.value.get());
      left_of(tmp, t1);
      mpfr_max(lo, lo, tmp, MPFR_RNDD);
      // GELU(b) − max(0, slope_b)·width
      mpfi_get_right(s, gb.slope.get());
      if (mpfr_sgn(s) < 0) mpfr_set_zero(s, 1);
      mpfi_mul_fr(t2.get(), width.get(), s);
      mpfi_sub(t2.get(), gb.value.get(), t2.get());
      left_of(tmp, t2);
      mpfr_max(lo, lo, tmp, MPFR_RNDD);
      mpfr_clear(s);
    }
    right_of(hi, ga.value);
    right_of(tmp, gb.value);
    mpfr_max(hi, hi, tmp, MPFR_RNDU);
  }
  Interval r(0L, p);
  mpfi_interv_fr(r.get(), lo, hi);
  mpfr_clears(a, b, lo, hi, tmp, static_cast<mpfr_ptr>(nullptr));
  return r;
}

DInterval gelu(DInterval x) {
  if (!x.is_finite()) return DInterval::invalid();
  Interval i(0L, 64);
  mpfi_interv_d(i.get(), x.lower(), x.upper());
  return DInterval::from_interval(gelu(i));
}

}  // namespace attnbounds
