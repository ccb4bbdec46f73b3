#include "model/turn_table.hpp"

#include <stdexcept>

namespace attnbounds {

namespace {
long mod(long a, long M) { return ((a % M) + M) % M; }
}  // namespace

std::optional<Rational> cos_turn_exact(long r, long M) {
  r = mod(r, M);
  // The angle r/M of a turn, reduced: cos is rational iff the reduced denominator is 1,2,3,4,6.
  if ((4 * r) % M == 0) {
    switch ((4 * r) / M) {  // quarter turns 0..3
      case 0: return Rational(1);
      case 1: return Rational(0);
      case 2: return Rational(-1);
      case 3: return Rational(0);
    }
  }
  if ((6 * r) % M == 0) {
    switch ((6 * r) / M) {  // sixth turns 1, 2, 4, 5 (0 and 3 handled above)
      case 1: return Rational(1, 2);
      case 2: return Rational(-1, 2);
      case 4: return Rational(-1, 2);
      case 5: return Rational(1, 2);
    }
  }
  return std::nullopt;
}

std::optional<Rational> sin_turn_exact(long r, long M) {
  // sin(2πr/M) = cos(2π(4r - M)/(4M)).
  return cos_turn_exact(mod(4 * r - M, 4 * M), 4 * M);
}

namespace {
Interval turn_angle(long r, long M, mpfr_prec_t bits) {
  Interval a = pi_interval(bits + 8);
  a *= Interval(Rational(2 * mod(r, M), M), bits + 8);
  return a;
}
}  // namespace

Interval cos_turn(long r, long M, mpfr_prec_t bits) {
  if (auto e = cos_turn_exact(r, M)) return Interval(*e, bits);
  return cos(turn_angle(r, M, bits));
}

Interval sin_turn(long r, long M, mpfr_prec_t bits) {
  if (auto e = sin_turn_exact(r, M)) return Interval(*e, bits);
  return sin(turn_angle(r, M, bits));
}

DInterval dinterval_enclosing(const Rational& q) { return DInterval::from_rational(q); }

EmbeddingEntry::EmbeddingEntry(std::function<Interval(mpfr_prec_t)> value, const SemanticsPolicy& policy)
    : value_(std::move(value)) {
  rounded_ = policy.stored_real(value_);
  fast_ = rounded_ ? dinterval_enclosing(*rounded_) : DInterval::from_interval(value_(128));
}


EmbeddingEntry EmbeddingEntry::exact_rational(const Rational& q) {
  EmbeddingEntry e;
  e.value_ = [q](mpfr_prec_t bits) { return Interval(q, bits); };
  e.rounded_ = q;
  e.fast_ = dinterval_enclosing(q);
  return e;
}

Interval EmbeddingEntry::at(mpfr_prec_t bits) const {
  if (rounded_) return Interval(*rounded_, bits);
  return value_(bits);
}

Rational EmbeddingEntry::rational() const {
  if (rounded_) return *rounded_;
  Interval v = value_(64);
  if (v.lower() == v.upper()) return v.lower();
  throw std::logic_error("EmbeddingEntry::rational: value is irrational under exact semantics");
}

EmbeddingEntry cos_entry(const Rational& scale, long r, long M, const SemanticsPolicy& sem) {
  if (auto e = cos_turn_exact(r, M)) {
    Rational v = scale * *e;
    return EmbeddingEntry([v](mpfr_prec_t bits) { return Interval(v, bits); }, sem);
  }
  return EmbeddingEntry([scale, r, M](mpfr_prec_t bits) { return Interval(scale, bits) * cos_turn(r, M, bits); }, sem);
}

EmbeddingEntry sin_entry(const Rational& scale, long r, long M, const SemanticsPolicy& sem) {
  if (auto e = sin_turn_exact(r, M)) {
    Rational v = scale * *e;
    return EmbeddingEntry([v](mpfr_prec_t bits) { return Interval(v, bits); }, sem);
  }
  return EmbeddingEntry([scale, r, M](mpfr_prec_t bits) { return Interval(scale, bits) * sin_turn(r, M, bits); }, sem);
}

}  // namespace attnbounds
