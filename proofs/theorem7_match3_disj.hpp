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
//
// The per-instance decisions are filtered sweeps (core/filtered_sweep.hpp) over the 4^n
// instances (A, B): verify_match3_disj (the reduction's ground truth) and the protocol check
// (simulated protocol output == forward pass).  Both are exact (integers, rationals), so the
// fast evaluator is the exact decision and never falls back; the witness of part 4 (a message
// collision) is re-verified by two exact forward passes.  The reduction search, the certified
// rounding of tile sums (round_certified, the rounding layer's own refinement) and message
// counting are not per-instance decisions and stay outside the sweep.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
#include "core/semantics_policy.hpp"
#include "core/verdict.hpp"
#include "modelfile/exact_real.hpp"
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
// The same search at one given M (a model file fixes M): t, s, d lexicographically.  A (t, s)
// whose values already fail the pair test without the dummy is skipped with all its dummies;
// `candidates` still counts every (t, s, d) up to the one returned, in that order.  Every
// M ≥ 2n+4 has one ((t, s, d) = (1, 1, 0): the sums t + a + b then lie strictly between −M and M
// and are 0 only for Alice j with Bob j); below 2n+4 it depends on n (match3_disj_small_M).
std::optional<Match3DisjReduction> find_match3_disj_reduction_at(int n, int M, unsigned threads,
                                                                 std::uint64_t* candidates = nullptr);
// The M in 2..2n+3 that admit a reduction (searched): with every M ≥ 2n+4, the M a model file may have.
std::vector<int> match3_disj_small_M(int n, unsigned threads);

// One-layer H-head standard attention model for the target token 0 (value width d' = 1).
struct TiledModelSpec {
  std::string family = "random";  // "trig" | "random"
  int m = 2, H = 1;
  std::uint64_t seed = 1;
  Rational c = Rational(4);  // trig temperature
};

struct TiledMatch3Model {
  // Per head h and residue x: score of token 0's query against key x, and value x (d entries,
  // value[h][row·d + c]), exact rationals (entries rounded to the format before the dot product).
  std::vector<std::vector<Rational>> score, value;
  // Token 0's residual (d entries, added exactly to the output), empty for none.
  std::vector<Rational> residual;
  // Residue x → its row of score and value (a table unit keeps only the residues the reduction
  // places: M may be 2^20); empty: row x.
  std::vector<int> row;
  Format format;
  int tile = 1;
  int H = 1, m = 1, d = 1;
};
TiledMatch3Model make_tiled_model(const TiledModelSpec& spec, const Match3DisjReduction& r, const Semantics& sem);

// The random family's entries before the dot product, per head: token 0's query (m entries) and
// per residue x a key (key[x·m + c]) and a scalar value, each in the format.  make_tiled_model
// scores ⟨query, key[x]⟩ from these; a table unit with these rows is the same model.
struct TiledRandomHead {
  std::vector<Rational> query, key, value;
};
std::vector<TiledRandomHead> tiled_random_tables(const TiledModelSpec& spec, int M, const Format& format);

// A one-head attention unit whose query, key, value and (optional) residual are tables over the
// token value: the unit of a model file of class match2-table without positional tables.  N and
// M are the unit's own; the reduction runs at N = 2n+1 and this M.
struct Match3DisjTables {
  int N = 0, M = 0, k = 0, d = 0;
  std::vector<ExactReal> query, key;      // M × k, row-major
  std::vector<ExactReal> value, residual;  // M × d; residual empty when the unit has none
};
// The unit under sem (tiled): every table entry the reduction's residues use is rounded to the
// format; score(x) = ⟨query[t], key[x]⟩ exactly.  Only the residues the reduction places have a
// row (TiledMatch3Model::row).
TiledMatch3Model make_tiled_model_of_tables(const Match3DisjTables& tables, const Match3DisjReduction& r,
                                            const Semantics& sem);

// Forward output of token 0: per component, the sum over heads of each head's rounded quotient,
// plus the residual; exact rationals, d of them.
std::vector<Rational> tiled_output_token0(const TiledMatch3Model& model, const std::vector<int>& x, int n);
// The same for d = 1 (every built-in model), as one number.
Rational tiled_forward_token0(const TiledMatch3Model& model, const std::vector<int>& x, int n);

struct Match3DisjOptions {
  static constexpr FieldLimits kN{1, 12};
  static constexpr SemanticsSupport kSemantics = kTiledOnly;  // the protocol of math §5.2
  int n = 3;  // ignored with tables: n = (N − 1)/2 of the tables
  TiledModelSpec model;
  std::optional<Match3DisjTables> tables;  // the model under test instead of the built-in family
  Semantics semantics;  // tiled:<fmt>:T; T = 0 means one tile per party
  bool dump = false;    // report every instance's layout (4^n of them)
  bool force = false;
};

// A message collision turned into two inputs with identical forward outputs and different
// ground truth (sets as 1-based element lists).
struct Match3DisjCollision {
  std::vector<int> x1, x2;
  std::vector<int> alice_set, bob_set1, bob_set2;
  std::vector<Rational> output1, output2;  // token 0's output, d entries each
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
  bool from_tables = false;  // the model is Match3DisjOptions::tables (model.H = 1, model.m = k)
  int d = 1;                 // value width d'
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
// Throws ConfigError on a bad field (with tables, field "model": N not 2n+1 with n in 1..12, an
// inconsistent table shape, or an M that admits no reduction), SizeLimitError above the size
// guard unless force.
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
