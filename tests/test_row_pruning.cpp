// The qsa-cyclic fused row (underflow decided in integers) against the plain row evaluation.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "certify/qsa_checker.hpp"
#include "enumerate/combinatorics.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"

using namespace attnbounds;

namespace {

bool same_bits(DInterval a, DInterval b) {
  return std::bit_cast<std::uint64_t>(a.lower()) == std::bit_cast<std::uint64_t>(b.lower()) &&
         std::bit_cast<std::uint64_t>(a.upper()) == std::bit_cast<std::uint64_t>(b.upper());
}

// Every subset: row_error() must give the bits of row() + qsa_row_error_fast().
std::uint64_t compare_all_rows(int N, int q, const Rational& c) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.c = c;
  QsaCyclicEmbedding emb(p);
  auto plain = emb.exact_row_worker();
  auto fused = emb.exact_row_worker();
  std::vector<DInterval> r(N), scratch(N);
  std::vector<std::uint8_t> in_S(N, 0);
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  std::uint64_t mismatches = 0, rows = 0;
  do {
    REQUIRE(plain->row(S.data(), r.data()));
    for (int k : S) in_S[k] = 1;
    const DInterval want = qsa_row_error_fast(r.data(), in_S.data(), N, q, scratch.data());
    for (int k : S) in_S[k] = 0;
    DInterval got;
    REQUIRE(fused->row_error(S.data(), got));
    if (!same_bits(want, got)) {
      ++mismatches;
      if (mismatches < 5) {
        std::string s;
        for (int k : S) s += std::to_string(k + 1) + " ";
        UNSCOPED_INFO("N=" << N << " q=" << q << " c=" << to_exact_string(c) << " S={" << s << "} want [" << want.lower()
                           << ", " << want.upper() << "] got [" << got.lower() << ", " << got.upper() << "]");
      }
    }
    // The fallback still sees the exact scores of this subset.
    if (rows % 997 == 0) {
      auto ex = fused->exact_differences();
      auto ex_plain = plain->exact_differences();
      CHECK(ex == ex_plain);
    }
    ++rows;
  } while (next_subset(S.data(), q, N));
  CHECK(rows == binomial(N, q));
  return mismatches;
}

}  // namespace

TEST_CASE("k underflowed terms added at once give the bits of k additions", "[qsa][pruning]") {
  const DInterval tiny = qsa_underflow_term();
  const double dm = std::numeric_limits<double>::denorm_min();
  std::vector<DInterval> starts = {DInterval(0.0), DInterval(-0.0, 0.0), DInterval(dm, 3 * dm), DInterval(-5 * dm, dm),
                                   DInterval(0x1p-1022, 0x1p-1021), DInterval(0x1p-1030, 0x1p-1019),
                                   DInterval(1e-300, 1e-299), DInterval(0.25, 0.5), DInterval(0.9999, 1.0001),
                                   DInterval(-1e-310, 2e-310), DInterval(3.0, 70.0)};
  // Around 2^-1021, where the spacing of doubles doubles.
  for (int below : {1, 2, 3, 4, 101, 1000})
    starts.emplace_back(0.0, std::bit_cast<double>(std::bit_cast<std::uint64_t>(0x1p-1021) - below));
  starts.emplace_back(0.0, 0x1p-1021);
  starts.emplace_back(-0.0, -0.0);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 40; ++i) {
    double a = std::ldexp(static_cast<double>(rng() % 1000 + 1), -static_cast<int>(rng() % 1100));
    starts.emplace_back(a, a * 1.5);
  }
  for (const DInterval& s : starts)
    for (std::uint64_t k : {0ULL, 1ULL, 2ULL, 3ULL, 7ULL, 64ULL, 255ULL, 1000ULL, 5000ULL}) {
      DInterval slow = s;
      for (std::uint64_t i = 0; i < k; ++i) slow += tiny;
      const DInterval fast = qsa_add_underflow_terms(s, k);
      INFO("start [" << s.lower() << ", " << s.upper() << "] k = " << k);
      CHECK(same_bits(slow, fast));
    }
}

TEST_CASE("qsa-cyclic fused rows equal the plain rows bit for bit", "[qsa][pruning]") {
  // Default-like temperatures (most terms underflow), moderate ones, and tiny ones (none does).
  const std::vector<Rational> temps = {Rational(8), Rational(5, 2), Rational(1, 3), Rational(1, 1000),
                                       Rational(1, 1 << 20), Rational(0)};
  for (const auto& c : temps) {
    CHECK(compare_all_rows(12, 1, c) == 0);
    CHECK(compare_all_rows(20, 2, c) == 0);
    CHECK(compare_all_rows(32, 3, c) == 0);
  }
  CHECK(compare_all_rows(64, 2, Rational(8)) == 0);
  CHECK(compare_all_rows(64, 3, Rational(7)) == 0);
  CHECK(compare_all_rows(100, 2, Rational(40)) == 0);  // nearly every term underflows
  CHECK(compare_all_rows(64, 3, Rational(3, 1000000)) == 0);  // c·p_S(j) > 746 only far out
}

TEST_CASE("qsa-cyclic fused rows equal the plain rows at N = 64, q = 4", "[qsa][pruning][long]") {
  CHECK(compare_all_rows(64, 4, QsaCyclicEmbedding::default_temperature(64, 4, Rational(1, 100))) == 0);
  CHECK(compare_all_rows(64, 4, Rational(1, 10)) == 0);
}
