// Theorem 4 (math §5.1): a one-unit attention model that 1/(2q)-approximates qSA needs m·p ≥ c·q.
// Reduction from DISJ_q [paper statement; reduction reconstructed]: Alice's set a chooses the
// subset y of token 2q+1, Bob's set b chooses the signs of z on tokens 1..2q; qSA at token 2q+1
// is (−1 + 2|a∧b|/q)·e_1.  Under embed:<fmt> the model is a one-way protocol whose message is
// Alice's rounded embedding (m·w bits): two colliding sets a ≠ a' force an error ≥ 1/q.
//
// The accuracy check is a filtered sweep (core/filtered_sweep.hpp), its four parts being:
//   1. reduction: the 4^q instances (a, b) (cases: one a with a block of up to 64 b);
//   2. fast evaluator: the attention row of Alice's token in double intervals, from token rows
//      memoised by token input (it also checks, per instance, that qSA decides DISJ and that
//      Bob's side of the protocol is this same computation);
//   3. exact evaluator: the instance's exact query/key/value matrices through MPFI at the
//      rung's bits, with Bob's row recomputed from Alice's message and compared;
//   4. witness: the reported instance (or both inputs of a collision) by a direct forward pass
//      along the sweep's ladder.
// Message counting and the collision search are not per-instance decisions and run after it.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
#include "core/semantics_policy.hpp"
#include "model/matrix.hpp"
#include "model/qsa_embedding.hpp"
#include "numeric/format.hpp"
#include "core/verdict.hpp"
#include "numeric/rational.hpp"

namespace attnbounds::qsa_disj {

// One qSA input: z is N×d', y[i] the sorted 0-based subset of token i.
struct QsaInput {
  Mat<Rational> z;
  std::vector<std::vector<int>> y;
};

// The reduction instance for sets a, b ⊆ [q] (bit i = element i+1).  Token 2q (0-based) is Alice's.
QsaInput make_instance(int q, int N, int d, std::uint64_t a, std::uint64_t b);
inline int alice_token(int q) { return 2 * q; }

// A one-unit attention model, token-wise: the embedding φ(x_i) (exact, before rounding) and the
// query, key and value that a (rounded) embedding determines.  ψ is the identity (d_out = d').
class TokenwiseModel {
 public:
  virtual ~TokenwiseModel() = default;
  virtual std::string name() const = 0;
  virtual int m() const = 0;  // embedding width as the model reports it
  // φ(x_i): depends on token i only (its z_i, y_i and position i).
  virtual std::vector<Rational> embed(const QsaInput& X, int i) const = 0;
  virtual void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
                   std::vector<Rational>& value) const = 0;
};

// Seeded random embedding of width m: φ(x) = G·(z, 1_y, e_i, 1) with small rational entries
// (|φ| ≤ scale), random Q, K (m×m) and V (m×d').  A model in the class, not an approximation of qSA.
std::unique_ptr<TokenwiseModel> make_random_model(int N, int q, int d, int m, std::uint64_t seed,
                                                  const Rational& scale = Rational(1));
// The scale that lets a random embedding use the range of the semantics' format: the largest
// fixed-point value (or 1/2 if that is 0), 1 for float formats and exact semantics.
Rational random_model_scale(const Semantics& sem);
// A qSA construction (Theorems 2, 3): φ(x_i) = (z_i, query(y_i), key_i); score ⟨query, key⟩, value z.
std::unique_ptr<TokenwiseModel> wrap_qsa_embedding(std::shared_ptr<const QsaEmbedding> emb);

struct QsaDisjOptions {
  static constexpr FieldLimits kQ{1, 30}, kD{1, 64};
  static constexpr long long kMaxN = 4096;  // N in 2q+1..kMaxN
  int q = 3, N = 0, d = 1;  // N = 0: 2q+1
  Semantics semantics;      // exact or embed:<fmt>
  static constexpr SemanticsSupport kSemantics = kExactEmbed;
  unsigned threads = 1;
  int tokens() const { return N == 0 ? 2 * q + 1 : N; }
  std::uint64_t instances() const { return std::uint64_t{1} << (2 * q); }  // 4^q pairs (a, b)
  // Throws ConfigError: q in 1..30, N in 2q+1..4096 (or 0), d in 1..64, semantics exact or embed.
  void validate() const;
  // The policy of `semantics` (ConfigError for anything but exact and embed:<fmt>).
  SemanticsPolicy policy() const;
};

// A certified enclosure [lower, upper] of a real number (exact rational endpoints).
struct Enclosure {
  Rational lower, upper;
};

enum class QsaDisjWitnessKind { Collision, Inaccurate, WorstInstance };

// The reported instance(s): a collision (two sets a ≠ a' with equal messages and one b), the
// first inaccurate instance, or the worst instance.  Every output was recomputed by a forward pass.
struct QsaDisjWitness {
  QsaDisjWitnessKind kind = QsaDisjWitnessKind::WorstInstance;
  std::uint64_t a = 0, a_prime = 0, b = 0;  // sets as masks (bit i = element i+1); a_prime: collision only
  int token = 0;                            // Alice's token, 0-based
  std::vector<QsaInput> inputs;             // one, or two for a collision
  std::vector<Rational> message;            // Alice's (rounded) embedding for a
  std::vector<std::vector<Enclosure>> model_outputs;  // per input, per coordinate
  std::vector<std::vector<Rational>> true_outputs;    // per input: qSA at Alice's token
  std::vector<Enclosure> errors;                      // per input: ‖output − qSA‖
};

struct QsaDisjResult {
  Verdict verdict = Verdict::Undecided;
  std::string model;
  int m = 0, q = 0;
  std::uint64_t instances = 0, reduction_verified = 0, protocol_equal_instances = 0;
  std::uint64_t messages_distinct = 0, messages_needed = 0, undecided_instances = 0;
  // Instances the fast (double) evaluator could not settle, handed to the exact one (not in the
  // JSON; for tests of the sweep).
  std::uint64_t fallback_instances = 0;
  std::size_t message_entries = 0;
  // embed only: entries × bits_per_entry, where bits_per_entry = encoded_value_bits of the format
  // over the exponents Alice's messages use (bounded: the format's full width; fixed: I+F;
  // float:P: sign + P-1 fraction bits + the exponent bits those messages actually need).
  std::optional<std::uint64_t> message_bits;
  std::optional<int> bits_per_entry;
  std::optional<int> exponent_bits_seen;      // embed:float only
  std::string width_counting;                 // how bits_per_entry was counted (empty for exact)
  // Proved facts only: width_consistent says messages_distinct <= 2^message_bits (checked); the
  // counting bound is stated (bound_proved non-empty) only for a finite, consistent width, and
  // pigeonhole_forces_collision only when that width is below q bits as well.
  bool width_consistent = false;
  bool pigeonhole_forces_collision = false;
  std::string bound_proved;
  int bits_bound = 0;                         // q
  Rational bound;                             // 1/(2q)
  Enclosure worst_error;                      // the witness's (larger) error
  QsaDisjWitness witness;
};

// Runs parts 1–4 of math §5.1 on the model.  Verdict fails (with the two-input witness) on a
// collision or on any instance with error > 1/(2q); holds only if neither happens.  Validates
// `opts` first.
QsaDisjResult run_qsa_disj(const QsaDisjOptions& opts, const TokenwiseModel& model);

}  // namespace attnbounds::qsa_disj
