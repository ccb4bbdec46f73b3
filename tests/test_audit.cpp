// Adversarial review: the checkers' numbers against independent computations (plain MPFR at
// high precision, brute force over every input), verdict/exit-status agreement, and JSON that
// does not depend on --threads.  End to end through the built binary where the JSON is checked.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <gmpxx.h>
#include <mpfr.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enumerate/combinatorics.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match3_local.hpp"
#include "tasks/tasks.hpp"

using nlohmann::json;

namespace {

using attnbounds_test::CliRun;

constexpr mpfr_prec_t kBits = 1024;



using attnbounds_test::run_json;

// A plain MPFR number (RAII), independent of the toolkit's MpfrReal / Interval types.
struct Big {
  mpfr_t v;
  Big() { mpfr_init2(v, kBits); mpfr_set_zero(v, 1); }
  Big(const Big& o) { mpfr_init2(v, kBits); mpfr_set(v, o.v, MPFR_RNDN); }
  Big& operator=(const Big& o) { mpfr_set(v, o.v, MPFR_RNDN); return *this; }
  ~Big() { mpfr_clear(v); }
};

Big big_of(const mpq_class& x) {
  Big b;
  mpfr_set_q(b.v, x.get_mpq_t(), MPFR_RNDN);
  return b;
}

// A decimal string from the JSON ("0.0999...", "1e-30" style is not used for results).
Big big_of_decimal(const std::string& s) {
  Big b;
  REQUIRE(mpfr_set_str(b.v, s.c_str(), 10, MPFR_RNDN) == 0);
  return b;
}

mpq_class rational_of_decimal(const std::string& s) {
  // "2.94443988800048828125" -> exact rational
  const auto dot = s.find('.');
  if (dot == std::string::npos) return mpq_class(mpz_class(s, 10));
  const std::string digits = s.substr(0, dot) + s.substr(dot + 1);
  mpz_class den;
  mpz_ui_pow_ui(den.get_mpz_t(), 10, s.size() - dot - 1);
  mpq_class r(mpz_class(digits, 10), den);  // base 10: "0695..." is not octal
  r.canonicalize();
  return r;
}

// Worst case of the moment-curve qSA unit over every S, recomputed from scratch: keys
// u_j = (j, ..., j^{2q}) (1-based j), p_S(t) = prod (t - k)^2 expanded by hand, query
// -c(a_1..a_{2q}), scores <query, u_j> in exact rationals, softmax and sum_j |a_j - t_j| in MPFR.
// Sum_j |a_j - t_j| of the row of subset S (0-based, sorted).
Big cyclic_row_mpfr(int N, int q, const mpq_class& c, const std::vector<int>& S) {
  std::vector<mpz_class> a{1};
  for (int k : S)
    for (int twice = 0; twice < 2; ++twice) {  // multiply by (t - (k+1))
      std::vector<mpz_class> b(a.size() + 1, 0);
      for (std::size_t r = 0; r < a.size(); ++r) {
        b[r + 1] += a[r];
        b[r] -= (k + 1) * a[r];
      }
      a = b;
    }
  std::vector<mpq_class> score(N);
  for (int j = 0; j < N; ++j) {
    mpz_class dot = 0, power = 1;
    for (int r = 1; r <= 2 * q; ++r) {
      power *= (j + 1);
      dot -= a[r] * power;  // query entry -c a_r times key entry j^r; c applied below
    }
    score[j] = c * mpq_class(dot);
  }
  mpq_class top = score[0];
  for (const auto& v : score) top = std::max(top, v);
  std::vector<Big> e(N);
  Big Z;
  for (int j = 0; j < N; ++j) {
    e[j] = big_of(score[j] - top);
    mpfr_exp(e[j].v, e[j].v, MPFR_RNDN);
    mpfr_add(Z.v, Z.v, e[j].v, MPFR_RNDN);
  }
  const Big t = big_of(mpq_class(1, q));
  Big total, diff;
  for (int j = 0; j < N; ++j) {
    mpfr_div(diff.v, e[j].v, Z.v, MPFR_RNDN);
    if (std::find(S.begin(), S.end(), j) != S.end()) mpfr_sub(diff.v, diff.v, t.v, MPFR_RNDN);
    mpfr_abs(diff.v, diff.v, MPFR_RNDN);
    mpfr_add(total.v, total.v, diff.v, MPFR_RNDN);
  }
  return total;
}

Big cyclic_worst_mpfr(int N, int q, const mpq_class& c) {
  Big best;
  mpfr_set_si(best.v, -1, MPFR_RNDN);
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  do {
    Big v = cyclic_row_mpfr(N, q, c, S);
    if (mpfr_greater_p(v.v, best.v)) best = v;
  } while (attnbounds::next_subset(S.data(), q, N));
  return best;
}

mpq_class rational_of_json(const json& v) {
  const std::string s = v.get<std::string>();
  if (s.find('/') != std::string::npos) {
    mpq_class r(s);
    r.canonicalize();
    return r;
  }
  return rational_of_decimal(s);
}

void require_enclosed(const Big& v, const json& worst) {
  const Big lo = big_of_decimal(worst["lower"].get<std::string>());
  const Big hi = big_of_decimal(worst["upper"].get<std::string>());
  INFO("lower " << worst["lower"] << " upper " << worst["upper"] << " independent " << mpfr_get_d(v.v, MPFR_RNDN));
  CHECK(mpfr_lessequal_p(lo.v, v.v));
  CHECK(mpfr_lessequal_p(v.v, hi.v));
}

}  // namespace

TEST_CASE("audit: qsa-cyclic worst case lies in [worst.lower, worst.upper] of an independent MPFR recomputation", "[audit]") {
  struct Case {
    int N, q;
    std::string extra;
  };
  // Defaults (holds), a low temperature (fails), q = N, q = 1, and a large temperature.
  for (const Case& k : {Case{4, 1, ""}, Case{5, 2, ""}, Case{6, 2, ""}, Case{6, 3, ""}, Case{7, 2, "--c 1/2"},
                        Case{5, 2, "--c 3/2"}, Case{6, 1, "--c 0"}, Case{4, 4, ""}, Case{6, 2, "--eps 0.999"},
                        Case{6, 2, "--c 40"}}) {
    const std::string args = "check qsa-cyclic --N " + std::to_string(k.N) + " --q " + std::to_string(k.q) + " " + k.extra;
    INFO(args);
    int status = -1;
    json r = run_json(args, &status);
    const mpq_class c = rational_of_json(r["params"]["c"]);
    const Big worst = cyclic_worst_mpfr(k.N, k.q, c);
    require_enclosed(worst, r["worst"]);
    // The verdict is the comparison of that worst case with eps, and the exit status says the same.
    const Big eps = big_of(rational_of_json(r["bound"]));
    const bool within = mpfr_lessequal_p(worst.v, eps.v);
    CHECK(r["verdict"] == (within ? "holds" : "fails"));
    CHECK(status == (within ? 0 : 1));
    // The reported witness row is a worst row: its value lies in the same enclosure.  (Rows whose
    // values differ by less than a double's resolution may be reported instead of the exact maximum;
    // worst.upper must then still bound the maximum, which require_enclosed above checks.)
    std::vector<int> S;
    for (int j : r["worst"]["witness"]["S"]) S.push_back(j - 1);
    REQUIRE(S.size() == static_cast<std::size_t>(k.q));
    require_enclosed(cyclic_row_mpfr(k.N, k.q, c, S), r["worst"]);
  }
}

namespace {

// Brute force over every tuple of [M]^N and every token with plain MPFR: the Match2 construction
// out_i = phi_i + sum_j A_ij v_j (math §4.3), phi = (cos, sin), query c(cos, -sin), value (-cos, sin).
struct Match2Extremes {
  Big largest_matched, smallest_unmatched;
  bool any_matched = false, any_unmatched = false;
};

Match2Extremes match2_brute_force(int N, int M, const mpq_class& c) {
  Match2Extremes ex;
  std::vector<Big> co(M), si(M);
  Big pi;
  mpfr_const_pi(pi.v, MPFR_RNDN);
  for (int r = 0; r < M; ++r) {
    Big th;
    mpfr_mul_si(th.v, pi.v, 2 * r, MPFR_RNDN);
    mpfr_div_si(th.v, th.v, M, MPFR_RNDN);
    mpfr_cos(co[r].v, th.v, MPFR_RNDN);
    mpfr_sin(si[r].v, th.v, MPFR_RNDN);
  }
  const Big cb = big_of(c);
  std::vector<int> x(N, 0);
  do {
    const std::vector<std::uint8_t> truth = attnbounds::match2(x, M);
    for (int i = 0; i < N; ++i) {
      std::vector<Big> s(N);
      Big top, t;
      for (int j = 0; j < N; ++j) {
        // c (cos_i cos_j - sin_i sin_j)
        mpfr_mul(s[j].v, co[x[i]].v, co[x[j]].v, MPFR_RNDN);
        mpfr_mul(t.v, si[x[i]].v, si[x[j]].v, MPFR_RNDN);
        mpfr_sub(s[j].v, s[j].v, t.v, MPFR_RNDN);
        mpfr_mul(s[j].v, s[j].v, cb.v, MPFR_RNDN);
        if (j == 0 || mpfr_greater_p(s[j].v, top.v)) top = s[j];
      }
      Big Z, oc, os;
      for (int j = 0; j < N; ++j) {
        mpfr_sub(s[j].v, s[j].v, top.v, MPFR_RNDN);
        mpfr_exp(s[j].v, s[j].v, MPFR_RNDN);
        mpfr_add(Z.v, Z.v, s[j].v, MPFR_RNDN);
        mpfr_mul(t.v, s[j].v, co[x[j]].v, MPFR_RNDN);
        mpfr_sub(oc.v, oc.v, t.v, MPFR_RNDN);
        mpfr_mul(t.v, s[j].v, si[x[j]].v, MPFR_RNDN);
        mpfr_add(os.v, os.v, t.v, MPFR_RNDN);
      }
      mpfr_div(oc.v, oc.v, Z.v, MPFR_RNDN);
      mpfr_div(os.v, os.v, Z.v, MPFR_RNDN);
      mpfr_add(oc.v, oc.v, co[x[i]].v, MPFR_RNDN);
      mpfr_add(os.v, os.v, si[x[i]].v, MPFR_RNDN);
      Big norm;
      mpfr_hypot(norm.v, oc.v, os.v, MPFR_RNDN);
      if (truth[i]) {
        if (!ex.any_matched || mpfr_greater_p(norm.v, ex.largest_matched.v)) ex.largest_matched = norm;
        ex.any_matched = true;
      } else {
        if (!ex.any_unmatched || mpfr_less_p(norm.v, ex.smallest_unmatched.v)) ex.smallest_unmatched = norm;
        ex.any_unmatched = true;
      }
    }
  } while (attnbounds::next_tuple(x.data(), N, M));
  return ex;
}

}  // namespace

TEST_CASE("audit: match2 extreme norms lie in the checker's enclosures (brute force over [M]^N with MPFR)", "[audit]") {
  struct Case {
    int N, M;
    std::string extra;
  };
  for (const Case& k : {Case{2, 3, ""}, Case{3, 4, ""}, Case{3, 5, ""}, Case{4, 3, ""}, Case{2, 2, ""}, Case{3, 6, "--c 1"},
                        Case{4, 5, "--c 3/2"}, Case{3, 7, "--c 200"}}) {
    const std::string args = "check match2 --N " + std::to_string(k.N) + " --M " + std::to_string(k.M) + " " + k.extra;
    INFO(args);
    int status = -1;
    json r = run_json(args, &status);
    const mpq_class cq = rational_of_json(r["params"]["c"]);
    Match2Extremes ex = match2_brute_force(k.N, k.M, cq);
    REQUIRE(ex.any_matched == r["largest_matched_norm"].contains("lower"));
    REQUIRE(ex.any_unmatched == r["smallest_unmatched_norm"].contains("lower"));
    if (ex.any_matched) require_enclosed(ex.largest_matched, r["largest_matched_norm"]);
    if (ex.any_unmatched) require_enclosed(ex.smallest_unmatched, r["smallest_unmatched_norm"]);
    // psi(out) = 1[||out|| < g/2]: holds iff every matched norm is below and every unmatched above.
    Big g2, t;
    mpfr_const_pi(t.v, MPFR_RNDN);
    mpfr_mul_si(t.v, t.v, 2, MPFR_RNDN);
    mpfr_div_si(t.v, t.v, k.M, MPFR_RNDN);
    mpfr_cos(t.v, t.v, MPFR_RNDN);
    mpfr_si_sub(g2.v, 1, t.v, MPFR_RNDN);
    mpfr_div_si(g2.v, g2.v, 2, MPFR_RNDN);
    const bool correct = (!ex.any_matched || mpfr_less_p(ex.largest_matched.v, g2.v)) &&
                         (!ex.any_unmatched || mpfr_greater_p(ex.smallest_unmatched.v, g2.v));
    CHECK(r["verdict"] == (correct ? "holds" : "fails"));
    CHECK(status == (correct ? 0 : 1));
  }
}

TEST_CASE("audit: JSON minus seconds is identical for --threads 1 and 2 on every check / lower command", "[audit]") {
  const std::vector<std::string> commands = {
      "check qsa-cyclic --N 9 --q 2",
      "check qsa-cyclic --N 8 --q 2 --c 1",
      "check qsa-cyclic --N 7 --q 2 --semantics embed:fp16",
      "check qsa-cyclic --N 7 --q 2 --semantics arith:float:24",
      "check qsa-rip --N 10 --q 2",
      "check qsa-rip --N 10 --q 2 --mk 3",
      "check match2 --N 4 --M 8",
      "check match2 --N 4 --M 8 --c 1",
      "check match2 --N 3 --M 6 --semantics arith:fp16",
      "check match2 --N 4 --M 8 --no-residual",
      "check match3-third-order --N 4 --M 6",
      "check match3-third-order --N 3 --M 6 --c 1",
      "check match3-hinted --N 6 --M 8 --q 2",
      "check match3-window --N 6 --M 8 --w 2",
      "check match3-hinted --N 6 --M 8 --q 2 --c 2",
      "lower qsa-disj --q 3 --m 1 --semantics embed:fixed:1.1",
      "lower qsa-disj --q 3 --model qsa-cyclic",
      "lower match3-disj --n 3",
      "lower match3-disj --n 3 --model random --m 1 --semantics tiled:float:2:3",
      "lower fc-rank --N 6 --q 2",
      "lower rnn-index --N 6",
      "lower rnn-index --N 6 --model automaton --S 3",
      "min-p match2 --N 3 --M 6 --p-max 8",
      "min-p qsa-cyclic --N 6 --q 2 --p-max 12",
  };
  for (const auto& cmd : commands) {
    INFO(cmd);
    int s1 = -1, s2 = -1;
    json a = run_json(cmd + " --threads 1", &s1);
    json b = run_json(cmd + " --threads 2", &s2);
    CHECK(s1 == s2);
    CHECK(a["verdict"] == b["verdict"]);
    for (json* j : {&a, &b}) {
      j->erase("seconds");
      j->erase("threads");
    }
    CHECK(a.dump() == b.dump());
    // The JSON verdict and the exit status agree (math §7).
    const std::string v = a["verdict"].get<std::string>();
    CHECK(s1 == (v == "holds" ? 0 : v == "fails" ? 1 : 3));
  }
}

TEST_CASE("audit: match2 no-residual score gap (now O(M)) equals the quadratic definition", "[audit]") {
  for (int M = 3; M <= 40; ++M) {
    double best = 1e300;
    for (int x = 0; x < M; ++x)
      for (int y = 0; y < M; ++y) {
        if (y == x || (x + y) % M == 0) continue;
        const double d = std::cos(2 * M_PI * x / M) - std::cos(2 * M_PI * y / M);
        best = std::min(best, d * d);
      }
    INFO("M = " << M);
    CHECK(attnbounds::match2nr_score_gap(M, 128).mid_double() == Approx(best).epsilon(1e-9));
  }
  CHECK(attnbounds::match2nr_score_gap(2, 128).mid_double() == 1.0);
}

TEST_CASE("audit: match3-window negative twin fails with a witness the forward pass confirms", "[audit]") {
  using namespace attnbounds;
  Match3LocalConfig cfg{true, 8, 8, 3, Rational(1, 16), Semantics{}};  // holds at 1/4: the gaps are >= 36c
  Match3LocalResult r = check_match3_local(cfg, 0, false);
  REQUIRE(r.verdict == Verdict::Fails);
  REQUIRE(r.witness.has_value());
  std::vector<int> x = r.witness->x;
  const int token = r.witness->token;
  // Window hint sets: the w positions after i, cyclically; ground truth recomputed here.
  std::vector<std::vector<int>> y(x.size());
  for (int i = 0; i < 8; ++i)
    for (int k = 1; k <= 3; ++k) y[i].push_back((i + k) % 8);
  bool truth = false;
  for (int j1 : y[token])
    for (int j2 : y[token]) truth = truth || (x[token] + x[j1] + x[j2]) % 8 == 0;
  Match3LocalEval e = eval_match3_local(cfg, x, {});
  CHECK(e.tokens[static_cast<std::size_t>(token)].truth == (truth ? 1 : 0));
  CHECK(e.tokens[static_cast<std::size_t>(token)].model != e.tokens[static_cast<std::size_t>(token)].truth);
}

TEST_CASE("audit: min-p with no p* because every row is undecided is undecided (exit 3), not fails", "[audit]") {
  // eps = 1e-30 is below the embed:float:P rounding slack 2^-P for every P in 50..54.
  int status = -1;
  json r = run_json("min-p qsa-cyclic --N 6 --q 2 --eps 1e-30 --p-min 50 --p-max 52", &status);
  CHECK(r["p_star"].is_null());
  CHECK(r["verdict"] == "undecided");
  CHECK(status == 3);
  CliRun text = attnbounds_test::run_attnbounds("min-p qsa-cyclic --N 6 --q 2 --eps 1e-30 --p-min 50 --p-max 52");
  CHECK(text.status == 3);
  // A genuinely failing top row still fails.
  json f = run_json("min-p qsa-cyclic --N 6 --q 2 --c 1 --p-min 20 --p-max 22", &status);
  CHECK(f["verdict"] == "fails");
  CHECK(status == 1);
}

TEST_CASE("audit: arith bounds with N*2^-P >= 1 are real bounds, not a sentinel", "[audit]") {
  // match3-hinted used to report worst = [1048575.99.., 1048576] (the constant 2^20) as a certified
  // bound; qsa used a constant 10^6.  (1+u)^N - 1 <= exp(Nu) - 1 is used instead.
  json h = run_json("check match3-hinted --N 4 --M 3 --q 2 --semantics arith:float:2");
  CHECK(h["verdict"] == "fails");
  const double hinted_upper = std::stod(h["worst"]["upper"].get<std::string>());
  CHECK(hinted_upper < 1000);
  CHECK(hinted_upper >= 0.5);
  json q = run_json("check qsa-cyclic --N 6 --q 2 --semantics arith:float:2");
  CHECK(q["verdict"] == "fails");
  const double qsa_upper = std::stod(q["worst"]["upper"].get<std::string>());
  // N u = 6/4: exp(1.5) - 1 = 3.48..; worst <= 2 + (1 + rho) * 3.49 * mass, far below 10^6.
  CHECK(qsa_upper < 100);
  CHECK(qsa_upper >= std::stod(q["worst"]["lower"].get<std::string>()));
}

TEST_CASE("audit: every check / lower / min-p / replay result has the math §7 fields, worst included", "[audit]") {
  // min-p qsa-* had no "worst"; lower match3-disj had no worst.witness when it held.
  for (const std::string cmd : {"check qsa-cyclic --N 7 --q 2", "check qsa-rip --N 8 --q 2 --mk 3", "check match2 --N 3 --M 6",
                                "check match3-third-order --N 3 --M 6", "check match3-window --N 5 --M 6 --w 2",
                                "lower qsa-disj --q 2", "lower match3-disj --n 2", "lower fc-rank --N 5 --q 2",
                                "lower rnn-index --N 5", "min-p qsa-cyclic --N 5 --q 1 --p-max 12",
                                "min-p qsa-rip --N 6 --q 1 --p-max 10", "min-p match2 --N 3 --M 6 --p-max 8"}) {
    INFO(cmd);
    json r = run_json(cmd);
    for (const char* k : {"tool", "version", "command", "claim", "theorem", "provenance", "params", "semantics", "verdict",
                          "cases", "worst", "bound", "seconds", "threads"})
      CHECK(r.contains(k));
    for (const char* k : {"value", "lower", "upper", "witness"}) CHECK(r["worst"].contains(k));
    CHECK(r["bound"].is_string());
  }
}
