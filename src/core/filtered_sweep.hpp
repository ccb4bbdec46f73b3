// One certification shape for exhaustive checks: a filtered sweep.
//
// A checker is four things, and this header owns everything they have in common:
//   1. a sound reduction of its input space to an enumerable set of cases (the checker proves,
//      in its own header, that the cases cover every input the claim speaks of);
//   2. a fast evaluator (certified double intervals) that either settles a case or says it
//      cannot;
//   3. an exact evaluator at a given precision in bits (MPFI, or exact rationals);
//   4. a re-verification of a witness by a direct forward pass, independent of 2 and 3.
// The sweep runs 2 on every case and 3 only where 2 cannot settle, raising the precision along
// ONE ladder (kLadderStartBits, doubling, up to kLadderCeilingBits), in the spirit of a filtered
// predicate: approximate first, exact only where the approximation cannot decide.  It folds
// the outcomes with the deterministic parallel_reduce, so the tally is identical for any thread
// count.  The verdict helper gives `fails` only for a re-verified witness.
//
// Contract of a Problem (all members const, callable from several threads at once):
//   using Case = ...;                       // one element of the reduced input space
//   using Outcome = ...;                    // see the Outcome contract below
//   static constexpr int groups = G;        // the tally keeps a worst case per group (G >= 1)
//   std::uint64_t cases() const;            // size of the case set
//   unsigned outcomes_per_case() const;     // outcomes per case (>= 1, at most kMaxOutcomesPerCase);
//                                           // outcome j of case c has index c * width + j
//   template <class F> void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const;
//                                           // calls f(c, const Case&) for c = begin .. end-1 in order
//   void fast(const Case&, Outcome* out) const;                // fills outcomes_per_case() outcomes
//   void exact(const Case&, mpfr_prec_t bits, Outcome* out) const;
// Outcome contract:
//   CaseState state() const;  // Holds (certified), Fails (certainly wrong), Open (neither)
//   bool settled() const;     // more precision cannot help (usually state() != Open)
//   double rank() const;      // smaller = tighter; the tally keeps the smallest (ties: earliest)
//   int group() const;        // in [0, groups)
// An outcome whose tightness a double cannot order exactly (an exact rational error bound) may
// declare instead of rank():
//   bool tighter_than(const Outcome& other) const;  // strictly tighter; the tally uses it
// Outcome must be default-constructible and copyable.  Every outcome either evaluator returns
// must be certified: an enclosure, never an estimate.
// Per-thread state (optional): a Problem that needs scratch of its own per thread (an LP, row
// buffers, caches) declares
//   using Worker = ...;  Worker make_worker() const;
//   void fast(Worker&, const Case&, Outcome*) const;
//   void exact(Worker&, const Case&, mpfr_prec_t bits, Outcome*) const;
// One worker serves one chunk of cases on one thread.  exact is called only right after fast on
// the same case and worker, so it may reuse what fast left in the worker (e.g. exact scores).
// An outcome the fast evaluator settles is kept; an unsettled one is replaced by the exact
// evaluator's at 128, 256, ... bits until it settles or the ceiling is reached (the last
// exact outcome is kept, and counted as undecided when its state is Open).
#pragma once
#include <mpfr.h>

#include <array>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include "core/verdict.hpp"
#include "enumerate/parallel.hpp"
#include "enumerate/progress.hpp"
#include "numeric/precision_ladder.hpp"

namespace attnbounds {

enum class CaseState : std::uint8_t { Holds, Fails, Open };

// The precision ladder (kLadderStartBits, kLadderCeilingBits, PrecisionLadder, kWitnessLadder,
// raise_precision) lives in numeric/precision_ladder.hpp, shared with certified rounding.
inline constexpr unsigned kMaxOutcomesPerCase = 64;

// An outcome with the index of the case (times width, plus the outcome's slot) it came from.
template <class Outcome>
struct IndexedOutcome {
  std::uint64_t index = 0;
  Outcome outcome{};
};

namespace detail {
template <class Outcome>
concept OrderedByTighterThan = requires(const Outcome& a) {
  { a.tighter_than(a) } -> std::convertible_to<bool>;
};
}  // namespace detail

// Whether outcome a is strictly tighter than b (tighter_than if the outcome has it, else rank).
template <class Outcome>
bool tighter(const Outcome& a, const Outcome& b) {
  if constexpr (detail::OrderedByTighterThan<Outcome>)
    return a.tighter_than(b);
  else
    return a.rank() < b.rank();
}

template <class Outcome, int Groups>
struct SweepTally {
  std::uint64_t cases = 0;      // outcomes folded
  std::uint64_t fallbacks = 0;  // outcomes the fast evaluator could not settle
  std::uint64_t failures = 0;   // state Fails
  std::uint64_t undecided = 0;  // state Open after the ladder
  std::array<std::optional<IndexedOutcome<Outcome>>, Groups> worst;  // smallest rank per group
  std::optional<IndexedOutcome<Outcome>> first_failure, first_undecided;
  // The failures per group (they add up to `failures`) and the first of each.
  std::array<std::uint64_t, Groups> group_failures{};
  std::array<std::optional<IndexedOutcome<Outcome>>, Groups> group_first_failure;

  // The tightest outcome over all groups (ties: the lower group).
  const std::optional<IndexedOutcome<Outcome>>& overall_worst() const {
    const std::optional<IndexedOutcome<Outcome>>* best = &worst[0];
    for (int g = 1; g < Groups; ++g) {
      const auto& w = worst[static_cast<std::size_t>(g)];
      if (!*best || (w && tighter(w->outcome, (*best)->outcome))) best = &w;
    }
    return *best;
  }

  void fold(const Outcome& o, std::uint64_t index, bool fallback) {
    ++cases;
    if (fallback) ++fallbacks;
    auto& w = worst[static_cast<std::size_t>(o.group())];
    if (!w || tighter(o, w->outcome)) w = IndexedOutcome<Outcome>{index, o};
    const CaseState s = o.state();
    if (s == CaseState::Fails) {
      ++failures;
      if (!first_failure) first_failure = IndexedOutcome<Outcome>{index, o};
      const auto g = static_cast<std::size_t>(o.group());
      ++group_failures[g];
      if (!group_first_failure[g]) group_first_failure[g] = IndexedOutcome<Outcome>{index, o};
    } else if (s == CaseState::Open) {
      ++undecided;
      if (!first_undecided) first_undecided = IndexedOutcome<Outcome>{index, o};
    }
  }

  // Merges a later part (parts arrive in enumeration order).
  void merge(SweepTally&& part) {
    cases += part.cases;
    fallbacks += part.fallbacks;
    failures += part.failures;
    undecided += part.undecided;
    for (int g = 0; g < Groups; ++g) {
      auto& a = worst[static_cast<std::size_t>(g)];
      auto& b = part.worst[static_cast<std::size_t>(g)];
      if (b && (!a || tighter(b->outcome, a->outcome))) a = std::move(b);
      group_failures[static_cast<std::size_t>(g)] += part.group_failures[static_cast<std::size_t>(g)];
      auto& f = group_first_failure[static_cast<std::size_t>(g)];
      if (!f && part.group_first_failure[static_cast<std::size_t>(g)])
        f = std::move(part.group_first_failure[static_cast<std::size_t>(g)]);
    }
    if (!first_failure && part.first_failure) first_failure = std::move(part.first_failure);
    if (!first_undecided && part.first_undecided) first_undecided = std::move(part.first_undecided);
  }
};

template <class Problem>
using TallyOf = SweepTally<typename Problem::Outcome, Problem::groups>;

namespace detail {
template <class Problem>
concept SweepHasWorker = requires { typename Problem::Worker; };
struct NoSweepWorker {};

template <class Problem>
auto make_sweep_worker(const Problem& problem) {
  if constexpr (SweepHasWorker<Problem>)
    return problem.make_worker();
  else
    return NoSweepWorker{};
}
template <class Problem, class Worker>
void sweep_fast(const Problem& problem, Worker& w, const typename Problem::Case& c, typename Problem::Outcome* out) {
  if constexpr (SweepHasWorker<Problem>)
    problem.fast(w, c, out);
  else
    problem.fast(c, out);
}
template <class Problem, class Worker>
void sweep_exact(const Problem& problem, Worker& w, const typename Problem::Case& c, mpfr_prec_t bits,
                 typename Problem::Outcome* out) {
  if constexpr (SweepHasWorker<Problem>)
    problem.exact(w, c, bits, out);
  else
    problem.exact(c, bits, out);
}
}  // namespace detail

// Settles the outcomes of one case: fast first, then the ladder for those still unsettled.
// fallback[j] says whether outcome j needed the exact evaluator.
template <class Problem, class Worker>
void settle_case(const Problem& problem, Worker& worker, const typename Problem::Case& c,
                 typename Problem::Outcome* out, bool* fallback) {
  using Outcome = typename Problem::Outcome;
  const unsigned width = problem.outcomes_per_case();
  if (width == 0 || width > kMaxOutcomesPerCase) throw std::length_error("filtered sweep: outcomes per case must be in 1..64");
  detail::sweep_fast(problem, worker, c, out);
  bool open = false;
  for (unsigned j = 0; j < width; ++j) {
    fallback[j] = !out[j].settled();
    open = open || fallback[j];
  }
  if (!open) return;
  std::array<Outcome, kMaxOutcomesPerCase> trial;
  raise_precision([&](mpfr_prec_t bits) {
    detail::sweep_exact(problem, worker, c, bits, trial.data());
    bool all = true;
    for (unsigned j = 0; j < width; ++j) {
      if (!fallback[j] || out[j].settled()) continue;
      out[j] = trial[j];
      all = all && out[j].settled();
    }
    return all;
  });
}
// For problems without per-thread state.
template <class Problem>
void settle_case(const Problem& problem, const typename Problem::Case& c, typename Problem::Outcome* out,
                 bool* fallback) {
  static_assert(!detail::SweepHasWorker<Problem>, "this problem needs a worker: settle_case(problem, worker, ...)");
  detail::NoSweepWorker none;
  settle_case(problem, none, c, out, fallback);
}

// What a sweep reports to, besides its tally: progress, chunk hooks (journal, MPI sharding) and
// the text form of a tally for those hooks (empty: bytes, see parallel.hpp).
template <class Problem>
struct SweepControl {
  Progress* progress = nullptr;
  ChunkHooks* hooks = nullptr;
  PartialCodec<TallyOf<Problem>> codec{};
};

// The sweep: every case, in parallel, folded deterministically.
template <class Problem>
TallyOf<Problem> filtered_sweep(const Problem& problem, unsigned threads, const SweepControl<Problem>& control = {}) {
  using Tally = TallyOf<Problem>;
  using Outcome = typename Problem::Outcome;
  const std::uint64_t width = problem.outcomes_per_case();
  auto body = [&](std::uint64_t begin, std::uint64_t end, Tally& part) {
    std::array<Outcome, kMaxOutcomesPerCase> out;
    std::array<bool, kMaxOutcomesPerCase> fallback;
    auto worker = detail::make_sweep_worker(problem);
    problem.enumerate(begin, end, [&](std::uint64_t c, const typename Problem::Case& cs) {
      settle_case(problem, worker, cs, out.data(), fallback.data());
      for (std::uint64_t j = 0; j < width; ++j) part.fold(out[j], c * width + j, fallback[j]);
    });
  };
  return parallel_reduce(
      problem.cases(), threads, Tally{}, body, [](Tally& acc, Tally&& part) { acc.merge(std::move(part)); },
      control.progress, control.hooks, control.codec);
}

// The verdict of a sweep: fails only when verify(index) re-verifies the reported failing case by
// an independent forward pass; a failure that does not re-verify, or any undecided case, gives
// undecided; otherwise holds.
template <class Outcome, int Groups, class Verify>
Verdict sweep_verdict_of(const SweepTally<Outcome, Groups>& tally, std::uint64_t failing_index, Verify&& verify) {
  if (tally.failures > 0) return verify(failing_index) ? Verdict::Fails : Verdict::Undecided;
  return tally.undecided > 0 ? Verdict::Undecided : Verdict::Holds;
}

}  // namespace attnbounds
