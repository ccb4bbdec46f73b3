#include "numeric/interval.hpp"

#include <algorithm>

namespace attnbounds {

Interval::Interval(const Rational& lo, const Rational& hi, mpfr_prec_t bits) {
  mpfi_init2(v_, bits);
  mpfi_interv_q(v_, lo.get_mpq_t(), hi.get_mpq_t());
}

Rational Interval::lower() const {
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_left(x.get(), v_);
  return x.to_rational();
}
Rational Interval::upper() const {
  MpfrReal x = MpfrReal::zero(precision());
  mpfi_get_right(x.get(), v_);
  return x.to_rational();
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
Interval hull(const Interval& a, const Interval& b) { return binary(a, b, mpfi_union); }
Interval pi_interval(mpfr_prec_t bits) {
  Interval r(0L, bits);
  mpfi_const_pi(r.get());
  return r;
}

bool certainly_less(const Interval& a, const Interval& b) { return a.upper() < b.lower(); }
bool certainly_less_equal(const Interval& a, const Interval& b) { return a.upper() <= b.lower(); }
bool upper_less(const Interval& a, const Interval& b) {
  Rational au = a.upper(), bu = b.upper();
  if (au != bu) return au < bu;
  return a.lower() < b.lower();
}

}  // namespace attnbounds
