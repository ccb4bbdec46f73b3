// Number formats and finite-precision semantics (math §2).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "numeric/interval.hpp"
#include "numeric/precision_ladder.hpp"
#include "numeric/mpfr_real.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// A format (math §2).  Rounding is always to nearest, ties to even.
//   float:P    P-bit significand, unbounded exponent (MPFR semantics), no overflow, no subnormals;
//   fixed:I.F  two's complement, I integer bits including the sign, F fraction bits;
//   bounded    a hardware floating-point format: P-bit significand (implicit bit included),
//              E exponent bits, normal exponents emin..emax, subnormals below 2^emin, and a
//              largest finite value; a value that rounds beyond it is an overflow (IEEE-like
//              formats give inf, OCP E4M3 gives NaN), which round_to reports as FormatRangeError.
//              fp16 (IEEE binary16), bf16 (bfloat16), fp32 (binary32), fp64 (binary64),
//              fp8e4m3 and fp8e5m2 (OCP 8-bit floating point).
struct Format {
  enum class Kind { Float, Fixed, Bounded };
  Kind kind = Kind::Float;
  int P = 53;  // significand bits, implicit bit included (float and bounded)
  int I = 0;   // fixed integer bits (sign included)
  int F = 0;   // fixed fraction bits
  int E = 0;   // bounded: exponent field bits
  int emin = 0, emax = 0;  // bounded: normal values are m 2^e with 1 <= m < 2, emin <= e <= emax
  bool has_infinity = false;  // bounded: IEEE-like (all-ones exponent = inf/NaN) vs OCP E4M3

  static Format float_bits(int P) { Format f; f.kind = Kind::Float; f.P = P; return f; }
  static Format fixed_bits(int I, int F) { Format f; f.kind = Kind::Fixed; f.I = I; f.F = F; return f; }
  // An IEEE-like binary format with E exponent bits and P significand bits (emax = 2^(E-1) - 1).
  static Format ieee_bits(int E, int P);
  static Format fp16() { return ieee_bits(5, 11); }
  static Format bf16() { return ieee_bits(8, 8); }
  static Format fp32() { return ieee_bits(8, 24); }
  static Format fp64() { return ieee_bits(11, 53); }
  // OCP 8-bit formats.  E5M2 is IEEE-like (inf, NaNs, max 57344).  E4M3 has no infinities: its
  // all-ones exponent holds normal numbers except S.1111.111 = NaN, so the largest finite value
  // is 1.75 * 2^8 = 448; a value that rounds beyond it overflows (OCP non-saturating mode: NaN).
  static Format fp8_e5m2() { return ieee_bits(5, 3); }
  static Format fp8_e4m3();

  bool is_bounded() const { return kind == Kind::Bounded; }
  std::string name() const;  // canonical "float:24" / "fixed:4.12" / "fp16" / "fp8e4m3"
  // Bits one value costs in a message: fixed I+F; bounded the full width 1 + E + (P-1); float P
  // significand bits plus a sign bit, WITHOUT the exponent (unbounded): a width that must count
  // the exponent uses encoded_value_bits below.
  int value_bits() const { return kind == Kind::Fixed ? I + F : kind == Kind::Bounded ? E + P : P + 1; }
  // Largest / smallest representable value of a fixed format.
  Rational fixed_max() const;
  Rational fixed_min() const;
  // Bounded formats: largest finite value, smallest positive normal 2^emin, smallest positive
  // subnormal 2^(emin-P+1).
  Rational max_finite() const;
  Rational min_normal() const;
  Rational min_subnormal() const;
  bool operator==(const Format&) const = default;
};

// |round(x) - x| <= relative * |x| + absolute for every x that does not overflow:
// float:P {2^-P, 0}; fixed:I.F {0, 2^-(F+1)}; bounded {2^-P, 2^(emin-P)} (half the smallest
// subnormal, the error below 2^emin).
struct RoundingErrorBound {
  Rational relative, absolute;
};
RoundingErrorBound rounding_error_bound(const Format& fmt);

// The binary exponents floor(log2 |x|) of a set of values (zeros are not counted).
struct ExponentRange {
  bool any = false;
  long min = 0, max = 0;
  void add(long e);
  void add(const Rational& x);  // exact
  void add(mpfr_srcptr x);
};
// floor(log2 |x|) of a nonzero rational, exactly.
long floor_log2(const Rational& x);

// Bits one value of `fmt` needs in a fixed-width encoding of every value in a set whose
// exponents are `used`: bounded formats their full width (sign + E exponent + P-1 fraction bits);
// fixed I+F; float:P sign + (P-1) fraction bits + the exponent bits for the exponents actually
// used (float_exponent_bits, one code kept for zero).  This is the width a message or state
// made of such values really costs.
int encoded_value_bits(const Format& fmt, const ExponentRange& used);

// Bounded formats: the bit pattern of a representable value (sign bit for zero from
// `negative_zero`), and the value of a bit pattern.  encode throws std::invalid_argument for a
// value the format cannot represent.
std::uint64_t encode_bits(const Format& fmt, const Rational& value, bool negative_zero = false);
struct DecodedValue {
  enum class Class { Finite, Infinity, NaN };
  Class cls = Class::Finite;
  bool negative = false;
  Rational value;  // finite values only
};
DecodedValue decode_bits(const Format& fmt, std::uint64_t bits);

// Thrown when a value falls outside the format's range: a fixed-point value beyond the range
// (never clamped), or a bounded floating-point value that overflows (would be inf or NaN).
// hint() says what kind of format would hold the value (more integer bits for fixed point, a
// wider exponent range for floating point).
struct FormatRangeError : std::runtime_error {
  explicit FormatRangeError(const std::string& what, std::string hint = "use a format with a wider range")
      : std::runtime_error(what), hint_(std::move(hint)) {}
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string hint_;
};

// Parses "float:P", "fixed:I.F", and the bounded formats fp16, bf16, fp32, fp64, fp8e4m3, fp8e5m2.
// Throws std::invalid_argument with a message naming the allowed forms.
Format parse_format(std::string_view text);

// Exact rounding of a rational to the format (round to nearest, ties to even; bounded formats
// round to their subnormal grid below 2^emin and throw FormatRangeError on overflow).
Rational round_to(const Format& fmt, const Rational& x);
// Rounding of an enclosure: the rounded value if every point of x rounds to it, else nullopt
// (the enclosure straddles a rounding boundary: refine and retry).
std::optional<Rational> round_to(const Format& fmt, const Interval& x);
// Rounding of an enclosure, refining the working precision of `make` until it decides.
// `make(bits)` must return an enclosure of a fixed real computed at `bits` of precision.
template <class Make>
Rational round_certified(const Format& fmt, Make&& make, PrecisionLadder ladder = kRoundingLadder) {
  std::optional<Rational> rounded;
  if (raise_precision([&](mpfr_prec_t bits) { return (rounded = round_to(fmt, make(bits))).has_value(); }, ladder))
    return *rounded;
  throw std::runtime_error("rounding undecided at " + std::to_string(ladder.ceiling) +
                           " bits (value on a rounding boundary?)");
}
// Number of exponent bits needed to store the binary exponents of the given nonzero values
// (float formats), counting one code for zero; 0 for an empty range (only zeros).
int float_exponent_bits(long min_exp, long max_exp);
int float_exponent_bits(const ExponentRange& used);

// Where rounding happens (math §2).
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
