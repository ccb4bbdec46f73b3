// Model files of class attention-unit (the general unit: MLP φ and ψ, several heads, residual):
// the activations' enclosures, the reader, and the exhaustive Match2/Match3 check, compared with
// an independent long-double forward pass written here and with the built-in Match2 check.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "core/size_limit_error.hpp"
#include "modelfile/attention_unit_model.hpp"
#include "numeric/activation.hpp"
#include "numeric/mpfr_real.hpp"
#include "proofs/match2_trig.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;

namespace {

AttentionUnitModel reread(const AttentionUnitModel& m, const ModelWriteOptions& o = {}) {
  const std::vector<unsigned char> bytes = serialize_safetensors(attention_unit_model_file(m, o));
  return attention_unit_model_from("u.st", parse_safetensors("u.st", bytes.data(), bytes.size()));
}

// Entries k/8 with |k| <= 16: exact in binary, so the long-double pass below starts from the
// same reals the checker does.
LinearMap random_linear(std::mt19937& g, int in, int out, bool bias) {
  std::uniform_int_distribution<int> k(-16, 16);
  LinearMap l;
  l.in = in;
  l.out = out;
  for (int i = 0; i < in * out; ++i) l.weight.push_back(ExactReal(Rational(k(g), 8)));
  if (bias)
    for (int i = 0; i < out; ++i) l.bias.push_back(ExactReal(Rational(k(g), 8)));
  return l;
}

struct Shape {
  int N, M;
  bool positional;
  Activation act;
  int heads, phi_layers, psi_layers;
  bool residual, psi_norm;
};

AttentionUnitModel random_unit(std::mt19937& g, const Shape& s) {
  AttentionUnitModel m;
  m.N = s.N;
  m.M = s.M;
  m.positional_input = s.positional;
  m.activation = s.act;
  int width = s.M + (s.positional ? s.N : 0);
  for (int l = 0; l < s.phi_layers; ++l) {
    const int out = l + 1 == s.phi_layers ? 3 : 4;
    m.phi.push_back(random_linear(g, width, out, l > 0 || s.positional));
    width = out;
  }
  for (int h = 0; h < s.heads; ++h)
    m.heads.push_back({random_linear(g, width, 2, h == 1), random_linear(g, width, 2, false), random_linear(g, width, 2, h == 0)});
  if (s.residual) m.residual = random_linear(g, width, 2, true);
  if (s.psi_norm) {
    m.psi = AttentionUnitModel::Psi::Norm;
    m.threshold = ExactReal(Rational(3, 2));
    m.matched_below = true;
  } else {
    int w = 2;
    for (int l = 0; l < s.psi_layers; ++l) {
      const int out = l + 1 == s.psi_layers ? 1 : 3;
      m.psi_mlp.push_back(random_linear(g, w, out, true));
      w = out;
    }
  }
  return reread(m);
}

long double value(const ExactReal& x) { return static_cast<long double>(nearest_double(x)); }

// The unit's statistic for token i, in long double, straight from the definition.
long double naive_statistic(const AttentionUnitModel& m, const std::vector<int>& x, int i) {
  const int N = m.N;
  auto act = [&](long double v) {
    return m.activation == Activation::Relu ? std::max(v, 0.0L) : v * 0.5L * (1 + std::erf(v / std::sqrt(2.0L)));
  };
  auto apply = [&](const LinearMap& l, const std::vector<long double>& in) {
    std::vector<long double> out(l.out);
    for (int o = 0; o < l.out; ++o) {
      long double acc = l.bias.empty() ? 0 : value(l.bias[o]);
      for (int c = 0; c < l.in; ++c) acc += value(l.weight[o * l.in + c]) * in[c];
      out[o] = acc;
    }
    return out;
  };
  std::vector<std::vector<long double>> phi(N);
  for (int j = 0; j < N; ++j) {
    std::vector<long double> f(m.phi.front().in, 0);
    f[x[j]] = 1;
    if (m.positional_input) f[m.M + j] = 1;
    for (std::size_t l = 0; l < m.phi.size(); ++l) {
      f = apply(m.phi[l], f);
      if (l + 1 < m.phi.size())
        for (auto& v : f) v = act(v);
    }
    phi[j] = f;
  }
  std::vector<long double> out(m.d(), 0);
  if (m.residual) out = apply(*m.residual, phi[i]);
  for (const auto& h : m.heads) {
    const auto q = apply(h.query, phi[i]);
    std::vector<long double> s(N);
    for (int j = 0; j < N; ++j) {
      const auto k = apply(h.key, phi[j]);
      s[j] = 0;
      for (std::size_t c = 0; c < k.size(); ++c) s[j] += q[c] * k[c];
    }
    const long double top = *std::max_element(s.begin(), s.end());
    long double den = 0;
    for (int j = 0; j < N; ++j) den += std::exp(s[j] - top);
    for (int j = 0; j < N; ++j) {
      const auto v = apply(h.value, phi[j]);
      for (int c = 0; c < m.d(); ++c) out[c] += std::exp(s[j] - top) / den * v[c];
    }
  }
  if (m.psi == AttentionUnitModel::Psi::Norm) {
    long double n2 = 0;
    for (auto v : out) n2 += v * v;
    return std::sqrt(n2);
  }
  std::vector<long double> y = out;
  for (std::size_t l = 0; l < m.psi_mlp.size(); ++l) {
    y = apply(m.psi_mlp[l], y);
    if (l + 1 < m.psi_mlp.size())
      for (auto& v : y) v = act(v);
  }
  return y[0];
}

// ψ's room for token i: > 0 when ψ is right.
long double naive_room(const AttentionUnitModel& m, MatchTask task, const std::vector<int>& x, int i) {
  const bool truth = (task == MatchTask::Match2 ? match2(x, m.M) : match3(x, m.M))[i] != 0;
  const long double s = naive_statistic(m, x, i);
  if (m.psi == AttentionUnitModel::Psi::Mlp) return truth ? s : -s;
  const long double tau = value(m.threshold);
  return truth == m.matched_below ? tau - s : s - tau;
}

// Every input the check enumerates: sorted inputs when position-free, else every tuple.
template <class F>
void for_each_input(const AttentionUnitModel& m, F&& f) {
  std::vector<int> x(m.N, 0);
  while (true) {
    if (m.positional() || std::is_sorted(x.begin(), x.end())) f(x);
    int p = m.N - 1;
    while (p >= 0 && x[p] == m.M - 1) x[p--] = 0;
    if (p < 0) return;
    ++x[p];
  }
}

std::string temp_path(const std::string& stem) { return "/tmp/attnbounds_test_" + std::to_string(::getpid()) + "_" + stem; }

}  // namespace

TEST_CASE("activations: GELU and ReLU enclosures contain the function, tightly", "[modelfile][unit][numeric]") {
  for (double x : {-6.0, -2.0, -0.7517916, -0.75, -0.76, -0.1, 0.0, 1e-20, 0.3, 1.5, 5.0}) {
    INFO("x = " << x);
    const Interval at128 = gelu(Interval(x, 128)), at228 = gelu(Interval(x, 228));
    // Containment at +100 bits and width near the working precision.
    CHECK(at128.overlaps(at228));
    CHECK(at228.width_double() <= at128.width_double());
    CHECK(at128.width_double() < std::ldexp(1.0, -110) * std::max(1.0, std::fabs(x)));
    const long double plain = x * 0.5L * (1 + std::erf(x / std::sqrt(2.0L)));
    CHECK(std::fabs(static_cast<double>(plain) - at128.mid_double()) < 1e-15);
    const DInterval d = gelu(DInterval(x));
    CHECK(d.lower() <= at128.upper_double());
    CHECK(d.upper() >= at128.lower_double());
  }
  // Intervals: every sampled point's value lies inside; around the minimiser the enclosure is
  // still tight for a thin interval (tangent bounds of the convex part).
  for (auto [a, b] : {std::pair{-3.0, -1.0}, std::pair{-1.0, -0.5}, std::pair{-0.6, 2.0}, std::pair{-0.8, -0.7},
                      std::pair{-0.7518, -0.7517}, std::pair{-5.0, 3.0}}) {
    Interval x(Rational(a), Rational(b), 128);
    x = Interval(0L, 128) + x;
    mpfi_interv_d(x.get(), a, b);
    const Interval g = gelu(x);
    for (int k = 0; k <= 64; ++k) {
      const double p = a + (b - a) * k / 64;
      CHECK(g.overlaps(gelu(Interval(p, 128))));
    }
    CHECK(g.lower_double() >= -0.17);
    if (b - a < 0.01) CHECK(g.width_double() < 1e-7);
  }
  CHECK(relu(Interval(-2.0, 64)).upper_double() == 0);
  CHECK(relu(DInterval(-1.0, 2.0)).lower() == 0);
  CHECK(relu(DInterval(-1.0, 2.0)).upper() == 2);
}

TEST_CASE("attention-unit: the reader keeps every entry and refuses bad files naming the field", "[modelfile][unit]") {
  std::mt19937 g(7);
  const AttentionUnitModel m = random_unit(g, {3, 3, true, Activation::Gelu, 2, 2, 2, true, false});
  const AttentionUnitModel back = reread(m);
  REQUIRE(back.phi.size() == 2);
  CHECK(back.phi[1].weight == m.phi[1].weight);
  CHECK(back.heads[1].query.bias == m.heads[1].query.bias);
  CHECK(back.residual->weight == m.residual->weight);
  CHECK(back.psi_mlp[1].bias == m.psi_mlp[1].bias);
  CHECK(back.activation == Activation::Gelu);
  // A float32 file stores each entry's nearest float32 (k/8 is exact there).
  const AttentionUnitModel f32 = reread(m, ModelWriteOptions{false, DType::F32});
  CHECK(f32.phi[0].weight == m.phi[0].weight);
  CHECK(f32.dtypes.find("F32") != std::string::npos);

  const SafetensorsFile good = attention_unit_model_file(m);
  auto refused = [&](auto&& mutate, const std::string& field) {
    SafetensorsFile f = good;
    mutate(f);
    const auto bytes = serialize_safetensors(f);
    try {
      attention_unit_model_from("bad.st", parse_safetensors("bad.st", bytes.data(), bytes.size()));
      FAIL("accepted a file that should name " << field);
    } catch (const ModelFileError& e) {
      CHECK(e.field() == field);
    }
  };
  refused([](SafetensorsFile& f) { f.tensors.erase("phi.0.weight"); f.tensors.erase("phi.0.weight.exact"); }, "tensor 'phi.0.weight'");
  // A gap names the missing layer: phi.3 without phi.2, psi.1's bias without its weight.
  refused([](SafetensorsFile& f) { f.tensors["phi.3.weight"] = f.tensors.at("phi.1.weight"); }, "tensor 'phi.2.weight'");
  refused([](SafetensorsFile& f) { f.tensors.erase("psi.1.weight"); f.tensors.erase("psi.1.weight.exact"); }, "tensor 'psi.1.weight'");
  refused([](SafetensorsFile& f) { f.tensors.erase("phi.0.weight"); f.tensors.erase("phi.0.weight.exact"); }, "tensor 'phi.0.weight'");
  refused([](SafetensorsFile& f) { f.metadata["heads"] = "3"; }, "tensor 'head.2.query.weight'");
  refused([](SafetensorsFile& f) { f.metadata["heads"] = "9"; }, "__metadata__.heads");
  refused([](SafetensorsFile& f) { f.metadata["phi_input"] = "token"; }, "tensor 'phi.0.weight'.shape");
  refused([](SafetensorsFile& f) { f.metadata["phi_input"] = "tokens"; }, "__metadata__.phi_input");
  refused([](SafetensorsFile& f) { f.metadata.erase("activation"); }, "__metadata__.activation");
  refused([](SafetensorsFile& f) { f.metadata["residual"] = "false"; }, "tensor 'residual.bias'");  // first unknown tensor
  refused([](SafetensorsFile& f) { f.metadata["psi_matched"] = "below"; }, "__metadata__.psi_matched");
  refused([](SafetensorsFile& f) { f.metadata["psi"] = "norm"; f.metadata["psi_matched"] = "below"; }, "tensor 'psi_threshold'");
  refused([](SafetensorsFile& f) { f.tensors["head.1.value.weight"] = f.tensors.at("head.1.query.weight");
                                   f.tensors["head.1.value.weight"].shape = {1, 6};
                                   f.tensors["head.1.value.weight"].bytes.resize(6 * 8);
                                   f.tensors.erase("head.1.value.weight.exact"); }, "tensor 'head.1.value.weight'.shape");
  refused([](SafetensorsFile& f) { f.metadata["class"] = "match2-table"; }, "__metadata__.class");
  refused([](SafetensorsFile& f) { f.metadata["M"] = "4097"; }, "__metadata__.M");
}

TEST_CASE("attention-unit: bounded mutation run over a written file never crashes or misreads", "[modelfile][unit]") {
  std::mt19937 g(3);
  const AttentionUnitModel m = random_unit(g, {3, 3, true, Activation::Relu, 2, 2, 2, true, false});
  const std::vector<unsigned char> good = serialize_safetensors(attention_unit_model_file(m, ModelWriteOptions{false, DType::F32}));
  std::uniform_int_distribution<std::size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<unsigned char> b = good;
    for (int k = 0; k < 1 + trial % 4; ++k) b[pos(g)] = static_cast<unsigned char>(byte(g));
    try {
      const AttentionUnitModel r = attention_unit_model_from("mut.st", parse_safetensors("mut.st", b.data(), b.size()));
      ++accepted;
      // Whatever was accepted is a consistent model.
      REQUIRE(r.phi.front().weight.size() == static_cast<std::size_t>(r.phi.front().in) * r.phi.front().out);
      for (const auto& h : r.heads) REQUIRE(h.value.out == r.d());
    } catch (const ModelFileError&) {
    }
  }
  CHECK(accepted > 0);  // mutations inside the data region keep the file valid
}

TEST_CASE("attention-unit: eval encloses an independent long-double forward pass", "[modelfile][unit]") {
  std::mt19937 g(11);
  const Shape shapes[] = {
      {3, 3, false, Activation::Relu, 1, 1, 1, false, false},
      {3, 3, true, Activation::Relu, 2, 2, 2, true, false},
      {3, 4, true, Activation::Gelu, 2, 2, 1, true, true},
      {4, 2, false, Activation::Gelu, 3, 3, 2, false, false},
  };
  for (const auto& s : shapes) {
    const AttentionUnitModel m = random_unit(g, s);
    for_each_input(m, [&](const std::vector<int>& x) {
      const MatchEvalResult r = eval_attention_unit(m, MatchTask::Match2, Semantics{}, x);
      for (int i = 0; i < m.N; ++i) {
        const long double want = naive_statistic(m, x, i);
        const Interval& got = r.tokens[i].stat;
        INFO("token " << i << " naive " << static_cast<double>(want) << " enclosure " << got.to_string());
        CHECK(got.lower_double() - 1e-12 <= static_cast<double>(want));
        CHECK(static_cast<double>(want) <= got.upper_double() + 1e-12);
        CHECK(got.width_double() < 1e-20);
        const long double room = naive_room(m, MatchTask::Match2, x, i);
        if (std::fabs(room) > 1e-9) CHECK((r.tokens[i].model == r.tokens[i].truth) == (room > 0));
      }
    });
  }
}

TEST_CASE("attention-unit: the check's verdict, failures and worst room equal the independent pass", "[modelfile][unit]") {
  std::mt19937 g(23);
  const Shape shapes[] = {
      {3, 3, false, Activation::Relu, 1, 1, 1, false, false},
      {3, 3, true, Activation::Relu, 2, 2, 2, true, false},
      {4, 3, false, Activation::Gelu, 2, 2, 2, true, false},
      {3, 4, true, Activation::Gelu, 1, 1, 1, true, true},
  };
  int compared = 0;
  for (MatchTask task : {MatchTask::Match2, MatchTask::Match3}) {
    for (const auto& s : shapes) {
      const AttentionUnitModel m = random_unit(g, s);
      std::uint64_t wrong = 0;
      long double worst = 1e300;
      bool tiny = false;
      for_each_input(m, [&](const std::vector<int>& x) {
        for (int i = 0; i < m.N; ++i) {
          const long double room = naive_room(m, task, x, i);
          wrong += room <= 0;
          worst = std::min(worst, room);
          tiny = tiny || std::fabs(room) < 1e-9;
        }
      });
      if (tiny) continue;  // the long-double pass cannot decide that model
      ++compared;
      for (unsigned threads : {1u, 3u}) {
        const AttentionUnitCheckResult r = check_attention_unit(m, task, Semantics{}, threads, false);
        INFO("task " << match_task_name(task) << " N " << s.N << " M " << s.M << " threads " << threads);
        CHECK(r.multisets == !m.positional());
        CHECK(r.sweep.failing == wrong);
        CHECK(r.verdict == (wrong == 0 ? Verdict::Holds : Verdict::Fails));
        REQUIRE(r.sweep.worst.has_value());
        // The smallest room over every token of every input lies in the reported enclosure.
        CHECK(r.sweep.worst->lower - 1e-12 <= static_cast<double>(worst));
        if (wrong == 0) CHECK(static_cast<double>(worst) <= r.sweep.worst->upper + 1e-12);
        if (wrong > 0) {
          REQUIRE(r.sweep.worst->check.has_value());
          CHECK(r.sweep.worst->check->confirmed);
          CHECK(naive_room(m, task, r.sweep.worst->witness.x, r.sweep.worst->witness.token) < 0);
        }
      }
    }
  }
  CHECK(compared >= 6);
}

TEST_CASE("attention-unit: a model that holds, its negative twin, and the multiset reduction", "[modelfile][unit]") {
  // The Match2 construction written in the general class holds; with the query's sine sign
  // flipped it fails with a witness the independent pass confirms.
  for (bool flip : {false, true}) {
    const AttentionUnitModel m = reread(attention_unit_of_match2_construction(4, 6, match2_default_temperature(4, 6), flip));
    const AttentionUnitCheckResult r = check_attention_unit(m, MatchTask::Match2, Semantics{}, 2, false);
    CHECK(r.verdict == (flip ? Verdict::Fails : Verdict::Holds));
    if (flip) CHECK(naive_room(m, MatchTask::Match2, r.sweep.worst->witness.x, r.sweep.worst->witness.token) < 0);
  }
  // phi_input = token+position with zero positional columns is position-free (the multiset
  // reduction); one nonzero positional entry makes it positional (every tuple), and both
  // verdicts agree with the independent pass.
  std::mt19937 g(5);
  AttentionUnitModel m = random_unit(g, {3, 3, true, Activation::Relu, 1, 1, 1, true, false});
  for (int o = 0; o < m.phi[0].out; ++o)
    for (int c = m.M; c < m.phi[0].in; ++c) m.phi[0].weight[o * m.phi[0].in + c] = ExactReal(Rational(0));
  CHECK_FALSE(m.positional());
  CHECK(check_attention_unit(m, MatchTask::Match2, Semantics{}, 2, false).multisets);
  m.phi[0].weight[m.M + 1] = ExactReal(Rational(1, 4));
  CHECK(m.positional());
  const AttentionUnitCheckResult r = check_attention_unit(m, MatchTask::Match2, Semantics{}, 2, false);
  CHECK_FALSE(r.multisets);
  CHECK(r.inputs == 27);
}

TEST_CASE("attention-unit: the Match2 construction checks like the built-in check", "[modelfile][unit]") {
  struct Instance {
    int N, M;
    std::optional<Rational> c;
    bool flip;
    const char* semantics;
  };
  const Instance instances[] = {
      {6, 8, std::nullopt, false, "exact"}, {6, 8, Rational(1), false, "exact"},
      {5, 8, std::nullopt, true, "exact"},  {4, 16, Rational(3), false, "exact"},
  };
  // Only exact semantics is compared: under embed each class rounds its own stored reals (here
  // c and cos θ separately, in match2-table their product), which are different models.
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
    const AttentionUnitModel m = reread(attention_unit_of_match2_construction(in.N, in.M, c, in.flip));
    const AttentionUnitCheckResult r = check_attention_unit(m, MatchTask::Match2, cfg.semantics, 2, false);
    CHECK(r.verdict == built_in.verdict);
    REQUIRE(r.sweep.worst.has_value());
    // Both enclose the same smallest room over [M]^N.
    CHECK(r.sweep.worst->lower <= built_in.sweep.worst->upper);
    CHECK(built_in.sweep.worst->lower <= r.sweep.worst->upper);
    if (r.verdict == Verdict::Fails) CHECK(r.sweep.worst->check->confirmed);
  }
  // arith is refused, naming the semantics; the size guard names the inputs.
  const AttentionUnitModel m = reread(attention_unit_of_match2_construction(6, 8, Rational(1), false));
  CHECK_THROWS_AS(check_attention_unit(m, MatchTask::Match2, parse_semantics("arith:bf16"), 1, false), ConfigError);
  AttentionUnitModel big = m;
  big.N = 40;
  big.M = 64;
  CHECK_THROWS_AS(check_attention_unit(big, MatchTask::Match2, Semantics{}, 1, false), SizeLimitError);
}

TEST_CASE("CLI: export match2 --class attention-unit, check/eval/min-p match2 --model, refusals", "[modelfile][unit][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("unit.st");
  REQUIRE(run_attnbounds("export match2 --class attention-unit --N 5 --M 6 --c 3 --out " + path, 60, true).status == 0);
  int status = 0;
  const auto a = attnbounds_test::run_json("check match2 --model " + path, &status);
  CHECK(status == 1);
  const auto b = attnbounds_test::run_json("check match2 --N 5 --M 6 --c 3");
  CHECK(a["verdict"] == b["verdict"]);
  CHECK(a["params"]["class"] == "attention-unit");
  CHECK(a["inputs"] == 252);  // C(6+5-1, 5)
  CHECK(a["worst"]["witness"]["verified_by"] == "direct forward pass (attention.hpp) + tasks.hpp ground truth");
  const auto ev = run_attnbounds("eval match2 --model " + path + " --input 0,1,1,1,1 --json", 60, true);
  CHECK(ev.status == 1);  // token 1 (value 0) is matched by itself; ψ says no at c = 3
  const auto e = nlohmann::json::parse(ev.out);
  CHECK(e["tokens"][0]["truth"] == 1);
  CHECK(e["tokens"][0]["model"] == 0);
  const auto arith = run_attnbounds("check match2 --model " + path + " --semantics arith:bf16", 60, true);
  CHECK(arith.status == 2);
  CHECK(arith.err.find("--semantics") != std::string::npos);
  const auto qsa = run_attnbounds("check qsa --model " + path + " --eps 0.1", 60, true);
  CHECK(qsa.status == 2);
  CHECK(qsa.err.find("__metadata__.class") != std::string::npos);
  const auto hinted = run_attnbounds("check match3-hinted --model " + path, 60, true);
  CHECK(hinted.status == 2);
  const auto minp_arith = run_attnbounds("min-p match2 --model " + path + " --mode arith", 60, true);
  CHECK(minp_arith.status == 2);
  CHECK(minp_arith.err.find("--mode") != std::string::npos);
  const auto minp = attnbounds_test::run_json("min-p match2 --model " + path + " --p-min 2 --p-max 6");
  CHECK(minp["claim"] == "match2");
  const auto residual_free = run_attnbounds("export match2 --class attention-unit --no-residual --out " + path, 60, true);
  CHECK(residual_free.status == 2);
  CHECK(residual_free.err.find("--no-residual") != std::string::npos);
  std::remove(path.c_str());
}
