// Theorem 11 (SPEC §5.4): recurrent (streaming) models need Ω(N) bits of memory for qSA.
// Paper: "(N−1)/2 bits".  Reduction ours, from one-way INDEX_n with n = N−1: tokens 1..n carry
// z_j = (2b_j − 1)e_1 (Alice), the last token has y_N = {k} (Bob), so qSA(X)_N = ±e_1 = b_k.
// A one-pass left-to-right model keeping S bits between tokens is a one-way protocol whose
// message is its state after token n: it needs 2^n distinct states, S ≥ n = N−1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/matrix.hpp"
#include "numeric/format.hpp"
#include "numeric/rational.hpp"
#include "report/result.hpp"

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
  virtual long state_bits() const = 0;  // S: bits kept between tokens
  virtual State initial() const = 0;
  virtual State step(const State& h, const Token& x) const = 0;
  virtual Rational readout(const State& h, const Token& last) const = 0;
  // Runs the model on a whole input: the output at the last token.
  Rational run(const IndexInput& X) const;
};

// Quantised linear recurrence h_t = round_fmt(A h_{t−1} + B (z_t, 1)), r state entries of w bits.
// "shift": A shifts the state down by one, B writes z_t into entry 0; readout entry n−1−k (the
//   token k's value if still held, else 0).  r = n, fmt = fixed:2.0 passes (S = 2n bits).
// "random": seeded small rational A, B; readout = the first-preimage decoder (below).
std::unique_ptr<StreamingModel> make_linear_recurrence(int n, int r, const Format& fmt, const std::string& kind,
                                                       std::uint64_t seed);
// Lookup-table automaton with S bits (2^S states):
// "window": s' = (2s + b_t) mod 2^S, readout bit (n−1−k) if it is still in the window, else −1.
//   S = n is the tight n-bit streaming algorithm (passes every instance).
// "random": seeded random transition table; readout = the first-preimage decoder.
std::unique_ptr<StreamingModel> make_automaton(int n, int S, const std::string& kind, std::uint64_t seed);

struct RnnIndexOptions {
  int N = 9;
  Rational eps = Rational(1, 2);  // accuracy claimed; any eps < 1 is refuted by a collision
  bool force = false;
  unsigned threads = 1;
};

json run_rnn_index(const RnnIndexOptions& opts, const StreamingModel& model, const json& params);

// The model classes the bound covers (printed in the output and in docs/lower.md).
extern const char* const kModelClassNote;

}  // namespace attnbounds::rnn_index
