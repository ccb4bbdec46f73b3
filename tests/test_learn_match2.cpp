// Learning Match2 with one position-free attention unit (src/learn/match2_learning.*,
// `attnbounds learn match2`): the balanced seeded data, the double forward pass, reproducible
// training, the certification of a trained file against a forward pass on every input, a
// failing under-trained unit with a verified witness, and bad input.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "learn/match2_learning.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;
using attnbounds_test::run_attnbounds;
using attnbounds_test::TempDir;

namespace {

Match2LearnConfig tiny_match2(int epochs, std::int64_t samples) {
  Match2LearnConfig c;
  c.N = 4, c.M = 8;
  c.samples = samples, c.validation = 200, c.test = 500;
  c.epochs = epochs, c.patience = 1000;
  c.seed = 3;
  c.threads = 1;
  return c;
}

// Every input of [M]^N through the double forward pass: the number of wrong tokens.
std::int64_t wrong_tokens_everywhere(const Match2TableModel& m) {
  std::vector<int> x(m.N, 0);
  std::int64_t wrong = 0;
  while (true) {
    const std::vector<int> dec = match2_table_decisions_double(m, x);
    const std::vector<std::uint8_t> truth = match2(x, m.M);
    for (int i = 0; i < m.N; ++i) wrong += dec[i] != truth[i];
    int p = 0;
    while (p < m.N && ++x[p] == m.M) x[p++] = 0;
    if (p == m.N) break;
  }
  return wrong;
}

int line_count(const std::string& s) {
  int n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}

}  // namespace

TEST_CASE("learn match2: seeded samples are reproducible, labelled by Match2, and hold both classes", "[learn]") {
  const Match2Samples a = draw_match2_samples(4, 8, 300, 5, 0);
  const Match2Samples b = draw_match2_samples(4, 8, 300, 5, 0);
  const Match2Samples other = draw_match2_samples(4, 8, 300, 5, 1);
  CHECK(a.x == b.x);
  CHECK(a.x != other.x);
  for (std::int64_t s = 0; s < a.count; ++s) {
    const std::vector<int> x(a.x.begin() + s * 4, a.x.begin() + (s + 1) * 4);
    for (int v : x) CHECK((v >= 0 && v < 8));
    const std::vector<std::uint8_t> l(a.label.begin() + s * 4, a.label.begin() + (s + 1) * 4);
    CHECK(l == match2(x, 8));
  }
  // Uniform inputs at N = 8, M = 64 are mostly unmatched (a token is matched with probability
  // about 1 − (63/64)^7 + 1/32 ≈ 0.13); the planted half lifts the matched share well above that.
  const Match2Samples sparse = draw_match2_samples(8, 64, 2000, 5, 0);
  CHECK(sparse.matched_fraction() > 0.2);
  CHECK(sparse.matched_fraction() < 0.5);
  CHECK(a.matched_fraction() > 0.3);
  CHECK(a.matched_fraction() < 0.8);
}

TEST_CASE("learn match2: the double forward pass decides the toolkit's construction right on every input", "[learn]") {
  // The construction holds (check match2); its double forward pass must agree with Match2 on all
  // 8^4 inputs, and its negative twin (query sign flipped) must not.
  const Match2TableModel good = match2_table_model_of_construction(4, 8, Rational(40), false);
  CHECK(wrong_tokens_everywhere(good) == 0);
  const Match2TableModel twin = match2_table_model_of_construction(4, 8, Rational(40), true);
  CHECK(wrong_tokens_everywhere(twin) > 0);
}

TEST_CASE("learn match2: a trained unit is exported exactly", "[learn]") {
  TrainedMatch2 u;
  u.N = 3, u.M = 4, u.k = 1, u.d = 2;
  u.query = {0.1, -0.2, 0.3, 1e-300};
  u.key = {1, 2, 3, 4};
  u.value = {0.5, 0.25, 0.125, 1.0 / 3, 0, -1, 2, 3};
  u.residual = {1, 0, 0, 1, 1, 1, -1, 0};
  u.threshold = 0.7;
  const std::vector<unsigned char> bytes = trained_match2_file_bytes(u, {{"params", "{}"}}, "t.safetensors");
  const Match2TableModel m = match2_table_model_from("t.safetensors", parse_safetensors("t.safetensors", bytes.data(), bytes.size()));
  REQUIRE(m.query.size() == 4);
  CHECK(nearest_double(m.query[3]) == 1e-300);
  CHECK(m.value[3] == ExactReal(Rational(1.0 / 3)));
  CHECK(m.threshold == ExactReal(Rational(0.7)));
  CHECK(m.psi == Match2TableModel::Psi::Norm);
  CHECK(m.matched_below);
  CHECK(m.has_residual());
  CHECK(!m.positional());
}

TEST_CASE("learn match2: two runs with one thread and the same seed give identical units", "[learn]") {
  if (!learning_available()) return;
  const Match2LearnConfig c = tiny_match2(5, 200);
  const Match2LearnResult a = train_match2(c), b = train_match2(c);
  CHECK(a.unit.query == b.unit.query);
  CHECK(a.unit.key == b.unit.key);
  CHECK(a.unit.value == b.unit.value);
  CHECK(a.unit.residual == b.unit.residual);
  CHECK(a.unit.threshold == b.unit.threshold);
  REQUIRE(a.history.size() == b.history.size());
  CHECK(a.history.back().train_loss == b.history.back().train_loss);
}

TEST_CASE("learn match2: a trained unit's certified verdict agrees with a forward pass on every input", "[learn]") {
  if (!learning_available()) return;
  // The defaults of `learn match2` (N = 4, M = 8, k = d = 4, residual, 2000 samples), seed 1.
  Match2LearnConfig cfg;
  cfg.seed = 1;
  const Match2LearnResult r = train_match2(cfg);
  const std::vector<unsigned char> bytes = trained_match2_file_bytes(r.unit, {}, "trained.safetensors");
  const Match2Certification c = certify_match2_model_bytes(bytes, "trained.safetensors", 1);
  const Match2TableModel m = trained_match2_model(r.unit);
  const std::int64_t wrong = wrong_tokens_everywhere(m);
  INFO("verdict " << to_string(c.check.verdict) << ", wrong tokens " << wrong);
  REQUIRE(c.check.sweep.worst);
  CHECK(c.check.sweep.cases == 8 * 120);  // M·C(M+N−2, N−1) = 8·C(10, 3)
  // Away from a tie, the double pass and the certified check must see the same thing.
  if (c.check.sweep.worst->lower > 1e-9 || c.check.sweep.worst->upper < -1e-9) {
    if (c.check.verdict == Verdict::Holds) CHECK(wrong == 0);
    else CHECK(wrong > 0);
  }
  if (c.check.verdict == Verdict::Holds) {
    CHECK(c.check.sweep.worst->lower > 0);
    CHECK(match2_test_error(m, draw_match2_samples(4, 8, 2000, 1, 2)).wrong_tokens == 0);
  }
  // These settings learn Match2 at N = 4, M = 8 (observed: holds, worst margin about 0.30).
  CHECK(c.check.verdict == Verdict::Holds);
}

TEST_CASE("learn match2: an under-trained unit fails with a witness that is wrong in a forward pass", "[learn]") {
  if (!learning_available()) return;
  const Match2LearnResult r = train_match2(tiny_match2(1, 16));
  const std::vector<unsigned char> bytes = trained_match2_file_bytes(r.unit, {}, "raw.safetensors");
  const Match2Certification c = certify_match2_model_bytes(bytes, "raw.safetensors", 1);
  REQUIRE(c.check.verdict == Verdict::Fails);
  REQUIRE(c.check.sweep.worst);
  REQUIRE(c.check.sweep.worst->check);
  CHECK(c.check.sweep.worst->check->confirmed);
  CHECK(c.check.sweep.worst->upper < 0);
  REQUIRE(c.witness_wrong_double);
  CHECK(*c.witness_wrong_double);
  // The witness, independently: the double pass disagrees with Match2 on that token.
  const MatchCaseWitness& w = c.check.sweep.worst->witness;
  const Match2TableModel m = trained_match2_model(r.unit);
  CHECK(match2_table_decisions_double(m, w.x)[w.token] != match2(w.x, 8)[w.token]);
  CHECK(wrong_tokens_everywhere(m) > 0);
}

TEST_CASE("learn match2: configuration errors name the field", "[learn]") {
  auto field_of = [](Match2LearnConfig c) {
    try {
      c.validate();
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  Match2LearnConfig c;
  CHECK(field_of(c).empty());
  c.N = 1;
  CHECK(field_of(c) == "N");
  c = {};
  c.M = 1;
  CHECK(field_of(c) == "M");
  c = {};
  c.samples = 0;
  CHECK(field_of(c) == "samples");
  c = {};
  c.lr = 0;
  CHECK(field_of(c) == "lr");
  c.lr = -0.5;
  CHECK(field_of(c) == "lr");
  c = {};
  c.k = 17;
  CHECK(field_of(c) == "k");
}

TEST_CASE("learn match2: bad input exits 2 with one line", "[learn][cli]") {
  struct Case {
    std::string args, fragment;
  };
  const std::vector<Case> cases = {
      {"learn match2 --N 1", "--N"},         {"learn match2 --M 1", "--M"},
      {"learn match2 --samples 0", "--samples"}, {"learn match2 --lr 0", "--lr"},
      {"learn match2 --lr -1", "--lr"},      {"learn match2 --m 17", "--m"},
      {"learn match2 --out /nonexistent-dir/sub/run", "--out"},
  };
  for (const auto& k : cases) {
    const auto r = run_attnbounds(k.args, 120, true);
    INFO(k.args << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    // A build without LibTorch may refuse before it looks at the value (the sanitizer builds).
    CHECK((r.err.find(k.fragment) != std::string::npos ||
           (!learning_available() && r.err.find("no LibTorch") != std::string::npos)));
    CHECK(r.out.empty());
  }
}

TEST_CASE("learn match2 writes a model file that check match2 --model certifies the same way", "[learn][cli]") {
  if (!learning_available()) return;
  TempDir tmp("attnbounds-learn-match2-");
  const std::string out = (tmp.dir / "run").string();
  const auto r = run_attnbounds("learn match2 --N 4 --M 8 --samples 200 --epochs 3 --seed 2 --out " + out + " --json", 300, true);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto c = run_attnbounds("check match2 --model " + out + "/model.safetensors --json", 120, true);
  const auto cj = nlohmann::json::parse(c.out);
  CHECK(cj["verdict"] == j["certification"]["verdict"]);
  CHECK(cj["cases"] == j["certification"]["cases"]);
  CHECK(cj["worst"]["value"] == j["certification"]["worst"]["value"]);
  CHECK(cj["worst"]["witness"]["x"] == j["certification"]["worst"]["witness"]["x"]);
  CHECK(c.status == (cj["verdict"] == "holds" ? 0 : 1));
  const auto file = nlohmann::json::parse(attnbounds_test::slurp(std::filesystem::path(out) / "result.json"));
  CHECK(file["test"] == j["test"]);
}
