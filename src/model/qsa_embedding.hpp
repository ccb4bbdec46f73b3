// The common shape of a qSA attention construction (Theorems 2 and 3), shared by the upper-bound
// checkers and by the Theorem 4 protocol simulation.
//
// In both constructions the score of key j for token i depends only on y_i = S and on j:
// score_ij = ⟨query(S), key_j⟩ with the temperature already inside the query, and the value of
// token j is z_j (value width d').  φ(x_i) = (z_i, query-part, key-part), so m counts all three.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
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
  virtual int m() const = 0;  // embedding dimension as reported (math §1.1)
  // Keys, one row per token (N × k), exact.
  virtual const Mat<Rational>& keys() const = 0;
  // Query of a token whose subset is S (sorted, 0-based), temperature included, exact (length k).
  virtual std::vector<Rational> query(const std::vector<int>& S) const = 0;
  // The temperature actually used (params.c in reports).
  virtual Rational temperature() const = 0;
};

// Parameters shared by the qSA constructions; a construction ignores what it does not use.
struct QsaEmbeddingParams {
  static constexpr FieldLimits kN{1, 100000}, kD{1, 4096}, kMk{1, 4096};  // q in 1..N; mk 0 = default
  int N = 8, q = 2, d = 1;
  Rational eps = Rational(1, 10);
  std::optional<Rational> c;  // temperature override; default = the construction's own
  int mk = 0;                 // qsa-rip: key width m' (0 = construction's default)
  std::uint64_t seed = 1;
  std::string strategy = "lp";  // qsa-rip: lp | least-norm
  // Throws ConfigError naming the field: N in 1..100000, q in 1..N, d in 1..4096, eps in (0, 1),
  // c >= 0, mk 0 or 1..4096, strategy lp or least-norm.  Every construction's constructor calls it.
  void validate() const;
};

// Constructions register a factory under their claim name ("qsa-cyclic", "qsa-rip") so that
// other code (the Theorem 4 protocol) can build them without a link-time dependency.
using QsaEmbeddingFactory = std::function<std::unique_ptr<QsaEmbedding>(const QsaEmbeddingParams&)>;
void register_qsa_embedding(const std::string& name, QsaEmbeddingFactory factory);
// Throws std::invalid_argument naming the known constructions when `name` is not registered.
std::unique_ptr<QsaEmbedding> make_qsa_embedding(const std::string& name, const QsaEmbeddingParams& p);
std::vector<std::string> qsa_embedding_names();

}  // namespace attnbounds
