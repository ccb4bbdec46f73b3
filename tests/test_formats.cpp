// Hardware formats (fp16, bf16, fp32, fp64, fp8e4m3, fp8e5m2): parameters, rounding at the edges
// against hand-computed values and against the machine's own float and double arithmetic,
// encodings, overflow as an error, and the widths messages must count.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "numeric/format.hpp"
#include "numeric/format_real.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

using namespace attnbounds;

namespace {

Rational p2(long e) {
  Integer p = 1;
  mpz_mul_2exp(p.get_mpz_t(), p.get_mpz_t(), static_cast<mp_bitcnt_t>(e < 0 ? -e : e));
  return e < 0 ? Rational(Integer(1), p) : Rational(p);
}

bool overflows(const Format& f, const Rational& x) {
  try {
    (void)round_to(f, x);
  } catch (const FormatRangeError&) {
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("hardware formats: exponent bits, significand bits, range, widths", "[numeric][formats]") {
  struct Row {
    const char* name;
    int E, P, emin, emax, width;
    Rational max_finite, min_subnormal;
  };
  const Row rows[] = {
      {"fp16", 5, 11, -14, 15, 16, Rational(65504), p2(-24)},
      {"bf16", 8, 8, -126, 127, 16, Rational(255) * p2(120), p2(-133)},
      {"fp32", 8, 24, -126, 127, 32, Rational((1L << 24) - 1) * p2(104), p2(-149)},
      {"fp64", 11, 53, -1022, 1023, 64, Rational(std::numeric_limits<double>::max()), p2(-1074)},
      {"fp8e4m3", 4, 4, -6, 8, 8, Rational(448), p2(-9)},
      {"fp8e5m2", 5, 3, -14, 15, 8, Rational(57344), p2(-16)},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    const Format f = parse_format(r.name);
    CHECK(f.kind == Format::Kind::Bounded);
    CHECK(f.name() == r.name);
    CHECK(f.E == r.E);
    CHECK(f.P == r.P);
    CHECK(f.emin == r.emin);
    CHECK(f.emax == r.emax);
    CHECK(f.value_bits() == r.width);
    CHECK(encoded_value_bits(f, ExponentRange{}) == r.width);
    CHECK(f.max_finite() == r.max_finite);
    CHECK(f.min_subnormal() == r.min_subnormal);
    CHECK(f.min_normal() == p2(r.emin));
    // The edges are values of the format and round to themselves; beyond them they do not.
    CHECK(round_to(f, r.max_finite) == r.max_finite);
    CHECK(round_to(f, -r.max_finite) == -r.max_finite);
    CHECK(round_to(f, r.min_subnormal) == r.min_subnormal);
    CHECK(round_to(f, f.min_normal()) == f.min_normal());
    // Underflow: half the smallest subnormal is a tie and goes to 0 (even); just above goes up.
    CHECK(round_to(f, r.min_subnormal / 2) == 0);
    CHECK(round_to(f, -r.min_subnormal / 2) == 0);
    CHECK(round_to(f, r.min_subnormal / 2 + p2(-2000)) == r.min_subnormal);
    CHECK(round_to(f, r.min_subnormal * Rational(3, 2)) == r.min_subnormal * 2);  // tie: 2 is even
    CHECK(round_to(f, r.min_subnormal * Rational(5, 2)) == r.min_subnormal * 2);  // tie: 2 is even
    CHECK(round_to(f, p2(-5000)) == 0);
    // Overflow: half an ulp above the largest finite value is a tie away from it (its
    // significand is odd) except in E4M3, whose next code is NaN (see its own test).
    const Rational ulp_max = p2(r.emax - r.P + 1);
    if (f.has_infinity) {
      CHECK(overflows(f, r.max_finite + ulp_max / 2));
      CHECK(round_to(f, r.max_finite + ulp_max / 2 - p2(-2000)) == r.max_finite);
    }
    CHECK(overflows(f, r.max_finite * 2));
    CHECK(overflows(f, -r.max_finite * 2));
    CHECK(overflows(f, p2(100000)));
  }
  // float:P keeps its meaning: unbounded exponent, width without the exponent.
  const Format u = parse_format("float:11");
  CHECK(u.kind == Format::Kind::Float);
  CHECK(round_to(u, Rational(1000000)) == Rational(999936));  // 1953 * 2^9: 11 bits, no overflow
  CHECK(round_to(u, p2(-30)) == p2(-30));                       // no subnormal range
  CHECK(round_to(Format::fp16(), p2(-30)) == 0);
}

TEST_CASE("fp16 by hand: ties to even, subnormals, overflow, encodings", "[numeric][formats]") {
  const Format h = Format::fp16();
  CHECK(round_to(h, 1 + p2(-11)) == 1);                         // tie between 1 and 1+2^-10: even
  CHECK(round_to(h, 1 + 3 * p2(-11)) == 1 + p2(-9));           // tie: 1+2*2^-10 is even
  CHECK(round_to(h, Rational(2049)) == 2048);                   // spacing 2 at 2048: tie to even
  CHECK(round_to(h, Rational(2051)) == 2052);
  CHECK(round_to(h, Rational(65519)) == 65504);
  CHECK(overflows(h, Rational(65520)));                         // 65504 + 16: ties to 65536 = inf
  CHECK(round_to(h, p2(-24) * Rational(7, 2)) == p2(-24) * 4);  // subnormal tie: 4 is even
  CHECK(round_to(h, Rational(1, 3)) == Rational(1365, 4096));   // 0.0101010101 01b -> 1365/4096
  CHECK(encode_bits(h, Rational(65504)) == 0x7BFF);
  CHECK(encode_bits(h, p2(-24)) == 0x0001);
  CHECK(encode_bits(h, p2(-14)) == 0x0400);
  CHECK(encode_bits(h, p2(-14) - p2(-24)) == 0x03FF);           // largest subnormal
  CHECK(encode_bits(h, Rational(1)) == 0x3C00);
  CHECK(encode_bits(h, Rational(-2)) == 0xC000);
  CHECK(encode_bits(h, Rational(0)) == 0x0000);
  CHECK(encode_bits(h, Rational(0), true) == 0x8000);           // negative zero
  CHECK(decode_bits(h, 0x8000).negative);
  CHECK(decode_bits(h, 0x8000).value == 0);
  CHECK(decode_bits(h, 0x7C00).cls == DecodedValue::Class::Infinity);
  CHECK(decode_bits(h, 0xFC00).cls == DecodedValue::Class::Infinity);
  CHECK(decode_bits(h, 0xFC00).negative);
  CHECK(decode_bits(h, 0x7E00).cls == DecodedValue::Class::NaN);
  CHECK(decode_bits(h, 0x7BFF).value == 65504);
  CHECK_THROWS_AS(encode_bits(h, Rational(1, 3)), std::invalid_argument);
  CHECK_THROWS_AS(encode_bits(h, Rational(65536)), std::invalid_argument);
  // Every finite code decodes to a value that rounds to itself and encodes back to the code.
  for (std::uint64_t c = 0; c < 0x10000; c += 7) {
    const DecodedValue d = decode_bits(h, c);
    if (d.cls != DecodedValue::Class::Finite) continue;
    REQUIRE(round_to(h, d.value) == d.value);
    REQUIRE(encode_bits(h, d.value, d.negative) == c);
  }
}

#ifdef __FLT16_MAX__
TEST_CASE("fp16 rounding equals the machine's _Float16 conversion", "[numeric][formats]") {
  std::mt19937_64 rng(1601);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  for (int t = 0; t < 20000; ++t) {
    double x = std::ldexp(mant(rng), static_cast<int>(rng() % 50) - 30);
    if (rng() & 1) x = -x;
    const _Float16 h = static_cast<_Float16>(x);  // correctly rounded, ties to even
    const double hd = static_cast<double>(h);
    if (std::isinf(hd)) {
      REQUIRE(overflows(Format::fp16(), Rational(x)));
    } else {
      REQUIRE(round_to(Format::fp16(), Rational(x)) == Rational(hd));
    }
  }
}
#endif

TEST_CASE("fp32 and fp64 rounding equal the machine's float and double arithmetic", "[numeric][formats]") {
  std::mt19937_64 rng(3201);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  const Format f32 = Format::fp32(), f64 = Format::fp64();
  auto rnd = [&](int lo, int span) {
    double x = std::ldexp(mant(rng), lo + static_cast<int>(rng() % static_cast<unsigned>(span)));
    return (rng() & 1) ? -x : x;
  };
  int overflow_seen = 0, subnormal_seen = 0;
  for (int t = 0; t < 20000; ++t) {
    // double -> float conversion (one rounding), across the whole float range and beyond.
    const double x = rnd(-160, 300);
    const float fx = static_cast<float>(x);
    if (std::isinf(fx)) {
      ++overflow_seen;
      REQUIRE(overflows(f32, Rational(x)));
    } else {
      if (fx != 0 && std::fabs(fx) < std::numeric_limits<float>::min()) ++subnormal_seen;
      REQUIRE(round_to(f32, Rational(x)) == Rational(static_cast<double>(fx)));
    }
    // float + float and float * float: the exact result rounded once (FLT_EVAL_METHOD == 0).
    const float a = static_cast<float>(rnd(-140, 270)), b = static_cast<float>(rnd(-140, 270));
    if (std::isfinite(a) && std::isfinite(b)) {
      const float s = a + b, p = a * b;
      const Rational qs = Rational(static_cast<double>(a)) + Rational(static_cast<double>(b));
      const Rational qp = Rational(static_cast<double>(a)) * Rational(static_cast<double>(b));
      if (std::isinf(s)) REQUIRE(overflows(f32, qs)); else REQUIRE(round_to(f32, qs) == Rational(static_cast<double>(s)));
      if (std::isinf(p)) REQUIRE(overflows(f32, qp)); else REQUIRE(round_to(f32, qp) == Rational(static_cast<double>(p)));
    }
    // double products near the subnormal and overflow ends.
    const double c = rnd(-1074, 2097), d = rnd(-600, 600);
    const double pd = c * d;
    const Rational qd = Rational(c) * Rational(d);
    if (std::isinf(pd)) REQUIRE(overflows(f64, qd)); else REQUIRE(round_to(f64, qd) == Rational(pd));
  }
  CHECK(overflow_seen > 0);
  CHECK(subnormal_seen > 0);
  CHECK(encode_bits(f32, Rational((1L << 24) - 1) * p2(104)) == 0x7F7FFFFF);
  CHECK(encode_bits(f32, p2(-149)) == 0x00000001);
  CHECK(encode_bits(f32, Rational(1)) == 0x3F800000);
  CHECK(encode_bits(f64, Rational(1)) == 0x3FF0000000000000ULL);
  CHECK(encode_bits(f64, p2(-1074)) == 1);
}

TEST_CASE("bf16 by hand", "[numeric][formats]") {
  const Format b = Format::bf16();
  CHECK(round_to(b, Rational(1, 3)) == Rational(171, 512));  // same significand as float:8
  CHECK(round_to(b, Rational(1000)) == 1000);
  CHECK(round_to(b, Rational(257)) == 256);                  // spacing 2 at 256: tie to even
  CHECK(round_to(b, Rational(259)) == 260);
  CHECK(encode_bits(b, Rational(255) * p2(120)) == 0x7F7F);
  CHECK(encode_bits(b, p2(-133)) == 0x0001);
  CHECK(encode_bits(b, Rational(1)) == 0x3F80);
  CHECK(decode_bits(b, 0x7F80).cls == DecodedValue::Class::Infinity);
  CHECK(decode_bits(b, 0x7FC0).cls == DecodedValue::Class::NaN);
  CHECK(overflows(b, Rational(255) * p2(120) + p2(119)));    // tie goes to 2^128: inf
  CHECK(round_to(b, Rational(255) * p2(120) + p2(119) - 1) == Rational(255) * p2(120));
}

TEST_CASE("fp8 E4M3 (OCP): no infinities, max 448, one NaN per sign, overflow is an error", "[numeric][formats]") {
  const Format f = Format::fp8_e4m3();
  CHECK_FALSE(f.has_infinity);
  CHECK(encode_bits(f, Rational(448)) == 0x7E);   // S.1111.110
  CHECK(encode_bits(f, Rational(-448)) == 0xFE);
  CHECK(encode_bits(f, Rational(256)) == 0x78);   // S.1111.000 is a normal number
  CHECK(encode_bits(f, p2(-9)) == 0x01);
  CHECK(encode_bits(f, p2(-6)) == 0x08);
  CHECK(encode_bits(f, Rational(1)) == 0x38);
  CHECK(encode_bits(f, Rational(0), true) == 0x80);
  CHECK(decode_bits(f, 0x7F).cls == DecodedValue::Class::NaN);
  CHECK(decode_bits(f, 0xFF).cls == DecodedValue::Class::NaN);
  CHECK(decode_bits(f, 0x7E).value == 448);
  CHECK(decode_bits(f, 0x78).value == 256);
  // 464 = (448 + 480)/2 is a tie: 448 = 1.110b * 2^8 is even, so it stays; anything above would
  // need 480 = 1.111b * 2^8, the NaN code: overflow.
  CHECK(round_to(f, Rational(464)) == 448);
  CHECK(overflows(f, Rational(464) + p2(-100)));
  CHECK(overflows(f, Rational(480)));
  CHECK(overflows(f, Rational(-500)));
  CHECK(round_to(f, Rational(17)) == 16);          // spacing 2 at 16: tie to even (16 = 1.000b)
  CHECK(round_to(f, Rational(19)) == 20);          // tie between 18 (odd) and 20 (even)
  CHECK(round_to(f, p2(-10)) == 0);                // half the smallest subnormal: tie to 0
  CHECK(round_to(f, 3 * p2(-10)) == p2(-8));       // tie between 1 and 2 units: 2
  // The 254 finite codes decode to strictly increasing values (positive half) that round to
  // themselves.
  Rational prev = -1;
  for (std::uint64_t c = 0; c < 0x7F; ++c) {
    const DecodedValue d = decode_bits(f, c);
    REQUIRE(d.cls == DecodedValue::Class::Finite);
    REQUIRE(d.value > prev);
    REQUIRE(round_to(f, d.value) == d.value);
    REQUIRE(encode_bits(f, d.value) == c);
    prev = d.value;
  }
}

TEST_CASE("fp8 E5M2 (OCP): IEEE-like, max 57344, inf, subnormals", "[numeric][formats]") {
  const Format f = Format::fp8_e5m2();
  CHECK(f.has_infinity);
  CHECK(encode_bits(f, Rational(57344)) == 0x7B);
  CHECK(encode_bits(f, p2(-16)) == 0x01);
  CHECK(encode_bits(f, p2(-14)) == 0x04);
  CHECK(encode_bits(f, Rational(1)) == 0x3C);
  CHECK(decode_bits(f, 0x7C).cls == DecodedValue::Class::Infinity);
  CHECK(decode_bits(f, 0xFC).cls == DecodedValue::Class::Infinity);
  for (std::uint64_t c : {0x7D, 0x7E, 0x7F}) CHECK(decode_bits(f, c).cls == DecodedValue::Class::NaN);
  CHECK(round_to(f, Rational(61439)) == 57344);
  CHECK(overflows(f, Rational(61440)));            // 57344 + 4096: tie to 65536 = inf
  CHECK(round_to(f, Rational(5)) == 5);            // spacing 1 at 4: 5 is 1.01b * 4, exact
  CHECK(round_to(f, Rational(9)) == 8);            // spacing 2 at 8: tie, 8 = 1.00b is even
  CHECK(round_to(f, Rational(11)) == 12);          // tie between 10 (odd) and 12 (even)
  Rational prev = -1;
  for (std::uint64_t c = 0; c < 0x7C; ++c) {
    const DecodedValue d = decode_bits(f, c);
    REQUIRE(d.value > prev);
    REQUIRE(round_to(f, d.value) == d.value);
    REQUIRE(encode_bits(f, d.value) == c);
    prev = d.value;
  }
}

TEST_CASE("rounding an enclosure in a bounded format: underflow decides, overflow is an error", "[numeric][formats]") {
  const Format h = Format::fp16();
  // exp(-10^6) is far below the subnormal range: every point rounds to 0, cheaply.
  CHECK(round_to(h, exp(Interval(-1000000L, 128))) == Rational(0));
  // Both ends overflow: an error; one end only: undecided.
  CHECK_THROWS_AS(round_to(h, Interval(Rational(100000), Rational(200000), 64)), FormatRangeError);
  CHECK_THROWS_AS(round_to(h, exp(Interval(1000000L, 128))), FormatRangeError);
  CHECK_FALSE(round_to(h, Interval(Rational(60000), Rational(70000), 64)).has_value());
  CHECK_FALSE(round_to(h, Interval(Rational(-100000), Rational(100000), 64)).has_value());
  CHECK(round_to(h, Interval(Rational(1), Rational(1) + p2(-12), 64)) == Rational(1));
}

TEST_CASE("FormatReal in bounded formats: subnormal results, underflow to 0, overflow as an error",
          "[numeric][formats]") {
  {
    ArithFormatScope scope(Format::fp16());
    const FormatReal big(Rational(60000)), ten(Rational(10000));
    CHECK_THROWS_AS(big + ten, FormatRangeError);                       // 70000 > 65504
    CHECK_THROWS_AS(big * FormatReal(Rational(2)), FormatRangeError);
    CHECK((big + FormatReal(Rational(1))).value() == 60000);             // spacing 32 at 60000
    const FormatReal tiny(p2(-24));
    CHECK((tiny / FormatReal(Rational(2))).value() == 0);                // tie to even: 0
    CHECK((tiny * FormatReal(Rational(3, 2))).value() == p2(-23));      // tie to even: 2 units
    CHECK(exp(FormatReal(Rational(-20))).value() == 0);                  // e^-20 < 2^-25
    CHECK(exp(FormatReal(Rational(-17))).value() == p2(-24));            // 2^-25 < e^-17 < 1.5 * 2^-24
    CHECK_THROWS_AS(exp(FormatReal(Rational(12))), FormatRangeError);    // e^12 = 162754.8
    CHECK(sqrt(FormatReal(Rational(2))).value() == Rational(181, 128));  // 1448/1024
    CHECK(FormatReal(Rational(1, 3)).value() == Rational(1365, 4096));
    CHECK(FormatReal(Rational(1, 3)).lower_point().contains(Rational(1365, 4096)));
    CHECK(FormatReal(Rational(1, 3)).format().name() == "fp16");
  }
  {
    ArithFormatScope scope(Format::fp8_e4m3());
    CHECK((FormatReal(Rational(448)) + FormatReal(Rational(16))).value() == 448);  // 464: tie to 448
    CHECK_THROWS_AS(FormatReal(Rational(448)) + FormatReal(Rational(32)), FormatRangeError);
    CHECK((FormatReal(Rational(1)) / FormatReal(Rational(3))).value() == Rational(11, 32));  // 0.0101|01.. -> 1.011b/4
  }
  // Overflow messages name the format, its largest value and the hardware result.
  try {
    (void)round_to(Format::fp8_e4m3(), Rational(1000));
    FAIL("no overflow");
  } catch (const FormatRangeError& e) {
    const std::string m = e.what();
    CHECK(m.find("fp8e4m3") != std::string::npos);
    CHECK(m.find("448") != std::string::npos);
    CHECK(m.find("NaN") != std::string::npos);
  }
}

TEST_CASE("encoded_value_bits counts the exponent bits a value set really uses", "[numeric][formats]") {
  ExponentRange r;
  r.add(Rational(0));  // zero has no exponent
  CHECK_FALSE(r.any);
  for (const Rational& x : {Rational(1), Rational(3, 2), Rational(-1, 4), Rational(7)}) r.add(x);
  CHECK(r.min == -2);
  CHECK(r.max == 2);
  // float:24: sign + 23 fraction bits + ceil(log2(5 exponents + zero)) = 1 + 23 + 3.
  CHECK(encoded_value_bits(Format::float_bits(24), r) == 27);
  // Only zeros: no exponent bits needed.
  CHECK(encoded_value_bits(Format::float_bits(24), ExponentRange{}) == 24);
  // float:2 values (1 fraction bit) over 35 exponents, up to 70 distinct values, need
  // 1 + 1 + ceil(log2(35 exponents + zero)) = 8 bits >= log2(70).
  ExponentRange wide;
  for (int e = 0; e < 35; ++e) wide.add(p2(e));
  CHECK(encoded_value_bits(Format::float_bits(2), wide) == 8);
  CHECK(Format::float_bits(2).value_bits() == 3);  // the old width, exponent ignored
  // Bounded and fixed formats: the full width whatever the values.
  CHECK(encoded_value_bits(Format::fp16(), r) == 16);
  CHECK(encoded_value_bits(Format::fixed_bits(4, 12), r) == 16);
  // Exponents from MPFR values agree with the rational ones.
  ExponentRange m;
  MpfrReal a(Rational(-1, 4), 53), b(Rational(7), 53);
  m.add(a.get());
  m.add(b.get());
  CHECK(m.min == -2);
  CHECK(m.max == 2);
  CHECK(floor_log2(Rational(1, 3)) == -2);
  CHECK(floor_log2(Rational(8)) == 3);
  CHECK(floor_log2(Rational(-9, 8)) == 0);
  CHECK(floor_log2(p2(-1074)) == -1074);
}

TEST_CASE("rounding error bounds of each format kind", "[numeric][formats]") {
  CHECK(rounding_error_bound(Format::float_bits(24)).relative == p2(-24));
  CHECK(rounding_error_bound(Format::float_bits(24)).absolute == 0);
  CHECK(rounding_error_bound(Format::fixed_bits(4, 8)).absolute == p2(-9));
  CHECK(rounding_error_bound(Format::fp16()).relative == p2(-11));
  CHECK(rounding_error_bound(Format::fp16()).absolute == p2(-25));
  // The bound holds at random points of every bounded format, subnormal range included.
  std::mt19937_64 rng(77);
  for (const char* name : {"fp16", "bf16", "fp32", "fp8e4m3", "fp8e5m2"}) {
    const Format f = parse_format(name);
    const RoundingErrorBound b = rounding_error_bound(f);
    for (int t = 0; t < 2000; ++t) {
      Rational x(Integer(static_cast<long>(rng() % 1000000) + 1), Integer(1000000));
      x.canonicalize();
      x *= p2(static_cast<long>(f.emin - f.P) + static_cast<long>(rng() % static_cast<unsigned>(f.emax - f.emin + f.P)));
      if (overflows(f, x)) continue;
      REQUIRE(abs(round_to(f, x) - x) <= b.relative * abs(x) + b.absolute);
    }
  }
}
