#include "numeric/format.hpp"

#include <cmath>
#include <stdexcept>

namespace attnbounds {

namespace {
constexpr int kMaxFloatBits = 4096;
constexpr int kMaxFixedBits = 4096;

int parse_int(std::string_view s, const char* what, std::string_view whole) {
  if (s.empty() || s.size() > 6) throw std::invalid_argument("format '" + std::string(whole) + "': bad " + what);
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw std::invalid_argument("format '" + std::string(whole) + "': bad " + what);
    v = v * 10 + (c - '0');
  }
  return v;
}

const char* kFormatHelp =
    "allowed: float:P (2 <= P <= 4096), fixed:I.F (I >= 1, F >= 0, I+F <= 4096), bf16, fp16, fp32, fp64";

// Rounds x * 2^F to the nearest integer, ties to even.
Integer round_half_even(const Rational& x) {
  Integer fl;
  mpz_fdiv_q(fl.get_mpz_t(), x.get_num_mpz_t(), x.get_den_mpz_t());
  Rational frac = x - Rational(fl);
  int c = cmp(frac, Rational(1, 2));
  if (c > 0 || (c == 0 && mpz_odd_p(fl.get_mpz_t()))) fl += 1;
  return fl;
}
}  // namespace

std::string Format::name() const {
  if (kind == Kind::Float) return "float:" + std::to_string(P);
  return "fixed:" + std::to_string(I) + "." + std::to_string(F);
}

Rational Format::fixed_max() const {
  Integer top;
  mpz_ui_pow_ui(top.get_mpz_t(), 2, static_cast<unsigned long>(I + F - 1));
  Integer den;
  mpz_ui_pow_ui(den.get_mpz_t(), 2, static_cast<unsigned long>(F));
  Rational r(top - 1, den);
  r.canonicalize();
  return r;
}
Rational Format::fixed_min() const {
  Integer top;
  mpz_ui_pow_ui(top.get_mpz_t(), 2, static_cast<unsigned long>(I + F - 1));
  Integer den;
  mpz_ui_pow_ui(den.get_mpz_t(), 2, static_cast<unsigned long>(F));
  Rational r(-top, den);
  r.canonicalize();
  return r;
}

Format parse_format(std::string_view text) {
  if (text == "bf16") return Format::float_bits(8);
  if (text == "fp16") return Format::float_bits(11);
  if (text == "fp32") return Format::float_bits(24);
  if (text == "fp64") return Format::float_bits(53);
  if (text.substr(0, 6) == "float:") {
    int P = parse_int(text.substr(6), "significand bits", text);
    if (P < 2 || P > kMaxFloatBits)
      throw std::invalid_argument("format '" + std::string(text) + "': P must be in 2..4096");
    return Format::float_bits(P);
  }
  if (text.substr(0, 6) == "fixed:") {
    auto rest = text.substr(6);
    auto dot = rest.find('.');
    if (dot == std::string_view::npos)
      throw std::invalid_argument("format '" + std::string(text) + "': expected fixed:I.F; " + kFormatHelp);
    int I = parse_int(rest.substr(0, dot), "integer bits", text);
    int F = parse_int(rest.substr(dot + 1), "fraction bits", text);
    if (I < 1 || I + F > kMaxFixedBits || I + F < 2)
      throw std::invalid_argument("format '" + std::string(text) +
                                  "': need I >= 1 and 2 <= I+F <= 4096");
    return Format::fixed_bits(I, F);
  }
  throw std::invalid_argument("unknown format '" + std::string(text) + "'; " + kFormatHelp);
}

namespace {
// Nearest representable value, ties to even, ignoring the fixed-point range.  Monotone in x.
Rational round_unchecked(const Format& fmt, const Rational& x) {
  if (fmt.kind == Format::Kind::Float) {
    MpfrReal r = MpfrReal::zero(fmt.P);
    mpfr_set_q(r.get(), x.get_mpq_t(), MPFR_RNDN);  // correct rounding, ties to even
    return r.to_rational();
  }
  Integer scale;
  mpz_ui_pow_ui(scale.get_mpz_t(), 2, static_cast<unsigned long>(fmt.F));
  Integer k = round_half_even(x * Rational(scale));
  Rational r(k, scale);
  r.canonicalize();
  return r;
}

void require_in_range(const Format& fmt, const Rational& rounded, const std::string& what) {
  if (fmt.kind == Format::Kind::Fixed && (rounded > fmt.fixed_max() || rounded < fmt.fixed_min()))
    throw FormatRangeError("value " + what + " is outside the range of " + fmt.name() + " [" +
                           to_decimal_string(fmt.fixed_min(), 8) + ", " + to_decimal_string(fmt.fixed_max(), 8) +
                           "]");
}
}  // namespace

Rational round_to(const Format& fmt, const Rational& x) {
  Rational r = round_unchecked(fmt, x);
  require_in_range(fmt, r, to_decimal_string(x, 8));
  return r;
}

std::optional<Rational> round_to(const Format& fmt, const Interval& x) {
  // An unbounded or NaN enclosure decides nothing.
  if (!x.is_finite()) return std::nullopt;
  // Rounding is monotone, so equal rounded endpoints mean every point rounds to that value.
  // Only then is a range error certain; endpoints that round differently (possibly one of them
  // out of range) straddle a boundary: refine.
  Rational lo = round_unchecked(fmt, x.lower());
  Rational hi = round_unchecked(fmt, x.upper());
  if (lo != hi) return std::nullopt;
  require_in_range(fmt, lo, x.to_string(8));
  return lo;
}

int float_exponent_bits(long min_exp, long max_exp) {
  long codes = max_exp - min_exp + 2;  // one extra code for zero
  int bits = 0;
  while ((1L << bits) < codes) ++bits;
  return bits;
}

std::string Semantics::name() const {
  switch (kind) {
    case Kind::Exact: return "exact";
    case Kind::Embed: return "embed:" + format.name();
    case Kind::Arith: return "arith:" + format.name();
    case Kind::Tiled: return "tiled:" + format.name() + ":" + std::to_string(tile);
  }
  return "exact";
}

Semantics parse_semantics(std::string_view text) {
  const std::string help = "allowed: exact, embed:<fmt>, arith:<fmt>, tiled:<fmt>:<T> with <fmt> one of " +
                           std::string(kFormatHelp + 9);
  Semantics s;
  if (text == "exact") return s;
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    throw std::invalid_argument("unknown semantics '" + std::string(text) + "'; " + help);
  auto head = text.substr(0, colon);
  auto rest = text.substr(colon + 1);
  if (head == "embed" || head == "arith") {
    s.kind = head == "embed" ? Semantics::Kind::Embed : Semantics::Kind::Arith;
    s.format = parse_format(rest);
    return s;
  }
  if (head == "tiled") {
    auto last = rest.rfind(':');
    if (last == std::string_view::npos)
      throw std::invalid_argument("semantics '" + std::string(text) + "': expected tiled:<fmt>:<T>");
    s.kind = Semantics::Kind::Tiled;
    try {
      s.format = parse_format(rest.substr(0, last));
    } catch (const std::invalid_argument&) {
      // "tiled:float:8" parses as format "float" with T = 8: say what is really missing.
      bool whole_is_format = true;
      try { parse_format(rest); } catch (const std::invalid_argument&) { whole_is_format = false; }
      if (whole_is_format)
        throw std::invalid_argument("semantics '" + std::string(text) +
                                    "': missing tile size; expected tiled:<fmt>:<T> with T >= 1");
      throw;
    }
    s.tile = parse_int(rest.substr(last + 1), "tile size", text);
    if (s.tile < 1) throw std::invalid_argument("semantics '" + std::string(text) + "': tile size T must be >= 1");
    return s;
  }
  throw std::invalid_argument("unknown semantics '" + std::string(text) + "'; " + help);
}

}  // namespace attnbounds
