// The model-file class "match2-table" (docs/model-format.md): one attention unit on tokens
// x_i ∈ [M] whose query, key, value and residual are tables over the token value, optionally
// plus tables over the position i, and whose output map ψ thresholds the norm of the unit's
// output or a linear functional of it, or (the residual-free construction's ψ) tests
// ‖out‖² < τ or |w·out| < τ_lin.
//
// Certification (the Match2 checker of math §4.3, through core/filtered_sweep.hpp): without
// positional tables the unit is position-free and permutation-equivariant, so token i's output
// depends only on x_i and the residue counts of the input (the multiset reduction of
// proofs/match_common.hpp, M·C(M+N−2, N−1) cases).  With positional tables, or under arith
// semantics, every tuple of [M]^N and every token is evaluated.  Fast path: outward-rounded
// doubles; exact path: MPFI along the one precision ladder; a failure is re-verified by a direct
// forward pass (attention.hpp) against tasks.hpp.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/semantics_policy.hpp"
#include "core/verdict.hpp"
#include "modelfile/exact_real.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"
#include "numeric/format.hpp"
#include "proofs/match_common.hpp"

namespace attnbounds {

// What the Match model-file checkers (match2-table and match3-third-order files) run under.
inline constexpr SemanticsSupport kMatchModelSemantics = kExactEmbedArith;

inline constexpr int kMatchModelFormatVersion = 2;  // the version that defines the Match classes
inline constexpr int kMatch2TableMaxWidth = 16;     // k and d

struct Match2TableModel {
  int N = 0, M = 0, k = 0, d = 0;
  // Row-major tables.  Over token values: query, key (M × k), value, residual (M × d; residual
  // empty when the unit has none).  Over positions, each optional (empty when absent):
  // query_pos, key_pos (N × k), value_pos, residual_pos (N × d).
  std::vector<ExactReal> query, key, value, residual;
  std::vector<ExactReal> query_pos, key_pos, value_pos, residual_pos;
  // Norm: t = ‖out‖; Linear: t = w·out; ψ = 1 iff t < τ (matched_below) or t > τ.
  // SqNormOrAbsLinear (the residual-free construction's ψ): ψ = 1 iff ‖out‖² < τ or
  // |w·out| < τ_lin (matched_below always); its statistic is F = max(τ − ‖out‖², τ_lin − |w·out|),
  // thresholded at 0 with matched above.
  enum class Psi { Norm, Linear, SqNormOrAbsLinear };
  Psi psi = Psi::Norm;
  std::vector<ExactReal> psi_weights;  // d entries when Linear or SqNormOrAbsLinear
  ExactReal threshold;
  ExactReal threshold_linear;  // τ_lin, SqNormOrAbsLinear only
  bool matched_below = true;  // ψ = 1 iff statistic < threshold (else iff statistic > threshold)
  std::map<std::string, std::string> metadata;
  std::string construction, dtypes;
  bool positional() const {
    return !query_pos.empty() || !key_pos.empty() || !value_pos.empty() || !residual_pos.empty();
  }
  bool has_residual() const { return !residual.empty() || !residual_pos.empty(); }
  bool disjunctive() const { return psi == Psi::SqNormOrAbsLinear; }
};

// The metadata spelling of ψ: norm, linear, sqnorm-or-abs-linear.
const char* psi_name(Match2TableModel::Psi psi);

// Reads and validates a file of class match2-table (format version 2).  Errors name file and field.
Match2TableModel match2_table_model_from(const std::string& file, const SafetensorsFile& f);
Match2TableModel read_match2_table_model(const std::string& path);
SafetensorsFile match2_table_model_file(const Match2TableModel& m, const ModelWriteOptions& opts = {},
                                        const std::string& file = "(model)");
void write_match2_table_model(const std::string& path, const Match2TableModel& m, const ModelWriteOptions& opts = {});

// The toolkit's Match2 construction (proofs/match2_trig.hpp) as exact tables: φ = (cos θ, sin θ)
// as key and residual, query c·(cos θ, ∓sin θ), value (−cos θ, sin θ), ψ = 1[‖out‖ < g/2].
Match2TableModel match2_table_model_of_construction(int N, int M, const Rational& c, bool flip_query_sign);
// The residual-free construction (proofs/match2_no_residual.hpp), m = 4 written as k = d = 2:
// query (2c·cos θ, −c), key (cos θ, (1 + cos 2θ)/2), value (cos θ, sin θ), no residual, ψ = 1 iff
// ‖out‖² < 1 − τ₁ or |out₂| < τ₂ (psi = sqnorm-or-abs-linear, w = (0, 1)).  M ≥ 3.
Match2TableModel match2_table_model_of_no_residual_construction(int N, int M, const Rational& c);

// Why the checker cannot certify the model under `sem` (one line), or "" when it can.
std::string match2_certifiable_structure_problem(const Match2TableModel& m, const Semantics& sem);

struct Match2TableCheckResult {
  int N = 0, M = 0;
  std::string semantics;
  bool tuples = false;
  std::string reduction;
  Rational threshold_lower;
  MatchSweepSummary sweep;  // matched side: tightest statistic on the matched side, likewise unmatched
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

// Throws ConfigError (field "model" / "semantics") when the structure is missing, SizeLimitError
// above the size guard unless force (multiset cases 2·10^8; tuples 2·10^6).
Match2TableCheckResult check_match2_table(const Match2TableModel& m, const Semantics& sem, unsigned threads, bool force);
// Forward pass on one input x ∈ [M]^N (N = the model's N), every token decided along the ladder.
MatchEvalResult eval_match2_table(const Match2TableModel& m, const Semantics& sem, const std::vector<int>& x);

}  // namespace attnbounds
