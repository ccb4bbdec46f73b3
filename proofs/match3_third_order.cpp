#include "proofs/match3_third_order.hpp"

#include <cmath>

#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "model/attention.hpp"
#include "proofs/match2_trig.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

Interval match3_temperature_bound(int N, int M, mpfr_prec_t bits) {
  Interval g = match2_gap(M, bits);
  Interval arg = Interval(static_cast<long>(N) * N - 1, bits) * (Interval(4L, bits) - g) / g;
  return log(arg) / g;
}

Rational match3_default_temperature(int N, int M) {
  Rational hi = match3_temperature_bound(N, M, 128).upper() * Rational(65, 64);
  Integer scaled(hi * 1024);
  return Rational(Integer(scaled + 1), 1024);
}

std::array<Match3TrigSelector, 4> match3_query_pattern(bool flipped) {
  return {{{false, 1}, {false, -1}, {true, -1}, {true, flipped ? 1 : -1}}};
}
std::array<Match3TrigSelector, 4> match3_key1_pattern() { return {{{false, 1}, {true, 1}, {false, 1}, {true, 1}}}; }
std::array<Match3TrigSelector, 4> match3_key2_pattern() { return {{{false, 1}, {true, 1}, {true, 1}, {false, 1}}}; }
// Values: v¹ follows key2's pattern, v² follows key1's.
namespace {
std::array<Match3TrigSelector, 4> value1_pattern() { return match3_key2_pattern(); }
std::array<Match3TrigSelector, 4> value2_pattern() { return match3_key1_pattern(); }

std::array<EmbeddingEntry, 4> entries(const std::array<Match3TrigSelector, 4>& pat, const Rational& scale, int r, int M,
                             const SemanticsPolicy& sem) {
  std::array<EmbeddingEntry, 4> out;
  for (int c = 0; c < 4; ++c) {
    Rational s = scale * pat[c].sign;
    out[c] = pat[c].use_sin ? sin_entry(s, r, M, sem) : cos_entry(s, r, M, sem);
  }
  return out;
}

template <class T, class Get>
std::array<T, 4> row(const std::array<EmbeddingEntry, 4>& e, Get&& get) {
  return {get(e[0]), get(e[1]), get(e[2]), get(e[3])};
}
}  // namespace

Match3Model::Match3Model(int M_, Rational c_, SemanticsPolicy policy_, bool flip)
    : M(M_), c(std::move(c_)), policy(std::move(policy_)), flipped(flip) {
  const SemanticsPolicy& sem = policy;
  const Rational one(1);
  for (int r = 0; r < M; ++r) {
    q.push_back(entries(match3_query_pattern(flip), c, r, M, sem));
    k1.push_back(entries(match3_key1_pattern(), one, r, M, sem));
    k2.push_back(entries(match3_key2_pattern(), one, r, M, sem));
    v1.push_back(entries(value1_pattern(), one, r, M, sem));
    v2.push_back(entries(value2_pattern(), one, r, M, sem));
    auto f = [](const EmbeddingEntry& e) { return e.fast(); };
    fast.q.push_back(row<DInterval>(q.back(), f));
    fast.k1.push_back(row<DInterval>(k1.back(), f));
    fast.k2.push_back(row<DInterval>(k2.back(), f));
    fast.v1.push_back(row<DInterval>(v1.back(), f));
    fast.v2.push_back(row<DInterval>(v2.back(), f));
    fast.psi_cos.push_back(DInterval::from_interval(cos_turn(r, M, 128)));
    fast.psi_sin.push_back(DInterval::from_interval(sin_turn(r, M, 128)));
  }
  threshold_fast = DInterval::from_interval(threshold(128));
}

Interval Match3Model::threshold(mpfr_prec_t bits) const {
  return Interval(1L, bits) - match2_gap(M, bits) / Interval(2L, bits);
}

Match3Tables<Interval> Match3Model::precise(mpfr_prec_t bits) const {
  Match3Tables<Interval> t;
  auto g = [bits](const EmbeddingEntry& e) { return e.at(bits); };
  for (int r = 0; r < M; ++r) {
    t.q.push_back(row<Interval>(q[r], g));
    t.k1.push_back(row<Interval>(k1[r], g));
    t.k2.push_back(row<Interval>(k2[r], g));
    t.v1.push_back(row<Interval>(v1[r], g));
    t.v2.push_back(row<Interval>(v2[r], g));
    t.psi_cos.push_back(cos_turn(r, M, bits));
    t.psi_sin.push_back(sin_turn(r, M, bits));
  }
  return t;
}

namespace {

constexpr int kMaxDistinct = static_cast<int>(Match3Config::kN.hi);  // N ≤ 16 distinct values

// ψ's statistic for query value a over the residue counts of the whole input: the softmax over
// all N² pairs groups by residue pair (b1, b2) with multiplicity n_b1·n_b2 (exact identity).
template <class T>
T row_statistic(const Match3Tables<T>& t, int a, const int* vals, const int* counts, int k) {
  using std::exp;
  std::array<T, kMaxDistinct * kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j1 = 0; j1 < k; ++j1)
    for (int j2 = 0; j2 < k; ++j2) {
      const auto &qa = t.q[a], &ka = t.k1[vals[j1]], &kb = t.k2[vals[j2]];
      const std::size_t idx = static_cast<std::size_t>(j1 * k + j2);
      s[idx] = qa[0] * ka[0] * kb[0] + qa[1] * ka[1] * kb[1] + qa[2] * ka[2] * kb[2] + qa[3] * ka[3] * kb[3];
      if (idx > 0 && score_less(s[arg], s[idx])) arg = idx;
    }
  const T shift = shift_point(s[arg]);
  T den(0);
  std::array<T, 4> num{T(0), T(0), T(0), T(0)};
  for (int j1 = 0; j1 < k; ++j1)
    for (int j2 = 0; j2 < k; ++j2) {
      const std::size_t idx = static_cast<std::size_t>(j1 * k + j2);
      T w = T(counts[j1] * counts[j2]) * exp(s[idx] - shift);
      den += w;
      const auto &va = t.v1[vals[j1]], &vb = t.v2[vals[j2]];
      for (int c = 0; c < 4; ++c) num[c] += w * (va[c] * vb[c]);
    }
  T e1 = num[0] / den, e2 = num[1] / den, e3 = num[2] / den, e4 = num[3] / den;
  return t.psi_cos[a] * (e1 - e2) - t.psi_sin[a] * (e3 + e4);
}

template <class T>
void set_margin(MatchCaseOutcome& o, const T& z, const T& tau) {
  T margin = o.matched ? T(z - tau) : T(tau - z);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = z.lower(); o.stat_hi = z.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = z.lower_double(); o.stat_hi = z.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}


// Forward pass with attention.hpp's third_order_unit; returns the 4-wide output.
template <class T, class Make>
Mat<T> forward_output(const Match3Model& model, const std::vector<int>& x, Make&& make) {
  const std::size_t N = x.size();
  ThirdOrderHead<T> h{Mat<T>(N, 4), Mat<T>(N, 4), Mat<T>(N, 4), Mat<T>(N, 4), Mat<T>(N, 4)};
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t c = 0; c < 4; ++c) {
      const int r = x[i];
      h.queries(i, c) = make(model.q[r][c]);
      h.keys1(i, c) = make(model.k1[r][c]);
      h.keys2(i, c) = make(model.k2[r][c]);
      h.values1(i, c) = make(model.v1[r][c]);
      h.values2(i, c) = make(model.v2[r][c]);
    }
  return third_order_unit(h);
}

// ψ's statistic from an output row, computed exactly (enclosure at bits).
template <class Get>
std::vector<Interval> statistics(const Match3Model& model, const std::vector<int>& x, mpfr_prec_t bits, Get&& get) {
  std::vector<Interval> z;
  for (std::size_t i = 0; i < x.size(); ++i) {
    Interval e1 = get(i, 0), e2 = get(i, 1), e3 = get(i, 2), e4 = get(i, 3);
    z.push_back(cos_turn(x[i], model.M, bits) * (e1 - e2) - sin_turn(x[i], model.M, bits) * (e3 + e4));
  }
  return z;
}

std::vector<Interval> forward_statistics(const Match3Model& model, const std::vector<int>& x, mpfr_prec_t bits) {
  if (model.policy.arith()) {
    ArithFormatScope scope(model.policy.format());
    const Format fmt = model.policy.format();
    Mat<FormatReal> out = forward_output<FormatReal>(model, x, [&](const EmbeddingEntry& e) { return FormatReal(e.rational(), fmt); });
    return statistics(model, x, bits, [&](std::size_t i, std::size_t c) { return Interval(out(i, c).value(), bits); });
  }
  WorkingPrecision wp(bits);
  Mat<Interval> out = forward_output<Interval>(model, x, [&](const EmbeddingEntry& e) { return e.at(bits); });
  return statistics(model, x, bits, [&](std::size_t i, std::size_t c) { return out(i, c); });
}

// Returns the semantics policy of the configuration.
SemanticsPolicy validate(const Match3Config& cfg) {
  check_field_range("N", cfg.N, Match3Config::kN);
  check_field_range("M", cfg.M, Match3Config::kM);
  if (cfg.c && *cfg.c <= 0) throw ConfigError("c", "temperature must be > 0");
  return SemanticsPolicy(cfg.semantics, Match3Config::kSemantics, "match3-third-order");
}

bool literal_matched(const Match3Model& model, const QueryMultisetCase& c) {
  // Literal Match3 on the residue set: some pair (b1, b2) of present residues has a+b1+b2 ≡ 0.
  for (int j1 = 0; j1 < c.k; ++j1)
    for (int j2 = 0; j2 < c.k; ++j2)
      if ((c.a + c.vals[j1] + c.vals[j2]) % model.M == 0) return true;
  return false;
}

// The multiset reduction as a filtered-sweep problem: DInterval, then MPFI along the ladder.
struct Match3MultisetProblem {
  using Case = QueryMultisetCase;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Match3Model& model;
  int N;
  std::uint64_t cases() const { return query_multiset_cases(N, model.M); }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_query_multisets(N, model.M, begin, end, f);
  }
  void fast(const Case& c, Outcome* o) const {
    *o = MatchCaseOutcome{};
    o->matched = literal_matched(model, c);
    set_margin(*o, row_statistic(model.fast, c.a, c.vals, c.counts, c.k), model.threshold_fast);
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* o) const {
    *o = MatchCaseOutcome{};
    o->matched = literal_matched(model, c);
    WorkingPrecision wp(bits);
    auto t = model.precise(bits);
    set_margin(*o, row_statistic(t, c.a, c.vals, c.counts, c.k), model.threshold(bits));
  }
};

// Arith semantics: every tuple, every token; the forward pass is exact (FormatReal), only ψ's
// statistic is enclosed, first at the ladder's start, then higher where it does not decide.
struct Match3TupleProblem {
  using Case = std::vector<int>;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Match3Model& model;
  int N;
  std::uint64_t cases() const { return tuple_count_saturating(model.M, N); }
  unsigned outcomes_per_case() const { return static_cast<unsigned>(N); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_tuples(N, model.M, begin, end, f);
  }
  void exact(const Case& x, mpfr_prec_t bits, Outcome* out) const {
    auto z = forward_statistics(model, x, bits);
    auto truth = match3(x, model.M);
    Interval tau = model.threshold(bits);
    for (std::size_t i = 0; i < x.size(); ++i) {
      out[i] = MatchCaseOutcome{};
      out[i].matched = truth[i] != 0;
      set_margin(out[i], z[i], tau);
    }
  }
  void fast(const Case& x, Outcome* out) const { exact(x, kLadderStartBits, out); }
};

}  // namespace

MatchCaseOutcome match3_case(const Match3Model& model, int a, const int* vals, const int* counts, int k) {
  const Match3MultisetProblem problem{model, k};
  MatchCaseOutcome o;
  bool fallback = false;
  settle_case(problem, QueryMultisetCase{a, vals, counts, k}, &o, &fallback);
  o.used_fallback = fallback;
  return o;
}

std::vector<MatchTokenDecision> match3_forward(const Match3Model& model, const std::vector<int>& x) {
  return decide_tokens(
      x, match3(x, model.M), /*matched_below=*/false,
      [&](mpfr_prec_t bits) { return forward_statistics(model, x, bits); },
      [&](mpfr_prec_t bits) { return model.threshold(bits); });
}

Match3ThirdOrderResult check_match3_third_order(const Match3Config& cfg, unsigned threads, bool force) {
  SemanticsPolicy policy = validate(cfg);
  ElapsedTimer timer;
  const Rational c = cfg.c ? *cfg.c : match3_default_temperature(cfg.N, cfg.M);
  const bool tuples = policy.arith();
  const std::uint64_t total = tuples ? tuple_count_saturating(cfg.M, cfg.N) : query_multiset_cases(cfg.N, cfg.M);
  require_size_limit(tuples ? "match3 tuples (arith: M^N, no permutation reduction)" : "match3 cases M*C(M+N-2,N-1)",
                     total, tuples ? 200'000ULL : 50'000'000ULL, force);
  Match3Model model(cfg.M, c, std::move(policy), cfg.flip_query_sign);
  Interval bound = match3_temperature_bound(cfg.N, cfg.M, 128);
  Match3ThirdOrderResult r;
  r.N = cfg.N;
  r.M = cfg.M;
  r.c = c;
  r.flip_query_sign = cfg.flip_query_sign;
  r.semantics = cfg.semantics.name();
  r.residual = "psi sees x_i (cos, sin of theta_i) besides the 4-wide unit output";
  r.gap_lower = match2_gap(cfg.M, 128).lower();
  r.threshold_lower = model.threshold(128).lower();
  r.temperature_bound_upper = bound.upper();
  r.temperature_above_bound = c > bound.upper();
  r.tuples = tuples;
  r.reduction = tuples ? "none: arith rounding depends on summation order; all M^N tuples, every token"
                       : "position-free + permutation-equivariant: per query value x_i and multiset of the other "
                         "N-1 tokens (M*C(M+N-2,N-1) cases cover [M]^N); pairs grouped by residue";
  const MatchTally tally = tuples ? filtered_sweep(Match3TupleProblem{model, cfg.N}, threads)
                                  : filtered_sweep(Match3MultisetProblem{model, cfg.N}, threads);
  r.sweep = summarize_sweep(tally, cfg.N, cfg.M, tuples);
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return match3_forward(model, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_match3_third_order(const Match3Config& cfg, const std::vector<int>& x_in) {
  Match3Config v = cfg;
  v.N = static_cast<int>(x_in.size());
  SemanticsPolicy policy = validate(v);
  const Rational c = cfg.c ? *cfg.c : match3_default_temperature(v.N, cfg.M);
  std::vector<int> x;
  for (int t : x_in) x.push_back(((t % cfg.M) + cfg.M) % cfg.M);
  Match3Model model(cfg.M, c, std::move(policy), cfg.flip_query_sign);
  MatchEvalResult r;
  r.construction = "match3-third-order";
  r.x = x;
  r.M = cfg.M;
  r.c = c;
  r.semantics = cfg.semantics.name();
  r.threshold = model.threshold(128).lower();
  r.tokens = match3_forward(model, x);
  r.stat_name = "statistic";
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
