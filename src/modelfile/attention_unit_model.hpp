// The model-file class "attention-unit" (docs/model-format.md): the paper's general unit on
// tokens x_i ∈ [M] (math §1.1–§1.3).  φ is an MLP on the one-hot features of the token (and,
// optionally, of its position); H softmax heads with their own query, key and value maps are
// summed; an optional residual map adds R·φ_i; ψ is an MLP whose sign decides, or a threshold of
// ‖out_i‖.  Linear maps are stored as PyTorch's nn.Linear stores them: weight [out, in], bias [out].
//
// Certification of Match2 / Match3 (check_attention_unit): the input space [M]^N is finite, so it
// is enumerated through core/filtered_sweep.hpp; no structure beyond the class is needed.  A
// position-free unit (φ independent of the position, checked exactly) is permutation-equivariant:
// a token's output depends on its value and the multiset of the input, so one sorted input per
// multiset covers [M]^N.  Fast path: φ and the heads' rows precomputed per token value (and
// position) in outward-rounded doubles, attention and ψ in DInterval; exact path: MPFI along the
// one precision ladder; a failing input is re-verified by the direct forward pass of
// model/attention.hpp (multi_head), which computes φ from the one-hot features itself.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/semantics_policy.hpp"
#include "core/verdict.hpp"
#include "modelfile/exact_real.hpp"
#include "modelfile/linear_layers.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"
#include "proofs/match_common.hpp"

namespace attnbounds {

inline constexpr const char* kAttentionUnitClass = "attention-unit";
// exact and embed:<fmt>; arith is refused (the MLPs' rounded arithmetic is not modelled).
inline constexpr SemanticsSupport kAttentionUnitSemantics = kExactEmbed;

// Limits of the class (docs/model-format.md).
struct AttentionUnitLimits {
  static constexpr int kMaxN = 64, kMaxM = 4096, kMaxHeads = 8, kMaxLayers = kMaxMlpLayers;
  static constexpr int kMaxWidth = kMaxMlpWidth;  // m and hidden widths
  static constexpr int kMaxKeyWidth = 64, kMaxValueWidth = 64;
};

struct AttentionHead {
  LinearMap query, key, value;  // [k, m], [k, m], [d, m]
};

struct AttentionUnitModel {
  int N = 0, M = 0;
  bool positional_input = false;  // phi_input = token+position: φ's input is (e(x_i), e(i))
  Activation activation = Activation::Relu;
  std::vector<LinearMap> phi;  // φ's layers; phi[0].in = M (+ N)
  std::vector<AttentionHead> heads;
  std::optional<LinearMap> residual;  // [d, m]
  enum class Psi { Mlp, Norm };
  Psi psi = Psi::Mlp;
  std::vector<LinearMap> psi_mlp;  // Mlp: first in = d, last out = 1
  ExactReal threshold;             // Norm: τ
  bool matched_below = true;       // Norm: ψ = 1 iff ‖out‖ < τ (else > τ)
  std::map<std::string, std::string> metadata;
  std::string construction, dtypes;

  int m() const { return phi.empty() ? 0 : phi.back().out; }
  int d() const { return heads.empty() ? 0 : heads.front().value.out; }
  // φ depends on the position: positional input with a nonzero positional column of phi.0.
  bool positional() const;
};

const char* psi_name(AttentionUnitModel::Psi psi);

// Reads and validates a file of class attention-unit.  Errors (ModelFileError) name file and field.
AttentionUnitModel attention_unit_model_from(const std::string& file, const SafetensorsFile& f);
AttentionUnitModel read_attention_unit_model(const std::string& path);
SafetensorsFile attention_unit_model_file(const AttentionUnitModel& m, const ModelWriteOptions& opts = {},
                                          const std::string& file = "(model)");
void write_attention_unit_model(const std::string& path, const AttentionUnitModel& m, const ModelWriteOptions& opts = {});

// The Match2 construction (proofs/match2_trig.hpp) in this class: φ = (cos θ_x, sin θ_x) as a
// one-layer table, query c·diag(1, ∓1), key and residual the identity, value diag(−1, 1),
// ψ = 1[‖out‖ < (1 − cos(2π/M))/2].
AttentionUnitModel attention_unit_of_match2_construction(int N, int M, const Rational& c, bool flip_query_sign);

enum class MatchTask { Match2, Match3 };
const char* match_task_name(MatchTask t);

struct AttentionUnitCheckResult {
  MatchTask task = MatchTask::Match2;
  int N = 0, M = 0;
  std::string semantics, reduction;
  bool multisets = false;  // one sorted input per multiset (position-free), else every tuple
  std::uint64_t inputs = 0;
  MatchSweepSummary sweep;
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

// Number of inputs the check enumerates (saturating), and the limits of its size guard.
std::uint64_t attention_unit_inputs(const AttentionUnitModel& m);
inline constexpr std::uint64_t kAttentionUnitMaxInputs = 2'000'000, kAttentionUnitMaxForcedInputs = 200'000'000;

// Throws ConfigError (field "semantics") outside exact / embed, SizeLimitError above the guard
// unless force (and always above the forced limit).
AttentionUnitCheckResult check_attention_unit(const AttentionUnitModel& m, MatchTask task, const Semantics& sem,
                                              unsigned threads, bool force);
// Every token of one input x ∈ [M]^N decided along the ladder (statistic: MLP(out) against 0, or
// ‖out‖ against τ), with the task's truth.
MatchEvalResult eval_attention_unit(const AttentionUnitModel& m, MatchTask task, const Semantics& sem,
                                    const std::vector<int>& x);

}  // namespace attnbounds
