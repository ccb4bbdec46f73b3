// Theorem 10 (math §5.3): a fully-connected network whose first layer has width k below
// (N−q+1)·d' cannot approximate qSA [paper statement; construction reconstructed].
// q−1 dummy tokens D keep z = 0; every other token i has y_i = {i} ∪ D, so qSA(X)_i = z_i / q.
// A kernel vector Δ of W restricted to those z-coordinates gives X_± = X_0 ± Δ/s with equal
// first-layer pre-activations but qSA differing by 2Δ_i/(s q): one of them has error ≥ 1/q.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
#include "model/matrix.hpp"
#include "core/verdict.hpp"
#include "numeric/rational.hpp"

namespace attnbounds::fc_rank {

struct FcRankOptions {
  static constexpr FieldLimits kN{2, 512}, kD{1, 64}, kK{1, 4096};  // and q in 1..N
  int N = 6, q = 2, d = 1;  // d = d'
  int k = -1;               // first-layer width; -1: bound − 1 (seeded random W)
  std::uint64_t seed = 1;
  std::optional<Mat<Rational>> weights;  // from a weights file (k × N·token_dim)
  // The first-layer width the run uses: the rows of `weights`, else k (−1: max(bound − 1, 1)).
  int effective_k() const;
  // Throws ConfigError: N in 2..512, q in 1..N, d in 1..64, k in 1..4096, weights with N·token_dim columns.
  void validate() const;
};

// Token layout of the network input: x_i = (z_i (d'), the q indices of y_i (1-based), i (1-based)).
inline int token_dim(int d, int q) { return d + q + 1; }

// Reads a weight matrix: one row per line, entries "3", "-2/7", "0.5" separated by spaces or
// commas.  Throws ConfigError("weights", message naming the line) on bad input.
Mat<Rational> read_weights_file(const std::string& path);

// Exact column rank and a nonzero kernel vector (if any) of A over Q.
struct KernelResult {
  int rank = 0;
  std::optional<std::vector<Rational>> kernel_vector;
};
KernelResult exact_kernel(const Mat<Rational>& A);

// A qSA input: z is N×d', y[i] the sorted 0-based subset of token i.
struct FcInput {
  Mat<Rational> z;
  std::vector<std::vector<int>> y;
};

// X_± = X_0 ± Δ/s: equal first-layer outputs, true outputs apart in `row`.
struct FcRankWitness {
  FcInput X_plus, X_minus;
  std::vector<Rational> delta;  // kernel vector of W on the free z-coordinates
  Rational scale;               // s ≥ max_i ‖Δ_i‖₂
  int row = 0;                  // 0-based token where the true outputs differ most
  std::vector<Rational> true_plus, true_minus;  // qSA at `row`
  std::vector<Rational> first_layer_output;     // W X_+ (= W X_-)
  bool first_layer_equal = false;
  Rational forced_error_lower, forced_error_upper;  // enclosure of the error one of X_± must have
};

struct FcRankResult {
  Verdict verdict = Verdict::Undecided;
  int N = 0, q = 0, d = 0, k = 0;
  int input_dim = 0, token_dim = 0, bound = 0;  // bound = (N−q+1)·d'
  int rank_W_free_z = 0, qsa_map_rank = 0, qsa_map_rank_free_z = 0;
  Mat<Rational> W;                       // the first layer checked
  std::optional<FcRankWitness> witness;  // present iff fails
};

FcRankResult run_fc_rank(const FcRankOptions& opts);

}  // namespace attnbounds::fc_rank
