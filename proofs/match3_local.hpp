// Match3 variants that ONE standard attention unit computes (math §4.5) [paper: "assumptions
// about embedding structure or locality"; the exact definitions are ours].
//
// match3-hinted: token i carries y_i ∈ ([N] choose q); Match3-hinted(X)_i = 1 iff
//   ∃ j1, j2 ∈ y_i (j1 = j2 allowed) with x_i + x_j1 + x_j2 ≡ 0 (mod M).
// match3-window: y_i = the w positions after i, cyclically (q = w).
//
// Construction [ours]: one unit whose attention row of token i is the qSA row for S = y_i.
//   keys     u_j = (j, j², …, j^{2q})                       (moment curve, positions 1..N)
//   query    w_S = −c·(a_1, …, a_{2q}), Π_{k∈S}(t − k)² = Σ_r a_r t^r
//   score    ⟨w_S, u_j⟩ = c·(a_0 − p_S(j)): c·a_0 on S, ≤ c·(a_0 − 1) off S (gap c)
//   value    enc(x_j) = (x_j, x_j², …, x_j^q)
// ψ sees x_i (residual) and out_i ≈ (1/q)(P_1, …, P_q), P_k = Σ_{j∈S} x_j^k.  It rounds q·out_k
// to the nearest integer, recovers the multiset of candidates from the power sums (Newton's
// identities, then the roots of Π(t − x_j) in [M]), and checks all pairs.
// m = 1 (x_i) + q (value slot) + 2q (key) + 2q (query) = 5q + 1.
// This is a self-contained minimal key/query construction (the shared qsa-cyclic factory is not
// required); it is the moment-curve construction of math §4.2.
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "core/field_checks.hpp"
#include "core/verdict.hpp"
#include "core/semantics_policy.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

struct Match3LocalConfig {
  static constexpr FieldLimits kN{2, 24}, kM{2, 4096}, kQ{1, 6};  // q (or w) also at most N (N − 1 for w)
  // The check's arith bound is relative (float:P) or absolute (fixed), not both: no hardware
  // formats under arith.  A forward pass (eval) takes every format.
  static constexpr SemanticsSupport kSemantics{true, true, true, false, false, 1};
  bool window = false;  // false: hinted (all q-subsets); true: window of w = q positions
  int N = 8, M = 8, q = 2;
  std::optional<Rational> c;
  Semantics semantics;
};

// Ground truth of the hinted task (y[i] holds 0-based indices).
std::vector<std::uint8_t> match3_hinted_truth(const std::vector<int>& x, const std::vector<std::vector<int>>& y, int M);
// The window hints of token i: i+1, …, i+w (mod N), 0-based.
std::vector<std::vector<int>> window_hints(int N, int w);

// Multiset (sorted) of q values in [0, M) with the given power sums P_1..P_q, or nullopt.
std::optional<std::vector<int>> decode_power_sums(const std::vector<Integer>& power_sums, int M);

// Default temperature: integer c with ((N−q)/q)e^{−c} ≤ ε/(1−ε), ε = 1/(4q(M−1)^q), plus 1.
Rational match3_local_default_temperature(int N, int M, int q);

// A concrete input on which ψ is wrong, found and confirmed by a direct forward pass.
// Indices are 0-based (y[i] the hint set of token i).
struct Match3LocalWitness {
  std::vector<int> x;
  std::vector<std::vector<int>> y;
  int token = 0;
  int model = 0, truth = 0;
};

// The certified check (math §7 fields; the application renders them).
struct Match3LocalResult {
  bool window = false;
  int N = 0, M = 0, q = 0;
  Rational c;
  std::string claim, semantics;
  int m = 0;
  std::string m_formula, reduction, worst_meaning;
  std::uint64_t rows = 0, decoder_multisets = 0, decoder_failures = 0, fallback_rows = 0;
  double worst_lower = 0, worst_upper = 0;   // the largest decode-error bound over the rows
  std::vector<int> worst_hints;             // its row (0-based positions)
  std::optional<Match3LocalWitness> witness;  // set when the verdict is fails
  Verdict verdict = Verdict::Undecided;
  double seconds = 0;
  unsigned threads = 0;
};

struct Match3LocalToken {
  int x = 0;
  std::vector<int> y;  // 0-based
  int model = 0, truth = 0;
  std::vector<int> decoded;  // ψ's decoded candidates
  bool decided = true;
};
struct Match3LocalEval {
  bool window = false;
  int N = 0, M = 0, q = 0;
  Rational c;
  std::string semantics;
  std::vector<Match3LocalToken> tokens;
  int errors = 0;
};

// The unit the certified checker runs on, from either source: the construction (built from
// N, M, q, c) or a model file of class match3-local (docs/model-format.md).  The structure the
// checker's reduction needs is in the type: keys a table over positions j (N × K), the query of a
// token a function of its hint set alone, values a table over token values (M × q, ψ's power
// encoding), ψ the power-sum decoder with scale q (it sees x_i).  Entries are exact; the
// semantics rounds them as stored values.
struct Match3LocalUnit {
  static constexpr int kMaxKeyWidth = 64;
  using QueryOf = std::function<std::vector<Rational>(const std::vector<int>& hints)>;  // hints 0-based, sorted
  bool window = false;
  int N = 0, M = 0, q = 0, key_width = 0;
  std::vector<Rational> keys;    // N × key_width, row-major
  std::vector<Rational> values;  // M × q: row x is enc(x)
  QueryOf query_of;              // K entries per hint set
};
// The construction's unit (exact, unrounded).
Match3LocalUnit match3_local_construction_unit(const Match3LocalConfig& cfg, const Rational& c);

// Throws ConfigError on a bad field, SizeLimitError above the size guard unless force.
Match3LocalResult check_match3_local(const Match3LocalConfig& cfg, unsigned threads, bool force);
// y: 0-based hint sets, one per token (ignored for the window variant).
Match3LocalEval eval_match3_local(const Match3LocalConfig& cfg, const std::vector<int>& x,
                                  const std::vector<std::vector<int>>& y);
// The same checker and forward pass on a unit from outside (its shape from the unit; result.c = 0
// and m counts the unit's own widths).
Match3LocalResult check_match3_local_unit(const Match3LocalUnit& unit, const Semantics& semantics, unsigned threads, bool force);
Match3LocalEval eval_match3_local_unit(const Match3LocalUnit& unit, const Semantics& semantics, const std::vector<int>& x,
                                       const std::vector<std::vector<int>>& y);

}  // namespace attnbounds
