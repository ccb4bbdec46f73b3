// Theorem 10 (SPEC §5.3): a fully-connected network whose first layer has width k below
// (N−q+1)·d' cannot approximate qSA [paper statement; construction reconstructed].
// q−1 dummy tokens D keep z = 0; every other token i has y_i = {i} ∪ D, so qSA(X)_i = z_i / q.
// A kernel vector Δ of W restricted to those z-coordinates gives X_± = X_0 ± Δ/s with equal
// first-layer pre-activations but qSA differing by 2Δ_i/(s q): one of them has error ≥ 1/q.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "model/matrix.hpp"
#include "numeric/rational.hpp"
#include "report/result.hpp"

namespace attnbounds::fc_rank {

struct FcRankOptions {
  int N = 6, q = 2, d = 1;  // d = d'
  int k = -1;               // first-layer width; -1: bound − 1 (seeded random W)
  std::uint64_t seed = 1;
  std::optional<Mat<Rational>> weights;  // from --weights (k × N·token_dim)
};

// Token layout of the network input: x_i = (z_i (d'), the q indices of y_i (1-based), i (1-based)).
inline int token_dim(int d, int q) { return d + q + 1; }

// Reads a weight matrix: one row per line, entries "3", "-2/7", "0.5" separated by spaces or
// commas.  Throws std::invalid_argument (naming --weights and the line) on bad input.
Mat<Rational> read_weights_file(const std::string& path);

// Exact column rank and a nonzero kernel vector (if any) of A over Q.
struct KernelResult {
  int rank = 0;
  std::optional<std::vector<Rational>> kernel_vector;
};
KernelResult exact_kernel(const Mat<Rational>& A);

json run_fc_rank(const FcRankOptions& opts, const json& params);

}  // namespace attnbounds::fc_rank
