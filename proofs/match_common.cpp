#include "proofs/match_common.hpp"
#include "enumerate/run_control.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/elapsed_timer.hpp"

namespace attnbounds {

DInterval interval_max(const DInterval& a, const DInterval& b) {
  return {std::fmax(a.lower(), b.lower()), std::fmax(a.upper(), b.upper())};
}

Interval interval_max(const Interval& a, const Interval& b) {
  const Rational lo = std::max(a.lower(), b.lower()), hi = std::max(a.upper(), b.upper());
  return Interval(lo, hi, std::max(a.precision(), b.precision()));
}

std::uint64_t query_multiset_cases(int N, int M) {
  std::uint64_t per = binomial_saturating(M + N - 2, N - 1);
  if (per > UINT64_MAX / static_cast<std::uint64_t>(M)) return UINT64_MAX;
  return per * static_cast<std::uint64_t>(M);
}

std::vector<int> query_multiset_input(std::uint64_t index, int N, int M) {
  const int k = N - 1;
  const std::uint64_t per_query = binomial(M + k - 1, k);
  std::vector<int> x(static_cast<std::size_t>(N));
  x[0] = static_cast<int>(index / per_query);
  unrank_multiset_lex(index % per_query, M, k, x.data() + 1);
  return x;
}

MatchCaseWitness sweep_witness(std::uint64_t index, int N, int M, bool tuples) {
  MatchCaseWitness w;
  if (!tuples) {
    w.x = query_multiset_input(index, N, M);
    w.token = 0;
    return w;
  }
  w.x.assign(static_cast<std::size_t>(N), 0);
  unrank_tuple(index / static_cast<std::uint64_t>(N), M, N, w.x.data());
  w.token = static_cast<int>(index % static_cast<std::uint64_t>(N));
  return w;
}

IndexedOutcome<MatchCaseOutcome> failing_case(const MatchTally& tally) {
  const auto& worst = tally.overall_worst();
  if (worst && worst->outcome.state() == CaseState::Fails) return *worst;
  return tally.first_failure ? *tally.first_failure : IndexedOutcome<MatchCaseOutcome>{};
}

namespace {
MatchSide side_of(const std::optional<IndexedOutcome<MatchCaseOutcome>>& w,
                  const std::function<MatchCaseWitness(std::uint64_t)>& witness_of) {
  MatchSide s;
  if (!w) return s;
  s.any = true;
  s.stat_lower = w->outcome.stat_lo;
  s.stat_upper = w->outcome.stat_hi;
  s.witness = witness_of(w->index);
  return s;
}
}  // namespace

MatchSweepSummary summarize_sweep(const MatchTally& tally, int N, int M, bool tuples) {
  return summarize_sweep(tally, [&](std::uint64_t index) { return sweep_witness(index, N, M, tuples); });
}

MatchSweepSummary summarize_sweep(const MatchTally& tally, const std::function<MatchCaseWitness(std::uint64_t)>& witness_of) {
  MatchSweepSummary s;
  s.cases = tally.cases;
  s.fallbacks = tally.fallbacks;
  s.failing = tally.failures;
  s.undecided = tally.undecided;
  s.matched = side_of(tally.worst[0], witness_of);
  s.unmatched = side_of(tally.worst[1], witness_of);
  if (tally.failures > 0) {
    const auto fc = failing_case(tally);
    // The smallest room over all cases lies between the smallest lower end (the overall worst's)
    // and the failing case's upper end, whichever case is the witness.
    double lo = fc.outcome.margin_lo;
    if (const auto& w = tally.overall_worst()) lo = std::min(lo, w->outcome.margin_lo);
    s.worst = MatchWorst{lo, fc.outcome.margin_hi, true, witness_of(fc.index), {}};
  } else if (const auto& w = tally.overall_worst()) {
    s.worst = MatchWorst{w->outcome.margin_lo, w->outcome.margin_hi, false, witness_of(w->index), {}};
  }
  return s;
}

int count_wrong(const std::vector<MatchTokenDecision>& tokens) {
  int wrong = 0;
  for (const auto& d : tokens) wrong += d.model != d.truth || !d.decided;
  return wrong;
}

}  // namespace attnbounds
