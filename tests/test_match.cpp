// Match2 / Match3 constructions, third-order attention, local variants and Theorem 7.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <cstdio>
#include <random>
#include <string>

#include "enumerate/combinatorics.hpp"
#include "model/turn_table.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_local.hpp"
#include "proofs/match3_third_order.hpp"
#include "proofs/theorem7_match3_disj.hpp"
#include "tasks/tasks.hpp"
#include "checks/json_match.hpp"
#include "core/config_error.hpp"
#include "core/size_limit_error.hpp"

using namespace attnbounds;

namespace {
// The exact-semantics policy of the Match3 construction.
SemanticsPolicy exact_policy() { return SemanticsPolicy(Semantics{}, Match3Config::kSemantics, "test"); }

// O(N^3) brute force of the literal / distinct Match3 and O(N^2) Match2.
std::vector<std::uint8_t> brute_match3(const std::vector<int>& x, int M, bool distinct) {
  const std::size_t N = x.size();
  std::vector<std::uint8_t> out(N, 0);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t a = 0; a < N; ++a)
      for (std::size_t b = 0; b < N; ++b) {
        if (distinct && (a == i || b == i || a == b)) continue;
        if ((x[i] + x[a] + x[b]) % M == 0) out[i] = 1;
      }
  return out;
}
std::vector<std::uint8_t> brute_match2(const std::vector<int>& x, int M) {
  std::vector<std::uint8_t> out(x.size(), 0);
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = 0; j < x.size(); ++j)
      if ((x[i] + x[j]) % M == 0) out[i] = 1;
  return out;
}

double mpfr_cos_turn(long r, long M) {
  MpfrReal a = const_pi(300) * MpfrReal(Rational(2 * r, M), 300);
  return cos(a).to_double();
}

// A witness of a failing sweep re-verified independently: the model's forward pass decision at
// the witness token differs from the tasks.hpp ground truth.
template <class Result, class Forward, class Truth>
void require_verified_witness(const Result& r, Forward&& forward, Truth&& truth) {
  REQUIRE(r.verdict == Verdict::Fails);
  REQUIRE(r.sweep.worst.has_value());
  REQUIRE(r.sweep.worst->failing);
  REQUIRE(r.sweep.worst->check.has_value());
  CHECK(r.sweep.worst->check->confirmed);
  CHECK(r.sweep.failing > 0);
  const std::vector<int> x = r.sweep.worst->witness.x;
  const int token = r.sweep.worst->witness.token;
  auto decisions = forward(x);
  auto gt = truth(x);
  REQUIRE(decisions[static_cast<std::size_t>(token)].decided);
  CHECK(decisions[static_cast<std::size_t>(token)].model != static_cast<int>(gt[static_cast<std::size_t>(token)]));
}

}  // namespace

TEST_CASE("Niven: cos/sin of residue angles are exact where rational and enclose MPFR values", "[match]") {
  CHECK(*cos_turn_exact(1, 6) == Rational(1, 2));
  CHECK(*cos_turn_exact(2, 6) == Rational(-1, 2));
  CHECK(*cos_turn_exact(1, 4) == 0);
  CHECK(*sin_turn_exact(1, 4) == 1);
  CHECK(*sin_turn_exact(3, 4) == -1);
  CHECK(*sin_turn_exact(1, 12) == Rational(1, 2));
  CHECK_FALSE(cos_turn_exact(1, 8).has_value());
  CHECK_FALSE(sin_turn_exact(1, 5).has_value());
  for (long M : {5L, 7L, 8L, 12L, 16L})
    for (long r = 0; r < M; ++r) {
      Interval c = cos_turn(r, M, 128), s = sin_turn(r, M, 128);
      CHECK(c.lower_double() <= mpfr_cos_turn(r, M) + 1e-15);
      CHECK(c.upper_double() >= mpfr_cos_turn(r, M) - 1e-15);
      CHECK(c.width_double() < 1e-30);
      double sd = std::sin(2 * M_PI * r / M);
      CHECK(s.lower_double() <= sd + 1e-12);
      CHECK(s.upper_double() >= sd - 1e-12);
    }
}

TEST_CASE("Match2 gap g = 1 - cos(2pi/M) and temperature bound", "[match]") {
  CHECK(match2_gap(4, 128).lower() == 1);  // cos(pi/2) = 0
  CHECK(match2_gap(6, 128).upper() == Rational(1, 2));
  CHECK(match2_gap(16, 128).contains(Rational(1) - Rational(std::cos(2 * M_PI / 16))) == false);  // irrational
  CHECK(match2_gap(16, 128).mid_double() == Approx(1 - std::cos(2 * M_PI / 16)).epsilon(1e-15));
  const int N = 8, M = 16;
  const double g = 1 - std::cos(2 * M_PI / M);
  CHECK(match2_temperature_bound(N, M, 128).mid_double() == Approx(std::log((N - 1) * (4 - g) / g) / g).epsilon(1e-12));
  CHECK(match3_temperature_bound(6, 9, 128).mid_double() ==
        Approx(std::log((35) * (4 - (1 - std::cos(2 * M_PI / 9))) / (1 - std::cos(2 * M_PI / 9))) /
               (1 - std::cos(2 * M_PI / 9))).epsilon(1e-12));
  CHECK(match2_default_temperature(N, M) > match2_temperature_bound(N, M, 128).upper());
  CHECK(match2_default_temperature(N, M) < match2_temperature_bound(N, M, 128).upper() * Rational(11, 10));
}

TEST_CASE("third-order sign pattern reproduces cos(a+b+c); values give cos/sin(b+c)", "[match]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> U(-M_PI, M_PI);
  auto val = [](Match3TrigSelector t, double a) { return t.sign * (t.use_sin ? std::sin(a) : std::cos(a)); };
  bool flipped_breaks = false;
  for (int rep = 0; rep < 200; ++rep) {
    double a = U(rng), b = U(rng), c = U(rng);
    double s = 0, sf = 0;
    auto q = match3_query_pattern(false), qf = match3_query_pattern(true);
    auto k1 = match3_key1_pattern(), k2 = match3_key2_pattern();
    for (int i = 0; i < 4; ++i) {
      s += val(q[i], a) * val(k1[i], b) * val(k2[i], c);
      sf += val(qf[i], a) * val(k1[i], b) * val(k2[i], c);
    }
    CHECK(s == Approx(std::cos(a + b + c)).margin(1e-12));
    flipped_breaks = flipped_breaks || std::abs(sf - std::cos(a + b + c)) > 1e-3;
    // v1 follows key2's pattern, v2 follows key1's: e1 - e2 = cos(b+c), e3 + e4 = sin(b+c).
    double e[4];
    for (int i = 0; i < 4; ++i) e[i] = val(k2[i], b) * val(k1[i], c);
    CHECK(e[0] - e[1] == Approx(std::cos(b + c)).margin(1e-12));
    CHECK(e[2] + e[3] == Approx(std::sin(b + c)).margin(1e-12));
  }
  CHECK(flipped_breaks);
}

TEST_CASE("ground truth Match2 / Match3 (literal and distinct) agree with brute force", "[match]") {
  std::mt19937_64 rng(11);
  for (int rep = 0; rep < 300; ++rep) {
    const int N = 1 + static_cast<int>(rng() % 9), M = 2 + static_cast<int>(rng() % 12);
    std::vector<int> x(static_cast<std::size_t>(N));
    for (auto& v : x) v = static_cast<int>(rng() % static_cast<unsigned>(M));
    CHECK(match2(x, M) == brute_match2(x, M));
    CHECK(match3(x, M, false) == brute_match3(x, M, false));
    CHECK(match3(x, M, true) == brute_match3(x, M, true));
  }
}

TEST_CASE("multiset reduction: per-case enclosure overlaps the direct forward pass on every tuple", "[match]") {
  const int N = 3, M = 5;
  Match2Model m2(M, match2_default_temperature(N, M), exact_policy(), false);
  Match3Model m3(M, match3_default_temperature(N, M), exact_policy(), false);
  std::vector<int> x(N, 0);
  do {
    auto f2 = match2_forward(m2, x);
    auto f3 = match3_forward(m3, x);
    auto t2 = match2(x, M);
    auto t3 = match3(x, M);
    for (int i = 0; i < N; ++i) {
      std::map<int, int> counts;
      for (int v : x) counts[v]++;
      std::vector<int> vals, cnt;
      for (auto [v, c] : counts) { vals.push_back(v); cnt.push_back(c); }
      MatchCaseOutcome o2 = match2_case(m2, x[i], vals.data(), cnt.data(), static_cast<int>(vals.size()));
      MatchCaseOutcome o3 = match3_case(m3, x[i], vals.data(), cnt.data(), static_cast<int>(vals.size()));
      CHECK(o2.matched == (t2[i] != 0));
      CHECK(o3.matched == (t3[i] != 0));
      CHECK(o2.stat_lo <= f2[i].stat.upper_double());
      CHECK(o2.stat_hi >= f2[i].stat.lower_double());
      CHECK(o3.stat_lo <= f3[i].stat.upper_double());
      CHECK(o3.stat_hi >= f3[i].stat.lower_double());
      CHECK(f2[i].model == t2[i]);
      CHECK(f3[i].model == t3[i]);
    }
  } while (next_tuple(x.data(), N, M));
  CHECK(query_multiset_cases(8, 16) == 16 * binomial(22, 7));
}

TEST_CASE("match2 holds at its defaults (N=8, M=16) and under embed bf16 / arith fp16", "[match]") {
  Match2Result r = check_match2(Match2Config{8, 16, std::nullopt, Semantics{}, false}, 0, false);
  CHECK(r.verdict == Verdict::Holds);
  CHECK(r.sweep.cases == 16 * binomial(22, 7));
  CHECK(r.sweep.failing == 0);
  CHECK(r.sweep.undecided == 0);
  REQUIRE(r.sweep.worst.has_value());
  CHECK_FALSE(r.sweep.worst->failing);
  CHECK(r.sweep.worst->lower > 0);
  CHECK(r.c == Rational(80451, 1024));  // docs/match.md
  // Matched tokens: ‖out‖ ≤ 2δ < g/2 ≤ every unmatched ‖out‖ (g = 1 − cos(2π/16)).
  CHECK(r.sweep.matched.stat_upper < r.threshold_lower.get_d());
  CHECK(r.sweep.unmatched.stat_lower >= 1 - std::cos(2 * M_PI / 16) - 1e-12);
  CHECK(check_match2(Match2Config{6, 12, std::nullopt, parse_semantics("embed:bf16"), false}, 0, false).verdict == Verdict::Holds);
  Match2Result a = check_match2(Match2Config{3, 6, std::nullopt, parse_semantics("arith:fp16"), false}, 0, false);
  CHECK(a.verdict == Verdict::Holds);
  CHECK(a.tuples);
  CHECK(a.sweep.cases == 6 * 6 * 6 * 3);
}

TEST_CASE("match2 negative twins fail with verified witnesses", "[match]") {
  auto truth = [](int M) { return [M](const std::vector<int>& x) { return match2(x, M); }; };
  SECTION("temperature too low") {
    Match2Config cfg{4, 8, Rational(1), Semantics{}, false};
    Match2Result r = check_match2(cfg, 0, false);
    Match2Model m(8, Rational(1), exact_policy(), false);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match2_forward(m, x); }, truth(8));
  }
  SECTION("wrong sign in the query") {
    Match2Config cfg{4, 8, std::nullopt, Semantics{}, true};
    Match2Result r = check_match2(cfg, 0, false);
    Match2Model m(8, match2_default_temperature(4, 8), exact_policy(), true);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match2_forward(m, x); }, truth(8));
  }
  SECTION("M too large for embed:float:4") {
    Semantics sem = parse_semantics("embed:float:4");
    Match2Result r = check_match2(Match2Config{4, 32, std::nullopt, sem, false}, 0, false);
    Match2Model m(32, match2_default_temperature(4, 32), SemanticsPolicy(sem, Match2Config::kSemantics, "test"), false);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match2_forward(m, x); }, truth(32));
  }
}

TEST_CASE("match3 third-order holds at N=6, M=9 and its negative twins fail with verified witnesses", "[match]") {
  Match3ThirdOrderResult ok = check_match3_third_order(Match3Config{6, 9, std::nullopt, Semantics{}, false}, 0, false);
  CHECK(ok.verdict == Verdict::Holds);
  CHECK(ok.sweep.cases == 11583);  // 9 * C(13, 5), docs/match.md
  CHECK(ok.temperature_above_bound);
  // Matched statistics above the threshold 1 − g/2, unmatched below it.
  CHECK(ok.sweep.matched.stat_lower > ok.threshold_lower.get_d());
  CHECK(ok.sweep.unmatched.stat_upper < ok.threshold_lower.get_d());
  auto truth = [](int M) { return [M](const std::vector<int>& x) { return match3(x, M); }; };
  {
    Match3ThirdOrderResult r = check_match3_third_order(Match3Config{4, 6, Rational(1), Semantics{}, false}, 0, false);
    Match3Model m(6, Rational(1), exact_policy(), false);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match3_forward(m, x); }, truth(6));
  }
  {
    Match3ThirdOrderResult r = check_match3_third_order(Match3Config{4, 6, std::nullopt, Semantics{}, true}, 0, false);
    Match3Model m(6, match3_default_temperature(4, 6), exact_policy(), true);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match3_forward(m, x); }, truth(6));
  }
  {
    Semantics sem = parse_semantics("embed:float:3");
    Match3ThirdOrderResult r = check_match3_third_order(Match3Config{3, 24, std::nullopt, sem, false}, 0, false);
    Match3Model m(24, match3_default_temperature(3, 24), SemanticsPolicy(sem, Match3Config::kSemantics, "test"), false);
    require_verified_witness(r, [&](const std::vector<int>& x) { return match3_forward(m, x); }, truth(24));
  }
}

TEST_CASE("Newton decoder recovers multisets from power sums; hinted truth matches brute force", "[match]") {
  std::mt19937_64 rng(5);
  for (int rep = 0; rep < 200; ++rep) {
    const int q = 1 + static_cast<int>(rng() % 4), M = 2 + static_cast<int>(rng() % 20);
    std::vector<int> ms(static_cast<std::size_t>(q));
    for (auto& v : ms) v = static_cast<int>(rng() % static_cast<unsigned>(M));
    std::sort(ms.begin(), ms.end());
    std::vector<Integer> P(static_cast<std::size_t>(q), Integer(0));
    for (int v : ms) {
      Integer p = 1;
      for (int k = 0; k < q; ++k) { p *= v; P[static_cast<std::size_t>(k)] += p; }
    }
    auto d = decode_power_sums(P, M);
    REQUIRE(d.has_value());
    CHECK(*d == ms);
  }
  CHECK_FALSE(decode_power_sums({Integer(1), Integer(2)}, 8).has_value());  // 1,2: no integer pair
  // Hinted ground truth vs a direct triple loop.
  std::vector<int> x{3, 1, 4, 1, 5};
  std::vector<std::vector<int>> y{{1, 2}, {0, 4}, {2, 3}, {0, 1}, {3, 4}};
  auto t = match3_hinted_truth(x, y, 6);
  for (std::size_t i = 0; i < x.size(); ++i) {
    int e = 0;
    for (int a : y[i]) for (int b : y[i]) e |= (x[i] + x[static_cast<std::size_t>(a)] + x[static_cast<std::size_t>(b)]) % 6 == 0;
    CHECK(t[i] == e);
  }
  CHECK(window_hints(5, 2)[4] == std::vector<int>{0, 1});
}

TEST_CASE("match3-hinted / window hold at defaults; low temperature and low precision fail with witnesses", "[match]") {
  Match3LocalResult hinted = check_match3_local(Match3LocalConfig{false, 10, 8, 3, std::nullopt, Semantics{}}, 0, false);
  CHECK(hinted.verdict == Verdict::Holds);
  CHECK(hinted.rows == binomial(10, 3));
  CHECK(hinted.worst_upper < 0.5);
  CHECK(hinted.decoder_failures == 0);
  CHECK_FALSE(hinted.witness.has_value());
  Match3LocalResult window = check_match3_local(Match3LocalConfig{true, 10, 8, 3, std::nullopt, Semantics{}}, 0, false);
  CHECK(window.verdict == Verdict::Holds);
  CHECK(window.rows == 10);
  CHECK(check_match3_local(Match3LocalConfig{false, 8, 8, 3, std::nullopt, parse_semantics("embed:fp32")}, 0, false).verdict == Verdict::Holds);
  CHECK(check_match3_local(Match3LocalConfig{false, 8, 8, 2, std::nullopt, parse_semantics("arith:float:24")}, 0, false).verdict == Verdict::Holds);
  CHECK(check_match3_local(Match3LocalConfig{true, 8, 8, 3, std::nullopt, parse_semantics("arith:float:24")}, 0, false).verdict == Verdict::Holds);
  // fp32 has a bounded exponent: the arith accumulation bound does not cover underflow, so the
  // checker refuses instead of guessing.
  CHECK_THROWS_AS(check_match3_local(Match3LocalConfig{false, 8, 8, 2, std::nullopt, parse_semantics("arith:fp32")}, 0, false),
                  ConfigError);
  for (auto cfg : {Match3LocalConfig{false, 8, 8, 2, Rational(2), Semantics{}},
                   Match3LocalConfig{false, 8, 8, 3, std::nullopt, parse_semantics("embed:bf16")},
                   Match3LocalConfig{false, 8, 8, 3, std::nullopt, parse_semantics("arith:float:8")}}) {
    Match3LocalResult r = check_match3_local(cfg, 0, false);
    REQUIRE(r.verdict == Verdict::Fails);
    REQUIRE(r.witness.has_value());
    const std::vector<int> x = r.witness->x;
    const std::vector<std::vector<int>> y = r.witness->y;
    const std::size_t token = static_cast<std::size_t>(r.witness->token);
    Match3LocalEval e = eval_match3_local(cfg, x, y);
    CHECK(e.tokens[token].truth == static_cast<int>(match3_hinted_truth(x, y, cfg.M)[token]));
    CHECK(e.tokens[token].decided);
    CHECK(e.tokens[token].model != e.tokens[token].truth);
    CHECK(e.errors >= 1);
  }
}

TEST_CASE("Theorem 7: reduction found and verified; pair filter equals exhaustive verification", "[match]") {
  auto r3 = find_match3_disj_reduction(3, 0, 40);
  REQUIRE(r3.has_value());
  CHECK(r3->M == 8);
  CHECK(verify_match3_disj(*r3, 0) == 0);
  auto r6 = find_match3_disj_reduction(6, 0, 60);
  REQUIRE(r6.has_value());
  CHECK(r6->M == 14);
  // The pair filter is exact: compare it with exhaustive verification on every candidate at M = 8.
  for (int t = 0; t < 8; ++t)
    for (int s = 0; s < 8; ++s)
      for (int d = 0; d < 8; ++d) {
        Match3DisjReduction r{3, 8, t, s, d};
        CHECK(match3_disj_pairs_ok(r) == (verify_match3_disj(r, 1) == 0));
      }
}

TEST_CASE("Theorem 7: low-precision random model gives a verified collision; trig at high precision passes", "[match]") {
  Match3DisjOptions o;
  o.n = 6;
  o.model.family = "random";
  o.model.m = 2;
  o.semantics = parse_semantics("tiled:float:3:6");
  Match3DisjResult r = lower_match3_disj(o, 0);
  REQUIRE(r.verdict == Verdict::Fails);
  CHECK(r.protocol_mismatches == 0);
  CHECK(r.reduction_verified);
  REQUIRE(r.collision.has_value());
  const auto X1 = r.collision->x1, X2 = r.collision->x2;
  CHECK(r.collision->output1 == r.collision->output2);
  const Match3DisjReduction red = r.reduction;
  CHECK(red.M == 14);
  TiledMatch3Model model = make_tiled_model(o.model, red, o.semantics);
  CHECK(tiled_forward_token0(model, X1, 6) == tiled_forward_token0(model, X2, 6));
  CHECK(match3(X1, red.M)[0] != match3(X2, red.M)[0]);

  Match3DisjOptions t;
  t.n = 5;
  t.model.family = "trig";
  t.model.m = 2;
  t.semantics = parse_semantics("tiled:float:53:5");
  Match3DisjResult rt = lower_match3_disj(t, 0);
  CHECK(rt.verdict == Verdict::Holds);
  CHECK(rt.distinct_messages == 32);
  CHECK(rt.protocol_mismatches == 0);
  CHECK_FALSE(rt.collision.has_value());
}

TEST_CASE("CLI: check match2 JSON contract and bad input", "[match]") {
  auto run = [](const std::string& args, int& status) {
    const auto r = attnbounds_test::run_attnbounds(args);
    status = r.status;
    return r.out;
  };
  int status = -1;
  json r = json::parse(run("check match2 --N 4 --M 8 --json", status));
  CHECK(status == 0);
  for (const char* k : {"tool", "version", "command", "claim", "theorem", "provenance", "params", "semantics", "verdict",
                        "cases", "worst", "bound", "seconds", "threads"})
    CHECK(r.contains(k));
  run("check match2 --N 1", status);
  CHECK(status == 2);
  json f = json::parse(run("check match3-third-order --N 4 --M 6 --c 1 --json", status));
  CHECK(status == 1);
  CHECK(f["worst"]["witness"].contains("x"));
  json e = json::parse(run("eval match2 --input 3,13,5,1 --M 16 --json", status));
  CHECK(status == 0);
  CHECK(e["tokens"][0]["truth"] == 1);
  CHECK(e["tokens"][2]["truth"] == 0);
  run("lower match3-disj --n 4 --m 1 --semantics tiled:float:2:4 --json", status);
  CHECK(status == 1);
}

TEST_CASE("Theorem 7 reduction verification for n = 8 (65,536 instances)", "[match][long]") {
  auto r = find_match3_disj_reduction(8, 0, 80);
  REQUIRE(r.has_value());
  CHECK(verify_match3_disj(*r, 0) == 0);
}

TEST_CASE("psi thresholds: unmatched statistics are bounded by the gap for ANY temperature", "[match]") {
  // Match2: ‖out‖ ≥ ⟨u(θ_i), out⟩ = 1 − Σ A_j cos(θ_i+θ_j) ≥ g when no partner exists.
  // Match3: z is an average of cos(θ_i+θ_j+θ_k) ≤ 1 − g when no pair matches.  Matched tokens
  // meet the temperature-dependent bound 2δ (match2) / 1 − 2δ (match3).
  const int N = 3, M = 7;
  const double g = 1 - std::cos(2 * M_PI / M);
  for (Rational c : {Rational(1, 2), Rational(3), match2_default_temperature(N, M)}) {
    Match2Model m2(M, c, exact_policy(), false);
    Match3Model m3(M, c, exact_policy(), false);
    const double cd = c.get_d();
    const double delta2 = (N - 1) * std::exp(-cd * g) / (1 + (N - 1) * std::exp(-cd * g));
    const double delta3 = (N * N - 1) * std::exp(-cd * g) / (1 + (N * N - 1) * std::exp(-cd * g));
    std::vector<int> x(N, 0);
    do {
      auto f2 = match2_forward(m2, x);
      auto f3 = match3_forward(m3, x);
      auto t2 = match2(x, M);
      auto t3 = match3(x, M);
      for (int i = 0; i < N; ++i) {
        if (t2[i]) CHECK(f2[i].stat.upper_double() <= 2 * delta2 + 1e-12);
        else CHECK(f2[i].stat.lower_double() >= g - 1e-12);
        if (t3[i]) CHECK(f3[i].stat.lower_double() >= 1 - 2 * delta3 - 1e-12);
        else CHECK(f3[i].stat.upper_double() <= 1 - g + 1e-12);
      }
    } while (next_tuple(x.data(), N, M));
  }
}

TEST_CASE("match2 without residual (m = 4): holds at defaults, low temperature fails with a verified witness", "[match]") {
  Match2NoResidualResult ok = check_match2_no_residual(Match2Config{5, 10, std::nullopt, Semantics{}, false}, 0, false);
  CHECK(ok.verdict == Verdict::Holds);
  CHECK(ok.sweep.cases == query_multiset_cases(5, 10));
  CHECK(ok.sweep.matched.stat_lower > 0);     // ψ's function positive on every matched case
  CHECK(ok.sweep.unmatched.stat_upper < 0);   // and negative on every unmatched one
  // g₂ for M = 8: the closest cosines of non-matching residues are cos(π/4) and cos(0) = 1.
  const double g2 = std::pow(1 - std::cos(2 * M_PI / 8), 2);
  CHECK(match2nr_score_gap(8, 128).mid_double() == Approx(g2).epsilon(1e-12));
  Match2NoResidualResult bad = check_match2_no_residual(Match2Config{4, 8, Rational(5), Semantics{}, false}, 0, false);
  REQUIRE(bad.verdict == Verdict::Fails);
  REQUIRE(bad.sweep.worst.has_value());
  REQUIRE(bad.sweep.worst->check.has_value());
  CHECK(bad.sweep.worst->check->confirmed);
  const std::vector<int> x = bad.sweep.worst->witness.x;
  const std::size_t token = static_cast<std::size_t>(bad.sweep.worst->witness.token);
  MatchEvalResult e = eval_match2_no_residual(Match2Config{4, 8, Rational(5), Semantics{}, false}, x);
  CHECK(e.tokens[token].truth == static_cast<int>(match2(x, 8)[token]));
  CHECK(e.tokens[token].decided);
  CHECK(e.tokens[token].model != e.tokens[token].truth);
}

TEST_CASE("results do not depend on the thread count", "[match]") {
  auto strip = [](const auto& typed) {
    json r = to_json(typed);
    r.erase("seconds");
    r.erase("threads");
    return r.dump();
  };
  Match2Config low{5, 10, Rational(2), Semantics{}, false};  // fails: witness choice must be stable too
  CHECK(strip(check_match2(low, 1, false)) == strip(check_match2(low, 2, false)));
  CHECK(strip(check_match2(Match2Config{5, 10, std::nullopt, Semantics{}, false}, 1, false)) ==
        strip(check_match2(Match2Config{5, 10, std::nullopt, Semantics{}, false}, 3, false)));
  Match3DisjOptions o;
  o.n = 5;
  o.semantics = parse_semantics("tiled:float:3:5");
  CHECK(strip(lower_match3_disj(o, 1)) == strip(lower_match3_disj(o, 2)));
}

TEST_CASE("Match checkers report bad input by field name and refuse oversize work with a typed error", "[match]") {
  auto field_of = [](auto&& run) {
    try {
      run();
    } catch (const SizeLimitError&) {
      return std::string("size-limit");
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string("none");
  };
  CHECK(field_of([] { check_match2(Match2Config{1, 16, std::nullopt, Semantics{}, false}, 1, false); }) == "N");
  CHECK(field_of([] { check_match2(Match2Config{4, 8, Rational(-1), Semantics{}, false}, 1, false); }) == "c");
  CHECK(field_of([] { check_match2(Match2Config{4, 8, std::nullopt, parse_semantics("tiled:fp16:2"), false}, 1, false); }) ==
        "semantics");
  CHECK(field_of([] { check_match2_no_residual(Match2Config{4, 8, std::nullopt, Semantics{}, true}, 1, false); }) ==
        "flip_query_sign");
  CHECK(field_of([] { check_match3_third_order(Match3Config{17, 9, std::nullopt, Semantics{}, false}, 1, false); }) == "N");
  CHECK(field_of([] { check_match3_local(Match3LocalConfig{true, 8, 8, 8, std::nullopt, Semantics{}}, 1, false); }) == "w");
  CHECK(field_of([] { eval_match3_local(Match3LocalConfig{false, 3, 8, 2, std::nullopt, Semantics{}}, {3, 5, 1}, {{1, 2}, {0, 2}}); }) ==
        "hints");
  Match3DisjOptions big;
  big.n = 10;
  big.semantics = parse_semantics("tiled:float:8:10");
  try {
    lower_match3_disj(big, 1);
    FAIL("expected a size-limit error");
  } catch (const SizeLimitError& e) {
    CHECK(e.size() == (1ULL << 20));  // 4^10 instances
    CHECK(e.limit() == (1ULL << 18));
    CHECK(e.field() == "force");
  }
  try {
    check_match2(Match2Config{9, 100000, std::nullopt, Semantics{}, false}, 1, false);
    FAIL("expected a size-limit error");
  } catch (const SizeLimitError& e) {
    CHECK(e.size() == UINT64_MAX);  // saturated: 100000 * C(100007, 8)
    CHECK(std::string(e.what()).find("more than 1.8e19") != std::string::npos);
  }
}

// ---- the pruned match2 sweep (proofs/match2_trig.cpp, prune_decides) -------------------------

namespace {

void require_same_outcome(const IndexedOutcome<MatchCaseOutcome>& a, const IndexedOutcome<MatchCaseOutcome>& b) {
  CHECK(a.index == b.index);
  CHECK(a.outcome.matched == b.outcome.matched);
  CHECK(a.outcome.stat_lo == b.outcome.stat_lo);
  CHECK(a.outcome.stat_hi == b.outcome.stat_hi);
  CHECK(a.outcome.margin_lo == b.outcome.margin_lo);
  CHECK(a.outcome.margin_hi == b.outcome.margin_hi);
}

// Everything of a tally the reports are made of: counts, the worst of each side, the first
// failing and undecided cases.
void require_same_tally(const MatchTally& a, const MatchTally& b) {
  CHECK(a.cases == b.cases);
  CHECK(a.fallbacks == b.fallbacks);
  CHECK(a.failures == b.failures);
  CHECK(a.undecided == b.undecided);
  for (int g = 0; g < 2; ++g) {
    REQUIRE(a.worst[g].has_value() == b.worst[g].has_value());
    if (a.worst[g]) require_same_outcome(*a.worst[g], *b.worst[g]);
  }
  REQUIRE(a.first_failure.has_value() == b.first_failure.has_value());
  if (a.first_failure) require_same_outcome(*a.first_failure, *b.first_failure);
  REQUIRE(a.first_undecided.has_value() == b.first_undecided.has_value());
  if (a.first_undecided) require_same_outcome(*a.first_undecided, *b.first_undecided);
  for (int g = 0; g < 2; ++g) {
    CHECK(a.group_failures[g] == b.group_failures[g]);
    REQUIRE(a.group_first_failure[g].has_value() == b.group_first_failure[g].has_value());
    if (a.group_first_failure[g]) require_same_outcome(*a.group_first_failure[g], *b.group_first_failure[g]);
  }
}

// Every case of the multiset reduction, evaluated alone (match2_case, no pruning): the outcome
// and the other N−1 tokens, in sweep order.
struct PlainCase {
  std::uint64_t index;
  int a;
  std::vector<int> others;
  MatchCaseOutcome o;
};
std::vector<PlainCase> plain_cases(const Match2Model& m, int N) {
  std::vector<PlainCase> out;
  const std::uint64_t total = query_multiset_cases(N, m.M);
  for (std::uint64_t i = 0; i < total; ++i) {
    const std::vector<int> x = query_multiset_input(i, N, m.M);
    std::map<int, int> counts;
    for (int v : x) counts[v]++;
    std::vector<int> vals, cnt;
    for (auto [v, c] : counts) { vals.push_back(v); cnt.push_back(c); }
    out.push_back({i, x[0], std::vector<int>(x.begin() + 1, x.end()),
                   match2_case(m, x[0], vals.data(), cnt.data(), static_cast<int>(vals.size()))});
  }
  return out;
}

}  // namespace

TEST_CASE("match2 pruned sweep reports exactly what the full sweep reports", "[match]") {
  struct Run { int N, M; std::optional<Rational> c; bool flip; const char* sem; };
  const std::vector<Run> runs = {
      {8, 16, std::nullopt, false, "exact"},  {5, 12, std::nullopt, false, "exact"},
      {6, 8, Rational(10), false, "exact"},   {6, 8, Rational(1, 3), false, "exact"},
      {6, 8, Rational(30), true, "exact"},    {9, 7, std::nullopt, false, "exact"},
      {7, 12, Rational(25), false, "exact"},  {6, 10, std::nullopt, false, "embed:bf16"},
      {6, 10, std::nullopt, false, "embed:fp32"}, {4, 3, std::nullopt, false, "exact"},
      {12, 5, std::nullopt, false, "exact"}};
  int failing_runs = 0, pruned_runs = 0;
  for (const auto& run : runs) {
    INFO("N=" << run.N << " M=" << run.M << " flip=" << run.flip << " " << run.sem);
    const Semantics sem = parse_semantics(run.sem);
    const Rational c = run.c ? *run.c : match2_default_temperature(run.N, run.M);
    Match2Model model(run.M, c, SemanticsPolicy(sem, Match2Config::kSemantics, "test"), run.flip);
    pruned_runs += model.prune_ok;
    const MatchTally full = match2_multiset_sweep(model, run.N, 1, false);
    failing_runs += full.failures > 0;
    for (unsigned threads : {1u, 2u, 3u}) require_same_tally(full, match2_multiset_sweep(model, run.N, threads, true));
    // And the rendered result, through the command's own path.
    Match2Config cfg{run.N, run.M, run.c, sem, run.flip};
    const Match2Result a = check_match2(cfg, 2, true);
    cfg.prune = false;
    const Match2Result b = check_match2(cfg, 1, true);
    CHECK(a.verdict == b.verdict);
    CHECK(a.sweep.fallbacks == b.sweep.fallbacks);
    REQUIRE(a.sweep.worst.has_value() == b.sweep.worst.has_value());
    CHECK(a.sweep.worst->lower == b.sweep.worst->lower);
    CHECK(a.sweep.worst->upper == b.sweep.worst->upper);
    CHECK(a.sweep.worst->witness.x == b.sweep.worst->witness.x);
    CHECK(a.sweep.matched.stat_upper == b.sweep.matched.stat_upper);
    CHECK(a.sweep.unmatched.stat_lower == b.sweep.unmatched.stat_lower);
  }
  CHECK(failing_runs >= 3);  // the comparison covers failing sweeps
  CHECK(pruned_runs == static_cast<int>(runs.size()));  // and the pruned path ran in every one
}

TEST_CASE("match2 pruning settles only cases its full evaluation puts strictly above the bound", "[match]") {
  struct Run { int N, M; std::optional<Rational> c; bool flip; };
  for (const Run& run : {Run{5, 12, std::nullopt, false}, Run{6, 8, Rational(10), false}, Run{5, 8, Rational(30), true},
                        Run{4, 16, std::nullopt, false}}) {
    INFO("N=" << run.N << " M=" << run.M);
    Match2Model model(run.M, run.c ? *run.c : match2_default_temperature(run.N, run.M), SemanticsPolicy(Semantics{}, Match2Config::kSemantics, "test"), run.flip);
    REQUIRE(model.prune_ok);
    const auto cases = plain_cases(model, run.N);
    double true_min[2] = {INFINITY, INFINITY};
    for (const auto& pc : cases) true_min[pc.o.group()] = std::min(true_min[pc.o.group()], pc.o.margin_lo);
    // The sweep's m is the smallest room seen so far: at least the true minimum; try that and others.
    const std::vector<std::pair<double, double>> ms = {{true_min[0], true_min[1]},
                                                       {true_min[0] + 1e-3, true_min[1] + 1e-2},
                                                       {0.0, 0.0},
                                                       {-1.0, 0.5},
                                                       {INFINITY, true_min[1]}};
    std::uint64_t pruned_at_true_min = 0;
    for (const auto& [m0, m1] : ms) {
      for (const auto& pc : cases) {
        const auto o = match2_prune_test(model, pc.a, pc.others.data(), static_cast<int>(pc.others.size()), m0, m1);
        if (!o) continue;
        if (m0 == true_min[0] && m1 == true_min[1]) ++pruned_at_true_min;
        const double m = o->matched ? m0 : m1;
        INFO("case " << pc.index << " m " << m);
        REQUIRE(o->matched == pc.o.matched);
        // The full evaluation holds, without fallback, strictly above m: never the worst.
        CHECK(pc.o.state() == CaseState::Holds);
        CHECK_FALSE(pc.o.used_fallback);
        CHECK(pc.o.margin_lo > std::max(m, 0.0));
        // The pruned outcome is certified (it meets the full enclosure) and ranks above m too.
        CHECK(o->margin_lo > std::max(m, 0.0) + kMatch2PruneSlack / 2);
        CHECK(o->margin_lo <= pc.o.margin_hi);
        CHECK(pc.o.margin_lo <= o->margin_hi);
        CHECK(o->stat_lo <= pc.o.stat_hi);
        CHECK(pc.o.stat_lo <= o->stat_hi);
        CHECK(o->state() == CaseState::Holds);
      }
    }
    // Nothing is pruned without a bound to prune against, and most cases are at the true minimum.
    CHECK_FALSE(match2_prune_test(model, 0, cases[0].others.data(), run.N - 1, INFINITY, INFINITY).has_value());
    CHECK(pruned_at_true_min * 2 > cases.size());
  }
}

TEST_CASE("match2 pruned sweep finds the one failing multiset of a perturbed model", "[match]") {
  // The construction with one weight perturbed: query value 1 (partner 15) puts 4 times the weight
  // on residue 14, the partner's neighbour, so (1; 15, 14, 14, 14, 14) has the largest matched norm
  // of all, alone; ψ's threshold is then set between it and the next, so it is the one case that
  // fails.
  const int N = 6, M = 16;
  Match2Model model(M, match2_default_temperature(N, M), SemanticsPolicy(Semantics{}, Match2Config::kSemantics, "test"), false);
  auto& row = model.weight_rows[1];
  row.e[14] = DInterval(4.0) * row.e[14];
  row.ev_cos[14] = DInterval(4.0) * row.ev_cos[14];
  row.ev_sin[14] = DInterval(4.0) * row.ev_sin[14];
  model.build_prune_tables();
  REQUIRE(model.prune_ok);
  const auto cases = plain_cases(model, N);
  double top = -1, second = -1;
  std::uint64_t top_index = 0;
  for (const auto& pc : cases)
    if (pc.o.matched && pc.o.stat_lo > top) { top = pc.o.stat_lo; top_index = pc.index; }
  for (const auto& pc : cases)
    if (pc.o.matched && pc.index != top_index) second = std::max(second, pc.o.stat_hi);
  REQUIRE(second < top);
  CHECK(query_multiset_input(top_index, N, M) == std::vector<int>{1, 14, 14, 14, 14, 15});
  const double t = 0.5 * second + 0.5 * top;
  model.threshold_fast = DInterval(t);
  model.build_prune_tables();
  REQUIRE(model.prune_ok);
  const MatchTally full = match2_multiset_sweep(model, N, 1, false);
  REQUIRE(full.failures == 1);
  REQUIRE(failing_case(full).index == top_index);
  for (unsigned threads : {1u, 2u}) {
    const MatchTally pruned = match2_multiset_sweep(model, N, threads, true);
    require_same_tally(full, pruned);
    CHECK(failing_case(pruned).index == top_index);
    CHECK(failing_case(pruned).outcome.margin_hi < 0);
  }
}
