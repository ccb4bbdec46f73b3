// Theorem 3 (paper statement): qSA with m = O(d' + q) at unbounded precision.
// Construction [ours, via the moment curve; math §4.2]:
//   keys u_j = (j, j², …, j^{2q}) (1-based j), p_S(t) = Π_{k∈S}(t − k)² = Σ_r a_r t^r,
//   query −c·(a_1, …, a_{2q}), so ⟨query, u_j⟩ = c·(a_0 − p_S(j)): equal on S, at least c below
//   off S (p_S(j) ≥ 1 at integer nodes).  Gap 1.  m = d' + 2·2q (z, query part, key part).
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

#include "certify/qsa_checker.hpp"
#include "model/qsa_embedding.hpp"

namespace attnbounds {

class QsaCyclicEmbedding : public QsaEmbedding, public QsaRowSource {
 public:
  explicit QsaCyclicEmbedding(const QsaEmbeddingParams& p);
  std::string name() const override { return "qsa-cyclic"; }
  int N() const override { return N_; }
  int q() const override { return q_; }
  int d() const override { return d_; }
  int m() const override { return d_ + 4 * q_; }
  const Mat<Rational>& keys() const override { return keys_; }
  std::vector<Rational> query(const std::vector<int>& S) const override;
  Rational temperature() const override { return c_; }

  std::string row_pruning() const override;
  std::unique_ptr<QsaRowWorker> exact_row_worker() const override;
  std::unique_ptr<QsaQueryWorker> query_worker() const override;

  // Coefficients a_0..a_{2q} of p_S (S sorted, 0-based; the nodes are S[i] + 1).
  static std::vector<Integer> polynomial(const std::vector<int>& S);
  // Default temperature (gap 1), math §4.2, rounded up to 2^-20.
  static Rational default_temperature(int N, int q, const Rational& eps);

 private:
  int N_, q_, d_;
  Rational c_;
  Mat<Rational> keys_;
};

// ---- Geometry cross-checks [fact]: conv(u_1..u_N) is the cyclic polytope C(N, 2q). ----

// Every q-subset spans a face, certified in exact integers by the supporting polynomial p_S:
// ⟨w_S, u_j⟩ = a_0 on S and ≤ a_0 − 1 off S.  Returns the number of subsets verified; throws
// std::logic_error naming the subset if one fails.
std::uint64_t verify_q_neighbourly(int N, int q);
// Facets of C(n, d) by Gale's evenness criterion (d-subsets, 0-based, lexicographic).
std::vector<std::vector<int>> gale_facets(int n, int d);
// Closed-form facet count of C(n, 2k): n/(n−k)·C(n−k, k).
std::uint64_t cyclic_facet_count(int n, int k);
// Every q-subset lies in some Gale facet of C(N, 2q) (independent of the polynomial argument).
bool gale_q_neighbourly(int N, int q);
// The points u_1..u_N in lrs V-representation format.
void write_lrs(std::ostream& os, int N, int q);

}  // namespace attnbounds
