#include "modelfile/qsa_unit_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "certify/qsa_checker.hpp"
#include "core/config_error.hpp"
#include "core/elapsed_timer.hpp"
#include "core/filtered_sweep.hpp"
#include "core/size_limit_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "model/attention.hpp"
#include "modelfile/model_fields.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

using namespace model_fields;
using Limits = QsaUnitLimits;

// ---- the model ---------------------------------------------------------------------------------

bool QsaUnitModel::query_positional() const {
  if (query_is_table) return false;
  const LinearMap& l = query_mlp.front();
  for (int o = 0; o < l.out; ++o)
    for (int c = N; c < l.in; ++c)
      if (l.weight[static_cast<std::size_t>(o) * l.in + c].constant != 0) return true;
  return false;
}

std::uint64_t QsaUnitModel::rows() const {
  const std::uint64_t subsets = binomial_saturating(N, q);
  if (!query_positional()) return subsets;
  return subsets > UINT64_MAX / static_cast<std::uint64_t>(N) ? UINT64_MAX : subsets * static_cast<std::uint64_t>(N);
}

Mat<Rational> QsaUnitModel::product() const { return matmul(output_map, value_map); }

std::optional<Rational> QsaUnitModel::scalar() const {
  const Mat<Rational> A = product();
  const Rational alpha = A(0, 0);
  for (std::size_t r = 0; r < A.rows(); ++r)
    for (std::size_t c = 0; c < A.cols(); ++c)
      if (A(r, c) != (r == c ? alpha : Rational(0))) return std::nullopt;
  return alpha;
}

// ---- reading and writing -----------------------------------------------------------------------

namespace {

// Class qsa-unit holds rationals only (no trigonometric entries): the A = αI test is exact.
void require_rational(const std::string& file, const std::string& name, const std::vector<ExactReal>& v) {
  for (const auto& x : v)
    if (!x.is_rational())
      throw ModelFileError(file, "tensor '" + name + ".exact'",
                           "class qsa-unit takes rational entries only (got '" + x.text() + "')");
}

Mat<Rational> rational_matrix(const std::string& file, const SafetensorsFile& f, const std::string& name,
                              std::uint64_t rows, std::uint64_t cols, const std::string& why) {
  const std::vector<ExactReal> v = table(file, f, name, {rows, cols}, why);
  require_rational(file, name, v);
  Mat<Rational> m(rows, cols);
  for (std::size_t i = 0; i < v.size(); ++i) m(i / cols, i % cols) = v[i].constant;
  return m;
}

void require_rational_layers(const std::string& file, const std::string& prefix, const std::vector<LinearMap>& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string name = prefix + "." + std::to_string(l);
    require_rational(file, name + ".weight", layers[l].weight);
    require_rational(file, name + ".bias", layers[l].bias);
  }
}

// Rank-2 tensor NAME's dimension `axis` (refused unless the tensor exists and is rank 2).
int dim_of(const std::string& file, const SafetensorsFile& f, const std::string& name, std::size_t axis,
           const std::string& what, int max_width) {
  return static_cast<int>(width_of(file, f, name, axis, what, max_width));
}

}  // namespace

QsaUnitModel qsa_unit_model_from(const std::string& file, const SafetensorsFile& f) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != kQsaUnitClass) throw ModelFileError(file, "__metadata__.class", "is '" + cls + "', not qsa-unit");
  meta_int(file, f, "format_version", kQsaUnitFormatVersion, kQsaUnitFormatVersion);
  if (f.metadata.count("heads") && meta(file, f, "heads") != "1")
    throw ModelFileError(file, "__metadata__.heads", "must be 1: class qsa-unit is one softmax unit");
  if (f.metadata.count("residual") && meta(file, f, "residual") != "false")
    throw ModelFileError(file, "__metadata__.residual",
                         "must be false: a residual adds a function of z_i outside the class's linear ψ·Σ a_ij V z_j");
  QsaUnitModel m;
  m.metadata = f.metadata;
  m.N = static_cast<int>(meta_int(file, f, "N", 1, Limits::kMaxN));
  m.q = static_cast<int>(meta_int(file, f, "q", 1, m.N));
  m.d = static_cast<int>(meta_int(file, f, "d", 1, Limits::kMaxD));
  LayerReader r{file, f, {}, 0};

  // The query: query_table or query.L, not both.
  const bool qtable = f.tensors.count("query_table") > 0, qmlp = f.tensors.count("query.0.weight") > 0;
  if (qtable && qmlp)
    throw ModelFileError(file, "tensor 'query_table'", "and query.0.weight both present: the query is one or the other");
  if (!qtable && !qmlp)
    throw ModelFileError(file, "tensor 'query_table'", "missing (the query: query_table [C(N, q), k] or an MLP query.0, ...)");
  int k = 0;
  if (qtable) {
    const std::uint64_t subsets = binomial_saturating(m.N, m.q);
    k = dim_of(file, f, "query_table", 1, "k (the query width)", Limits::kMaxKeyWidth);
    if (subsets > Limits::kMaxTableEntries / static_cast<std::uint64_t>(k))
      throw ModelFileError(file, "tensor 'query_table'.shape",
                           "C(N, q)·k exceeds the limit of " + std::to_string(Limits::kMaxTableEntries) + " entries");
    m.query_table = rational_matrix(file, f, "query_table", subsets, static_cast<std::uint64_t>(k),
                                    "one query per q-subset of [N] in lexicographic order");
    r.known.insert("query_table");
  } else {
    m.query_is_table = false;
    m.query_mlp = r.mlp("query", 2 * m.N, 2 * m.N, 0, "the query MLP on (1_y, e(i)), in = 2N");
    k = m.query_mlp.back().out;
    if (k > Limits::kMaxKeyWidth)
      throw ModelFileError(file, "tensor 'query." + std::to_string(m.query_mlp.size() - 1) + ".weight'.shape",
                           "the query width k must be in 1.." + std::to_string(Limits::kMaxKeyWidth) + " (got " +
                               std::to_string(k) + ")");
    require_rational_layers(file, "query", m.query_mlp);
  }
  // The key: key_table or key.L, not both, width k.
  const bool ktable = f.tensors.count("key_table") > 0, kmlp = f.tensors.count("key.0.weight") > 0;
  if (ktable && kmlp) throw ModelFileError(file, "tensor 'key_table'", "and key.0.weight both present: the key is one or the other");
  if (!ktable && !kmlp)
    throw ModelFileError(file, "tensor 'key_table'", "missing (the key: key_table [N, k] or an MLP key.0, ...)");
  if (ktable) {
    m.key_table = rational_matrix(file, f, "key_table", static_cast<std::uint64_t>(m.N), static_cast<std::uint64_t>(k),
                                  "one key of the query's width k per position j");
    r.known.insert("key_table");
  } else {
    m.key_is_table = false;
    m.key_mlp = r.mlp("key", m.N, m.N, k, "the key MLP on e(j), in = N, out = k");
    require_rational_layers(file, "key", m.key_mlp);
  }
  // Values and ψ: linear, no bias.
  for (const char* name : {"value_map.bias", "output_map.bias", "value_map.weight", "output_map.weight"})
    if (f.tensors.count(name))
      throw ModelFileError(file, std::string("tensor '") + name + "'",
                           "not allowed: value_map [d_v, d'] and output_map [d', d_v] are plain tensors and have no bias "
                           "(values linear in z_j, ψ linear)");
  const int dv = dim_of(file, f, "value_map", 0, "d_v (the value width)", Limits::kMaxValueWidth);
  m.value_map = rational_matrix(file, f, "value_map", static_cast<std::uint64_t>(dv), static_cast<std::uint64_t>(m.d),
                                "v_j = value_map · z_j, [d_v, d']");
  m.output_map = rational_matrix(file, f, "output_map", static_cast<std::uint64_t>(m.d), static_cast<std::uint64_t>(dv),
                                 "f(X)_i = output_map · Σ_j a_ij v_j, [d', d_v]");
  r.known.insert("value_map");
  r.known.insert("output_map");
  const bool deep = m.query_mlp.size() > 1 || m.key_mlp.size() > 1;
  if (f.metadata.count("activation") || deep) {
    const std::string& act = meta(file, f, "activation");
    if (act != "relu" && act != "gelu")
      throw ModelFileError(file, "__metadata__.activation", "must be relu or gelu (got '" + act + "')");
    m.activation = act == "relu" ? Activation::Relu : Activation::Gelu;
  }
  r.refuse_unknown("qsa-unit", "query_table or query.L, key_table or key.L, value_map, output_map");
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  m.dtypes = r.dtypes();
  return m;
}

QsaUnitModel read_qsa_unit_model(const std::string& path) { return qsa_unit_model_from(path, read_safetensors(path)); }

SafetensorsFile qsa_unit_model_file(const QsaUnitModel& m, const ModelWriteOptions& opts, const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kQsaUnitFormatVersion);
  f.metadata["class"] = kQsaUnitClass;
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["q"] = std::to_string(m.q);
  f.metadata["d"] = std::to_string(m.d);
  f.metadata["heads"] = "1";
  f.metadata["residual"] = "false";
  if (!m.query_is_table || !m.key_is_table) f.metadata["activation"] = activation_name(m.activation);
  else f.metadata.erase("activation");
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  auto put = [&](const std::string& name, const Mat<Rational>& a) {
    std::vector<ExactReal> v(a.data().begin(), a.data().end());
    model_fields::put_table(f, file, name, v, {a.rows(), a.cols()}, opts.exact, opts.dtype);
  };
  auto put_mlp = [&](const std::string& prefix, const std::vector<LinearMap>& layers) {
    for (std::size_t l = 0; l < layers.size(); ++l)
      put_linear(f, prefix + "." + std::to_string(l), layers[l], opts.exact, opts.dtype, file);
  };
  if (m.query_is_table) put("query_table", m.query_table);
  else put_mlp("query", m.query_mlp);
  if (m.key_is_table) put("key_table", m.key_table);
  else put_mlp("key", m.key_mlp);
  put("value_map", m.value_map);
  put("output_map", m.output_map);
  return f;
}

void write_qsa_unit_model(const std::string& path, const QsaUnitModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, qsa_unit_model_file(m, opts, path));
}

QsaUnitModel qsa_unit_of_table(const QsaTableModel& t) {
  auto limit = [](const char* what, std::size_t v, int hi) {
    if (v < 1 || v > static_cast<std::size_t>(hi))
      throw std::invalid_argument(std::string(what) + " = " + std::to_string(v) + " is outside class qsa-unit's 1.." +
                                  std::to_string(hi));
  };
  limit("N", static_cast<std::size_t>(t.N), Limits::kMaxN);
  limit("d'", static_cast<std::size_t>(t.d), Limits::kMaxD);
  limit("k", static_cast<std::size_t>(t.k()), Limits::kMaxKeyWidth);
  limit("d_v", t.value_map.rows(), Limits::kMaxValueWidth);
  if (t.output_map.rows() != static_cast<std::size_t>(t.d))
    throw std::invalid_argument("output_map maps to width " + std::to_string(t.output_map.rows()) +
                                ", class qsa-unit needs d' = " + std::to_string(t.d));
  QsaUnitModel m;
  m.N = t.N;
  m.q = t.q;
  m.d = t.d;
  m.query_table = t.query_table;
  m.key_table = t.key_table;
  m.value_map = t.value_map;
  m.output_map = t.output_map;
  m.metadata = t.metadata;
  m.construction = t.construction;
  m.dtypes = t.dtypes;
  return m;
}

// ---- the rows ---------------------------------------------------------------------------------

namespace {

double lo_of(const DInterval& x) { return x.lower(); }
double hi_of(const DInterval& x) { return x.upper(); }
double lo_of(const Interval& x) { return x.lower_double(); }
double hi_of(const Interval& x) { return x.upper_double(); }

// The unit's maps at one number type: query / key MLP layers, keys per position, A = P·V.
template <class T>
struct UnitAt {
  int N = 0, q = 0, d = 0, k = 0;
  Activation act = Activation::Relu;
  std::vector<LinearT<T>> query_layers;  // empty: query table
  std::vector<LinearT<T>> query_rest;    // the query's layers after the first
  std::vector<T> keys;                   // N·k
  std::vector<T> A;                      // d·d
};

template <class T, class Make>
UnitAt<T> unit_at(const QsaUnitModel& m, Make&& make) {
  UnitAt<T> u;
  u.N = m.N;
  u.q = m.q;
  u.d = m.d;
  u.k = m.k();
  u.act = m.activation;
  auto layers = [&](const std::vector<LinearMap>& ls) {
    std::vector<LinearT<T>> r;
    for (const auto& l : ls) r.push_back(convert_linear<T>(l, [&](const ExactReal& e) { return make(e.constant); }));
    return r;
  };
  if (!m.query_is_table) {
    u.query_layers = layers(m.query_mlp);
    u.query_rest.assign(u.query_layers.begin() + 1, u.query_layers.end());
  }
  u.keys.resize(static_cast<std::size_t>(m.N) * u.k);
  if (m.key_is_table) {
    for (int j = 0; j < m.N; ++j)
      for (int c = 0; c < u.k; ++c) u.keys[static_cast<std::size_t>(j) * u.k + c] = make(m.key_table(j, c));
  } else {
    const std::vector<LinearT<T>> kl = layers(m.key_mlp);
    std::vector<T> x(static_cast<std::size_t>(m.N)), a(kMaxMlpWidth), b(kMaxMlpWidth);
    for (int j = 0; j < m.N; ++j) {
      for (int c = 0; c < m.N; ++c) x[c] = T(c == j ? 1 : 0);
      const T* out = apply_mlp(kl, m.activation, x.data(), a, b);
      for (int c = 0; c < u.k; ++c) u.keys[static_cast<std::size_t>(j) * u.k + c] = out[c];
    }
  }
  const Mat<Rational> A = m.product();
  for (const auto& v : A.data()) u.A.push_back(make(v));
  return u;
}

// The query of token i with subset S (table row, or the MLP on (1_S, e(i)): its first layer is the
// sum of the columns of S and of N + i, plus the bias).
template <class T, class Make>
void query_of(const QsaUnitModel& m, const UnitAt<T>& u, const int* S, std::uint64_t rank, int i, Make&& make, T* out,
              std::vector<T>& a,
              std::vector<T>& b, std::vector<T>& first) {
  if (m.query_is_table) {
    for (int c = 0; c < u.k; ++c) out[c] = make(m.query_table(rank, c));
    return;
  }
  const LinearT<T>& l0 = u.query_layers.front();
  for (int o = 0; o < l0.out; ++o) {
    const T* w = l0.w.data() + static_cast<std::size_t>(o) * l0.in;
    T acc = l0.b.empty() ? T(0) : l0.b[o];
    for (int s = 0; s < m.q; ++s) acc += w[S[s]];
    acc += w[m.N + i];
    first[o] = u.query_layers.size() > 1 ? activate(u.act, acc) : acc;
  }
  if (u.query_layers.size() == 1) {
    for (int c = 0; c < u.k; ++c) out[c] = first[c];
    return;
  }
  const T* r = apply_mlp(u.query_rest, u.act, first.data(), a, b);
  for (int c = 0; c < u.k; ++c) out[c] = r[c];
}

// Softmax weights from scores (shifted by a point at or above the maximum).
template <class T>
void weights_of(const T* s, int N, T* a) {
  int arg = 0;
  for (int j = 1; j < N; ++j)
    if (score_less(s[arg], s[j])) arg = j;
  const T shift = shift_point(s[arg]);
  T Z(0);
  for (int j = 0; j < N; ++j) {
    a[j] = exp(s[j] - shift);
    Z += a[j];
  }
  for (int j = 0; j < N; ++j) a[j] = a[j] / Z;
}

// Bounds of one row's worst case from its weights a (scalar: exact enclosure; else upper and lower
// bounds, with the coordinate u = e_best that gives the lower one).
template <class T>
struct RowBounds {
  T upper, lower;
  int best = 0;
};

template <class T>
RowBounds<T> row_bounds(const UnitAt<T>& u, const std::optional<T>& alpha, const T* a, const std::uint8_t* in_S,
                        std::vector<T>& B) {
  const int N = u.N, d = u.d;
  const T t = T(1) / T(u.q), zero(0);
  RowBounds<T> r;
  if (alpha) {
    T E(0);
    for (int j = 0; j < N; ++j) E += abs(*alpha * a[j] - (in_S[j] ? t : zero));
    r.upper = E;
    r.lower = E;
    return r;
  }
  T upper(0);
  std::array<T, QsaUnitLimits::kMaxD> lower;  // no allocation per row
  for (int x = 0; x < d; ++x) lower[x] = T(0);
  for (int j = 0; j < N; ++j) {
    for (int x = 0; x < d; ++x)
      for (int y = 0; y < d; ++y) {
        T v = a[j] * u.A[static_cast<std::size_t>(x) * d + y];
        if (x == y && in_S[j]) v -= t;
        B[static_cast<std::size_t>(x) * d + y] = v;
      }
    // ‖B_j‖_2 ≤ min(‖B_j‖_F, √(‖B_j‖_1·‖B_j‖_∞)); ‖B_jᵀe_x‖ = the norm of row x.
    T frob(0);
    T one(0), inf(0);
    bool first = true;
    for (int x = 0; x < d; ++x) {
      T row_sq(0), row_abs(0), col_abs(0);
      for (int y = 0; y < d; ++y) {
        const T& v = B[static_cast<std::size_t>(x) * d + y];
        row_sq += square(v);
        row_abs += abs(v);
        col_abs += abs(B[static_cast<std::size_t>(y) * d + x]);
      }
      frob += row_sq;
      lower[x] += sqrt(row_sq);
      if (first || hi_of(row_abs) > hi_of(inf)) inf = row_abs;
      if (first || hi_of(col_abs) > hi_of(one)) one = col_abs;
      first = false;
    }
    const T f = sqrt(frob), g = sqrt(one * inf);
    upper += hi_of(g) < hi_of(f) ? g : f;
  }
  r.upper = upper;
  r.lower = lower[0];
  for (int x = 1; x < d; ++x)
    if (lo_of(lower[x]) > lo_of(r.lower)) {
      r.lower = lower[x];
      r.best = x;
    }
  return r;
}

// One row in the generic filtered sweep.  The tally keeps the row of largest certified upper bound.
struct RowOutcome {
  CaseState st = CaseState::Open;
  bool decided = false;
  double upper = -1;  // certified upper bound, rounded up
  CaseState state() const { return st; }
  bool settled() const { return decided; }
  double rank() const { return -upper; }
  int group() const { return 0; }
};

// Exact details of one row: certified enclosure of its worst case and the witness z.
struct RowDetail {
  Rational lower, upper;
  Mat<Rational> z;
};

// A rational unit-ball vector close to v/‖v‖ (zero when v is 0): rounded to 2^-52 and shrunk until
// its exact norm is at most 1.
std::vector<Rational> unit_direction(const std::vector<double>& v) {
  double n = 0;
  for (double x : v) n += x * x;
  n = std::sqrt(n);
  std::vector<Rational> z(v.size());
  if (!(n > 0) || !std::isfinite(n)) return z;
  double shrink = 1.0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    Rational norm2 = 0;
    for (std::size_t c = 0; c < v.size(); ++c) {
      z[c] = Rational(std::ldexp(std::nearbyint(std::ldexp(v[c] / n * shrink, 52)), -52));
      norm2 += z[c] * z[c];
    }
    if (norm2 <= 1) return z;
    shrink *= 1 - 0x1p-40;
  }
  return std::vector<Rational>(v.size());
}

struct Setup {
  const QsaUnitModel& m;
  Rational eps;
  DInterval eps_fast;
  std::optional<Rational> alpha;
  bool per_position = false;
  UnitAt<DInterval> fast;
};

// Per-thread state: scratch for the fast path, MPFI maps cached per precision.
class RowWorker {
 public:
  explicit RowWorker(const Setup& s)
      : s_(s), qa_(kMaxMlpWidth), qb_(kMaxMlpWidth), qf_(kMaxMlpWidth), qv_(Limits::kMaxKeyWidth), sc_(s.m.N), a_(s.m.N),
        B_(Limits::kMaxD * Limits::kMaxD), r_(s.m.N), in_S_(s.m.N, 0), diff_(s.m.N) {
    if (s.alpha) alpha_fast_ = DInterval::from_rational(*s.alpha);
  }

  // S with its lexicographic rank (the sweep's case index, the query table's row).
  void fast(const int* S, std::uint64_t rank, RowOutcome* out) {
    rank_ = rank;
    mark(S, 1);
    if (s_.m.query_is_table && s_.m.key_is_table) {
      // Tables score exactly (as the qsa-table checker's rows do); α = 1 is its very row.
      exact_differences();
      for (int j = 0; j < s_.m.N; ++j) r_[j] = DInterval::from_rational(diff_[j]);
      RowBounds<DInterval> r;
      if (s_.alpha && *s_.alpha == 1) {
        r.upper = r.lower = qsa_row_error_fast(r_.data(), in_S_.data(), s_.m.N, s_.m.q, a_.data());
      } else {
        weights_of(r_.data(), s_.m.N, a_.data());
        r = row_bounds(s_.fast, alpha_fast_, a_.data(), in_S_.data(), B_);
      }
      out[0] = classify(lo_of(r.lower) > s_.eps_fast.upper(), r.upper.upper() <= s_.eps_fast.lower(), r.upper.upper());
      mark(S, 0);
      return;
    }
    const int width = s_.per_position ? s_.m.N : 1;
    for (int i = 0; i < width; ++i) {
      const RowBounds<DInterval> r = evaluate(s_.fast, S, i, alpha_fast_, qa_, qb_, qf_, qv_, sc_, a_, B_,
                                              [](const Rational& x) { return DInterval::from_rational(x); });
      out[i] = classify(lo_of(r.lower) > s_.eps_fast.upper(), r.upper.upper() <= s_.eps_fast.lower(), r.upper.upper());
    }
    mark(S, 0);
  }

  void exact(const int* S, std::uint64_t rank, mpfr_prec_t bits, RowOutcome* out) {
    rank_ = rank;
    WorkingPrecision wp(bits);
    mark(S, 1);
    const int width = s_.per_position ? s_.m.N : 1;
    for (int i = 0; i < width; ++i) {
      const RowBounds<Interval> r = precise(S, i, bits);
      const IntervalBounds lo = safe_bounds(r.lower), up = safe_bounds(r.upper);
      out[i] = classify(lo.lower > s_.eps, up.upper <= s_.eps, DInterval::from_rational(up.upper).upper());
    }
    mark(S, 0);
  }

  // The row (S, i) at `bits`: its enclosure and witness z (token i; every token has y = S).
  RowDetail detail(const std::vector<int>& S, int i, mpfr_prec_t bits) {
    rank_ = rank_subset(S, s_.m.N);
    WorkingPrecision wp(bits);
    mark(S.data(), 1);
    const RowBounds<Interval> r = precise(S.data(), i, bits);
    RowDetail d;
    const int N = s_.m.N, dd = s_.m.d;
    d.z = Mat<Rational>(N, dd);
    const Interval t = Interval(1L, bits) / Interval(static_cast<long>(s_.m.q), bits), zero(0L, bits);
    if (s_.alpha) {
      // z_j = sign(α a_j − t_j)·e_1 (+1 where the sign is not decided).
      for (int j = 0; j < N; ++j) {
        if (have_signs_) {
          d.z(j, 0) = signs_[j];
          continue;
        }
        Interval diff = Interval(*s_.alpha, bits) * ai_[j] - (in_S_[j] ? t : zero);
        d.z(j, 0) = mpfi_is_strictly_neg(diff.get()) > 0 ? -1 : 1;
      }
      const IntervalBounds b = safe_bounds(r.upper);
      d.lower = b.lower;
      d.upper = b.upper;
    } else {
      // z_j = B_jᵀu/‖B_jᵀu‖ with u = e_best, as rationals; the lower bound is ⟨u, Σ_j B_j z_j⟩ of
      // that z, recomputed (a lower bound of the witness's error and of the supremum).
      const Mat<Rational> A = s_.m.product();
      Interval value(0L, bits);
      for (int j = 0; j < N; ++j) {
        std::vector<double> row(static_cast<std::size_t>(dd));
        std::vector<Interval> Brow;
        for (int y = 0; y < dd; ++y) {
          Interval v = ai_[j] * Interval(A(r.best, y), bits);
          if (y == r.best && in_S_[j]) v -= t;
          row[y] = v.mid_double();
          Brow.push_back(v);
        }
        const std::vector<Rational> zj = unit_direction(row);
        for (int y = 0; y < dd; ++y) {
          d.z(j, y) = zj[y];
          value += Brow[y] * Interval(zj[y], bits);
        }
      }
      d.lower = safe_bounds(value).lower;
      d.upper = safe_bounds(r.upper).upper;
      if (d.upper < d.lower) d.upper = d.lower;
    }
    mark(S.data(), 0);
    return d;
  }

 private:
  template <class T, class Make>
  RowBounds<T> evaluate(const UnitAt<T>& u, const int* S, int i, const std::optional<T>& alpha, std::vector<T>& qa,
                        std::vector<T>& qb, std::vector<T>& qf, std::vector<T>& qv, std::vector<T>& sc, std::vector<T>& a,
                        std::vector<T>& B, Make&& make) {
    const int N = u.N, k = u.k;
    query_of(s_.m, u, S, rank_, i, make, qv.data(), qa, qb, qf);
    for (int j = 0; j < N; ++j) {
      const T* kj = u.keys.data() + static_cast<std::size_t>(j) * k;
      T acc = qv[0] * kj[0];
      for (int c = 1; c < k; ++c) acc += qv[c] * kj[c];
      sc[j] = acc;
    }
    weights_of(sc.data(), N, a.data());
    return row_bounds(u, alpha, a.data(), in_S_.data(), B);
  }

  // MPFI row at `bits`; leaves the weights in ai_.  Table queries and keys score in exact
  // rationals (so a row whose S scores tie keeps the closed form's relative accuracy when α = 1,
  // the qsa-table checker's own enclosure).
  RowBounds<Interval> precise(const int* S, int i, mpfr_prec_t bits) {
    have_signs_ = false;
    if (bits_ != bits) {
      unit_ = unit_at<Interval>(s_.m, [bits](const Rational& x) { return Interval(x, bits); });
      ia_.assign(kMaxMlpWidth, Interval(0L, bits));
      ib_ = ia_;
      if_ = ia_;
      iq_.assign(Limits::kMaxKeyWidth, Interval(0L, bits));
      is_.assign(static_cast<std::size_t>(s_.m.N), Interval(0L, bits));
      ai_ = is_;
      iB_.assign(static_cast<std::size_t>(Limits::kMaxD) * Limits::kMaxD, Interval(0L, bits));
      alpha_ = s_.alpha ? std::optional<Interval>(Interval(*s_.alpha, bits)) : std::nullopt;
      bits_ = bits;
    }
    if (s_.m.query_is_table && s_.m.key_is_table) {
      const int N = s_.m.N;
      exact_differences();
      const std::vector<Rational>& r = diff_;
      std::vector<Interval> e;
      Interval Z(0L, bits);
      for (int j = 0; j < N; ++j) {
        e.push_back(exp(Interval(r[j], bits)));
        Z += e.back();
      }
      for (int j = 0; j < N; ++j) ai_[j] = e[j] / Z;
      if (s_.alpha && *s_.alpha == 1) {
        const Interval E = qsa_row_error_interval(r, std::vector<int>(S, S + s_.m.q), bits, &signs_);
        have_signs_ = true;
        return {E, E, 0};
      }
      return row_bounds(unit_, alpha_, ai_.data(), in_S_.data(), iB_);
    }
    return evaluate(unit_, S, i, alpha_, ia_, ib_, if_, iq_, is_, ai_, iB_,
                    [bits](const Rational& x) { return Interval(x, bits); });
  }

  // Exact score differences s_j − max_k s_k of the table row rank_, into diff_.
  void exact_differences() {
    const int N = s_.m.N, k = s_.m.k();
    for (int j = 0; j < N; ++j) {
      Rational acc = 0;
      for (int c = 0; c < k; ++c) acc += s_.m.query_table(rank_, c) * s_.m.key_table(j, c);
      diff_[j] = acc;
    }
    const Rational top = *std::max_element(diff_.begin(), diff_.end());
    for (auto& x : diff_) x -= top;
  }

  RowOutcome classify(bool fails, bool holds, double upper) const {
    if (holds) return {CaseState::Holds, true, upper};
    if (fails) return {CaseState::Fails, true, upper};
    return {CaseState::Open, false, upper};
  }
  void mark(const int* S, std::uint8_t v) {
    for (int s = 0; s < s_.m.q; ++s) in_S_[S[s]] = v;
  }

  const Setup& s_;
  std::optional<DInterval> alpha_fast_;
  std::vector<DInterval> qa_, qb_, qf_, qv_, sc_, a_, B_, r_;
  std::vector<std::uint8_t> in_S_;
  std::vector<Rational> diff_;
  mpfr_prec_t bits_ = 0;
  std::uint64_t rank_ = 0;  // the row's subset rank
  UnitAt<Interval> unit_;
  std::optional<Interval> alpha_;
  std::vector<Interval> ia_, ib_, if_, iq_, is_, ai_, iB_;
  bool have_signs_ = false;  // signs_ from the qsa-table checker's own row (α = 1, tables)
  std::vector<int> signs_;
};

struct RowProblem {
  struct Case {
    std::uint64_t rank;
    const int* S;
  };
  using Outcome = RowOutcome;
  using Worker = std::unique_ptr<RowWorker>;
  static constexpr int groups = 1;
  const Setup& setup;
  std::uint64_t subsets;

  std::uint64_t cases() const { return subsets; }
  unsigned outcomes_per_case() const { return setup.per_position ? static_cast<unsigned>(setup.m.N) : 1u; }
  Worker make_worker() const { return std::make_unique<RowWorker>(setup); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    if (begin >= end) return;
    std::vector<int> S(static_cast<std::size_t>(setup.m.q));
    unrank_subset(begin, setup.m.N, setup.m.q, S.data());
    for (std::uint64_t rank = begin; rank < end; ++rank) {
      f(rank, Case{rank, S.data()});
      next_subset(S.data(), setup.m.q, setup.m.N);
    }
  }
  void fast(Worker& w, const Case& c, Outcome* out) const { w->fast(c.S, c.rank, out); }
  void exact(Worker& w, const Case& c, mpfr_prec_t bits, Outcome* out) const { w->exact(c.S, c.rank, bits, out); }
};

// ---- the direct forward pass (model/attention.hpp) ----------------------------------------------

// X·Wᵀ + b for every row of X, then the activation between layers: the MLP as matrix products.
Mat<Interval> mlp_rows(const Mat<Interval>& X0, const std::vector<LinearMap>& layers, Activation act, mpfr_prec_t bits) {
  Mat<Interval> X = X0;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LinearMap& lm = layers[l];
    Mat<Interval> wt(lm.in, lm.out);
    for (int o = 0; o < lm.out; ++o)
      for (int c = 0; c < lm.in; ++c) wt(c, o) = Interval(lm.weight[static_cast<std::size_t>(o) * lm.in + c].constant, bits);
    X = matmul(X, wt);
    for (std::size_t i = 0; i < X.rows(); ++i)
      for (int o = 0; o < lm.out; ++o) {
        if (!lm.bias.empty()) X(i, o) += Interval(lm.bias[o].constant, bits);
        if (l + 1 < layers.size()) X(i, o) = activate(act, X(i, o));
      }
  }
  return X;
}

Mat<Interval> forward(const QsaUnitModel& m, const Mat<Rational>& z, const std::vector<std::vector<int>>& y, mpfr_prec_t bits) {
  WorkingPrecision wp(bits);
  const int N = m.N, k = m.k(), dv = m.dv();
  QKV<Interval> h{Mat<Interval>(N, k), Mat<Interval>(N, k), Mat<Interval>(N, dv)};
  if (m.query_is_table) {
    for (int i = 0; i < N; ++i) {
      const std::uint64_t r = rank_subset(y[i], N);
      for (int c = 0; c < k; ++c) h.queries(i, c) = Interval(m.query_table(r, c), bits);
    }
  } else {
    Mat<Interval> X(N, 2 * N);
    for (int i = 0; i < N; ++i) {
      for (int c = 0; c < 2 * N; ++c) X(i, c) = Interval(0L, bits);
      for (int s : y[i]) X(i, s) = Interval(1L, bits);
      X(i, N + i) = Interval(1L, bits);
    }
    h.queries = mlp_rows(X, m.query_mlp, m.activation, bits);
  }
  if (m.key_is_table) {
    for (int j = 0; j < N; ++j)
      for (int c = 0; c < k; ++c) h.keys(j, c) = Interval(m.key_table(j, c), bits);
  } else {
    Mat<Interval> X(N, N);
    for (int j = 0; j < N; ++j)
      for (int c = 0; c < N; ++c) X(j, c) = Interval(c == j ? 1L : 0L, bits);
    h.keys = mlp_rows(X, m.key_mlp, m.activation, bits);
  }
  for (int j = 0; j < N; ++j)
    for (int r = 0; r < dv; ++r) {
      Interval acc(0L, bits);
      for (int c = 0; c < m.d; ++c) acc += Interval(m.value_map(r, c), bits) * Interval(z(j, c), bits);
      h.values(j, r) = acc;
    }
  const Mat<Interval> u = attention_unit(h);  // N × d_v
  Mat<Interval> out(N, m.d);
  for (int i = 0; i < N; ++i)
    for (int r = 0; r < m.d; ++r) {
      Interval acc(0L, bits);
      for (int c = 0; c < dv; ++c) acc += Interval(m.output_map(r, c), bits) * u(i, c);
      out(i, r) = acc;
    }
  return out;
}

std::vector<int> subset_of_rank(std::uint64_t rank, int N, int q) {
  std::vector<int> S(static_cast<std::size_t>(q));
  unrank_subset(rank, N, q, S.data());
  return S;
}

}  // namespace

QsaUnitCheckResult check_qsa_unit(const QsaUnitModel& m, const Rational& eps, unsigned threads, bool force,
                                  const Semantics& sem) {
  const SemanticsPolicy policy(sem, kQsaUnitSemantics, "class qsa-unit");
  ElapsedTimer timer;
  QsaUnitCheckResult res;
  res.per_position = m.query_positional();
  res.rows = m.rows();
  const std::string what = res.per_position ? "qsa-unit rows (one per subset S and token i, N·C(N, q))"
                                            : "qsa-unit rows (one per subset S, C(N, q))";
  require_size_limit(what, res.rows, kQsaUnitMaxRows, force);
  if (res.rows > kQsaUnitMaxForcedRows)
    throw ConfigError("force", SizeLimitError::describe(what, res.rows, kQsaUnitMaxForcedRows) + " that even a forced run keeps");
  Setup setup{m, eps, DInterval::from_rational(eps), m.scalar(), res.per_position, {}};
  setup.fast = unit_at<DInterval>(m, [](const Rational& x) { return DInterval::from_rational(x); });
  res.alpha = setup.alpha;
  const std::uint64_t subsets = binomial(m.N, m.q);
  res.reduction = std::string("the query depends only on ") + (res.per_position ? "(y_i, i)" : "y_i") +
                  " and the key only on j, so token i's attention row depends only on " +
                  (res.per_position ? "(S, i)" : "S") + " = " + (res.per_position ? "(y_i, i)" : "y_i") + ": all " +
                  std::to_string(res.rows) + " rows cover all inputs; per row the worst case over z in (B^d')^N of " +
                  "||sum_j B_j z_j||, B_j = a_j A - t_j I, A = output_map value_map";
  res.bound_derivation =
      setup.alpha ? "A = alpha I (alpha = " + to_exact_string(*setup.alpha) +
                        ", checked exactly): worst case exactly sum_j |alpha a_j - t_j|, attained at z_j = "
                        "sign(alpha a_j - t_j) e_1; enclosed with DInterval (MPFI fallback)"
                  : std::string("A not scalar: upper sum_j min(||B_j||_F, sqrt(||B_j||_1 ||B_j||_inf)); lower the best "
                                "u in {e_1..e_d'} of sum_j ||B_j^T u||, the reported one recomputed on the rational "
                                "witness z_j ~ B_j^T u/||B_j^T u||; DInterval with MPFI fallback");

  const TallyOf<RowProblem> tally = filtered_sweep(RowProblem{setup, subsets}, threads);
  res.fallback_rows = tally.fallbacks;
  res.undecided_rows = tally.undecided;
  res.failing_rows = tally.failures;
  constexpr std::uint64_t kNone = UINT64_MAX;
  auto index_of = [](const std::optional<IndexedOutcome<RowOutcome>>& o) { return o ? o->index : kNone; };
  const std::uint64_t worst_index = index_of(tally.worst[0]);
  const double worst_upper = tally.worst[0] ? tally.worst[0]->outcome.upper : -1.0;
  const std::uint64_t width = res.per_position ? static_cast<std::uint64_t>(m.N) : 1;
  RowWorker worker(setup);
  auto detail_of = [&](std::uint64_t index) {
    return worker.detail(subset_of_rank(index / width, m.N, m.q), static_cast<int>(index % width), kLadderStartBits);
  };
  std::uint64_t report = worst_index;
  if (res.failing_rows > 0) {
    res.verdict = Verdict::Fails;
    if (!(detail_of(worst_index).lower > eps)) report = index_of(tally.first_failure);
  } else if (tally.undecided > 0) {
    res.verdict = Verdict::Undecided;
    report = index_of(tally.first_undecided);
  } else {
    res.verdict = Verdict::Holds;
  }
  res.seconds = timer.seconds();
  res.threads = threads;
  if (report == kNone) return res;
  res.has_witness = true;
  res.witness_S = subset_of_rank(report / width, m.N, m.q);
  res.witness_i = res.per_position ? static_cast<int>(report % width) : -1;
  const RowDetail det = detail_of(report);
  res.witness_z = det.z;
  // The enclosure of the maximum over all rows, whichever row is reported (as check_qsa): upper the
  // largest certified row upper bound, lower the best of the reported row and the top row.
  res.worst_lower = det.lower;
  res.worst_upper = det.upper;
  if (std::isfinite(worst_upper)) res.worst_upper = std::max(res.worst_upper, Rational(worst_upper));
  if (report != worst_index && worst_index != kNone) {
    const RowDetail top = detail_of(worst_index);
    res.worst_lower = std::max(res.worst_lower, top.lower);
    res.worst_upper = std::max(res.worst_upper, top.upper);
  }
  if (res.verdict == Verdict::Fails) {
    const std::vector<std::vector<int>> y(static_cast<std::size_t>(m.N), res.witness_S);
    const Mat<Rational> truth = qsa(res.witness_z, y);
    const int i = res.per_position ? res.witness_i : 0;
    raise_precision(
        [&](mpfr_prec_t bits) {
          const Mat<Interval> out = forward(m, res.witness_z, y, bits);
          WorkingPrecision wp(bits);
          Interval acc(0L, bits);
          for (int c = 0; c < m.d; ++c) acc += sqr(out(i, c) - Interval(truth(i, c), bits));
          const IntervalBounds err = safe_bounds(sqrt(acc));
          res.forward_error_lower = err.lower;
          res.forward_error_upper = err.upper;
          res.forward_bits = bits;
          res.witness_verified = err.lower > eps;
          return res.witness_verified || err.upper <= eps;
        },
        kWitnessLadder);
    if (!res.witness_verified) res.verdict = Verdict::Undecided;  // never report fails unverified
  }
  res.seconds = timer.seconds();
  return res;
}

QsaUnitRow qsa_unit_row(const QsaUnitModel& m, const std::vector<int>& S, int i, mpfr_prec_t bits) {
  if (S.size() != static_cast<std::size_t>(m.q) || !std::is_sorted(S.begin(), S.end()) ||
      std::adjacent_find(S.begin(), S.end()) != S.end() || S.front() < 0 || S.back() >= m.N || i < 0 || i >= m.N)
    throw std::invalid_argument("qsa_unit_row: S must be a sorted q-subset of [N] and i in [N]");
  Setup setup{m, Rational(1), DInterval(1.0), m.scalar(), m.query_positional(), {}};
  setup.fast = unit_at<DInterval>(m, [](const Rational& x) { return DInterval::from_rational(x); });
  RowWorker w(setup);
  const RowDetail d = w.detail(S, setup.per_position ? i : 0, bits);
  return {d.lower, d.upper, d.z};
}

Mat<Interval> eval_qsa_unit(const QsaUnitModel& m, const Mat<Rational>& z, const std::vector<std::vector<int>>& y,
                            mpfr_prec_t bits, const Semantics& sem) {
  const SemanticsPolicy policy(sem, kQsaUnitSemantics, "class qsa-unit");
  if (z.rows() != static_cast<std::size_t>(m.N) || z.cols() != static_cast<std::size_t>(m.d) ||
      y.size() != static_cast<std::size_t>(m.N))
    throw ConfigError("input", "needs N = " + std::to_string(m.N) + " tokens with z_i of width d' = " + std::to_string(m.d));
  for (const auto& yi : y) {
    if (yi.size() != static_cast<std::size_t>(m.q) || !std::is_sorted(yi.begin(), yi.end()) ||
        std::adjacent_find(yi.begin(), yi.end()) != yi.end())
      throw ConfigError("input", "every y_i must be a sorted q-subset of [N] with q = " + std::to_string(m.q));
    for (int s : yi)
      if (s < 0 || s >= m.N) throw ConfigError("input", "y entries must be in [N] (0-based 0.." + std::to_string(m.N - 1) + ")");
  }
  return forward(m, z, y, bits);
}

}  // namespace attnbounds
