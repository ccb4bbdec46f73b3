// FormatReal: the number type of `arith:<fmt>` semantics.  Every arithmetic result
// (+, -, *, /, exp, log, sqrt) is the exact result rounded once to the format, ties to even,
// so a computation is fully determined by the format and the evaluation order.
//   float:P  — MPFR at precision P is exactly this (correct rounding, unbounded exponent);
//   fixed:I.F — exact rational result (or a Ziv-refined enclosure for exp/log/sqrt) rounded
//               to the 2^-F grid; a result out of range throws FormatRangeError.
// Constants built inside templated code (T(0), T(1)) are rounded to the format of the
// innermost ArithFormatScope.
#pragma once
#include "numeric/format.hpp"

namespace attnbounds {

const Format& current_arith_format();
class ArithFormatScope {
 public:
  explicit ArithFormatScope(const Format& f);
  ~ArithFormatScope();
  ArithFormatScope(const ArithFormatScope&) = delete;
  ArithFormatScope& operator=(const ArithFormatScope&) = delete;

 private:
  Format fmt_;  // a copy: the scope may be built from a temporary
  const Format* saved_;
};

class FormatReal {
 public:
  FormatReal() : FormatReal(Rational(0)) {}
  explicit FormatReal(int n) : FormatReal(Rational(n)) {}
  explicit FormatReal(double d);
  explicit FormatReal(const Rational& q) : FormatReal(q, current_arith_format()) {}
  FormatReal(const Rational& q, const Format& fmt);
  // Rounds an enclosure of a fixed real (refined by `make(bits)` until decided).
  static FormatReal from_value(const Rational& v, const Format& fmt) { return FormatReal(v, fmt, 0); }

  const Format& format() const { return fmt_; }
  const Rational& value() const { return v_; }  // exact representable value
  double to_double() const { return v_.get_d(); }
  Interval lower_point() const { return Interval(v_, 64 + bits_hint()); }
  Interval upper_point() const { return lower_point(); }

  friend FormatReal operator+(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator-(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator*(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator/(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator-(const FormatReal& a) { return FormatReal(-a.v_, a.fmt_, 0); }
  FormatReal& operator+=(const FormatReal& b) { return *this = *this + b; }
  FormatReal& operator-=(const FormatReal& b) { return *this = *this - b; }
  FormatReal& operator*=(const FormatReal& b) { return *this = *this * b; }
  FormatReal& operator/=(const FormatReal& b) { return *this = *this / b; }
  friend bool operator<(const FormatReal& a, const FormatReal& b) { return a.v_ < b.v_; }
  friend bool operator==(const FormatReal& a, const FormatReal& b) { return a.v_ == b.v_; }
  friend FormatReal exp(const FormatReal& a);
  friend FormatReal log(const FormatReal& a);
  friend FormatReal sqrt(const FormatReal& a);
  friend FormatReal abs(const FormatReal& a) { return FormatReal(abs(a.v_), a.fmt_, 0); }

 private:
  FormatReal(Rational v, const Format& fmt, int) : v_(std::move(v)), fmt_(fmt) {}
  mpfr_prec_t bits_hint() const { return fmt_.kind == Format::Kind::Float ? fmt_.P : fmt_.I + fmt_.F; }
  Rational v_;
  Format fmt_;
};

inline bool certainly_less(const FormatReal& a, const FormatReal& b) { return a < b; }
inline bool upper_less(const FormatReal& a, const FormatReal& b) { return a < b; }

}  // namespace attnbounds
