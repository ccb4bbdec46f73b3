// Match3 with one third-order unit, m = 4 (math §1.5, §4.4) [paper statement: constant size;
// construction ours].
//
// cos(α+β+γ) = c_α c_β c_γ − c_α s_β s_γ − s_α c_β s_γ − s_α s_β c_γ, so with
//   q_i = C·(c_i, −c_i, −s_i, −s_i), k¹_j = (c_j, s_j, c_j, s_j), k²_k = (c_k, s_k, s_k, c_k)
// the score of the pair (j,k) is C·cos(θ_i+θ_j+θ_k).  Values v¹_j = (c_j, s_j, s_j, c_j),
// v²_k = (c_k, s_k, c_k, s_k): v¹⊙v² = (c_j c_k, s_j s_k, s_j c_k, c_j s_k), whose e1 − e2 and
// e3 + e4 are cos and sin of θ_j+θ_k.  ψ (seeing x_i) computes
//   z_i = cos θ_i·(e1 − e2) − sin θ_i·(e3 + e4)  (= the attention average of cos(θ_i+θ_j+θ_k))
// and outputs 1[z_i > 1 − g/2], g = 1 − cos(2π/M).  Matched: z ≥ 1 − 2δ; unmatched: z ≤ 1 − g.
// C > (1/g)·ln((N²−1)(4−g)/g) gives 2δ < g/2.
#pragma once
#include "core/semantics_policy.hpp"
#include <array>
#include <optional>
#include <vector>

#include "core/field_checks.hpp"
#include "model/turn_table.hpp"
#include "proofs/match_common.hpp"

namespace attnbounds {

struct Match3Config {
  static constexpr FieldLimits kN{2, 16}, kM{2, 1 << 16};
  static constexpr SemanticsSupport kSemantics = kExactEmbedArith;
  int N = 6;
  int M = 9;
  std::optional<Rational> c;
  Semantics semantics;
  bool flip_query_sign = false;  // negative twin: last query entry +C·s_i instead of −C·s_i
};

Interval match3_temperature_bound(int N, int M, mpfr_prec_t bits);
Rational match3_default_temperature(int N, int M);

template <class T>
struct Match3Tables {
  std::vector<std::array<T, 4>> q, k1, k2, v1, v2;  // per residue
  std::vector<T> psi_cos, psi_sin;                   // ψ's exact cos/sin of θ_i
};

struct Match3Model {
  Match3Model(int M, Rational c, SemanticsPolicy policy, bool flip_query_sign);
  int M;
  Rational c;
  SemanticsPolicy policy;
  bool flipped;
  std::vector<std::array<EmbeddingEntry, 4>> q, k1, k2, v1, v2;
  Interval threshold(mpfr_prec_t bits) const;  // 1 − g/2
  Match3Tables<Interval> precise(mpfr_prec_t bits) const;
  Match3Tables<DInterval> fast;
  DInterval threshold_fast;
};

// The 4-entry query/key/value patterns as signed (cos|sin) selectors, exposed for the test that
// checks them against the cos(α+β+γ) identity.
struct Match3TrigSelector {
  bool use_sin;
  int sign;
};
std::array<Match3TrigSelector, 4> match3_query_pattern(bool flipped);
std::array<Match3TrigSelector, 4> match3_key1_pattern();
std::array<Match3TrigSelector, 4> match3_key2_pattern();

MatchCaseOutcome match3_case(const Match3Model& model, int a, const int* vals, const int* counts, int k);
std::vector<MatchTokenDecision> match3_forward(const Match3Model& model, const std::vector<int>& x);

// The certified check (math §7 fields; the application renders them).
struct Match3ThirdOrderResult {
  int N = 0, M = 0;
  Rational c;
  bool flip_query_sign = false;
  std::string semantics;
  std::string residual;              // what ψ sees besides the unit output
  Rational gap_lower;                // g = 1 − cos(2π/M)
  Rational threshold_lower;          // 1 − g/2
  Rational temperature_bound_upper;  // (1/g)·ln((N²−1)(4−g)/g)
  bool temperature_above_bound = false;
  bool tuples = false;
  std::string reduction;
  MatchSweepSummary sweep;           // statistic z: matched side smallest, unmatched largest
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

// Throws ConfigError on a bad field, SizeLimitError above the size guard unless force.
Match3ThirdOrderResult check_match3_third_order(const Match3Config& cfg, unsigned threads, bool force);
MatchEvalResult eval_match3_third_order(const Match3Config& cfg, const std::vector<int>& x);

}  // namespace attnbounds
