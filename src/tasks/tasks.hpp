// Ground-truth tasks (math §3).  Indices are 0-based inside the library; reports print 1-based.
#pragma once
#include <cstdint>
#include <vector>

#include "model/matrix.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// qSA(X)_i = (1/q) Σ_{j ∈ y_i} z_j.  z is N×d', y[i] holds q distinct indices in [0, N).
Mat<Rational> qsa(const Mat<Rational>& z, const std::vector<std::vector<int>>& y);
// Validates a qSA input: every y_i has exactly q distinct indices in range, ‖z_j‖₂ ≤ 1.
// Throws std::invalid_argument naming the offending token.
void validate_qsa_input(const Mat<Rational>& z, const std::vector<std::vector<int>>& y, int q);

// Match2(X)_i = 1 iff some j (j = i allowed) has x_i + x_j ≡ 0 mod M.  O(N + M).
std::vector<std::uint8_t> match2(const std::vector<int>& x, int M);
// Match3(X)_i = 1 iff some j1, j2 have x_i + x_j1 + x_j2 ≡ 0 mod M.  Literal reading: indices
// may coincide; with distinct = true, i, j1, j2 must be pairwise distinct.
// O(N·min(N, M) + M) per call, never O(N³).
std::vector<std::uint8_t> match3(const std::vector<int>& x, int M, bool distinct = false);

// The literal Match2 / Match3 of x_0..x_{N−1}, every x_i already in [0, M), into out (N entries),
// without allocating: `present` is caller-owned scratch of M zeros, zeros again on return.
// O(N) and O(N²); for the enumeration loops, where the functions above would cost O(M) each.
void match2_into(const int* x, int N, int M, std::uint8_t* present, std::uint8_t* out);
void match3_into(const int* x, int N, int M, std::uint8_t* present, std::uint8_t* out);

// DISJ_n(a, b) = 1 iff a ∧ b = 0; sets as bit masks over [n].
inline bool disj(std::uint64_t a, std::uint64_t b) { return (a & b) == 0; }
// INDEX_n(b, k) = b_k (k 0-based).
inline bool index_fn(std::uint64_t b, int k) { return (b >> k) & 1U; }

}  // namespace attnbounds
