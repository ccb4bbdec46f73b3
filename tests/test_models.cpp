// Attention models (math §1) on every number type: hand-computed cases, invariances, and
// agreement between double, DInterval, Interval, MpfrReal, FormatReal and Rational (hardmax).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/semantics_policy.hpp"
#include "model/attention.hpp"

using namespace attnbounds;

namespace {

constexpr std::uint64_t kSeed = 424242;

Rational frac(long n, long d) {
  Rational r(n, d);
  r.canonicalize();
  return r;
}

// A random matrix of dyadic doubles k/32, k in [-range, range]: exact in every number type.
Mat<double> random_dyadic(std::mt19937_64& rng, std::size_t r, std::size_t c, int range = 64) {
  Mat<double> m(r, c, 0.0);
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t j = 0; j < c; ++j)
      m(i, j) = static_cast<double>(static_cast<int>(rng() % (2 * range + 1)) - range) / 32.0;
  return m;
}

template <class T>
Mat<T> convert(const Mat<double>& m) {
  return Mat<T>::from(m, [](double x) {
    if constexpr (std::is_same_v<T, Rational>) return Rational(x);
    else return T(x);
  });
}

template <class T>
QKV<T> convert(const QKV<double>& h) {
  return {convert<T>(h.queries), convert<T>(h.keys), convert<T>(h.values)};
}

template <class T>
ThirdOrderHead<T> convert(const ThirdOrderHead<double>& h) {
  return {convert<T>(h.queries), convert<T>(h.keys1), convert<T>(h.keys2), convert<T>(h.values1),
          convert<T>(h.values2)};
}

QKV<double> random_head(std::mt19937_64& rng, std::size_t N, std::size_t m, std::size_t dv) {
  return {random_dyadic(rng, N, m), random_dyadic(rng, N, m), random_dyadic(rng, N, dv)};
}

bool dcontains(const DInterval& r, double x) { return r.lower() <= x && x <= r.upper(); }

// |x - y| <= tol * max(1, |y|)
bool close(double x, double y, double tol) { return std::fabs(x - y) <= tol * std::max(1.0, std::fabs(y)); }

}  // namespace

TEST_CASE("softmax weights by hand: scores 0 and ln 3 give 1/4 and 3/4", "[model]") {
  WorkingPrecision wp(128);
  // Two tokens, m = 1: query 1, keys 0 and ln 3.
  {
    double s[2] = {0.0, std::log(3.0)}, w[2];
    softmax(s, 2, w);
    CHECK(w[0] == Approx(0.25).epsilon(1e-15));
    CHECK(w[1] == Approx(0.75).epsilon(1e-15));
  }
  {
    Interval s[2] = {Interval(0L, 128), log(Interval(3L, 128))}, w[2];
    softmax(s, 2, w);
    CHECK(w[0].contains(Rational(1, 4)));
    CHECK(w[1].contains(Rational(3, 4)));
    CHECK(w[1].width_double() < 1e-35);
  }
  {
    DInterval s[2] = {DInterval(0.0), log(DInterval(3.0))}, w[2];
    softmax(s, 2, w);
    CHECK(dcontains(w[0], 0.25));
    CHECK(dcontains(w[1], 0.75));
    CHECK(w[1].width() < 1e-14);
  }
  // Three tokens, scores 0, ln 2, ln 3: weights 1/6, 2/6, 3/6.
  Interval s3[3] = {Interval(0L, 128), log(Interval(2L, 128)), log(Interval(3L, 128))}, w3[3];
  softmax(s3, 3, w3);
  CHECK(w3[0].contains(Rational(1, 6)));
  CHECK(w3[1].contains(Rational(1, 3)));
  CHECK(w3[2].contains(Rational(1, 2)));
  // A single token always gets weight 1; equal scores split evenly.
  double one[1] = {17.5}, wone[1];
  softmax(one, 1, wone);
  CHECK(wone[0] == 1.0);
  double eq[4] = {2.0, 2.0, 2.0, 2.0}, weq[4];
  softmax(eq, 4, weq);
  for (double x : weq) CHECK(x == 0.25);
}

TEST_CASE("softmax is stable: huge scores do not overflow", "[model]") {
  double s[3] = {1000.0, 1000.0 + std::log(3.0), -1000.0}, w[3];
  softmax(s, 3, w);
  CHECK(w[0] == Approx(0.25).epsilon(1e-12));
  CHECK(w[1] == Approx(0.75).epsilon(1e-12));
  CHECK(w[2] == 0.0);
  DInterval ds[3] = {DInterval(1000.0), DInterval(1001.0), DInterval(-1000.0)}, dw[3];
  softmax(ds, 3, dw);
  for (const auto& x : dw) CHECK(x.is_finite());
  const double e = std::exp(1.0);
  CHECK(dcontains(dw[1], e / (1 + e)));
}

TEST_CASE("hardmax: ties split evenly, exactly in Rational", "[model]") {
  Rational s[5] = {Rational(1), Rational(3), Rational(-2), Rational(3), Rational(3)}, w[5];
  hardmax(s, 5, w);
  CHECK(w[0] == 0);
  CHECK(w[1] == Rational(1, 3));
  CHECK(w[2] == 0);
  CHECK(w[3] == Rational(1, 3));
  CHECK(w[4] == Rational(1, 3));
  CHECK(w[1] + w[3] + w[4] == 1);
  double ds[3] = {0.5, 0.5, 0.25}, dw[3];
  hardmax(ds, 3, dw);
  CHECK(dw[0] == 0.5);
  CHECK(dw[1] == 0.5);
  CHECK(dw[2] == 0.0);
  // Intervals cannot compare exactly: hardmax refuses them.
  Interval is[2] = {Interval(1L, 53), Interval(2L, 53)}, iw[2];
  CHECK_THROWS_AS(hardmax(is, 2, iw), std::invalid_argument);

  // A whole unit in Rational with hardmax: token 0's query (1) sees keys (2, 5, 5): values
  // (10, 20, 40) -> output (20 + 40) / 2 = 30.
  QKV<Rational> h{Mat<Rational>(3, 1, Rational(1)), Mat<Rational>(3, 1), Mat<Rational>(3, 1)};
  h.keys(0, 0) = 2;
  h.keys(1, 0) = 5;
  h.keys(2, 0) = 5;
  h.values(0, 0) = 10;
  h.values(1, 0) = 20;
  h.values(2, 0) = 40;
  Mat<Rational> out = attention_unit(h, Normaliser::Hardmax);
  CHECK(out(0, 0) == 30);
  // Softmax needs exp, which Rational lacks: refused, not miscomputed.
  CHECK_THROWS_AS(attention_unit(h, Normaliser::Softmax), std::invalid_argument);
}

TEST_CASE("softmax is invariant under a common shift of the scores", "[model]") {
  std::mt19937_64 rng(kSeed);
  std::uniform_real_distribution<double> score(-10.0, 10.0), shift(-100.0, 100.0);
  WorkingPrecision wp(100);
  for (int t = 0; t < 300; ++t) {
    const std::size_t n = 1 + rng() % 12;
    std::vector<double> s(n), sc(n), w(n), wc(n);
    const double c = std::round(shift(rng) * 64) / 64;  // dyadic: s + c is exact for these s
    for (std::size_t j = 0; j < n; ++j) {
      s[j] = std::round(score(rng) * 1024) / 1024;
      sc[j] = s[j] + c;
    }
    softmax(s.data(), n, w.data());
    softmax(sc.data(), n, wc.data());
    for (std::size_t j = 0; j < n; ++j) REQUIRE(close(w[j], wc[j], 1e-13));
    std::vector<Interval> is(n), isc(n), iw(n), iwc(n);
    for (std::size_t j = 0; j < n; ++j) {
      is[j] = Interval(s[j], 100);
      // A non-dyadic shift (c + 1/3) so that the shifted scores are themselves enclosures.
      isc[j] = Interval(s[j], 100) + Interval(Rational(c) + Rational(1, 3), 100);
    }
    softmax(is.data(), n, iw.data());
    softmax(isc.data(), n, iwc.data());
    for (std::size_t j = 0; j < n; ++j) {
      REQUIRE(iw[j].overlaps(iwc[j]));
      REQUIRE(iw[j].width_double() < 1e-20);
      REQUIRE(iwc[j].width_double() < 1e-20);
    }
  }
}

TEST_CASE("a position-free unit is permutation-equivariant", "[model]") {
  std::mt19937_64 rng(kSeed + 1);
  WorkingPrecision wp(100);
  for (int t = 0; t < 100; ++t) {
    const std::size_t N = 2 + rng() % 6, m = 1 + rng() % 3, dv = 1 + rng() % 3;
    Mat<double> phi = random_dyadic(rng, N, m), Q = random_dyadic(rng, m, m), K = random_dyadic(rng, m, m),
                V = random_dyadic(rng, m, dv);
    std::vector<std::size_t> perm(N);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    Mat<double> phi_p(N, m, 0.0);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < m; ++c) phi_p(i, c) = phi(perm[i], c);
    // Intervals: permuted input -> permuted output, as overlapping enclosures.
    auto run = [&](const Mat<double>& p) {
      return attention_unit(project(convert<Interval>(p), convert<Interval>(Q), convert<Interval>(K),
                                    convert<Interval>(V)));
    };
    Mat<Interval> out = run(phi), out_p = run(phi_p);
    // Rationals with hardmax: exactly equal.
    auto run_exact = [&](const Mat<double>& p) {
      return attention_unit(project(convert<Rational>(p), convert<Rational>(Q), convert<Rational>(K),
                                    convert<Rational>(V)),
                            Normaliser::Hardmax);
    };
    Mat<Rational> ex = run_exact(phi), ex_p = run_exact(phi_p);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < dv; ++c) {
        REQUIRE(out_p(i, c).overlaps(out(perm[i], c)));
        REQUIRE(ex_p(i, c) == ex(perm[i], c));
      }
  }
}

TEST_CASE("multi-head is the sum of single heads; the residual adds phi", "[model]") {
  std::mt19937_64 rng(kSeed + 2);
  const std::size_t N = 5, m = 3;
  Mat<double> phi = random_dyadic(rng, N, m);
  std::vector<QKV<double>> heads;
  for (int h = 0; h < 3; ++h)
    heads.push_back(project(phi, random_dyadic(rng, m, m), random_dyadic(rng, m, m), random_dyadic(rng, m, m)));
  Mat<double> sum = multi_head(heads);
  Mat<double> with_res = multi_head(heads, &phi);
  std::vector<Mat<double>> single;
  for (const auto& h : heads) single.push_back(attention_unit(h));
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t c = 0; c < m; ++c) {
      double expect = single[0](i, c) + single[1](i, c) + single[2](i, c);  // the same order: exact
      CHECK(sum(i, c) == expect);
      CHECK(with_res(i, c) == expect + phi(i, c));
    }
  // Exactly in Rational with hardmax.
  std::vector<QKV<Rational>> rheads;
  for (const auto& h : heads) rheads.push_back(convert<Rational>(h));
  Mat<Rational> rphi = convert<Rational>(phi);
  Mat<Rational> rsum = multi_head(rheads, &rphi, Normaliser::Hardmax);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t c = 0; c < m; ++c) {
      Rational expect = rphi(i, c);
      for (const auto& h : rheads) expect += attention_unit(h, Normaliser::Hardmax)(i, c);
      CHECK(rsum(i, c) == expect);
    }
  Mat<double> narrow(N, m - 1, 0.0);
  CHECK_THROWS_AS(multi_head(heads, &narrow), std::invalid_argument);
  CHECK_THROWS_AS(multi_head(std::vector<QKV<double>>{}), std::invalid_argument);
}

TEST_CASE("third-order attention normalises over all N^2 pairs", "[model]") {
  WorkingPrecision wp(128);
  // N = 2, m = 1, query 1; keys1 = (1, 1), keys2 = (0, ln 3): pair scores (0, ln3, 0, ln3)
  // -> pair weights (1/8, 3/8, 1/8, 3/8).  values1 = (1, 2), values2 = (1, 1).
  ThirdOrderHead<Interval> h;
  h.queries = Mat<Interval>(2, 1, Interval(1L, 128));
  h.keys1 = Mat<Interval>(2, 1, Interval(1L, 128));
  h.keys2 = Mat<Interval>(2, 1, Interval(0L, 128));
  h.keys2(1, 0) = log(Interval(3L, 128));
  h.values1 = Mat<Interval>(2, 1, Interval(1L, 128));
  h.values1(1, 0) = Interval(2L, 128);
  h.values2 = Mat<Interval>(2, 1, Interval(1L, 128));
  Interval scores[4], w[4];
  third_order_weights(h, 0, scores, w);
  CHECK(w[0].contains(Rational(1, 8)));
  CHECK(w[1].contains(Rational(3, 8)));
  CHECK(w[2].contains(Rational(1, 8)));
  CHECK(w[3].contains(Rational(3, 8)));
  Mat<Interval> out = third_order_unit(h);
  // Over pairs: (1/8 + 3/8)·1 + (1/8 + 3/8)·2 = 3/2.  Normalising over k for each j would give
  // weights (1/4, 3/4) per j and output 1 + 2 = 3: the unit must not do that.
  CHECK(out(0, 0).contains(Rational(3, 2)));
  CHECK_FALSE(out(0, 0).contains(Rational(3)));

  // keys1 = (0, 1): scores (0, 0, 0, ln 3) -> (1/6, 1/6, 1/6, 1/2).
  h.keys1(0, 0) = Interval(0L, 128);
  third_order_weights(h, 0, scores, w);
  CHECK(w[0].contains(Rational(1, 6)));
  CHECK(w[1].contains(Rational(1, 6)));
  CHECK(w[2].contains(Rational(1, 6)));
  CHECK(w[3].contains(Rational(1, 2)));
}

TEST_CASE("third-order weights sum to 1 and match an independent MPFR computation", "[model]") {
  std::mt19937_64 rng(kSeed + 3);
  WorkingPrecision wp(100);
  for (int t = 0; t < 40; ++t) {
    const std::size_t N = 2 + rng() % 4, m = 1 + rng() % 4, dv = 1 + rng() % 2;
    ThirdOrderHead<double> hd{random_dyadic(rng, N, m), random_dyadic(rng, N, m), random_dyadic(rng, N, m),
                              random_dyadic(rng, N, dv), random_dyadic(rng, N, dv)};
    ThirdOrderHead<Interval> hi = convert<Interval>(hd);
    std::vector<Interval> scores(N * N), w(N * N);
    for (std::size_t i = 0; i < N; ++i) {
      third_order_weights(hi, i, scores.data(), w.data());
      Interval total(0L, 100);
      for (const auto& x : w) total += x;
      REQUIRE(total.contains(Rational(1)));
      REQUIRE(total.width_double() < 1e-20);
      // Independent: exact scores (dyadic), then exp and a sum over pairs at 250 bits, no shift.
      std::vector<MpfrReal> e(N * N, MpfrReal::zero(250));
      MpfrReal z = MpfrReal::zero(250);
      for (std::size_t j = 0; j < N; ++j)
        for (std::size_t k = 0; k < N; ++k) {
          Rational s = 0;
          for (std::size_t c = 0; c < m; ++c)
            s += Rational(hd.queries(i, c)) * Rational(hd.keys1(j, c)) * Rational(hd.keys2(k, c));
          e[j * N + k] = exp(MpfrReal(s, 250));
          z += e[j * N + k];
        }
      for (std::size_t p = 0; p < N * N; ++p) REQUIRE(w[p].contains(e[p] / z));
    }
    // The double unit agrees with the interval unit.
    Mat<double> od = third_order_unit(hd);
    Mat<Interval> oi = third_order_unit(hi);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < dv; ++c) {
        REQUIRE(oi(i, c).width_double() < 1e-20);
        REQUIRE(std::fabs(od(i, c) - oi(i, c).mid_double()) <= 1e-12);
      }
  }
}

TEST_CASE("double, DInterval, Interval, MpfrReal agree; hardmax is the high-temperature limit", "[model]") {
  std::mt19937_64 rng(kSeed + 4);
  WorkingPrecision wp(120);
  for (int t = 0; t < 60; ++t) {
    const std::size_t N = 2 + rng() % 7, m = 1 + rng() % 3, dv = 1 + rng() % 3;
    QKV<double> hd = random_head(rng, N, m, dv);
    Mat<double> od = attention_unit(hd);
    Mat<DInterval> odi = attention_unit(convert<DInterval>(hd));
    Mat<Interval> oi = attention_unit(convert<Interval>(hd));
    Mat<MpfrReal> om;
    {
      WorkingPrecision high(300);
      om = attention_unit(convert<MpfrReal>(hd));
    }
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < dv; ++c) {
        // The 300-bit MPFR value lies within 2^-280 or so of the exact one: inside both enclosures
        // unless the enclosure is that tight, which at 120 bits and in double it is not.
        REQUIRE(oi(i, c).contains(om(i, c)));
        REQUIRE(mpfr_cmp_d(om(i, c).get(), odi(i, c).lower()) >= 0);
        REQUIRE(mpfr_cmp_d(om(i, c).get(), odi(i, c).upper()) <= 0);
        REQUIRE(odi(i, c).width() < 1e-10);
        REQUIRE(std::fabs(od(i, c) - om(i, c).to_double()) <= 1e-12);
      }
  }
  // High temperature: integer scores with gaps >= 1 times c = 60 -> within N e^-60 of hardmax.
  for (int t = 0; t < 40; ++t) {
    const std::size_t N = 2 + rng() % 6;
    QKV<double> hd{Mat<double>(N, 1, 60.0), Mat<double>(N, 1, 0.0), random_dyadic(rng, N, 2)};
    for (std::size_t j = 0; j < N; ++j) hd.keys(j, 0) = static_cast<double>(rng() % 5);  // ties allowed
    Mat<Rational> hard = attention_unit(convert<Rational>(QKV<double>{Mat<double>(N, 1, 1.0), hd.keys, hd.values}),
                                        Normaliser::Hardmax);
    Mat<Interval> soft = attention_unit(convert<Interval>(hd));
    Mat<double> hard_d = attention_unit(QKV<double>{Mat<double>(N, 1, 1.0), hd.keys, hd.values}, Normaliser::Hardmax);
    const Rational tol = Rational(static_cast<long>(N) * 4) * Rational(1, 1000000) * Rational(1, 1000000) *
                         Rational(1, 1000000) * Rational(1, 1000000);  // 4N·1e-24 > 2N e^-60 · max|v|
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < 2; ++c) {
        REQUIRE(soft(i, c).lower() >= hard(i, c) - tol);
        REQUIRE(soft(i, c).upper() <= hard(i, c) + tol);
        REQUIRE(close(hard_d(i, c), hard(i, c).get_d(), 1e-15));  // double hardmax: 1/ties rounded
      }
  }
}

TEST_CASE("embed semantics rounds every entry exactly; fixed out of range is an error", "[model]") {
  Mat<Rational> m(2, 2);
  m(0, 0) = Rational(1, 3);
  m(0, 1) = frac(-7, 5);
  m(1, 0) = Rational(1000);
  m(1, 1) = 0;
  // What a checker stores under embed:<fmt>: the semantics policy's rounding of each entry.
  const auto stored = [](const Mat<Rational>& x, const char* semantics) {
    const SemanticsPolicy policy(parse_semantics(semantics), kExactEmbedArith, "test");
    return Mat<Rational>::from(x, [&](const Rational& v) { return policy.stored(v); });
  };
  const Format bf16 = parse_format("bf16");
  Mat<Rational> r = stored(m, "embed:bf16");
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 2; ++j) CHECK(r(i, j) == round_to(bf16, m(i, j)));
  CHECK(r(0, 0) == frac(171, 512));  // 1/3 at 8 bits: 0.10101011b
  CHECK(r(1, 0) == 1000);            // 1111101000b has 7 significant bits: exact at 8
  CHECK_THROWS_AS(stored(m, "embed:fixed:4.4"), FormatRangeError);  // 1000 > 7.9375
  m(1, 0) = frac(5, 2);
  Mat<Rational> rf = stored(m, "embed:fixed:4.4");
  CHECK(rf(0, 0) == frac(5, 16));  // 1/3 -> 5.33/16 -> 5/16
  CHECK(rf(0, 1) == frac(-22, 16));  // -7/5 = -22.4/16 -> -22/16
  CHECK(rf(1, 0) == frac(5, 2));
}

TEST_CASE("arith semantics: FormatReal at float:53 matches double within a few ulps", "[model]") {
  std::mt19937_64 rng(kSeed + 5);
  const Format f53 = Format::float_bits(53);
  ArithFormatScope scope(f53);
  for (int t = 0; t < 25; ++t) {
    const std::size_t N = 2 + rng() % 5, m = 1 + rng() % 3, dv = 1 + rng() % 2;
    QKV<double> hd = random_head(rng, N, m, dv);
    Mat<double> od = attention_unit(hd);
    Mat<FormatReal> of = attention_unit(convert<FormatReal>(hd));
    // Same operations, same order, both rounding to 53 bits; only libm's exp may differ from the
    // correctly rounded one (by < 1 ulp), which perturbs the weights by a few ulps.
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t c = 0; c < dv; ++c) REQUIRE(std::fabs(od(i, c) - of(i, c).to_double()) <= 1e-14);
  }
  // At bf16 the rounding is visible: 1/3 + 1/3 + 1/3 in float:8 is not 1 ... but weights of three
  // equal scores are each round(1/3) exactly.
  ArithFormatScope bf(parse_format("bf16"));
  FormatReal s[3] = {FormatReal(Rational(5)), FormatReal(Rational(5)), FormatReal(Rational(5))}, w[3];
  softmax(s, 3, w);
  for (const auto& x : w) CHECK(x.value() == round_to(Format::float_bits(8), Rational(1, 3)));
}
