// Embedding entries built from cos/sin of 2πr/M, enclosed once per residue and then used in hot
// loops.  An entry is a real constant (scale · cos or sin of a residue angle) that an
// embedding places in φ, a query, a key or a value, and how the semantics stores it:
//   exact      — the real itself, as an MPFI enclosure refinable to any precision;
//   embed/arith/tiled — the real rounded (certified, RNE) to the format: an exact rational.
// Niven's theorem: cos(2πr/M) is rational only for the values 0, ±1/2, ±1; those are kept exact
// so that rounding them (and interval tests on them) never straddles a boundary.
#pragma once
#include <functional>
#include <optional>

#include "core/semantics_policy.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// cos(2πr/M) and sin(2πr/M) exactly when rational (Niven), else nullopt.
std::optional<Rational> cos_turn_exact(long r, long M);
std::optional<Rational> sin_turn_exact(long r, long M);
// Enclosures at `bits` (point intervals when rational).
Interval cos_turn(long r, long M, mpfr_prec_t bits);
Interval sin_turn(long r, long M, mpfr_prec_t bits);

// One embedding entry under a semantics.  `at(bits)` encloses the stored value; `fast` is a
// double enclosure of the same value for the filtered hot loop; `rounded` is set when the
// semantics rounds entries (then the stored value IS that rational).
class EmbeddingEntry {
 public:
  EmbeddingEntry() = default;
  // value(bits) must enclose a fixed real; semantics decides whether it is rounded.
  EmbeddingEntry(std::function<Interval(mpfr_prec_t)> value, const SemanticsPolicy& policy);
  static EmbeddingEntry exact_rational(const Rational& q);
  Interval at(mpfr_prec_t bits) const;
  DInterval fast() const { return fast_; }
  const std::optional<Rational>& rounded() const { return rounded_; }
  // The stored value as a rational: requires rounded() or an exact value.
  Rational rational() const;

 private:
  std::function<Interval(mpfr_prec_t)> value_;
  std::optional<Rational> rounded_;
  DInterval fast_;
};

// scale · cos(2πr/M) (or sin), as an entry under sem.
EmbeddingEntry cos_entry(const Rational& scale, long r, long M, const SemanticsPolicy& policy);
EmbeddingEntry sin_entry(const Rational& scale, long r, long M, const SemanticsPolicy& policy);

// DInterval enclosure of an exact rational (outward if it is not a double).
DInterval dinterval_enclosing(const Rational& q);

}  // namespace attnbounds
