// Theorem 7 (math §5.2): Match3 needs mpH ≥ cN / log log N [paper statement; reduction ours].
//
// Reduction from DISJ_n, N = 2n+1.  Token 0 holds a public value t; Alice's token j ∈ [n] holds
// (j + s) mod M if j ∈ A else the dummy d; Bob's token n+j holds (−t − j − s) mod M if j ∈ B
// else d.  For j ∈ A ∩ B the pair (Alice j, Bob j) sums with t to 0, so Match3(X)_0 = 1; the
// parameters (M, t, s, d) are searched so that no other pair ever does (literal Match3), and
// all 4^n instances are verified with the ground truth of tasks.hpp before use.
//
// Protocol under tiled:<fmt>:T: the sequence is cut into two blocks, {token 0} ∪ Alice and Bob,
// each cut into tiles of T consecutive tokens.  Per head, each tile's softmax numerator
// Σ exp(s_j) v_j and denominator Σ exp(s_j) (no data-dependent shift) are rounded to the format;
// tiles are combined exactly and the quotient is rounded; the layer output is the exact sum of
// the heads.  Bob's message = his tiles' rounded (numerator, denominator) for every head.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/verdict.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"

namespace attnbounds {

struct Match3DisjReduction {
  int n = 0, M = 0, t = 0, s = 0, dummy = 0;
};

// Token values of the instance (A, B) (bit j-1 of a mask = element j).
std::vector<int> match3_disj_layout(const Match3DisjReduction& r, std::uint64_t A, std::uint64_t B);
// Necessary and sufficient pair test: no value pair that can co-occur in a disjoint instance
// sums with t to 0 mod M (intersecting instances match by construction).
bool match3_disj_pairs_ok(const Match3DisjReduction& r);
// Verifies all 4^n instances with tasks.hpp match3: Match3(X)_0 = 1 iff A ∩ B ≠ ∅.
// Returns the number of instances that disagree (0 = verified); first_bad receives one.
std::uint64_t verify_match3_disj(const Match3DisjReduction& r, unsigned threads,
                                 std::pair<std::uint64_t, std::uint64_t>* first_bad = nullptr);
// Smallest M ≥ N+1 first, then t, s, d lexicographically; each candidate passing the pair test
// is verified exhaustively.  nullopt if none up to M = max_M.
std::optional<Match3DisjReduction> find_match3_disj_reduction(int n, unsigned threads, int max_M,
                                                              std::uint64_t* candidates = nullptr);

// One-layer H-head standard attention model for the target token 0 (value width d' = 1).
struct TiledModelSpec {
  std::string family = "random";  // "trig" | "random"
  int m = 2, H = 1;
  std::uint64_t seed = 1;
  Rational c = Rational(4);  // trig temperature
};

struct TiledMatch3Model {
  // Per head h and residue x: score of token 0's query against key x, and value x, exact
  // rationals (entries rounded to the format before the dot product).
  std::vector<std::vector<Rational>> score, value;
  Format format;
  int tile = 1;
  int H = 1, m = 1;
};
TiledMatch3Model make_tiled_model(const TiledModelSpec& spec, const Match3DisjReduction& r, const Semantics& sem);

// Forward output of token 0 (exact rational: the sum over heads of each head's rounded output).
Rational tiled_forward_token0(const TiledMatch3Model& model, const std::vector<int>& x, int n);

struct Match3DisjOptions {
  int n = 3;
  TiledModelSpec model;
  Semantics semantics;  // tiled:<fmt>:T; T = 0 means one tile per party
  bool dump = false;    // report every instance's layout (4^n of them)
  bool force = false;
};

// A message collision turned into two inputs with identical forward outputs and different
// ground truth (sets as 1-based element lists).
struct Match3DisjCollision {
  std::vector<int> x1, x2;
  std::vector<int> alice_set, bob_set1, bob_set2;
  Rational output1, output2;
  int truth1 = 0, truth2 = 0;
};

struct Match3DisjLayout {
  std::vector<int> A, B, x;  // A, B: 1-based elements
  int match3_token1 = 0;
};

// The result of `lower match3-disj` (math §7 fields; the application renders them).
struct Match3DisjResult {
  int n = 0;
  TiledModelSpec model;
  std::string semantics;
  Match3DisjReduction reduction;
  std::string search_order;
  std::uint64_t candidates_tried = 0;
  std::uint64_t instances = 0;
  bool reduction_verified = false;
  std::uint64_t protocol_mismatches = 0;
  std::string tiles;
  std::uint64_t distinct_messages = 0, sets = 0;
  long bits_per_message = 0;
  std::string bits_formula;
  int bits_needed = 0;
  // Proved facts only: both are false / empty unless the reduction and protocol are verified and
  // the width encodes every distinct message (width_consistent).
  bool pigeonhole_forces_collision = false;
  bool width_consistent = false;
  std::string bound_proved, verdict_meaning;
  std::optional<std::string> error;
  std::optional<Match3DisjCollision> collision;
  std::vector<Match3DisjLayout> layouts;  // when dump
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};
// Throws ConfigError on a bad field, SizeLimitError above the size guard unless force.
Match3DisjResult lower_match3_disj(const Match3DisjOptions& opts, unsigned threads);

// The grid: (m, p, H) over float:p formats for a fixed n; one row per combination.
struct Match3DisjGridRow {
  int m = 0, p = 0, H = 0;
  long message_bits = 0;
  int n = 0;
  std::uint64_t distinct_messages = 0, sets = 0;
  Verdict verdict = Verdict::Undecided;
};
struct Match3DisjGrid {
  int n = 0;
  std::string model_family;
  std::uint64_t seed = 0;
  std::string semantics;
  std::vector<Match3DisjGridRow> rows;
  double seconds = 0;
  unsigned threads = 0;
};
Match3DisjGrid lower_match3_disj_grid(const Match3DisjOptions& base, const std::vector<int>& ms,
                                      const std::vector<int>& ps, const std::vector<int>& Hs, unsigned threads);

}  // namespace attnbounds
