// The exact reals a model file can name: rationals, and the trigonometric constants the Match
// constructions place in their tables, A + B·cos(2πr/M) or A + B·sin(2πr/M) with rational A, B.
// Written as text in exact companions (docs/model-format.md):
//   "-3/4"                          a rational (canonical: lowest terms, denominator > 1)
//   "80451/1024*cos(2pi*3/16)"      B·cos(2π·3/16)
//   "1/2-1/2*cos(2pi*1/16)"         A − B·cos(2π/16)  (B > 0 after the operator)
// A trigonometric term is only written where the value is irrational (Niven's theorem: cos of a
// rational number of turns is rational only for 0, ±1/2, ±1); rational values are written as
// rationals, so every real has one spelling.
#pragma once
#include <optional>
#include <string>

#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

struct ExactReal {
  enum class Trig { None, Cos, Sin };
  Rational constant;     // A
  Rational coefficient;  // B (0 when trig == None)
  Trig trig = Trig::None;
  long r = 0, M = 1;     // the angle 2πr/M, 0 < r < M

  ExactReal() = default;
  ExactReal(const Rational& q) : constant(q) {}  // NOLINT: a rational is an exact real
  // scale·cos(2πr/M) (or sin), a rational when Niven's theorem says so.
  static ExactReal cos_turn(const Rational& scale, long r, long M);
  static ExactReal sin_turn(const Rational& scale, long r, long M);
  // constant + this; −this.
  ExactReal plus(const Rational& constant) const;
  ExactReal negated() const;

  bool is_rational() const { return trig == Trig::None; }
  // An enclosure at `bits`.  For B·trig alone it is the product the constructions compute
  // (Interval(B)·cos_turn), so a table read from a file encloses its entries like the original.
  Interval at(mpfr_prec_t bits) const;
  // The one spelling above.
  std::string text() const;
  bool operator==(const ExactReal& o) const {
    return constant == o.constant && coefficient == o.coefficient && trig == o.trig && r == o.r && M == o.M;
  }
};

// Parses the one spelling; nullopt when `text` is not it.
std::optional<ExactReal> parse_exact_real(const std::string& text);
// The nearest double (ties to even; the value is never a tie unless rational).
double nearest_double(const ExactReal& x);

}  // namespace attnbounds
