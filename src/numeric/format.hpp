// Number formats and finite-precision semantics (SPEC §2).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "numeric/interval.hpp"
#include "numeric/mpfr_real.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// A format: float:P (P-bit significand, unbounded exponent) or fixed:I.F (two's complement,
// I integer bits including the sign, F fraction bits).  Rounding is to nearest, ties to even.
struct Format {
  enum class Kind { Float, Fixed };
  Kind kind = Kind::Float;
  int P = 53;  // float significand bits
  int I = 0;   // fixed integer bits (sign included)
  int F = 0;   // fixed fraction bits

  static Format float_bits(int P) { Format f; f.kind = Kind::Float; f.P = P; return f; }
  static Format fixed_bits(int I, int F) { Format f; f.kind = Kind::Fixed; f.I = I; f.F = F; return f; }

  std::string name() const;  // canonical "float:24" / "fixed:4.12"
  // Bits one value costs in a message: fixed I+F; float P significand bits plus a sign bit
  // (the exponent bits are reported separately from the values actually seen).
  int value_bits() const { return kind == Kind::Fixed ? I + F : P + 1; }
  // Largest / smallest representable value of a fixed format.
  Rational fixed_max() const;
  Rational fixed_min() const;
  bool operator==(const Format&) const = default;
};

// Thrown when a fixed-point value falls outside the format's range (never clamped).
struct FormatRangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses "float:P", "fixed:I.F", and the aliases bf16, fp16, fp32, fp64.
// Throws std::invalid_argument with a message naming the allowed forms.
Format parse_format(std::string_view text);

// Exact rounding of a rational to the format (round to nearest, ties to even).
Rational round_to(const Format& fmt, const Rational& x);
// Rounding of an enclosure: the rounded value if every point of x rounds to it, else nullopt
// (the enclosure straddles a rounding boundary: refine and retry).
std::optional<Rational> round_to(const Format& fmt, const Interval& x);
// Rounding of an enclosure, refining the working precision of `make` until it decides.
// `make(bits)` must return an enclosure of a fixed real computed at `bits` of precision.
template <class Make>
Rational round_certified(const Format& fmt, Make&& make, mpfr_prec_t start_bits = 128,
                         mpfr_prec_t max_bits = 1 << 16) {
  for (mpfr_prec_t bits = start_bits; bits <= max_bits; bits *= 2) {
    if (auto r = round_to(fmt, make(bits))) return *r;
  }
  throw std::runtime_error("rounding undecided at " + std::to_string(max_bits) +
                           " bits (value on a rounding boundary?)");
}
// Number of exponent bits needed to store the binary exponents of the given nonzero values
// (float formats), counting one code for zero.
int float_exponent_bits(long min_exp, long max_exp);

// Where rounding happens (SPEC §2).
struct Semantics {
  enum class Kind { Exact, Embed, Arith, Tiled };
  Kind kind = Kind::Exact;
  Format format;  // unused for Exact
  int tile = 0;   // Tiled: tokens per tile

  std::string name() const;  // canonical "exact", "embed:float:24", "tiled:fixed:4.8:2"
  bool is_exact() const { return kind == Kind::Exact; }
  bool operator==(const Semantics&) const = default;
};

// Parses "exact", "embed:<fmt>", "arith:<fmt>", "tiled:<fmt>:<T>".
Semantics parse_semantics(std::string_view text);

}  // namespace attnbounds
