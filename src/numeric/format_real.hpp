// FormatReal: the number type of `arith:<fmt>` semantics.  Every arithmetic result
// (+, -, *, /, exp, log, sqrt) is the exact result rounded once to the format, ties to even,
// so a computation is fully determined by the format and the evaluation order.
//   float:P  — MPFR at precision P is exactly this (correct rounding, unbounded exponent);
//   fixed:I.F — exact rational result (or a Ziv-refined enclosure for exp/log/sqrt) rounded
//               to the 2^-F grid; a result out of range throws FormatRangeError.
//   bounded (fp16, bf16, fp32, fp64, fp8e4m3, fp8e5m2) — the same exact-then-round-once path
//               with the hardware exponent range: subnormals, underflow to 0, and an overflow
//               (inf or NaN on hardware) throws FormatRangeError, never a finite value.
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
  static FormatReal from_value(const Rational& v, const Format& fmt) { return FormatReal(v, fmt); }

  const Format& format() const { return fmt_; }
  Rational value() const;  // the exact representable value
  double to_double() const;
  Interval lower_point() const;  // the value as a point interval (exact)
  Interval upper_point() const { return lower_point(); }

  friend FormatReal operator+(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator-(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator*(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator/(const FormatReal& a, const FormatReal& b);
  friend FormatReal operator-(const FormatReal& a);
  FormatReal& operator+=(const FormatReal& b) { return *this = *this + b; }
  FormatReal& operator-=(const FormatReal& b) { return *this = *this - b; }
  FormatReal& operator*=(const FormatReal& b) { return *this = *this * b; }
  FormatReal& operator/=(const FormatReal& b) { return *this = *this / b; }
  friend bool operator<(const FormatReal& a, const FormatReal& b);
  friend bool operator==(const FormatReal& a, const FormatReal& b);
  friend FormatReal exp(const FormatReal& a);
  friend FormatReal log(const FormatReal& a);
  friend FormatReal sqrt(const FormatReal& a);
  friend FormatReal abs(const FormatReal& a);

 private:
  bool is_float() const { return fmt_.kind == Format::Kind::Float; }
  // float:P values live in an MPFR number of exactly P bits: MPFR's correctly rounded
  // operations are then the format's arithmetic, and tiny values such as exp(-10^6) stay cheap
  // (as a rational their denominator would have millions of bits).  fixed:I.F values are
  // rationals on the 2^-F grid, bounded values rationals of at most P significant bits.
  Format fmt_;
  MpfrReal f_;  // float formats
  Rational v_;  // fixed formats
};

inline bool certainly_less(const FormatReal& a, const FormatReal& b) { return a < b; }
inline bool upper_less(const FormatReal& a, const FormatReal& b) { return a < b; }

}  // namespace attnbounds
