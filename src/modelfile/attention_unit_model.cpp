#include "modelfile/attention_unit_model.hpp"

#include <array>
#include <memory>
#include <set>

#include "core/config_error.hpp"
#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "model/attention.hpp"
#include "model/matrix.hpp"
#include "model/turn_table.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/model_fields.hpp"
#include "numeric/activation.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

using namespace model_fields;
using Limits = AttentionUnitLimits;

const char* psi_name(AttentionUnitModel::Psi psi) { return psi == AttentionUnitModel::Psi::Mlp ? "mlp" : "norm"; }
const char* match_task_name(MatchTask t) { return t == MatchTask::Match2 ? "match2" : "match3"; }

namespace {
bool is_zero(const ExactReal& x) { return x.is_rational() && x.constant == 0; }
}  // namespace

bool AttentionUnitModel::positional() const {
  if (!positional_input || phi.empty()) return false;
  const LinearMap& l = phi.front();
  for (int o = 0; o < l.out; ++o)
    for (int c = M; c < l.in; ++c)
      if (!is_zero(l.weight[static_cast<std::size_t>(o) * l.in + c])) return true;
  return false;
}

// ---- reading and writing -----------------------------------------------------------------------

AttentionUnitModel attention_unit_model_from(const std::string& file, const SafetensorsFile& f) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != kAttentionUnitClass) throw ModelFileError(file, "__metadata__.class", "is '" + cls + "', not attention-unit");
  meta_int(file, f, "format_version", kMatchModelFormatVersion, kMatchModelFormatVersion);
  AttentionUnitModel m;
  m.metadata = f.metadata;
  m.N = static_cast<int>(meta_int(file, f, "N", 2, Limits::kMaxN));
  m.M = static_cast<int>(meta_int(file, f, "M", 2, Limits::kMaxM));
  const std::string& input = meta(file, f, "phi_input");
  if (input != "token" && input != "token+position")
    throw ModelFileError(file, "__metadata__.phi_input", "must be token or token+position (got '" + input + "')");
  m.positional_input = input == "token+position";
  const int H = static_cast<int>(meta_int(file, f, "heads", 1, Limits::kMaxHeads));
  const std::string& residual = meta(file, f, "residual");
  if (residual != "true" && residual != "false")
    throw ModelFileError(file, "__metadata__.residual", "must be true or false (got '" + residual + "')");
  const std::string& psi = meta(file, f, "psi");
  if (psi != "mlp" && psi != "norm")
    throw ModelFileError(file, "__metadata__.psi", "must be mlp or norm (got '" + psi + "')");
  m.psi = psi == "mlp" ? AttentionUnitModel::Psi::Mlp : AttentionUnitModel::Psi::Norm;

  LayerReader r{file, f, {}, 0};
  const int in0 = m.M + (m.positional_input ? m.N : 0);
  m.phi = r.mlp("phi", in0, in0, 0, "φ");
  const int mw = m.m();
  for (int h = 0; h < H; ++h) {
    const std::string p = "head." + std::to_string(h);
    AttentionHead head;
    head.query = r.linear(p + ".query", mw, mw, Limits::kMaxKeyWidth, "query of head " + std::to_string(h) + ", in = m");
    head.key = r.linear(p + ".key", mw, mw, Limits::kMaxKeyWidth, "key of head " + std::to_string(h) + ", in = m");
    if (head.key.out != head.query.out)
      throw ModelFileError(file, "tensor '" + p + ".key.weight'.shape", "must have the query's out k = " + std::to_string(head.query.out));
    head.value = r.linear(p + ".value", mw, mw, Limits::kMaxValueWidth, "value of head " + std::to_string(h) + ", in = m");
    if (h > 0 && head.value.out != m.heads.front().value.out)
      throw ModelFileError(file, "tensor '" + p + ".value.weight'.shape",
                           "must have out = d = " + std::to_string(m.heads.front().value.out) + " (head 0's; the heads are summed)");
    m.heads.push_back(std::move(head));
  }
  const int d = m.d();
  if (residual == "true") {
    m.residual = r.linear("residual", mw, mw, d, "the residual map, [d, m]");
    if (m.residual->out != d)
      throw ModelFileError(file, "tensor 'residual.weight'.shape", "must have out = d = " + std::to_string(d));
  }
  if (m.psi == AttentionUnitModel::Psi::Mlp) {
    m.psi_mlp = r.mlp("psi", d, d, 1, "ψ");
    if (f.metadata.count("psi_matched"))
      throw ModelFileError(file, "__metadata__.psi_matched", "only with psi = norm (an mlp ψ answers 1 iff its output is > 0)");
  } else {
    const std::string& side = meta(file, f, "psi_matched");
    if (side != "below" && side != "above") throw ModelFileError(file, "__metadata__.psi_matched", "must be below or above");
    m.matched_below = side == "below";
    m.threshold = table(file, f, "psi_threshold", {1}, "ψ's threshold τ on ‖out‖")[0];
    r.known.insert("psi_threshold");
  }
  const bool deep = m.phi.size() > 1 || m.psi_mlp.size() > 1;
  if (f.metadata.count("activation") || deep) {
    const std::string& act = meta(file, f, "activation");
    if (act != "relu" && act != "gelu")
      throw ModelFileError(file, "__metadata__.activation", "must be relu or gelu (got '" + act + "')");
    m.activation = act == "relu" ? Activation::Relu : Activation::Gelu;
  }
  r.refuse_unknown("attention-unit", "phi.L, head.h.query|key|value, residual, psi.L or psi_threshold as its metadata says");
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  m.dtypes = r.dtypes();
  return m;
}

AttentionUnitModel read_attention_unit_model(const std::string& path) {
  return attention_unit_model_from(path, read_safetensors(path));
}

SafetensorsFile attention_unit_model_file(const AttentionUnitModel& m, const ModelWriteOptions& opts, const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kMatchModelFormatVersion);
  f.metadata["class"] = kAttentionUnitClass;
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["M"] = std::to_string(m.M);
  f.metadata["phi_input"] = m.positional_input ? "token+position" : "token";
  f.metadata["activation"] = activation_name(m.activation);
  f.metadata["heads"] = std::to_string(m.heads.size());
  f.metadata["residual"] = m.residual ? "true" : "false";
  f.metadata["psi"] = psi_name(m.psi);
  if (m.psi == AttentionUnitModel::Psi::Norm) f.metadata["psi_matched"] = m.matched_below ? "below" : "above";
  else f.metadata.erase("psi_matched");
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  // ψ is exact in every file (as in the other Match classes); the rest follows opts.
  auto put = [&](const std::string& name, const std::vector<ExactReal>& a, std::vector<std::uint64_t> shape, bool exact) {
    put_table(f, file, name, a, std::move(shape), exact, opts.dtype);
  };
  auto put_linear = [&](const std::string& name, const LinearMap& l, bool exact) {
    attnbounds::put_linear(f, name, l, exact, opts.dtype, file);
  };
  for (std::size_t l = 0; l < m.phi.size(); ++l) put_linear("phi." + std::to_string(l), m.phi[l], opts.exact);
  for (std::size_t h = 0; h < m.heads.size(); ++h) {
    const std::string p = "head." + std::to_string(h);
    put_linear(p + ".query", m.heads[h].query, opts.exact);
    put_linear(p + ".key", m.heads[h].key, opts.exact);
    put_linear(p + ".value", m.heads[h].value, opts.exact);
  }
  if (m.residual) put_linear("residual", *m.residual, opts.exact);
  for (std::size_t l = 0; l < m.psi_mlp.size(); ++l) put_linear("psi." + std::to_string(l), m.psi_mlp[l], true);
  if (m.psi == AttentionUnitModel::Psi::Norm) put("psi_threshold", {m.threshold}, {1}, true);
  return f;
}

void write_attention_unit_model(const std::string& path, const AttentionUnitModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, attention_unit_model_file(m, opts, path));
}

AttentionUnitModel attention_unit_of_match2_construction(int N, int M, const Rational& c, bool flip) {
  AttentionUnitModel m;
  m.N = N;
  m.M = M;
  m.construction = "match2";
  m.metadata["c"] = to_exact_string(c);
  m.metadata["flip_query_sign"] = flip ? "true" : "false";
  m.metadata["task"] = "match2";
  LinearMap table;  // φ(x) = (cos θ_x, sin θ_x): column x of a [2, M] weight
  table.in = M;
  table.out = 2;
  table.weight.resize(2 * static_cast<std::size_t>(M));
  for (int x = 0; x < M; ++x) {
    table.weight[x] = ExactReal::cos_turn(Rational(1), x, M);
    table.weight[static_cast<std::size_t>(M) + x] = ExactReal::sin_turn(Rational(1), x, M);
  }
  m.phi.push_back(table);
  auto diag = [](const Rational& a, const Rational& b) {
    LinearMap l;
    l.in = l.out = 2;
    l.weight = {ExactReal(a), ExactReal(Rational(0)), ExactReal(Rational(0)), ExactReal(b)};
    return l;
  };
  AttentionHead head;
  head.query = diag(c, flip ? c : Rational(-c));  // c·(cos θ, ∓sin θ)
  head.key = diag(Rational(1), Rational(1));
  head.value = diag(Rational(-1), Rational(1));  // (−cos θ, sin θ)
  m.heads.push_back(head);
  m.residual = diag(Rational(1), Rational(1));
  m.psi = AttentionUnitModel::Psi::Norm;
  m.matched_below = true;
  m.threshold = ExactReal::cos_turn(Rational(-1, 2), 1, M).plus(Rational(1, 2));  // (1 − cos(2π/M))/2
  return m;
}

// ---- the unit under a semantics --------------------------------------------------------------

namespace {

// The unit at one precision: φ's rows and the heads' rows per token value (and position),
// ψ's layers.  Row r = x (position-free) or x·N + i.
template <class T>
struct UnitTables {
  int N = 0, M = 0, d = 0;
  bool by_position = false;
  Activation act = Activation::Relu;
  std::vector<int> k;                              // per head
  std::vector<std::vector<T>> q, key, v;           // per head: R·k, R·k, R·d
  std::vector<T> res;                              // R·d, or empty
  bool norm = false;
  std::vector<LinearT<T>> psi;
  T tau;
  int row(int x, int i) const { return by_position ? x * N + i : x; }
};

// The stored entries under the semantics (rounded under embed), per map.
struct Parameters {
  using Linear = LinearT<EmbeddingEntry>;
  std::vector<Linear> phi;
  std::vector<std::array<Linear, 3>> heads;
  std::optional<Linear> residual;
  Parameters(const AttentionUnitModel& m, const SemanticsPolicy& policy) {
    auto of = [&](const LinearMap& l) {
      return convert_linear<EmbeddingEntry>(
          l, [&](const ExactReal& x) { return EmbeddingEntry([x](mpfr_prec_t bits) { return x.at(bits); }, policy); });
    };
    for (const auto& l : m.phi) phi.push_back(of(l));
    for (const auto& h : m.heads) heads.push_back({of(h.query), of(h.key), of(h.value)});
    if (m.residual) residual = of(*m.residual);
  }
};

// Builds the tables from entries converted by make_entry (φ, heads, residual) and make_psi (ψ).
template <class T, class MakeEntry, class MakePsi>
UnitTables<T> build_tables(const AttentionUnitModel& m, const Parameters& p, MakeEntry&& make_entry, MakePsi&& make_psi) {
  UnitTables<T> t;
  t.N = m.N;
  t.M = m.M;
  t.d = m.d();
  t.by_position = m.positional();
  t.act = m.activation;
  auto conv = [&](const Parameters::Linear& l) { return convert_linear<T>(l, make_entry); };
  std::vector<LinearT<T>> phi;
  for (const auto& l : p.phi) phi.push_back(conv(l));
  std::vector<std::array<LinearT<T>, 3>> heads;
  for (const auto& h : p.heads) heads.push_back({conv(h[0]), conv(h[1]), conv(h[2])});
  std::optional<LinearT<T>> residual;
  if (p.residual) residual = conv(*p.residual);
  const int R = t.by_position ? m.M * m.N : m.M, mw = m.m(), d = t.d;
  const std::size_t H = heads.size();
  t.q.resize(H);
  t.key.resize(H);
  t.v.resize(H);
  for (std::size_t h = 0; h < H; ++h) {
    t.k.push_back(heads[h][0].out);
    t.q[h].resize(static_cast<std::size_t>(R) * t.k[h]);
    t.key[h].resize(static_cast<std::size_t>(R) * t.k[h]);
    t.v[h].resize(static_cast<std::size_t>(R) * d);
  }
  if (residual) t.res.resize(static_cast<std::size_t>(R) * d);
  std::vector<T> a(Limits::kMaxWidth), b(Limits::kMaxWidth), first(Limits::kMaxWidth);
  const LinearT<T>& l0 = phi.front();
  const std::vector<LinearT<T>> rest(phi.begin() + 1, phi.end());
  for (int r = 0; r < R; ++r) {
    const int x = t.by_position ? r / m.N : r, i = t.by_position ? r % m.N : 0;
    // φ's first layer on one-hot features: column x (plus column M + i), plus the bias.
    for (int o = 0; o < l0.out; ++o) {
      T acc = l0.w[static_cast<std::size_t>(o) * l0.in + x];
      if (t.by_position) acc += l0.w[static_cast<std::size_t>(o) * l0.in + m.M + i];
      if (!l0.b.empty()) acc += l0.b[o];
      first[o] = (phi.size() > 1) ? activate(t.act, acc) : acc;
    }
    const T* f = rest.empty() ? first.data() : apply_mlp(rest, t.act, first.data(), a, b);
    std::vector<T> phi_row(f, f + mw);
    for (std::size_t h = 0; h < H; ++h) {
      apply(heads[h][0], phi_row.data(), t.q[h].data() + static_cast<std::size_t>(r) * t.k[h]);
      apply(heads[h][1], phi_row.data(), t.key[h].data() + static_cast<std::size_t>(r) * t.k[h]);
      apply(heads[h][2], phi_row.data(), t.v[h].data() + static_cast<std::size_t>(r) * d);
    }
    if (residual) apply(*residual, phi_row.data(), t.res.data() + static_cast<std::size_t>(r) * d);
  }
  t.norm = m.psi == AttentionUnitModel::Psi::Norm;
  for (const auto& l : m.psi_mlp) t.psi.push_back(convert_linear<T>(l, make_psi));
  if (t.norm) t.tau = make_psi(m.threshold);
  return t;
}

// Scratch of one evaluation (no allocation per token).
template <class T>
struct Scratch {
  std::vector<T> s, out, num, a, b;
  Scratch() : s(Limits::kMaxN), out(Limits::kMaxValueWidth), num(Limits::kMaxValueWidth), a(Limits::kMaxWidth), b(Limits::kMaxWidth) {}
};

// ψ's statistic of the output row in sc.out: MLP(out), or ‖out‖.
template <class T>
T psi_statistic(const UnitTables<T>& t, Scratch<T>& sc) {
  using std::sqrt;
  if (t.norm) {
    T acc = square(sc.out[0]);
    for (int c = 1; c < t.d; ++c) acc += square(sc.out[c]);
    return sqrt(acc);
  }
  return *apply_mlp(t.psi, t.act, sc.out.data(), sc.a, sc.b);
}

// ψ's statistic of token i of the input whose rows are `rows`: MLP(out_i), or ‖out_i‖.
template <class T>
T token_statistic(const UnitTables<T>& t, const int* rows, int i, Scratch<T>& sc) {
  using std::exp;
  const int N = t.N, d = t.d, ri = rows[i];
  for (int c = 0; c < d; ++c) sc.out[c] = t.res.empty() ? T(0) : t.res[static_cast<std::size_t>(ri) * d + c];
  for (std::size_t h = 0; h < t.q.size(); ++h) {
    const int k = t.k[h];
    const T* qi = t.q[h].data() + static_cast<std::size_t>(ri) * k;
    std::size_t arg = 0;
    for (int j = 0; j < N; ++j) {
      const T* kj = t.key[h].data() + static_cast<std::size_t>(rows[j]) * k;
      T acc = qi[0] * kj[0];
      for (int c = 1; c < k; ++c) acc += qi[c] * kj[c];
      sc.s[j] = acc;
      if (j > 0 && score_less(sc.s[arg], sc.s[j])) arg = static_cast<std::size_t>(j);
    }
    const T shift = shift_point(sc.s[arg]);
    T den(0);
    for (int c = 0; c < d; ++c) sc.num[c] = T(0);
    for (int j = 0; j < N; ++j) {
      const T e = exp(sc.s[j] - shift);
      den += e;
      const T* vj = t.v[h].data() + static_cast<std::size_t>(rows[j]) * d;
      for (int c = 0; c < d; ++c) sc.num[c] += e * vj[c];
    }
    for (int c = 0; c < d; ++c) sc.out[c] += sc.num[c] / den;
  }
  return psi_statistic(t, sc);
}


// Certified room: > 0 when ψ is right.  mlp: matched iff stat > 0; norm: iff stat < τ (or > τ).
template <class T>
void set_room(MatchCaseOutcome& o, const T& stat, const UnitTables<T>& t, bool matched_below) {
  T margin;
  if (!t.norm) margin = o.matched ? stat : T(-stat);
  else margin = (o.matched == matched_below) ? T(t.tau - stat) : T(stat - t.tau);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = stat.lower(); o.stat_hi = stat.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = stat.lower_double(); o.stat_hi = stat.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}

std::vector<std::uint8_t> truth_of(MatchTask task, const std::vector<int>& x, int M) {
  return task == MatchTask::Match2 ? match2(x, M) : match3(x, M);
}

struct Unit {
  const AttentionUnitModel& model;
  SemanticsPolicy policy;
  Parameters params;
  UnitTables<DInterval> fast;
  // Position-free units: per head, e[a·M + b] = exp(⟨q_a, k_b⟩ − shift_a) and ev = e·v_b, so
  // that a sorted input's rows are sums over its runs of equal tokens with no exp (softmax is
  // invariant to the shift, and weights of equal tokens are equal).  Empty when positional or large.
  struct PairTable {
    std::vector<DInterval> e, ev;
  };
  std::vector<PairTable> pairs;
  Unit(const AttentionUnitModel& m, const Semantics& s)
      : model(m), policy(s, kAttentionUnitSemantics, "attention-unit models"), params(m, policy) {
    fast = build_tables<DInterval>(
        m, params, [](const EmbeddingEntry& e) { return e.fast(); },
        [](const ExactReal& e) { return DInterval::from_interval(e.at(128)); });
    const std::uint64_t M = m.M, d = m.d(), H = m.heads.size();
    if (m.positional() || M * M * H * (d + 1) > (1u << 22)) return;
    for (std::size_t h = 0; h < H; ++h) {
      PairTable t;
      const int k = fast.k[h];
      for (std::uint64_t a = 0; a < M; ++a) {
        std::vector<DInterval> sc(M);
        DInterval top;
        for (std::uint64_t b = 0; b < M; ++b) {
          DInterval acc = fast.q[h][a * k] * fast.key[h][b * k];
          for (int c = 1; c < k; ++c) acc += fast.q[h][a * k + c] * fast.key[h][b * k + c];
          sc[b] = acc;
          if (b == 0 || upper_less(top, acc)) top = acc;
        }
        const DInterval shift = top.upper_point();
        for (std::uint64_t b = 0; b < M; ++b) {
          const DInterval e = exp(sc[b] - shift);
          t.e.push_back(e);
          for (std::uint64_t c = 0; c < d; ++c) t.ev.push_back(e * fast.v[h][b * d + c]);
        }
      }
      pairs.push_back(std::move(t));
    }
  }
  bool matched_below() const { return model.psi == AttentionUnitModel::Psi::Norm && model.matched_below; }
  UnitTables<Interval> precise(mpfr_prec_t bits) const {
    return build_tables<Interval>(
        model, params, [bits](const EmbeddingEntry& e) { return e.at(bits); },
        [bits](const ExactReal& e) { return e.at(bits); });
  }
};

// ---- the direct forward pass (model/attention.hpp), the independent re-verification -----------

// φ of every token from its one-hot features (a full matrix product), then multi_head.
std::vector<Interval> direct_statistics(const Unit& u, const std::vector<int>& x, mpfr_prec_t bits) {
  WorkingPrecision wp(bits);
  const AttentionUnitModel& m = u.model;
  const std::size_t N = x.size();
  // X·Wᵀ + b for every row of X; entries (stored, or ψ's exact ones) enclosed at `bits`.
  auto linear = [&](const Mat<Interval>& X, const auto& l) {
    Mat<Interval> wt(l.in, l.out);
    for (int o = 0; o < l.out; ++o)
      for (int c = 0; c < l.in; ++c) wt(c, o) = l.w[static_cast<std::size_t>(o) * l.in + c].at(bits);
    Mat<Interval> Y = matmul(X, wt);
    if (!l.b.empty())
      for (std::size_t i = 0; i < Y.rows(); ++i)
        for (int o = 0; o < l.out; ++o) Y(i, o) += l.b[o].at(bits);
    return Y;
  };
  Mat<Interval> X(N, m.phi.front().in);
  for (std::size_t i = 0; i < N; ++i) {
    X(i, x[i]) = Interval(1L, bits);
    if (m.positional_input) X(i, m.M + i) = Interval(1L, bits);
  }
  for (std::size_t l = 0; l < u.params.phi.size(); ++l) {
    X = linear(X, u.params.phi[l]);
    if (l + 1 < u.params.phi.size())
      for (std::size_t i = 0; i < X.rows(); ++i)
        for (std::size_t c = 0; c < X.cols(); ++c) X(i, c) = activate(m.activation, X(i, c));
  }
  std::vector<QKV<Interval>> heads;
  for (const auto& h : u.params.heads) heads.push_back({linear(X, h[0]), linear(X, h[1]), linear(X, h[2])});
  std::optional<Mat<Interval>> res;
  if (u.params.residual) res = linear(X, *u.params.residual);
  const Mat<Interval> out = multi_head(heads, res ? &*res : nullptr);
  std::vector<Interval> stats;
  for (std::size_t i = 0; i < N; ++i) {
    if (m.psi == AttentionUnitModel::Psi::Norm) {
      Interval acc = sqr(out(i, 0));
      for (std::size_t c = 1; c < out.cols(); ++c) acc += sqr(out(i, c));
      stats.push_back(sqrt(acc));
      continue;
    }
    Mat<Interval> row(1, out.cols());
    for (std::size_t c = 0; c < out.cols(); ++c) row(0, c) = out(i, c);
    for (std::size_t l = 0; l < m.psi_mlp.size(); ++l) {
      row = linear(row, convert_linear<ExactReal>(m.psi_mlp[l], [](const ExactReal& e) { return e; }));
      if (l + 1 < m.psi_mlp.size())
        for (std::size_t o = 0; o < row.cols(); ++o) row(0, o) = activate(m.activation, row(0, o));
    }
    stats.push_back(row(0, 0));
  }
  return stats;
}

std::vector<MatchTokenDecision> direct_decisions(const Unit& u, MatchTask task, const std::vector<int>& x) {
  const bool norm = u.model.psi == AttentionUnitModel::Psi::Norm;
  return decide_tokens(
      x, truth_of(task, x, u.model.M), u.matched_below(), [&](mpfr_prec_t bits) { return direct_statistics(u, x, bits); },
      [&](mpfr_prec_t bits) { return norm ? u.model.threshold.at(bits) : Interval(0L, bits); });
}

// ---- the sweep over inputs -------------------------------------------------------------------

struct InputProblem {
  using Case = std::vector<int>;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  struct Worker {
    Scratch<DInterval> fast;
    std::vector<int> rows = std::vector<int>(Limits::kMaxN), values = rows, counts = rows;
    std::vector<std::uint8_t> truth = std::vector<std::uint8_t>(Limits::kMaxN), present;  // present: M zeros
    mpfr_prec_t bits = 0;
    std::shared_ptr<UnitTables<Interval>> precise;
    std::shared_ptr<Scratch<Interval>> scratch;
  };
  const Unit& unit;
  MatchTask task;
  bool multisets;
  int N, M;

  std::uint64_t cases() const { return multisets ? binomial_saturating(M + N - 1, N) : tuple_count_saturating(M, N); }
  unsigned outcomes_per_case() const { return static_cast<unsigned>(N); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    if (!multisets) return enumerate_tuples(N, M, begin, end, f);
    if (begin >= end) return;
    std::vector<int> x(static_cast<std::size_t>(N));
    unrank_multiset_lex(begin, M, N, x.data());
    for (std::uint64_t c = begin; c < end; ++c) {
      f(c, x);
      next_multiset(x.data(), N, M);
    }
  }
  Worker make_worker() const {
    Worker w;
    w.present.assign(static_cast<std::size_t>(M), 0);
    return w;
  }
  template <class T>
  void evaluate(const UnitTables<T>& t, Scratch<T>& sc, Worker& w, const Case& x, Outcome* out) const {
    for (int i = 0; i < N; ++i) w.rows[i] = t.row(x[i], i);
    for (int i = 0; i < N; ++i) {
      // In a sorted position-free input equal tokens have equal outputs (the same arithmetic).
      if (multisets && i > 0 && x[i] == x[i - 1]) {
        out[i] = out[i - 1];
        continue;
      }
      out[i] = Outcome{};
      out[i].matched = w.truth[i] != 0;
      set_room(out[i], token_statistic(t, w.rows.data(), i, sc), t, unit.matched_below());
    }
  }
  // A sorted position-free input through the pair tables: one row per run of equal tokens.
  // False when a denominator's enclosure reaches 0 (then the plain evaluation runs).
  bool grouped(Worker& w, const Case& x, Outcome* out) const {
    const UnitTables<DInterval>& t = unit.fast;
    Scratch<DInterval>& sc = w.fast;
    const int d = t.d;
    int runs = 0;
    for (int i = 0; i < N; ++i) {
      if (i > 0 && x[i] == x[i - 1]) { ++w.counts[runs - 1]; continue; }
      w.values[runs] = x[i];
      w.counts[runs++] = 1;
    }
    int token = 0;
    for (int r = 0; r < runs; ++r) {
      const int a = w.values[r];
      for (int c = 0; c < d; ++c) sc.out[c] = t.res.empty() ? DInterval(0) : t.res[static_cast<std::size_t>(a) * d + c];
      for (std::size_t h = 0; h < unit.pairs.size(); ++h) {
        const Unit::PairTable& p = unit.pairs[h];
        DInterval den(0);
        for (int c = 0; c < d; ++c) sc.num[c] = DInterval(0);
        for (int r2 = 0; r2 < runs; ++r2) {
          const std::size_t ab = static_cast<std::size_t>(a) * M + w.values[r2];
          const double n = w.counts[r2];  // a count >= 1: scaling without the general product's sign cases
          den += scale_nonneg(n, p.e[ab]);
          for (int c = 0; c < d; ++c) sc.num[c] += scale_nonneg(n, p.ev[ab * d + c]);
        }
        if (!(den.lower() > 0)) return false;
        for (int c = 0; c < d; ++c) sc.out[c] += sc.num[c] / den;
      }
      const DInterval stat = psi_statistic(t, sc);
      for (int j = 0; j < w.counts[r]; ++j, ++token) {
        out[token] = Outcome{};
        out[token].matched = w.truth[token] != 0;
        set_room(out[token], stat, t, unit.matched_below());
      }
    }
    return true;
  }
  void fast(Worker& w, const Case& x, Outcome* out) const {
    // The task's truth without allocation (tasks.hpp); the witness check uses match2 / match3.
    if (task == MatchTask::Match2) match2_into(x.data(), N, M, w.present.data(), w.truth.data());
    else match3_into(x.data(), N, M, w.present.data(), w.truth.data());
    if (multisets && !unit.pairs.empty() && grouped(w, x, out)) return;
    evaluate(unit.fast, w.fast, w, x, out);
  }
  void exact(Worker& w, const Case& x, mpfr_prec_t bits, Outcome* out) const {
    WorkingPrecision wp(bits);
    if (w.bits != bits) {
      w.precise = std::make_shared<UnitTables<Interval>>(unit.precise(bits));
      w.scratch = std::make_shared<Scratch<Interval>>();
      w.bits = bits;
    }
    evaluate(*w.precise, *w.scratch, w, x, out);
  }
};

}  // namespace

std::uint64_t attention_unit_inputs(const AttentionUnitModel& m) {
  return m.positional() ? tuple_count_saturating(m.M, m.N) : binomial_saturating(m.M + m.N - 1, m.N);
}

AttentionUnitCheckResult check_attention_unit(const AttentionUnitModel& m, MatchTask task, const Semantics& sem,
                                              unsigned threads, bool force) {
  const SemanticsPolicy policy(sem, kAttentionUnitSemantics, "attention-unit models");
  ElapsedTimer timer;
  const bool multisets = !m.positional();
  const std::uint64_t inputs = attention_unit_inputs(m);
  const std::string what = multisets ? "attention-unit inputs (one per multiset of [M]^N, C(M+N-1,N))"
                                     : "attention-unit inputs (positional: every tuple of [M]^N)";
  require_size_limit(what, inputs, kAttentionUnitMaxInputs, force);
  if (inputs > kAttentionUnitMaxForcedInputs)
    throw ConfigError("force", SizeLimitError::describe(what, inputs, kAttentionUnitMaxForcedInputs) +
                                   " that even a forced run keeps");
  const Unit unit(m, sem);
  AttentionUnitCheckResult r;
  r.task = task;
  r.N = m.N;
  r.M = m.M;
  r.semantics = sem.name();
  r.multisets = multisets;
  r.inputs = inputs;
  r.reduction = multisets ? "position-free + permutation-equivariant: one sorted input per multiset of [M]^N "
                            "(C(M+N-1,N) inputs), every token"
                          : "none: φ depends on the position; all M^N tuples, every token";
  const InputProblem problem{unit, task, multisets, m.N, m.M};
  const MatchTally tally = filtered_sweep(problem, threads);
  const int N = m.N, M = m.M;
  r.sweep = summarize_sweep(tally, [&](std::uint64_t index) {
    MatchCaseWitness w;
    w.x.assign(static_cast<std::size_t>(N), 0);
    const std::uint64_t c = index / static_cast<std::uint64_t>(N);
    if (multisets) unrank_multiset_lex(c, M, N, w.x.data());
    else unrank_tuple(c, M, N, w.x.data());
    w.token = static_cast<int>(index % static_cast<std::uint64_t>(N));
    return w;
  });
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return direct_decisions(unit, task, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_attention_unit(const AttentionUnitModel& m, MatchTask task, const Semantics& sem,
                                    const std::vector<int>& x_in) {
  if (x_in.size() != static_cast<std::size_t>(m.N))
    throw ConfigError("input", "needs N = " + std::to_string(m.N) + " tokens (the model's N), got " + std::to_string(x_in.size()));
  std::vector<int> x;
  for (int v : x_in) x.push_back(((v % m.M) + m.M) % m.M);
  const Unit unit(m, sem);
  MatchEvalResult r;
  r.construction = m.construction.empty() ? kAttentionUnitClass : m.construction;
  r.x = x;
  r.M = m.M;
  r.semantics = sem.name();
  r.residual = m.residual.has_value();
  if (m.psi == AttentionUnitModel::Psi::Norm) r.threshold = m.threshold.at(128).lower();
  r.tokens = direct_decisions(unit, task, x);
  r.stat_name = m.psi == AttentionUnitModel::Psi::Norm ? "norm" : "psi_mlp";
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
