// DInterval's own exp and log (IEEE 754 operations only), its certified constants, and the fast
// paths of *, / and min/max against the four-corner reference rule.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "numeric/dinterval.hpp"
#include "numeric/exp_cache.hpp"
#include "numeric/interval.hpp"
#include "numeric/mpfr_real.hpp"
#include "numeric/rational.hpp"

using namespace attnbounds;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kMinNormal = std::numeric_limits<double>::min();
constexpr double kDenorm = std::numeric_limits<double>::denorm_min();

// MPFR reference at 153 bits: 100 bits more than a double.
constexpr mpfr_prec_t kRefBits = 153;

// The exact value f(x) rounded to kRefBits, and the direction of that rounding, so containment
// is decided exactly: lo <= f(x) is certain when lo <= the rounded value and, on equality, the
// rounding went down (the exact value is above).
struct Ref {
  mpfr_t v;
  int ternary;  // sign of (rounded - exact)
  Ref() { mpfr_init2(v, kRefBits); }
  ~Ref() { mpfr_clear(v); }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
};

bool encloses(DInterval r, const Ref& ref) {
  if (r.has_nan()) return false;
  const int lo = mpfr_cmp_d(ref.v, r.lower()), hi = mpfr_cmp_d(ref.v, r.upper());
  const bool lo_ok = lo > 0 || (lo == 0 && ref.ternary <= 0);
  const bool hi_ok = hi < 0 || (hi == 0 && ref.ternary >= 0);
  return lo_ok && hi_ok;
}

// Width in units of the gap between doubles at the reference value's binade.
double width_in_ulps(DInterval r, const Ref& ref) {
  const double v = mpfr_get_d(ref.v, MPFR_RNDN);
  const double ulp = std::ldexp(1.0, std::max(std::ilogb(v), -1022) - 52);
  return (r.upper() - r.lower()) / ulp;
}

void ref_exp(Ref& r, double x) {
  mpfr_set_d(r.v, x, MPFR_RNDN);  // exact
  r.ternary = mpfr_exp(r.v, r.v, MPFR_RNDN);
}
void ref_log(Ref& r, double x) {
  mpfr_set_d(r.v, x, MPFR_RNDN);
  r.ternary = mpfr_log(r.v, r.v, MPFR_RNDN);
}

// Points where exp is delicate: near multiples of ln 2 and the midpoints between them (where the
// reduction switches k), tiny arguments, the overflow and underflow thresholds, subnormal results.
std::vector<double> exp_edge_points() {
  std::vector<double> xs = {0.0, -0.0, kDenorm, -kDenorm, kMinNormal, -kMinNormal, 1e-300, -1e-300,
                            0x1p-54, -0x1p-54, 0x1p-30, 1.0, -1.0, 0.5, 100.0, -100.0,
                            709.782712893384, 709.7827128933841, 709.78, 709.79, 710.0, 1000.0, 1099.9,
                            1100.0, 1e300, -708.3964185322641, -708.4, -720.0, -744.44007192138126,
                            -745.1332191019411, -745.1332191019412, -745.2, -746.0, -1000.0, -1099.9,
                            -1100.0, -1e300, kMax, -kMax};
  const double ln2 = 0.6931471805599453;
  for (int k = -1076; k <= 1025; k += (k > -20 && k < 20) ? 1 : 37) {
    for (double off : {0.0, 0.5, -0.5}) {
      const double c = (k + off) * ln2;
      double lo = c, hi = c;
      for (int s = 0; s < 3; ++s) {
        xs.push_back(lo);
        xs.push_back(hi);
        lo = DInterval::down(lo);
        hi = DInterval::up(hi);
      }
    }
  }
  return xs;
}

// The four-corner rule the fast paths replace (reference, as the operations were defined before).
DInterval mul_reference(DInterval a, DInterval b) {
  if (a.has_nan() || b.has_nan()) return DInterval::invalid();
  double p1 = a.lower() * b.lower(), p2 = a.lower() * b.upper(), p3 = a.upper() * b.lower(), p4 = a.upper() * b.upper();
  return {DInterval::down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
          DInterval::up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
}
DInterval div_reference(DInterval a, DInterval b) {
  if (a.has_nan() || b.has_nan()) return DInterval::invalid();
  if (b.lower() <= 0 && b.upper() >= 0) return {-kInf, kInf};
  double p1 = a.lower() / b.lower(), p2 = a.lower() / b.upper(), p3 = a.upper() / b.lower(), p4 = a.upper() / b.upper();
  return {DInterval::down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
          DInterval::up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
}
bool same(DInterval a, DInterval b) {
  if (a.has_nan() || b.has_nan()) return a.has_nan() && b.has_nan();
  return a.lower() == b.lower() && a.upper() == b.upper();
}

std::vector<double> special_values() {
  return {-kInf, -kMax, -1e200, -3.0, -1.0, -kMinNormal, -kDenorm, -0.0, 0.0, kDenorm, kMinNormal,
          0.75, 1.0, 2.5, 1e200, kMax, kInf};
}

}  // namespace

TEST_CASE("DInterval reduction constants and coefficient tables are certified", "[numeric]") {
  // ln 2 lies in kLn2Hi + [kLn2LoDown, kLn2LoUp]: sums of doubles are exact at 300 bits.
  MpfrReal ln2 = MpfrReal::zero(300);
  mpfr_const_log2(ln2.get(), MPFR_RNDD);  // below ln 2 (ln 2 is irrational: strictly)
  MpfrReal ln2_up = MpfrReal::zero(300);
  mpfr_const_log2(ln2_up.get(), MPFR_RNDU);
  MpfrReal lo = MpfrReal(DInterval::kLn2Hi, 300) + MpfrReal(DInterval::kLn2LoDown, 300);
  MpfrReal hi = MpfrReal(DInterval::kLn2Hi, 300) + MpfrReal(DInterval::kLn2LoUp, 300);
  CHECK(lo < ln2);
  CHECK(ln2_up < hi);
  // The bounds are adjacent doubles: the constant is as tight as a two-part double can be.
  CHECK(DInterval::up(DInterval::kLn2LoDown) == DInterval::kLn2LoUp);
  // kLn2Hi has at most 32 significant bits, so k * kLn2Hi is exact for |k| < 2^21.
  const Rational hi_q(DInterval::kLn2Hi);
  CHECK(hi_q * Rational(std::ldexp(1.0, 32)) == Rational(static_cast<long>(std::ldexp(DInterval::kLn2Hi, 32))));
  // Taylor coefficients enclose 1/i!, atanh coefficients 1/(2i+1), exactly.
  Rational fact = 1;
  for (int i = 0; i <= DInterval::kExpDegree; ++i) {
    if (i > 0) fact *= i;
    const Rational c = Rational(1) / fact;
    CHECK(Rational(dinterval_detail::kExpCoefficients.lo[i]) <= c);
    CHECK(c <= Rational(dinterval_detail::kExpCoefficients.hi[i]));
  }
  for (int i = 0; i < DInterval::kLogTerms; ++i) {
    const Rational c(1, 2 * i + 1);
    CHECK(Rational(dinterval_detail::kLogCoefficients.lo[i]) <= c);
    CHECK(c <= Rational(dinterval_detail::kLogCoefficients.hi[i]));
  }
}

TEST_CASE("DInterval exp and log remainder bounds hold (MPFI)", "[numeric]") {
  // exp: e^0.35 * 0.35^15 / 15! < 2^-62 (Lagrange remainder of the degree-14 Taylor polynomial).
  const Interval r(Rational(7, 20), 128);
  Interval rn(1L, 128), fact(1L, 128);
  for (int i = 1; i <= DInterval::kExpDegree + 1; ++i) {
    rn *= r;
    fact *= Interval(static_cast<long>(i), 128);
  }
  CHECK(certainly_less(exp(r) * rn / fact, Interval(Rational(DInterval::kExpRemainder), 128)));
  // log: 2 s^25 / (25 (1 - s^2)) <= 2^-64 s at s = 0.1716 (the bound grows with s).
  const Interval s(Rational(429, 2500), 128);  // 0.1716
  Interval s24(1L, 128);
  for (int i = 0; i < 2 * DInterval::kLogTerms; ++i) s24 *= s;
  const Interval bound = Interval(2L, 128) * s24 / (Interval(25L, 128) * (Interval(1L, 128) - s * s));
  CHECK(certainly_less(bound, Interval(Rational(DInterval::kLogRemainderFactor), 128)));
  // The reduced arguments stay inside those ranges: |x - k ln 2| <= ln 2 / 2 + tiny < 0.35 and
  // |s| = |(m-1)/(m+1)| < 0.1716 at both ends of m's range.
  CHECK(std::log(2.0) / 2 < DInterval::kExpReduced - 1e-6);
  for (double m : {0x1.6a09e667f3bcdp-1, 0x1.6a09e667f3bcdp0}) {
    const Rational mq(m);
    const Rational sq = (mq - 1) / (mq + 1);
    CHECK(abs(sq) < Rational(DInterval::kLogReduced));
  }
}

TEST_CASE("DInterval exp encloses MPFR at +100 bits and stays within a few ulps", "[numeric]") {
  std::mt19937_64 rng(20230611);
  Ref ref;
  long misses = 0, checked = 0;
  double widest = 0;
  auto check_point = [&](double x) {
    const DInterval e = DInterval::exp_point(x);
    ref_exp(ref, x);
    ++checked;
    if (!encloses(e, ref)) {
      ++misses;
      UNSCOPED_INFO("exp miss at " << x);
    }
    const double v = mpfr_get_d(ref.v, MPFR_RNDN);
    if (v >= kMinNormal && v <= kMax) widest = std::max(widest, width_in_ulps(e, ref));
  };
  for (double x : exp_edge_points()) {
    check_point(x);
    check_point(-x);
  }
  std::uniform_real_distribution<double> full(-1100.0, 1100.0), mid(-745.2, 709.8), small(-40.0, 40.0);
  for (int t = 0; t < 60000; ++t) {
    check_point(full(rng));
    check_point(mid(rng));
    check_point(small(rng));
    check_point(std::ldexp(small(rng), -static_cast<int>(rng() % 1070)));
  }
  CHECK(misses == 0);
  CHECK(checked > 200000);
  CHECK(widest <= 8.0);  // measured 8 ulps at most (of the result's binade)
  // Underflow, overflow, infinities.
  CHECK(DInterval::exp_point(-1000.0).lower() == 0.0);
  CHECK(DInterval::exp_point(-1000.0).upper() == kDenorm);
  CHECK(DInterval::exp_point(-kInf).lower() == 0.0);
  CHECK(DInterval::exp_point(-kInf).upper() == kDenorm);
  CHECK(DInterval::exp_point(710.0).lower() == kMax);
  CHECK(std::isinf(DInterval::exp_point(710.0).upper()));
  CHECK(std::isinf(DInterval::exp_point(kInf).upper()));
  // A subnormal result is a few subnormal steps wide, not [0, tiny].
  const DInterval sub = DInterval::exp_point(-740.0);
  CHECK(sub.lower() > 0);
  CHECK(sub.upper() - sub.lower() <= 4 * kDenorm);
  CHECK(DInterval::exp_point(0.0).lower() == 1.0);  // exact
  CHECK(DInterval::exp_point(0.0).upper() == 1.0);
  CHECK(DInterval::exp_point(0.0).upper() - DInterval::exp_point(0.0).lower() <= 4 * 0x1p-52);
  CHECK(DInterval::exp_point(std::numeric_limits<double>::quiet_NaN()).has_nan());
}

TEST_CASE("DInterval log encloses MPFR at +100 bits and stays within a few ulps", "[numeric]") {
  std::mt19937_64 rng(20230612);
  Ref ref;
  long misses = 0, checked = 0;
  double widest = 0;
  auto check_point = [&](double x) {
    const DInterval l = DInterval::log_point(x);
    ref_log(ref, x);
    ++checked;
    if (!encloses(l, ref)) {
      ++misses;
      UNSCOPED_INFO("log miss at " << x);
    }
    if (x != 1.0) widest = std::max(widest, width_in_ulps(l, ref));
  };
  std::vector<double> edges = {kDenorm, 2 * kDenorm, 3 * kDenorm, kMinNormal, DInterval::down(kMinNormal), kMax,
                               0.5, 2.0, 0x1.6a09e667f3bcdp0, 0x1.6a09e667f3bccp0, 0x1.6a09e667f3bcdp-1,
                               0x1.6a09e667f3bcep-1, 2.718281828459045, 10.0, 1e-300, 1e300};
  for (int k = 1; k <= 60; ++k) {
    edges.push_back(1.0 + std::ldexp(1.0, -k));
    edges.push_back(1.0 - std::ldexp(1.0, -k));
    edges.push_back(std::ldexp(1.0, k * 17 - 1074));
  }
  for (double x : edges) check_point(x);
  CHECK(DInterval::log_point(1.0).lower() == 0.0);
  CHECK(DInterval::log_point(1.0).upper() == 0.0);
  for (int t = 0; t < 100000; ++t) {
    // Every positive finite double is equally likely to be drawn by its bit pattern.
    const std::uint64_t bits = rng() % 0x7ff0000000000000ULL;
    const double x = std::bit_cast<double>(bits);
    if (x > 0) check_point(x);
    check_point(1.0 + std::ldexp(std::uniform_real_distribution<double>(-1.0, 1.0)(rng), -static_cast<int>(rng() % 54)));
  }
  CHECK(misses == 0);
  CHECK(checked > 150000);
  CHECK(widest <= 16.0);  // measured 15 ulps at most (of the result's binade)
  CHECK(std::isinf(DInterval::log_point(0.0).lower()));
  CHECK(DInterval::log_point(0.0).lower() < 0);
  CHECK(std::isinf(DInterval::log_point(kInf).upper()));
  CHECK(DInterval::log_point(-1.0).has_nan());
  CHECK(log(DInterval(-0.0, 1.0)).lower() == -kInf);
  CHECK(log(DInterval(-0.5, 1.0)).has_nan());
}

TEST_CASE("DInterval exp and log of wide intervals enclose every point", "[numeric]") {
  std::mt19937_64 rng(20230613);
  Ref ref;
  long misses = 0;
  std::uniform_real_distribution<double> arg(-760.0, 720.0), u(0.0, 1.0);
  for (int t = 0; t < 20000; ++t) {
    double a = arg(rng), b = arg(rng);
    if (b < a) std::swap(a, b);
    const DInterval E = exp(DInterval(a, b));
    for (double x : {a, b, a + u(rng) * (b - a)}) {
      ref_exp(ref, x);
      misses += encloses(E, ref) ? 0 : 1;
    }
    double p = std::exp(a / 2), q = std::exp(b / 2);  // any positive doubles
    const DInterval L = log(DInterval(p, q));
    for (double x : {p, q, p + u(rng) * (q - p)}) {
      if (!(x >= p && x <= q)) continue;
      ref_log(ref, x);
      misses += encloses(L, ref) ? 0 : 1;
    }
  }
  CHECK(misses == 0);
}

TEST_CASE("DInterval fast *, / and scale_nonneg equal the four-corner rule, signed zeros and infinities included",
          "[numeric]") {
  const std::vector<double> v = special_values();
  long compared = 0;
  for (double a1 : v)
    for (double a2 : v) {
      if (a2 < a1) continue;
      for (double b1 : v)
        for (double b2 : v) {
          if (b2 < b1) continue;
          const DInterval a(a1, a2), b(b1, b2);
          CHECK(same(a * b, mul_reference(a, b)));
          CHECK(same(a / b, div_reference(a, b)));
          ++compared;
        }
      // scale_nonneg is the product with a point: identical for x >= 0, the general rule otherwise.
      for (double x : v) CHECK(same(scale_nonneg(x, DInterval(a1, a2)), mul_reference(DInterval(x), DInterval(a1, a2))));
    }
  CHECK(compared > 10000);
  // NaN operands are never dropped.
  const DInterval nan = DInterval::invalid();
  CHECK((nan * DInterval(1.0)).has_nan());
  CHECK((DInterval(0.0, 1.0) * nan).has_nan());
  CHECK((nan / DInterval(2.0)).has_nan());
  CHECK((DInterval(2.0) / nan).has_nan());
  CHECK(scale_nonneg(2.0, nan).has_nan());
  CHECK(scale_nonneg(std::numeric_limits<double>::quiet_NaN(), DInterval(1.0)).has_nan());
  CHECK(exp(nan).has_nan());
  CHECK(log(nan).has_nan());
  CHECK(hull(nan, DInterval(1.0)).has_nan());
  // Signed zeros: products and quotients with -0 still contain 0 and stay finite.
  const DInterval negzero(-0.0);
  const DInterval p = negzero * DInterval(1.0, 2.0);
  CHECK(p.lower() <= 0.0);
  CHECK(p.upper() >= 0.0);
  const DInterval d = negzero / DInterval(-2.0, -1.0);
  CHECK(d.lower() <= 0.0);
  CHECK(d.upper() >= 0.0);
  CHECK(abs(DInterval(-0.0, 0.0)).upper() == 0.0);
  CHECK(hull(DInterval(-0.0), DInterval(0.0)).lower() == 0.0);
}

TEST_CASE("DInterval fast paths agree with the four-corner rule on random intervals", "[numeric]") {
  std::mt19937_64 rng(20230614);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  auto rnd = [&]() {
    double x = std::ldexp(mant(rng), static_cast<int>(rng() % 200) - 100);
    return (rng() & 1) ? -x : x;
  };
  long differ = 0;
  for (int t = 0; t < 200000; ++t) {
    double a1 = rnd(), a2 = rnd(), b1 = rnd(), b2 = rnd();
    if (a2 < a1) std::swap(a1, a2);
    if (b2 < b1) std::swap(b1, b2);
    if (t % 5 == 0) a1 = a2;
    const DInterval a(a1, a2), b(b1, b2);
    differ += same(a * b, mul_reference(a, b)) ? 0 : 1;
    differ += same(a / b, div_reference(a, b)) ? 0 : 1;
    differ += same(scale_nonneg(std::fabs(a1), b), mul_reference(DInterval(std::fabs(a1)), b)) ? 0 : 1;
  }
  CHECK(differ == 0);
}

TEST_CASE("DInterval::from_int128 encloses the integer", "[numeric]") {
  __extension__ typedef __int128 I128;
  __extension__ typedef unsigned __int128 U128;
  std::mt19937_64 rng(20230615);
  for (int t = 0; t < 20000; ++t) {
    I128 x = static_cast<I128>((static_cast<U128>(rng()) << (rng() % 63)) ^ rng());  // < 2^127
    if (rng() & 1) x = -x;
    const DInterval d = DInterval::from_int128(x);
    // The exact integer as a rational, from its two 64-bit halves.
    const bool neg = x < 0;
    const U128 u = neg ? static_cast<U128>(-(x + 1)) + 1 : static_cast<U128>(x);
    Integer z = static_cast<unsigned long>(u >> 64);
    z <<= 64;
    z += static_cast<unsigned long>(u & ~0ULL);
    if (neg) z = -z;
    CHECK(Rational(d.lower()) <= Rational(z));
    CHECK(Rational(z) <= Rational(d.upper()));
    if (z <= Integer(1L << 53) && z >= -Integer(1L << 53)) CHECK(d.lower() == d.upper());
  }
}

TEST_CASE("DInterval::from_mpz encloses the integer, exactly up to 2^53, invalid beyond 2^1000", "[numeric]") {
  std::mt19937_64 rng(20261207);
  for (int t = 0; t < 20000; ++t) {
    // Random integers of 1 to 1000 bits, both signs, including runs of ones (worst for truncation).
    const int bits = 1 + static_cast<int>(rng() % 1000);
    Integer z = 0;
    for (int b = 0; b < bits; b += 64) {
      z <<= 64;
      z += static_cast<unsigned long>(t % 7 == 0 ? ~0ULL : rng());
    }
    mpz_fdiv_r_2exp(z.get_mpz_t(), z.get_mpz_t(), static_cast<mp_bitcnt_t>(bits));
    if (rng() & 1) z = -z;
    const DInterval d = DInterval::from_mpz(z.get_mpz_t());
    REQUIRE(d.is_finite());
    CHECK(Rational(d.lower()) <= Rational(z));
    CHECK(Rational(z) <= Rational(d.upper()));
    if (mpz_sizeinbase(z.get_mpz_t(), 2) <= 53) CHECK(d.lower() == d.upper());
  }
  // 2^53 + 1 is not a double: a two-double enclosure around it.
  Integer odd = Integer(1L << 53) + 1;
  const DInterval e = DInterval::from_mpz(odd.get_mpz_t());
  CHECK(e.lower() < e.upper());
  CHECK(Rational(e.lower()) < Rational(odd));
  CHECK(Rational(odd) < Rational(e.upper()));
  Integer huge = 1;
  huge <<= 1000;
  CHECK(DInterval::from_mpz(huge.get_mpz_t()).has_nan());
}

TEST_CASE("DIntervalExpCache returns exp's own bits, on hits and after collisions", "[numeric]") {
  DIntervalExpCache cache;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-800.0, 5.0);
  std::vector<DInterval> args;
  for (int i = 0; i < 3 * static_cast<int>(DIntervalExpCache::kSlots); ++i) {  // more than the slots: collisions
    const double a = u(rng), b = a + std::ldexp(u(rng) + 800.0, -40);
    args.emplace_back(a, b);
  }
  args.emplace_back(0.0);
  args.emplace_back(-std::numeric_limits<double>::infinity(), -745.5);
  auto same_bits = [](DInterval x, DInterval y) {
    return std::bit_cast<std::uint64_t>(x.lower()) == std::bit_cast<std::uint64_t>(y.lower()) &&
           std::bit_cast<std::uint64_t>(x.upper()) == std::bit_cast<std::uint64_t>(y.upper());
  };
  int differ = 0;
  for (int pass = 0; pass < 3; ++pass)
    for (const DInterval& x : args) differ += same_bits(cache(x), exp(x)) ? 0 : 1;
  CHECK(differ == 0);
  CHECK(cache.hits() > 0);  // the repeats were served from the cache
  CHECK(cache(DInterval::invalid()).has_nan());
}
