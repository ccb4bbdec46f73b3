// Theorem 11 (math §5.4): recurrent (streaming) models need Ω(N) bits of memory for qSA.
// Paper: "(N−1)/2 bits".  Reduction ours, from one-way INDEX_n with n = N−1: tokens 1..n carry
// z_j = (2b_j − 1)e_1 (Alice), the last token has y_N = {k} (Bob), so qSA(X)_N = ±e_1 = b_k.
// A one-pass left-to-right model keeping S bits between tokens is a one-way protocol whose
// message is its state after token n: it needs 2^n distinct states, S ≥ n = N−1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
#include "model/matrix.hpp"
#include "numeric/format.hpp"
#include "core/verdict.hpp"
#include "numeric/rational.hpp"

namespace attnbounds::rnn_index {

// One token as the streaming model reads it: z (d' = 1 here), y (0-based), position (0-based).
struct Token {
  Rational z;
  std::vector<int> y;
  int position = 0;
};

// The qSA input for INDEX instance (b, k): n = N−1 data tokens and the query token.
struct IndexInput {
  std::vector<Token> tokens;  // N tokens
};
IndexInput make_index_instance(int n, std::uint64_t b, int k);

using State = std::vector<Rational>;

// A one-pass model: state after each token, output at the last token from (state, last token).
class StreamingModel {
 public:
  virtual ~StreamingModel() = default;
  virtual std::string name() const = 0;
  // S: bits of the state kept between tokens, for a fixed-width code of every state in `reached`
  // (the states Alice's prefixes reach): floating-point entries count the exponents they use.
  virtual long state_bits(const std::vector<State>& reached) const = 0;
  virtual State initial() const = 0;
  virtual State step(const State& h, const Token& x) const = 0;
  virtual Rational readout(const State& h, const Token& last) const = 0;
  // Runs the model on a whole input: the output at the last token.
  Rational run(const IndexInput& X) const;
};

// Quantised linear recurrence h_t = round_fmt(A h_{t−1} + B (z_t, 1)), r state entries of w bits.
// Throws ConfigError on "recurrence" (shift | random) or, while running, on "state_format" when
// a fixed-point state entry leaves the format's range.
// "shift": A shifts the state down by one, B writes z_t into entry 0; readout entry n−1−k (the
//   token k's value if still held, else 0).  r = n, fmt = fixed:2.0 passes (S = 2n bits).
// "random": seeded small rational A, B; readout = the first-preimage decoder (below).
std::unique_ptr<StreamingModel> make_linear_recurrence(int n, int r, const Format& fmt, const std::string& kind,
                                                       std::uint64_t seed);
// Lookup-table automaton with S bits (2^S states); ConfigError on "automaton" (window | random):
// "window": s' = (2s + b_t) mod 2^S, readout bit (n−1−k) if it is still in the window, else −1.
//   S = n is the tight n-bit streaming algorithm (passes every instance).
// "random": seeded random transition table; readout = the first-preimage decoder.
std::unique_ptr<StreamingModel> make_automaton(int n, int S, const std::string& kind, std::uint64_t seed);

struct RnnIndexOptions {
  static constexpr FieldLimits kN{2, 31};
  int N = 9;
  Rational eps = Rational(1, 2);  // accuracy claimed; any eps < 1 is refuted by a collision
  unsigned threads = 1;
  // 2^(N−1)·(N−1) instances (b, k).
  std::uint64_t instances() const { return (std::uint64_t{1} << (N - 1)) * static_cast<std::uint64_t>(N - 1); }
  // Throws ConfigError: N in 2..31, eps in (0, 1).
  void validate() const;
};

enum class RnnWitnessKind { StateCollision, Inaccurate, WorstInstance };

// The reported instance(s): two prefixes b ≠ b' leaving the model in one state (queried at a k
// where they differ), the first inaccurate instance, or the worst instance.
struct RnnIndexWitness {
  RnnWitnessKind kind = RnnWitnessKind::WorstInstance;
  std::vector<std::uint64_t> b;  // one, or two for a collision (bit j = z_j > 0)
  int k = 0;                     // 0-based queried position
  std::vector<IndexInput> inputs;
  std::vector<Rational> model_outputs, true_outputs, errors;  // per input
};

struct RnnIndexResult {
  Verdict verdict = Verdict::Undecided;
  std::string model;
  int n = 0;  // N − 1 data tokens
  long state_bits = 0;
  std::uint64_t instances = 0, reduction_verified = 0, states_distinct = 0, states_needed = 0, instances_within_eps = 0;
  Rational eps;
  Rational worst_error;  // exact: the witness's (larger) error
  RnnIndexWitness witness;
};

// Validates `opts`, then runs parts 1–4 of math §5.4 on the model.
RnnIndexResult run_rnn_index(const RnnIndexOptions& opts, const StreamingModel& model);

// The model classes the bound covers (printed in the output and in docs/lower.md).
extern const char* const kModelClassNote;

}  // namespace attnbounds::rnn_index
