// Lower-bound reductions (Theorems 4, 10, 11): each tested both ways.  A model above the bound
// passes; one below fails, and the test re-verifies the counterexample through the ground-truth
// task (tasks.hpp) from the witness alone (the typed result, or the JSON the command prints), not
// through the code under test.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "core/config_error.hpp"
#include "model/qsa_embedding.hpp"
#include "numeric/rational.hpp"
#include "proofs/theorem10_fc_rank.hpp"
#include "proofs/theorem11_rnn_index.hpp"
#include "proofs/theorem4_qsa_disj.hpp"
#include "checks/result_json.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;
using attnbounds_test::CliRun;

namespace {



// Test-only qSA construction (moment-curve keys, math §4.2), independent of the real one:
// key_j = (j, j², …, j^{2q}) (j 1-based), query_S = −c·(a_1..a_{2q}) of Π_{k∈S}(t − k)².
class MomentCurveForTest : public QsaEmbedding {
 public:
  MomentCurveForTest(int N, int q, Rational c) : N_(N), q_(q), c_(std::move(c)), keys_(N, 2 * q) {
    for (int j = 0; j < N; ++j) {
      Rational p = 1;
      for (int r = 0; r < 2 * q; ++r) {
        p *= (j + 1);
        keys_(j, r) = p;
      }
    }
  }
  std::string name() const override { return "moment-curve-test"; }
  int N() const override { return N_; }
  int q() const override { return q_; }
  int d() const override { return 1; }
  int m() const override { return 1 + 4 * q_; }
  const Mat<Rational>& keys() const override { return keys_; }
  std::vector<Rational> query(const std::vector<int>& S) const override {
    std::vector<Rational> poly{1};  // coefficients of Π (t − k)², low degree first
    for (int s : S)
      for (int rep = 0; rep < 2; ++rep) {
        std::vector<Rational> next(poly.size() + 1, Rational(0));
        for (std::size_t i = 0; i < poly.size(); ++i) {
          next[i + 1] += poly[i];
          next[i] -= poly[i] * (s + 1);
        }
        poly = next;
      }
    std::vector<Rational> w;
    for (int r = 1; r <= 2 * q_; ++r) w.push_back(-c_ * poly[r]);
    return w;
  }
  Rational temperature() const override { return c_; }

 private:
  int N_, q_;
  Rational c_;
  Mat<Rational> keys_;
};

struct ParsedInput {
  Mat<Rational> z;
  std::vector<std::vector<int>> y;
};

ParsedInput parse_input(const json& X) {
  const std::size_t N = X["z"].size(), d = X["z"][0].size();
  ParsedInput p{Mat<Rational>(N, d), std::vector<std::vector<int>>(N)};
  for (std::size_t i = 0; i < N; ++i) {
    for (std::size_t c = 0; c < d; ++c) p.z(i, c) = parse_rational(X["z"][i][c].get<std::string>());
    for (const auto& j : X["y"][i]) p.y[i].push_back(j.get<int>() - 1);
  }
  return p;
}

Rational parse_num(const json& v) { return parse_rational(v.get<std::string>()); }

qsa_disj::QsaDisjOptions disj_options(int q, const std::string& semantics) {
  qsa_disj::QsaDisjOptions o;
  o.q = q;
  o.semantics = parse_semantics(semantics);
  o.threads = 2;
  return o;
}

// Re-verifies a qsa-disj failure witness through tasks::qsa: every listed input is a valid qSA
// input, its true output at the reported token equals qSA, and the reported model output misses
// it by more than 1/(2q) on at least one input.
void reverify_qsa_disj_witness(const json& res, int q) {
  const json& w = res["worst"]["witness"];
  const int token = w["token"].get<int>() - 1;
  CHECK(token == 2 * q);
  const Rational bound(1, 2 * q);
  Rational max_err = 0;
  std::vector<Rational> model_first;
  for (std::size_t t = 0; t < w["inputs"].size(); ++t) {
    auto X = parse_input(w["inputs"][t]);
    validate_qsa_input(X.z, X.y, q);
    const Mat<Rational> truth = qsa(X.z, X.y);
    CHECK(truth(token, 0) == parse_num(w["true_outputs"][t][0]));
    const Rational model_out = parse_num(w["model_outputs"][t][0]);
    model_first.push_back(model_out);
    Rational err = truth(token, 0) - model_out;
    if (err < 0) err = -err;
    if (err > max_err) max_err = err;
  }
  // Midpoints are reported to 20 digits; the margin of a failure here is far larger.
  CHECK(max_err > bound + Rational(1, 1000000));
  if (w["inputs"].size() == 2) {
    CHECK(model_first[0] == model_first[1]);  // same message => same output
    auto X1 = parse_input(w["inputs"][0]), X2 = parse_input(w["inputs"][1]);
    CHECK(X1.z.data() == X2.z.data());  // Bob's data identical, only Alice's subset differs
    CHECK(X1.y[token] != X2.y[token]);
  }
}

// The same re-verification on the typed result: inputs, true outputs and the model's certified
// output enclosures.
void reverify_qsa_disj_witness(const qsa_disj::QsaDisjResult& res, int q) {
  const qsa_disj::QsaDisjWitness& w = res.witness;
  CHECK(w.token == 2 * q);
  REQUIRE(w.inputs.size() == w.model_outputs.size());
  REQUIRE(w.inputs.size() == w.true_outputs.size());
  const Rational bound(1, 2 * q);
  Rational max_err_lower = 0;
  for (std::size_t t = 0; t < w.inputs.size(); ++t) {
    const auto& X = w.inputs[t];
    validate_qsa_input(X.z, X.y, q);
    const Mat<Rational> truth = qsa(X.z, X.y);
    CHECK(truth(w.token, 0) == w.true_outputs[t][0]);
    const qsa_disj::Enclosure& out = w.model_outputs[t][0];
    REQUIRE(out.lower <= out.upper);
    // Distance from the truth to the whole enclosure: a certified lower bound of the error.
    Rational gap = 0;
    if (truth(w.token, 0) < out.lower) gap = out.lower - truth(w.token, 0);
    if (truth(w.token, 0) > out.upper) gap = truth(w.token, 0) - out.upper;
    max_err_lower = std::max(max_err_lower, gap);
  }
  CHECK(max_err_lower > bound);
  if (w.inputs.size() == 2) {
    CHECK(w.model_outputs[0][0].lower == w.model_outputs[1][0].lower);  // same message => same output
    CHECK(w.model_outputs[0][0].upper == w.model_outputs[1][0].upper);
    CHECK(w.inputs[0].z.data() == w.inputs[1].z.data());  // Bob's data identical, only Alice's subset differs
    CHECK(w.inputs[0].y[w.token] != w.inputs[1].y[w.token]);
  }
}

}  // namespace

TEST_CASE("qsa-disj: an exact moment-curve construction passes every DISJ instance", "[lower]") {
  for (int q : {2, 3}) {
    auto emb = std::make_shared<MomentCurveForTest>(2 * q + 1, q, Rational(30));
    auto model = qsa_disj::wrap_qsa_embedding(emb);
    for (const char* sem : {"exact", "embed:fp64"}) {
      const qsa_disj::QsaDisjResult res = qsa_disj::run_qsa_disj(disj_options(q, sem), *model);
      INFO("q = " << q << ", semantics " << sem);
      CHECK(res.verdict == Verdict::Holds);
      CHECK(res.instances == (1u << (2 * q)));
      CHECK(res.messages_distinct == (1u << q));
      CHECK(res.reduction_verified == res.instances);
      CHECK(res.protocol_equal_instances == res.instances);
      CHECK(res.witness.kind == qsa_disj::QsaDisjWitnessKind::WorstInstance);
      CHECK(res.message_bits.has_value() == (std::string(sem) != "exact"));
      // The worst error is tiny (temperature 30, gap 1) and certified below 1/(2q).
      CHECK(res.worst_error.upper < Rational(1, 2 * q));
    }
  }
}

TEST_CASE("qsa-disj: 2-bit messages collide for q = 3 and the failing pair is re-verified", "[lower]") {
  const int q = 3;
  const auto sem = parse_semantics("embed:fixed:2.0");
  auto model = qsa_disj::make_random_model(2 * q + 1, q, 1, 1, 1, qsa_disj::random_model_scale(sem));
  const qsa_disj::QsaDisjResult res = qsa_disj::run_qsa_disj(disj_options(q, "embed:fixed:2.0"), *model);
  CHECK(res.verdict == Verdict::Fails);
  REQUIRE(res.message_bits.has_value());
  CHECK(*res.message_bits == 2);
  CHECK(res.messages_distinct <= 4);
  REQUIRE(res.witness.kind == qsa_disj::QsaDisjWitnessKind::Collision);
  reverify_qsa_disj_witness(res, q);
  // The two true outputs differ by at least 2/q (one pair disjoint, the other not).
  const Rational t1 = res.witness.true_outputs[0][0], t2 = res.witness.true_outputs[1][0];
  CHECK((res.witness.a & res.witness.b) == 0);
  CHECK((res.witness.a_prime & res.witness.b) != 0);
  CHECK(t1 == -1);
  CHECK(t2 >= Rational(-1) + Rational(2) / q);
}

TEST_CASE("qsa-disj: the construction at too low a temperature fails with a verified instance", "[lower]") {
  const int q = 2;
  auto emb = std::make_shared<MomentCurveForTest>(2 * q + 1, q, Rational(1, 1000));
  auto model = qsa_disj::wrap_qsa_embedding(emb);
  const qsa_disj::QsaDisjResult res = qsa_disj::run_qsa_disj(disj_options(q, "exact"), *model);
  CHECK(res.verdict == Verdict::Fails);
  CHECK(res.messages_distinct == 4);  // no collision: the failure is accuracy
  CHECK(res.witness.kind == qsa_disj::QsaDisjWitnessKind::Inaccurate);
  CHECK_FALSE(res.message_bits.has_value());  // exact: the message is unbounded
  reverify_qsa_disj_witness(res, q);
}

namespace {

// A model whose message is known by hand: Alice's token embeds to table[|a|] (|a| = the number of
// even 0-based elements of her set, math §5.1 layout), every other token to its z; zero query
// and key, value = φ.  With float:2 every table entry is representable.
class CountingModelForTest : public qsa_disj::TokenwiseModel {
 public:
  CountingModelForTest(int q, std::vector<Rational> table) : q_(q), table_(std::move(table)) {}
  std::string name() const override { return "counting-test"; }
  int m() const override { return 1; }
  std::vector<Rational> embed(const qsa_disj::QsaInput& X, int i) const override {
    if (i != qsa_disj::alice_token(q_)) return {X.z(i, 0)};
    int evens = 0;
    for (int j : X.y[i]) evens += j % 2 == 0 ? 1 : 0;
    return {table_.at(evens)};
  }
  void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
           std::vector<Rational>& value) const override {
    query.assign(1, Rational(0));
    key.assign(1, Rational(0));
    value = phi;
  }

 private:
  int q_;
  std::vector<Rational> table_;
};

}  // namespace

TEST_CASE("qsa-disj: message widths count the exponent bits (float:P used, bounded the format's)", "[lower]") {
  const int q = 4;
  const Rational h(3, 2);
  {
    // Messages 1, 3/2, 2, 3: exponents 0..1, so 3 codes (with zero) need 2 exponent bits and
    // w = 1 sign + 1 fraction + 2 = 4 bits; 4 bits is not below q = 4 (P + 1 = 3 would be).
    CountingModelForTest model(q, {Rational(1), h, Rational(2), Rational(3), Rational(3)});
    const auto res = qsa_disj::run_qsa_disj(disj_options(q, "embed:float:2"), model);
    CHECK(res.messages_distinct == 4);
    REQUIRE(res.exponent_bits_seen.has_value());
    CHECK(*res.exponent_bits_seen == 2);
    REQUIRE(res.bits_per_entry.has_value());
    CHECK(*res.bits_per_entry == 4);
    CHECK(*res.message_bits == 4);
    CHECK(res.width_consistent);
    CHECK_FALSE(res.pigeonhole_forces_collision);
    CHECK_FALSE(res.bound_proved.empty());
    CHECK(res.width_counting.find("float:2") != std::string::npos);
    // Five values for 16 sets: a collision all the same, verified by forward passes.
    CHECK(res.verdict == Verdict::Fails);
    CHECK(res.witness.kind == qsa_disj::QsaDisjWitnessKind::Collision);
  }
  {
    // Messages 1 and 3/2 only: one exponent (0) plus zero's code, 1 exponent bit, w = 3 < q.
    CountingModelForTest model(q, {Rational(1), h, Rational(1), h, Rational(1)});
    const auto res = qsa_disj::run_qsa_disj(disj_options(q, "embed:float:2"), model);
    CHECK(res.messages_distinct == 2);
    CHECK(*res.exponent_bits_seen == 1);
    CHECK(*res.bits_per_entry == 3);
    CHECK(*res.message_bits == 3);
    CHECK(res.pigeonhole_forces_collision);
    CHECK(res.witness.kind == qsa_disj::QsaDisjWitnessKind::Collision);
    CHECK(res.verdict == Verdict::Fails);
  }
  {
    // A bounded format costs its full width whatever the values: fp16 is 1 + 5 + 10 = 16 bits.
    CountingModelForTest model(q, {Rational(1), h, Rational(2), Rational(3), Rational(3)});
    const auto res = qsa_disj::run_qsa_disj(disj_options(q, "embed:fp16"), model);
    CHECK(*res.bits_per_entry == 16);
    CHECK(*res.message_bits == 16);
    CHECK_FALSE(res.exponent_bits_seen.has_value());
    CHECK_FALSE(res.pigeonhole_forces_collision);
    CHECK(res.width_counting.find("5 exponent") != std::string::npos);
    // bf16 likewise: 1 + 8 + 7.
    const auto bf = qsa_disj::run_qsa_disj(disj_options(q, "embed:bf16"), model);
    CHECK(*bf.bits_per_entry == 16);
  }
  {
    // Fixed point: I + F bits (fixed:3.2: 5), no exponent.
    CountingModelForTest model(q, {Rational(1), h, Rational(2), Rational(3), Rational(3)});
    const auto res = qsa_disj::run_qsa_disj(disj_options(q, "embed:fixed:3.2"), model);
    CHECK(*res.bits_per_entry == 5);
    CHECK(*res.message_bits == 5);
    CHECK_FALSE(res.pigeonhole_forces_collision);
  }
  {
    // Exact semantics: no finite width, so no bound is stated as proved.
    CountingModelForTest model(q, {Rational(1), h, Rational(2), Rational(3), Rational(3)});
    const auto res = qsa_disj::run_qsa_disj(disj_options(q, "exact"), model);
    CHECK_FALSE(res.message_bits.has_value());
    CHECK_FALSE(res.bits_per_entry.has_value());
    CHECK(res.bound_proved.empty());
    CHECK_FALSE(res.pigeonhole_forces_collision);
    CHECK_FALSE(res.width_consistent);
  }
}

TEST_CASE("qsa-disj JSON: bound_proved is null without a finite width; the grid's line counts exponent bits", "[lower]") {
  auto e = attnbounds_test::run_attnbounds("lower qsa-disj --q 3 --model random --m 1 --semantics exact --json");
  REQUIRE((e.status == 0 || e.status == 1 || e.status == 3));
  const json ej = json::parse(e.out);
  CHECK(ej["bound_proved"].is_null());
  CHECK(ej["message_bits"].is_null());
  CHECK(ej["pigeonhole_forces_collision"] == false);
  auto f = attnbounds_test::run_attnbounds("lower qsa-disj --q 3 --model random --m 1 --semantics embed:fixed:2.0 --json");
  const json fj = json::parse(f.out);
  CHECK(fj["bits_per_entry"] == 2);
  CHECK(fj["message_bits"] == 2);
  CHECK(fj["pigeonhole_forces_collision"] == true);
  CHECK(fj["bound_proved"].is_string());
  // Grid over float:p: every cell's line test is message_bits < q with w = bits_per_entry, and
  // w counts the exponent bits (w > p + 1 whenever the messages use more than one exponent).
  // q = 4, m = 1, float:2: Alice's messages take 11 distinct values, more than the 2^3 codes of
  // the exponent-free count 1 * (2 + 1) = 3 bits, which called the cell "below the line".
  auto g = attnbounds_test::run_attnbounds(
      "lower qsa-disj --q 4 --grid --grid-format float --m-values 1 --p-values 2,3 --format json");
  REQUIRE(g.status == 0);
  const json gj = json::parse(g.out);
  REQUIRE(gj["cells"].size() == 2);
  for (const auto& cell : gj["cells"]) {
    REQUIRE(cell["message_bits"].is_number());
    const int p = cell["p"].get<int>();
    INFO(cell.dump());
    CHECK(cell["bits_per_entry"].get<int>() >= p);  // sign + (p-1) fraction bits at least
    CHECK(cell["message_bits"] == cell["m"].get<int>() * cell["bits_per_entry"].get<int>());
    CHECK(cell["messages_distinct"].get<long>() <= (1L << cell["message_bits"].get<int>()));
    CHECK(cell["below_line"] == (cell["message_bits"].get<int>() < 4));
  }
  const json& low = gj["cells"][0];
  CHECK(low["messages_distinct"] == 11);
  CHECK(low["messages_distinct"].get<long>() > (1L << 3));
  CHECK(low["below_line"] == false);
}

TEST_CASE("qsa-disj from the command line: exit codes and the missing construction", "[lower]") {
  auto r = attnbounds_test::run_attnbounds("lower qsa-disj --q 3 --model random --m 1 --semantics embed:fixed:2.0 --json");
  CHECK(r.status == 1);
  json res = json::parse(r.out);
  CHECK(res["verdict"] == "fails");
  CHECK(res["theorem"] == "Theorem 4");
  reverify_qsa_disj_witness(res, 3);
  auto names = qsa_embedding_names();
  const bool cyclic = std::find(names.begin(), names.end(), "qsa-cyclic") != names.end();
  auto c = attnbounds_test::run_attnbounds("lower qsa-disj --q 2 --model qsa-cyclic --semantics exact --json");
  if (!cyclic) CHECK(c.status == 2);
  else CHECK((c.status == 0 || c.status == 1));
  CHECK(attnbounds_test::run_attnbounds("lower qsa-disj --q 2 --model nonsense").status == 2);
  CHECK(attnbounds_test::run_attnbounds("lower qsa-disj --q 2 --N 3").status == 2);  // N < 2q+1
  auto g = attnbounds_test::run_attnbounds("lower qsa-disj --q 3 --grid --m-values 1,2 --p-values 2,3 --format csv");
  CHECK(g.status == 0);
  CHECK(g.out.find("1,2,fixed:1.1,2,") != std::string::npos);  // m=1, p=2: 2 bits < q, a collision
}

TEST_CASE("fc-rank: k below (N-q+1)d' gives X+, X- with equal first layer and error 1/q", "[lower]") {
  for (int d : {1, 2}) {
    fc_rank::FcRankOptions o;
    o.N = 5;
    o.q = 2;
    o.d = d;
    o.k = (o.N - o.q + 1) * d - 1;
    const fc_rank::FcRankResult res = fc_rank::run_fc_rank(o);
    INFO("d' = " << d);
    REQUIRE(res.verdict == Verdict::Fails);
    REQUIRE(res.witness.has_value());
    CHECK(res.k == o.k);
    CHECK(res.bound == (o.N - o.q + 1) * d);
    CHECK(res.rank_W_free_z < res.bound);
    const auto& Xp = res.witness->X_plus;
    const auto& Xm = res.witness->X_minus;
    validate_qsa_input(Xp.z, Xp.y, o.q);
    validate_qsa_input(Xm.z, Xm.y, o.q);
    // The forced error one of X_± must have is at least 1/q (within the 2^-60 scale rounding).
    CHECK(res.witness->forced_error_upper >= res.witness->forced_error_lower);
    CHECK(res.witness->forced_error_upper > Rational(1, o.q) * (1 - Rational(1, 1000000)));
    // Independent first layer: W · (z_i, y_i (1-based), i) token by token.
    REQUIRE(static_cast<int>(res.W.rows()) == o.k);
    auto flatten = [&](const fc_rank::FcInput& X) {
      std::vector<Rational> v;
      for (int i = 0; i < o.N; ++i) {
        for (int c = 0; c < d; ++c) v.push_back(X.z(i, c));
        for (int j : X.y[i]) v.push_back(j + 1);
        v.push_back(i + 1);
      }
      return v;
    };
    auto vp = flatten(Xp), vm = flatten(Xm);
    CHECK(vp != vm);
    for (std::size_t r = 0; r < res.W.rows(); ++r) {
      Rational ap = 0, am = 0;
      for (std::size_t c = 0; c < res.W.cols(); ++c) {
        ap += res.W(r, c) * vp[c];
        am += res.W(r, c) * vm[c];
      }
      CHECK(ap == am);
    }
    // Ground truth: some row's qSA differs by 2/q (exactly for d' = 1, up to 2^-59 for d' = 2).
    const Mat<Rational> Tp = qsa(Xp.z, Xp.y), Tm = qsa(Xm.z, Xm.y);
    Rational best = 0;
    for (int i = 0; i < o.N; ++i) {
      Rational g2 = 0;
      for (int c = 0; c < d; ++c) g2 += (Tp(i, c) - Tm(i, c)) * (Tp(i, c) - Tm(i, c));
      best = std::max(best, g2);
    }
    const Rational target2 = Rational(4) / (o.q * o.q);
    if (d == 1) CHECK(best == target2);
    else CHECK(best > target2 * (1 - Rational(1, 1000000)));
  }
}

TEST_CASE("fc-rank: full-rank W at the bound has no counterexample; a rank-deficient file does", "[lower]") {
  fc_rank::FcRankOptions o;
  o.N = 5;
  o.q = 2;
  o.k = 4;  // = (N − q + 1)·d'
  const fc_rank::FcRankResult res = fc_rank::run_fc_rank(o);
  CHECK(res.verdict == Verdict::Holds);
  CHECK(res.rank_W_free_z == 4);
  CHECK_FALSE(res.witness.has_value());
  // A configuration out of range names its field.
  fc_rank::FcRankOptions bad = o;
  bad.q = 9;
  try {
    fc_rank::run_fc_rank(bad);
    FAIL("q > N was accepted");
  } catch (const ConfigError& e) {
    CHECK(e.field() == "q");
  }
  // A W with k = 5 ≥ bound whose z-columns are rank 3: still a counterexample.
  const int in_dim = o.N * fc_rank::token_dim(1, o.q);
  const std::string path = "/tmp/attnbounds_test_weights.txt";
  {
    std::ofstream f(path);
    for (int r = 0; r < 5; ++r) {
      for (int c = 0; c < in_dim; ++c) {
        const bool z_col = c % 4 == 0;
        const int token = c / 4;
        f << ((z_col && token == 3) ? 0 : ((r + 1) * (c + 2)) % 7) << ' ';
      }
      f << '\n';
    }
  }
  auto r = attnbounds_test::run_attnbounds("lower fc-rank --N 5 --q 2 --weights " + path + " --json");
  CHECK(r.status == 1);
  json fr = json::parse(r.out);
  CHECK(fr["k"] == 5);
  CHECK(fr["worst"]["witness"]["first_layer_equal"] == true);
  {
    std::ofstream f(path);
    f << "1 2 3\n4 5\n";
  }
  CHECK(attnbounds_test::run_attnbounds("lower fc-rank --N 5 --q 2 --weights " + path).status == 2);
  CHECK(attnbounds_test::run_attnbounds("lower fc-rank --N 5 --q 2 --weights /nonexistent/w.txt").status == 2);
}

TEST_CASE("rnn-index: n-bit window automaton passes; fewer bits collide (re-verified)", "[lower]") {
  const int N = 8, n = N - 1;
  rnn_index::RnnIndexOptions o;
  o.N = N;
  auto tight = rnn_index::make_automaton(n, n, "window", 1);
  const rnn_index::RnnIndexResult pass = rnn_index::run_rnn_index(o, *tight);
  CHECK(pass.verdict == Verdict::Holds);
  CHECK(pass.states_distinct == (1u << n));
  CHECK(pass.instances == o.instances());
  CHECK(pass.instances_within_eps == pass.instances);
  CHECK(pass.reduction_verified == pass.instances);

  auto linear = rnn_index::make_linear_recurrence(n, n, parse_format("fixed:2.0"), "shift", 1);
  CHECK(rnn_index::run_rnn_index(o, *linear).verdict == Verdict::Holds);

  std::vector<std::unique_ptr<rnn_index::StreamingModel>> below;
  below.push_back(rnn_index::make_automaton(n, n - 1, "window", 1));
  below.push_back(rnn_index::make_automaton(n, n - 1, "random", 7));
  below.push_back(rnn_index::make_linear_recurrence(n, 3, parse_format("fixed:2.0"), "shift", 1));
  below.push_back(rnn_index::make_linear_recurrence(n, 2, parse_format("fixed:3.4"), "random", 3));
  for (const auto& model : below) {
    const rnn_index::RnnIndexResult res = rnn_index::run_rnn_index(o, *model);
    INFO(model->name());
    CHECK(res.state_bits >= 1);
    REQUIRE(res.verdict == Verdict::Fails);
    const rnn_index::RnnIndexWitness& w = res.witness;
    REQUIRE(w.kind == rnn_index::RnnWitnessKind::StateCollision);
    REQUIRE(w.inputs.size() == 2);
    REQUIRE(w.model_outputs.size() == 2);
    CHECK(w.b[0] != w.b[1]);
    std::vector<Rational> truth, out;
    for (int t = 0; t < 2; ++t) {
      const auto& tokens = w.inputs[t].tokens;
      REQUIRE(static_cast<int>(tokens.size()) == N);
      Mat<Rational> z(N, 1);
      std::vector<std::vector<int>> y(N);
      for (int i = 0; i < N; ++i) {
        z(i, 0) = tokens[i].z;
        y[i] = tokens[i].y;
      }
      validate_qsa_input(z, y, 1);
      truth.push_back(qsa(z, y)(N - 1, 0));
      out.push_back(w.model_outputs[t]);
    }
    CHECK(out[0] == out[1]);
    CHECK(truth[0] == -truth[1]);  // b_k differs: qSA is +1 on one, −1 on the other
    Rational e0 = truth[0] - out[0], e1 = truth[1] - out[1];
    if (e0 < 0) e0 = -e0;
    if (e1 < 0) e1 = -e1;
    CHECK(std::max(e0, e1) >= 1);
    CHECK(std::max(e0, e1) > o.eps);
  }
}

TEST_CASE("rnn-index from the command line", "[lower]") {
  CHECK(attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model automaton --S 6").status == 0);
  CHECK(attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model automaton --S 5").status == 1);
  CHECK(attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model linear --r 6").status == 0);
  CHECK(attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model linear --r 6 --state-format fixed:1.1").status == 2);
  CHECK(attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model bogus").status == 2);
  auto r = attnbounds_test::run_attnbounds("lower rnn-index --N 7 --model automaton --S 5 --json");
  json res = json::parse(r.out);
  CHECK(res["theorem"] == "Theorem 11");
  CHECK(res["bound"] == "6");
  CHECK(res["paper_bound"] == "3");
}

TEST_CASE("qsa-disj: the moment-curve construction passes all 4^5 instances at q = 5", "[lower][long]") {
  const int q = 5;
  auto emb = std::make_shared<MomentCurveForTest>(2 * q + 1, q, Rational(30));
  auto model = qsa_disj::wrap_qsa_embedding(emb);
  const qsa_disj::QsaDisjResult res = qsa_disj::run_qsa_disj(disj_options(q, "exact"), *model);
  CHECK(res.verdict == Verdict::Holds);
  CHECK(res.messages_distinct == (1u << q));
  CHECK(res.instances == (1u << (2 * q)));
}

// The qsa-disj sweep embeds each distinct token once: it relies on Alice's token of X(a, b)
// being that of X(a, 0) and every other token being that of Bob's view X(0, b).
TEST_CASE("qsa-disj instances separate into Alice's token (from a) and Bob's tokens (from b)", "[lower]") {
  for (int q = 1; q <= 4; ++q)
    for (int N : {2 * q + 1, 2 * q + 3}) {
      const int alice = qsa_disj::alice_token(q);
      for (std::uint64_t a = 0; a < (1U << q); ++a)
        for (std::uint64_t b = 0; b < (1U << q); ++b) {
          const auto X = qsa_disj::make_instance(q, N, 2, a, b);
          const auto Xa = qsa_disj::make_instance(q, N, 2, a, 0), Xb = qsa_disj::make_instance(q, N, 2, 0, b);
          for (int j = 0; j < N; ++j) {
            const auto& src = j == alice ? Xa : Xb;
            CHECK(X.y[j] == src.y[j]);
            for (int c = 0; c < 2; ++c) CHECK(X.z(j, c) == src.z(j, c));
          }
          // and the instance really depends on both: Alice's set from a, Bob's signs from b
          for (int i = 0; i < q; ++i) {
            CHECK(X.z(2 * i, 0) == (((b >> i) & 1U) ? 1 : -1));
            CHECK(X.y[alice][i] == (((a >> i) & 1U) ? 2 * i : 2 * i + 1));
          }
        }
    }
}
