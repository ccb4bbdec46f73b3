// Shared machinery of the Match2 / Match3 checkers (SPEC §4.3-4.5, §6).
//
// Sound reduction used by the standard and third-order constructions under exact and embed
// semantics: φ is position-free and the unit is permutation-equivariant, so the output of
// token i depends only on x_i and on the MULTISET of the other N-1 tokens (indeed only on the
// count of each residue).  The sweep enumerates every query value a ∈ [M] and every multiset
// of size N-1 over [M]: M · C(M+N-2, N-1) cases cover all M^N inputs and all N tokens.
// (Under arith semantics sums are rounded in token order, so this reduction is NOT used there.)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"
#include "report/result.hpp"

namespace attnbounds {

// Outcome of one case: the statistic ψ thresholds, and the signed room (> 0 = correct).
struct MatchCaseOutcome {
  bool matched = false;
  double stat_lo = 0, stat_hi = 0;
  double margin_lo = 0, margin_hi = 0;
  bool used_fallback = false;
};

// The tightest case on one side (matched or unmatched), by the lower end of its margin.
struct MatchSideWorst {
  bool any = false;
  double stat_lo = 0, stat_hi = 0, margin_lo = 0, margin_hi = 0;
  std::uint64_t index = 0;
};

struct MatchSweepResult;
// The failing case reported as the witness: the tightest case overall when it certainly fails,
// else the first failing case in enumeration order.
struct MatchFailingCase {
  std::uint64_t index;
  MatchCaseOutcome outcome;
};
MatchFailingCase failing_case(const MatchSweepResult& sweep);

struct MatchSweepResult {
  std::uint64_t cases = 0, fallbacks = 0, fails = 0, undecided = 0;
  MatchSideWorst matched, unmatched;
  bool has_fail = false, has_undecided = false;
  std::uint64_t first_fail = 0, first_undecided = 0;
  MatchCaseOutcome first_fail_outcome;
};

// Multisets of size k over [M], lexicographic; rank -> sorted sequence.
inline void unrank_multiset_lex(std::uint64_t rank, int M, int k, int* out) {
  if (k == 0) return;
  unrank_subset(rank, M + k - 1, k, out);
  for (int i = 0; i < k; ++i) out[i] -= i;
}

// Number of cases of the sweep (saturating).
std::uint64_t query_multiset_cases(int N, int M);
// The concrete input of case `index`: token 1 holds the query value, then the multiset.
std::vector<int> query_multiset_input(std::uint64_t index, int N, int M);

void fold_outcome(MatchSweepResult& acc, const MatchCaseOutcome& o, std::uint64_t index);
void combine_sweeps(MatchSweepResult& acc, MatchSweepResult&& part);

// Runs evaluate(a, vals, counts, k) -> MatchCaseOutcome over every case; vals/counts are the distinct
// residues of the FULL input (query token included) and their multiplicities.
template <class Evaluate>
MatchSweepResult sweep_query_multisets(int N, int M, unsigned threads, Evaluate&& evaluate) {
  const int k = N - 1;
  const std::uint64_t per_query = binomial(M + k - 1, k);
  const std::uint64_t total = per_query * static_cast<std::uint64_t>(M);
  auto body = [&](std::uint64_t begin, std::uint64_t end, MatchSweepResult& part) {
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
      fold_outcome(part, evaluate(a, vals.data(), counts.data(), distinct), idx);
      if (!next_multiset(ms.data(), k, M)) {
        ++a;
        for (int i = 0; i < k; ++i) ms[static_cast<std::size_t>(i)] = 0;
      }
    }
  };
  return parallel_reduce(total, threads, MatchSweepResult{}, body, combine_sweeps);
}

// Decimal string of a double bound (exact value of the double, rounded outward to 17 digits).
std::string match_decimal(double v, int direction);

}  // namespace attnbounds

namespace attnbounds {

// Arith semantics: no permutation reduction (rounded sums depend on token order).  Enumerates
// every tuple of [M]^N; forward(x) returns one MatchCaseOutcome per token.  Case index =
// tuple_rank · N + token.
template <class Forward>
MatchSweepResult sweep_tuples(int N, int M, unsigned threads, Forward&& forward) {
  const std::uint64_t tuples = tuple_count_saturating(M, N);
  auto body = [&](std::uint64_t begin, std::uint64_t end, MatchSweepResult& part) {
    std::vector<int> x(static_cast<std::size_t>(N));
    unrank_tuple(begin, M, N, x.data());
    for (std::uint64_t t = begin; t < end; ++t) {
      auto outcomes = forward(x);
      for (int i = 0; i < N; ++i)
        fold_outcome(part, outcomes[static_cast<std::size_t>(i)], t * static_cast<std::uint64_t>(N) + static_cast<std::uint64_t>(i));
      next_tuple(x.data(), N, M);
    }
  };
  return parallel_reduce(tuples, threads, MatchSweepResult{}, body, combine_sweeps);
}

// Witness of a case index: the input and the 0-based token.
struct MatchCaseWitness {
  std::vector<int> x;
  int token = 0;
};
MatchCaseWitness sweep_witness(std::uint64_t index, int N, int M, bool tuples);
json witness_json(const MatchCaseWitness& w);

}  // namespace attnbounds

namespace attnbounds {

// One token's result in a direct forward pass.
struct MatchTokenDecision {
  int x = 0;
  int model = 0;   // ψ's decision (1 = matched)
  int truth = 0;   // ground truth (tasks.hpp)
  Interval stat;   // the statistic ψ thresholds (‖out‖ for match2)
  bool decided = true;
};

// ψ's decision for every token of one input, raising the working precision (128 .. 4096 bits)
// until every token is decided.  stats_at(bits) gives each token's statistic, threshold_at(bits)
// the threshold; a token is matched when its statistic is certainly on the matched side
// (strictly below the threshold when matched_below, strictly above otherwise) and unmatched
// when certainly on the other side (equality counts as unmatched).
template <class StatsAt, class ThresholdAt>
std::vector<MatchTokenDecision> decide_tokens(const std::vector<int>& x, const std::vector<std::uint8_t>& truth,
                                              bool matched_below, StatsAt&& stats_at, ThresholdAt&& threshold_at) {
  std::vector<MatchTokenDecision> out(x.size());
  for (mpfr_prec_t bits = 128; bits <= 4096; bits *= 2) {
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
    if (all) break;
  }
  return out;
}

// The `eval` result of a Match construction: per token x, ψ's decision, the ground truth and the
// enclosure of the statistic ψ thresholds (named `stat_name`), plus the count of wrong tokens.
json match_eval_report(const std::string& construction, const std::vector<int>& x, int M, const Rational& c,
                       const Semantics& semantics, const Interval& threshold,
                       const std::vector<MatchTokenDecision>& decisions, const std::string& stat_name);

// Adds cases, the two extreme sides, worst{value, lower, upper, witness} and bound "0" (the room
// must be positive) to a result.
json sweep_report(json result, const MatchSweepResult& sweep, int N, int M, bool tuples, const std::string& matched_name,
                  const std::string& unmatched_name);

// Final verdict of a sweep: fails only when the first failing case re-verifies by a forward pass.
template <class Forward>
Verdict sweep_verdict(json& result, const MatchSweepResult& sweep, int N, int M, bool tuples, Forward&& forward) {
  if (sweep.has_fail) {
    MatchCaseWitness w = sweep_witness(failing_case(sweep).index, N, M, tuples);
    auto decisions = forward(w.x);
    const auto& d = decisions[static_cast<std::size_t>(w.token)];
    result["worst"]["witness"]["model"] = d.model;
    result["worst"]["witness"]["truth"] = d.truth;
    result["worst"]["witness"]["verified_by"] = "direct forward pass (attention.hpp) + tasks.hpp ground truth";
    if (d.decided && d.model != d.truth) return Verdict::Fails;
    result["worst"]["witness"]["verified_by"] = "forward pass did not confirm";
    return Verdict::Undecided;
  }
  return sweep.undecided > 0 ? Verdict::Undecided : Verdict::Holds;
}


}  // namespace attnbounds

#include <functional>

namespace attnbounds {

// Minimal precision (SPEC §2): runs `check(semantics)` for every float:p, p in [p_lo, p_hi],
// with semantics "<mode>:float:p"; p* = the smallest p such that every p' in [p, p_hi] holds.
// Non-monotone islands (p' < p* that hold) are reported.  bf16/fp16/fp32 (p = 8/11/24) are
// always reported, checked separately when outside the range.
json min_precision_scan(const std::string& claim, const std::string& mode, int p_lo, int p_hi,
                        const std::function<json(const Semantics&)>& check);

}  // namespace attnbounds
