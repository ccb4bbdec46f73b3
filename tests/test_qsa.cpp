// Tests of the qSA upper bounds (Theorems 2 and 3): closed forms, negative twins, replay,
// determinism and the cyclic-polytope geometry.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include "certify/qsa_certificate.hpp"
#include "certify/qsa_checker.hpp"
#include "certify/replay.hpp"
#include "core/config_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "model/attention.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"
#include "checks/result_json.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;

namespace {

QsaEmbeddingParams params(int N, int q, std::optional<Rational> c = std::nullopt, Rational eps = Rational(1, 10)) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.eps = eps;
  p.c = c;
  return p;
}

QsaCheckResult run(const QsaEmbedding& e, Rational eps, const std::string& sem = "exact", unsigned threads = 2) {
  QsaCheckOptions o;
  o.eps = eps;
  o.semantics = parse_semantics(sem);
  o.threads = threads;
  return check_qsa(e, o);
}

// Σ_j |a_j − t_j| of one row from the construction's own query and keys, with MPFR at 300 bits
// (independent of the checker's closed form and its integer fast path).
double mpfr_row_error(const QsaEmbedding& e, const std::vector<int>& S) {
  const mpfr_prec_t bits = 300;
  WorkingPrecision wp(bits);
  auto w = e.query(S);
  const int N = e.N();
  std::vector<Rational> s(N);
  Rational top;
  for (int j = 0; j < N; ++j) {
    for (std::size_t c = 0; c < w.size(); ++c) s[j] += w[c] * e.keys()(j, c);
    if (j == 0 || s[j] > top) top = s[j];
  }
  MpfrReal Z = MpfrReal::zero(bits);
  std::vector<MpfrReal> ex;
  for (int j = 0; j < N; ++j) {
    ex.push_back(exp(MpfrReal(Rational(s[j] - top), bits)));
    Z += ex.back();
  }
  MpfrReal err = MpfrReal::zero(bits);
  for (int j = 0; j < N; ++j) {
    bool member = std::find(S.begin(), S.end(), j) != S.end();
    err += abs(ex[j] / Z - MpfrReal(member ? Rational(1, static_cast<long>(S.size())) : Rational(0), bits));
  }
  return err.to_double();
}

std::string run_cli(const std::string& args, int* status = nullptr) {
  const auto r = attnbounds_test::run_attnbounds(args);
  if (status) *status = r.status;
  return r.out;
}

}  // namespace

TEST_CASE("qsa-cyclic: checker's worst case equals the closed form 2E/(q+E) and an MPFR forward computation", "[qsa]") {
  for (auto [N, q, c] : {std::tuple{10, 2, Rational(3, 2)}, std::tuple{9, 1, Rational(1)}, std::tuple{12, 3, Rational(1, 4)}}) {
    QsaCyclicEmbedding e(params(N, q, c));
    // Closed form over every S, with p_S(j) = Π (j − k)² computed directly.
    double best = -1;
    std::vector<int> best_S;
    std::vector<int> S(q);
    for (int k = 0; k < q; ++k) S[k] = k;
    do {
      std::vector<Rational> off;
      for (int j = 0; j < N; ++j) {
        if (std::find(S.begin(), S.end(), j) != S.end()) continue;
        long p = 1;
        for (int k : S) p *= (j - k) * (j - k);
        off.push_back(-c * Rational(p));
      }
      Interval E = qsa_equal_row_error(off, q, 200);
      if (E.mid_double() > best) {
        best = E.mid_double();
        best_S = S;
      }
    } while (next_subset(S.data(), q, N));
    QsaCheckResult r = run(e, Rational(1, 2));
    REQUIRE(r.witness_S == best_S);
    CHECK(r.worst_lower.get_d() == Approx(best).epsilon(1e-14));
    CHECK(r.worst_upper.get_d() == Approx(best).epsilon(1e-14));
    CHECK(mpfr_row_error(e, best_S) == Approx(best).epsilon(1e-14));
    CHECK(r.worst_lower <= r.worst_upper);
  }
}

TEST_CASE("qsa-cyclic: known value N=3, q=1, c=7/10: worst S={2}, 2E/(1+E) with E = 2e^-0.7", "[qsa]") {
  // S = {1}: off nodes 2, 3 with p = 1, 4: E = e^-c + e^-4c.  S = {2}: p = 1, 1: E = 2e^-c.
  // The worst is S = {2}: 2E/(1+E) ≈ 0.99647.
  QsaCyclicEmbedding e(params(3, 1, Rational(7, 10)));
  QsaCheckResult r = run(e, Rational(999, 1000));
  REQUIRE(r.witness_S == std::vector<int>{1});
  const double E = 2 * std::exp(-0.7);
  CHECK(r.worst_lower.get_d() == Approx(2 * E / (1 + E)).epsilon(1e-15));
  // worst.upper bounds every row, so it carries the double filter's resolution (a few ulps).
  CHECK(r.worst_upper.get_d() == Approx(2 * E / (1 + E)).epsilon(1e-14));
  CHECK(r.verdict == Verdict::Holds);  // 0.99647 <= 0.999
  CHECK(run(e, Rational(99, 100)).verdict == Verdict::Fails);
}

TEST_CASE("qsa default temperatures: exact worst case at gap g equals eps (math §4.2 algebra)", "[qsa]") {
  // With every off-S gap exactly g the worst case is 2δ, δ = (N−q)e^{−cg}/(q + (N−q)e^{−cg}).
  for (auto [N, q, g] : {std::tuple{16, 2, Rational(1)}, std::tuple{64, 4, Rational(1, 2)}}) {
    Rational eps(1, 100);
    Rational c = qsa_default_temperature(N, q, eps, g);
    Interval x = Interval(static_cast<long>(N - q), 200) * exp(-Interval(c * g, 200));
    Interval worst = Interval(2L, 200) * x / (Interval(static_cast<long>(q), 200) + x);
    CHECK(worst.upper() <= eps);                            // rounding c up keeps it within eps
    CHECK(worst.lower() > eps * Rational(999999, 1000000));  // and it is tight (2^-20 rounding)
    Rational c_lower = c - Rational(1, 1 << 20);
    Interval x2 = Interval(static_cast<long>(N - q), 200) * exp(-Interval(c_lower * g, 200));
    CHECK((Interval(2L, 200) * x2 / (Interval(static_cast<long>(q), 200) + x2)).lower() > eps);
  }
}

TEST_CASE("qsa-cyclic and qsa-rip hold at default parameters for small N and q", "[qsa]") {
  for (int N : {2, 5, 8, 12})
    for (int q = 1; q <= std::min(3, N); ++q) {
      INFO("N=" << N << " q=" << q);
      QsaCyclicEmbedding cyc(params(N, q));
      CHECK(run(cyc, Rational(1, 10)).verdict == Verdict::Holds);
      QsaRipEmbedding rip(params(N, q));
      QsaCheckResult r = run(rip, Rational(1, 10));
      CHECK(r.verdict == Verdict::Holds);
      CHECK(r.missing_rows == 0);
    }
}

TEST_CASE("negative twin: temperature too low fails with a witness S re-verified by a forward pass", "[qsa]") {
  QsaCyclicEmbedding e(params(10, 2, Rational(1, 2)));
  QsaCheckResult r = run(e, Rational(1, 10));
  REQUIRE(r.verdict == Verdict::Fails);
  REQUIRE(r.witness_S.size() == 2);
  REQUIRE(r.witness_verified);
  // Independent re-verification: build the input, run attention_unit on MPFI, compare with qsa().
  QsaInput x = qsa_witness_input(10, 1, r.witness_S, r.witness_signs);
  WorkingPrecision wp(200);
  QKV<Interval> h{Mat<Interval>(10, 4), Mat<Interval>(10, 4), Mat<Interval>(10, 1)};
  auto w = e.query(r.witness_S);
  for (int i = 0; i < 10; ++i) {
    for (int c = 0; c < 4; ++c) {
      h.queries(i, c) = Interval(w[c], 200);
      h.keys(i, c) = Interval(e.keys()(i, c), 200);
    }
    h.values(i, 0) = Interval(x.z(i, 0), 200);
  }
  Mat<Interval> out = attention_unit(h);
  Mat<Rational> truth = qsa(x.z, x.y);
  for (int i = 0; i < 10; ++i) {
    Interval err = abs(out(i, 0) - Interval(truth(i, 0), 200));
    CHECK(err.lower() > Rational(1, 10));
    CHECK(err.contains(Rational(0)) == false);
  }
  // The same construction at its default temperature holds.
  QsaCyclicEmbedding good(params(10, 2));
  CHECK(run(good, Rational(1, 10)).verdict == Verdict::Holds);
}

TEST_CASE("negative twin: m' too small for qsa-rip fails naming an S without a certificate", "[qsa]") {
  QsaEmbeddingParams p = params(16, 2);
  p.mk = 3;
  QsaRipEmbedding e(p);
  QsaCheckResult r = run(e, Rational(1, 10));
  REQUIRE(r.verdict == Verdict::Fails);
  CHECK(r.missing_rows > 0);
  REQUIRE(r.witness_S.size() == 2);
  CHECK(r.missing_reason.find("no certificate") != std::string::npos);
  CHECK(r.missing_proof.find("Farkas") != std::string::npos);  // infeasibility proven exactly
  // That S really has no verified certificate at this width.
  RipCertificateSolver solver(e, true, false);
  CHECK_FALSE(solver.solve(r.witness_S.data()).has_value());
  // least-norm needs more width than lp on the same seed (math §4.1).
  p.mk = 14;
  QsaRipEmbedding lp(p);
  p.strategy = "least-norm";
  QsaRipEmbedding ln(p);
  CHECK(run(lp, Rational(1, 10)).missing_rows <= run(ln, Rational(1, 10)).missing_rows);
}

TEST_CASE("qsa-rip certificates verify exactly: S rows equal 1, off-S rows at most 1/2", "[qsa]") {
  QsaEmbeddingParams p = params(12, 3);
  QsaRipEmbedding e(p);
  RipCertificateSolver solver(e, true, false);
  std::vector<int> S{0, 5, 11};
  auto cert = solver.solve(S.data());
  REQUIRE(cert);
  for (int j = 0; j < 12; ++j) {
    Rational dot = 0;
    for (int i = 0; i < e.mk(); ++i) dot += Rational(cert->W[i], cert->D) * e.keys()(j, i);
    dot.canonicalize();
    if (j == 0 || j == 5 || j == 11) CHECK(dot == 1);
    else CHECK(dot <= Rational(1, 2));
  }
}

TEST_CASE("negative twin: p too small under embed:float:P fails, large p holds", "[qsa]") {
  QsaCyclicEmbedding e(params(12, 2));
  QsaCheckResult low = run(e, Rational(1, 10), "embed:float:5");
  REQUIRE(low.verdict == Verdict::Fails);
  CHECK(low.witness_verified);
  CHECK(run(e, Rational(1, 10), "embed:float:40").verdict == Verdict::Holds);
  CHECK(run(e, Rational(1, 10), "embed:fixed:20.20").verdict == Verdict::Holds);
}

TEST_CASE("arith semantics: float:53 holds, float:4 fails with a verified witness", "[qsa]") {
  QsaCyclicEmbedding e(params(8, 2));
  CHECK(run(e, Rational(1, 10), "arith:float:53").verdict == Verdict::Holds);
  QsaCheckResult r = run(e, Rational(1, 10), "arith:float:4");
  CHECK(r.verdict == Verdict::Fails);
  CHECK(r.witness_verified);
}

TEST_CASE("replay accepts a good certificate and rejects tampered ones", "[qsa]") {
  const std::string path = "/tmp/attnbounds_test_qsa_cert.json";
  QsaCyclicEmbedding e(params(9, 2));
  REQUIRE(run(e, Rational(1, 10)).verdict == Verdict::Holds);
  write_qsa_certificate(path, e, Rational(1, 10), parse_semantics("exact"), "qsa-cyclic");
  ReplayReport good = replay_qsa_certificate(path, 2);
  CHECK(good.verdict == Verdict::Holds);
  CHECK(good.rows == 36);

  std::ifstream is(path);
  json cert = json::parse(is);
  // Tamper 1: zero one query (uniform attention on that row: error 2(N−q)/N > ε).
  json t1 = cert;
  for (auto& v : t1["queries"][7]["query"]) v = "0";
  std::ofstream(path + ".t1") << t1.dump();
  ReplayReport r1 = replay_qsa_certificate(path + ".t1", 2);
  CHECK(r1.verdict == Verdict::Fails);
  CHECK_FALSE(r1.first_bad_S.empty());
  // Tamper 2: drop a subset.  An incomplete file is malformed, not a counterexample.
  json t2 = cert;
  t2["queries"].erase(t2["queries"].begin() + 3);
  std::ofstream(path + ".t2") << t2.dump();
  CHECK_THROWS_WITH(replay_qsa_certificate(path + ".t2", 2), Catch::Contains("exactly once"));
  // Tamper 3: a tighter bound than the certificate supports.
  json t3 = cert;
  t3["bound"] = "1e-9";
  std::ofstream(path + ".t3") << t3.dump();
  CHECK(replay_qsa_certificate(path + ".t3", 2).verdict == Verdict::Fails);
}

TEST_CASE("check JSON is identical for 1 and 2 threads (minus seconds and threads)", "[qsa]") {
  for (const std::string claim : {"qsa-cyclic --N 20 --q 3", "qsa-rip --N 14 --q 2", "qsa-cyclic --N 10 --q 2 --c 1"}) {
    auto strip = [](std::string s) {
      s = std::regex_replace(s, std::regex("\"seconds\": [0-9.e+-]+"), "");
      return std::regex_replace(s, std::regex("\"threads\": [0-9]+"), "");
    };
    std::string a = run_cli("check " + claim + " --json --threads 1");
    std::string b = run_cli("check " + claim + " --json --threads 2");
    REQUIRE(a.size() > 100);
    CHECK(strip(a) == strip(b));
  }
}

TEST_CASE("CLI: exit codes, bad input, eval and min-p", "[qsa]") {
  int st = -1;
  run_cli("check qsa-cyclic --N 10 --q 2", &st);
  CHECK(st == 0);
  run_cli("check qsa-cyclic --N 10 --q 2 --c 0.5", &st);
  CHECK(st == 1);
  run_cli("check qsa-cyclic --N 10 --q 11", &st);
  CHECK(st == 2);
  run_cli("check qsa-cyclic --eps 1.5", &st);
  CHECK(st == 2);
  run_cli("check qsa-rip --strategy simplex", &st);
  CHECK(st == 2);
  run_cli("check qsa-cyclic --N 64 --q 8", &st);  // 4.4e9 subsets: refused without --force
  CHECK(st == 2);

  const std::string in = "/tmp/attnbounds_test_qsa_input.json";
  std::ofstream(in) << R"({"z": [[1], [-1], ["1/2"], [0]], "y": [[1, 2], [2, 3], [3, 4], [1, 4]]})";
  std::string out = run_cli("eval qsa-cyclic --input " + in + " --json", &st);
  CHECK(st == 0);
  json j = json::parse(out);
  CHECK(j["tokens"].size() == 4);
  CHECK(j["within_eps"] == true);
  CHECK(j["tokens"][0]["qsa"][0] == "0");

  out = run_cli("min-p qsa-cyclic --N 8 --q 2 --p-min 2 --p-max 30 --json", &st);
  CHECK(st == 0);
  j = json::parse(out);
  REQUIRE(j["p_star"].is_number());
  int p_star = j["p_star"].get<int>();
  CHECK(p_star > 2);
  CHECK(p_star <= 30);
  // Below p* the claim fails at p* − 1 (definition of p*).
  for (const auto& row : j["table"])
    if (row["p"] == p_star - 1) CHECK(row["verdict"] != "holds");
}

TEST_CASE("cyclic polytope: Gale evenness facet count equals n/(n-k) C(n-k,k); q-neighbourly", "[qsa]") {
  for (int n = 5; n <= 12; ++n)
    for (int k = 1; 2 * k < n; ++k) {
      INFO("n=" << n << " d=" << 2 * k);
      CHECK(gale_facets(n, 2 * k).size() == cyclic_facet_count(n, k));
    }
  // Known values: C(6,4) has 9 facets, C(7,4) has 14, C(8,6) has 16.
  CHECK(cyclic_facet_count(6, 2) == 9);
  CHECK(cyclic_facet_count(7, 2) == 14);
  CHECK(cyclic_facet_count(8, 3) == 16);
  for (int N = 4; N <= 12; ++N)
    for (int q = 1; 2 * q < N; ++q) {
      CHECK(verify_q_neighbourly(N, q) == binomial(N, q));
      CHECK(gale_q_neighbourly(N, q));
    }
  // A (q+1)-subset need not be a face: in C(6,2) (a hexagon, q = 1) the pair {1,3} is not an edge.
  auto facets = gale_facets(6, 2);
  CHECK(facets.size() == 6);
  CHECK(std::find(facets.begin(), facets.end(), std::vector<int>{0, 2}) == facets.end());
}

TEST_CASE("qsa-cyclic N=64 q=4 eps=0.01 holds (635376 subsets)", "[qsa][long]") {
  QsaCyclicEmbedding e(params(64, 4, std::nullopt, Rational(1, 100)));
  QsaCheckResult r = run(e, Rational(1, 100));
  CHECK(r.verdict == Verdict::Holds);
  CHECK(r.cases == 635376);
}

TEST_CASE("qsa-rip N=64 q=3 holds at the default m'", "[qsa][long]") {
  QsaRipEmbedding e(params(64, 3));
  CHECK(run(e, Rational(1, 10)).verdict == Verdict::Holds);
}

TEST_CASE("min-m qsa-rip: m'* certifies every S and m'*-1 leaves the named S without a certificate", "[qsa]") {
  RipMinMResult r = rip_min_mk(12, 2, 1, "lp", 256, 2);
  REQUIRE(r.mk_star > 2);
  REQUIRE(r.missing_at_below.size() == 2);
  CHECK_FALSE(r.below_proof.empty());  // exact Farkas proof that m'*−1 does not suffice
  QsaEmbeddingParams p = params(12, 2);
  p.mk = r.mk_star;
  QsaRipEmbedding at(p);
  CHECK(run(at, Rational(1, 10)).missing_rows == 0);
  p.mk = r.mk_star - 1;
  QsaRipEmbedding below(p);
  RipCertificateSolver solver(below, true, false);
  CHECK_FALSE(solver.solve(r.missing_at_below.data()).has_value());
  // Prefix property: the keys at m'*−1 are the first m'*−1 coordinates of the keys at m'*.
  for (int j = 0; j < 12; ++j)
    for (int i = 0; i < below.mk(); ++i) CHECK(below.keys()(j, i) == at.keys()(j, i));
}

TEST_CASE("embed certificates replay; eval of qsa-rip runs", "[qsa]") {
  int st = -1;
  const std::string cert = "/tmp/attnbounds_test_qsa_rip_embed.json";
  run_cli("check qsa-rip --N 10 --q 2 --semantics embed:float:16 --certificate " + cert, &st);
  REQUIRE(st == 0);
  run_cli("replay " + cert, &st);
  CHECK(st == 0);
  const std::string in = "/tmp/attnbounds_test_qsa_input2.json";
  std::ofstream(in) << R"({"z": [[1], [-1], [0]], "y": [[1], [2], [3]]})";
  json j = json::parse(run_cli("eval qsa-rip --input " + in + " --json", &st));
  CHECK(st == 0);
  CHECK(j["within_eps"] == true);
}

TEST_CASE("min-p qsa: typed p* obeys the rule at every row; arith mode is reported as arith", "[qsa]") {
  QsaCyclicEmbedding emb(params(6, 2));
  MinPrecisionConfig mc;
  mc.p_min = 2;
  mc.p_max = 24;
  const MinPrecisionResult r = qsa_min_precision(emb, Rational(1, 10), mc, 2);
  REQUIRE(r.p_star.has_value());
  REQUIRE(r.table.size() == 23);
  for (const auto& row : r.table) {
    INFO("p = " << row.p);
    CHECK(row.semantics.name() == "embed:float:" + std::to_string(row.p));
    if (row.p >= *r.p_star) CHECK(row.trial.verdict == Verdict::Holds);
    if (row.p == *r.p_star - 1) CHECK(row.trial.verdict != Verdict::Holds);
    // A failing row carries the subset the checker reported, re-checked here on its own.
    if (row.trial.verdict == Verdict::Fails) {
      REQUIRE(row.trial.witness.size() == 2);
      CHECK(run(emb, Rational(1, 10), row.semantics.name()).witness_S == row.trial.witness);
    }
  }
  CHECK(r.verdict == Verdict::Holds);
  // Exact semantics is p = infinity: the claim holds there, so p* must exist at some precision.
  CHECK(run(emb, Rational(1, 10)).verdict == Verdict::Holds);

  int st = -1;
  json a = json::parse(run_cli("min-p qsa-cyclic --N 6 --q 2 --p-min 10 --p-max 24 --mode arith --json", &st));
  REQUIRE(a["p_star"].is_number());
  const std::string star = a["worst"]["witness"]["p_star_semantics"];
  CHECK(star == "arith:float:" + std::to_string(a["p_star"].get<int>()));
  CHECK(a["semantics"] == "arith:float:P");
}

TEST_CASE("qSA configuration: every bad field is named", "[qsa]") {
  auto field_of = [](QsaEmbeddingParams p) {
    try {
      p.validate();
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  CHECK(field_of(params(8, 2)).empty());
  CHECK(field_of(params(0, 1)) == "N");
  CHECK(field_of(params(4, 5)) == "q");
  CHECK(field_of(params(8, 2, Rational(-1))) == "c");
  CHECK(field_of(params(8, 2, std::nullopt, Rational(1))) == "eps");
  QsaEmbeddingParams bad = params(8, 2);
  bad.strategy = "simplex";
  CHECK(field_of(bad) == "strategy");
  bad = params(8, 2);
  bad.mk = -5;
  CHECK(field_of(bad) == "mk");
  // The constructions validate their configuration themselves.
  CHECK_THROWS_AS(QsaCyclicEmbedding(params(4, 5)), ConfigError);
  QsaEmbeddingParams wide = params(8, 2);
  wide.d = 0;
  CHECK_THROWS_AS(QsaRipEmbedding(wide), ConfigError);
  // The semantics is checked by the checker: tiled is not a qSA semantics.
  QsaCyclicEmbedding emb(params(6, 2));
  try {
    run(emb, Rational(1, 10), "tiled:fp16:4");
    FAIL("tiled semantics was accepted");
  } catch (const ConfigError& e) {
    CHECK(e.field() == "semantics");
  }
}

TEST_CASE("qsa: an eps inside the double filter's resolution is settled by the MPFI rung of the generic ladder",
          "[qsa][sweep]") {
  // Every row enclosed at 128 bits from the construction's own query and keys (exact score
  // differences): ~1e-36 wide relative, where the double filter's rows are ~1e-16 wide.  An eps
  // 1e-20 (relative) away from the largest row makes rows straddle ε in doubles only.
  QsaCyclicEmbedding e(params(12, 2));
  const int N = e.N(), q = e.q();
  Rational top_lower = -1, top_upper = -1;
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  do {
    const auto w = e.query(S);
    std::vector<Rational> r(N);
    Rational best;
    for (int j = 0; j < N; ++j) {
      for (std::size_t c = 0; c < w.size(); ++c) r[j] += w[c] * e.keys()(j, c);
      if (j == 0 || r[j] > best) best = r[j];
    }
    for (auto& x : r) x -= best;
    const IntervalBounds b = safe_bounds(qsa_row_error_interval(r, S, 128));
    top_lower = std::max(top_lower, b.lower);
    top_upper = std::max(top_upper, b.upper);
  } while (next_subset(S.data(), q, N));
  REQUIRE(top_upper - top_lower < top_lower * Rational(1, 1000000) * Rational(1, 1000000) * Rational(1, 1000000) *
                                      Rational(1, 1000000) * Rational(1, 1000000));  // < 1e-30 relative
  const Rational nudge = Rational(1) / Rational(mpz_class("100000000000000000000"));  // 1e-20
  const Rational above = top_upper * (1 + nudge), below = top_lower * (1 - nudge);
  for (unsigned threads : {1u, 3u}) {
    const QsaCheckResult h = run(e, above, "exact", threads);
    CHECK(h.verdict == Verdict::Holds);
    CHECK(h.fallback_rows > 0);
    CHECK(h.undecided_rows == 0);
    CHECK(h.worst_lower <= top_upper);
    CHECK(h.worst_upper >= top_lower);
    const QsaCheckResult f = run(e, below, "exact", threads);
    CHECK(f.verdict == Verdict::Fails);
    CHECK(f.fallback_rows > 0);
    CHECK(f.failing_rows > 0);
    CHECK(f.witness_verified);
    // The forward pass on the witness input certifies an error above the eps it fails.
    REQUIRE(f.forward_error_lower);
    CHECK(*f.forward_error_lower > below);
    CHECK(mpfr_row_error(e, f.witness_S) == Approx(top_lower.get_d()).epsilon(1e-14));
  }
}
