#include "proofs/match2_trig.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/elapsed_timer.hpp"
#include "core/size_limit_error.hpp"
#include "model/attention.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

Interval match2_gap(int M, mpfr_prec_t bits) { return Interval(1L, bits) - cos_turn(1, M, bits); }

Interval match2_temperature_bound(int N, int M, mpfr_prec_t bits) {
  Interval g = match2_gap(M, bits);
  Interval arg = Interval(static_cast<long>(N - 1), bits) * (Interval(4L, bits) - g) / g;
  return log(arg) / g;
}

Rational match2_default_temperature(int N, int M) {
  Rational hi = match2_temperature_bound(N, M, 128).upper() * Rational(65, 64);
  Integer scaled(hi * 1024);  // truncates toward zero (hi > 0)
  return Rational(Integer(scaled + 1), 1024);
}

namespace {
std::atomic<std::uint64_t> next_model_id{1};
std::atomic<std::uint64_t> next_sweep_id{1};  // keys the per-thread pruning state of one sweep
}  // namespace

Match2Model::Match2Model(int M_, Rational c_, SemanticsPolicy policy_, bool flip)
    : M(M_), c(std::move(c_)), policy(std::move(policy_)), flipped(flip), id(next_model_id.fetch_add(1)) {
  const SemanticsPolicy& sem = policy;
  const Rational one(1), minus_one(-1), query_sin_scale = flip ? c : Rational(-c);
  for (int r = 0; r < M; ++r) {
    phi_cos.push_back(cos_entry(one, r, M, sem));
    phi_sin.push_back(sin_entry(one, r, M, sem));
    query_cos.push_back(cos_entry(c, r, M, sem));
    query_sin.push_back(sin_entry(query_sin_scale, r, M, sem));
    value_cos.push_back(cos_entry(minus_one, r, M, sem));
    value_sin.push_back(sin_entry(one, r, M, sem));
    fast.phic.push_back(phi_cos.back().fast());
    fast.phis.push_back(phi_sin.back().fast());
    fast.qc.push_back(query_cos.back().fast());
    fast.qs.push_back(query_sin.back().fast());
    fast.vc.push_back(value_cos.back().fast());
    fast.vs.push_back(value_sin.back().fast());
  }
  threshold_fast = DInterval::from_interval(threshold(128));
  // The M x M weight table costs 48 M^2 bytes: beyond kMaxWeightTableM the per-case path runs alone.
  for (int a = 0; a < M && M <= kMaxWeightTableM; ++a) {
    std::vector<DInterval> scores;
    DInterval top;
    for (int b = 0; b < M; ++b) {
      scores.push_back(fast.qc[a] * fast.phic[b] + fast.qs[a] * fast.phis[b]);
      if (b == 0 || upper_less(top, scores.back())) top = scores.back();
    }
    const DInterval shift = top.upper_point();
    WeightRow row;
    for (int b = 0; b < M; ++b) {
      DInterval e = exp(scores[b] - shift);
      row.e.push_back(e);
      row.ev_cos.push_back(e * fast.vc[b]);
      row.ev_sin.push_back(e * fast.vs[b]);
    }
    weight_rows.push_back(std::move(row));
  }
  build_prune_tables();
}

// The conditions under which the sweep's per-case fast path is accurate to 2^-37 (the argument
// at match2_prune_test), and the point tables of the test.  Any failed condition (a huge
// temperature underflowing e_ab, a coarse format) turns pruning off; nothing else changes.
void Match2Model::build_prune_tables() {
  prune_ok = false;
  prune_rows.clear();
  if (weight_rows.empty()) return;
  auto small_entry = [](const DInterval& x) {  // |x| <= 1.01 with width <= 2^-45
    return x.is_finite() && x.lower() >= -1.01 && x.upper() <= 1.01 && x.upper() - x.lower() <= 0x1p-45;
  };
  for (int r = 0; r < M; ++r)
    if (!small_entry(fast.phic[r]) || !small_entry(fast.phis[r]) || !small_entry(fast.vc[r]) || !small_entry(fast.vs[r]))
      return;
  if (!threshold_fast.is_finite() || threshold_fast.lower() <= 0 || threshold_fast.upper() - threshold_fast.lower() > 0x1p-45)
    return;
  double rel_t = 0, rel_m = 0;  // max radius / e_hi and max |midpoint| / e_hi of e·(φ + v)
  for (int a = 0; a < M; ++a) {
    const WeightRow& w = weight_rows[static_cast<std::size_t>(a)];
    PruneRow p;
    for (int b = 0; b < M; ++b) {
      const DInterval e = w.e[static_cast<std::size_t>(b)];
      const double elo = e.lower(), ehi = e.upper();
      if (!(elo >= 0x1p-900) || !(ehi <= 1e300) || ehi - elo > 0x1p-40 * elo) return;
      for (const DInterval& ev : {w.ev_cos[static_cast<std::size_t>(b)], w.ev_sin[static_cast<std::size_t>(b)]})
        if (!ev.is_finite() || ev.upper() - ev.lower() > 0x1p-40 * elo) return;
      const DInterval tc = e * (fast.phic[a] + fast.vc[b]), ts = e * (fast.phis[a] + fast.vs[b]);
      if (!tc.is_finite() || !ts.is_finite()) return;
      p.elo.push_back(elo);
      p.ehi.push_back(ehi);
      auto add_mid = [&](const DInterval& t, std::vector<double>& mids) {
        // A double between the ends: the rounded sum of the halves lies in [lo, hi] (rounding is
        // monotone and both ends are doubles); a subnormal half only moves it within them.
        const double mid = DInterval::max2(t.lower(), DInterval::min2(t.upper(), 0.5 * t.lower() + 0.5 * t.upper()));
        mids.push_back(mid);
        const double rad = DInterval::up(DInterval::max2(t.upper() - mid, mid - t.lower()));
        rel_t = DInterval::max2(rel_t, DInterval::up(rad / ehi));
        rel_m = DInterval::max2(rel_m, DInterval::up(std::fabs(mid) / ehi));
      };
      add_mid(tc, p.tc);
      add_mid(ts, p.ts);
    }
    prune_rows.push_back(std::move(p));
  }
  // δ = (rel_t + 2^-44·rel_m)·Σ n·e_hi bounds the error of a point sum Σ n·mid (match2_prune_test);
  // 1.0001 covers the rounding of this product and of δ's own evaluation.
  prune_delta = (rel_t + 0x1p-44 * rel_m) * 1.0001;
  prune_ok = prune_delta < 0x1p-30;
}

Interval Match2Model::threshold(mpfr_prec_t bits) const { return match2_gap(M, bits) / Interval(2L, bits); }

namespace {

Match2Tables<Interval> precise_tables(const Match2Model& m, mpfr_prec_t bits) {
  Match2Tables<Interval> t;
  for (int r = 0; r < m.M; ++r) {
    t.phic.push_back(m.phi_cos[r].at(bits));
    t.phis.push_back(m.phi_sin[r].at(bits));
    t.qc.push_back(m.query_cos[r].at(bits));
    t.qs.push_back(m.query_sin[r].at(bits));
    t.vc.push_back(m.value_cos[r].at(bits));
    t.vs.push_back(m.value_sin[r].at(bits));
  }
  return t;
}

constexpr int kMaxDistinct = 64;

// ‖out_i‖ for a query value a and the residue counts of the whole input.  The attention
// weights of equal tokens are equal, so the softmax sums group by residue (exact identity).
template <class T>
T row_norm(const Match2Tables<T>& t, int a, const int* vals, const int* counts, int k) {
  using std::exp;
  using std::sqrt;
  std::array<T, kMaxDistinct> s;
  std::size_t arg = 0;
  for (int j = 0; j < k; ++j) {
    const int b = vals[j];
    s[j] = t.qc[a] * t.phic[b] + t.qs[a] * t.phis[b];
    if (j > 0 && score_less(s[arg], s[j])) arg = static_cast<std::size_t>(j);
  }
  const T shift = shift_point(s[arg]);
  T num_c(0), num_s(0), den(0);
  for (int j = 0; j < k; ++j) {
    const int b = vals[j];
    T w = T(counts[j]) * exp(s[j] - shift);
    den += w;
    num_c += w * t.vc[b];
    num_s += w * t.vs[b];
  }
  // |x|·|x| keeps the square's enclosure non-negative when x straddles 0 (x·x would not).
  T oc = abs(T(t.phic[a] + num_c / den)), os = abs(T(t.phis[a] + num_s / den));
  return sqrt(oc * oc + os * os);
}

// Certified margin: matched -> τ − ‖out‖; unmatched -> ‖out‖ − τ.
template <class T>
void set_margin(MatchCaseOutcome& o, const T& norm, const T& tau) {
  T margin = o.matched ? T(tau - norm) : T(norm - tau);
  if constexpr (std::is_same_v<T, DInterval>) {
    o.stat_lo = norm.lower(); o.stat_hi = norm.upper();
    o.margin_lo = margin.lower(); o.margin_hi = margin.upper();
  } else {
    o.stat_lo = norm.lower_double(); o.stat_hi = norm.upper_double();
    o.margin_lo = margin.lower_double(); o.margin_hi = margin.upper_double();
  }
}

bool decided(const MatchCaseOutcome& o) { return o.settled(); }

}  // namespace

namespace {

// The grouped sums of the last case this thread evaluated with the weight table: sums after
// the first j residue groups, j = 0..k.  Consecutive cases of the lexicographic enumeration
// mostly differ in their last groups, so a case that shares its first t groups (same query
// value, residues and counts) with the previous one starts from the stored sums after t groups.
// These are the same additions of the same values in the same order, hence the same doubles.
struct Match2GroupSums {
  std::uint64_t model_id = 0;  // 0: nothing stored
  int a = -1, k = 0;
  std::array<int, kMaxDistinct> vals{}, counts{};
  std::array<DInterval, kMaxDistinct + 1> den{}, num_c{}, num_s{};
};

// Fast path: precomputed weights of the residue pairs (grouped softmax, fixed shift), then a
// per-case shift (robust to underflow); both DInterval.
void match2_fast(const Match2Model& model, const QueryMultisetCase& c, MatchCaseOutcome& o) {
  if (c.k > kMaxDistinct) throw ConfigError("N", "at most 64 distinct values per input");
  o = MatchCaseOutcome{};
  const int partner = (model.M - c.a) % model.M;
  for (int j = 0; j < c.k; ++j) o.matched = o.matched || c.vals[j] == partner;
  DInterval den(0), num_c(0), num_s(0);
  if (!model.weight_rows.empty()) {
    thread_local Match2GroupSums sums;
    int t = 0;
    if (sums.model_id == model.id && sums.a == c.a) {
      const int shared = std::min(sums.k, c.k);
      while (t < shared && sums.vals[t] == c.vals[t] && sums.counts[t] == c.counts[t]) ++t;
    } else {
      sums.model_id = model.id;
      sums.a = c.a;
      sums.den[0] = sums.num_c[0] = sums.num_s[0] = DInterval(0);
    }
    const auto& row = model.weight_rows[c.a];
    for (int j = t; j < c.k; ++j) {
      const DInterval n(c.counts[j]);
      sums.vals[j] = c.vals[j];
      sums.counts[j] = c.counts[j];
      sums.den[j + 1] = sums.den[j] + n * row.e[c.vals[j]];
      sums.num_c[j + 1] = sums.num_c[j] + n * row.ev_cos[c.vals[j]];
      sums.num_s[j + 1] = sums.num_s[j] + n * row.ev_sin[c.vals[j]];
    }
    sums.k = c.k;
    den = sums.den[c.k];
    num_c = sums.num_c[c.k];
    num_s = sums.num_s[c.k];
  }
  if (den.lower() > 0) {
    DInterval oc = abs(model.fast.phic[c.a] + num_c / den), os = abs(model.fast.phis[c.a] + num_s / den);
    set_margin(o, sqrt(oc * oc + os * os), model.threshold_fast);
    if (decided(o)) return;
  }
  set_margin(o, row_norm(model.fast, c.a, c.vals, c.counts, c.k), model.threshold_fast);
}

void match2_exact(const Match2Model& model, const QueryMultisetCase& c, mpfr_prec_t bits, MatchCaseOutcome& o) {
  WorkingPrecision wp(bits);
  auto t = precise_tables(model, bits);
  set_margin(o, row_norm(t, c.a, c.vals, c.counts, c.k), model.threshold(bits));
}

// The multiset reduction as a filtered-sweep problem (exact and embed semantics), every case
// evaluated in full.  Also the single-case entry point (match2_case).
struct Match2MultisetProblem {
  using Case = QueryMultisetCase;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Match2Model& model;
  int N;
  std::uint64_t cases() const { return query_multiset_cases(N, model.M); }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_query_multisets(N, model.M, begin, end, f);
  }
  void fast(const Case& c, Outcome* out) const { match2_fast(model, c, *out); }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* out) const {
    out->matched = false;
    const int partner = (model.M - c.a) % model.M;
    for (int j = 0; j < c.k; ++j) out->matched = out->matched || c.vals[j] == partner;
    match2_exact(model, c, bits, *out);
  }
};

// ---- the pruned sweep -------------------------------------------------------------------------
//
// Point sums over the N tokens of a case (the query token first, then the other tokens in
// order): Σ e_lo, Σ e_hi and Σ mid(e·(φ_a + v_b)) for both components, rounded to nearest.
struct Match2PointSums {
  double dlo = 0, dhi = 0, sc = 0, ss = 0;
  ATTNBOUNDS_DINTERVAL_INLINE void add(const Match2Model::PruneRow& p, int b) {
    const auto i = static_cast<std::size_t>(b);
    dlo += p.elo[i];
    dhi += p.ehi[i];
    sc += p.tc[i];
    ss += p.ts[i];
  }
};

// The pruning test.  Notation: over the N tokens x_t of a case with query value a,
// d = Σ_t e_{a x_t} and P = Σ_t e_{a x_t}(φ_a + v_{x_t}); then P = d·out exactly (the residual
// φ_a has total weight d), so ‖out‖ = ‖P‖ / d.
//  * Point sums: N <= 64 terms added in round-to-nearest are within γ_63 < 2^-46 of Σ|x| of the
//    exact sum of the terms (standard bound; the terms of d are normal, e_lo >= 2^-900, and
//    2^-1000 absorbs any subnormal midpoint).  Hence d lies in [dlo·(1 − 2^-45), dhi·(1 + 2^-45)],
//    and each component of P lies within δ = Σ rad + 2^-45·Σ|mid| + 2^-1000 <= prune_delta·dhi +
//    2^-1000 of its point sum (rad <= rel_t·e_hi, |mid| <= rel_m·e_hi: build_prune_tables).
//  * Matched: ‖out‖ <= sqrt(Ac² + As²) / d with Ac = |sc| + δ.  The test (Ac² + As²)(1 + 2^-40) <
//    (K0·dlo)²(1 − 2^-40) (a few roundings of non-negative values, each 2^-53 relative, and the
//    2^-45 of d, well inside the 2^-40 factors) gives ‖out‖ < K0 = τ_lo − max(m0, 0) − slack
//    (rounded down), so the room τ − ‖out‖ exceeds max(m0, 0) + slack.
//    Unmatched: ‖out‖ >= sqrt(Bc² + Bs²) / d with Bc = max(|sc| − δ, 0), and the mirror test gives
//    ‖out‖ > K1 = τ_hi + max(m1, 0) + slack (rounded up).
//  * Why the sweep's result cannot change.  Under the conditions of build_prune_tables (at most
//    64 groups, relative widths of e_ab and of e_ab·v_b at most 2^-40 of e_lo, e_lo >= 2^-900, φ
//    and v entries within 1.01 in magnitude and 2^-45 wide, τ 2^-45 wide) match2_fast's interval
//    sums are within 2^-39.9·d of d and d·num (at most 128 operations, each off by 2^-51.4 of a
//    partial sum <= 1.02·d, plus the table widths), its quotient within 2.2·2^-39.9
//    (|num/den| <= 1.01), its norm within 2^-38, so the lower end of its room is at most 2^-37
//    below the true room.  A pruned case's room exceeds max(m, 0) + 2^-30, so the fast path would
//    have settled it (lower end > 0: holds, no fallback) with a lower end above m.  m is the lower
//    end of a case evaluated in full, settled and folded by this sweep, so it is at least the
//    smallest lower end r* of the full sweep on that side.  Hence the case attaining r* is never
//    pruned (its lower end would have to exceed m >= r*), and no pruned case attains or ties r*:
//    whichever thread, chunk order, journal or MPI rank computed what, the worst of each side is
//    the full sweep's, with the same index and enclosure.  A pruned case adds 1 case, 0
//    fallbacks, 0 failures, 0 undecided, as its full evaluation would.  The outcome folded for it
//    is a certified enclosure of its own (norm in [0, K0], room in [τ_lo − K0, τ_hi]; unmatched:
//    norm >= K1, room >= K1 − τ_hi), with a lower end above m.
struct Match2PruneBounds {
  double k0 = -1, k1 = std::numeric_limits<double>::infinity();  // prune when ‖out‖ < k0 / > k1
  double room0 = 0, room1 = 0;                                    // τ_lo − k0, k1 − τ_hi (down)
};

Match2PruneBounds prune_bounds(const Match2Model& model, double m0, double m1) {
  Match2PruneBounds b;
  const DInterval slack(kMatch2PruneSlack);
  const DInterval tau_lo = model.threshold_fast.lower_point(), tau_hi = model.threshold_fast.upper_point();
  if (m0 < std::numeric_limits<double>::infinity()) {
    b.k0 = (tau_lo - DInterval(DInterval::max2(m0, 0.0)) - slack).lower();
    b.room0 = (tau_lo - DInterval(b.k0)).lower();
  }
  if (m1 < std::numeric_limits<double>::infinity()) {
    b.k1 = (tau_hi + DInterval(DInterval::max2(m1, 0.0)) + slack).upper();
    b.room1 = (DInterval(b.k1) - tau_hi).lower();
  }
  return b;
}

// True when the point sums prove the case far from the worst; fills o (certified) then.
ATTNBOUNDS_DINTERVAL_INLINE bool prune_decides(const Match2Model& model, const Match2PruneBounds& b, bool matched,
                                               const Match2PointSums& p, MatchCaseOutcome& o) {
  const double delta = model.prune_delta * p.dhi + 0x1p-1000;
  if (matched) {
    if (!(b.k0 > 0)) return false;
    const double ac = std::fabs(p.sc) + delta, as = std::fabs(p.ss) + delta, kd = b.k0 * p.dlo;
    if (!((ac * ac + as * as) * (1 + 0x1p-40) < kd * kd * (1 - 0x1p-40))) return false;
    o.matched = true;
    o.stat_lo = 0;
    o.stat_hi = b.k0;
    o.margin_lo = b.room0;
    o.margin_hi = model.threshold_fast.upper();
    o.used_fallback = false;
    return true;
  }
  if (!(b.k1 < std::numeric_limits<double>::infinity())) return false;
  const double bc = DInterval::max2(std::fabs(p.sc) - delta, 0.0), bs = DInterval::max2(std::fabs(p.ss) - delta, 0.0);
  const double kd = b.k1 * p.dhi;
  if (!((bc * bc + bs * bs) * (1 - 0x1p-40) > kd * kd * (1 + 0x1p-40))) return false;
  o.matched = false;
  o.stat_lo = b.k1;
  o.stat_hi = std::numeric_limits<double>::infinity();
  o.margin_lo = b.room1;
  o.margin_hi = std::numeric_limits<double>::infinity();
  o.used_fallback = false;
  return true;
}

// Per thread and sweep: the smallest lower ends of the room of fully evaluated, settled cases.
struct Match2PruneState {
  std::uint64_t sweep = 0;
  double m[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  Match2PruneBounds bounds;
};

// One case of the pruned sweep: query value a, the other N−1 tokens sorted, the point sums over
// all N tokens and whether the partner of a is among them.
struct Match2SweepCase {
  int a;
  const int* others;
  int k;
  bool matched;
  Match2PointSums sums;
};

// The residue groups of {a} ∪ others, as enumerate_query_multisets builds them (same case, so the
// same evaluation).
int query_groups(int a, const int* others, int k, int* vals, int* counts) {
  int distinct = 0;
  bool a_placed = false;
  auto push = [&](int v) {
    if (distinct > 0 && vals[distinct - 1] == v) ++counts[distinct - 1];
    else { vals[distinct] = v; counts[distinct] = 1; ++distinct; }
  };
  for (int i = 0; i < k; ++i) {
    if (!a_placed && a <= others[i]) { push(a); a_placed = true; }
    push(others[i]);
  }
  if (!a_placed) push(a);
  return distinct;
}

// The multiset reduction with pruning: the same cases in the same order as
// Match2MultisetProblem, with the same outcome for every case that can be the worst of its side.
// Used when the model meets the conditions of the pruning (model.prune_ok).
struct Match2PrunedProblem {
  using Case = Match2SweepCase;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Match2Model& model;
  int N;
  std::uint64_t sweep;  // this sweep's number (keys the per-thread state)
  std::uint64_t cases() const { return query_multiset_cases(N, model.M); }
  unsigned outcomes_per_case() const { return 1; }

  // enumerate_query_multisets' order, with the point sums of the prefixes of the other tokens
  // kept from case to case (the multiset changes only from the position next_multiset changes).
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    if (begin >= end) return;
    const int M = model.M, k = N - 1;
    const std::uint64_t per_query = binomial(M + k - 1, k);
    std::vector<int> ms(static_cast<std::size_t>(k)), count(static_cast<std::size_t>(M), 0);
    std::vector<Match2PointSums> prefix(static_cast<std::size_t>(k) + 1);
    int a = static_cast<int>(begin / per_query);
    unrank_multiset_lex(begin % per_query, M, k, ms.data());
    for (int v : ms) ++count[static_cast<std::size_t>(v)];
    int from = 0;  // prefix sums are valid up to position `from`
    auto restart_query = [&] {
      prefix[0] = Match2PointSums{};
      prefix[0].add(model.prune_rows[static_cast<std::size_t>(a)], a);
      from = 0;
    };
    restart_query();
    for (std::uint64_t idx = begin;; ++idx) {
      const auto& row = model.prune_rows[static_cast<std::size_t>(a)];
      for (int i = from; i < k; ++i) {
        prefix[static_cast<std::size_t>(i) + 1] = prefix[static_cast<std::size_t>(i)];
        prefix[static_cast<std::size_t>(i) + 1].add(row, ms[static_cast<std::size_t>(i)]);
      }
      from = k;
      const int partner = (M - a) % M;
      f(idx, Match2SweepCase{a, ms.data(), k, a == partner || count[static_cast<std::size_t>(partner)] > 0,
                             prefix[static_cast<std::size_t>(k)]});
      if (idx + 1 >= end) return;
      int i = k - 1;
      while (i >= 0 && ms[static_cast<std::size_t>(i)] == M - 1) --i;
      if (i < 0) {
        ++a;
        for (int& v : ms) v = 0;
        std::fill(count.begin(), count.end(), 0);
        count[0] = k;
        restart_query();
        continue;
      }
      const int v = ms[static_cast<std::size_t>(i)] + 1;
      for (int j = i; j < k; ++j) {
        --count[static_cast<std::size_t>(ms[static_cast<std::size_t>(j)])];
        ms[static_cast<std::size_t>(j)] = v;
        ++count[static_cast<std::size_t>(v)];
      }
      from = i;
    }
  }

  void fast(const Case& c, Outcome* out) const {
    thread_local Match2PruneState state;
    if (state.sweep != sweep) {
      state = Match2PruneState{};
      state.sweep = sweep;
    }
    if (prune_decides(model, state.bounds, c.matched, c.sums, *out)) return;
    std::array<int, kMaxDistinct> vals, counts;
    const int k = query_groups(c.a, c.others, c.k, vals.data(), counts.data());
    match2_fast(model, QueryMultisetCase{c.a, vals.data(), counts.data(), k}, *out);
    // A settled fast outcome is the one the sweep folds (settle_case keeps it): its lower end
    // bounds the sweep's smallest one on its side from above.
    const int g = out->group();
    if (out->settled() && out->margin_lo < state.m[g]) {
      state.m[g] = out->margin_lo;
      state.bounds = prune_bounds(model, state.m[0], state.m[1]);
    }
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* out) const {
    std::array<int, kMaxDistinct> vals, counts;
    const int k = query_groups(c.a, c.others, c.k, vals.data(), counts.data());
    Match2MultisetProblem{model, N}.exact(QueryMultisetCase{c.a, vals.data(), counts.data(), k}, bits, out);
  }
};

}  // namespace

MatchCaseOutcome match2_case(const Match2Model& model, int a, const int* vals, const int* counts, int k) {
  const Match2MultisetProblem problem{model, k};
  MatchCaseOutcome o;
  bool fallback = false;
  settle_case(problem, QueryMultisetCase{a, vals, counts, k}, &o, &fallback);
  o.used_fallback = fallback;
  return o;
}

std::optional<MatchCaseOutcome> match2_prune_test(const Match2Model& model, int a, const int* others, int k,
                                                  double m_matched, double m_unmatched) {
  if (!model.prune_ok) return std::nullopt;
  const int partner = (model.M - a) % model.M;
  Match2PointSums sums;  // in the sweep's order: the query token, then the others
  sums.add(model.prune_rows[static_cast<std::size_t>(a)], a);
  bool matched = a == partner;
  for (int i = 0; i < k; ++i) {
    sums.add(model.prune_rows[static_cast<std::size_t>(a)], others[i]);
    matched = matched || others[i] == partner;
  }
  MatchCaseOutcome o;
  if (!prune_decides(model, prune_bounds(model, m_matched, m_unmatched), matched, sums, o)) return std::nullopt;
  return o;
}

namespace {

// Forward pass of the whole input with the attention.hpp templates.
template <class T, class Make>
Mat<T> forward_output(const Match2Model& model, const std::vector<int>& x, Make&& make) {
  const std::size_t N = x.size();
  QKV<T> h{Mat<T>(N, 2), Mat<T>(N, 2), Mat<T>(N, 2)};
  Mat<T> phi(N, 2);
  for (std::size_t i = 0; i < N; ++i) {
    const int r = x[i];
    phi(i, 0) = make(model.phi_cos[r]);
    phi(i, 1) = make(model.phi_sin[r]);
    h.queries(i, 0) = make(model.query_cos[r]);
    h.queries(i, 1) = make(model.query_sin[r]);
    h.keys(i, 0) = phi(i, 0);
    h.keys(i, 1) = phi(i, 1);
    h.values(i, 0) = make(model.value_cos[r]);
    h.values(i, 1) = make(model.value_sin[r]);
  }
  std::vector<QKV<T>> heads{h};
  return multi_head(heads, &phi);
}

std::vector<MatchCaseOutcome> outcomes_of_norms(const std::vector<Interval>& norms, const std::vector<int>& x, int M,
                                           mpfr_prec_t bits, const Match2Model& model) {
  auto truth = match2(x, M);
  Interval tau = model.threshold(bits);
  std::vector<MatchCaseOutcome> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    out[i].matched = truth[i] != 0;
    set_margin(out[i], norms[i], tau);
  }
  return out;
}

// Arith: every operation rounded to the format, in attention.hpp's documented order; the norm
// of the (exactly representable) output is then computed exactly by ψ.
std::vector<Interval> arith_norms(const Match2Model& model, const std::vector<int>& x, mpfr_prec_t bits) {
  ArithFormatScope scope(model.policy.format());
  const Format fmt = model.policy.format();
  Mat<FormatReal> out = forward_output<FormatReal>(model, x, [&](const EmbeddingEntry& e) { return FormatReal(e.rational(), fmt); });
  std::vector<Interval> norms;
  for (std::size_t i = 0; i < x.size(); ++i) {
    Rational n2 = out(i, 0).value() * out(i, 0).value() + out(i, 1).value() * out(i, 1).value();
    norms.push_back(sqrt(Interval(n2, bits)));
  }
  return norms;
}

std::vector<Interval> interval_norms(const Match2Model& model, const std::vector<int>& x, mpfr_prec_t bits) {
  WorkingPrecision wp(bits);
  Mat<Interval> out = forward_output<Interval>(model, x, [&](const EmbeddingEntry& e) { return e.at(bits); });
  std::vector<Interval> norms;
  for (std::size_t i = 0; i < x.size(); ++i) {
    norms.push_back(sqrt(sqr(out(i, 0)) + sqr(out(i, 1))));  // sqr: never negative, unlike x * x
  }
  return norms;
}

// Returns the semantics policy of the configuration.
SemanticsPolicy validate(const Match2Config& cfg) {
  check_field_range("N", cfg.N, Match2Config::kN);
  check_field_range("M", cfg.M, Match2Config::kM);
  if (cfg.c && *cfg.c <= 0) throw ConfigError("c", "temperature must be > 0");
  return SemanticsPolicy(cfg.semantics, Match2Config::kSemantics, "match2");
}

// Arith semantics: every tuple, every token; the forward pass is exact (FormatReal), only ψ's
// norm is enclosed, first at the ladder's start, then higher where it does not decide.
struct Match2TupleProblem {
  using Case = std::vector<int>;
  using Outcome = MatchCaseOutcome;
  static constexpr int groups = 2;
  const Match2Model& model;
  int N;
  std::uint64_t cases() const { return tuple_count_saturating(model.M, N); }
  unsigned outcomes_per_case() const { return static_cast<unsigned>(N); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    enumerate_tuples(N, model.M, begin, end, f);
  }
  void exact(const Case& x, mpfr_prec_t bits, Outcome* out) const {
    auto o = outcomes_of_norms(arith_norms(model, x, bits), x, model.M, bits, model);
    std::copy(o.begin(), o.end(), out);
  }
  void fast(const Case& x, Outcome* out) const { exact(x, kLadderStartBits, out); }
};

}  // namespace

std::vector<MatchTokenDecision> match2_forward(const Match2Model& model, const std::vector<int>& x) {
  return decide_tokens(
      x, match2(x, model.M), /*matched_below=*/true,
      [&](mpfr_prec_t bits) { return model.policy.arith() ? arith_norms(model, x, bits) : interval_norms(model, x, bits); },
      [&](mpfr_prec_t bits) { return model.threshold(bits); });
}

MatchTally match2_multiset_sweep(const Match2Model& model, int N, unsigned threads, bool prune) {
  if (prune && model.prune_ok) return filtered_sweep(Match2PrunedProblem{model, N, next_sweep_id.fetch_add(1)}, threads);
  return filtered_sweep(Match2MultisetProblem{model, N}, threads);
}

Match2Result check_match2(const Match2Config& cfg, unsigned threads, bool force) {
  SemanticsPolicy policy = validate(cfg);
  ElapsedTimer timer;
  const Rational c = cfg.c ? *cfg.c : match2_default_temperature(cfg.N, cfg.M);
  const bool tuples = policy.arith();
  const std::uint64_t total = tuples ? tuple_count_saturating(cfg.M, cfg.N) : query_multiset_cases(cfg.N, cfg.M);
  require_size_limit(tuples ? "match2 tuples (arith: M^N, no permutation reduction)" : "match2 cases M*C(M+N-2,N-1)",
                     total, tuples ? 2'000'000ULL : 200'000'000ULL, force);
  Match2Model model(cfg.M, c, std::move(policy), cfg.flip_query_sign);
  Interval bound = match2_temperature_bound(cfg.N, cfg.M, 128);
  Match2Result r;
  r.N = cfg.N;
  r.M = cfg.M;
  r.c = c;
  r.flip_query_sign = cfg.flip_query_sign;
  r.semantics = cfg.semantics.name();
  r.gap_lower = match2_gap(cfg.M, 128).lower();
  r.threshold_lower = model.threshold(128).lower();
  r.temperature_bound_upper = bound.upper();
  r.temperature_above_bound = c > bound.upper();
  r.tuples = tuples;
  r.reduction = tuples ? "none: arith rounding depends on summation order; all M^N tuples, every token"
                       : "position-free + permutation-equivariant: per query value x_i and multiset of the other "
                         "N-1 tokens (M*C(M+N-2,N-1) cases cover [M]^N)";
  if (!tuples && cfg.prune && model.prune_ok)
    r.reduction +=
        "; cases pruned: a case whose certified point-sum bound puts its room above the smallest room already "
        "evaluated on its side (+2^-30) is settled by that bound, without the full evaluation (it holds and cannot "
        "be the worst case)";
  const MatchTally tally = tuples ? filtered_sweep(Match2TupleProblem{model, cfg.N}, threads)
                                  : match2_multiset_sweep(model, cfg.N, threads, cfg.prune);
  r.sweep = summarize_sweep(tally, cfg.N, cfg.M, tuples);
  r.verdict = verify_sweep(r.sweep, tally, [&](const std::vector<int>& x) { return match2_forward(model, x); });
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

MatchEvalResult eval_match2(const Match2Config& cfg, const std::vector<int>& x_in) {
  SemanticsPolicy policy =
      validate(Match2Config{static_cast<int>(std::max<std::size_t>(2, x_in.size())), cfg.M, cfg.c, cfg.semantics, false});
  const Rational c = cfg.c ? *cfg.c : match2_default_temperature(static_cast<int>(x_in.size()), cfg.M);
  std::vector<int> x;
  for (int v : x_in) x.push_back(((v % cfg.M) + cfg.M) % cfg.M);
  Match2Model model(cfg.M, c, std::move(policy), cfg.flip_query_sign);
  MatchEvalResult r;
  r.construction = "match2";
  r.x = x;
  r.M = cfg.M;
  r.c = c;
  r.semantics = cfg.semantics.name();
  r.threshold = model.threshold(128).lower();
  r.tokens = match2_forward(model, x);
  r.stat_name = "norm";
  r.errors = count_wrong(r.tokens);
  return r;
}

}  // namespace attnbounds
