// Model files of class match2-table: the trigonometric exact entries, the reader, and the
// certified Match2 checker run on a file (the exported construction checks exactly like the
// built-in one; a perturbed table fails with a witness this test re-verifies in plain doubles;
// positional tables are swept over every tuple).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "core/size_limit_error.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/match3_model.hpp"
#include "learn/match2_learning.hpp"
#include "tasks/tasks.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_third_order.hpp"

using namespace attnbounds;

namespace {

std::string temp_path(const std::string& stem) {
  return "/tmp/attnbounds_test_" + std::to_string(::getpid()) + "_" + stem;
}

Match2TableModel reread(const Match2TableModel& m, const ModelWriteOptions& o = {}) {
  const std::vector<unsigned char> bytes = serialize_safetensors(match2_table_model_file(m, o));
  return match2_table_model_from("m.st", parse_safetensors("m.st", bytes.data(), bytes.size()));
}

double value_of(const ExactReal& x) { return nearest_double(x); }

// Plain-double forward pass of a match2-table model on x (independent of the library's
// evaluators), and whether ψ answers "matched" with a margin above `slack`.
struct DoubleDecision {
  bool matched;
  double margin;  // |statistic − τ|
};
DoubleDecision double_forward(const Match2TableModel& m, const std::vector<int>& x, int i) {
  const int N = m.N, k = m.k, d = m.d;
  auto get = [](const std::vector<ExactReal>& t, int row, int w, int c) { return t.empty() ? 0.0 : value_of(t[row * w + c]); };
  std::vector<double> s(N), out(d, 0.0);
  double top = -1e300;
  for (int j = 0; j < N; ++j) {
    s[j] = 0;
    for (int c = 0; c < k; ++c)
      s[j] += (get(m.query, x[i], k, c) + get(m.query_pos, i, k, c)) * (get(m.key, x[j], k, c) + get(m.key_pos, j, k, c));
    top = std::max(top, s[j]);
  }
  double den = 0;
  for (int j = 0; j < N; ++j) den += std::exp(s[j] - top);
  for (int j = 0; j < N; ++j)
    for (int c = 0; c < d; ++c)
      out[c] += std::exp(s[j] - top) / den * (get(m.value, x[j], d, c) + get(m.value_pos, j, d, c));
  for (int c = 0; c < d; ++c) out[c] += get(m.residual, x[i], d, c) + get(m.residual_pos, i, d, c);
  if (m.disjunctive()) {  // ψ = 1 iff ‖out‖² < τ or |w·out| < τ_lin
    double n2 = 0, lin = 0;
    for (int c = 0; c < d; ++c) {
      n2 += out[c] * out[c];
      lin += value_of(m.psi_weights[c]) * out[c];
    }
    const double f = std::max(value_of(m.threshold) - n2, value_of(m.threshold_linear) - std::fabs(lin));
    return {f > 0, std::fabs(f)};
  }
  double stat = 0;
  for (int c = 0; c < d; ++c) stat += m.psi == Match2TableModel::Psi::Norm ? out[c] * out[c] : value_of(m.psi_weights[c]) * out[c];
  if (m.psi == Match2TableModel::Psi::Norm) stat = std::sqrt(stat);
  const double tau = value_of(m.threshold);
  return {(stat < tau) == m.matched_below, std::fabs(stat - tau)};
}

bool truly_matched(const std::vector<int>& x, int i, int M) {
  for (int v : x)
    if ((x[i] + v) % M == 0) return true;
  return false;
}

template <class BuiltIn>
void require_same_check(const BuiltIn& a, const Match2TableCheckResult& b) {
  CHECK(to_string(a.verdict) == to_string(b.verdict));
  CHECK(a.sweep.cases == b.sweep.cases);
  CHECK(a.sweep.fallbacks == b.sweep.fallbacks);
  CHECK(a.sweep.failing == b.sweep.failing);
  REQUIRE(a.sweep.worst.has_value());
  REQUIRE(b.sweep.worst.has_value());
  CHECK(a.sweep.worst->lower == b.sweep.worst->lower);
  CHECK(a.sweep.worst->upper == b.sweep.worst->upper);
  CHECK(a.sweep.worst->witness.x == b.sweep.worst->witness.x);
  CHECK(a.sweep.worst->witness.token == b.sweep.worst->witness.token);
  CHECK(a.sweep.matched.stat_lower == b.sweep.matched.stat_lower);
  CHECK(a.sweep.unmatched.stat_upper == b.sweep.unmatched.stat_upper);
}

// The field a reader refuses after `edit` changes m's file ("" when the file is accepted); the
// message must be one line.
template <class Edit>
std::string refused_field(const Match2TableModel& m, Edit edit) {
  SafetensorsFile f = match2_table_model_file(m);
  edit(f);
  const std::vector<unsigned char> bytes = serialize_safetensors(f);
  try {
    match2_table_model_from("m.st", parse_safetensors("m.st", bytes.data(), bytes.size()));
  } catch (const ModelFileError& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.field();
  }
  return std::string();
}

}  // namespace

TEST_CASE("exact reals: one spelling, trigonometric values enclosed and rounded correctly", "[modelfile][match]") {
  const ExactReal a = ExactReal::cos_turn(Rational(5, 2), 3, 16);
  CHECK(a.text() == "5/2*cos(2pi*3/16)");
  CHECK(parse_exact_real(a.text()) == a);
  const ExactReal t = ExactReal::cos_turn(Rational(-1, 2), 1, 8).plus(Rational(1, 2));
  CHECK(t.text() == "1/2-1/2*cos(2pi*1/8)");
  CHECK(parse_exact_real(t.text()) == t);
  CHECK(parse_exact_real("-3/4*sin(2pi*5/16)").has_value());
  CHECK(!parse_exact_real("-3/4*sin(2pi*5/12)").has_value());
  // Niven: rational values collapse to rationals and are never spelled with a trig term.
  CHECK(ExactReal::cos_turn(Rational(3), 2, 8).text() == "0");
  CHECK(ExactReal::sin_turn(Rational(3), 1, 12).text() == "3/2");
  for (const char* bad : {"1*cos(2pi*2/8)", "1*cos(2pi*0/8)", "0*cos(2pi*1/8)", "cos(2pi*1/8)", "2/4*cos(2pi*1/8)",
                          "1/2+-1/2*cos(2pi*1/8)", "1*cos(2pi*01/8)", "1*cos(2pi*9/8)", "1*tan(2pi*1/8)", "1*cos(2pi*1/8",
                          "0+1*cos(2pi*1/8)", "1*cos(2pi*1/1048577)", "1*cos(pi*1/8)", "1/3"})
    CHECK((std::string(bad) == "1/3") == parse_exact_real(bad).has_value());
  // sqrt is correctly rounded in IEEE arithmetic: the nearest double of √2/2 is sqrt(0.5).
  CHECK(nearest_double(*parse_exact_real("1*cos(2pi*1/8)")) == std::sqrt(0.5));
  CHECK(nearest_double(*parse_exact_real("-1*sin(2pi*7/8)")) == std::sqrt(0.5));
  CHECK(nearest_double(*parse_exact_real("2*cos(2pi*1/8)")) == std::sqrt(2.0));
  const double c = nearest_double(*parse_exact_real("1*cos(2pi*3/16)"));
  CHECK(std::fabs(c - std::cos(2 * M_PI * 3 / 16)) <= 2e-16);
}

TEST_CASE("match2-table: the reader keeps every entry and refuses bad files naming the field", "[modelfile][match]") {
  const Match2TableModel m = match2_table_model_of_construction(5, 12, Rational(25, 2), false);
  const Match2TableModel back = reread(m);
  CHECK(back.query == m.query);
  CHECK(back.key == m.key);
  CHECK(back.value == m.value);
  CHECK(back.residual == m.residual);
  CHECK(back.threshold == m.threshold);
  CHECK(back.dtypes == "F64+exact");
  CHECK(back.metadata.at("format_version") == "2");

  auto refusal = [&](auto edit) { return refused_field(m, edit); };
  CHECK(refusal([](SafetensorsFile&) {}).empty());
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["class"] = "qsa-table"; }) == "__metadata__.class");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["format_version"] = "1"; }) == "__metadata__.format_version");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["psi"] = "mlp"; }) == "__metadata__.psi");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["psi_matched"] = "left"; }) == "__metadata__.psi_matched");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["N"] = "65"; }) == "__metadata__.N");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["M"] = "11"; }) == "tensor 'query_table'.shape");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["residual"] = "false"; }) == "__metadata__.residual");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["heads"] = "2"; }) == "__metadata__.heads");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors.erase("psi_threshold"); f.tensors.erase("psi_threshold.exact"); }) ==
        "tensor 'psi_threshold'");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors["extra"] = f.tensors.at("psi_threshold"); }) == "tensor 'extra'");
  CHECK(refusal([](SafetensorsFile& f) {
          auto& bytes = f.tensors.at("query_table.exact").bytes;
          const std::string text(bytes.begin(), bytes.end());
          const std::string edited = text.substr(0, text.find(' ')) + " 1*cos(2pi*2/8)" + text.substr(text.find(' ', text.find(' ') + 1));
          bytes.assign(edited.begin(), edited.end());
          f.tensors.at("query_table.exact").shape = {edited.size()};
        }) == "tensor 'query_table.exact'");
  // A qsa-table file cannot hold trigonometric entries.
  SafetensorsFile f;
  add_exact_real_tensor(f, "t", {1}, std::vector<ExactReal>{ExactReal::cos_turn(1, 1, 8)});
  CHECK_THROWS_AS(tensor_exact("f", f, "t"), ModelFileError);
  CHECK(tensor_exact_reals("f", f, "t")[0] == ExactReal::cos_turn(1, 1, 8));
}

TEST_CASE("match2-table: bounded mutation run over an exported file never crashes or misreads", "[modelfile][match]") {
  // Both exported ψ: the residual construction's norm, the residual-free one's disjunction.
  for (const bool no_residual : {false, true}) {
  const std::vector<unsigned char> seed = serialize_safetensors(match2_table_model_file(
      no_residual ? match2_table_model_of_no_residual_construction(4, 8, Rational(10))
                  : match2_table_model_of_construction(4, 8, Rational(10), false)));
  std::mt19937_64 rng(no_residual ? 4318 : 4317);
  int parsed = 0, refused = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::vector<unsigned char> b = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] ^= static_cast<unsigned char>(1u << (rng() % 8)); break;
        case 1: b[at] = static_cast<unsigned char>("0123456789[]{},:\"-/*+ ()cosinp."[rng() % 32]); break;
        case 2: b.resize(at + 1); break;
        default: b.insert(b.begin() + at, static_cast<unsigned char>(rng())); break;
      }
    }
    try {
      const Match2TableModel back = match2_table_model_from("mut", parse_safetensors("mut", b.data(), b.size()));
      CHECK(back.query.size() == static_cast<std::size_t>(back.M * back.k));
      CHECK(back.value.size() == static_cast<std::size_t>(back.M * back.d));
      if (back.psi != Match2TableModel::Psi::Norm) CHECK(back.psi_weights.size() == static_cast<std::size_t>(back.d));
      ++parsed;
    } catch (const ModelFileError&) {
      ++refused;
    }
  }
  CHECK(parsed + refused == 1500);
  CHECK(refused > 1000);
  }
}

TEST_CASE("match2-table: the exported construction checks exactly like the built-in check", "[modelfile][match]") {
  struct Instance {
    int N, M;
    std::optional<Rational> c;
    bool flip;
    const char* semantics;
    Verdict expect;
  };
  const Instance instances[] = {
      {6, 8, std::nullopt, false, "exact", Verdict::Holds},
      {6, 8, Rational(1), false, "exact", Verdict::Fails},
      {5, 8, std::nullopt, true, "exact", Verdict::Fails},
      {6, 8, std::nullopt, false, "embed:bf16", Verdict::Holds},
      {5, 16, std::nullopt, false, "embed:float:3", Verdict::Fails},
      {4, 8, std::nullopt, false, "arith:float:5", Verdict::Holds},
  };
  for (const auto& in : instances) {
    INFO("N " << in.N << " M " << in.M << " " << in.semantics);
    Match2Config cfg;
    cfg.N = in.N;
    cfg.M = in.M;
    cfg.c = in.c;
    cfg.flip_query_sign = in.flip;
    cfg.semantics = parse_semantics(in.semantics);
    const Match2Result built_in = check_match2(cfg, 2, false);
    const Rational c = in.c ? *in.c : match2_default_temperature(in.N, in.M);
    const Match2TableModel m = reread(match2_table_model_of_construction(in.N, in.M, c, in.flip));
    const Match2TableCheckResult from_file = check_match2_table(m, cfg.semantics, 2, false);
    CHECK(built_in.verdict == in.expect);
    require_same_check(built_in, from_file);
    if (in.expect == Verdict::Fails) {
      REQUIRE(from_file.sweep.worst->check.has_value());
      CHECK(from_file.sweep.worst->check->confirmed);
    }
  }
  // Thread count does not change the result.
  const Match2TableModel m = reread(match2_table_model_of_construction(6, 8, Rational(1), false));
  const auto one = check_match2_table(m, Semantics{}, 1, false), two = check_match2_table(m, Semantics{}, 2, false);
  CHECK(one.sweep.worst->lower == two.sweep.worst->lower);
  CHECK(one.sweep.worst->witness.x == two.sweep.worst->witness.x);
}

TEST_CASE("match2-table: a perturbed table fails with a witness that really fails", "[modelfile][match]") {
  // Negative twin: the query of one residue gets the wrong sine sign (it then scores
  // cos(θ_i − θ_j) and attends to copies of itself instead of its partner).
  Match2TableModel m = match2_table_model_of_construction(6, 8, match2_default_temperature(6, 8), false);
  REQUIRE(check_match2_table(reread(m), Semantics{}, 2, false).verdict == Verdict::Holds);
  const int r = 3;
  m.query[r * 2 + 1] = ExactReal::sin_turn(match2_default_temperature(6, 8), r, 8);
  const Match2TableModel bad = reread(m);
  const Match2TableCheckResult res = check_match2_table(bad, Semantics{}, 2, false);
  REQUIRE(res.verdict == Verdict::Fails);
  REQUIRE(res.sweep.worst->check.has_value());
  CHECK(res.sweep.worst->check->confirmed);
  const auto& w = res.sweep.worst->witness;
  CHECK(w.x[w.token] == r);
  // Re-verified here, in plain doubles, with a margin far above double rounding.
  const DoubleDecision dd = double_forward(bad, w.x, w.token);
  CHECK(dd.matched != truly_matched(w.x, w.token, 8));
  CHECK(dd.margin > 1e-6);
  CHECK(res.sweep.worst->upper < 0);
}

TEST_CASE("match2-table: positional tables are swept over every tuple, with the size guard", "[modelfile][match]") {
  const Rational c = match2_default_temperature(4, 6);
  Match2TableModel m = match2_table_model_of_construction(4, 6, c, false);
  const Match2TableCheckResult free = check_match2_table(reread(m), Semantics{}, 2, false);
  REQUIRE(free.verdict == Verdict::Holds);
  // Zero positional keys: the same unit, now checked without the multiset reduction.
  m.key_pos.assign(4 * 2, ExactReal(Rational(0)));
  const Match2TableModel zero = reread(m);
  REQUIRE(zero.positional());
  const Match2TableCheckResult pos = check_match2_table(zero, Semantics{}, 2, false);
  CHECK(pos.tuples);
  CHECK(pos.verdict == Verdict::Holds);
  CHECK(pos.sweep.cases == 6 * 6 * 6 * 6 * 4);
  // The same exact worst room, enclosed by two different evaluators.
  CHECK(std::fabs(pos.sweep.worst->lower - free.sweep.worst->lower) < 1e-9);
  CHECK(pos.sweep.worst->lower <= free.sweep.worst->upper);
  CHECK(free.sweep.worst->lower <= pos.sweep.worst->upper);
  // A real positional bias: every query with cos θ_i > 0 is pulled towards position 1.
  m.key_pos[0] = ExactReal(Rational(3));
  const Match2TableModel biased = reread(m);
  const Match2TableCheckResult b = check_match2_table(biased, Semantics{}, 2, false);
  REQUIRE(b.verdict == Verdict::Fails);
  CHECK(b.sweep.worst->check->confirmed);
  const auto& w = b.sweep.worst->witness;
  const DoubleDecision dd = double_forward(biased, w.x, w.token);
  CHECK(dd.matched != truly_matched(w.x, w.token, 6));
  CHECK(dd.margin > 1e-6);
  // Embed rounds every stored entry; arith with positional tables is refused (not modelled).
  CHECK(check_match2_table(zero, parse_semantics("embed:fp32"), 2, false).verdict == Verdict::Holds);
  CHECK_THROWS_AS(check_match2_table(zero, parse_semantics("arith:fp32"), 2, false), ConfigError);
  CHECK(!match2_certifiable_structure_problem(zero, parse_semantics("arith:fp32")).empty());
  // 16^8 tuples: refused without force.
  Match2TableModel big = match2_table_model_of_construction(8, 16, Rational(80), false);
  big.key_pos.assign(8 * 2, ExactReal(Rational(0)));
  CHECK_THROWS_AS(check_match2_table(big, Semantics{}, 2, false), SizeLimitError);
}

TEST_CASE("match2-table: a linear ψ and a rounded file are checked as the reals they store", "[modelfile][match]") {
  // ψ = 1[w·out < τ] with w = (1, 0) and out = φ + attention: not Match2's rule, so it must fail,
  // with a witness re-verified here.
  Match2TableModel m = match2_table_model_of_construction(4, 8, Rational(40), false);
  m.psi = Match2TableModel::Psi::Linear;
  m.psi_weights = {ExactReal(Rational(1)), ExactReal(Rational(0))};
  const Match2TableModel lin = reread(m);
  const auto r = check_match2_table(lin, Semantics{}, 2, false);
  REQUIRE(r.verdict == Verdict::Fails);
  const auto& w = r.sweep.worst->witness;
  const DoubleDecision dd = double_forward(lin, w.x, w.token);
  CHECK(dd.matched != truly_matched(w.x, w.token, 8));
  // An F32 file denotes its float32 entries exactly (and keeps ψ's threshold exact).
  ModelWriteOptions f32;
  f32.exact = false;
  f32.dtype = DType::F32;
  const Match2TableModel rounded = reread(match2_table_model_of_construction(6, 8, match2_default_temperature(6, 8), false), f32);
  CHECK(rounded.dtypes == "F32,F64+exact");
  CHECK(rounded.query[2].is_rational());
  CHECK(rounded.threshold == ExactReal::cos_turn(Rational(-1, 2), 1, 8).plus(Rational(1, 2)));
  CHECK(static_cast<float>(nearest_double(rounded.key[2])) == static_cast<float>(std::cos(2 * M_PI / 8)));
  CHECK(check_match2_table(rounded, Semantics{}, 2, false).verdict == Verdict::Holds);
}

TEST_CASE("CLI: export match2, check/eval match2 --model, refusals", "[modelfile][match][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("m2.st");
  REQUIRE(run_attnbounds("export match2 --N 6 --M 8 --c 1 --out " + path, 60, true).status == 0);
  auto from_file = run_attnbounds("check match2 --model " + path + " --json", 60, true);
  auto built_in = run_attnbounds("check match2 --N 6 --M 8 --c 1 --json", 60, true);
  REQUIRE(from_file.status == 1);
  REQUIRE(built_in.status == 1);
  auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(built_in.out);
  for (const char* key : {"verdict", "cases", "worst", "largest_matched_norm", "smallest_unmatched_norm", "threshold"})
    CHECK(a[key] == b[key]);
  // The same reduction; the built-in check also names its pruning of far-from-worst cases.
  const std::string file_reduction = a["reduction"], built_in_reduction = b["reduction"];
  CHECK(built_in_reduction.rfind(file_reduction + "; cases pruned: ", 0) == 0);
  CHECK(a["claim"] == "match2");
  CHECK(a["params"]["class"] == "match2-table");
  CHECK(a["worst"]["witness"]["verified_by"] == "direct forward pass (attention.hpp) + tasks.hpp ground truth");

  auto ev = run_attnbounds("eval match2 --model " + path + " --input 0,2,2,2,2,2 --json", 60, true);
  CHECK(ev.status == 1);  // token 1 (value 0) is matched by itself but ψ says no at c = 1
  auto e = nlohmann::json::parse(ev.out);
  REQUIRE(e["tokens"].size() == 6);
  CHECK(e["tokens"][0]["truth"] == 1);
  CHECK(e["tokens"][0]["model"] == 0);

  auto with_n = run_attnbounds("check match2 --model " + path + " --N 6", 60, true);
  CHECK(with_n.status == 2);
  CHECK(with_n.err.find("--N") != std::string::npos);
  auto wrong_len = run_attnbounds("eval match2 --model " + path + " --input 1,2,3", 60, true);
  CHECK(wrong_len.status == 2);
  const std::string qsa = temp_path("q.st");
  REQUIRE(run_attnbounds("export qsa-cyclic --N 5 --q 2 --out " + qsa, 60, true).status == 0);
  auto wrong_class = run_attnbounds("check match2 --model " + qsa, 60, true);
  CHECK(wrong_class.status == 2);
  CHECK(wrong_class.err.find("__metadata__.class") != std::string::npos);
  CHECK(std::count(wrong_class.err.begin(), wrong_class.err.end(), '\n') == 1);
  auto back = run_attnbounds("check qsa --model " + path + " --eps 0.1", 60, true);
  CHECK(back.status == 2);
  CHECK(back.err.find("__metadata__") != std::string::npos);
  std::remove(path.c_str());
  std::remove(qsa.c_str());
}

TEST_CASE("match3-third-order: the exported construction checks exactly like the built-in check", "[modelfile][match]") {
  struct Instance {
    int N, M;
    std::optional<Rational> c;
    bool flip;
    const char* semantics;
    Verdict expect;
  };
  const Instance instances[] = {
      {5, 9, std::nullopt, false, "exact", Verdict::Holds},
      {5, 9, Rational(1), false, "exact", Verdict::Fails},
      {4, 8, std::nullopt, true, "exact", Verdict::Fails},
      {5, 9, std::nullopt, false, "embed:bf16", Verdict::Holds},
      {5, 12, std::nullopt, false, "embed:float:2", Verdict::Fails},
      {3, 6, std::nullopt, false, "arith:float:2", Verdict::Fails},
  };
  for (const auto& in : instances) {
    INFO("N " << in.N << " M " << in.M << " " << in.semantics);
    Match3Config cfg;
    cfg.N = in.N;
    cfg.M = in.M;
    cfg.c = in.c;
    cfg.flip_query_sign = in.flip;
    cfg.semantics = parse_semantics(in.semantics);
    const Match3ThirdOrderResult a = check_match3_third_order(cfg, 2, false);
    const Rational c = in.c ? *in.c : match3_default_temperature(in.N, in.M);
    const std::vector<unsigned char> bytes =
        serialize_safetensors(match3_third_order_model_file(match3_third_order_model_of_construction(in.N, in.M, c, in.flip)));
    const Match3ThirdOrderModel m = match3_third_order_model_from("m3.st", parse_safetensors("m3.st", bytes.data(), bytes.size()));
    const Match2TableCheckResult b = check_match3_third_order_model(m, cfg.semantics, 2, false);
    CHECK(a.verdict == in.expect);
    CHECK(to_string(a.verdict) == to_string(b.verdict));
    CHECK(a.sweep.cases == b.sweep.cases);
    CHECK(a.sweep.fallbacks == b.sweep.fallbacks);
    REQUIRE(b.sweep.worst.has_value());
    CHECK(a.sweep.worst->lower == b.sweep.worst->lower);
    CHECK(a.sweep.worst->upper == b.sweep.worst->upper);
    CHECK(a.sweep.worst->witness.x == b.sweep.worst->witness.x);
    CHECK(a.sweep.worst->witness.token == b.sweep.worst->witness.token);
    if (in.expect == Verdict::Fails) CHECK(b.sweep.worst->check->confirmed);
  }
}

TEST_CASE("match3-third-order: a perturbed ψ table fails with a witness that really fails", "[modelfile][match]") {
  const int N = 4, M = 8;
  Match3ThirdOrderModel m = match3_third_order_model_of_construction(N, M, match3_default_temperature(N, M), false);
  REQUIRE(check_match3_third_order_model(m, Semantics{}, 2, false).verdict == Verdict::Holds);
  // ψ of value 1 reads cos θ·(e1 − e2) + sin θ·(e3 + e4) = cos(θ_1 − θ_j − θ_k): the wrong sum.
  const int r = 1;
  m.psi_table[r * 4 + 2] = m.psi_table[r * 4 + 2].negated();
  m.psi_table[r * 4 + 3] = m.psi_table[r * 4 + 3].negated();
  const Match2TableCheckResult res = check_match3_third_order_model(m, Semantics{}, 2, false);
  REQUIRE(res.verdict == Verdict::Fails);
  REQUIRE(res.sweep.worst->check.has_value());
  CHECK(res.sweep.worst->check->confirmed);
  const auto& w = res.sweep.worst->witness;
  CHECK(w.x[w.token] == r);
  // Re-verified in plain doubles: the third-order unit over all N² pairs, then ψ.
  auto val = [](const ExactReal& e) { return nearest_double(e); };
  const int i = w.token;
  std::vector<double> s, e(4, 0.0);
  double top = -1e300;
  for (int j = 0; j < N; ++j)
    for (int k = 0; k < N; ++k) {
      double sc = 0;
      for (int c = 0; c < 4; ++c) sc += val(m.query[w.x[i] * 4 + c]) * val(m.key1[w.x[j] * 4 + c]) * val(m.key2[w.x[k] * 4 + c]);
      s.push_back(sc);
      top = std::max(top, sc);
    }
  double den = 0;
  for (double sc : s) den += std::exp(sc - top);
  for (int j = 0; j < N; ++j)
    for (int k = 0; k < N; ++k)
      for (int c = 0; c < 4; ++c)
        e[c] += std::exp(s[j * N + k] - top) / den * val(m.value1[w.x[j] * 4 + c]) * val(m.value2[w.x[k] * 4 + c]);
  double z = 0;
  for (int c = 0; c < 4; ++c) z += val(m.psi_table[w.x[i] * 4 + c]) * e[c];
  const double tau = val(m.threshold);
  bool truth = false;
  for (int j = 0; j < N; ++j)
    for (int k = 0; k < N; ++k) truth = truth || (w.x[i] + w.x[j] + w.x[k]) % M == 0;
  CHECK((z > tau) != truth);
  CHECK(std::fabs(z - tau) > 1e-6);
}

TEST_CASE("CLI: export match3-third-order, check/eval match3 --model", "[modelfile][match][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("m3.st");
  REQUIRE(run_attnbounds("export match3-third-order --N 5 --M 9 --c 1 --out " + path, 60, true).status == 0);
  auto from_file = run_attnbounds("check match3 --model " + path + " --json", 60, true);
  auto built_in = run_attnbounds("check match3-third-order --N 5 --M 9 --c 1 --json", 60, true);
  REQUIRE(from_file.status == 1);
  REQUIRE(built_in.status == 1);
  auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(built_in.out);
  for (const char* key : {"verdict", "cases", "worst", "smallest_matched_statistic", "largest_unmatched_statistic", "threshold"})
    CHECK(a[key] == b[key]);
  auto ev = run_attnbounds("eval match3 --model " + path + " --input 1,1,1,1,4 --json", 60, true);
  CHECK(ev.status == 1);
  auto e = nlohmann::json::parse(ev.out);
  CHECK(e["tokens"][0]["truth"] == 1);
  CHECK(e["tokens"][0]["model"] == 0);
  const std::string m2 = temp_path("m2b.st");
  REQUIRE(run_attnbounds("export match2 --N 4 --M 8 --out " + m2, 60, true).status == 0);
  auto wrong = run_attnbounds("check match3 --model " + m2, 60, true);
  CHECK(wrong.status == 2);
  CHECK(wrong.err.find("__metadata__.class") != std::string::npos);
  std::remove(path.c_str());
  std::remove(m2.c_str());
}

// ---- the residual-free construction (psi = sqnorm-or-abs-linear) ------------------------------

TEST_CASE("match2-table: the residual-free construction is written exactly and read back", "[modelfile][match][no-residual]") {
  const Rational c = match2nr_default_temperature(5, 12);
  const Match2TableModel m = match2_table_model_of_no_residual_construction(5, 12, c);
  const Match2TableModel back = reread(m);
  CHECK(back.disjunctive());
  CHECK(!back.has_residual());
  CHECK(back.query == m.query);
  CHECK(back.key == m.key);
  CHECK(back.value == m.value);
  CHECK(back.psi_weights == m.psi_weights);
  CHECK(back.threshold == m.threshold);
  CHECK(back.threshold_linear == m.threshold_linear);
  // 1 − τ₁ = 21/25 + 4/25·cos(2π·2/12) = 21/25 + 4/25·(1/2) (rational: cos(π/3)); τ₂ = sin(2π/12)/2 = 1/4.
  CHECK(back.threshold.text() == "23/25");
  CHECK(back.threshold_linear.text() == "1/4");
  CHECK(match2_table_model_of_no_residual_construction(5, 16, c).threshold.text() == "21/25+4/25*cos(2pi*2/16)");
  CHECK(match2_table_model_of_no_residual_construction(5, 16, c).threshold_linear.text() == "1/2*sin(2pi*1/16)");
  // The file's bounds enclose the checker's own: 1 − τ₁ and τ₂ at 128 bits.
  const Interval nb = match2nr_norm_bound(5, 16, 128), t1 = match2nr_norm_threshold(5, 16, 128);
  CHECK(certainly_less(Interval(1L, 128) - t1 - Interval(Rational(1, 1000000), 128), nb));
  CHECK(certainly_less(nb, Interval(1L, 128) - t1 + Interval(Rational(1, 1000000), 128)));
  CHECK(match2_table_model_of_no_residual_construction(5, 16, c).threshold.at(128).lower() == nb.lower());
  CHECK(match2_table_model_of_no_residual_construction(5, 16, c).threshold_linear.at(128).lower() ==
        match2nr_axis_threshold(16, 128).lower());

  auto refusal = [&](auto edit) { return refused_field(m, edit); };
  CHECK(refusal([](SafetensorsFile&) {}).empty());
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["psi_matched"] = "above"; }) == "__metadata__.psi_matched");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors.erase("psi_threshold_linear"); f.tensors.erase("psi_threshold_linear.exact"); }) ==
        "tensor 'psi_threshold_linear'");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors.erase("psi_weights"); f.tensors.erase("psi_weights.exact"); }) ==
        "tensor 'psi_weights'");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["psi"] = "norm"; }) == "tensor 'psi_weights'");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["psi"] = "sqnorm-or-linear"; }) == "__metadata__.psi");
  CHECK(refusal([](SafetensorsFile& f) {
          f.tensors["psi_threshold_linear"] = f.tensors.at("psi_weights");
          f.tensors["psi_threshold_linear.exact"] = f.tensors.at("psi_weights.exact");
        }) == "tensor 'psi_threshold_linear'.shape");
  // A residual file with a τ_lin: refused, the field named.
  CHECK([&] {
    SafetensorsFile f = match2_table_model_file(match2_table_model_of_construction(5, 12, Rational(10), false));
    add_exact_real_tensor(f, "psi_threshold_linear", {1}, std::vector<ExactReal>{ExactReal(Rational(1, 4))});
    const std::vector<unsigned char> bytes = serialize_safetensors(f);
    try {
      match2_table_model_from("m.st", parse_safetensors("m.st", bytes.data(), bytes.size()));
    } catch (const ModelFileError& e) {
      return e.field();
    }
    return std::string();
  }() == "tensor 'psi_threshold_linear'");
}

TEST_CASE("match2-table: the exported residual-free construction checks exactly like check match2 --no-residual",
          "[modelfile][match][no-residual]") {
  struct Instance {
    int N, M;
    std::optional<Rational> c;
    const char* semantics;
    Verdict expect;
  };
  const Instance instances[] = {
      {6, 8, std::nullopt, "exact", Verdict::Holds},
      {5, 12, std::nullopt, "exact", Verdict::Holds},
      {6, 8, Rational(2), "exact", Verdict::Fails},
      {5, 16, Rational(1, 3), "exact", Verdict::Fails},
      {6, 8, std::nullopt, "embed:fp32", Verdict::Holds},
      {5, 8, std::nullopt, "embed:float:3", Verdict::Fails},
      {5, 8, std::nullopt, "embed:float:4", Verdict::Holds},
  };
  for (const auto& in : instances) {
    INFO("N " << in.N << " M " << in.M << " " << in.semantics);
    Match2Config cfg;
    cfg.N = in.N;
    cfg.M = in.M;
    cfg.c = in.c;
    cfg.semantics = parse_semantics(in.semantics);
    const Match2NoResidualResult built_in = check_match2_no_residual(cfg, 2, false);
    const Rational c = in.c ? *in.c : match2nr_default_temperature(in.N, in.M);
    const Match2TableModel m = reread(match2_table_model_of_no_residual_construction(in.N, in.M, c));
    const Match2TableCheckResult from_file = check_match2_table(m, cfg.semantics, 2, false);
    CHECK(built_in.verdict == in.expect);
    require_same_check(built_in, from_file);
    CHECK(built_in.sweep.matched.stat_upper == from_file.sweep.matched.stat_upper);
    CHECK(built_in.sweep.unmatched.stat_lower == from_file.sweep.unmatched.stat_lower);
    CHECK(built_in.sweep.matched.witness.x == from_file.sweep.matched.witness.x);
    CHECK(built_in.sweep.unmatched.witness.x == from_file.sweep.unmatched.witness.x);
    if (in.expect == Verdict::Fails) {
      REQUIRE(from_file.sweep.worst->check.has_value());
      CHECK(from_file.sweep.worst->check->confirmed);
      // The witness, re-run here in plain doubles, is really wrong.
      const auto& w = from_file.sweep.worst->witness;
      if (cfg.semantics.is_exact()) {
        const DoubleDecision dd = double_forward(m, w.x, w.token);
        CHECK(dd.matched != truly_matched(w.x, w.token, in.M));
        CHECK(dd.margin > 1e-9);
      }
    }
    // eval on the witness: the same decisions as the built-in eval.
    const std::vector<int> x = from_file.sweep.worst->witness.x;
    const MatchEvalResult eb = eval_match2_no_residual(cfg, x), ef = eval_match2_table(m, cfg.semantics, x);
    REQUIRE(eb.tokens.size() == ef.tokens.size());
    CHECK(eb.errors == ef.errors);
    CHECK(ef.stat_name == "psi_function");
    for (std::size_t i = 0; i < eb.tokens.size(); ++i) {
      CHECK(eb.tokens[i].model == ef.tokens[i].model);
      CHECK(eb.tokens[i].truth == ef.tokens[i].truth);
      CHECK(!certainly_less(eb.tokens[i].stat, ef.tokens[i].stat));
      CHECK(!certainly_less(ef.tokens[i].stat, eb.tokens[i].stat));
    }
  }
}

TEST_CASE("match2-table: a disjunctive ψ without its norm test fails with a witness that really fails",
          "[modelfile][match][no-residual]") {
  const int N = 6, M = 8;
  Match2TableModel m = match2_table_model_of_no_residual_construction(N, M, match2nr_default_temperature(N, M));
  REQUIRE(check_match2_table(reread(m), Semantics{}, 2, false).verdict == Verdict::Holds);
  // τ = 0: ‖out‖² < 0 never holds, so a matched token with 2x ≢ 0 whose attended values do not
  // cancel sin θ (|out₂| ≥ τ₂) is answered "unmatched".
  m.threshold = ExactReal(Rational(0));
  const Match2TableModel bad = reread(m);
  const Match2TableCheckResult res = check_match2_table(bad, Semantics{}, 2, false);
  REQUIRE(res.verdict == Verdict::Fails);
  REQUIRE(res.sweep.worst->check.has_value());
  CHECK(res.sweep.worst->check->confirmed);
  const auto& w = res.sweep.worst->witness;
  CHECK(truly_matched(w.x, w.token, M));
  const DoubleDecision dd = double_forward(bad, w.x, w.token);
  CHECK(!dd.matched);
  CHECK(dd.margin > 1e-6);
  CHECK(res.sweep.worst->upper < 0);
  // The same unit with zero positional keys is swept over every tuple: same verdict, and the
  // worst room enclosed by the tuple evaluator agrees with the multiset one.
  Match2TableModel good = match2_table_model_of_no_residual_construction(4, 6, match2nr_default_temperature(4, 6));
  const Match2TableCheckResult free = check_match2_table(reread(good), Semantics{}, 2, false);
  good.key_pos.assign(4 * 2, ExactReal(Rational(0)));
  const Match2TableCheckResult pos = check_match2_table(reread(good), Semantics{}, 2, false);
  CHECK(pos.tuples);
  CHECK(free.verdict == Verdict::Holds);
  CHECK(pos.verdict == Verdict::Holds);
  CHECK(pos.sweep.cases == 6 * 6 * 6 * 6 * 4);
  CHECK(std::fabs(pos.sweep.worst->lower - free.sweep.worst->lower) < 1e-9);
  // The holding unit, run in plain doubles by the learning code's forward pass on all 6^4 inputs,
  // is right on every token; the τ = 0 unit is wrong on its witness there too.
  const Match2TableModel held = match2_table_model_of_no_residual_construction(4, 6, match2nr_default_temperature(4, 6));
  int wrong = 0;
  std::vector<int> x(4);
  for (int t = 0; t < 6 * 6 * 6 * 6; ++t) {
    for (int i = 0, r = t; i < 4; ++i, r /= 6) x[i] = r % 6;
    const auto dec = match2_table_decisions_double(held, x);
    const auto truth = match2(x, 6);
    for (int i = 0; i < 4; ++i) wrong += dec[i] != truth[i];
  }
  CHECK(wrong == 0);
  CHECK(match2_table_decisions_double(bad, w.x)[w.token] != match2(w.x, M)[w.token]);
}

TEST_CASE("match2-table: the residual-free export under arith (no built-in counterpart)", "[modelfile][match][no-residual]") {
  // check match2 --no-residual refuses arith; the file is swept over every tuple with ψ exact on
  // the rounded output.  fp32 rounding moves the worst room by far less than 1e-5.
  const Match2TableModel ok = reread(match2_table_model_of_no_residual_construction(4, 6, match2nr_default_temperature(4, 6)));
  const Match2TableCheckResult a = check_match2_table(ok, parse_semantics("arith:fp32"), 2, false);
  CHECK(a.tuples);
  CHECK(a.verdict == Verdict::Holds);
  CHECK(a.sweep.cases == 6 * 6 * 6 * 6 * 4);
  const Match2TableModel low = reread(match2_table_model_of_no_residual_construction(4, 6, Rational(2)));
  const Match2TableCheckResult exact = check_match2_table(low, Semantics{}, 2, false);
  const Match2TableCheckResult arith = check_match2_table(low, parse_semantics("arith:fp32"), 2, false);
  REQUIRE(exact.verdict == Verdict::Fails);
  REQUIRE(arith.verdict == Verdict::Fails);
  CHECK(arith.sweep.worst->check->confirmed);
  CHECK(std::fabs(arith.sweep.worst->upper - exact.sweep.worst->upper) < 1e-5);
  const auto& w = arith.sweep.worst->witness;
  const DoubleDecision dd = double_forward(low, w.x, w.token);
  CHECK(dd.matched != truly_matched(w.x, w.token, 6));
  CHECK(dd.margin > 1e-3);
}

TEST_CASE("CLI: export match2 --no-residual, check/eval match2 --model equal the built-in", "[modelfile][match][no-residual][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("nr.st");
  // Default c under embed:bf16 (holds), c = 2 under exact (fails).
  nlohmann::json failing;
  for (const auto& [c, sem] : {std::pair<std::string, std::string>{"", "embed:bf16"}, {" --c 2", "exact"}}) {
    INFO("c" << c << " " << sem);
    REQUIRE(run_attnbounds("export match2 --no-residual --N 6 --M 8" + c + " --out " + path, 60, true).status == 0);
    auto from_file = run_attnbounds("check match2 --model " + path + " --semantics " + sem + " --json", 60, true);
    auto built_in = run_attnbounds("check match2 --no-residual --N 6 --M 8" + c + " --semantics " + sem + " --json", 60, true);
    REQUIRE(from_file.status == built_in.status);
    auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(built_in.out);
    CHECK(a["verdict"] == (c.empty() ? "holds" : "fails"));
    for (const char* key : {"verdict", "cases", "worst", "smallest_matched_psi_function", "largest_unmatched_psi_function",
                            "reduction", "fallback_cases", "failing_cases"})
      CHECK(a[key] == b[key]);
    CHECK(a["params"]["psi"] == "sqnorm-or-abs-linear");
    CHECK(a["params"]["residual"] == false);
    failing = a;
  }
  // eval of the file and of the built-in agree token by token on the failing witness.
  std::string input;
  for (const auto& v : failing["worst"]["witness"]["x"]) input += (input.empty() ? "" : ",") + v.dump();
  auto ef = run_attnbounds("eval match2 --model " + path + " --input " + input + " --json", 60, true);
  auto eb = run_attnbounds("eval match2 --no-residual --N 6 --M 8 --c 2 --input " + input + " --json", 60, true);
  CHECK(ef.status == 1);
  CHECK(eb.status == 1);
  auto fe = nlohmann::json::parse(ef.out), be = nlohmann::json::parse(eb.out);
  REQUIRE(fe["tokens"].size() == 6);
  CHECK(fe["errors"] == be["errors"]);
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(fe["tokens"][i]["model"] == be["tokens"][i]["model"]);
    CHECK(fe["tokens"][i]["truth"] == be["tokens"][i]["truth"]);
  }
  std::remove(path.c_str());
}

TEST_CASE("CLI: min-p match2 --model of the residual-free export; export refusals", "[modelfile][match][no-residual][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("nr2.st");
  REQUIRE(run_attnbounds("export match2 --no-residual --N 5 --M 8 --out " + path, 60, true).status == 0);
  // Each row is the file's check at embed:float:p; it equals the built-in's (float:3 fails, float:4 holds).
  auto mp = nlohmann::json::parse(run_attnbounds("min-p match2 --model " + path + " --p-min 3 --p-max 4 --json", 60, true).out);
  REQUIRE(mp["table"].size() == 2);
  CHECK(mp["table"][0]["verdict"] == "fails");
  CHECK(mp["table"][1]["verdict"] == "holds");
  CHECK(mp["p_star"] == 4);
  for (const auto& row : mp["table"]) {
    auto b = nlohmann::json::parse(
        run_attnbounds("check match2 --no-residual --N 5 --M 8 --semantics embed:float:" + row["p"].dump() + " --json", 60, true).out);
    CHECK(row["verdict"] == b["verdict"]);
  }
  // Refusals: exit 2, one line naming the flag or saying why nothing is written.
  auto flip = run_attnbounds("export match2 --no-residual --flip-query-sign --N 6 --M 8 --out " + path, 60, true);
  CHECK(flip.status == 2);
  CHECK(flip.err.find("--flip-query-sign") != std::string::npos);
  auto m2 = run_attnbounds("export match2 --no-residual --N 6 --M 2 --out " + path, 60, true);
  CHECK(m2.status == 2);
  CHECK(m2.err.find("--M") != std::string::npos);
  std::remove(path.c_str());
}
