// Ground-truth tasks (math §3) against brute force, and the enumeration engine: combinatorics
// against independent counts, and parallel_reduce giving identical results for any thread count.
#include <catch2/catch.hpp>
#include <glpk.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;

namespace {

constexpr std::uint64_t kSeed = 777;

Rational frac(long n, long d) {
  Rational r(n, d);
  r.canonicalize();
  return r;
}

int mod(int v, int M) { return ((v % M) + M) % M; }

// Brute force, straight from the definitions: O(N^2) and O(N^3) per input.
std::vector<std::uint8_t> match2_brute(const std::vector<int>& x, int M) {
  const std::size_t N = x.size();
  std::vector<std::uint8_t> out(N, 0);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < N; ++j)
      if (mod(x[i] + x[j], M) == 0) out[i] = 1;
  return out;
}

std::vector<std::uint8_t> match3_brute(const std::vector<int>& x, int M, bool distinct) {
  const std::size_t N = x.size();
  std::vector<std::uint8_t> out(N, 0);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j1 = 0; j1 < N; ++j1)
      for (std::size_t j2 = 0; j2 < N; ++j2) {
        if (distinct && (j1 == i || j2 == i || j1 == j2)) continue;
        if (mod(x[i] + x[j1] + x[j2], M) == 0) out[i] = 1;
      }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tasks

TEST_CASE("qSA on a hand example", "[tasks]") {
  // N = 3, d' = 2, q = 2.
  Mat<Rational> z(3, 2);
  z(0, 0) = 1;              z(0, 1) = 0;
  z(1, 0) = frac(-1, 2);    z(1, 1) = frac(1, 2);
  z(2, 0) = 0;              z(2, 1) = frac(-3, 5);
  std::vector<std::vector<int>> y = {{1, 2}, {0, 1}, {2, 0}};
  CHECK_NOTHROW(validate_qsa_input(z, y, 2));
  Mat<Rational> out = qsa(z, y);
  CHECK(out(0, 0) == frac(-1, 4));  // (z1 + z2)/2 = (-1/2, -1/10)/2
  CHECK(out(0, 1) == frac(-1, 20));
  CHECK(out(1, 0) == frac(1, 4));   // (z0 + z1)/2 = (1/2, 1/2)/2
  CHECK(out(1, 1) == frac(1, 4));
  CHECK(out(2, 0) == frac(1, 2));   // (z2 + z0)/2 = (1, -3/5)/2
  CHECK(out(2, 1) == frac(-3, 10));
  // i in y_i is allowed.
  std::vector<std::vector<int>> self = {{0}, {1}, {2}};
  Mat<Rational> id = qsa(z, self);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t c = 0; c < 2; ++c) CHECK(id(i, c) == z(i, c));
}

TEST_CASE("validate_qsa_input names what is wrong", "[tasks]") {
  Mat<Rational> z(3, 1, Rational(0));
  auto message = [&](const std::vector<std::vector<int>>& y, int q) -> std::string {
    try {
      validate_qsa_input(z, y, q);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(message({{0, 1}, {1, 2}}, 2).find("expected 3") != std::string::npos);
  CHECK(message({{0, 1}, {1, 2}, {0}}, 2).find("token 3") != std::string::npos);
  CHECK(message({{0, 1}, {1, 1}, {0, 2}}, 2).find("repeated") != std::string::npos);
  CHECK(message({{0, 1}, {1, 3}, {0, 2}}, 2).find("out of range") != std::string::npos);
  z(1, 0) = frac(11, 10);
  CHECK(message({{0, 1}, {1, 2}, {0, 2}}, 2).find("unit ball") != std::string::npos);
  z(1, 0) = 1;  // on the sphere: allowed
  CHECK(message({{0, 1}, {1, 2}, {0, 2}}, 2).empty());
}

TEST_CASE("match2 and match3 (literal and distinct) equal brute force", "[tasks]") {
  std::mt19937_64 rng(kSeed);
  int ones2 = 0, ones3 = 0, ones3d = 0, total = 0;
  for (int t = 0; t < 4000; ++t) {
    const int N = 1 + static_cast<int>(rng() % 9), M = 2 + static_cast<int>(rng() % 11);
    std::vector<int> x(static_cast<std::size_t>(N));
    // Values outside [0, M), including negatives, must be read mod M.
    for (int& v : x) v = static_cast<int>(rng() % static_cast<std::uint64_t>(3 * M)) - M;
    auto m2 = match2(x, M), m3 = match3(x, M, false), m3d = match3(x, M, true);
    REQUIRE(m2 == match2_brute(x, M));
    REQUIRE(m3 == match3_brute(x, M, false));
    REQUIRE(m3d == match3_brute(x, M, true));
    for (int i = 0; i < N; ++i) {
      ones2 += m2[static_cast<std::size_t>(i)];
      ones3 += m3[static_cast<std::size_t>(i)];
      ones3d += m3d[static_cast<std::size_t>(i)];
      ++total;
    }
  }
  // Both outcomes occur often: the comparison is not vacuous.
  CHECK(ones2 > total / 10);
  CHECK(ones2 < total * 9 / 10);
  CHECK(ones3d > total / 10);
  CHECK(ones3d < ones3);
  // Hand cases: literal j = i; distinct needs three different positions.
  CHECK(match2({3}, 6) == std::vector<std::uint8_t>{1});   // 3 + 3 = 6
  CHECK(match3({2}, 6) == std::vector<std::uint8_t>{1});   // 2 + 2 + 2
  CHECK(match3({2}, 6, true) == std::vector<std::uint8_t>{0});
  CHECK(match3({2, 2, 2}, 6, true) == std::vector<std::uint8_t>{1, 1, 1});
  CHECK(match3({1, 2, 4}, 7, true) == std::vector<std::uint8_t>{1, 1, 1});
  CHECK(match3({1, 2, 5}, 7, true) == std::vector<std::uint8_t>{0, 0, 0});
  CHECK_THROWS_AS(match2({1}, 1), std::invalid_argument);
  CHECK_THROWS_AS(match3({1}, 0), std::invalid_argument);
}

TEST_CASE("match3 is fast on long inputs (not O(N^3))", "[tasks]") {
  // N = 20000: brute force would need 8e12 steps; the ground truth answers in milliseconds.
  std::mt19937_64 rng(kSeed + 1);
  std::vector<int> x(20000);
  for (int& v : x) v = 1 + static_cast<int>(rng() % 999);
  auto a = match3(x, 100003, false);
  auto b = match3(x, 100003, true);
  std::size_t ones = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    ones += a[i];
    REQUIRE(b[i] <= a[i]);  // distinct is stronger
  }
  CHECK(ones == 0);  // every sum of three values lies in [3, 2997]: never 0 mod 100003
  auto c = match3(x, 7, true);
  CHECK(std::count(c.begin(), c.end(), 1) == static_cast<long>(x.size()));  // every residue is present many times
}

TEST_CASE("disj and index", "[tasks]") {
  CHECK(disj(0b1010, 0b0101));
  CHECK_FALSE(disj(0b1010, 0b0010));
  CHECK(disj(0, 0));
  CHECK(index_fn(0b1010, 1));
  CHECK_FALSE(index_fn(0b1010, 0));
  CHECK(index_fn(std::uint64_t(1) << 63, 63));
  // DISJ_n has 3^n ones among its 4^n entries.
  for (int n = 1; n <= 6; ++n) {
    std::uint64_t ones = 0;
    for (std::uint64_t a = 0; a < (1u << n); ++a)
      for (std::uint64_t b = 0; b < (1u << n); ++b) ones += disj(a, b);
    CHECK(ones == static_cast<std::uint64_t>(std::pow(3, n)));
  }
}

// ---------------------------------------------------------------------------------------------
// Combinatorics

TEST_CASE("binomial against Pascal's triangle, with overflow detection", "[enum]") {
  __extension__ typedef unsigned __int128 u128;
  std::vector<std::vector<u128>> pascal(70);
  for (int n = 0; n < 70; ++n) {
    pascal[n].assign(static_cast<std::size_t>(n + 1), 1);
    for (int k = 1; k < n; ++k) pascal[n][k] = pascal[n - 1][k - 1] + pascal[n - 1][k];
  }
  const u128 max64 = std::numeric_limits<std::uint64_t>::max();
  for (int n = 0; n < 70; ++n)
    for (int k = 0; k <= n; ++k) {
      if (pascal[n][k] < max64) {
        REQUIRE(binomial(n, k) == static_cast<std::uint64_t>(pascal[n][k]));
      } else {
        REQUIRE_THROWS_AS(binomial(n, k), std::overflow_error);
        REQUIRE(binomial_saturating(n, k) == std::numeric_limits<std::uint64_t>::max());
      }
    }
  CHECK(binomial(67, 33) == 14226520737620288370ULL);
  CHECK_THROWS_AS(binomial(68, 34), std::overflow_error);
  CHECK(binomial(5, 7) == 0);
  CHECK(binomial(5, -1) == 0);
  CHECK(binomial(0, 0) == 1);
}

TEST_CASE("subset rank/unrank round trip; next_subset walks lex order", "[enum]") {
  for (int n = 1; n <= 11; ++n)
    for (int k = 0; k <= n; ++k) {
      const std::uint64_t count = binomial(n, k);
      std::vector<int> s(static_cast<std::size_t>(k));
      for (int i = 0; i < k; ++i) s[static_cast<std::size_t>(i)] = i;
      std::uint64_t r = 0;
      std::vector<int> prev;
      do {
        REQUIRE(rank_subset(s, n) == r);
        std::vector<int> u(static_cast<std::size_t>(k));
        unrank_subset(r, n, k, u.data());
        REQUIRE(u == s);
        for (int i = 1; i < k; ++i) REQUIRE(s[i - 1] < s[i]);
        if (r > 0) REQUIRE(prev < s);  // std::vector compares lexicographically
        prev = s;
        ++r;
      } while (next_subset(s.data(), k, n));
      REQUIRE(r == count);
      std::vector<int> u(static_cast<std::size_t>(k) + 1);
      REQUIRE_THROWS_AS(unrank_subset(count, n, k, u.data()), std::out_of_range);
    }
  // A large rank: the last 3-subset of [100] is {97, 98, 99}.
  int last[3];
  unrank_subset(binomial(100, 3) - 1, 100, 3, last);
  CHECK(last[0] == 97);
  CHECK(last[1] == 98);
  CHECK(last[2] == 99);
}

TEST_CASE("tuples: unrank agrees with next_tuple; counts saturate", "[enum]") {
  for (int M = 2; M <= 4; ++M)
    for (int N = 1; N <= 5; ++N) {
      std::vector<int> t(static_cast<std::size_t>(N), 0), u(static_cast<std::size_t>(N));
      std::uint64_t r = 0;
      std::set<std::vector<int>> seen;
      do {
        unrank_tuple(r, M, N, u.data());
        REQUIRE(u == t);
        seen.insert(t);
        ++r;
      } while (next_tuple(t.data(), N, M));
      REQUIRE(r == tuple_count_saturating(M, N));
      REQUIRE(seen.size() == r);
      REQUIRE(r == static_cast<std::uint64_t>(std::pow(M, N)));
    }
  CHECK(tuple_count_saturating(2, 63) == std::uint64_t(1) << 63);
  CHECK(tuple_count_saturating(2, 64) == std::numeric_limits<std::uint64_t>::max());
  CHECK(tuple_count_saturating(10, 30) == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("multisets: count C(M+n-1, n); permutations sum to M^n", "[enum]") {
  for (int M = 1; M <= 6; ++M)
    for (int n = 1; n <= 6; ++n) {
      std::vector<int> s(static_cast<std::size_t>(n), 0);
      std::uint64_t count = 0, perms = 0;
      std::vector<int> prev;
      do {
        for (int i = 1; i < n; ++i) REQUIRE(s[i - 1] <= s[i]);
        if (count > 0) REQUIRE(prev < s);
        prev = s;
        ++count;
        perms += multiset_permutations(s.data(), n);
      } while (next_multiset(s.data(), n, M));
      INFO("M=" << M << " n=" << n);
      REQUIRE(count == binomial(M + n - 1, n));
      REQUIRE(perms == static_cast<std::uint64_t>(std::pow(M, n)));
    }
  int s[4] = {0, 0, 1, 2};
  CHECK(multiset_permutations(s, 4) == 12);  // 4!/2!
  std::vector<int> distinct(25);
  for (int i = 0; i < 25; ++i) distinct[static_cast<std::size_t>(i)] = i;
  CHECK(multiset_permutations(distinct.data(), 20) == 2432902008176640000ULL);  // 20!
  CHECK_THROWS_AS(multiset_permutations(distinct.data(), 21), std::overflow_error);  // 21! > 2^64
}

// ---------------------------------------------------------------------------------------------
// parallel_reduce

namespace {

struct Summary {
  double best = -1;
  std::uint64_t witness = 0;
  std::uint64_t count = 0;  // items with value above 0.5
  double sum = 0;           // order-dependent in floating point
};

// A deterministic pseudo-random value in [0, 1) with many exact ties (1/64 steps) and a
// non-associative contribution to the floating sum.
double value_of(std::uint64_t i) {
  std::uint64_t h = i * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  return static_cast<double>(h % 64) / 64.0 + 1e-9 * static_cast<double>(h % 1000) / 3.0;
}

Summary reduce_with(unsigned threads, std::uint64_t total) {
  return parallel_reduce(
      total, threads, Summary{},
      [](std::uint64_t b, std::uint64_t e, Summary& p) {
        for (std::uint64_t i = b; i < e; ++i) {
          double v = value_of(i);
          if (v > p.best) { p.best = v; p.witness = i; }  // strict: earliest index on ties
          p.count += v > 0.5;
          p.sum += v;
        }
      },
      [](Summary& acc, Summary&& p) {
        if (p.best > acc.best) { acc.best = p.best; acc.witness = p.witness; }  // ties: earlier chunk
        acc.count += p.count;
        acc.sum += p.sum;
      });
}

}  // namespace

TEST_CASE("parallel_reduce: identical results for 1, 2, 3 and 8 threads", "[enum]") {
  for (std::uint64_t total : {std::uint64_t(1), std::uint64_t(7), std::uint64_t(4095), std::uint64_t(100003),
                              std::uint64_t(1000000)}) {
    Summary one = reduce_with(1, total);
    // Serial reference for the exact parts.
    double best = -1;
    std::uint64_t witness = 0, count = 0;
    double sum = 0;
    for (std::uint64_t i = 0; i < total; ++i) {
      double v = value_of(i);
      if (v > best) { best = v; witness = i; }
      count += v > 0.5;
      sum += v;
    }
    INFO("total " << total);
    REQUIRE(one.best == best);
    REQUIRE(one.witness == witness);
    REQUIRE(one.count == count);
    REQUIRE(std::fabs(one.sum - sum) <= 1e-9 * sum);
    for (unsigned threads : {2u, 3u, 8u}) {
      Summary s = reduce_with(threads, total);
      INFO("threads " << threads);
      REQUIRE(s.best == one.best);
      REQUIRE(s.witness == one.witness);
      REQUIRE(s.count == one.count);
      REQUIRE(s.sum == one.sum);  // bit-identical, not just close
    }
  }
}

TEST_CASE("parallel_reduce: empty range, exceptions, progress", "[enum]") {
  Summary none = reduce_with(4, 0);
  CHECK(none.count == 0);
  CHECK(none.best == -1);
  auto failing = [](unsigned threads) {
    return parallel_reduce(
        std::uint64_t(10000), threads, 0,
        [](std::uint64_t b, std::uint64_t e, int& p) {
          for (std::uint64_t i = b; i < e; ++i) {
            if (i == 5000) throw std::runtime_error("item 5000");
            ++p;
          }
        },
        [](int& acc, int&& p) { acc += p; });
  };
  CHECK_THROWS_WITH(failing(1), "item 5000");
  CHECK_THROWS_WITH(failing(4), "item 5000");
  Progress progress("test", 12345);  // stderr is not a terminal under ctest: prints nothing
  std::uint64_t n = parallel_reduce(
      std::uint64_t(12345), 3, std::uint64_t(0),
      [](std::uint64_t b, std::uint64_t e, std::uint64_t& p) { p += e - b; },
      [](std::uint64_t& acc, std::uint64_t&& p) { acc += p; }, &progress);
  CHECK(n == 12345);
  CHECK(resolve_threads(3) == 3);
  CHECK(resolve_threads(0) >= 1);
  CHECK(chunk_size_for(100) == 1);
  CHECK(chunk_size_for(4096 * 10) == 10);
}

TEST_CASE("release_thread_resources frees a worker's GLPK environment (else every worker leaked it)", "[enum]") {
  // glp_free_env() answers 1 when the calling thread has no GLPK environment, 0 when it freed one.
  int after_use = -1, after_release = -1, unused = -1;
  std::thread([&] {
    glp_prob* lp = glp_create_prob();  // creates this thread's environment
    glp_delete_prob(lp);
    attnbounds::release_thread_resources();
    after_release = glp_free_env();
  }).join();
  std::thread([&] {
    glp_delete_prob(glp_create_prob());
    after_use = glp_free_env();  // the environment outlives its last problem until freed
  }).join();
  std::thread([&] {
    attnbounds::release_thread_resources();  // a thread that never used GLPK: nothing to free
    unused = glp_free_env();
  }).join();
  CHECK(after_use == 0);
  CHECK(after_release == 1);
  CHECK(unused == 1);
}

TEST_CASE("match2_into / match3_into equal match2 / match3 on every input, and leave the scratch clean", "[tasks]") {
  for (int M : {2, 3, 5, 6}) {
    for (int N : {1, 2, 3, 4}) {
      std::vector<std::uint8_t> present(static_cast<std::size_t>(M), 0), out(static_cast<std::size_t>(N));
      std::vector<int> x(static_cast<std::size_t>(N), 0);
      while (true) {
        attnbounds::match2_into(x.data(), N, M, present.data(), out.data());
        CHECK(out == attnbounds::match2(x, M));
        attnbounds::match3_into(x.data(), N, M, present.data(), out.data());
        CHECK(out == attnbounds::match3(x, M));
        CHECK(std::count(present.begin(), present.end(), 0) == M);
        int p = N - 1;
        while (p >= 0 && x[p] == M - 1) x[p--] = 0;
        if (p < 0) break;
        ++x[p];
      }
    }
  }
}
