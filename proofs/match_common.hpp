// Shared machinery of the Match2 / Match3 checkers (math §4.3-4.5, §6).
//
// Sound reduction used by the standard and third-order constructions under exact and embed
// semantics: φ is position-free and the unit is permutation-equivariant, so the output of
// token i depends only on x_i and on the MULTISET of the other N-1 tokens (indeed only on the
// count of each residue).  The sweep enumerates every query value a ∈ [M] and every multiset
// of size N-1 over [M]: M · C(M+N-2, N-1) cases cover all M^N inputs and all N tokens.
// (Under arith semantics sums are rounded in token order, so this reduction is NOT used there.)
//
// Every checker here runs through the generic filtered sweep (core/filtered_sweep.hpp): the
// case sets below are its reductions, the per-construction evaluators its fast / exact paths.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/filtered_sweep.hpp"
#include "core/field_checks.hpp"
#include "core/verdict.hpp"
#include "enumerate/combinatorics.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"

namespace attnbounds {

// Outcome of one case: the statistic ψ thresholds, and the signed room (> 0 = correct).
// Certified: [margin_lo, margin_hi] encloses the true room.
struct MatchCaseOutcome {
  bool matched = false;
  double stat_lo = 0, stat_hi = 0;
  double margin_lo = 0, margin_hi = 0;
  bool used_fallback = false;  // set by the single-case entry points (match2_case, ...)

  // A margin enclosed by [0, 0] is exactly 0: the statistic equals ψ's threshold.  ψ answers
  // "matched" only on the strict side of its threshold (decide_tokens), so at a tie it answers
  // "unmatched": right for an unmatched token, wrong for a matched one.
  bool exact_tie() const { return margin_lo == 0 && margin_hi == 0; }
  CaseState state() const {
    if (margin_hi < 0) return CaseState::Fails;
    if (margin_lo > 0) return CaseState::Holds;
    if (exact_tie()) return matched ? CaseState::Fails : CaseState::Holds;
    return CaseState::Open;
  }
  bool settled() const { return state() != CaseState::Open; }
  double rank() const { return margin_lo; }
  int group() const { return matched ? 0 : 1; }  // 0 matched, 1 unmatched
};

using MatchTally = SweepTally<MatchCaseOutcome, 2>;

// The p range of the Match constructions' and Match model files' min-p scans (float:P, P in
// 2..200): every P is a whole exhaustive check, and the constructions need P well below 64.
inline constexpr FieldLimits kMatchMinPrecisionP{2, 200};

// Multisets of size k over [M], lexicographic; rank -> sorted sequence.
inline void unrank_multiset_lex(std::uint64_t rank, int M, int k, int* out) {
  if (k == 0) return;
  unrank_subset(rank, M + k - 1, k, out);
  for (int i = 0; i < k; ++i) out[i] -= i;
}

// The disjunctive ψ of the residual-free Match2 construction, shared by its built-in checker and
// by match2-table files with psi = sqnorm-or-abs-linear: ψ = 1 iff ‖out‖² < τ_norm or
// |w·out| < τ_lin.  Decision function F = max(τ_norm − ‖out‖², τ_lin − |w·out|), ψ = 1 iff
// F > 0.  interval_max encloses the max of two enclosed reals.
DInterval interval_max(const DInterval& a, const DInterval& b);
Interval interval_max(const Interval& a, const Interval& b);
template <class T>
T norm_or_axis_decision(const T& norm2, const T& lin, const T& tau_norm, const T& tau_lin) {
  return interval_max(T(tau_norm - norm2), T(tau_lin - abs(lin)));
}

// Number of cases of the sweep (saturating).
std::uint64_t query_multiset_cases(int N, int M);
// The concrete input of case `index`: token 1 holds the query value, then the multiset.
std::vector<int> query_multiset_input(std::uint64_t index, int N, int M);

// One case of the multiset reduction: query value a; vals/counts are the distinct residues of
// the FULL input (query token included) and their multiplicities, k of them.
struct QueryMultisetCase {
  int a;
  const int* vals;
  const int* counts;
  int k;
};

// Calls f(index, const QueryMultisetCase&) for the cases [begin, end) in order.
template <class F>
void enumerate_query_multisets(int N, int M, std::uint64_t begin, std::uint64_t end, F&& f) {
  if (begin >= end) return;
  const int k = N - 1;
  const std::uint64_t per_query = binomial(M + k - 1, k);
  std::vector<int> ms(static_cast<std::size_t>(k) + 1), vals(static_cast<std::size_t>(N)),
      counts(static_cast<std::size_t>(N));
  int a = static_cast<int>(begin / per_query);
  unrank_multiset_lex(begin % per_query, M, k, ms.data());
  for (std::uint64_t idx = begin; idx < end; ++idx) {
    // Distinct residues of {a} ∪ ms with multiplicities (ms is sorted).
    int distinct = 0;
    bool a_placed = false;
    auto push = [&](int v) {
      if (distinct > 0 && vals[static_cast<std::size_t>(distinct - 1)] == v) ++counts[static_cast<std::size_t>(distinct - 1)];
      else { vals[static_cast<std::size_t>(distinct)] = v; counts[static_cast<std::size_t>(distinct)] = 1; ++distinct; }
    };
    for (int i = 0; i < k; ++i) {
      if (!a_placed && a <= ms[static_cast<std::size_t>(i)]) { push(a); a_placed = true; }
      push(ms[static_cast<std::size_t>(i)]);
    }
    if (!a_placed) push(a);
    f(idx, QueryMultisetCase{a, vals.data(), counts.data(), distinct});
    if (!next_multiset(ms.data(), k, M)) {
      ++a;
      for (int i = 0; i < k; ++i) ms[static_cast<std::size_t>(i)] = 0;
    }
  }
}

// Arith semantics: no permutation reduction (rounded sums depend on token order).  Calls
// f(rank, const std::vector<int>& x) for the tuples of [M]^N with rank in [begin, end); each
// tuple gives one outcome per token (outcome index = rank · N + token).
template <class F>
void enumerate_tuples(int N, int M, std::uint64_t begin, std::uint64_t end, F&& f) {
  if (begin >= end) return;
  std::vector<int> x(static_cast<std::size_t>(N));
  unrank_tuple(begin, M, N, x.data());
  for (std::uint64_t t = begin; t < end; ++t) {
    f(t, x);
    next_tuple(x.data(), N, M);
  }
}

// Witness of a case index: the input and the 0-based token.
struct MatchCaseWitness {
  std::vector<int> x;
  int token = 0;
};
MatchCaseWitness sweep_witness(std::uint64_t index, int N, int M, bool tuples);

// The case reported as the witness of a failing sweep: the tightest case overall when it
// certainly fails, else the first failing case in enumeration order.
IndexedOutcome<MatchCaseOutcome> failing_case(const MatchTally& tally);

// One token's result in a direct forward pass.
struct MatchTokenDecision {
  int x = 0;
  int model = 0;   // ψ's decision (1 = matched)
  int truth = 0;   // ground truth (tasks.hpp)
  Interval stat;   // the statistic ψ thresholds (‖out‖ for match2)
  bool decided = true;
};

// ψ's decision for every token of one input, raising the working precision along the ladder
// of core/filtered_sweep.hpp until every token is decided.  stats_at(bits) gives each token's
// statistic, threshold_at(bits) the threshold; a token is matched when its statistic is
// certainly on the matched side (strictly below the threshold when matched_below, strictly
// above otherwise) and unmatched when certainly on the other side (equality counts as unmatched).
template <class StatsAt, class ThresholdAt>
std::vector<MatchTokenDecision> decide_tokens(const std::vector<int>& x, const std::vector<std::uint8_t>& truth,
                                              bool matched_below, StatsAt&& stats_at, ThresholdAt&& threshold_at) {
  std::vector<MatchTokenDecision> out(x.size());
  raise_precision([&](mpfr_prec_t bits) {
    const std::vector<Interval> stats = stats_at(bits);
    const Interval tau = threshold_at(bits);
    bool all = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
      MatchTokenDecision& d = out[i];
      d.x = x[i];
      d.truth = truth[i];
      d.stat = stats[i];
      d.decided = true;
      const Interval& lo = matched_below ? stats[i] : tau;
      const Interval& hi = matched_below ? tau : stats[i];
      if (certainly_less(lo, hi)) d.model = 1;
      else if (certainly_less_equal(hi, lo)) d.model = 0;
      else { d.decided = false; all = false; }
    }
    return all;
  });
  return out;
}

// ---- typed results ---------------------------------------------------------------------------

// The tightest case on one side (matched or unmatched): enclosure of its statistic.
struct MatchSide {
  bool any = false;
  double stat_lower = 0, stat_upper = 0;
  MatchCaseWitness witness;
};

// A failing case re-run through a direct forward pass.
struct MatchWitnessCheck {
  int model = 0, truth = 0;
  bool confirmed = false;  // decided and wrong: the counterexample is real
};

// The smallest room: enclosure [lower, upper]; `failing` when it is the reported failing case
// (then its value is the upper end, certainly negative; otherwise the lower end).
struct MatchWorst {
  double lower = 0, upper = 0;
  bool failing = false;
  MatchCaseWitness witness;
  std::optional<MatchWitnessCheck> check;
};

struct MatchSweepSummary {
  std::uint64_t cases = 0, fallbacks = 0, failing = 0, undecided = 0;
  MatchSide matched, unmatched;
  std::optional<MatchWorst> worst;  // absent only for an empty sweep
};

MatchSweepSummary summarize_sweep(const MatchTally& tally, int N, int M, bool tuples);
// The same for a sweep whose outcome indices map to inputs otherwise: witness_of(index).
MatchSweepSummary summarize_sweep(const MatchTally& tally, const std::function<MatchCaseWitness(std::uint64_t)>& witness_of);

// Verdict of a sweep: fails only when the failing case re-verifies by a forward pass (recorded
// in summary.worst->check).
template <class Forward>
Verdict verify_sweep(MatchSweepSummary& summary, const MatchTally& tally, Forward&& forward) {
  return sweep_verdict_of(tally, failing_case(tally).index, [&](std::uint64_t) {
    auto decisions = forward(summary.worst->witness.x);
    const auto& d = decisions[static_cast<std::size_t>(summary.worst->witness.token)];
    summary.worst->check = MatchWitnessCheck{d.model, d.truth, d.decided && d.model != d.truth};
    return summary.worst->check->confirmed;
  });
}

// The `eval` result of a Match construction: per token x, ψ's decision, the ground truth and the
// enclosure of the statistic ψ thresholds (named stat_name), plus the count of wrong tokens.
struct MatchEvalResult {
  std::string construction;
  std::vector<int> x;
  int M = 0;
  Rational c;
  std::string semantics;
  std::optional<bool> residual;       // reported in params when set
  std::optional<Rational> threshold;  // lower end of ψ's threshold, when ψ has one
  std::vector<MatchTokenDecision> tokens;
  std::string stat_name;
  int errors = 0;  // wrong or undecided tokens
};
int count_wrong(const std::vector<MatchTokenDecision>& tokens);

}  // namespace attnbounds
