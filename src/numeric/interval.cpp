#include "numeric/interval.hpp"

#include <algorithm>
#include <stdexcept>

namespace attnbounds {

Interval::Interval(const Rational& lo, const Rational& hi, mpfr_prec_t bits) {
  mpfi_init2(v_, bits);
  mpfi_interv_q(v_, lo.get_mpq_t(), hi.get_mpq_t());
}

namespace {
// mpfr_get_q maps an infinite or NaN endpoint to 0 without complaint: refuse instead, since a
// silent 0 would turn an unbounded enclosure into a false bound.
Rational finite_endpoint(const MpfrReal& x, const char* which) {
  if (!mpfr_number_p(x.get()))
    throw std::domain_error(std::string("interval ") + which + " endpoint is not finite (" + x.to_string(6) + ")");
  return x.to_rational();
}
MpfrReal left_of(mpfi_srcptr v) {
  MpfrReal x = MpfrReal::zero(mpfi_get_prec(v));
  mpfi_get_left(x.get(), v);
  return x;
}
MpfrReal right_of(mpfi_srcptr v) {
  MpfrReal x = MpfrReal::zero(mpfi_get_prec(v));
  mpfi_get_right(x.get(), v);
  return x;
}
}  // namespace

Rational Interval::lower() const { return finite_endpoint(left_of(v_), "lower"); }
Rational Interval::upper() const { return finite_endpoint(right_of(v_), "upper"); }
bool Interval::is_finite() const { return mpfi_bounded_p(v_) != 0 && !mpfi_nan_p(v_); }
Interval::Bounds Interval::widened_bounds(long min_exp) const {
  const MpfrReal lo = left_of(v_), hi = right_of(v_);
  if (!mpfr_number_p(lo.get()) || !mpfr_number_p(hi.get()))
    throw std::domain_error("interval endpoint is not finite (" + to_string(6) + ")");
  const Rational tiny(Integer(1), Integer(1) << static_cast<unsigned long>(-min_exp));
  auto small = [&](const MpfrReal& v) { return mpfr_zero_p(v.get()) == 0 && mpfr_get_exp(v.get()) < min_exp; };
  Bounds b;
  b.lower = !small(lo) ? lo.to_rational() : mpfr_sgn(lo.get()) > 0 ? Rational(0) : Rational(-tiny);
  b.upper = !small(hi) ? hi.to_rational() : mpfr_sgn(hi.get()) > 0 ? tiny : Rational(0);
  return b;
}

double Interval::lower_double() const {
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_left(x.get(), v_);
  return mpfr_get_d(x.get(), MPFR_RNDD);
}
double Interval::upper_double() const {
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_right(x.get(), v_);
  return mpfr_get_d(x.get(), MPFR_RNDU);
}
double Interval::mid_double() const { return mpfi_get_d(v_); }
double Interval::width_double() const {
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_diam_abs(x.get(), v_);
  return mpfr_get_d(x.get(), MPFR_RNDU);
}
bool Interval::overlaps(const Interval& o) const {
  Interval t(0L, std::max(precision(), o.precision()));
  mpfi_intersect(t.get(), v_, o.v_);
  return !t.is_empty();
}
Interval Interval::lower_point() const {
  Interval r(0L, precision());
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_left(x.get(), v_);
  mpfi_set_fr(r.get(), x.get());
  return r;
}
Interval Interval::upper_point() const {
  Interval r(0L, precision());
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_right(x.get(), v_);
  mpfi_set_fr(r.get(), x.get());
  return r;
}
std::string Interval::to_string(int digits) const {
  MpfrReal lo = MpfrReal::zero(precision()), hi = MpfrReal::zero(precision());
  mpfi_get_left(lo.get(), v_);
  mpfi_get_right(hi.get(), v_);
  char* buf = nullptr;
  mpfr_asprintf(&buf, "[%.*RDg, %.*RUg]", digits, lo.get(), digits, hi.get());
  std::string s(buf);
  mpfr_free_str(buf);
  return s;
}

namespace {
template <class Op>
Interval binary(const Interval& a, const Interval& b, Op op) {
  Interval r(0L, std::max(a.precision(), b.precision()));
  op(r.get(), a.get(), b.get());
  return r;
}
template <class Op>
Interval unary(const Interval& a, Op op) {
  Interval r(0L, a.precision());
  op(r.get(), a.get());
  return r;
}
}  // namespace

Interval operator+(const Interval& a, const Interval& b) { return binary(a, b, mpfi_add); }
Interval operator-(const Interval& a, const Interval& b) { return binary(a, b, mpfi_sub); }
Interval operator*(const Interval& a, const Interval& b) { return binary(a, b, mpfi_mul); }
Interval operator/(const Interval& a, const Interval& b) { return binary(a, b, mpfi_div); }
Interval operator-(const Interval& a) { return unary(a, mpfi_neg); }
Interval exp(const Interval& a) { return unary(a, mpfi_exp); }
Interval log(const Interval& a) { return unary(a, mpfi_log); }
Interval sqrt(const Interval& a) { return unary(a, mpfi_sqrt); }
Interval cos(const Interval& a) { return unary(a, mpfi_cos); }
Interval sin(const Interval& a) { return unary(a, mpfi_sin); }
Interval abs(const Interval& a) { return unary(a, mpfi_abs); }
Interval sqr(const Interval& a) { return unary(a, mpfi_sqr); }
Interval hull(const Interval& a, const Interval& b) { return binary(a, b, mpfi_union); }
Interval pi_interval(mpfr_prec_t bits) {
  Interval r(0L, bits);
  mpfi_const_pi(r.get());
  return r;
}

// Endpoint comparisons in MPFR: exact, handle infinite endpoints, and are false on NaN.
bool certainly_less(const Interval& a, const Interval& b) {
  return mpfr_less_p(right_of(a.get()).get(), left_of(b.get()).get()) != 0;
}
bool certainly_less_equal(const Interval& a, const Interval& b) {
  return mpfr_lessequal_p(right_of(a.get()).get(), left_of(b.get()).get()) != 0;
}
bool upper_less(const Interval& a, const Interval& b) {
  MpfrReal au = right_of(a.get()), bu = right_of(b.get());
  if (!mpfr_equal_p(au.get(), bu.get())) return mpfr_less_p(au.get(), bu.get()) != 0;
  return mpfr_less_p(left_of(a.get()).get(), left_of(b.get()).get()) != 0;
}

}  // namespace attnbounds
