// Numeric engines (math §2): rationals, MPFR reals, MPFI intervals, the DInterval double filter,
// formats and the arith number type.  Oracles: exact rationals, and MPFR at higher precision.
//
// Why "contains the MPFR value at higher precision" is a rigorous test: an enclosure's endpoints
// are representable at the higher precision too, and round-to-nearest is monotone, so if the
// exact value lies in [lo, hi] then so does its correctly rounded high-precision value.  A miss
// therefore always means a wrong enclosure (up to the ~2^-100 chance that the exact value of a
// composite expression sits within 2^-100 of an endpoint).
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "numeric/dinterval.hpp"
#include "numeric/format.hpp"
#include "numeric/format_real.hpp"
#include "numeric/interval.hpp"
#include "numeric/mpfr_real.hpp"
#include "numeric/rational.hpp"

using namespace attnbounds;

namespace {

constexpr std::uint64_t kSeed = 20230611;

Rational pow2(long e) {
  Integer p;
  mpz_ui_pow_ui(p.get_mpz_t(), 2, static_cast<unsigned long>(e < 0 ? -e : e));
  return e < 0 ? Rational(Integer(1), p) : Rational(p);
}

// Canonical n/d (gmpxx's two-argument constructor does not canonicalise, and == needs it).
Rational frac(long n, long d) {
  Rational r(n, d);
  r.canonicalize();
  return r;
}
Rational frac(const Integer& n, const Integer& d) {
  Rational r(n, d);
  r.canonicalize();
  return r;
}

// A random rational in [0, 1) with a 60-bit numerator and an odd denominator near 2^60, times
// 2^e for e uniform in [-scale, scale], with a random sign unless positive.
Rational random_rational(std::mt19937_64& rng, int scale = 20, bool positive = false) {
  std::uint64_t num = rng() >> 4, den = ((std::uint64_t(1) << 60) + (rng() >> 24)) | 1;
  Rational r(Integer(std::to_string(num)), Integer(std::to_string(den)));
  r.canonicalize();
  if (!positive && (rng() & 1)) r = -r;
  std::uniform_int_distribution<int> e(-scale, scale);
  r *= pow2(e(rng));
  if (r == 0) r = Rational(1, 3);
  return r;
}

bool in(const Interval& iv, const MpfrReal& x) { return iv.contains(x); }

// Checks that a unary interval function at P bits contains MPFR at P+100 bits, and that
// enclosures at P and 2P overlap with the 2P one no wider.
void check_unary(const char* name, const std::function<Interval(const Interval&)>& fi,
                 const std::function<MpfrReal(const MpfrReal&)>& fr,
                 const std::function<Rational(std::mt19937_64&)>& gen, int count) {
  std::mt19937_64 rng(kSeed);
  for (int P : {24, 53, 113}) {
    int misses = 0, no_overlap = 0, wider = 0;
    for (int t = 0; t < count; ++t) {
      Rational x = gen(rng);
      Interval lo_prec = fi(Interval(x, P));
      Interval hi_prec = fi(Interval(x, 2 * P));
      MpfrReal ref = fr(MpfrReal(x, P + 100));
      misses += in(lo_prec, ref) ? 0 : 1;
      no_overlap += lo_prec.overlaps(hi_prec) ? 0 : 1;
      wider += hi_prec.width_double() <= lo_prec.width_double() ? 0 : 1;
    }
    INFO(name << " at " << P << " bits");
    CHECK(misses == 0);
    CHECK(no_overlap == 0);
    CHECK(wider == 0);
  }
}

void check_binary(const char* name, const std::function<Interval(const Interval&, const Interval&)>& fi,
                  const std::function<MpfrReal(const MpfrReal&, const MpfrReal&)>& fr, int count) {
  std::mt19937_64 rng(kSeed + 1);
  for (int P : {24, 53, 113}) {
    int misses = 0, no_overlap = 0;
    for (int t = 0; t < count; ++t) {
      Rational a = random_rational(rng), b = random_rational(rng);
      Interval lo_prec = fi(Interval(a, P), Interval(b, P));
      Interval hi_prec = fi(Interval(a, 2 * P), Interval(b, 2 * P));
      MpfrReal ref = fr(MpfrReal(a, P + 100), MpfrReal(b, P + 100));
      misses += in(lo_prec, ref) ? 0 : 1;
      no_overlap += lo_prec.overlaps(hi_prec) ? 0 : 1;
    }
    INFO(name << " at " << P << " bits");
    CHECK(misses == 0);
    CHECK(no_overlap == 0);
  }
}

// An MPFR value at 200 bits of a double (exact).
MpfrReal hp(double x) { return MpfrReal(x, 200); }
bool dcontains(DInterval r, const MpfrReal& x) {
  return mpfr_cmp_d(x.get(), r.lower()) >= 0 && mpfr_cmp_d(x.get(), r.upper()) <= 0;
}

// A random double with a random sign and binary exponent in [-emax, emax].
double random_double(std::mt19937_64& rng, int emax) {
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  std::uniform_int_distribution<int> e(-emax, emax);
  double x = std::ldexp(mant(rng), e(rng));
  return (rng() & 1) ? -x : x;
}

// A random interval [x, x + w] with w a random fraction of |x| (possibly 0).
DInterval random_dinterval(std::mt19937_64& rng, int emax) {
  double a = random_double(rng, emax), b = random_double(rng, emax);
  switch (rng() % 3) {
    case 0: return DInterval(a);
    case 1: return DInterval(std::fmin(a, b), std::fmax(a, b));
    default: {
      double w = std::fabs(a) * std::ldexp(1.0, -static_cast<int>(rng() % 40));
      return DInterval(a, a + w);
    }
  }
}

// Points of an interval at which the exact function value must be enclosed.
std::vector<double> sample_points(DInterval x, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double t = u(rng);
  double mid = x.lower() + t * (x.upper() - x.lower());
  if (!(mid >= x.lower() && mid <= x.upper())) mid = x.lower();
  return {x.lower(), x.upper(), mid};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rationals

TEST_CASE("parse_rational reads decimals, fractions and exponents exactly", "[numeric]") {
  CHECK(parse_rational("0.125") == Rational(1, 8));
  CHECK(parse_rational("-2/7") == Rational(-2, 7));
  CHECK(parse_rational("1e-3") == Rational(1, 1000));
  CHECK(parse_rational("-1.5e2") == Rational(-150));
  CHECK(parse_rational("3") == Rational(3));
  CHECK(parse_rational("+4/6") == Rational(2, 3));
  CHECK(parse_rational(".5") == Rational(1, 2));
  CHECK(parse_rational("2.5E+1") == Rational(25));
  CHECK(parse_rational("0.1") == Rational(1, 10));  // not the double 0.1
  for (const char* bad : {"", "-", "abc", "1/0", "1.2.3", "1e", "1e 5", "1 2/3", "1/2/3", "0x10", "1e-x", "/3",
                          "3/", "1.5/2", " 1", "1 ", "1e999999", "--1", "1/ 2"}) {
    INFO("input '" << bad << "'");
    CHECK_THROWS_AS(parse_rational(bad), std::invalid_argument);
  }
}

TEST_CASE("rational printing: exact decimal or fraction, and directed decimals", "[numeric]") {
  CHECK(to_exact_decimal_or_fraction(Rational(1, 8)) == "0.125");
  CHECK(to_exact_decimal_or_fraction(Rational(-1, 8)) == "-0.125");
  CHECK(to_exact_decimal_or_fraction(Rational(1, 10)) == "0.1");
  CHECK(to_exact_decimal_or_fraction(Rational(-3)) == "-3");
  CHECK(to_exact_decimal_or_fraction(Rational(1, 3)) == "1/3");
  CHECK(to_exact_decimal_or_fraction(Rational(-2, 7)) == "-2/7");
  CHECK(to_exact_decimal_or_fraction(Rational(1, 80)) == "0.0125");
  CHECK(to_exact_string(Rational(6, -4)) == "-3/2");
  CHECK(to_exact_string(Rational(4)) == "4");
  CHECK(to_decimal_string(Rational(1, 3), 5, -1) == "0.33333");
  CHECK(to_decimal_string(Rational(1, 3), 5, +1) == "0.33334");
  CHECK(to_decimal_string(Rational(-1, 3), 5, -1) == "-0.33334");
  CHECK(to_decimal_string(Rational(2, 3), 5, 0) == "0.66667");

  // Directed strings bracket the value, on random rationals and digit counts.
  std::mt19937_64 rng(kSeed);
  for (int t = 0; t < 2000; ++t) {
    Rational r = random_rational(rng, 60);
    int digits = 1 + static_cast<int>(rng() % 25);
    Rational down = parse_rational(to_decimal_string(r, digits, -1));
    Rational up = parse_rational(to_decimal_string(r, digits, +1));
    INFO(to_exact_string(r) << " digits " << digits);
    REQUIRE(down <= r);
    REQUIRE(r <= up);
    REQUIRE(parse_rational(to_exact_decimal_or_fraction(r)) == r);
  }
}

// ---------------------------------------------------------------------------------------------
// MpfrReal

TEST_CASE("MpfrReal keeps the precision asked for, in bits", "[numeric]") {
  MpfrReal a(1.0, 17), b(3.0, 300);
  CHECK(a.precision() == 17);
  CHECK(b.precision() == 300);
  CHECK((a + b).precision() == 300);
  CHECK((b * a).precision() == 300);
  CHECK((a / a).precision() == 17);
  CHECK(exp(a).precision() == 17);
  {
    WorkingPrecision wp(77);
    CHECK(MpfrReal(1).precision() == 77);
    CHECK(MpfrReal().precision() == 77);
    {
      WorkingPrecision inner(500);
      CHECK(MpfrReal(Rational(1, 3)).precision() == 500);
    }
    CHECK(MpfrReal(2.0).precision() == 77);
  }
  // 1/3 at 17 bits is 1/3 rounded to nearest: error below 2^-19 (ulp of 1/3 at 17 bits is 2^-18).
  MpfrReal third = MpfrReal(1L, 17) / MpfrReal(3L, 17);
  Rational err = third.to_rational() - Rational(1, 3);
  CHECK(abs(err) <= pow2(-19));
  CHECK(third.to_rational() != Rational(1, 3));
  // Assignment takes the source's precision.
  MpfrReal c(0.0, 10);
  c = b;
  CHECK(c.precision() == 300);
  CHECK(const_pi(100).to_string(30).substr(0, 12) == "3.1415926535");
}

// ---------------------------------------------------------------------------------------------
// Interval (MPFI)

TEST_CASE("Interval ops contain MPFR at 100 more bits; two precisions overlap", "[numeric]") {
  const int n = 2000;
  check_binary("+", [](const Interval& a, const Interval& b) { return a + b; },
               [](const MpfrReal& a, const MpfrReal& b) { return a + b; }, n);
  check_binary("-", [](const Interval& a, const Interval& b) { return a - b; },
               [](const MpfrReal& a, const MpfrReal& b) { return a - b; }, n);
  check_binary("*", [](const Interval& a, const Interval& b) { return a * b; },
               [](const MpfrReal& a, const MpfrReal& b) { return a * b; }, n);
  check_binary("/", [](const Interval& a, const Interval& b) { return a / b; },
               [](const MpfrReal& a, const MpfrReal& b) { return a / b; }, n);
  auto any = [](std::mt19937_64& rng) { return random_rational(rng, 9); };
  auto positive = [](std::mt19937_64& rng) { return random_rational(rng, 30, true); };
  auto wide = [](std::mt19937_64& rng) { return random_rational(rng, 20); };
  check_unary("exp", [](const Interval& a) { return exp(a); }, [](const MpfrReal& a) { return exp(a); }, any, n);
  check_unary("log", [](const Interval& a) { return log(a); }, [](const MpfrReal& a) { return log(a); }, positive, n);
  check_unary("sqrt", [](const Interval& a) { return sqrt(a); }, [](const MpfrReal& a) { return sqrt(a); }, positive, n);
  check_unary("cos", [](const Interval& a) { return cos(a); }, [](const MpfrReal& a) { return cos(a); }, wide, n);
  check_unary("sin", [](const Interval& a) { return sin(a); }, [](const MpfrReal& a) { return sin(a); }, wide, n);
}

TEST_CASE("Interval composite expression (a softmax weight) contains the high-precision value", "[numeric]") {
  std::mt19937_64 rng(kSeed + 7);
  int misses = 0;
  for (int t = 0; t < 1000; ++t) {
    Rational s0 = random_rational(rng, 4), s1 = random_rational(rng, 4), s2 = random_rational(rng, 4);
    auto weight = [&](auto a, auto b, auto c) {
      auto m = a;  // shift by the first score: any common shift is exact in theory
      auto e0 = exp(a - m), e1 = exp(b - m), e2 = exp(c - m);
      return e1 / (e0 + e1 + e2);
    };
    Interval w = weight(Interval(s0, 53), Interval(s1, 53), Interval(s2, 53));
    MpfrReal ref = weight(MpfrReal(s0, 153), MpfrReal(s1, 153), MpfrReal(s2, 153));
    misses += w.contains(ref) ? 0 : 1;
    REQUIRE(w.width_double() < 1e-12);
  }
  CHECK(misses == 0);
}

TEST_CASE("Interval endpoints, points and comparisons are exact", "[numeric]") {
  Interval third = Interval(1L, 64) / Interval(3L, 64);
  CHECK(third.lower() < Rational(1, 3));
  CHECK(Rational(1, 3) < third.upper());
  CHECK(third.contains(Rational(1, 3)));
  // lower_point/upper_point are exactly the endpoints (no widening).
  CHECK(third.lower_point().lower() == third.lower());
  CHECK(third.lower_point().upper() == third.lower());
  CHECK(third.upper_point().lower() == third.upper());
  CHECK(third.upper_point().precision() == 64);
  Interval hull_iv(Rational(1, 4), Rational(3, 4), 10);
  CHECK(hull_iv.lower() == Rational(1, 4));
  CHECK(hull_iv.upper() == Rational(3, 4));
  // Hull of non-dyadic rationals is rounded outward.
  Interval out(Rational(1, 3), Rational(2, 3), 20);
  CHECK(out.lower() < Rational(1, 3));
  CHECK(out.upper() > Rational(2, 3));
  CHECK(certainly_less(Interval(1L, 53), Interval(2L, 53)));
  CHECK_FALSE(certainly_less(Interval(Rational(0), Rational(2), 53), Interval(1L, 53)));
  CHECK(certainly_less_equal(Interval(1L, 53), Interval(1L, 53)));
  CHECK_FALSE(certainly_less(Interval(1L, 53), Interval(1L, 53)));
  CHECK(upper_less(Interval(Rational(0), Rational(1), 53), Interval(Rational(0), Rational(2), 53)));
  CHECK(Interval(2L, 53).overlaps(Interval(Rational(1), Rational(2), 53)));
  CHECK_FALSE(Interval(3L, 53).overlaps(Interval(Rational(1), Rational(2), 53)));
  CHECK(pi_interval(200).contains(const_pi(300)));
  CHECK(Interval(Rational(1, 3), 80).precision() == 80);
  {
    WorkingPrecision wp(90);
    CHECK(Interval(1).precision() == 90);
    CHECK((Interval(1) + Interval(2L, 200)).precision() == 200);
  }
}

TEST_CASE("Interval with infinite endpoints: comparisons stay sound, endpoints refuse", "[numeric]") {
  // Division by an interval containing 0 gives an unbounded enclosure.
  Interval unbounded = Interval(1L, 53) / Interval(Rational(-1), Rational(1), 53);
  CHECK_FALSE(unbounded.is_finite());
  CHECK(Interval(1L, 53).is_finite());
  // Before the fix, upper() of +inf read as 0, so this claimed "unbounded < 5".
  CHECK_FALSE(certainly_less(unbounded, Interval(5L, 53)));
  CHECK_FALSE(certainly_less(Interval(5L, 53), unbounded));
  CHECK_THROWS_AS(unbounded.upper(), std::domain_error);
  CHECK_THROWS_AS(unbounded.lower(), std::domain_error);
  // A positive interval over one containing 0 from the right: [1, +inf].
  Interval half = Interval(1L, 53) / Interval(Rational(0), Rational(1), 53);
  CHECK_FALSE(certainly_less(half, Interval(5L, 53)));
  CHECK(upper_less(Interval(5L, 53), half));
  // NaN (log of a negative interval) decides nothing.
  Interval nan = log(Interval(-1L, 53));
  CHECK_FALSE(nan.is_finite());
  CHECK_FALSE(certainly_less(nan, Interval(5L, 53)));
  CHECK_FALSE(certainly_less(Interval(5L, 53), nan));
}

// ---------------------------------------------------------------------------------------------
// DInterval: the proven double bound

TEST_CASE("DInterval arithmetic encloses MPFR at 200 bits (mixed signs, wide exponents)", "[numeric]") {
  std::mt19937_64 rng(kSeed + 2);
  int misses[4] = {0, 0, 0, 0};
  const int n = 20000;
  for (int t = 0; t < n; ++t) {
    // Exponents up to ±500 keep products and quotients inside the double range.
    DInterval a = random_dinterval(rng, 500), b = random_dinterval(rng, 500);
    DInterval r[4] = {a + b, a - b, a * b, a / b};
    for (double x : sample_points(a, rng))
      for (double y : sample_points(b, rng)) {
        misses[0] += dcontains(r[0], hp(x) + hp(y)) ? 0 : 1;
        misses[1] += dcontains(r[1], hp(x) - hp(y)) ? 0 : 1;
        misses[2] += dcontains(r[2], hp(x) * hp(y)) ? 0 : 1;
        if (y != 0) misses[3] += dcontains(r[3], hp(x) / hp(y)) ? 0 : 1;
      }
  }
  CHECK(misses[0] == 0);
  CHECK(misses[1] == 0);
  CHECK(misses[2] == 0);
  CHECK(misses[3] == 0);
}

TEST_CASE("DInterval arithmetic at the edges: cancellation, subnormals, overflow", "[numeric]") {
  std::mt19937_64 rng(kSeed + 3);
  int misses = 0;
  for (int t = 0; t < 5000; ++t) {
    // Nearly equal operands (catastrophic cancellation) and subnormal-range products.
    double x = random_double(rng, 30);
    double y = DInterval::up(x, static_cast<int>(rng() % 5));
    misses += dcontains(DInterval(x) - DInterval(y), hp(x) - hp(y)) ? 0 : 1;
    double s = random_double(rng, 540), u = std::ldexp(random_double(rng, 0), -540);
    misses += dcontains(DInterval(s) * DInterval(u), hp(s) * hp(u)) ? 0 : 1;
    misses += dcontains(DInterval(u) / DInterval(s), hp(u) / hp(s)) ? 0 : 1;
  }
  CHECK(misses == 0);
  // Overflow: the enclosure of DBL_MAX * 2 must reach +inf and stay above DBL_MAX.
  const double big = std::numeric_limits<double>::max();
  DInterval o = DInterval(big) * DInterval(2.0);
  CHECK(std::isinf(o.upper()));
  CHECK(o.lower() <= big);
  CHECK(dcontains(o, hp(big) * hp(2.0)));
  // Division by an interval containing 0 is the whole line.
  DInterval whole = DInterval(1.0) / DInterval(-1.0, 1.0);
  CHECK(std::isinf(whole.lower()));
  CHECK(std::isinf(whole.upper()));
  CHECK_FALSE(whole.is_finite());
}

TEST_CASE("DInterval exp/log/sqrt/cos/sin enclose MPFR at 200 bits", "[numeric]") {
  std::mt19937_64 rng(kSeed + 4);
  std::uniform_real_distribution<double> exp_arg(-745.0, 709.0), small(-20.0, 20.0);
  int miss_exp = 0, miss_log = 0, miss_sqrt = 0, miss_cos = 0, miss_sin = 0;
  for (int t = 0; t < 20000; ++t) {
    double x = (t % 2) ? exp_arg(rng) : small(rng);
    double w = std::fabs(x) * std::ldexp(1.0, -static_cast<int>(rng() % 50));
    DInterval X = (t % 3 == 0) ? DInterval(x) : DInterval(x, x + w);
    DInterval E = exp(X);
    for (double p : sample_points(X, rng)) miss_exp += dcontains(E, exp(hp(p))) ? 0 : 1;

    double y = std::fabs(random_double(rng, 1000));
    DInterval Y = (t % 3 == 0) ? DInterval(y) : DInterval(y, y * (1 + std::ldexp(1.0, -static_cast<int>(rng() % 50))));
    DInterval L = log(Y), S = sqrt(Y);
    for (double p : sample_points(Y, rng)) {
      miss_log += dcontains(L, log(hp(p))) ? 0 : 1;
      miss_sqrt += dcontains(S, sqrt(hp(p))) ? 0 : 1;
    }
    double z = random_double(rng, 20);
    DInterval Z = (t % 3 == 0) ? DInterval(z) : DInterval(z, z + std::fabs(z) * std::ldexp(1.0, -static_cast<int>(rng() % 50)));
    DInterval C = cos(Z), Sn = sin(Z);
    for (double p : sample_points(Z, rng)) {
      miss_cos += dcontains(C, cos(hp(p))) ? 0 : 1;
      miss_sin += dcontains(Sn, sin(hp(p))) ? 0 : 1;
    }
  }
  CHECK(miss_exp == 0);
  CHECK(miss_log == 0);
  CHECK(miss_sqrt == 0);
  CHECK(miss_cos == 0);
  CHECK(miss_sin == 0);
  // Tight: exp of a point is a few ulps wide.
  DInterval e1 = exp(DInterval(1.0));
  CHECK(e1.width() <= 10 * std::ldexp(1.0, -51));
  CHECK(exp(DInterval(-1000.0)).lower() == 0.0);
  CHECK(std::isinf(exp(DInterval(710.0)).upper()));
  CHECK(dcontains(exp(DInterval(710.0)), exp(hp(710.0))));
}

TEST_CASE("DInterval: NaN means no information and is never dropped", "[numeric]") {
  DInterval bad = log(DInterval(-1.0, 2.0));  // log is undefined on part of it
  CHECK(bad.has_nan());
  // Before the fix, fmin/fmax dropped the NaN corners and this gave a finite interval.
  CHECK((bad * DInterval(1.0)).has_nan());
  CHECK((DInterval(1.0) / bad).has_nan());
  CHECK(exp(bad).has_nan());
  CHECK(abs(bad).has_nan());
  CHECK(hull(bad, DInterval(1.0)).has_nan());
  CHECK(sqrt(DInterval(-2.0, -1.0)).has_nan());
  CHECK((bad + DInterval(1.0)).has_nan());
  CHECK_FALSE(certainly_less(bad, DInterval(1e300)));
  CHECK_FALSE(certainly_less(DInterval(-1e300), bad));
  CHECK_FALSE(bad.is_finite());
  // sqrt of an interval straddling 0 encloses sqrt over its non-negative part.
  DInterval s = sqrt(DInterval(-1e-20, 4.0));
  CHECK(s.lower() <= 0.0);
  CHECK(s.upper() >= 2.0);
  // log at 0 reaches -inf; 0 * inf corners are handled as real products.
  CHECK(std::isinf(log(DInterval(0.0, 1.0)).lower()));
  DInterval big(0.0, std::numeric_limits<double>::infinity());
  DInterval prod = big * DInterval(-1.0, 0.0);
  CHECK(std::isinf(prod.lower()));
  CHECK(prod.upper() >= 0.0);
  CHECK_FALSE(prod.has_nan());
}

TEST_CASE("DInterval round trip through Interval is outward", "[numeric]") {
  Interval third = Interval(1L, 200) / Interval(3L, 200);
  DInterval d = DInterval::from_interval(third);
  // The double 1.0/3.0 is 1/3 rounded down, so the outward pair is exactly (1.0/3.0, next up).
  CHECK(d.lower() == 1.0 / 3.0);
  CHECK(d.upper() == DInterval::up(1.0 / 3.0));
  CHECK(d.to_interval(64).contains(Rational(1, 3)));
}

// ---------------------------------------------------------------------------------------------
// Formats

TEST_CASE("float:P rounds to nearest, ties to even", "[numeric]") {
  for (int P = 2; P <= 60; ++P) {
    const Format f = Format::float_bits(P);
    const Rational ulp = pow2(1 - P);  // spacing in [1, 2)
    INFO("P = " << P);
    CHECK(round_to(f, 1 + ulp / 2) == 1);                   // tie: 1 is even
    CHECK(round_to(f, 1 + 3 * ulp / 2) == 1 + 2 * ulp);     // tie: 1 + 2ulp is even
    CHECK(round_to(f, 1 + ulp / 2 + pow2(-200)) == 1 + ulp);
    CHECK(round_to(f, -(1 + ulp / 2)) == -1);
    CHECK(round_to(f, 1 + ulp) == 1 + ulp);                 // representable stays
  }
  // Random rationals: the result is representable and no representable neighbour is closer.
  std::mt19937_64 rng(kSeed + 5);
  for (int t = 0; t < 3000; ++t) {
    int P = 2 + static_cast<int>(rng() % 60);
    Rational x = random_rational(rng, 100);
    Rational r = round_to(Format::float_bits(P), x);
    MpfrReal m(r, P);
    REQUIRE(m.to_rational() == r);  // representable with P bits
    MpfrReal up = m, down = m;
    mpfr_nextabove(up.get());
    mpfr_nextbelow(down.get());
    REQUIRE(abs(x - r) <= abs(x - up.to_rational()));
    REQUIRE(abs(x - r) <= abs(x - down.to_rational()));
  }
  CHECK(round_to(Format::float_bits(8), Rational(0)) == 0);
  // Exponent unbounded: tiny and huge values keep P significant bits.
  CHECK(round_to(Format::float_bits(8), pow2(-5000) * 3) == pow2(-5000) * 3);
}

TEST_CASE("fixed:I.F rounds to the 2^-F grid, ties to even, range errors never clamp", "[numeric]") {
  const Format f = Format::fixed_bits(4, 2);  // grid 1/4, range [-8, 7.75]
  CHECK(round_to(f, Rational(1, 8)) == 0);            // tie 0 | 1/4: 0 is even
  CHECK(round_to(f, Rational(3, 8)) == Rational(1, 2));  // tie 1/4 | 1/2: 1/2 is even
  CHECK(round_to(f, Rational(-1, 8)) == 0);
  CHECK(round_to(f, Rational(-3, 8)) == Rational(-1, 2));
  CHECK(round_to(f, Rational(5, 8)) == Rational(1, 2));
  CHECK(round_to(f, Rational(7, 8)) == 1);
  CHECK(round_to(f, Rational(1, 3)) == Rational(1, 4));
  CHECK(round_to(f, parse_rational("0.38")) == Rational(1, 2));

  const Format g = parse_format("fixed:2.2");
  CHECK(g.fixed_max() == Rational(7, 4));
  CHECK(g.fixed_min() == -2);
  CHECK(round_to(g, Rational(7, 4)) == Rational(7, 4));
  CHECK(round_to(g, parse_rational("1.8")) == Rational(7, 4));  // rounds down into range
  CHECK_THROWS_AS(round_to(g, parse_rational("1.875")), FormatRangeError);  // tie goes to 2 (even)
  CHECK_THROWS_AS(round_to(g, Rational(2)), FormatRangeError);
  CHECK_THROWS_AS(round_to(g, Rational(1000)), FormatRangeError);
  CHECK(round_to(g, Rational(-2)) == -2);
  CHECK(round_to(g, parse_rational("-2.1")) == -2);  // nearest grid point -2 is representable
  CHECK_THROWS_AS(round_to(g, parse_rational("-2.13")), FormatRangeError);
  try {
    round_to(g, Rational(5));
    FAIL("no range error");
  } catch (const FormatRangeError& e) {
    CHECK(std::string(e.what()).find("fixed:2.2") != std::string::npos);
  }

  // Random rationals against an independent integer computation.
  std::mt19937_64 rng(kSeed + 6);
  for (int t = 0; t < 3000; ++t) {
    int I = 1 + static_cast<int>(rng() % 12), F = static_cast<int>(rng() % 20);
    const Format h = Format::fixed_bits(I, F);
    Integer num(std::to_string(rng() >> 40));
    Integer den(std::to_string((rng() >> 44) + 1));
    if (rng() & 1) num = -num;
    Rational x(num, den);
    x.canonicalize();
    // k = round(x 2^F): floor, then compare twice the remainder with the denominator.
    Integer scaled = num * (Integer(1) << F), k;
    mpz_fdiv_q(k.get_mpz_t(), scaled.get_mpz_t(), den.get_mpz_t());
    Integer rem = scaled - k * den;
    if (2 * rem > den || (2 * rem == den && mpz_odd_p(k.get_mpz_t()))) k += 1;
    Integer limit = Integer(1) << (I + F - 1);
    Rational expect(k, Integer(1) << F);
    expect.canonicalize();
    if (k >= limit || k < -limit) {
      REQUIRE_THROWS_AS(round_to(h, x), FormatRangeError);
    } else {
      REQUIRE(round_to(h, x) == expect);
    }
  }
}

TEST_CASE("rounding an enclosure decides only when every point rounds alike", "[numeric]") {
  const Format g = parse_format("fixed:2.2");
  CHECK(round_to(g, Interval(Rational(1, 5), Rational(3, 10), 64)).value() == Rational(1, 4));
  CHECK_FALSE(round_to(g, Interval(Rational(1, 10), Rational(2, 5), 64)).has_value());
  // Straddling the top of the range: undecided, not an error (the value may be in range).
  CHECK_FALSE(round_to(g, Interval(parse_rational("1.8"), parse_rational("1.9"), 64)).has_value());
  // Certainly out of range: an error.
  CHECK_THROWS_AS(round_to(g, Interval(parse_rational("1.9"), parse_rational("1.95"), 64)), FormatRangeError);
  // Unbounded enclosures decide nothing.
  Interval unbounded = Interval(1L, 53) / Interval(Rational(-1), Rational(1), 53);
  CHECK_FALSE(round_to(Format::float_bits(8), unbounded).has_value());
  // round_certified refines until decided: exp(1) to float:24 equals MPFR's correctly rounded exp.
  Rational e24 = round_certified(Format::float_bits(24), [](mpfr_prec_t bits) { return exp(Interval(1L, bits)); });
  CHECK(e24 == exp(MpfrReal(1L, 24)).to_rational());
}

TEST_CASE("format bit widths, names and aliases", "[numeric]") {
  // The hardware names are the bounded formats; float:P keeps the unbounded exponent.
  CHECK(parse_format("bf16") == Format::bf16());
  CHECK(parse_format("fp16") == Format::fp16());
  CHECK(parse_format("fp32") == Format::fp32());
  CHECK(parse_format("fp64") == Format::fp64());
  CHECK_FALSE(parse_format("fp32") == Format::float_bits(24));
  CHECK(parse_format("float:24").kind == Format::Kind::Float);
  CHECK(parse_format("fixed:2.2").value_bits() == 4);
  CHECK(parse_format("fixed:4.12").value_bits() == 16);
  CHECK(parse_format("float:24").value_bits() == 25);  // significand + sign; exponent separate
  CHECK(parse_format("fixed:4.12").name() == "fixed:4.12");
  CHECK(parse_format("float:24").name() == "float:24");
  CHECK(parse_format("fp32").name() == "fp32");
  CHECK(parse_format("fixed:1.1").fixed_max() == Rational(1, 2));
  CHECK(parse_format("fixed:1.1").fixed_min() == -1);
  CHECK(float_exponent_bits(0, 0) == 1);    // one exponent + zero: 2 codes
  CHECK(float_exponent_bits(-3, 4) == 4);   // 8 exponents + zero: 9 codes
  CHECK(float_exponent_bits(-1, 0) == 2);   // 2 exponents + zero: 3 codes
}

TEST_CASE("format and semantics parsers accept and reject with messages", "[numeric]") {
  for (const char* good : {"float:2", "float:4096", "fixed:1.1", "fixed:1.0001", "fixed:8.8", "bf16"}) {
    INFO(good);
    CHECK_NOTHROW(parse_format(good));
  }
  auto message_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  for (const char* bad : {"float:1", "float:0", "float:4097", "float:x", "float:", "fixed:0.4", "fixed:4", "fixed:1.0",
                          "fixed:4.x", "fixed:.4", "fixed:4.4.4", "floaty:3", "fp8", "fp8e4m2", "fp8:e4m3", "", "FLOAT:8", "float:8 ",
                          "float:-8"}) {
    INFO("format '" << bad << "'");
    std::string msg = message_of([&] { parse_format(bad); });
    CHECK_FALSE(msg.empty());
  }
  CHECK(message_of([] { parse_format("float:1"); }).find("2..4096") != std::string::npos);
  CHECK(message_of([] { parse_format("fixed:0.4"); }).find("I >= 1") != std::string::npos);
  CHECK(message_of([] { parse_format("float:x"); }).find("significand") != std::string::npos);
  CHECK(message_of([] { parse_format("nope"); }).find("fixed:I.F") != std::string::npos);

  CHECK(parse_semantics("exact").is_exact());
  CHECK(parse_semantics("embed:bf16").kind == Semantics::Kind::Embed);
  CHECK(parse_semantics("arith:fixed:4.12").format == Format::fixed_bits(4, 12));
  Semantics t = parse_semantics("tiled:float:8:4");
  CHECK(t.kind == Semantics::Kind::Tiled);
  CHECK(t.tile == 4);
  CHECK(t.format == Format::float_bits(8));
  for (const char* bad : {"embed:fixed:4", "tiled:float:8", "tiled:float:8:0", "tiled:float:8:x", "tiled:bf16",
                          "exactly", "embed", "embed:", "arith:float:1", "round:float:8", "Exact"}) {
    INFO("semantics '" << bad << "'");
    CHECK_FALSE(message_of([&] { parse_semantics(bad); }).empty());
  }
  CHECK(message_of([] { parse_semantics("tiled:float:8"); }).find("missing tile size") != std::string::npos);
  CHECK(message_of([] { parse_semantics("tiled:float:8:0"); }).find("T must be >= 1") != std::string::npos);
  CHECK(message_of([] { parse_semantics("embed:fixed:4"); }).find("fixed:I.F") != std::string::npos);
  CHECK(message_of([] { parse_semantics("bogus"); }).find("tiled:<fmt>:<T>") != std::string::npos);

  // name() round-trips through the parser (aliases come back canonical).
  for (const char* text : {"exact", "embed:float:24", "arith:fixed:4.12", "tiled:fixed:2.6:3", "embed:bf16",
                           "arith:fp64", "tiled:fp16:1", "embed:fp8e4m3", "tiled:fp8e5m2:2"}) {
    Semantics s = parse_semantics(text);
    INFO(text << " -> " << s.name());
    CHECK(parse_semantics(s.name()) == s);
  }
  CHECK(parse_semantics("embed:bf16").name() == "embed:bf16");
  CHECK(parse_semantics("embed:float:8").name() == "embed:float:8");
  CHECK(parse_semantics("tiled:fixed:2.6:3").name() == "tiled:fixed:2.6:3");
}

// ---------------------------------------------------------------------------------------------
// FormatReal (arith semantics)

TEST_CASE("FormatReal float:P arithmetic equals MPFR at precision P exactly", "[numeric]") {
  std::mt19937_64 rng(kSeed + 8);
  for (int P : {8, 11, 24, 53}) {
    const Format f = Format::float_bits(P);
    ArithFormatScope scope(f);
    int mismatches = 0;
    for (int t = 0; t < 1500; ++t) {
      double a = random_double(rng, 60), b = random_double(rng, 60);
      FormatReal A(a), B(b);
      MpfrReal ma(a, P), mb(b, P);
      REQUIRE(A.value() == ma.to_rational());
      mismatches += (A + B).value() == (ma + mb).to_rational() ? 0 : 1;
      mismatches += (A - B).value() == (ma - mb).to_rational() ? 0 : 1;
      mismatches += (A * B).value() == (ma * mb).to_rational() ? 0 : 1;
      mismatches += (A / B).value() == (ma / mb).to_rational() ? 0 : 1;
      double small = std::ldexp(a, -std::ilogb(a) + static_cast<int>(rng() % 8) - 4);  // |x| in [1/16, 16)
      FormatReal S(small);
      MpfrReal ms(small, P);
      mismatches += exp(S).value() == exp(ms).to_rational() ? 0 : 1;
      FormatReal Apos = abs(A);
      MpfrReal mapos = abs(ma);
      mismatches += log(Apos).value() == log(mapos).to_rational() ? 0 : 1;
      mismatches += sqrt(Apos).value() == sqrt(mapos).to_rational() ? 0 : 1;
    }
    INFO("float:" << P);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("FormatReal fixed arithmetic rounds exactly once, ties to even", "[numeric]") {
  const int I = 8, F = 8;
  const Format f = Format::fixed_bits(I, F);
  ArithFormatScope scope(f);
  std::mt19937_64 rng(kSeed + 9);
  const Integer one = Integer(1) << F;
  // Integer reference: round(n / d) to nearest, ties to even.
  auto rne = [](const Integer& n, const Integer& d) {
    Integer q;
    mpz_fdiv_q(q.get_mpz_t(), n.get_mpz_t(), d.get_mpz_t());
    Integer r = n - q * d;
    if (2 * r > d || (2 * r == d && mpz_odd_p(q.get_mpz_t()))) q += 1;
    return q;
  };
  int checked = 0;
  for (int t = 0; t < 5000; ++t) {
    long ka = static_cast<long>(rng() % 4096) - 2048, kb = static_cast<long>(rng() % 4096) - 2048;
    FormatReal A(frac(ka, 256)), B(frac(kb, 256));
    REQUIRE(A.value() == frac(ka, 256));
    REQUIRE((A + B).value() == frac(ka + kb, 256));
    Integer prod = rne(Integer(ka) * Integer(kb), one);
    REQUIRE((A * B).value() == frac(prod, one));
    if (kb != 0) {
      Integer n = Integer(ka) * one, d = Integer(kb);
      if (d < 0) { n = -n; d = -d; }
      Integer quo = rne(n, d);
      if (abs(quo) < (Integer(1) << (I + F - 1))) {
        REQUIRE((A / B).value() == frac(quo, one));
        ++checked;
      } else {
        REQUIRE_THROWS_AS(A / B, FormatRangeError);
      }
    }
  }
  CHECK(checked > 1000);
  // Ties to even on a product: (3/256) * (1/2) = 1.5/256 -> 2/256; (1/256) * (1/2) -> 0.
  CHECK((FormatReal(Rational(3, 256)) * FormatReal(Rational(1, 2))).value() == Rational(1, 128));
  CHECK((FormatReal(Rational(1, 256)) * FormatReal(Rational(1, 2))).value() == 0);
  // Out of range results are errors, never clamped.
  CHECK_THROWS_AS(FormatReal(Rational(100)) * FormatReal(Rational(2)), FormatRangeError);
  CHECK_THROWS_AS(FormatReal(Rational(128)), FormatRangeError);
  CHECK_THROWS_AS(FormatReal(Rational(1)) / FormatReal(Rational(0)), std::domain_error);
}

TEST_CASE("FormatReal exp/log/sqrt are correctly rounded in fixed formats", "[numeric]") {
  const Format f = Format::fixed_bits(6, 10);
  ArithFormatScope scope(f);
  std::mt19937_64 rng(kSeed + 10);
  const Rational half_ulp = pow2(-11);
  // The high-precision enclosure must lie within half an ulp of the rounded result.
  auto nearest = [&](const Rational& r, const Interval& exact) {
    return exact.lower() >= r - half_ulp && exact.upper() <= r + half_ulp;
  };
  for (int t = 0; t < 1500; ++t) {
    long k = static_cast<long>(rng() % 3000) - 1500;  // x in about [-1.5, 1.5]
    Rational x = frac(k, 1024);
    FormatReal X(x);
    REQUIRE(nearest(exp(X).value(), exp(Interval(x, 300))));
    if (k > 0) {
      REQUIRE(nearest(log(X).value(), log(Interval(x, 300))));
      REQUIRE(nearest(sqrt(X).value(), sqrt(Interval(x, 300))));
    }
  }
  CHECK(exp(FormatReal(Rational(0))).value() == 1);
  CHECK(sqrt(FormatReal(Rational(9, 4))).value() == Rational(3, 2));  // exact square root
  CHECK(sqrt(FormatReal(Rational(0))).value() == 0);
  CHECK(log(FormatReal(Rational(1))).value() == 0);
  CHECK_THROWS_AS(exp(FormatReal(Rational(5))), FormatRangeError);  // e^5 > 31.99
  CHECK_THROWS_AS(log(FormatReal(Rational(0))), std::domain_error);
  CHECK_THROWS_AS(sqrt(FormatReal(Rational(-1))), std::domain_error);
}

TEST_CASE("FormatReal: formats never mix, constants follow the scope, NaN refused", "[numeric]") {
  FormatReal a(Rational(1), Format::float_bits(8)), b(Rational(1), Format::float_bits(24));
  CHECK_THROWS_AS(a + b, std::invalid_argument);
  {
    ArithFormatScope outer(Format::float_bits(8));
    CHECK(FormatReal(1).format() == Format::float_bits(8));
    CHECK(FormatReal(Rational(1, 3)).value() == round_to(Format::float_bits(8), Rational(1, 3)));
    {
      ArithFormatScope inner(parse_format("fixed:4.4"));
      CHECK(FormatReal(0).format() == Format::fixed_bits(4, 4));
    }
    CHECK(FormatReal(0).format() == Format::float_bits(8));
  }
  CHECK(FormatReal(0).format() == Format::float_bits(53));
  CHECK_THROWS_AS(FormatReal(std::numeric_limits<double>::quiet_NaN()), std::domain_error);
  CHECK_THROWS_AS(FormatReal(std::numeric_limits<double>::infinity()), std::domain_error);
  // Large float arithmetic: sqrt of 2 at float:53 equals the double sqrt(2).
  ArithFormatScope s53(Format::float_bits(53));
  CHECK(sqrt(FormatReal(2)).to_double() == std::sqrt(2.0));
}

TEST_CASE("rational printing canonicalises its input", "[numeric]") {
  CHECK(to_exact_decimal_or_fraction(Rational(6, -4)) == "-1.5");
  CHECK(to_exact_decimal_or_fraction(Rational(2, 6)) == "1/3");
}

TEST_CASE("DInterval::down/up step exactly like std::nextafter", "[numeric]") {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> xs = {0.0, -0.0, 1.0, -1.0, std::numeric_limits<double>::denorm_min(),
                            -std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(),
                            -std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
                            -std::numeric_limits<double>::max(), inf, -inf, 0.5, 2.0, -2.0};
  std::mt19937_64 rng(kSeed + 11);
  for (int t = 0; t < 20000; ++t) xs.push_back(random_double(rng, 1070));
  for (double x : xs) {
    double d = x, u = x;
    for (int k = 1; k <= 4; ++k) {
      d = std::nextafter(d, -inf);
      u = std::nextafter(u, inf);
      INFO(x << " steps " << k);
      REQUIRE(std::bit_cast<std::uint64_t>(DInterval::down(x, k)) == std::bit_cast<std::uint64_t>(d));
      REQUIRE(std::bit_cast<std::uint64_t>(DInterval::up(x, k)) == std::bit_cast<std::uint64_t>(u));
    }
  }
  CHECK(std::isnan(DInterval::down(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isnan(DInterval::up(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("DInterval::from_rational is the tightest double enclosure", "[numeric]") {
  std::mt19937_64 rng(kSeed + 12);
  for (int t = 0; t < 5000; ++t) {
    Rational q = random_rational(rng, 1100);  // includes overflow and subnormal magnitudes
    DInterval d = DInterval::from_rational(q);
    INFO(to_exact_string(q));
    if (std::isfinite(d.lower())) REQUIRE(Rational(d.lower()) <= q);
    if (std::isfinite(d.upper())) REQUIRE(q <= Rational(d.upper()));
    REQUIRE(d.lower() <= d.upper());
    // Tight: at most one double step wide, and no double strictly inside.
    REQUIRE(DInterval::up(d.lower()) >= d.upper());
  }
  CHECK(DInterval::from_rational(Rational(3, 4)).width() == 0.0);
  CHECK(DInterval::from_rational(Rational(1, 3)).lower() == 1.0 / 3.0);
  CHECK(DInterval::from_rational(Rational(1, 3)).upper() == DInterval::up(1.0 / 3.0));
  CHECK(std::isinf(DInterval::from_rational(pow2(2000)).upper()));
  CHECK(DInterval::from_rational(pow2(2000)).lower() == std::numeric_limits<double>::max());
  CHECK(DInterval::from_rational(pow2(-2000)).lower() == 0.0);
  CHECK(DInterval::from_rational(pow2(-2000)).upper() == std::numeric_limits<double>::denorm_min());
}

TEST_CASE("precision and format scopes are per thread", "[numeric]") {
  WorkingPrecision wp(300);
  ArithFormatScope fs(Format::float_bits(8));
  mpfr_prec_t in_worker = 0;
  Format worker_format;
  std::thread t([&] {
    in_worker = working_bits();
    worker_format = current_arith_format();
  });
  t.join();
  CHECK(working_bits() == 300);
  CHECK(in_worker == 128);  // the default: a worker must set its own scope
  CHECK(current_arith_format() == Format::float_bits(8));
  CHECK(worker_format == Format::float_bits(53));
}

TEST_CASE("FormatReal float values far below 1 stay exact MPFR values (no huge rationals)", "[numeric]") {
  // exp(-10^6) is about 2^-1442695: as a rational its denominator has 1.4 million bits.
  const Format f = Format::float_bits(11);
  const FormatReal x(Rational(-1000000), f);
  const FormatReal e = exp(x);
  MpfrReal ref = MpfrReal::zero(11);
  mpfr_set_si(ref.get(), -1000000, MPFR_RNDN);
  mpfr_exp(ref.get(), ref.get(), MPFR_RNDN);
  CHECK(mpfr_get_exp(ref.get()) < -1442000);
  CHECK(e.lower_point().contains(ref));
  // A sum with a huge/tiny mix rounds back to the larger term, as fp16-like arithmetic does.
  const FormatReal one(Rational(1), f);
  CHECK((one + e) == one);
  CHECK(e < one);
  CHECK(FormatReal(Rational(0), f) < e);
}

TEST_CASE("Interval::widened_bounds is exact for ordinary endpoints and cheap after underflow", "[numeric]") {
  const Interval ordinary(Rational(1, 3), 64);
  const auto b = ordinary.widened_bounds();
  CHECK(b.lower == ordinary.lower());
  CHECK(b.upper == ordinary.upper());
  // exp(-10^15) underflows: MPFI keeps [0, 2^-(2^30)]; the exact right endpoint would be a
  // rational with a billion-bit denominator.  Widened: [0, 2^-4096], still an enclosure.
  const Interval tiny = exp(Interval(Rational(Integer("-1000000000000000")), 64));
  const auto t = tiny.widened_bounds();
  const Rational two_m4096(Integer(1), Integer(1) << 4096);
  CHECK(t.lower == 0);
  CHECK(t.upper == two_m4096);
  const auto n = (-tiny).widened_bounds();
  CHECK(n.lower == -two_m4096);
  CHECK(n.upper == 0);
  const Interval unbounded = Interval(1L, 64) / Interval(Rational(-1), Rational(1), 64);
  CHECK_THROWS_AS(unbounded.widened_bounds(), std::domain_error);
}
