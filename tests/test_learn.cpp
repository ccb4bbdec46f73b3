// Learning experiments (src/learn, `attnbounds learn`): seeded data, reproducible training,
// the exported table of a trained unit, its certification, and bad input.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "learn/learn_common.hpp"
#include "learn/qsa_learning.hpp"
#include "learn/trained_certification.hpp"

using namespace attnbounds;
using attnbounds_test::run_attnbounds;
using attnbounds_test::TempDir;

namespace {

QsaLearnConfig tiny_attention(int epochs, double lr = 0.05) {
  QsaLearnConfig c;
  c.family = LearnFamily::Attention;
  c.N = 4, c.q = 2, c.d = 1;
  c.samples = 128, c.validation = 64, c.test = 128;
  c.epochs = epochs, c.batch = 32, c.lr = lr, c.patience = 1000;
  c.seed = 7;
  c.threads = 1;
  return c;
}

int line_count(const std::string& s) {
  int n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}

}  // namespace

TEST_CASE("learn: seeded qSA samples lie in the ball or on the sphere, with sorted q-subsets", "[learn]") {
  const QsaSamples a = draw_qsa_samples(6, 3, 2, 200, false, 5, 0);
  const QsaSamples b = draw_qsa_samples(6, 3, 2, 200, false, 5, 0);
  const QsaSamples other = draw_qsa_samples(6, 3, 2, 200, false, 5, 1);
  CHECK(a.z == b.z);
  CHECK(a.y == b.y);
  CHECK(a.z != other.z);
  std::set<std::vector<int>> seen;
  for (std::int64_t t = 0; t < 200 * 6; ++t) {
    const double n2 = a.z[2 * t] * a.z[2 * t] + a.z[2 * t + 1] * a.z[2 * t + 1];
    CHECK(n2 <= 1.0);
    std::vector<int> S(a.y.begin() + 3 * t, a.y.begin() + 3 * t + 3);
    CHECK((S[0] < S[1] && S[1] < S[2] && S[0] >= 0 && S[2] < 6));
    seen.insert(S);
  }
  // 1200 draws of C(6, 3) = 20 subsets: every one appears (a miss has probability below 10^-20).
  CHECK(seen.size() == 20);
  const QsaSamples s = draw_qsa_samples(5, 2, 3, 50, true, 5, 0);
  for (std::int64_t t = 0; t < 50 * 5; ++t) {
    double n2 = 0;
    for (int c = 0; c < 3; ++c) n2 += s.z[3 * t + c] * s.z[3 * t + c];
    CHECK(std::fabs(n2 - 1.0) < 1e-12);
  }
}

TEST_CASE("learn: the exported table is the sum of the query columns over each subset", "[learn]") {
  TrainedAttention a;
  a.N = 5, a.q = 2, a.d = 1, a.k = 3;
  a.scale = 1.75;
  for (int i = 0; i < a.k * a.N; ++i) {
    a.query_weights.push_back(std::ldexp(1.0 + i, -3) * (i % 2 ? -1 : 1) + 0.1 * i);
    a.key_weights.push_back(0.3 * i - 1.1);
  }
  for (DType dtype : {DType::F64, DType::F32}) {
    const auto bytes = trained_model_file_bytes(a, dtype, {}, "t.st");
    const SafetensorsFile f = parse_safetensors("t.st", bytes.data(), bytes.size());
    const QsaTableModel m = qsa_table_model_from("t.st", f);
    REQUIRE(m.query_table.rows() == binomial(5, 2));
    std::vector<int> S(2);
    for (std::uint64_t r = 0; r < binomial(5, 2); ++r) {
      unrank_subset(r, 5, 2, S.data());  // independent of the exporter's enumeration
      for (int c = 0; c < a.k; ++c) {
        const double sum = (a.query_weights[c * 5 + S[0]] + a.query_weights[c * 5 + S[1]]) * a.scale;
        const double want = dtype == DType::F64 ? sum : static_cast<double>(static_cast<float>(sum));
        CHECK(m.query_table(r, c) == Rational(want));
      }
    }
    for (int j = 0; j < 5; ++j)
      for (int c = 0; c < a.k; ++c) {
        const double key = a.key_weights[c * 5 + j];
        CHECK(m.key_table(j, c) == Rational(dtype == DType::F64 ? key : static_cast<double>(static_cast<float>(key))));
      }
    CHECK(qsa_certifiable_structure_problem(m, false).empty());
  }
}

TEST_CASE("learn: two runs with one thread and the same seed give identical numbers", "[learn]") {
  if (!learning_available()) {
    WARN("no LibTorch in this build");
    return;
  }
  for (LearnFamily f : {LearnFamily::Attention, LearnFamily::FullyConnected, LearnFamily::Lstm}) {
    QsaLearnConfig c = tiny_attention(3);
    c.family = f;
    c.width = 16, c.hidden = 8;
    c.float64 = f == LearnFamily::Attention;
    INFO(learn_family_name(f));
    const QsaLearnResult r1 = train_qsa(c), r2 = train_qsa(c);
    REQUIRE(r1.history.size() == 3);
    REQUIRE(r2.history.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
      CHECK(r1.history[e].train_loss == r2.history[e].train_loss);
      CHECK(r1.history[e].validation_loss == r2.history[e].validation_loss);
    }
    CHECK(r1.test_mean_error == r2.test_mean_error);
    CHECK(r1.test_max_error == r2.test_max_error);
    if (f == LearnFamily::Attention) {
      REQUIRE(r1.attention);
      CHECK(r1.attention->query_weights == r2.attention->query_weights);
      CHECK(r1.attention->key_weights == r2.attention->key_weights);
    }
    c.seed = 8;
    CHECK(train_qsa(c).test_mean_error != r1.test_mean_error);
  }
}

TEST_CASE("learn: the test error of a trained unit is the double forward pass of its exported table", "[learn]") {
  if (!learning_available()) return;
  QsaLearnConfig c = tiny_attention(40);
  const QsaLearnResult r = train_qsa(c);
  REQUIRE(r.attention);
  const QsaTableModel m = trained_attention_model(*r.attention);
  const QsaSamples test = draw_qsa_samples(c.N, c.q, c.d, c.test, c.sphere, c.seed, 2);
  double sum = 0, mx = 0;
  for (std::int64_t b = 0; b < c.test; ++b) {
    std::vector<double> z(test.z.begin() + b * c.N * c.d, test.z.begin() + (b + 1) * c.N * c.d);
    std::vector<std::vector<int>> y(c.N);
    for (int i = 0; i < c.N; ++i) y[i].assign(test.y.begin() + (b * c.N + i) * c.q, test.y.begin() + (b * c.N + i + 1) * c.q);
    for (double e : table_token_errors(m, z, y)) sum += e, mx = std::max(mx, e);
  }
  CHECK(sum / (c.test * c.N) == Approx(r.test_mean_error).epsilon(1e-9));
  CHECK(mx == Approx(r.test_max_error).epsilon(1e-9));
  // Attention rows of the pattern are the table's rows.
  REQUIRE(!r.pattern.empty());
  const auto row = table_attention_row(m, r.pattern[0].subset);
  for (int j = 0; j < c.N; ++j) CHECK(row[j] == Approx(r.pattern[0].weights[j]).margin(1e-12));
}

TEST_CASE("learn: a trained unit's file is certified, and its certified worst case bounds the test error", "[learn]") {
  if (!learning_available()) return;
  const QsaLearnResult r = train_qsa(tiny_attention(150));
  REQUIRE(r.attention);
  const auto bytes = trained_model_file_bytes(*r.attention, DType::F64, {{"construction", "trained"}}, "trained.st");
  CertifyOptions co;
  co.eps = Rational(1, 2);
  co.p_max = 16;
  const TrainedCertification c = certify_trained_model(bytes, "trained.st", co);
  CHECK(c.check.cases == binomial(4, 2));
  REQUIRE(c.check.verdict == Verdict::Holds);
  REQUIRE(!c.check.witness_signs.empty());
  // The supremum over every input is at least every sampled error.
  CHECK(Rational(r.test_max_error) <= c.check.worst_upper);
  CHECK(c.check.worst_lower <= c.check.worst_upper);
  CHECK(c.check.worst_lower > 0);
  // The worst input z_j = sign_j e_1 with y_i = S attains it: the independent forward pass agrees.
  const QsaTableModel m = trained_attention_model(*r.attention);
  const QsaInput x = qsa_witness_input(4, 1, c.check.witness_S, c.check.witness_signs);
  std::vector<double> z;
  for (const auto& v : x.z.data()) z.push_back(v.get_d());
  const double e = table_token_errors(m, z, x.y)[0];
  CHECK(e >= nearest_double(c.check.worst_lower) - 1e-12);
  CHECK(e <= nearest_double(c.check.worst_upper) + 1e-12);
  REQUIRE(c.min_p_embed);
  REQUIRE(c.min_p_arith);
  CHECK(c.min_p_embed->table.size() == 15);
}

TEST_CASE("learn: an under-trained unit fails with a verified witness whose error exceeds eps", "[learn]") {
  if (!learning_available()) return;
  QsaLearnConfig cfg = tiny_attention(1, 1e-4);
  const QsaLearnResult r = train_qsa(cfg);
  REQUIRE(r.attention);
  const auto bytes = trained_model_file_bytes(*r.attention, DType::F32, {}, "raw.st");
  CertifyOptions co;
  co.eps = Rational(1, 100);
  co.min_p = false;
  const TrainedCertification c = certify_trained_model(bytes, "raw.st", co);
  REQUIRE(c.check.verdict == Verdict::Fails);
  CHECK(c.check.witness_verified);
  REQUIRE(c.check.forward_error_lower);
  CHECK(*c.check.forward_error_lower > co.eps);
  REQUIRE(c.witness_error_double);
  CHECK(*c.witness_error_double > 0.01);
  CHECK(*c.witness_error_double <= nearest_double(c.check.worst_upper) + 1e-12);
  CHECK(*c.witness_error_double >= nearest_double(*c.check.forward_error_lower) - 1e-12);
}

TEST_CASE("learn: a stop request interrupts training and returns nothing", "[learn]") {
  if (!learning_available()) return;
  std::atomic<bool> stop{true};
  CHECK_THROWS_AS(train_qsa(tiny_attention(5), &stop), LearningInterrupted);
}

TEST_CASE("learn: configuration errors name the field", "[learn]") {
  auto field_of = [](QsaLearnConfig c) -> std::string {
    try {
      c.validate();
    } catch (const ConfigError& e) {
      return e.field();
    }
    return "";
  };
  QsaLearnConfig c = tiny_attention(1);
  CHECK(field_of(c).empty());
  c.N = 1;
  CHECK(field_of(c) == "N");
  c = tiny_attention(1);
  c.q = 5;
  CHECK(field_of(c) == "q");
  c = tiny_attention(1);
  c.samples = 0;
  CHECK(field_of(c) == "samples");
  c = tiny_attention(1);
  c.lr = 0;
  CHECK(field_of(c) == "lr");
  c.lr = std::nan("");
  CHECK(field_of(c) == "lr");
  CHECK_THROWS_AS(learn_family_of("rnn"), ConfigError);
}

TEST_CASE("learn: bad input exits 2 with one line", "[learn][cli]") {
  TempDir tmp("attnbounds-learn-");
  const std::string out = (tmp.dir / "run").string();
  struct Case {
    std::string args, fragment;
  };
  const std::vector<Case> cases = {
      {"learn qsa --N 1", "--N"},
      {"learn qsa --N 4 --q 5", "--q"},
      {"learn qsa --samples 0", "--samples"},
      {"learn qsa --lr 0", "--lr"},
      {"learn qsa --lr -1", "--lr"},
      {"learn qsa --family rnn", "--family"},
      {"learn qsa --N 4 --out /nonexistent-dir/sub/run", "--out"},
      {"learn qsa-sweep --families attention,rnn", "--families"},
      {"learn qsa-sweep --N 1,4", "--N"},
      {"learn qsa-sweep --samples 0,10", "--samples"},
      {"learn qsa --model-dtype F16", "--model-dtype"},
  };
  for (const auto& k : cases) {
    const auto r = run_attnbounds(k.args, 120, true);
    INFO(k.args << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    // Without LibTorch, options checked after the flag parser are answered by the missing
    // component first (the sanitizer builds have no Torch).
    const bool named = r.err.find(k.fragment) != std::string::npos;
    CHECK((named || (!learning_available() && r.err.find("no LibTorch") != std::string::npos)));
    CHECK(r.out.empty());
  }
  CHECK(!std::filesystem::exists(out));
}

TEST_CASE("learn qsa writes a certified model file that check qsa --model certifies the same way", "[learn][cli]") {
  if (!learning_available()) return;
  TempDir tmp("attnbounds-learn-");
  const std::string out = (tmp.dir / "run").string();
  const auto r = run_attnbounds("learn qsa --N 4 --q 2 --d 1 --samples 128 --validation 64 --test 128 --epochs 60 "
                                "--batch 32 --lr 0.05 --seed 3 --eps 0.5 --p-max 12 --out " + out + " --json", 300, true);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["certification"]["verdict"] == "holds");
  CHECK(j["certification"]["test_max_within_certified"] == true);
  const auto file = nlohmann::json::parse(attnbounds_test::slurp(std::filesystem::path(out) / "result.json"));
  CHECK(file["test_mean_error"] == j["test_mean_error"]);
  const auto c = run_attnbounds("check qsa --model " + out + "/model.safetensors --eps 0.5 --json", 120, true);
  REQUIRE(c.status == 0);
  const auto cj = nlohmann::json::parse(c.out);
  CHECK(cj["worst"] == j["certification"]["worst"]);
  CHECK(cj["cases"] == j["certification"]["cases"]);
}

TEST_CASE("sample-complexity statistics: median of odd and even counts, log-log slope of a power law", "[learn]") {
  CHECK_FALSE(median({}).has_value());
  CHECK(*median({5, 1, 3}) == 3);
  CHECK(*median({4, 1, 3, 2}) == 2.5);  // not the upper middle value 3
  CHECK(*median({300, 1000}) == 650);
  // y = 7 x^1.5 exactly on four points: slope 1.5.
  std::vector<std::pair<double, double>> pts;
  for (double x : {4.0, 8.0, 16.0, 32.0}) pts.emplace_back(x, 7 * std::pow(x, 1.5));
  REQUIRE(loglog_slope(pts).has_value());
  CHECK(*loglog_slope(pts) == Approx(1.5).epsilon(1e-12));
  CHECK_FALSE(loglog_slope({{4.0, 10.0}}).has_value());
  CHECK_FALSE(loglog_slope({{4.0, 10.0}, {4.0, 20.0}}).has_value());  // one distinct x
}
