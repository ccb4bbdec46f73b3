// The Torch-free half of learning Match2: configuration checks, the seeded balanced data, the
// export of a trained unit as a match2-table model, a plain double forward pass, and the
// certification of the exported file's bytes.
#include "learn/match2_learning.hpp"
#include "learn/learn_common.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/config_error.hpp"
#include "modelfile/safetensors.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

namespace {
constexpr auto require = require_config_field;
}  // namespace

void Match2LearnConfig::validate() const {
  require_config_limits("N", N, kN);
  require_config_limits("M", M, kM);
  require_config_limits("k", k, kWidth);
  require_config_limits("d", d, kWidth);
  require_config_limits("samples", static_cast<long double>(samples), kSamples);
  validate_training_schedule(validation, test, epochs, batch, lr, patience, threads);
}

double Match2Samples::matched_fraction() const {
  if (label.empty()) return 0;
  std::int64_t m = 0;
  for (auto l : label) m += l;
  return static_cast<double>(m) / static_cast<double>(label.size());
}

Match2Samples draw_match2_samples(int N, int M, std::int64_t count, std::uint64_t seed, int stream) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(stream), 0x3a7c2u};
  std::mt19937_64 g(seq);
  Match2Samples s;
  s.N = N, s.M = M, s.count = count;
  s.x.resize(static_cast<std::size_t>(count) * N);
  s.label.resize(s.x.size());
  std::vector<int> x(N);
  for (std::int64_t b = 0; b < count; ++b) {
    for (int i = 0; i < N; ++i) x[i] = static_cast<int>(uniform_below(g, M));
    if (g() & 1) {  // plant a match between two distinct positions
      const int i = static_cast<int>(uniform_below(g, N));
      int j = static_cast<int>(uniform_below(g, N - 1));
      if (j >= i) ++j;
      x[j] = (M - x[i]) % M;
    }
    const std::vector<std::uint8_t> l = match2(x, M);
    std::copy(x.begin(), x.end(), s.x.begin() + b * N);
    std::copy(l.begin(), l.end(), s.label.begin() + b * N);
  }
  return s;
}

Match2TableModel trained_match2_model(const TrainedMatch2& u) {
  Match2TableModel m;
  m.N = u.N, m.M = u.M, m.k = u.k, m.d = u.d;
  auto exact = [](const std::vector<double>& v) {
    std::vector<ExactReal> r;
    r.reserve(v.size());
    for (double e : v) r.emplace_back(Rational(e));
    return r;
  };
  m.query = exact(u.query);
  m.key = exact(u.key);
  m.value = exact(u.value);
  m.residual = exact(u.residual);
  m.psi = Match2TableModel::Psi::Norm;
  m.matched_below = true;
  m.threshold = ExactReal(Rational(u.threshold));
  m.construction = "trained";
  return m;
}

std::vector<int> match2_table_decisions_double(const Match2TableModel& m, const std::vector<int>& x) {
  const int N = static_cast<int>(x.size()), k = m.k, d = m.d;
  auto at = [](const std::vector<ExactReal>& t, std::size_t i) { return nearest_double(t[i]); };
  const double tau = nearest_double(m.threshold);
  std::vector<double> w;
  for (const auto& e : m.psi_weights) w.push_back(nearest_double(e));
  std::vector<int> out(N);
  std::vector<double> s(N), o(d);
  for (int i = 0; i < N; ++i) {
    for (int j = 0; j < N; ++j) {
      double acc = 0;
      for (int c = 0; c < k; ++c) acc += at(m.query, x[i] * k + c) * at(m.key, x[j] * k + c);
      s[j] = acc;
    }
    const double mx = *std::max_element(s.begin(), s.end());
    double total = 0;
    for (double& v : s) total += (v = std::exp(v - mx));
    for (int c = 0; c < d; ++c) {
      double acc = m.residual.empty() ? 0.0 : at(m.residual, x[i] * d + c);
      for (int j = 0; j < N; ++j) acc += s[j] / total * at(m.value, x[j] * d + c);
      o[c] = acc;
    }
    double stat = 0;
    if (m.disjunctive()) {  // ψ = 1 iff ‖out‖² < τ or |w·out| < τ_lin
      double n2 = 0, lin = 0;
      for (int c = 0; c < d; ++c) {
        n2 += o[c] * o[c];
        lin += w[c] * o[c];
      }
      out[i] = n2 < tau || std::fabs(lin) < nearest_double(m.threshold_linear);
      continue;
    }
    if (m.psi == Match2TableModel::Psi::Norm) {
      for (double v : o) stat += v * v;
      stat = std::sqrt(stat);
    } else {
      for (int c = 0; c < d; ++c) stat += w[c] * o[c];
    }
    out[i] = m.matched_below ? stat < tau : stat > tau;
  }
  return out;
}

Match2TestError match2_test_error(const Match2TableModel& m, const Match2Samples& s) {
  Match2TestError e;
  std::vector<int> x(s.N);
  for (std::int64_t b = 0; b < s.count; ++b) {
    std::copy(s.x.begin() + b * s.N, s.x.begin() + (b + 1) * s.N, x.begin());
    const std::vector<int> dec = match2_table_decisions_double(m, x);
    int wrong = 0;
    for (int i = 0; i < s.N; ++i) wrong += dec[i] != s.label[static_cast<std::size_t>(b * s.N + i)];
    e.tokens += s.N;
    e.wrong_tokens += wrong;
    ++e.inputs;
    e.wrong_inputs += wrong > 0;
  }
  return e;
}

std::vector<unsigned char> trained_match2_file_bytes(const TrainedMatch2& u, const std::map<std::string, std::string>& metadata,
                                                     const std::string& file_name) {
  Match2TableModel m = trained_match2_model(u);
  for (const auto& [key, value] : metadata) m.metadata[key] = value;
  ModelWriteOptions w;
  w.exact = false;  // every entry is a double: F64 holds it exactly
  w.dtype = DType::F64;
  return serialize_safetensors(match2_table_model_file(m, w, file_name));
}

Match2Certification certify_match2_model_bytes(const std::vector<unsigned char>& bytes, const std::string& file_name,
                                               unsigned threads) {
  const SafetensorsFile f = parse_safetensors(file_name, bytes.data(), bytes.size());
  const Match2TableModel m = match2_table_model_from(file_name, f);
  const Semantics exact;
  const std::string problem = match2_certifiable_structure_problem(m, exact);
  if (!problem.empty()) throw ModelFileError(file_name, "structure", problem);
  Match2Certification c;
  c.check = check_match2_table(m, exact, threads, false);
  if (c.check.verdict == Verdict::Fails && c.check.sweep.worst) {
    const MatchCaseWitness& w = c.check.sweep.worst->witness;
    const std::vector<int> dec = match2_table_decisions_double(m, w.x);
    c.witness_wrong_double = dec[static_cast<std::size_t>(w.token)] != match2(w.x, m.M)[static_cast<std::size_t>(w.token)];
  }
  return c;
}

}  // namespace attnbounds
