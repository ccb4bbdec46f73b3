#include "modelfile/match3_model.hpp"

#include <array>
#include <set>

#include "core/config_error.hpp"
#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "model/attention.hpp"
#include "model/turn_table.hpp"
#include "modelfile/model_fields.hpp"
#include "numeric/format_real.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

using namespace model_fields;

namespace {

constexpr int kW = kMatch3ModelMaxWidth;
constexpr int kMaxDistinct = 16;

const std::set<std::string> kMatch3Tensors = {"query_table",  "key1_table", "key2_table",   "value1_table",
                                              "value2_table", "psi_table",  "psi_threshold"};

}  // namespace

Match3ThirdOrderModel match3_third_order_model_from(const std::string& file, const SafetensorsFile& f) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != "match3-third-order")
    throw ModelFileError(file, "__metadata__.class",
                         "is '" + cls + "', not match3-third-order: the third-order Match3 checker needs query, key1, "
                         "key2, value1, value2 tables over token values and ψ's table");
  meta_int(file, f, "format_version", kMatchModelFormatVersion, kMatchModelFormatVersion);
  if (f.metadata.count("heads") && meta(file, f, "heads") != "1")
    throw ModelFileError(file, "__metadata__.heads", "must be 1: class match3-third-order is one unit");
  Match3ThirdOrderModel m;
  m.metadata = f.metadata;
  m.N = static_cast<int>(meta_int(file, f, "N", 2, kMaxDistinct));
  m.M = static_cast<int>(meta_int(file, f, "M", 2, 1 << 16));
  for (const auto& [name, t] : f.tensors) {
    const bool companion = name.size() > 6 && name.compare(name.size() - 6, 6, ".exact") == 0 &&
                           kMatch3Tensors.count(name.substr(0, name.size() - 6));
    if (!kMatch3Tensors.count(name) && !companion)
      throw ModelFileError(file, "tensor '" + name + "'",
                           "unknown in class match3-third-order (allowed: query_table, key1_table, key2_table, "
                           "value1_table, value2_table, psi_table, psi_threshold, and NAME.exact)");
  }
  m.m = static_cast<int>(width_of(file, f, "query_table", 1, "score width m", kW));
  m.d = static_cast<int>(width_of(file, f, "value1_table", 1, "value width d", kW));
  const std::uint64_t M = m.M, w = m.m, d = m.d;
  m.query = table(file, f, "query_table", {M, w}, "one query per token value");
  m.key1 = table(file, f, "key1_table", {M, w}, "first key per token value, width m");
  m.key2 = table(file, f, "key2_table", {M, w}, "second key per token value, width m");
  m.value1 = table(file, f, "value1_table", {M, d}, "first value per token value");
  m.value2 = table(file, f, "value2_table", {M, d}, "second value per token value, width d");
  m.psi_table = table(file, f, "psi_table", {M, d}, "ψ's functional per token value x_i, width d");
  m.threshold = table(file, f, "psi_threshold", {1}, "ψ's threshold τ")[0];
  const std::string& side = meta(file, f, "psi_matched");
  if (side != "below" && side != "above") throw ModelFileError(file, "__metadata__.psi_matched", "must be below or above");
  m.matched_below = side == "below";
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  m.dtypes = dtype_labels(f, {kMatch3Tensors.begin(), kMatch3Tensors.end()});
  return m;
}

Match3ThirdOrderModel read_match3_third_order_model(const std::string& path) {
  return match3_third_order_model_from(path, read_safetensors(path));
}

SafetensorsFile match3_third_order_model_file(const Match3ThirdOrderModel& m, const ModelWriteOptions& opts,
                                              const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kMatchModelFormatVersion);
  f.metadata["class"] = "match3-third-order";
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["M"] = std::to_string(m.M);
  f.metadata["heads"] = "1";
  f.metadata["psi_matched"] = m.matched_below ? "below" : "above";
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  auto put = [&](const std::string& name, const std::vector<ExactReal>& a, std::vector<std::uint64_t> shape, bool exact) {
    put_table(f, file, name, a, std::move(shape), exact, opts.dtype);
  };
  const std::uint64_t M = m.M, w = m.m, d = m.d;
  put("query_table", m.query, {M, w}, opts.exact);
  put("key1_table", m.key1, {M, w}, opts.exact);
  put("key2_table", m.key2, {M, w}, opts.exact);
  put("value1_table", m.value1, {M, d}, opts.exact);
  put("value2_table", m.value2, {M, d}, opts.exact);
  // ψ is exact: its table and threshold keep every digit even in a rounded file.
  put("psi_table", m.psi_table, {M, d}, true);
  put("psi_threshold", {m.threshold}, {1}, true);
  return f;
}

void write_match3_third_order_model(const std::string& path, const Match3ThirdOrderModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, match3_third_order_model_file(m, opts, path));
}

Match3ThirdOrderModel match3_third_order_model_of_construction(int N, int M, const Rational& c, bool flip) {
  Match3ThirdOrderModel m;
  m.N = N;
  m.M = M;
  m.m = m.d = 4;
  m.construction = "match3-third-order";
  // Signed (cos|sin) patterns of proofs/match3_third_order.cpp; values follow the keys crosswise.
  const auto qp = match3_query_pattern(flip), k1p = match3_key1_pattern(), k2p = match3_key2_pattern();
  auto put = [M](std::vector<ExactReal>& dst, const std::array<Match3TrigSelector, 4>& pat, const Rational& scale, int r) {
    for (const auto& sel : pat) {
      const Rational s = scale * sel.sign;
      dst.push_back(sel.use_sin ? ExactReal::sin_turn(s, r, M) : ExactReal::cos_turn(s, r, M));
    }
  };
  const Rational one(1);
  for (int r = 0; r < M; ++r) {
    put(m.query, qp, c, r);
    put(m.key1, k1p, one, r);
    put(m.key2, k2p, one, r);
    put(m.value1, k2p, one, r);
    put(m.value2, k1p, one, r);
    const ExactReal cr = ExactReal::cos_turn(one, r, M), sr = ExactReal::sin_turn(one, r, M);
    m.psi_table.insert(m.psi_table.end(), {cr, cr.negated(), sr.negated(), sr.negated()});
  }
  m.threshold = ExactReal::cos_turn(Rational(1, 2), 1, M).plus(Rational(1, 2));  // 1 − g/2 = (1 + cos(2π/M))/2
  m.matched_below = false;
  m.metadata["c"] = to_exact_string(c);
  m.metadata["flip_query_sign"] = flip ? "true" : "false";
  return m;
}

std::string match3_certifiable_structure_problem(const Match3ThirdOrderModel& m, const Semantics& sem) {
  if (auto why = kMatchModelSemantics.refusal(sem, "match3-third-order models")) return *why;
  if (m.N > kMaxDistinct) return "N above 16";
  return {};
}

namespace {

// ψ's functional of one token value, grouped by equal coefficients: z = Σ_g f_g · (Σ_{c∈g} ±e_c),
// f_g the group's first coefficient and ± whether e_c's coefficient is f_g or −f_g.  An exact
// identity; for the construction it is cos θ·(e1 − e2) + (−sin θ)·(e3 + e4).
struct PsiGroup {
  ExactReal factor;
  std::vector<std::pair<int, int>> terms;  // (channel, ±1)
};
std::vector<PsiGroup> psi_groups(const std::vector<ExactReal>& row) {
  std::vector<PsiGroup> groups;
  for (int c = 0; c < static_cast<int>(row.size()); ++c) {
    bool placed = false;
    for (auto& g : groups) {
      if (row[c] == g.factor) g.terms.emplace_back(c, 1);
      else if (row[c] == g.factor.negated()) g.terms.emplace_back(c, -1);
      else continue;
      placed = true;
      break;
    }
    if (!placed) groups.push_back({row[c], {{c, 1}}});
  }
  return groups;
}

template <class T>
struct Tables {
  int m = 0, d = 0;
  std::vector<T> q, k1, k2, v1, v2;
  std::vector<std::vector<T>> psi_factor;  // per token value, per group
};

struct Unit {
  Unit(const Match3ThirdOrderModel& model, const Semantics& sem);
  const Match3ThirdOrderModel& model;
  SemanticsPolicy policy;
  std::vector<EmbeddingEntry> q, k1, k2, v1, v2;
  std::vector<std::vector<PsiGroup>> psi;  // per token value
  Tables<DInterval> fast;
  DInterval threshold_fast;
  Interval threshold(mpfr_prec_t bits) const { return model.threshold.at(bits); }
  Tables<Interval> precise(mpfr_prec_t bits) const;
};

std::vector<EmbeddingEntry> entries_of(const std::vector<ExactReal>& a, const SemanticsPolicy& sem) {
  std::vector<EmbeddingEntry> out;
  out.reserve(a.size());
  for (const auto& x : a) out.emplace_back([x](mpfr_prec_t bits) { return x.at(bits); }, sem);
  return out;
}

template <class T, class Make, class Exact>
Tables<T> tables_of(const Unit& u, Make&& make, Exact&& exact) {
  Tables<T> t;
  t.m = u.model.m;
  t.d = u.model.d;
  for (const auto& e : u.q) t.q.push_back(make(e));
  for (const auto& e : u.k1) t.k1.push_back(make(e));
  for (const auto& e : u.k2) t.k2.push_back(make(e));
  for (const auto& e : u.v1) t.v1.push_back(make(e));
  for (const auto& e : u.v2) t.v2.push_back(make(e));
  for (const auto& groups : u.psi) {
    std::vector<T> f;
    for (const auto& g : groups) f.push_back(exact(g.factor));
    t.psi_factor.push_back(std::move(f));
  }
  return t;
}

// The semantics was checked by match3_certifiable_structure_problem before a unit is built.
Unit::Unit(const Match3ThirdOrderModel& mdl, const Semantics& s)
    : model(mdl), policy(s, kMatchModelSemantics, "match3-third-order models") {
  const SemanticsPolicy& sem = policy;
  q = entries_of(mdl.query, sem);
  k1 = entries_of(mdl.key1, sem);
  k2 = entries_of(mdl.key2, sem);
  v1 = entries_of(mdl.value1, sem);
  v2 = entries_of(mdl.value2, sem);
  for (int a = 0; a < mdl.M; ++a)
    psi.push_back(psi_groups(std::vector<ExactReal>(mdl.psi_table.begin() + a * mdl.d, mdl.psi_table.begin() + (a + 1) * mdl.d)));
  fast = tables_of<DInterval>(
      *this, [](const EmbeddingEntry& e) { return e.fast(); },
      [](const ExactReal& x) { return DInterval::from_interval(x.at(128)); });
  threshold_fast = DInterval::from_interval(threshold(128));
}

Tables<Interval> Unit::precise(mpfr_prec_t bits) const {
  return tables_of<Interval>(
      *this, [bits](const EmbeddingEntry& e) { return e.at(bits); }, [bits](const ExactReal& x) { return x.at(bits); });
}

// z = ψ's functional of value a applied to the output channels e.
template <class T, class E>
T psi_statistic(const std::vector<PsiGroup>& groups, const std::vector<T>& factors, E&& e) {
  T z(0);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& terms = groups[g].terms;
    T sum = e(terms[0].first);
    for (std::size_t t = 1; t < terms.size(); ++t) sum = terms[t].second > 0 ? T(sum + e(terms[t].first)) : T(sum - e(terms[t].first));
    z = g == 0 ? T(factors[g] * sum) : T(z + factors[g] * sum);
  }
  return z;
}

// The statistic of value a over the residue counts of the whole input; pairs grouped by residue.
template <class T>
T row_statistic(const Unit& u, const Tables<T>& t, int a, const int* vals, const int* counts, int k) {
  using std::exp;
  const int m = t.m, d = t.d;
  std::array<T, kMaxDistinct * kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j1 = 0; j1 < k; ++j1)
    for (int j2 = 0; j2 < k; ++j2) {
      const T* qa = &t.q[a * m];
      const T* ka = &t.k1[vals[j1] * m];
      const T* kb = &t.k2[vals[j2] * m];
      const std::size_t idx = static_cast<std::size_t>(j1 * k + j2);
      T sc = qa[0] * ka[0] * kb[0];
      for (int c = 1; c < m; ++c) sc = sc + qa[c] * ka[c] * kb[c];
      s[idx] = sc;
      if (idx > 0 && score_less(s[arg], s[idx])) arg = idx;
    }
  const T shift = shift_point(s[arg]);
  T den(0);
  std::array<T, kW> num;
  for (int c = 0; c < d; ++c) num[c] = T(0);
  for (int j1 = 0; j1 < k; ++j1)
    for (int j2 = 0; j2 < k; ++j2) {
      const std::size_t idx = static_cast<std::size_t>(j1 * k + j2);
      T w = T(counts[j1] * counts[j2]) * exp(s[idx] - shift);
      den += w;
      const T* va = &t.v1[vals[j1] * d];
      const T* vb = &t.v2[vals[j2] * d];
      for (int c = 0; c < d; ++c) num[c] += w * (va[c] * vb[c]);
    }
  std::array<T, kW> e;
  for (int c = 0; c < d; ++c) e[c] = num[c] / den;
  return psi_statistic(u.psi[a], t.psi_factor[a], [&](int c) { return e[c]; });
}

template <class T>
void set_margin(MatchCaseOutcome& o, const T& z, const T& tau, bool matched_below) {
  const bool z_below = o.matched == matched_below;
  T margin = z_below ? T(tau - z) : T(z - tau);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = z.lower(); o.stat_hi = z.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = z.lower_double(); o.stat_hi = z.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}

bool literal_matched(int M, const QueryMultisetCase& c) {
  for (int j1 = 0; j1 < c.k; ++j1)
    for (int j2 = 0; j2 < c.k; ++j2)
      if ((c.a + c.vals[j1] + c.vals[j2]) % M == 0) return true;
  return false;
}

template <class T, class Make>
Mat<T> forward_output(const Unit& u, const std::vector<int>& x, Make&& make) {
  const std::size_t N = x.size();
  const int m = u.model.m, d = u.model.d;
  ThirdOrderHead<T> h{Mat<T>(N, m), Mat<T>(N, m), Mat<T>(N, m), Mat<T>(N, d), Mat<T>(N, d)};
  for (std::size_t i = 0; i < N; ++i) {
    for (int c = 0; c < m; ++c) {
      h.queries(i, c) = make(u.q[x[i] * m + c]);
      h.keys1(i, c) = make(u.k1[x[i] * m + c]);
      h.keys2(i, c) = make(u.k2[x[i] * m + c]);
    }
    for (int c = 0; c < d; ++c) {
      h.values1(i, c) = make(u.v1[x[i] * d + c]);
      h.values2(i, c) = make(u.v2[x[i] * d + c]);
    }
  }
  return third_order_unit(h);
}

std::vector<Interval> forward_statistics(const Unit& u, const std::vector<int>& x, mpfr_prec_t bits) {
  std::vector<Interval> z;
  auto finish = [&](auto&& channel) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      std::vector<Interval> f;
      for (const auto& g : u.psi[x[i]]) f.push_back(g.factor.at(bits));
      z.push_back(psi_statistic(u.psi[x[i]], f, [&](int c) { return channel(i, c); }));
    }
  };
  if (u.policy.arith()) {
    ArithFormatScope scope(u.policy.format());
    const Format fmt = u.policy.format();
    Mat<FormatReal> out = forward_output<FormatReal>(u, x, [&](const EmbeddingEntry& e) { return FormatReal(e.rational(), fmt); });
    WorkingPrecision wp(bits);
    finish([&](std::size_t i, int c) { return Interval(out(i, c).value(), bits); });
    return z;
  }
  WorkingPrecision wp(bits);
  Mat<Interval> out = forward_output<Interval>(u, x, [&](const EmbeddingEntry& e) { return e.at(bits); });
  finish([&](std::size_t i, int c) { return out(i, c); });
  return z;
}

std::vector<MatchTokenDecision> forward_decisions(const Unit& u, const std::vector<int>& x) {
  return decide_tokens(
      x, match3(x, u.model.M), u.model.matched_below, [&](mpfr_prec_t bits) { return forward_statistics(u, x, bits); },
      [&](mpfr_prec_t bits) { return u.threshold(bits); });
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
  void fast(const Case& c, Outcome* o) const {
    *o = Outcome{};
    o->matched = literal_matched(unit.model.M, c);
    set_margin(*o, row_statistic(unit, unit.fast, c.a, c.vals, c.counts, c.k), unit.threshold_fast, unit.model.matched_below);
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* o) const {
    *o = Outcome{};
    o->matched = literal_matched(unit.model.M, c);
    WorkingPrecision wp(bits);
    const Tables<Interval> t = unit.precise(bits);
    set_margin(*o, row_statistic(unit, t, c.a, c.vals, c.counts, c.k), unit.threshold(bits), unit.model.matched_below);
  }
};

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
  void exact(const Case& x, mpfr_prec_t bits, Outcome* out) const {
    const auto z = forward_statistics(unit, x, bits);
    const auto truth = match3(x, unit.model.M);
    const Interval tau = unit.threshold(bits);
    for (std::size_t i = 0; i < x.size(); ++i) {
      out[i] = Outcome{};
      out[i].matched = truth[i] != 0;
      set_margin(out[i], z[i], tau, unit.model.matched_below);
    }
  }
  void fast(const Case& x, Outcome* out) const { exact(x, kLadderStartBits, out); }
};

}  // namespace

Match2TableCheckResult check_match3_third_order_model(const Match3ThirdOrderModel& m, const Semantics& sem, unsigned threads,
                                                      bool force) {
  const std::string problem = match3_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw ConfigError("semantics", problem);
  ElapsedTimer timer;
  const bool tuples = sem.kind == Semantics::Kind::Arith;
  const std::uint64_t total = tuples ? tuple_count_saturating(m.M, m.N) : query_multiset_cases(m.N, m.M);
  require_size_limit(tuples ? "match3 model tuples (arith: M^N, no permutation reduction)" : "match3 model cases M*C(M+N-2,N-1)",
                     total, tuples ? 200'000ULL : 50'000'000ULL, force);
  const Unit unit(m, sem);
  Match2TableCheckResult r;
  r.N = m.N;
  r.M = m.M;
  r.semantics = sem.name();
  r.tuples = tuples;
  r.threshold_lower = m.threshold.at(128).lower();
  r.reduction = tuples ? "none: arith rounding depends on summation order; all M^N tuples, every token"
                       : "position-free + permutation-equivariant: per query value x_i and multiset of the other "
                         "N-1 tokens (M*C(M+N-2,N-1) cases cover [M]^N); pairs grouped by residue";
  const MatchTally tally = tuples ? filtered_sweep(TupleProblem{unit, m.N}, threads) : filtered_sweep(MultisetProblem{unit, m.N}, threads);
  r.sweep = summarize_sweep(tally, m.N, m.M, tuples);
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return forward_decisions(unit, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_match3_third_order_model(const Match3ThirdOrderModel& m, const Semantics& sem, const std::vector<int>& x_in) {
  const std::string problem = match3_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw ConfigError("semantics", problem);
  if (x_in.size() != static_cast<std::size_t>(m.N))
    throw ConfigError("input", "needs N = " + std::to_string(m.N) + " tokens (the model's N), got " + std::to_string(x_in.size()));
  std::vector<int> x;
  for (int v : x_in) x.push_back(((v % m.M) + m.M) % m.M);
  const Unit unit(m, sem);
  MatchEvalResult r;
  r.construction = m.construction.empty() ? "match3-third-order-model" : m.construction;
  r.x = x;
  r.M = m.M;
  if (m.metadata.count("c")) {
    try {
      r.c = parse_rational(m.metadata.at("c"));
    } catch (const std::exception&) {
    }
  }
  r.semantics = sem.name();
  r.threshold = m.threshold.at(128).lower();
  r.tokens = forward_decisions(unit, x);
  r.stat_name = "statistic";
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
