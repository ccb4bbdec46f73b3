// Match2 WITHOUT a residual connection, m = 4 (math §4.3 stretch goal) [construction ours].
//
// ψ sees only the attention output, so the output itself must reveal x_i.  Scores
//   s_ij = ⟨c·(2cos θ_i, −1), (cos θ_j, cos²θ_j)⟩ = −c(cos θ_j − cos θ_i)² + c·cos²θ_i
// are maximal exactly on x_j ≡ ±x_i (the token itself always among them) and at least c·g₂
// lower elsewhere, g₂ = min_{y ≢ ±x} (cos θ_x − cos θ_y)².  Values (cos θ_j, sin θ_j).  So
//   unmatched (no −x_i, 2x_i ≢ 0):  out → (cos θ_i, sin θ_i): ‖out‖² → 1, |out₂| ≥ sin(2π/M);
//   matched, 2x_i ≢ 0:             out → (cos θ_i, ρ sin θ_i), |ρ| ≤ (N−2)/N:
//                                   1 − ‖out‖² ≥ sin²(2π/M)·4(N−1)/N² = 2τ₁;
//   2x_i ≡ 0 (matched by itself):   out → (±1, 0): |out₂| → 0.
// ψ(out) = 1 iff ‖out‖² < 1 − τ₁ or |out₂| < τ₂,  τ₂ = sin(2π/M)/2.
// φ(x) = (1, cos θ, sin θ, cos 2θ) gives the query (constant entry), key (cos²θ = (1+cos 2θ)/2)
// and value linearly: m = 4.  The paper's m = 3 construction is not available to us.
#pragma once
#include "proofs/match2_trig.hpp"

namespace attnbounds {

// g₂, τ₁, τ₂ enclosures, and the default temperature (1/g₂)·ln(8(N−1)/min(τ₁, τ₂)) rounded up.
Interval match2nr_score_gap(int M, mpfr_prec_t bits);
Interval match2nr_norm_threshold(int N, int M, mpfr_prec_t bits);  // τ₁
Interval match2nr_axis_threshold(int M, mpfr_prec_t bits);         // τ₂
// 1 − τ₁, the bound ψ compares ‖out‖² with, enclosed as the exact real A + B·cos(2π·2/M).
Interval match2nr_norm_bound(int N, int M, mpfr_prec_t bits);
Rational match2nr_default_temperature(int N, int M);

// The certified check (math §7 fields; the application renders them).
struct Match2NoResidualResult {
  int N = 0, M = 0;
  Rational c;
  std::string semantics;
  Rational score_gap_lower;       // g₂
  Rational norm_threshold_lower;  // τ₁
  Rational axis_threshold_lower;  // τ₂
  std::string psi, reduction;
  MatchSweepSummary sweep;        // statistic: ψ's decision function F (ψ = 1 iff F > 0)
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

// Throws ConfigError on a bad field, SizeLimitError above the size guard unless force.
Match2NoResidualResult check_match2_no_residual(const Match2Config& cfg, unsigned threads, bool force);
MatchEvalResult eval_match2_no_residual(const Match2Config& cfg, const std::vector<int>& x);

}  // namespace attnbounds
