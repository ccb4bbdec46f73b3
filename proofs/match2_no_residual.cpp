#include "proofs/match2_no_residual.hpp"

#include <array>
#include <cmath>

#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "model/attention.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

Interval match2nr_score_gap(int M, mpfr_prec_t bits) {
  // min (cos θ_x − cos θ_y)² over y ∉ {x, −x}.  cos θ_x takes the values cos(2πr/M), r = 0..⌊M/2⌋,
  // strictly decreasing in r, and such a pair (x, y) = (r, s) exists for every r ≠ s in that range;
  // so the minimum is over adjacent r (any other difference is a sum of adjacent ones).  O(M), not
  // O(M²): M = 65536 took hours the quadratic way.
  if (M <= 2) return Interval(1L, bits);  // every pair matches
  Interval best;
  Interval prev = cos_turn(0, M, bits);
  for (int r = 1; r <= M / 2; ++r) {
    Interval cur = cos_turn(r, M, bits);
    Interval d = prev - cur;
    Interval d2 = d * d;
    if (r == 1 || d2.lower() < best.lower()) best = d2;
    prev = cur;
  }
  return best;
}

Interval match2nr_norm_threshold(int N, int M, mpfr_prec_t bits) {
  Interval s = sin_turn(1, M, bits);
  return s * s * Interval(Rational(2 * (N - 1), static_cast<long>(N) * N), bits);
}

Interval match2nr_norm_bound(int N, int M, mpfr_prec_t bits) {
  // 1 − τ₁ = A + B·cos(2π·2/M), since sin²θ = (1 − cos 2θ)/2: A = 1 − (N−1)/N², B = (N−1)/N².
  // Enclosed as a model file's exact entry "A+B*cos(2pi*2/M)" is (B·cos first, then + A), so an
  // exported file and this checker compare ‖out‖² with the same enclosure.
  const Rational B(N - 1, static_cast<long>(N) * N), A = 1 - B;
  if (auto e = cos_turn_exact(2, M)) return Interval(Rational(A + B * *e), bits);
  return Interval(A, bits) + Interval(B, bits) * cos_turn(2, M, bits);
}

Interval match2nr_axis_threshold(int M, mpfr_prec_t bits) { return abs(sin_turn(1, M, bits)) / Interval(2L, bits); }

Rational match2nr_default_temperature(int N, int M) {
  Interval g2 = match2nr_score_gap(M, 128);
  Interval t1 = match2nr_norm_threshold(N, M, 128), t2 = match2nr_axis_threshold(M, 128);
  Interval tau = certainly_less(t1, t2) ? t1 : t2;
  Interval c = log(Interval(static_cast<long>(8 * (N - 1)), 128) / tau) / g2;
  Integer up(c.upper() * 16);
  return Rational(Integer(up + 1), 16);
}

namespace {

struct NrModel {
  NrModel(int M_, Rational c_, SemanticsPolicy policy_, int N) : M(M_), c(std::move(c_)), policy(std::move(policy_)) {
    const SemanticsPolicy& sem = policy;
    for (int r = 0; r < M; ++r) {
      q_cos.push_back(cos_entry(2 * c, r, M, sem));
      k_cos.push_back(cos_entry(Rational(1), r, M, sem));
      // cos²θ = (1 + cos 2θ)/2
      if (auto e = cos_turn_exact(2L * r, M)) {
        Rational v = (1 + *e) / 2;
        k_cos2.push_back(EmbeddingEntry([v](mpfr_prec_t bits) { return Interval(v, bits); }, sem));
      } else {
        k_cos2.push_back(EmbeddingEntry([r, M = M](mpfr_prec_t bits) {
          return (Interval(1L, bits) + cos_turn(2L * r, M, bits)) / Interval(2L, bits);
        }, sem));
      }
      v_cos.push_back(cos_entry(Rational(1), r, M, sem));
      v_sin.push_back(sin_entry(Rational(1), r, M, sem));
    }
    const Rational minus_c = -c;
    q_const = EmbeddingEntry([minus_c](mpfr_prec_t bits) { return Interval(minus_c, bits); }, sem);
    tau_norm_fast = DInterval::from_interval(match2nr_norm_bound(N, M, 128));
    tau2_fast = DInterval::from_interval(match2nr_axis_threshold(M, 128));
    N_ = N;
  }
  int M;
  Rational c;
  SemanticsPolicy policy;
  int N_ = 0;
  std::vector<EmbeddingEntry> q_cos, k_cos, k_cos2, v_cos, v_sin;
  EmbeddingEntry q_const;  // the query's constant entry −c
  DInterval tau_norm_fast, tau2_fast;
};

template <class T>
struct NrTables {
  std::vector<T> qc, kc, kc2, vc, vs;
  T qk;
};

template <class T, class Get>
NrTables<T> tables(const NrModel& m, Get&& get, T qk) {
  NrTables<T> t;
  for (int r = 0; r < m.M; ++r) {
    t.qc.push_back(get(m.q_cos[r]));
    t.kc.push_back(get(m.k_cos[r]));
    t.kc2.push_back(get(m.k_cos2[r]));
    t.vc.push_back(get(m.v_cos[r]));
    t.vs.push_back(get(m.v_sin[r]));
  }
  t.qk = qk;
  return t;
}

constexpr int kMaxDistinct = 64;

template <class T>
void row_output(const NrTables<T>& t, int a, const int* vals, const int* counts, int k, T& o1, T& o2) {
  using std::exp;
  std::array<T, kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j = 0; j < k; ++j) {
    const int b = vals[j];
    s[j] = t.qc[a] * t.kc[b] + t.qk * t.kc2[b];
    if (j > 0 && score_less(s[arg], s[j])) arg = static_cast<std::size_t>(j);
  }
  const T shift = shift_point(s[arg]);
  T den(0), n1(0), n2(0);
  for (int j = 0; j < k; ++j) {
    T w = T(counts[j]) * exp(s[j] - shift);
    den += w;
    n1 += w * t.vc[vals[j]];
    n2 += w * t.vs[vals[j]];
  }
  o1 = n1 / den;
  o2 = n2 / den;
}

// ψ's decision function F = max((1 − τ₁) − ‖out‖², τ₂ − |out₂|): ψ = 1 iff F > 0.
template <class T>
T psi_function(const T& o1, const T& o2, const T& tau_norm, const T& tau2) {
  T a1 = abs(o1), a2 = abs(o2);
  T n2 = a1 * a1 + a2 * a2;
  return norm_or_axis_decision(n2, o2, tau_norm, tau2);
}

template <class T>
void set_margin(MatchCaseOutcome& o, const T& f) {
  T margin = o.matched ? f : T(-f);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = f.lower(); o.stat_hi = f.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = f.lower_double(); o.stat_hi = f.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}

bool matched_of(const NrModel& m, const QueryMultisetCase& c) {
  const int partner = (m.M - c.a) % m.M;
  for (int j = 0; j < c.k; ++j)
    if (c.vals[j] == partner) return true;
  return false;
}

// The multiset reduction as a filtered-sweep problem: DInterval, then MPFI along the ladder.
struct NrProblem {
  using Case = QueryMultisetCase;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const NrModel& m;
  const NrTables<DInterval>& fast_tables;
  int N;
  std::uint64_t cases() const { return query_multiset_cases(N, m.M); }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_query_multisets(N, m.M, begin, end, f);
  }
  void fast(const Case& c, Outcome* o) const {
    *o = MatchCaseOutcome{};
    o->matched = matched_of(m, c);
    DInterval o1, o2;
    row_output(fast_tables, c.a, c.vals, c.counts, c.k, o1, o2);
    set_margin(*o, psi_function(o1, o2, m.tau_norm_fast, m.tau2_fast));
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* o) const {
    *o = MatchCaseOutcome{};
    o->matched = matched_of(m, c);
    WorkingPrecision wp(bits);
    auto t = tables<Interval>(m, [bits](const EmbeddingEntry& e) { return e.at(bits); }, m.q_const.at(bits));
    Interval i1, i2;
    row_output(t, c.a, c.vals, c.counts, c.k, i1, i2);
    set_margin(*o, psi_function(i1, i2, match2nr_norm_bound(m.N_, m.M, bits), match2nr_axis_threshold(m.M, bits)));
  }
};

// Direct forward pass with attention.hpp (MPFI), no residual.
std::vector<MatchTokenDecision> nr_forward(const NrModel& m, const std::vector<int>& x) {
  const std::size_t N = x.size();
  auto stats_at = [&](mpfr_prec_t bits) {
    WorkingPrecision wp(bits);
    QKV<Interval> h{Mat<Interval>(N, 2), Mat<Interval>(N, 2), Mat<Interval>(N, 2)};
    for (std::size_t i = 0; i < N; ++i) {
      h.queries(i, 0) = m.q_cos[x[i]].at(bits);
      h.queries(i, 1) = m.q_const.at(bits);
      h.keys(i, 0) = m.k_cos[x[i]].at(bits);
      h.keys(i, 1) = m.k_cos2[x[i]].at(bits);
      h.values(i, 0) = m.v_cos[x[i]].at(bits);
      h.values(i, 1) = m.v_sin[x[i]].at(bits);
    }
    Mat<Interval> o = attention_unit(h);
    Interval t1 = match2nr_norm_bound(m.N_, m.M, bits), t2 = match2nr_axis_threshold(m.M, bits);
    std::vector<Interval> f;
    for (std::size_t i = 0; i < N; ++i) f.push_back(psi_function(o(i, 0), o(i, 1), t1, t2));
    return f;
  };
  // ψ's function is positive exactly on matched tokens: threshold 0, matched above.
  return decide_tokens(x, match2(x, m.M), /*matched_below=*/false, stats_at,
                       [](mpfr_prec_t bits) { return Interval(0L, bits); });
}

// Returns the semantics policy of the configuration.
SemanticsPolicy validate(const Match2Config& cfg) {
  check_field_range("N", cfg.N, Match2Config::kN);
  check_field_range("M", cfg.M, Match2Config::kMNoResidual);
  if (cfg.c && *cfg.c <= 0) throw ConfigError("c", "temperature must be > 0");
  if (cfg.flip_query_sign) throw ConfigError("flip_query_sign", "not available without a residual");
  return SemanticsPolicy(cfg.semantics, Match2Config::kSemanticsNoResidual, "match2 without a residual");
}

}  // namespace

Match2NoResidualResult check_match2_no_residual(const Match2Config& cfg, unsigned threads, bool force) {
  SemanticsPolicy policy = validate(cfg);
  ElapsedTimer timer;
  const Rational c = cfg.c ? *cfg.c : match2nr_default_temperature(cfg.N, cfg.M);
  require_size_limit("match2 cases M*C(M+N-2,N-1)", query_multiset_cases(cfg.N, cfg.M), 200'000'000ULL, force);
  NrModel model(cfg.M, c, std::move(policy), cfg.N);
  auto fast = tables<DInterval>(model, [](const EmbeddingEntry& e) { return e.fast(); }, model.q_const.fast());
  Match2NoResidualResult r;
  r.N = cfg.N;
  r.M = cfg.M;
  r.c = c;
  r.semantics = cfg.semantics.name();
  r.score_gap_lower = match2nr_score_gap(cfg.M, 128).lower();
  r.norm_threshold_lower = match2nr_norm_threshold(cfg.N, cfg.M, 128).lower();
  r.axis_threshold_lower = match2nr_axis_threshold(cfg.M, 128).lower();
  r.psi = "1 iff |out|^2 < 1 - norm_threshold or |out_2| < axis_threshold";
  r.reduction = "position-free + permutation-equivariant: per query value x_i and multiset of the other "
                "N-1 tokens (M*C(M+N-2,N-1) cases cover [M]^N)";
  const MatchTally tally = filtered_sweep(NrProblem{model, fast, cfg.N}, threads);
  r.sweep = summarize_sweep(tally, cfg.N, cfg.M, false);
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return nr_forward(model, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_match2_no_residual(const Match2Config& cfg, const std::vector<int>& x_in) {
  Match2Config v = cfg;
  v.N = static_cast<int>(x_in.size());
  SemanticsPolicy policy = validate(v);
  const Rational c = cfg.c ? *cfg.c : match2nr_default_temperature(v.N, cfg.M);
  std::vector<int> x;
  for (int t : x_in) x.push_back(((t % cfg.M) + cfg.M) % cfg.M);
  NrModel model(cfg.M, c, std::move(policy), v.N);
  MatchEvalResult r;
  r.construction = "match2 (no residual, m = 4)";
  r.x = x;
  r.M = cfg.M;
  r.c = c;
  r.semantics = cfg.semantics.name();
  r.residual = false;
  r.tokens = nr_forward(model, x);
  r.stat_name = "psi_function";
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
