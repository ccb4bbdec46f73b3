#include "numeric/format.hpp"

#include <algorithm>
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
    "allowed: float:P (2 <= P <= 4096), fixed:I.F (I >= 1, F >= 0, I+F <= 4096), fp16, bf16, fp32, fp64, fp8e4m3, "
    "fp8e5m2";

Rational pow2q(long e) {
  Integer p = 1;
  mpz_mul_2exp(p.get_mpz_t(), p.get_mpz_t(), static_cast<mp_bitcnt_t>(e < 0 ? -e : e));
  return e < 0 ? Rational(Integer(1), p) : Rational(p);
}

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

Format Format::ieee_bits(int E, int P) {
  Format f;
  f.kind = Kind::Bounded;
  f.E = E;
  f.P = P;
  f.emax = (1 << (E - 1)) - 1;
  f.emin = 1 - f.emax;
  f.has_infinity = true;
  return f;
}

Format Format::fp8_e4m3() {
  Format f = ieee_bits(4, 4);
  f.emax = 8;  // the all-ones exponent field (15, bias 7) holds normal numbers
  f.has_infinity = false;
  return f;
}

namespace {
struct NamedFormat {
  const char* name;
  Format (*make)();
};
const NamedFormat kNamedFormats[] = {{"fp16", Format::fp16},       {"bf16", Format::bf16},
                                     {"fp32", Format::fp32},       {"fp64", Format::fp64},
                                     {"fp8e4m3", Format::fp8_e4m3}, {"fp8e5m2", Format::fp8_e5m2}};
}  // namespace

std::string Format::name() const {
  if (kind == Kind::Float) return "float:" + std::to_string(P);
  if (kind == Kind::Bounded) {
    for (const auto& n : kNamedFormats)
      if (n.make() == *this) return n.name;
    return "bounded:e" + std::to_string(E) + "p" + std::to_string(P);
  }
  return "fixed:" + std::to_string(I) + "." + std::to_string(F);
}

Rational Format::max_finite() const {
  // (2^P - 1) 2^(emax-P+1); E4M3 loses its all-ones significand to NaN: (2^P - 2) 2^(emax-P+1).
  Integer top = 1;
  mpz_mul_2exp(top.get_mpz_t(), top.get_mpz_t(), static_cast<mp_bitcnt_t>(P));
  top -= has_infinity ? 1 : 2;
  return Rational(top) * pow2q(emax - P + 1);
}
Rational Format::min_normal() const { return pow2q(emin); }
Rational Format::min_subnormal() const { return pow2q(emin - P + 1); }

RoundingErrorBound rounding_error_bound(const Format& fmt) {
  switch (fmt.kind) {
    case Format::Kind::Float: return {pow2q(-fmt.P), Rational(0)};
    case Format::Kind::Fixed: return {Rational(0), pow2q(-(fmt.F + 1))};
    case Format::Kind::Bounded: return {pow2q(-fmt.P), pow2q(fmt.emin - fmt.P)};
  }
  return {Rational(1), Rational(1)};
}

long floor_log2(const Rational& x) {
  if (x == 0) throw std::domain_error("floor_log2 of 0");
  const Integer n = abs(x.get_num());
  const Integer& d = x.get_den();
  long e = static_cast<long>(mpz_sizeinbase(n.get_mpz_t(), 2)) - static_cast<long>(mpz_sizeinbase(d.get_mpz_t(), 2));
  // n/d is in (2^(e-1), 2^(e+1)): floor(log2) is e or e - 1.
  Integer lhs = n, rhs = d;
  if (e >= 0) mpz_mul_2exp(rhs.get_mpz_t(), rhs.get_mpz_t(), static_cast<mp_bitcnt_t>(e));
  else mpz_mul_2exp(lhs.get_mpz_t(), lhs.get_mpz_t(), static_cast<mp_bitcnt_t>(-e));
  return lhs < rhs ? e - 1 : e;
}

void ExponentRange::add(long e) {
  min = any ? std::min(min, e) : e;
  max = any ? std::max(max, e) : e;
  any = true;
}
void ExponentRange::add(const Rational& x) {
  if (x != 0) add(floor_log2(x));
}
void ExponentRange::add(mpfr_srcptr x) {
  if (mpfr_regular_p(x)) add(static_cast<long>(mpfr_get_exp(x)) - 1);  // x = m 2^exp, 1/2 <= m < 1
}

int float_exponent_bits(const ExponentRange& used) {
  return used.any ? float_exponent_bits(used.min, used.max) : 0;
}

int encoded_value_bits(const Format& fmt, const ExponentRange& used) {
  if (fmt.kind != Format::Kind::Float) return fmt.value_bits();
  return 1 + (fmt.P - 1) + float_exponent_bits(used);
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
  for (const auto& n : kNamedFormats)
    if (text == n.name) return n.make();
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
// Bounded formats: the nearest value on the format's grid with the exponent unbounded above
// (subnormal spacing 2^(emin-P+1) below 2^emin), ties to even; range checks come after.  Values
// far beyond the largest finite one return 2^(emax+2), which is out of range like them.
Rational round_bounded_unchecked(const Format& fmt, const Rational& x) {
  if (x == 0) return Rational(0);
  const long e = floor_log2(x);
  if (e < fmt.emin - fmt.P) return Rational(0);  // |x| < 2^(emin-P): below half the smallest subnormal
  if (e > fmt.emax + 1) return x > 0 ? pow2q(fmt.emax + 2) : Rational(-pow2q(fmt.emax + 2));
  const long quantum = std::max<long>(e, fmt.emin) - (fmt.P - 1);
  Integer k = round_half_even(x * pow2q(-quantum));
  return Rational(k) * pow2q(quantum);
}

// Nearest representable value, ties to even, ignoring the range.  Monotone in x.
Rational round_unchecked(const Format& fmt, const Rational& x) {
  if (fmt.kind == Format::Kind::Bounded) return round_bounded_unchecked(fmt, x);
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

bool overflows(const Format& fmt, const Rational& rounded) {
  return fmt.kind == Format::Kind::Bounded && abs(rounded) > fmt.max_finite();
}

void require_in_range(const Format& fmt, const Rational& rounded, const std::string& what) {
  if (overflows(fmt, rounded))
    throw FormatRangeError("value " + what + " overflows " + fmt.name() + " (largest finite " +
                           to_exact_decimal_or_fraction(fmt.max_finite()) + "; the hardware result would be " +
                           (fmt.has_infinity ? "inf" : "NaN") + ")",
                           "use a format with a wider exponent range (e.g. fp32 or float:P)");
  if (fmt.kind == Format::Kind::Fixed && (rounded > fmt.fixed_max() || rounded < fmt.fixed_min()))
    throw FormatRangeError("value " + what + " is outside the range of " + fmt.name() + " [" +
                           to_decimal_string(fmt.fixed_min(), 8) + ", " + to_decimal_string(fmt.fixed_max(), 8) +
                           "]",
                           "use a format with more integer bits");
}
}  // namespace

Rational round_to(const Format& fmt, const Rational& x) {
  Rational r = round_unchecked(fmt, x);
  require_in_range(fmt, r, to_decimal_string(x, 8));
  return r;
}

namespace {
// One endpoint of an enclosure rounded in a bounded format, without building the huge rational
// of an endpoint far below the subnormal range or far above the largest value.
Rational round_bounded_endpoint(const Format& fmt, mpfr_srcptr v) {
  if (mpfr_zero_p(v)) return Rational(0);
  const long e = static_cast<long>(mpfr_get_exp(v)) - 1;  // floor(log2 |v|)
  if (e < fmt.emin - fmt.P) return Rational(0);
  if (e > fmt.emax + 1) return mpfr_sgn(v) > 0 ? pow2q(fmt.emax + 2) : Rational(-pow2q(fmt.emax + 2));
  MpfrReal copy = MpfrReal::zero(mpfr_get_prec(v));
  mpfr_set(copy.get(), v, MPFR_RNDN);  // exact
  return round_bounded_unchecked(fmt, copy.to_rational());
}
}  // namespace

std::optional<Rational> round_to(const Format& fmt, const Interval& x) {
  // An unbounded or NaN enclosure decides nothing.
  if (!x.is_finite()) return std::nullopt;
  if (fmt.kind == Format::Kind::Bounded) {
    const Rational lo = round_bounded_endpoint(fmt, &x.get()->left);
    const Rational hi = round_bounded_endpoint(fmt, &x.get()->right);
    // Every value past the largest finite one overflows to the same inf (or NaN): when both
    // endpoints overflow on one side, every point does.
    if (overflows(fmt, lo) && overflows(fmt, hi) && (lo > 0) == (hi > 0)) require_in_range(fmt, lo, x.to_string(8));
    if (lo != hi) return std::nullopt;
    require_in_range(fmt, lo, x.to_string(8));
    return lo;
  }
  // Rounding is monotone, so equal rounded endpoints mean every point rounds to that value.
  // Only then is a range error certain; endpoints that round differently (possibly one of them
  // out of range) straddle a boundary: refine.
  Rational lo = round_unchecked(fmt, x.lower());
  Rational hi = round_unchecked(fmt, x.upper());
  if (lo != hi) return std::nullopt;
  require_in_range(fmt, lo, x.to_string(8));
  return lo;
}

std::uint64_t encode_bits(const Format& fmt, const Rational& value, bool negative_zero) {
  if (fmt.kind != Format::Kind::Bounded)
    throw std::invalid_argument("encode_bits: " + fmt.name() + " has no hardware encoding");
  if (round_unchecked(fmt, value) != value || overflows(fmt, value))
    throw std::invalid_argument("encode_bits: " + to_exact_decimal_or_fraction(value) + " is not a value of " +
                                fmt.name());
  const int frac_bits = fmt.P - 1;
  const std::uint64_t sign = (value < 0 || (value == 0 && negative_zero)) ? 1 : 0;
  std::uint64_t field = 0, frac = 0;
  const Rational a = abs(value);
  if (a != 0) {
    const long e = floor_log2(a);
    if (e < fmt.emin) {  // subnormal: a = frac * 2^(emin - P + 1)
      frac = Integer(a / fmt.min_subnormal()).get_ui();
    } else {
      field = static_cast<std::uint64_t>(e - fmt.emin + 1);
      frac = Integer((a * pow2q(-e) - 1) * pow2q(frac_bits)).get_ui();
    }
  }
  return (sign << (fmt.E + frac_bits)) | (field << frac_bits) | frac;
}

DecodedValue decode_bits(const Format& fmt, std::uint64_t bits) {
  if (fmt.kind != Format::Kind::Bounded)
    throw std::invalid_argument("decode_bits: " + fmt.name() + " has no hardware encoding");
  const int frac_bits = fmt.P - 1;
  const std::uint64_t frac_mask = (std::uint64_t{1} << frac_bits) - 1;
  const std::uint64_t field_max = (std::uint64_t{1} << fmt.E) - 1;
  DecodedValue d;
  d.negative = ((bits >> (fmt.E + frac_bits)) & 1) != 0;
  const std::uint64_t field = (bits >> frac_bits) & field_max, frac = bits & frac_mask;
  if (field == field_max && (fmt.has_infinity || frac == frac_mask)) {
    d.cls = fmt.has_infinity && frac == 0 ? DecodedValue::Class::Infinity : DecodedValue::Class::NaN;
    return d;
  }
  Rational m(Integer(static_cast<unsigned long>(frac)));
  if (field == 0) {
    d.value = m * fmt.min_subnormal();
  } else {
    m = m * pow2q(-frac_bits) + 1;
    d.value = m * pow2q(static_cast<long>(field) + fmt.emin - 1);
  }
  if (d.negative) d.value = -d.value;
  return d;
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
