// The common shape of a qSA attention construction (Theorems 2 and 3), shared by the upper-bound
// checkers and by the Theorem 4 protocol simulation.
//
// In both constructions the score of key j for token i depends only on y_i = S and on j:
// score_ij = ⟨query(S), key_j⟩ with the temperature already inside the query, and the value of
// token j is z_j (value width d').  φ(x_i) = (z_i, query-part, key-part), so m counts all three.
#pragma once
#include <string>
#include <vector>

#include "model/matrix.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

class QsaEmbedding {
 public:
  virtual ~QsaEmbedding() = default;
  virtual std::string name() const = 0;  // "qsa-cyclic" | "qsa-rip"
  virtual int N() const = 0;
  virtual int q() const = 0;
  virtual int d() const = 0;  // d', the value width
  virtual int m() const = 0;  // embedding dimension as reported (SPEC §1.1)
  // Keys, one row per token (N × k), exact.
  virtual const Mat<Rational>& keys() const = 0;
  // Query of a token whose subset is S (sorted, 0-based), temperature included, exact (length k).
  virtual std::vector<Rational> query(const std::vector<int>& S) const = 0;
};

}  // namespace attnbounds
