// The Torch-free half of the learning experiments: configuration checks, the seeded data, and
// the exact table of a trained attention unit with a double forward pass of it.
#include "learn/qsa_learning.hpp"
#include "learn/learn_common.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/config_error.hpp"
#include "enumerate/combinatorics.hpp"

namespace attnbounds {

LearnFamily learn_family_of(const std::string& name) {
  if (name == "attention") return LearnFamily::Attention;
  if (name == "fc") return LearnFamily::FullyConnected;
  if (name == "lstm") return LearnFamily::Lstm;
  throw ConfigError("family", "must be attention, fc or lstm (got '" + name + "')");
}

const char* learn_family_name(LearnFamily f) {
  switch (f) {
    case LearnFamily::Attention: return "attention";
    case LearnFamily::FullyConnected: return "fc";
    case LearnFamily::Lstm: return "lstm";
  }
  return "?";
}

namespace {
constexpr auto require = require_config_field;
}  // namespace

void QsaLearnConfig::validate() const {
  require_config_limits("N", N, kN);
  require(q >= 1 && q <= N, "q", "in 1..N = 1.." + std::to_string(N), q);
  require_config_limits("d", d, kD);
  require(k >= kK.lo && k <= kK.hi, "m", "in 0..4096 (0 = N)", k);
  require_config_limits("samples", static_cast<long double>(samples), kSamples);
  require_config_limits("width", width, kWidth);
  require_config_limits("depth", depth, kDepth);
  require_config_limits("hidden", hidden, kHidden);
  validate_training_schedule(validation, test, epochs, batch, lr, patience, threads);
  require(pattern_tokens >= 0 && pattern_tokens <= N, "pattern_tokens", "in 0..N", pattern_tokens);
  // The stored sets hold (d + q) numbers per token; one batch is encoded densely (N × N multi-hot).
  const long double stored = static_cast<long double>(samples + validation + test) * N * (d + q);
  require(stored <= 2e8L, "samples", "such that (samples + validation + test)·N·(d' + q) <= 2·10^8", samples);
  const long double batch_entries = static_cast<long double>(batch) * N * (N + d);
  require(batch_entries <= 5e7L, "batch", "such that batch·N·(N + d') <= 5·10^7", batch);
}

namespace {
// Uniform double in [0, 1) from 53 random bits.
double unit_uniform(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
double standard_normal(std::mt19937_64& g) {
  // Box–Muller; u1 in (0, 1] keeps the logarithm finite.
  const double u1 = 1.0 - unit_uniform(g), u2 = unit_uniform(g);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
}  // namespace

QsaSamples draw_qsa_samples(int N, int q, int d, std::int64_t count, bool sphere, std::uint64_t seed, int stream) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(stream), 0x71a5u};
  std::mt19937_64 g(seq);
  QsaSamples s;
  s.N = N, s.q = q, s.d = d, s.count = count;
  s.z.resize(static_cast<std::size_t>(count) * N * d);
  s.y.resize(static_cast<std::size_t>(count) * N * q);
  std::vector<int> perm(N);
  for (std::int64_t b = 0; b < count; ++b)
    for (int i = 0; i < N; ++i) {
      double* z = &s.z[(static_cast<std::size_t>(b) * N + i) * d];
      double norm2 = 0;
      do {
        norm2 = 0;
        for (int c = 0; c < d; ++c) {
          z[c] = standard_normal(g);
          norm2 += z[c] * z[c];
        }
      } while (norm2 == 0);
      // Direction uniform on the sphere; radius U^{1/d} makes the point uniform in the ball.
      const double radius = sphere ? 1.0 : std::pow(unit_uniform(g), 1.0 / d);
      const double f = radius / std::sqrt(norm2);
      for (int c = 0; c < d; ++c) z[c] *= f;
      // The first q entries of a partial Fisher–Yates shuffle: a uniform q-subset.
      std::iota(perm.begin(), perm.end(), 0);
      for (int t = 0; t < q; ++t) std::swap(perm[t], perm[t + uniform_below(g, N - t)]);
      int* y = &s.y[(static_cast<std::size_t>(b) * N + i) * q];
      std::copy(perm.begin(), perm.begin() + q, y);
      std::sort(y, y + q);
    }
  return s;
}

QsaTableModel trained_attention_model(const TrainedAttention& a) {
  QsaTableModel m;
  m.N = a.N, m.q = a.q, m.d = a.d;
  const std::uint64_t rows = binomial_saturating(a.N, a.q);
  m.query_table = Mat<Rational>(rows, a.k);
  m.key_table = Mat<Rational>(a.N, a.k);
  std::vector<int> S(a.q);
  std::iota(S.begin(), S.end(), 0);
  std::uint64_t r = 0;
  do {
    for (int c = 0; c < a.k; ++c) {
      double sum = 0;
      for (int s : S) sum += a.query_weights[static_cast<std::size_t>(c) * a.N + s];
      m.query_table(r, c) = Rational(sum * a.scale);
    }
    ++r;
  } while (next_subset(S.data(), a.q, a.N));
  for (int j = 0; j < a.N; ++j)
    for (int c = 0; c < a.k; ++c) m.key_table(j, c) = Rational(a.key_weights[static_cast<std::size_t>(c) * a.N + j]);
  m.value_map = Mat<Rational>(a.d, a.d);
  m.output_map = Mat<Rational>(a.d, a.d);
  for (int c = 0; c < a.d; ++c) m.value_map(c, c) = m.output_map(c, c) = Rational(1);
  m.construction = "trained";
  return m;
}

std::vector<double> table_attention_row(const QsaTableModel& m, const std::vector<int>& S) {
  const std::uint64_t r = rank_subset(S, m.N);
  const int k = m.k();
  std::vector<double> s(m.N);
  for (int j = 0; j < m.N; ++j) {
    double acc = 0;
    for (int c = 0; c < k; ++c) acc += m.query_table(r, c).get_d() * m.key_table(j, c).get_d();
    s[j] = acc;
  }
  const double mx = *std::max_element(s.begin(), s.end());
  double total = 0;
  for (double& v : s) total += (v = std::exp(v - mx));
  for (double& v : s) v /= total;
  return s;
}

std::vector<double> table_token_errors(const QsaTableModel& m, const std::vector<double>& z,
                                       const std::vector<std::vector<int>>& y) {
  const int N = m.N, d = m.d;
  std::vector<double> err(N);
  for (int i = 0; i < N; ++i) {
    const std::vector<double> a = table_attention_row(m, y[i]);
    double sq = 0;
    for (int c = 0; c < d; ++c) {
      double f = 0, t = 0;
      for (int j = 0; j < N; ++j) f += a[j] * z[static_cast<std::size_t>(j) * d + c];
      for (int s : y[i]) t += z[static_cast<std::size_t>(s) * d + c];
      t /= m.q;
      sq += (f - t) * (f - t);
    }
    err[i] = std::sqrt(sq);
  }
  return err;
}

}  // namespace attnbounds
