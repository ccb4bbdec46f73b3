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

// Rounds an exact rational result; the operands' formats must agree.
FormatReal make(const Rational& exact, const Format& a, const Format& b) {
  if (!(a == b)) throw std::invalid_argument("arith: mixing formats " + a.name() + " and " + b.name());
  return FormatReal(exact, a);
}
}  // namespace

const Format& current_arith_format() { return tl_format ? *tl_format : default_format(); }
ArithFormatScope::ArithFormatScope(const Format& f) : fmt_(f), saved_(tl_format) { tl_format = &fmt_; }
ArithFormatScope::~ArithFormatScope() { tl_format = saved_; }

// GMP's behaviour on a NaN or infinite double is undefined: refuse it first.
static Rational finite_rational(double d) {
  if (!std::isfinite(d)) throw std::domain_error("arith: a non-finite double has no format value");
  return Rational(d);
}
FormatReal::FormatReal(double d) : FormatReal(finite_rational(d), current_arith_format()) {}
FormatReal::FormatReal(const Rational& q, const Format& fmt) : v_(round_to(fmt, q)), fmt_(fmt) {}

FormatReal operator+(const FormatReal& a, const FormatReal& b) { return make(a.v_ + b.v_, a.fmt_, b.fmt_); }
FormatReal operator-(const FormatReal& a, const FormatReal& b) { return make(a.v_ - b.v_, a.fmt_, b.fmt_); }
FormatReal operator*(const FormatReal& a, const FormatReal& b) { return make(a.v_ * b.v_, a.fmt_, b.fmt_); }
FormatReal operator/(const FormatReal& a, const FormatReal& b) {
  if (b.v_ == 0) throw std::domain_error("arith: division by zero in " + a.fmt_.name());
  return make(a.v_ / b.v_, a.fmt_, b.fmt_);
}

// Transcendental results: exp(x) for rational x != 0 is irrational, so a tie is impossible and
// the Ziv loop in round_certified terminates.  exp(0) = 1 is handled exactly.
FormatReal exp(const FormatReal& a) {
  if (a.v_ == 0) return FormatReal(Rational(1), a.fmt_);
  Rational r = round_certified(a.fmt_, [&](mpfr_prec_t bits) { return exp(Interval(a.v_, bits)); });
  return FormatReal(r, a.fmt_, 0);
}
FormatReal log(const FormatReal& a) {
  if (a.v_ <= 0) throw std::domain_error("arith: log of a non-positive value");
  if (a.v_ == 1) return FormatReal(Rational(0), a.fmt_);
  Rational r = round_certified(a.fmt_, [&](mpfr_prec_t bits) { return log(Interval(a.v_, bits)); });
  return FormatReal(r, a.fmt_, 0);
}
FormatReal sqrt(const FormatReal& a) {
  if (a.v_ < 0) throw std::domain_error("arith: sqrt of a negative value");
  // sqrt of a dyadic may be exactly representable: test the square first.
  MpfrReal s = MpfrReal::zero(4 * (a.fmt_.kind == Format::Kind::Float ? a.fmt_.P : a.fmt_.I + a.fmt_.F) + 64);
  mpfr_set_q(s.get(), a.v_.get_mpq_t(), MPFR_RNDN);
  if (mpfr_sqrt(s.get(), s.get(), MPFR_RNDN) == 0) {
    Rational exact = s.to_rational();
    if (exact * exact == a.v_) return FormatReal(exact, a.fmt_);
  }
  Rational r = round_certified(a.fmt_, [&](mpfr_prec_t bits) { return sqrt(Interval(a.v_, bits)); });
  return FormatReal(r, a.fmt_, 0);
}

}  // namespace attnbounds
