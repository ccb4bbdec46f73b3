#include "modelfile/match2_model.hpp"

#include "modelfile/model_fields.hpp"

#include <array>
#include <cmath>
#include <set>

#include "core/config_error.hpp"
#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "model/attention.hpp"
#include "model/turn_table.hpp"
#include "numeric/format_real.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

using namespace model_fields;

namespace {

constexpr int kW = kMatch2TableMaxWidth;
constexpr int kMaxDistinct = 64;

// ---- reading and writing -----------------------------------------------------------------------

const std::set<std::string> kMatch2Tensors = {"query_table", "key_table",   "value_table", "residual_table",
                                              "query_pos",   "key_pos",     "value_pos",   "residual_pos",
                                              "psi_weights", "psi_threshold", "psi_threshold_linear"};

}  // namespace

Match2TableModel match2_table_model_from(const std::string& file, const SafetensorsFile& f) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != "match2-table")
    throw ModelFileError(file, "__metadata__.class",
                         "is '" + cls + "', not match2-table: the Match2 checker needs tables over token values "
                         "(query, key, value) and a thresholded ψ");
  meta_int(file, f, "format_version", kMatchModelFormatVersion, kMatchModelFormatVersion);
  if (f.metadata.count("heads") && meta(file, f, "heads") != "1")
    throw ModelFileError(file, "__metadata__.heads", "must be 1: class match2-table is one unit");
  Match2TableModel m;
  m.metadata = f.metadata;
  m.N = static_cast<int>(meta_int(file, f, "N", 2, 64));
  m.M = static_cast<int>(meta_int(file, f, "M", 2, 1 << 20));
  for (const auto& [name, t] : f.tensors) {
    const bool companion = name.size() > 6 && name.compare(name.size() - 6, 6, ".exact") == 0 &&
                           kMatch2Tensors.count(name.substr(0, name.size() - 6));
    if (!kMatch2Tensors.count(name) && !companion)
      throw ModelFileError(file, "tensor '" + name + "'",
                           "unknown in class match2-table (allowed: query_table, key_table, value_table, residual_table, "
                           "query_pos, key_pos, value_pos, residual_pos, psi_weights, psi_threshold, psi_threshold_linear, "
                           "and NAME.exact)");
  }
  const std::uint64_t M = m.M, N = m.N;
  m.k = static_cast<int>(width_of(file, f, "key_table", 1, "key width k", kW));
  m.d = static_cast<int>(width_of(file, f, "value_table", 1, "value width d", kW));
  const std::uint64_t k = m.k, d = m.d;
  m.query = table(file, f, "query_table", {M, k}, "one query per token value, width k of key_table");
  m.key = table(file, f, "key_table", {M, k}, "one key per token value");
  m.value = table(file, f, "value_table", {M, d}, "one value per token value");
  auto optional = [&](const std::string& name, std::vector<std::uint64_t> shape, const std::string& why) {
    return f.tensors.count(name) ? table(file, f, name, shape, why) : std::vector<ExactReal>{};
  };
  m.residual = optional("residual_table", {M, d}, "added to token i's output, width d");
  m.query_pos = optional("query_pos", {N, k}, "added to the query of position i");
  m.key_pos = optional("key_pos", {N, k}, "added to the key of position j");
  m.value_pos = optional("value_pos", {N, d}, "added to the value of position j");
  m.residual_pos = optional("residual_pos", {N, d}, "added to the output of position i");
  if (f.metadata.count("residual")) {
    const std::string& r = meta(file, f, "residual");
    if (r != "true" && r != "false") throw ModelFileError(file, "__metadata__.residual", "must be true or false");
    if ((r == "true") != m.has_residual())
      throw ModelFileError(file, "__metadata__.residual",
                           "says " + r + " but residual_table/residual_pos are " + (m.has_residual() ? "present" : "absent"));
  }
  const std::string& psi = meta(file, f, "psi");
  if (psi == "norm") m.psi = Match2TableModel::Psi::Norm;
  else if (psi == "linear") m.psi = Match2TableModel::Psi::Linear;
  else if (psi == "sqnorm-or-abs-linear") m.psi = Match2TableModel::Psi::SqNormOrAbsLinear;
  else
    throw ModelFileError(file, "__metadata__.psi",
                         "must be norm, linear or sqnorm-or-abs-linear (got '" + psi + "'): the checker certifies a "
                         "threshold of ‖out‖ or of w·out, or the test ‖out‖² < τ or |w·out| < τ_lin, only");
  const std::string& side = meta(file, f, "psi_matched");
  if (side != "below" && side != "above") throw ModelFileError(file, "__metadata__.psi_matched", "must be below or above");
  m.matched_below = side == "below";
  if (m.disjunctive() && !m.matched_below)
    throw ModelFileError(file, "__metadata__.psi_matched",
                         "must be below with psi = sqnorm-or-abs-linear (matched iff ‖out‖² < τ or |w·out| < τ_lin)");
  if (m.psi != Match2TableModel::Psi::Norm) m.psi_weights = table(file, f, "psi_weights", {d}, "ψ's functional w, width d");
  else if (f.tensors.count("psi_weights"))
    throw ModelFileError(file, "tensor 'psi_weights'", "only with psi = linear or sqnorm-or-abs-linear");
  m.threshold = table(file, f, "psi_threshold", {1}, m.disjunctive() ? "ψ's bound τ on ‖out‖²" : "ψ's threshold τ")[0];
  if (m.disjunctive())
    m.threshold_linear = table(file, f, "psi_threshold_linear", {1}, "ψ's bound τ_lin on |w·out|")[0];
  else if (f.tensors.count("psi_threshold_linear"))
    throw ModelFileError(file, "tensor 'psi_threshold_linear'", "only with psi = sqnorm-or-abs-linear");
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  m.dtypes = dtype_labels(f, {kMatch2Tensors.begin(), kMatch2Tensors.end()});
  return m;
}

Match2TableModel read_match2_table_model(const std::string& path) {
  return match2_table_model_from(path, read_safetensors(path));
}

SafetensorsFile match2_table_model_file(const Match2TableModel& m, const ModelWriteOptions& opts, const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kMatchModelFormatVersion);
  f.metadata["class"] = "match2-table";
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["M"] = std::to_string(m.M);
  f.metadata["heads"] = "1";
  f.metadata["residual"] = m.has_residual() ? "true" : "false";
  f.metadata["psi"] = psi_name(m.psi);
  f.metadata["psi_matched"] = m.matched_below ? "below" : "above";
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  auto put = [&](const std::string& name, const std::vector<ExactReal>& a, std::vector<std::uint64_t> shape) {
    put_table(f, file, name, a, std::move(shape), opts.exact, opts.dtype);
  };
  const std::uint64_t M = m.M, N = m.N, k = m.k, d = m.d;
  put("query_table", m.query, {M, k});
  put("key_table", m.key, {M, k});
  put("value_table", m.value, {M, d});
  put("residual_table", m.residual, {M, d});
  put("query_pos", m.query_pos, {N, k});
  put("key_pos", m.key_pos, {N, k});
  put("value_pos", m.value_pos, {N, d});
  put("residual_pos", m.residual_pos, {N, d});
  put("psi_weights", m.psi_weights, {d});
  // ψ is exact: its threshold keeps every digit even in a rounded file, as an F64 nearest double
  // with its exact companion.
  add_exact_real_tensor(f, "psi_threshold", {1}, std::vector<ExactReal>{m.threshold});
  if (m.disjunctive()) add_exact_real_tensor(f, "psi_threshold_linear", {1}, std::vector<ExactReal>{m.threshold_linear});
  return f;
}

void write_match2_table_model(const std::string& path, const Match2TableModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, match2_table_model_file(m, opts, path));
}

Match2TableModel match2_table_model_of_construction(int N, int M, const Rational& c, bool flip) {
  Match2TableModel m;
  m.N = N;
  m.M = M;
  m.k = m.d = 2;
  m.construction = "match2";
  const Rational one(1), minus_one(-1), query_sin_scale = flip ? c : Rational(-c);
  for (int r = 0; r < M; ++r) {
    const ExactReal phic = ExactReal::cos_turn(one, r, M), phis = ExactReal::sin_turn(one, r, M);
    m.query.push_back(ExactReal::cos_turn(c, r, M));
    m.query.push_back(ExactReal::sin_turn(query_sin_scale, r, M));
    m.key.push_back(phic);
    m.key.push_back(phis);
    m.value.push_back(ExactReal::cos_turn(minus_one, r, M));
    m.value.push_back(ExactReal::sin_turn(one, r, M));
    m.residual.push_back(phic);
    m.residual.push_back(phis);
  }
  m.psi = Match2TableModel::Psi::Norm;
  m.matched_below = true;
  m.threshold = ExactReal::cos_turn(Rational(-1, 2), 1, M).plus(Rational(1, 2));  // g/2 = (1 − cos(2π/M))/2
  m.metadata["c"] = to_exact_string(c);
  m.metadata["flip_query_sign"] = flip ? "true" : "false";
  return m;
}

Match2TableModel match2_table_model_of_no_residual_construction(int N, int M, const Rational& c) {
  Match2TableModel m;
  m.N = N;
  m.M = M;
  m.k = m.d = 2;
  m.construction = "match2-no-residual";
  const Rational one(1), half(1, 2);
  for (int r = 0; r < M; ++r) {
    m.query.push_back(ExactReal::cos_turn(2 * c, r, M));
    m.query.push_back(ExactReal(Rational(-c)));
    m.key.push_back(ExactReal::cos_turn(one, r, M));
    m.key.push_back(ExactReal::cos_turn(half, 2L * r, M).plus(half));  // cos²θ = (1 + cos 2θ)/2
    m.value.push_back(ExactReal::cos_turn(one, r, M));
    m.value.push_back(ExactReal::sin_turn(one, r, M));
  }
  m.psi = Match2TableModel::Psi::SqNormOrAbsLinear;
  m.matched_below = true;
  m.psi_weights = {ExactReal(Rational(0)), ExactReal(one)};
  // 1 − τ₁ with τ₁ = sin²(2π/M)·2(N−1)/N² = (N−1)/N²·(1 − cos(2π·2/M)); τ₂ = sin(2π/M)/2.
  const Rational B(N - 1, static_cast<long>(N) * N);
  m.threshold = ExactReal::cos_turn(B, 2, M).plus(Rational(1 - B));
  m.threshold_linear = ExactReal::sin_turn(half, 1, M);
  m.metadata["c"] = to_exact_string(c);
  return m;
}

const char* psi_name(Match2TableModel::Psi psi) {
  switch (psi) {
    case Match2TableModel::Psi::Norm: return "norm";
    case Match2TableModel::Psi::Linear: return "linear";
    case Match2TableModel::Psi::SqNormOrAbsLinear: return "sqnorm-or-abs-linear";
  }
  return "norm";
}

std::string match2_certifiable_structure_problem(const Match2TableModel& m, const Semantics& sem) {
  if (auto why = kMatchModelSemantics.refusal(sem, "match2-table models")) return *why;
  if (sem.kind == Semantics::Kind::Arith && m.positional())
    return "positional tables under arith semantics: the rounded sums Q[x_i] + Q_pos[i] are not modelled by the "
           "tuple sweep; use exact or embed:<fmt>";
  if (m.N > kMaxDistinct) return "N above 64";
  return {};
}

namespace {

// ---- the unit under a semantics --------------------------------------------------------------

template <class T>
struct Tables {
  int k = 0, d = 0;
  bool residual = false, positional = false, norm = true, disjunctive = false;
  std::vector<T> q, key, v, res, qp, kp, vp, rp, w;
  T tau_norm, tau_lin;  // disjunctive ψ's two bounds
};

struct Unit {
  Unit(const Match2TableModel& m, const Semantics& s);
  const Match2TableModel& model;
  SemanticsPolicy policy;
  // Stored entries (rounded under embed/arith); ψ's weights and threshold stay exact.
  std::vector<EmbeddingEntry> q, key, v, res, qp, kp, vp, rp;
  Tables<DInterval> fast;
  DInterval threshold_fast;
  struct WeightRow {
    std::vector<DInterval> e, ev;  // e_ab and e_ab·v_b (M·d)
  };
  std::vector<WeightRow> weight_rows;  // position-free models with M ≤ 1024 and M²(d+1) ≤ 3·2^20
  // The threshold the statistic is compared with, and on which side ψ answers matched: the
  // file's τ, or 0 with matched above for the disjunctive ψ (whose statistic is F).
  Interval threshold(mpfr_prec_t bits) const { return model.disjunctive() ? Interval(0L, bits) : model.threshold.at(bits); }
  bool matched_below() const { return !model.disjunctive() && model.matched_below; }
  Tables<Interval> precise(mpfr_prec_t bits) const;
};

std::vector<EmbeddingEntry> entries_of(const std::vector<ExactReal>& a, const SemanticsPolicy& sem) {
  std::vector<EmbeddingEntry> out;
  out.reserve(a.size());
  for (const auto& x : a) out.emplace_back([x](mpfr_prec_t bits) { return x.at(bits); }, sem);
  return out;
}

template <class T, class Make>
Tables<T> tables_of(const Unit& u, Make&& make) {
  Tables<T> t;
  t.k = u.model.k;
  t.d = u.model.d;
  t.residual = u.model.has_residual();
  t.positional = u.model.positional();
  t.norm = u.model.psi == Match2TableModel::Psi::Norm;
  t.disjunctive = u.model.disjunctive();
  auto fill = [&](std::vector<T>& dst, const std::vector<EmbeddingEntry>& src) {
    for (const auto& e : src) dst.push_back(make(e));
  };
  fill(t.q, u.q);
  fill(t.key, u.key);
  fill(t.v, u.v);
  fill(t.res, u.res);
  fill(t.qp, u.qp);
  fill(t.kp, u.kp);
  fill(t.vp, u.vp);
  fill(t.rp, u.rp);
  return t;
}

// The semantics was checked by match2_certifiable_structure_problem before a unit is built.
Unit::Unit(const Match2TableModel& m, const Semantics& s) : model(m), policy(s, kMatchModelSemantics, "match2-table models") {
  const SemanticsPolicy& sem = policy;
  q = entries_of(m.query, sem);
  key = entries_of(m.key, sem);
  v = entries_of(m.value, sem);
  res = entries_of(m.residual, sem);
  qp = entries_of(m.query_pos, sem);
  kp = entries_of(m.key_pos, sem);
  vp = entries_of(m.value_pos, sem);
  rp = entries_of(m.residual_pos, sem);
  fast = tables_of<DInterval>(*this, [](const EmbeddingEntry& e) { return e.fast(); });
  for (const auto& w : m.psi_weights) fast.w.push_back(DInterval::from_interval(w.at(128)));
  if (m.disjunctive()) {
    fast.tau_norm = DInterval::from_interval(m.threshold.at(128));
    fast.tau_lin = DInterval::from_interval(m.threshold_linear.at(128));
  }
  threshold_fast = DInterval::from_interval(threshold(128));
  const int M = m.M, k = m.k, d = m.d;
  // No precomputed weight rows for the disjunctive ψ: every case is evaluated as the built-in
  // residual-free checker evaluates it, so an exported construction gets the same enclosures.
  const bool table_fits =
      M <= 1024 && static_cast<std::uint64_t>(M) * M * (d + 1) <= 3ULL << 20 && !m.disjunctive();
  for (int a = 0; a < M && table_fits && !m.positional(); ++a) {
    std::vector<DInterval> scores;
    DInterval top;
    for (int b = 0; b < M; ++b) {
      DInterval sc = fast.q[a * k] * fast.key[b * k];
      for (int c = 1; c < k; ++c) sc += fast.q[a * k + c] * fast.key[b * k + c];
      scores.push_back(sc);
      if (b == 0 || upper_less(top, scores.back())) top = scores.back();
    }
    const DInterval shift = top.upper_point();
    WeightRow row;
    for (int b = 0; b < M; ++b) {
      DInterval e = exp(scores[b] - shift);
      row.e.push_back(e);
      for (int c = 0; c < d; ++c) row.ev.push_back(e * fast.v[b * d + c]);
    }
    weight_rows.push_back(std::move(row));
  }
}

Tables<Interval> Unit::precise(mpfr_prec_t bits) const {
  Tables<Interval> t = tables_of<Interval>(*this, [bits](const EmbeddingEntry& e) { return e.at(bits); });
  for (const auto& w : model.psi_weights) t.w.push_back(w.at(bits));
  if (model.disjunctive()) {
    t.tau_norm = model.threshold.at(bits);
    t.tau_lin = model.threshold_linear.at(bits);
  }
  return t;
}

// w·out over the nonzero weights only, a weight ±1 contributing ±out_c without a product: an
// exact identity that keeps w = e_c from widening out_c's enclosure.
template <class T>
T sparse_dot(const std::vector<T>& w, const std::array<T, kW>& out, int d) {
  bool any = false;
  T acc(0);
  for (int c = 0; c < d; ++c) {
    if (w[c].lower() == 0 && w[c].upper() == 0) continue;
    const bool plus_one = w[c].lower() == 1 && w[c].upper() == 1, minus_one = w[c].lower() == -1 && w[c].upper() == -1;
    const T term = plus_one ? out[c] : minus_one ? T(-out[c]) : T(w[c] * out[c]);
    acc = any ? T(acc + term) : term;
    any = true;
  }
  return acc;
}

// ψ's statistic of an output row: ‖out‖ (|x|·|x| keeps squares non-negative), w·out, or the
// disjunctive ψ's decision function max(τ − ‖out‖², τ_lin − |w·out|).
template <class T>
T statistic(const Tables<T>& t, std::array<T, kW>& out) {
  using std::sqrt;
  if (t.disjunctive) {
    const T lin = sparse_dot(t.w, out, t.d);
    for (int c = 0; c < t.d; ++c) out[c] = abs(out[c]);
    T acc = out[0] * out[0];
    for (int c = 1; c < t.d; ++c) acc = acc + out[c] * out[c];
    return norm_or_axis_decision(acc, lin, t.tau_norm, t.tau_lin);
  }
  if (t.norm) {
    for (int c = 0; c < t.d; ++c) out[c] = abs(out[c]);
    T acc = out[0] * out[0];
    for (int c = 1; c < t.d; ++c) acc = acc + out[c] * out[c];
    return sqrt(acc);
  }
  T acc = t.w[0] * out[0];
  for (int c = 1; c < t.d; ++c) acc = acc + t.w[c] * out[c];
  return acc;
}

// Position-free: the statistic of token value a given the residue counts of the whole input
// (softmax weights of equal tokens are equal, so the sums group by residue).
template <class T>
T grouped_statistic(const Tables<T>& t, int a, const int* vals, const int* counts, int n) {
  using std::exp;
  const int k = t.k, d = t.d;
  std::array<T, kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j = 0; j < n; ++j) {
    const int b = vals[j];
    T sc = t.q[a * k] * t.key[b * k];
    for (int c = 1; c < k; ++c) sc += t.q[a * k + c] * t.key[b * k + c];
    s[j] = sc;
    if (j > 0 && score_less(s[arg], s[j])) arg = static_cast<std::size_t>(j);
  }
  const T shift = shift_point(s[arg]);
  T den(0);
  std::array<T, kW> num, out;
  for (int c = 0; c < d; ++c) num[c] = T(0);
  for (int j = 0; j < n; ++j) {
    const int b = vals[j];
    T w = T(counts[j]) * exp(s[j] - shift);
    den += w;
    for (int c = 0; c < d; ++c) num[c] += w * t.v[b * d + c];
  }
  for (int c = 0; c < d; ++c) out[c] = t.residual ? T(t.res[a * d + c] + num[c] / den) : T(num[c] / den);
  return statistic(t, out);
}

// Positional: the statistic of token i of the tuple x (N tokens).
template <class T>
T token_statistic(const Tables<T>& t, const std::vector<int>& x, int i) {
  using std::exp;
  const int k = t.k, d = t.d, N = static_cast<int>(x.size());
  auto entry = [](const std::vector<T>& tab, const std::vector<T>& pos, int row, int p, int w, int c) {
    return pos.empty() ? tab[row * w + c] : T(tab[row * w + c] + pos[p * w + c]);
  };
  std::array<T, kW> qi;
  for (int c = 0; c < k; ++c) qi[c] = entry(t.q, t.qp, x[i], i, k, c);
  std::array<T, kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j = 0; j < N; ++j) {
    T sc = qi[0] * entry(t.key, t.kp, x[j], j, k, 0);
    for (int c = 1; c < k; ++c) sc += qi[c] * entry(t.key, t.kp, x[j], j, k, c);
    s[j] = sc;
    if (j > 0 && score_less(s[arg], s[j])) arg = static_cast<std::size_t>(j);
  }
  const T shift = shift_point(s[arg]);
  T den(0);
  std::array<T, kW> num, out;
  for (int c = 0; c < d; ++c) num[c] = T(0);
  for (int j = 0; j < N; ++j) {
    T w = exp(s[j] - shift);
    den += w;
    for (int c = 0; c < d; ++c) num[c] += w * entry(t.v, t.vp, x[j], j, d, c);
  }
  for (int c = 0; c < d; ++c) {
    out[c] = num[c] / den;
    if (!t.res.empty()) out[c] = out[c] + t.res[x[i] * d + c];
    if (!t.rp.empty()) out[c] = out[c] + t.rp[i * d + c];
  }
  return statistic(t, out);
}

// Certified room: > 0 when ψ is right.
template <class T>
void set_margin(MatchCaseOutcome& o, const T& stat, const T& tau, bool matched_below, bool zero_threshold) {
  const bool stat_below = o.matched == matched_below;  // ψ must put the statistic below τ
  // Against the threshold 0 (the disjunctive ψ) the room is ±stat exactly, with no subtraction.
  T margin = zero_threshold ? (stat_below ? T(-stat) : stat) : stat_below ? T(tau - stat) : T(stat - tau);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = stat.lower(); o.stat_hi = stat.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = stat.lower_double(); o.stat_hi = stat.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}

bool decided(const MatchCaseOutcome& o) { return o.margin_lo > 0 || o.margin_hi < 0; }

bool matched_in(const QueryMultisetCase& c, int M) {
  const int partner = (M - c.a) % M;
  for (int j = 0; j < c.k; ++j)
    if (c.vals[j] == partner) return true;
  return false;
}

struct MultisetProblem {
  using Case = QueryMultisetCase;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Unit& unit;
  int N;
  std::uint64_t cases() const { return query_multiset_cases(N, unit.model.M); }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_query_multisets(N, unit.model.M, begin, end, f);
  }
  void fast(const Case& c, Outcome* out) const {
    Outcome& o = *out;
    o = Outcome{};
    o.matched = matched_in(c, unit.model.M);
    const bool below = unit.matched_below(), zero = unit.model.disjunctive();
    const auto& t = unit.fast;
    if (!unit.weight_rows.empty()) {
      const auto& row = unit.weight_rows[c.a];
      const int d = t.d;
      DInterval den(0);
      std::array<DInterval, kW> num, res;
      for (int ch = 0; ch < d; ++ch) num[ch] = DInterval(0);
      for (int j = 0; j < c.k; ++j) {
        const DInterval n(c.counts[j]);
        den += n * row.e[c.vals[j]];
        for (int ch = 0; ch < d; ++ch) num[ch] += n * row.ev[c.vals[j] * d + ch];
      }
      if (den.lower() > 0) {
        for (int ch = 0; ch < d; ++ch) res[ch] = t.residual ? DInterval(t.res[c.a * d + ch] + num[ch] / den) : num[ch] / den;
        set_margin(o, statistic(t, res), unit.threshold_fast, below, zero);
        if (decided(o)) return;
      }
    }
    set_margin(o, grouped_statistic(t, c.a, c.vals, c.counts, c.k), unit.threshold_fast, below, zero);
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* out) const {
    out->matched = matched_in(c, unit.model.M);
    WorkingPrecision wp(bits);
    const Tables<Interval> t = unit.precise(bits);
    set_margin(*out, grouped_statistic(t, c.a, c.vals, c.counts, c.k), unit.threshold(bits), unit.matched_below(), unit.model.disjunctive());
  }
};

// ---- direct forward pass (attention.hpp), the independent re-verification ------------------

template <class T, class Make>
Mat<T> forward_output(const Unit& u, const std::vector<int>& x, Make&& make) {
  const std::size_t N = x.size();
  const int k = u.model.k, d = u.model.d;
  QKV<T> h{Mat<T>(N, k), Mat<T>(N, k), Mat<T>(N, d)};
  Mat<T> res(N, d);
  auto at = [&](const std::vector<EmbeddingEntry>& tab, const std::vector<EmbeddingEntry>& pos, std::size_t i, int w, int c) {
    T e = make(tab[x[i] * w + c]);
    if (!pos.empty()) e = e + make(pos[i * w + c]);
    return e;
  };
  for (std::size_t i = 0; i < N; ++i) {
    for (int c = 0; c < k; ++c) {
      h.queries(i, c) = at(u.q, u.qp, i, k, c);
      h.keys(i, c) = at(u.key, u.kp, i, k, c);
    }
    for (int c = 0; c < d; ++c) {
      h.values(i, c) = at(u.v, u.vp, i, d, c);
      T r(0);
      if (!u.res.empty()) r = make(u.res[x[i] * d + c]);
      if (!u.rp.empty()) r = r + make(u.rp[i * d + c]);
      res(i, c) = r;
    }
  }
  std::vector<QKV<T>> heads{h};
  return multi_head(heads, u.model.has_residual() ? &res : nullptr);
}

// ψ's statistic of every token, enclosed at `bits`.
std::vector<Interval> forward_statistics(const Unit& u, const std::vector<int>& x, mpfr_prec_t bits) {
  const int d = u.model.d;
  std::vector<Interval> w;
  for (const auto& e : u.model.psi_weights) w.push_back(e.at(bits));
  const bool norm = u.model.psi == Match2TableModel::Psi::Norm;
  std::vector<Interval> stats;
  if (u.model.disjunctive()) {
    // ψ exact on the unit's output (rounded in arith, as for the other ψ).
    std::vector<Interval> rows;
    if (u.policy.arith()) {
      ArithFormatScope scope(u.policy.format());
      const Format fmt = u.policy.format();
      Mat<FormatReal> out = forward_output<FormatReal>(u, x, [&](const EmbeddingEntry& e) { return FormatReal(e.rational(), fmt); });
      for (std::size_t i = 0; i < x.size(); ++i)
        for (int c = 0; c < d; ++c) rows.push_back(Interval(out(i, c).value(), bits));
    }
    WorkingPrecision wp(bits);
    if (!u.policy.arith()) {
      Mat<Interval> out = forward_output<Interval>(u, x, [&](const EmbeddingEntry& e) { return e.at(bits); });
      for (std::size_t i = 0; i < x.size(); ++i)
        for (int c = 0; c < d; ++c) rows.push_back(out(i, c));
    }
    Tables<Interval> t;
    t.d = d;
    t.disjunctive = true;
    t.w = w;
    t.tau_norm = u.model.threshold.at(bits);
    t.tau_lin = u.model.threshold_linear.at(bits);
    for (std::size_t i = 0; i < x.size(); ++i) {
      std::array<Interval, kW> row;
      for (int c = 0; c < d; ++c) row[c] = rows[i * d + c];
      stats.push_back(statistic(t, row));
    }
    return stats;
  }
  if (u.policy.arith()) {
    ArithFormatScope scope(u.policy.format());
    const Format fmt = u.policy.format();
    Mat<FormatReal> out = forward_output<FormatReal>(u, x, [&](const EmbeddingEntry& e) { return FormatReal(e.rational(), fmt); });
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (norm) {
        Rational n2 = out(i, 0).value() * out(i, 0).value();
        for (int c = 1; c < d; ++c) n2 += out(i, c).value() * out(i, c).value();
        stats.push_back(sqrt(Interval(n2, bits)));
      } else {
        WorkingPrecision wp(bits);
        Interval acc = w[0] * Interval(out(i, 0).value(), bits);
        for (int c = 1; c < d; ++c) acc += w[c] * Interval(out(i, c).value(), bits);
        stats.push_back(acc);
      }
    }
    return stats;
  }
  WorkingPrecision wp(bits);
  Mat<Interval> out = forward_output<Interval>(u, x, [&](const EmbeddingEntry& e) { return e.at(bits); });
  for (std::size_t i = 0; i < x.size(); ++i) {
    Interval acc = norm ? sqr(out(i, 0)) : Interval(w[0] * out(i, 0));
    for (int c = 1; c < d; ++c) acc += norm ? sqr(out(i, c)) : Interval(w[c] * out(i, c));
    stats.push_back(norm ? sqrt(acc) : acc);
  }
  return stats;
}

std::vector<MatchTokenDecision> forward_decisions(const Unit& u, const std::vector<int>& x) {
  return decide_tokens(
      x, match2(x, u.model.M), u.matched_below(), [&](mpfr_prec_t bits) { return forward_statistics(u, x, bits); },
      [&](mpfr_prec_t bits) { return u.threshold(bits); });
}

// Every tuple, every token: positional tables (token-wise evaluators) or arith (the forward pass).
struct TupleProblem {
  using Case = std::vector<int>;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Unit& unit;
  int N;
  std::uint64_t cases() const { return tuple_count_saturating(unit.model.M, N); }
  unsigned outcomes_per_case() const { return static_cast<unsigned>(N); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_tuples(N, unit.model.M, begin, end, f);
  }
  bool arith() const { return unit.policy.arith(); }
  void fast(const Case& x, Outcome* out) const {
    if (arith()) return exact(x, kLadderStartBits, out);
    const auto truth = match2(x, unit.model.M);
    for (int i = 0; i < N; ++i) {
      out[i] = Outcome{};
      out[i].matched = truth[i] != 0;
      set_margin(out[i], token_statistic(unit.fast, x, i), unit.threshold_fast, unit.matched_below(), unit.model.disjunctive());
    }
  }
  void exact(const Case& x, mpfr_prec_t bits, Outcome* out) const {
    const auto truth = match2(x, unit.model.M);
    const Interval tau = unit.threshold(bits);
    if (arith()) {
      const std::vector<Interval> stats = forward_statistics(unit, x, bits);
      for (int i = 0; i < N; ++i) {
        out[i] = Outcome{};
        out[i].matched = truth[i] != 0;
        set_margin(out[i], stats[i], tau, unit.matched_below(), unit.model.disjunctive());
      }
      return;
    }
    WorkingPrecision wp(bits);
    const Tables<Interval> t = unit.precise(bits);
    for (int i = 0; i < N; ++i) {
      out[i] = Outcome{};
      out[i].matched = truth[i] != 0;
      set_margin(out[i], token_statistic(t, x, i), tau, unit.matched_below(), unit.model.disjunctive());
    }
  }
};

}  // namespace

Match2TableCheckResult check_match2_table(const Match2TableModel& m, const Semantics& sem, unsigned threads, bool force) {
  const std::string problem = match2_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw ConfigError(sem.kind == Semantics::Kind::Exact ? "model" : "semantics", problem);
  ElapsedTimer timer;
  const bool tuples = m.positional() || sem.kind == Semantics::Kind::Arith;
  const std::uint64_t total = tuples ? tuple_count_saturating(m.M, m.N) : query_multiset_cases(m.N, m.M);
  require_size_limit(tuples ? "match2 model tuples (M^N, no permutation reduction)" : "match2 model cases M*C(M+N-2,N-1)",
                     total, tuples ? 2'000'000ULL : 200'000'000ULL, force);
  const Unit unit(m, sem);
  Match2TableCheckResult r;
  r.N = m.N;
  r.M = m.M;
  r.semantics = sem.name();
  r.tuples = tuples;
  r.threshold_lower = m.threshold.at(128).lower();
  r.reduction = m.positional()
                    ? "none: positional tables; all M^N tuples, every token"
                    : tuples ? "none: arith rounding depends on summation order; all M^N tuples, every token"
                             : "position-free + permutation-equivariant: per query value x_i and multiset of the other "
                               "N-1 tokens (M*C(M+N-2,N-1) cases cover [M]^N)";
  const MatchTally tally = tuples ? filtered_sweep(TupleProblem{unit, m.N}, threads) : filtered_sweep(MultisetProblem{unit, m.N}, threads);
  r.sweep = summarize_sweep(tally, m.N, m.M, tuples);
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return forward_decisions(unit, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_match2_table(const Match2TableModel& m, const Semantics& sem, const std::vector<int>& x_in) {
  const std::string problem = match2_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw ConfigError("semantics", problem);
  if (x_in.size() != static_cast<std::size_t>(m.N))
    throw ConfigError("input", "needs N = " + std::to_string(m.N) + " tokens (the model's N), got " + std::to_string(x_in.size()));
  std::vector<int> x;
  for (int v : x_in) x.push_back(((v % m.M) + m.M) % m.M);
  const Unit unit(m, sem);
  MatchEvalResult r;
  r.construction = m.construction.empty() ? "match2-table" : m.construction;
  r.x = x;
  r.M = m.M;
  if (m.metadata.count("c")) {
    try {
      r.c = parse_rational(m.metadata.at("c"));  // informational: the construction's temperature
    } catch (const std::exception&) {
    }
  }
  r.semantics = sem.name();
  r.residual = m.has_residual();
  if (!m.disjunctive()) r.threshold = m.threshold.at(128).lower();  // else ψ's function is compared with 0
  r.tokens = forward_decisions(unit, x);
  r.stat_name = m.disjunctive() ? "psi_function" : psi_name(m.psi);
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
