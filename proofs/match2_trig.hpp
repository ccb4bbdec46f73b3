// Match2 with the trigonometric embedding and a residual, m = 2 (math §4.3) [construction ours;
// the paper states m = 3].
//
// θ(x) = 2πx/M, φ(x) = (cos θ, sin θ) = key; query c·(cos θ_i, −sin θ_i); value (−cos θ_j, sin θ_j).
// Score c·cos(θ_i + θ_j): c on matches, ≤ c·cos(2π/M) otherwise (gap g = 1 − cos(2π/M)).
// Residual: out_i = φ_i + Σ_j A_ij v_j.  Matched: ‖out_i‖ ≤ 2δ; unmatched: ‖out_i‖ ≥ g.
// ψ(out) = 1[‖out‖ < g/2].  c > (1/g)·ln((N−1)(4−g)/g) makes 2δ < g/2.
#pragma once
#include "core/semantics_policy.hpp"
#include <cstdint>
#include <optional>
#include <vector>

#include "core/field_checks.hpp"
#include "model/turn_table.hpp"
#include "numeric/format.hpp"
#include "proofs/match_common.hpp"

namespace attnbounds {

struct Match2Config {
  static constexpr FieldLimits kN{2, 64}, kM{2, 1 << 20};
  static constexpr FieldLimits kMNoResidual{3, 1 << 16};  // --no-residual (proofs/match2_no_residual.*)
  static constexpr SemanticsSupport kSemantics = kExactEmbedArith;
  static constexpr SemanticsSupport kSemanticsNoResidual = kExactEmbed;  // its ψ bound is for exact sums
  int N = 8;
  int M = 16;
  std::optional<Rational> c;  // temperature; default match2_default_temperature(N, M)
  Semantics semantics;
  bool flip_query_sign = false;  // negative twin: query c·(cos, +sin) scores cos(θ_i − θ_j)
  bool prune = true;  // settle far-from-worst cases by a certified bound (same result; tests turn it off)
};

// g = 1 − cos(2π/M) and the sufficient temperature (1/g)·ln((N−1)(4−g)/g), enclosed.
Interval match2_gap(int M, mpfr_prec_t bits);
Interval match2_temperature_bound(int N, int M, mpfr_prec_t bits);
// The default: the bound's upper end times 1 + 1/64, rounded up to a multiple of 2^-10 (exact).
Rational match2_default_temperature(int N, int M);

// The embedding tables in one number type.
template <class T>
struct Match2Tables {
  std::vector<T> phic, phis, qc, qs, vc, vs;
};

// The embedding tables (one entry per residue), under the semantics.
struct Match2Model {
  Match2Model(int M, Rational c, SemanticsPolicy policy, bool flip_query_sign);
  int M;
  Rational c;
  SemanticsPolicy policy;
  bool flipped;
  std::vector<EmbeddingEntry> phi_cos, phi_sin, query_cos, query_sin, value_cos, value_sin;
  Interval threshold(mpfr_prec_t bits) const;  // g/2, exact real (ψ is exact)
  Match2Tables<DInterval> fast;                // double enclosures of the entries
  DInterval threshold_fast;
  // Per query residue a and key residue b: e_ab = exp(s_ab − shift_a) and e_ab·v_b, with
  // shift_a = the largest score over all residues (softmax is invariant to a common shift).
  struct WeightRow {
    std::vector<DInterval> e, ev_cos, ev_sin;
  };
  std::vector<WeightRow> weight_rows;  // empty when M > kMaxWeightTableM (M^2 entries)
  static constexpr int kMaxWeightTableM = 1024;
  // Point tables of the pruning test (match2_trig.cpp, match2_prune_test), per query residue a and
  // key residue b: the ends of e_ab and the midpoints of the enclosures of e_ab·(φ_a + v_b).
  struct PruneRow {
    std::vector<double> elo, ehi, tc, ts;
  };
  std::vector<PruneRow> prune_rows;
  double prune_delta = 0;  // δ / Σ n·e_hi: the error bound of the point sums of e·(φ + v), see there
  bool prune_ok = false;   // the conditions of the pruning's error bound hold for this model
  std::uint64_t id;  // distinct for every model built in this process (keys per-thread caches)
  // Rebuilds prune_rows / prune_delta / prune_ok from the tables above (the constructor does;
  // again after changing them, as the tests do with perturbed models).
  void build_prune_tables();
};

// One case of the sweep: query value a, residues vals[0..k) with counts (query included).
// Certified: DInterval first, then MPFI along the precision ladder when the margin is not decided.
MatchCaseOutcome match2_case(const Match2Model& model, int a, const int* vals, const int* counts, int k);

// The sweep's pruning test on one case (exposed for tests): query value a and the other k = N−1
// tokens; given the smallest lower ends of the room m_matched / m_unmatched of cases the sweep has
// evaluated in full (+inf: none yet), returns a certified outcome whose lower end of the room is
// above max(m, 0) + kMatch2PruneSlack when its point sums prove the case that far from both, else
// nothing.  A case it settles is provably not the sweep's worst of its side, holds, and would have
// been settled by the fast path (the argument is at prune_decides in match2_trig.cpp).
inline constexpr double kMatch2PruneSlack = 0x1p-30;
std::optional<MatchCaseOutcome> match2_prune_test(const Match2Model& model, int a, const int* others, int k,
                                                  double m_matched, double m_unmatched);

// The sweep of the multiset reduction for one model (exact and embed semantics, N tokens): with
// prune and model.prune_ok the pruned sweep (match2_trig.cpp; the same tally for the cases that
// can be a worst, and the same counts), else every case evaluated in full.
MatchTally match2_multiset_sweep(const Match2Model& model, int N, unsigned threads, bool prune);

// Direct forward pass on one input (attention.hpp templates: MPFI, or FormatReal under arith).
std::vector<MatchTokenDecision> match2_forward(const Match2Model& model, const std::vector<int>& x);

// The certified check (math §7 fields; the application renders them).
struct Match2Result {
  int N = 0, M = 0;
  Rational c;
  bool flip_query_sign = false;
  std::string semantics;
  Rational gap_lower;                // g = 1 − cos(2π/M), lower end
  Rational threshold_lower;          // g/2
  Rational temperature_bound_upper;  // (1/g)·ln((N−1)(4−g)/g), upper end
  bool temperature_above_bound = false;
  bool tuples = false;               // arith: every tuple, no permutation reduction
  std::string reduction;
  MatchSweepSummary sweep;           // matched side: ‖out‖ largest; unmatched: smallest
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

// Throws ConfigError on a bad field, SizeLimitError above the size guard unless force.
Match2Result check_match2(const Match2Config& cfg, unsigned threads, bool force);
MatchEvalResult eval_match2(const Match2Config& cfg, const std::vector<int>& x);

}  // namespace attnbounds
