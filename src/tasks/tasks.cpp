#include "tasks/tasks.hpp"

#include <stdexcept>
#include <string>

namespace attnbounds {

Mat<Rational> qsa(const Mat<Rational>& z, const std::vector<std::vector<int>>& y) {
  const std::size_t N = z.rows(), d = z.cols();
  if (y.size() != N) throw std::invalid_argument("qsa: y must have one subset per token");
  Mat<Rational> out(N, d, Rational(0));
  for (std::size_t i = 0; i < N; ++i) {
    const Rational inv_q(1, static_cast<long>(y[i].size()));
    for (int j : y[i])
      for (std::size_t c = 0; c < d; ++c) out(i, c) += z(static_cast<std::size_t>(j), c);
    for (std::size_t c = 0; c < d; ++c) out(i, c) *= inv_q;
  }
  return out;
}

void validate_qsa_input(const Mat<Rational>& z, const std::vector<std::vector<int>>& y, int q) {
  const std::size_t N = z.rows();
  if (y.size() != N) throw std::invalid_argument("y: expected " + std::to_string(N) + " subsets, got " + std::to_string(y.size()));
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<int>(y[i].size()) != q)
      throw std::invalid_argument("y of token " + std::to_string(i + 1) + ": expected exactly q=" + std::to_string(q) + " indices");
    std::vector<bool> seen(N, false);
    for (int j : y[i]) {
      if (j < 0 || j >= static_cast<int>(N))
        throw std::invalid_argument("y of token " + std::to_string(i + 1) + ": index out of range 1.." + std::to_string(N));
      if (seen[static_cast<std::size_t>(j)])
        throw std::invalid_argument("y of token " + std::to_string(i + 1) + ": repeated index " + std::to_string(j + 1));
      seen[static_cast<std::size_t>(j)] = true;
    }
    Rational norm2 = 0;
    for (std::size_t c = 0; c < z.cols(); ++c) norm2 += z(i, c) * z(i, c);
    if (norm2 > 1) throw std::invalid_argument("z of token " + std::to_string(i + 1) + ": outside the unit ball");
  }
}

namespace {
std::vector<int> residue_counts(const std::vector<int>& x, int M) {
  if (M < 2) throw std::invalid_argument("M: must be >= 2");
  std::vector<int> count(static_cast<std::size_t>(M), 0);
  for (int v : x) count[static_cast<std::size_t>(((v % M) + M) % M)]++;
  return count;
}
}  // namespace

std::vector<std::uint8_t> match2(const std::vector<int>& x, int M) {
  auto count = residue_counts(x, M);
  std::vector<std::uint8_t> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    int v = ((x[i] % M) + M) % M;
    out[i] = count[static_cast<std::size_t>((M - v) % M)] > 0;
  }
  return out;
}

std::vector<std::uint8_t> match3(const std::vector<int>& x, int M, bool distinct) {
  auto count = residue_counts(x, M);
  std::vector<int> present;
  for (int r = 0; r < M; ++r)
    if (count[static_cast<std::size_t>(r)] > 0) present.push_back(r);
  std::vector<std::uint8_t> out(x.size(), 0);
  if (!distinct) {
    // Residues reachable as a sum of two present values (repetition allowed).
    std::vector<std::uint8_t> pair_sum(static_cast<std::size_t>(M), 0);
    for (int a : present)
      for (int b : present) pair_sum[static_cast<std::size_t>((a + b) % M)] = 1;
    for (std::size_t i = 0; i < x.size(); ++i) {
      int v = ((x[i] % M) + M) % M;
      out[i] = pair_sum[static_cast<std::size_t>((M - v) % M)];
    }
    return out;
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    int v = ((x[i] % M) + M) % M;
    for (int a : present) {
      int b = (((-v - a) % M) + M) % M;
      int avail_a = count[static_cast<std::size_t>(a)] - (a == v ? 1 : 0);
      int avail_b = count[static_cast<std::size_t>(b)] - (b == v ? 1 : 0) - (b == a ? 1 : 0);
      if (avail_a >= 1 && avail_b >= 1) { out[i] = 1; break; }
    }
  }
  return out;
}

void match2_into(const int* x, int N, int M, std::uint8_t* present, std::uint8_t* out) {
  for (int j = 0; j < N; ++j) present[x[j]] = 1;
  for (int i = 0; i < N; ++i) out[i] = present[(M - x[i]) % M];
  for (int j = 0; j < N; ++j) present[x[j]] = 0;
}

void match3_into(const int* x, int N, int M, std::uint8_t* present, std::uint8_t* out) {
  for (int j = 0; j < N; ++j) present[x[j]] = 1;
  for (int i = 0; i < N; ++i) {
    out[i] = 0;
    for (int j = 0; j < N && !out[i]; ++j) out[i] = present[(2 * M - x[i] - x[j]) % M];  // x_j1 = x_j, x_j2 the rest
  }
  for (int j = 0; j < N; ++j) present[x[j]] = 0;
}

}  // namespace attnbounds
