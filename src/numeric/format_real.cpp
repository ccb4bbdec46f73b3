#include "numeric/format_real.hpp"

#include <cmath>
#include <stdexcept>

namespace attnbounds {

namespace {
thread_local const Format* tl_format = nullptr;
const Format& default_format() {
  static const Format f = Format::float_bits(53);
  return f;
}

void same_format(const Format& a, const Format& b) {
  if (!(a == b)) throw std::invalid_argument("arith: mixing formats " + a.name() + " and " + b.name());
}

// MPFR's exponent range is huge but finite: leaving it is an error, never a silent 0 or inf.
void check_mpfr_range(const Format& f) {
  if (mpfr_overflow_p() || mpfr_underflow_p())
    throw FormatRangeError("arith: a result in " + f.name() + " left MPFR's exponent range");
}

// GMP's behaviour on a NaN or infinite double is undefined: refuse it first.
Rational finite_rational(double d) {
  if (!std::isfinite(d)) throw std::domain_error("arith: a non-finite double has no format value");
  return Rational(d);
}
}  // namespace

const Format& current_arith_format() { return tl_format ? *tl_format : default_format(); }
ArithFormatScope::ArithFormatScope(const Format& f) : fmt_(f), saved_(tl_format) { tl_format = &fmt_; }
ArithFormatScope::~ArithFormatScope() { tl_format = saved_; }

FormatReal::FormatReal(double d) : FormatReal(finite_rational(d), current_arith_format()) {}
FormatReal::FormatReal(const Rational& q, const Format& fmt)
    : fmt_(fmt), f_(MpfrReal::zero(fmt.kind == Format::Kind::Float ? fmt.P : MPFR_PREC_MIN)) {
  if (is_float()) {
    mpfr_clear_flags();
    mpfr_set_q(f_.get(), q.get_mpq_t(), MPFR_RNDN);  // = round_to(fmt, q)
    check_mpfr_range(fmt_);
  } else {
    v_ = round_to(fmt, q);
  }
}

Rational FormatReal::value() const { return is_float() ? f_.to_rational() : v_; }
double FormatReal::to_double() const { return is_float() ? f_.to_double() : v_.get_d(); }
Interval FormatReal::lower_point() const {
  // Exact: a fixed value has I+F significant bits, a bounded one at most P.
  if (!is_float()) return Interval(v_, 64 + fmt_.I + fmt_.F + fmt_.P);
  Interval r(0L, fmt_.P);
  mpfi_set_fr(r.get(), f_.get());  // exact: same precision
  return r;
}

namespace {
// The float branch of every operation: the MPFR function at P bits, round to nearest.
template <class Fn>
FormatReal float_result(const FormatReal& like, Fn&& fn) {
  FormatReal r = like;
  mpfr_clear_flags();
  fn(r);
  check_mpfr_range(like.format());
  return r;
}
}  // namespace

FormatReal operator+(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  if (!a.is_float()) return FormatReal(a.v_ + b.v_, a.fmt_);
  return float_result(a, [&](FormatReal& r) { mpfr_add(r.f_.get(), a.f_.get(), b.f_.get(), MPFR_RNDN); });
}
FormatReal operator-(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  if (!a.is_float()) return FormatReal(a.v_ - b.v_, a.fmt_);
  return float_result(a, [&](FormatReal& r) { mpfr_sub(r.f_.get(), a.f_.get(), b.f_.get(), MPFR_RNDN); });
}
FormatReal operator*(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  if (!a.is_float()) return FormatReal(a.v_ * b.v_, a.fmt_);
  return float_result(a, [&](FormatReal& r) { mpfr_mul(r.f_.get(), a.f_.get(), b.f_.get(), MPFR_RNDN); });
}
FormatReal operator/(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  if (b.is_float() ? mpfr_zero_p(b.f_.get()) != 0 : b.v_ == 0)
    throw std::domain_error("arith: division by zero in " + a.fmt_.name());
  if (!a.is_float()) return FormatReal(a.v_ / b.v_, a.fmt_);
  return float_result(a, [&](FormatReal& r) { mpfr_div(r.f_.get(), a.f_.get(), b.f_.get(), MPFR_RNDN); });
}

FormatReal operator-(const FormatReal& a) {
  FormatReal r = a;
  if (a.is_float()) mpfr_neg(r.f_.get(), a.f_.get(), MPFR_RNDN);  // exact
  else r.v_ = -a.v_;
  return r;
}
FormatReal abs(const FormatReal& a) {
  FormatReal r = a;
  if (a.is_float()) mpfr_abs(r.f_.get(), a.f_.get(), MPFR_RNDN);  // exact
  else r.v_ = abs(a.v_);
  return r;
}
bool operator<(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  return a.is_float() ? mpfr_less_p(a.f_.get(), b.f_.get()) != 0 : a.v_ < b.v_;
}
bool operator==(const FormatReal& a, const FormatReal& b) {
  same_format(a.fmt_, b.fmt_);
  return a.is_float() ? mpfr_equal_p(a.f_.get(), b.f_.get()) != 0 : a.v_ == b.v_;
}

// exp, log, sqrt: MPFR rounds them correctly for float:P.  For fixed:I.F, exp(x) and log(x)
// of a rational x other than 0 / 1 are irrational, so no tie can occur and the Ziv loop in
// round_certified terminates; sqrt checks for an exact square first.
FormatReal exp(const FormatReal& a) {
  if (a.is_float())
    return float_result(a, [&](FormatReal& r) { mpfr_exp(r.f_.get(), a.f_.get(), MPFR_RNDN); });
  if (a.v_ == 0) return FormatReal(Rational(1), a.fmt_);
  return FormatReal(round_certified(a.fmt_, [&](mpfr_prec_t bits) { return exp(Interval(a.v_, bits)); }), a.fmt_);
}
FormatReal log(const FormatReal& a) {
  if (!(FormatReal(Rational(0), a.fmt_) < a)) throw std::domain_error("arith: log of a non-positive value");
  if (a.is_float())
    return float_result(a, [&](FormatReal& r) { mpfr_log(r.f_.get(), a.f_.get(), MPFR_RNDN); });
  if (a.v_ == 1) return FormatReal(Rational(0), a.fmt_);
  return FormatReal(round_certified(a.fmt_, [&](mpfr_prec_t bits) { return log(Interval(a.v_, bits)); }), a.fmt_);
}
FormatReal sqrt(const FormatReal& a) {
  if (a < FormatReal(Rational(0), a.fmt_)) throw std::domain_error("arith: sqrt of a negative value");
  if (a.is_float())
    return float_result(a, [&](FormatReal& r) { mpfr_sqrt(r.f_.get(), a.f_.get(), MPFR_RNDN); });
  // sqrt of a dyadic may be exactly representable: test the square first.
  MpfrReal s = MpfrReal::zero(4 * (a.fmt_.I + a.fmt_.F + a.fmt_.P) + 64);
  mpfr_set_q(s.get(), a.v_.get_mpq_t(), MPFR_RNDN);
  if (mpfr_sqrt(s.get(), s.get(), MPFR_RNDN) == 0) {
    Rational exact = s.to_rational();
    if (exact * exact == a.v_) return FormatReal(exact, a.fmt_);
  }
  return FormatReal(round_certified(a.fmt_, [&](mpfr_prec_t bits) { return sqrt(Interval(a.v_, bits)); }), a.fmt_);
}

}  // namespace attnbounds
