// Model files of class qsa-unit (qSA with MLP or positional queries and linear maps): the reader,
// the round trip against the qsa-table checker, and the row bounds against independent long-double
// computations written here.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include "certify/qsa_checker.hpp"
#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "core/size_limit_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "modelfile/model_fields.hpp"
#include "modelfile/qsa_unit_model.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;

namespace {

std::string temp_path(const std::string& stem) { return "/tmp/attnbounds_test_" + std::to_string(::getpid()) + "_" + stem; }

QsaUnitModel reread(const QsaUnitModel& m, const ModelWriteOptions& o = {}) {
  const std::vector<unsigned char> bytes = serialize_safetensors(qsa_unit_model_file(m, o));
  return qsa_unit_model_from("u.st", parse_safetensors("u.st", bytes.data(), bytes.size()));
}

QsaTableModel table_of(const std::string& claim, int N, int q, std::optional<Rational> c = std::nullopt, int d = 1) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.d = d;
  p.c = c;
  return qsa_table_model_of(*make_qsa_embedding(claim, p), claim);
}

QsaCheckResult table_check(const QsaTableModel& m, const Rational& eps) {
  QsaTableEmbedding emb(m);
  QsaCheckOptions o;
  o.eps = eps;
  o.threads = 2;
  return check_qsa(emb, o);
}

// Entries k/8 with |k| <= 16: exact in binary, so long double starts from the checker's reals.
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

Mat<Rational> diag(int n, const Rational& v) {
  Mat<Rational> m(n, n);
  for (int i = 0; i < n; ++i) m(i, i) = v;
  return m;
}

long double ld(const Rational& x) { return static_cast<long double>(mpq_get_d(x.get_mpq_t())); }

// A unit with a 2-layer ReLU query MLP on (1_y, e(i)) that uses the position, and a key MLP (one
// layer) or a key table.
QsaUnitModel mlp_unit(std::mt19937& g, int N, int q, int d, int k, bool key_mlp, Activation act = Activation::Relu) {
  QsaUnitModel m;
  m.N = N;
  m.q = q;
  m.d = d;
  m.activation = act;
  m.query_is_table = false;
  m.query_mlp = {random_linear(g, 2 * N, 4, true), random_linear(g, 4, k, true)};
  std::uniform_int_distribution<int> e(-8, 8);
  if (key_mlp) {
    m.key_is_table = false;
    m.key_mlp = {random_linear(g, N, k, true)};
  } else {
    m.key_table = Mat<Rational>(N, k);
    for (int j = 0; j < N; ++j)
      for (int c = 0; c < k; ++c) m.key_table(j, c) = Rational(e(g), 4);
  }
  m.value_map = diag(d, Rational(3, 2));
  m.output_map = diag(d, Rational(1, 2));
  return reread(m);
}

// Token i's attention weights in long double, straight from the definition.
std::vector<long double> naive_weights(const QsaUnitModel& m, const std::vector<int>& S, int i) {
  const int N = m.N, k = m.k();
  auto apply = [&](const LinearMap& l, const std::vector<long double>& in, bool act) {
    std::vector<long double> out(l.out);
    for (int o = 0; o < l.out; ++o) {
      long double acc = l.bias.empty() ? 0 : ld(l.bias[o].constant);
      for (int c = 0; c < l.in; ++c) acc += ld(l.weight[o * l.in + c].constant) * in[c];
      out[o] = !act ? acc
               : m.activation == Activation::Relu ? std::max(acc, 0.0L)
                                                  : acc * 0.5L * (1 + std::erf(acc / std::sqrt(2.0L)));
    }
    return out;
  };
  auto mlp = [&](const std::vector<LinearMap>& layers, std::vector<long double> x) {
    for (std::size_t l = 0; l < layers.size(); ++l) x = apply(layers[l], x, l + 1 < layers.size());
    return x;
  };
  std::vector<long double> query(k);
  if (m.query_is_table) {
    const auto r = rank_subset(S, N);
    for (int c = 0; c < k; ++c) query[c] = ld(m.query_table(r, c));
  } else {
    std::vector<long double> f(2 * N, 0);
    for (int s : S) f[s] = 1;
    f[N + i] = 1;
    query = mlp(m.query_mlp, f);
  }
  std::vector<long double> s(N);
  for (int j = 0; j < N; ++j) {
    std::vector<long double> key(k);
    if (m.key_is_table) {
      for (int c = 0; c < k; ++c) key[c] = ld(m.key_table(j, c));
    } else {
      std::vector<long double> f(N, 0);
      f[j] = 1;
      key = mlp(m.key_mlp, f);
    }
    s[j] = 0;
    for (int c = 0; c < k; ++c) s[j] += query[c] * key[c];
  }
  const long double top = *std::max_element(s.begin(), s.end());
  long double Z = 0;
  for (auto& v : s) Z += (v = std::exp(v - top));
  for (auto& v : s) v /= Z;
  return s;
}

long double naive_scalar_error(const QsaUnitModel& m, const std::vector<int>& S, int i, long double alpha) {
  const auto a = naive_weights(m, S, i);
  long double E = 0;
  for (int j = 0; j < m.N; ++j) E += std::fabs(alpha * a[j] - (std::count(S.begin(), S.end(), j) ? 1.0L / m.q : 0.0L));
  return E;
}

template <class F>
void for_each_subset(int N, int q, F&& f) {
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  do f(S);
  while (next_subset(S.data(), q, N));
}

}  // namespace

TEST_CASE("qsa-unit: converted qsa-cyclic and qsa-rip check like the qsa-table file", "[qsaunit][modelfile]") {
  struct Case {
    std::string claim;
    int N, q;
    std::optional<Rational> c;
    Verdict expected;
  };
  const std::vector<Case> cases = {{"qsa-cyclic", 8, 2, std::nullopt, Verdict::Holds},
                                   {"qsa-cyclic", 8, 2, Rational(1, 2), Verdict::Fails},
                                   {"qsa-rip", 8, 2, std::nullopt, Verdict::Holds},
                                   {"qsa-rip", 8, 2, Rational(1), Verdict::Fails}};
  for (const auto& cs : cases) {
    INFO(cs.claim << " c=" << (cs.c ? to_exact_string(*cs.c) : "default"));
    const QsaTableModel t = table_of(cs.claim, cs.N, cs.q, cs.c);
    const QsaUnitModel u = reread(qsa_unit_of_table(t));
    CHECK(u.query_is_table);
    CHECK(u.dtypes == "F64+exact");
    const Rational eps(1, 10);
    const QsaCheckResult a = table_check(t, eps);
    const QsaUnitCheckResult b = check_qsa_unit(u, eps, 2, false);
    CHECK(a.verdict == cs.expected);
    CHECK(b.verdict == a.verdict);
    CHECK(b.rows == a.cases);
    CHECK_FALSE(b.per_position);
    REQUIRE(b.alpha);
    CHECK(*b.alpha == 1);
    CHECK(b.witness_S == a.witness_S);
    CHECK(b.worst_lower == a.worst_lower);  // both the exact row of qsa_row_error_interval
    CHECK(b.worst_upper >= a.worst_lower);
    CHECK(a.worst_upper >= b.worst_lower);
    CHECK(b.failing_rows == a.failing_rows);
    for (int j = 0; j < cs.N; ++j) CHECK(b.witness_z(j, 0) == a.witness_signs[j]);
    if (b.verdict == Verdict::Fails) {
      CHECK(b.witness_verified);
      CHECK(*b.forward_error_lower > eps);
      CHECK(*b.forward_error_lower <= b.worst_upper);
    }
  }
}

TEST_CASE("qsa-unit: A = alpha I with alpha != 1 is exact and flips at the right eps", "[qsaunit][modelfile]") {
  QsaTableModel t = table_of("qsa-cyclic", 8, 2, std::nullopt, 2);
  t.value_map = diag(2, Rational(2));
  t.output_map = diag(2, Rational(9, 20));
  const QsaUnitModel u = reread(qsa_unit_of_table(t));
  REQUIRE(u.scalar());
  CHECK(*u.scalar() == Rational(9, 10));
  // Independent: long double softmax over the table rows, Σ|α a_j − t_j|, the max over S.
  long double worst = 0;
  for_each_subset(8, 2, [&](const std::vector<int>& S) {
    const auto r = rank_subset(S, 8);
    std::vector<Rational> s(8);
    for (int j = 0; j < 8; ++j)
      for (int c = 0; c < u.k(); ++c) s[j] += u.query_table(r, c) * u.key_table(j, c);
    const Rational top = *std::max_element(s.begin(), s.end());
    std::vector<long double> a(8);
    long double Z = 0;
    for (int j = 0; j < 8; ++j) Z += (a[j] = std::exp(ld(s[j] - top)));
    long double E = 0;
    for (int j = 0; j < 8; ++j) E += std::fabs(0.9L * a[j] / Z - (std::count(S.begin(), S.end(), j) ? 0.5L : 0.0L));
    worst = std::max(worst, E);
  });
  const QsaUnitCheckResult r = check_qsa_unit(u, Rational(1, 2), 2, false);
  CHECK(r.verdict == Verdict::Holds);
  CHECK(std::fabs(ld(r.worst_lower) - worst) < 1e-12L);
  CHECK(std::fabs(ld(r.worst_upper) - worst) < 1e-12L);
  CHECK(worst > 0.1L);  // at least |α − 1|: the α = 9/10 map loses a tenth of every average
  const Rational below(static_cast<double>(worst - 1e-9L)), above(static_cast<double>(worst + 1e-9L));
  const QsaUnitCheckResult f = check_qsa_unit(u, below, 1, false);
  CHECK(f.verdict == Verdict::Fails);
  CHECK(f.witness_verified);
  CHECK(*f.forward_error_lower > below);
  CHECK(f.witness_z(0, 1) == 0);  // z_j = ±e_1
  CHECK(check_qsa_unit(u, above, 1, false).verdict == Verdict::Holds);
  // ε = the 128-bit lower end itself: the doubles cannot decide that row, MPFI at 256 bits can.
  const QsaUnitCheckResult tight = check_qsa_unit(u, r.worst_lower, 2, false);
  CHECK(tight.fallback_rows >= 1);
  CHECK(tight.verdict == Verdict::Fails);
  CHECK(tight.witness_S == r.witness_S);
}

TEST_CASE("qsa-unit: a positional MLP query (ReLU or GELU) gives N*C(N,q) rows, each enclosing a long-double pass", "[qsaunit][modelfile]") {
  std::mt19937 g(11);
  for (int variant = 0; variant < 3; ++variant) {
    const bool key_mlp = variant > 0;
    const Activation act = variant == 2 ? Activation::Gelu : Activation::Relu;
    INFO("key MLP " << key_mlp << ", " << activation_name(act));
    const QsaUnitModel m = mlp_unit(g, 5, 2, 1, 3, key_mlp, act);
    REQUIRE(m.query_positional());
    CHECK(m.rows() == 50);
    const long double alpha = 0.75L;
    long double worst = 0;
    for_each_subset(5, 2, [&](const std::vector<int>& S) {
      for (int i = 0; i < 5; ++i) {
        const QsaUnitRow row = qsa_unit_row(m, S, i);
        const long double e = naive_scalar_error(m, S, i, alpha);
        CHECK(ld(row.lower) <= e + 1e-15L);
        CHECK(e - 1e-15L <= ld(row.upper));
        CHECK(ld(row.upper - row.lower) < (act == Activation::Relu ? 1e-30L : 1e-15L));
        worst = std::max(worst, e);
      }
    });
    const QsaUnitCheckResult r = check_qsa_unit(m, Rational(1, 10), 2, false);
    CHECK(r.per_position);
    CHECK(r.rows == 50);
    CHECK(std::fabs(ld(r.worst_upper) - worst) < 1e-12L);
    CHECK(r.verdict == (worst > 0.1L ? Verdict::Fails : Verdict::Holds));
    if (r.verdict == Verdict::Fails) {
      CHECK(r.witness_i >= 0);
      CHECK(r.witness_verified);
    }
    // The verdict flips at the independent worst case.
    CHECK(check_qsa_unit(m, Rational(static_cast<double>(worst + 1e-9L)), 2, false).verdict == Verdict::Holds);
    CHECK(check_qsa_unit(m, Rational(static_cast<double>(worst - 1e-9L)), 2, false).verdict == Verdict::Fails);
    const QsaUnitCheckResult tight = check_qsa_unit(m, r.worst_lower, 2, false);  // decided in MPFI only
    CHECK(tight.fallback_rows >= 1);
    CHECK(tight.verdict == Verdict::Fails);
    CHECK(tight.witness_S == r.witness_S);
    CHECK(tight.witness_i == r.witness_i);
  }
  // The same MLP with its positional columns zeroed is position-free: C(N, q) rows.
  QsaUnitModel free = mlp_unit(g, 5, 2, 1, 3, false);
  for (int o = 0; o < free.query_mlp[0].out; ++o)
    for (int c = 5; c < 10; ++c) free.query_mlp[0].weight[o * 10 + c] = ExactReal(Rational(0));
  CHECK_FALSE(free.query_positional());
  CHECK(check_qsa_unit(free, Rational(1, 10), 1, false).rows == 10);
}

TEST_CASE("qsa-unit: a non-scalar A bounds every sampled input, and the witness attains the lower bound", "[qsaunit][modelfile]") {
  std::mt19937 g(5);
  QsaUnitModel m = mlp_unit(g, 5, 2, 2, 3, true);
  m.value_map = Mat<Rational>(3, 2);
  m.output_map = Mat<Rational>(2, 3);
  const int V[3][2] = {{4, 1}, {-1, 3}, {2, 2}}, P[2][3] = {{2, -1, 1}, {1, 2, -1}};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) {
      m.value_map(r, c) = Rational(V[r][c], 8);
      m.output_map(c, r) = Rational(P[c][r], 4);
    }
  m = reread(m);
  REQUIRE_FALSE(m.scalar());
  const Rational eps(1, 100);
  const QsaUnitCheckResult r = check_qsa_unit(m, eps, 2, false);
  REQUIRE(r.verdict == Verdict::Fails);
  CHECK(r.witness_verified);
  // The reported row's lower bound is the error its witness input really has.
  const QsaUnitRow row = qsa_unit_row(m, r.witness_S, std::max(r.witness_i, 0));
  CHECK(*r.forward_error_upper >= row.lower);
  CHECK(*r.forward_error_lower > eps);
  CHECK(r.worst_lower <= r.worst_upper);
  for (int j = 0; j < m.N; ++j) CHECK(r.witness_z(j, 0) * r.witness_z(j, 0) + r.witness_z(j, 1) * r.witness_z(j, 1) <= 1);
  // Random inputs: every token's true error is at most the certified upper bound.
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> pick(0, 9);
  Rational seen = 0;
  for (int trial = 0; trial < 40; ++trial) {
    Mat<Rational> z(5, 2);
    std::vector<std::vector<int>> y(5);
    for (int j = 0; j < 5; ++j) {
      double a = u(g), b = u(g), n = std::sqrt(a * a + b * b);
      if (n > 1) a /= n * (1 + 1e-9), b /= n * (1 + 1e-9);
      if (trial % 2) a = a < 0 ? -std::sqrt(1 - 1e-9 - b * b) : std::sqrt(1 - 1e-9 - b * b);  // on the sphere
      z(j, 0) = Rational(a);
      z(j, 1) = Rational(b);
      y[j].resize(2);
      unrank_subset(pick(g), 5, 2, y[j].data());
    }
    const Mat<Interval> out = eval_qsa_unit(m, z, y, 128);
    const Mat<Rational> truth = qsa(z, y);
    WorkingPrecision wp(128);
    for (int i = 0; i < 5; ++i) {
      Interval acc(0L, 128);
      for (int c = 0; c < 2; ++c) acc += sqr(out(i, c) - Interval(truth(i, c), 128));
      const IntervalBounds e = safe_bounds(sqrt(acc));
      CHECK(e.lower <= r.worst_upper);
      seen = std::max(seen, e.lower);
    }
  }
  CHECK(seen > 0);
}

TEST_CASE("qsa-unit: the reader refuses bad files naming the field", "[qsaunit][modelfile]") {
  std::mt19937 g(2);
  const QsaUnitModel m = mlp_unit(g, 4, 2, 2, 3, true);
  const QsaUnitModel back = reread(m);
  CHECK(back.query_mlp[1].weight == m.query_mlp[1].weight);
  CHECK(back.key_mlp[0].bias == m.key_mlp[0].bias);
  CHECK(back.value_map.data() == m.value_map.data());
  const SafetensorsFile good = qsa_unit_model_file(m);
  auto refused = [&](auto&& mutate, const std::string& field) {
    SafetensorsFile f = good;
    mutate(f);
    const auto bytes = serialize_safetensors(f);
    try {
      qsa_unit_model_from("bad.st", parse_safetensors("bad.st", bytes.data(), bytes.size()));
      FAIL("accepted a file that should name " << field);
    } catch (const ModelFileError& e) {
      CHECK(e.field() == field);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
      CHECK(std::string(e.what()).rfind("bad.st: " + field, 0) == 0);
    }
  };
  auto drop = [](const std::string& name) {
    return [name](SafetensorsFile& f) { f.tensors.erase(name); f.tensors.erase(name + ".exact"); };
  };
  refused(drop("query.0.weight"), "tensor 'query_table'");
  refused(drop("key.0.weight"), "tensor 'key_table'");
  refused(drop("value_map"), "tensor 'value_map'");
  refused(drop("output_map"), "tensor 'output_map'");
  refused([](SafetensorsFile& f) { f.tensors["value_map.bias"] = f.tensors.at("key.0.bias"); }, "tensor 'value_map.bias'");
  refused([](SafetensorsFile& f) { f.tensors["output_map.bias"] = f.tensors.at("key.0.bias"); }, "tensor 'output_map.bias'");
  refused([](SafetensorsFile& f) { f.tensors["extra"] = f.tensors.at("key.0.bias"); }, "tensor 'extra'");
  refused([](SafetensorsFile& f) { f.metadata["heads"] = "2"; }, "__metadata__.heads");
  refused([](SafetensorsFile& f) { f.metadata["residual"] = "true"; }, "__metadata__.residual");
  refused([](SafetensorsFile& f) { f.metadata["class"] = "qsa-table"; }, "__metadata__.class");
  refused([](SafetensorsFile& f) { f.metadata["class"] = "attention-unit"; }, "__metadata__.class");
  refused([](SafetensorsFile& f) { f.metadata["format_version"] = "1"; }, "__metadata__.format_version");
  refused([](SafetensorsFile& f) { f.metadata.erase("activation"); }, "__metadata__.activation");
  refused([](SafetensorsFile& f) { f.metadata["N"] = "65"; }, "__metadata__.N");
  refused([](SafetensorsFile& f) { f.metadata["d"] = "17"; }, "__metadata__.d");
  refused([](SafetensorsFile& f) { f.metadata["N"] = "5"; }, "tensor 'query.0.weight'.shape");  // in = 2N
  refused([](SafetensorsFile& f) { f.metadata["d"] = "3"; }, "tensor 'value_map'.shape");
  // Wrong widths: a key MLP whose out is not the query's k; an output map of the wrong shape.
  refused([&](SafetensorsFile& f) {
    std::mt19937 h(9);
    put_linear(f, "key.0", random_linear(h, 4, 2, true), true, DType::F64, "bad.st");
  }, "tensor 'key.0.weight'.shape");
  refused([&](SafetensorsFile& f) {
    f.tensors.erase("output_map.exact");
    model_fields::put_table(f, "bad.st", "output_map", std::vector<ExactReal>(6, ExactReal(Rational(1))), {2, 3}, true, DType::F64);
  }, "tensor 'output_map'.shape");
  refused([&](SafetensorsFile& f) { f.tensors["query_table"] = f.tensors.at("value_map"); }, "tensor 'query_table'");
  refused([&](SafetensorsFile& f) {
    model_fields::put_table(f, "bad.st", "value_map", std::vector<ExactReal>(6, ExactReal::cos_turn(Rational(1), 1, 7)), {3, 2},
                            true, DType::F64);
  }, "tensor 'value_map.exact'");
}

TEST_CASE("qsa-unit: bounded mutation run over a written file never crashes or misreads", "[qsaunit][modelfile]") {
  std::mt19937 g(3);
  const QsaUnitModel m = mlp_unit(g, 4, 2, 2, 3, true);
  const std::vector<unsigned char> good = serialize_safetensors(qsa_unit_model_file(m, ModelWriteOptions{false, DType::F32}));
  std::uniform_int_distribution<std::size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<unsigned char> b = good;
    for (int k = 0; k < 1 + trial % 4; ++k) b[pos(g)] = static_cast<unsigned char>(byte(g));
    try {
      const QsaUnitModel r = qsa_unit_model_from("mut.st", parse_safetensors("mut.st", b.data(), b.size()));
      ++accepted;
      REQUIRE(r.query_mlp.front().in == 2 * r.N);
      REQUIRE(r.key_mlp.back().out == r.k());
      REQUIRE(r.value_map.cols() == static_cast<std::size_t>(r.d));
      REQUIRE(r.output_map.rows() == static_cast<std::size_t>(r.d));
    } catch (const ModelFileError&) {
    }
  }
  CHECK(accepted > 0);
}

TEST_CASE("qsa-unit: the result does not depend on the thread count; guards and semantics", "[qsaunit][modelfile]") {
  std::mt19937 g(4);
  const QsaUnitModel m = mlp_unit(g, 6, 2, 1, 3, false);
  for (const Rational& eps : {Rational(1, 100), Rational(9, 10)}) {
    const QsaUnitCheckResult a = check_qsa_unit(m, eps, 1, false), b = check_qsa_unit(m, eps, 3, false);
    CHECK(a.verdict == b.verdict);
    CHECK(a.rows == b.rows);
    CHECK(a.failing_rows == b.failing_rows);
    CHECK(a.fallback_rows == b.fallback_rows);
    CHECK(a.witness_S == b.witness_S);
    CHECK(a.witness_i == b.witness_i);
    CHECK(a.worst_lower == b.worst_lower);
    CHECK(a.worst_upper == b.worst_upper);
    CHECK(a.witness_z.data() == b.witness_z.data());
  }
  CHECK_THROWS_AS(check_qsa_unit(m, Rational(1, 10), 1, false, parse_semantics("embed:bf16")), ConfigError);
  try {
    check_qsa_unit(m, Rational(1, 10), 1, false, parse_semantics("arith:float:8"));
  } catch (const ConfigError& e) {
    CHECK(e.field() == "semantics");
  }
  // N = 30, q = 5, positional: 30·C(30, 5) = 4,275,180 rows, above the guard.
  QsaUnitModel big = mlp_unit(g, 30, 5, 1, 2, false);
  CHECK_THROWS_AS(check_qsa_unit(big, Rational(1, 10), 1, false), SizeLimitError);
}

TEST_CASE("CLI: export --class qsa-unit, check/eval qsa --model, refusals", "[qsaunit][modelfile][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string unit = temp_path("qu.st"), table = temp_path("qt.st"), input = temp_path("qu_in.json");
  for (const std::string c : {"", " --c 0.5"}) {
    INFO("c:" << c);
    REQUIRE(run_attnbounds("export qsa-cyclic --class qsa-unit --N 8 --q 2" + c + " --out " + unit, 60, true).status == 0);
    REQUIRE(run_attnbounds("export qsa-cyclic --N 8 --q 2" + c + " --out " + table, 60, true).status == 0);
    int su = 0, st = 0;
    const auto a = attnbounds_test::run_json("check qsa --model " + unit + " --eps 0.1", &su);
    const auto b = attnbounds_test::run_json("check qsa --model " + table + " --eps 0.1", &st);
    CHECK(su == st);
    CHECK(a["verdict"] == b["verdict"]);
    CHECK(a["cases"] == b["cases"]);
    CHECK(a["rows"]["failing"] == b["rows"]["failing"]);
    CHECK(a["worst"]["lower"] == b["worst"]["lower"]);
    CHECK(a["worst"]["witness"]["S"] == b["worst"]["witness"]["S"]);
    CHECK(a["worst"]["witness"]["z"] == b["worst"]["witness"]["z"]);
    CHECK(a["params"]["class"] == "qsa-unit");
    CHECK(a["worst_case"] == "exact (A = αI)");
    CHECK(a["claim"] == "qsa");
  }
  {
    std::ofstream os(input);
    os << R"({"z": [[1],[0],[-1],[0.5],[0],[0],[0],["1/3"]], "y": [[1,2],[1,2],[3,4],[1,8],[2,3],[5,6],[7,8],[1,3]]})";
  }
  const auto ev = attnbounds_test::run_json("eval qsa --model " + unit + " --input " + input);
  const auto et = attnbounds_test::run_json("eval qsa --model " + table + " --input " + input);
  REQUIRE(ev["tokens"].size() == 8);
  CHECK(ev["tokens"][0]["qsa"] == et["tokens"][0]["qsa"]);
  CHECK(ev["params"]["class"] == "qsa-unit");
  for (int i = 0; i < 8; ++i) {
    // Both enclose the same real: the intervals overlap.
    const double lu = std::stod(ev["tokens"][i]["output_lower"][0].get<std::string>()),
                 hu = std::stod(ev["tokens"][i]["output_upper"][0].get<std::string>()),
                 lt = std::stod(et["tokens"][i]["output_lower"][0].get<std::string>()),
                 ht = std::stod(et["tokens"][i]["output_upper"][0].get<std::string>());
    CHECK(lu <= ht);
    CHECK(lt <= hu);
  }
  auto one_line_refusal = [&](const std::string& args, const std::string& names) {
    INFO(args);
    const auto r = run_attnbounds(args, 60, true);
    CHECK(r.status == 2);
    CHECK(r.err.find(names) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  one_line_refusal("check qsa --model " + unit + " --eps 0.1 --semantics embed:bf16", "--semantics");
  one_line_refusal("min-p qsa --model " + unit + " --eps 0.1", "--model");
  one_line_refusal("lower qsa-disj --model " + unit, "qsa-unit");
  one_line_refusal("export qsa-cyclic --class qsa-unit --N 65 --q 1 --out " + unit, "--N");
  std::remove(unit.c_str());
  std::remove(table.c_str());
  std::remove(input.c_str());
}
