// Certified exhaustive checker for the qSA upper bounds (Theorems 2 and 3, math §4.1, §4.2, §6).
//
// Sound reduction (named in every report): keys depend only on the position j and a token's
// query only on its subset y_i, so the attention row of any token is determined by S = y_i;
// enumerating every S ∈ ([N] choose q) covers every input.  For a row with weights a and target
// t = 1_S/q, the worst case over z ∈ (B^{d'})^N is computed, not sampled:
//     sup_z ‖Σ_j (a_j − t_j) z_j‖ = Σ_j |a_j − t_j|,  attained at z_j = sign(a_j − t_j)·e_1.
// Rows are evaluated with DInterval (allocation-free, outward rounded) and re-evaluated with
// MPFI intervals along the generic sweep's precision ladder when the double enclosure
// straddles ε.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certify/min_precision.hpp"
#include "core/semantics_policy.hpp"
#include "core/verdict.hpp"
#include "enumerate/parallel.hpp"
#include "enumerate/progress.hpp"
#include "model/matrix.hpp"
#include "model/qsa_embedding.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// 128-bit integers for exact integer scores (GCC/Clang extension; __extension__ silences -Wpedantic).
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Produces one attention row per subset, exactly, for one worker thread (may own scratch such as
// an LP).  Scores are given relative to the row maximum: r_j = s_j − max_k s_k ≤ 0.
class QsaRowWorker {
 public:
  virtual ~QsaRowWorker() = default;
  // S: sorted 0-based subset of size q.  Writes enclosures of r_j (j < N) into r.  Returns false
  // when the construction has no row for S (qsa-rip: no certificate w_S was found).
  virtual bool row(const int* S, DInterval* r) = 0;
  // Exact r_j of the row computed last (used only by the multiprecision fallback).
  virtual std::vector<Rational> exact_differences() = 0;
  // Why the last row() returned false (empty if it did not).
  virtual std::string missing_reason() const { return {}; }
  // Optional fused path: writes into E exactly (bit for bit) the enclosure that
  // qsa_row_error_fast computes from row()'s output, by a cheaper route, and returns true; after
  // it exact_differences() describes S.  False: not offered (call row()).
  virtual bool row_error(const int* S, DInterval& E) { return false; }
};

// Exact queries per subset, one worker per thread.  nullopt = no query for S (no certificate).
class QsaQueryWorker {
 public:
  virtual ~QsaQueryWorker() = default;
  virtual std::optional<std::vector<Rational>> query(const std::vector<int>& S) = 0;
  virtual std::string missing_reason() const { return {}; }
};

// Implemented by constructions that offer the fast exact path (integer scores).
class QsaRowSource {
 public:
  virtual ~QsaRowSource() = default;
  virtual std::unique_ptr<QsaRowWorker> exact_row_worker() const = 0;
  virtual std::unique_ptr<QsaQueryWorker> query_worker() const = 0;
  // An exact proof that subset S admits no row (qsa-rip: no certificate exists), if one is found.
  virtual std::optional<std::string> prove_missing(const std::vector<int>& S) const { return std::nullopt; }
  // How the exact-semantics rows skip work on far tokens, in words for the result's "reduction"
  // (empty: every token of every row is evaluated).
  virtual std::string row_pruning() const { return {}; }
};

// A query worker for any embedding: its own fast one when it offers one, else emb.query(S).
std::unique_ptr<QsaQueryWorker> make_query_worker(const QsaEmbedding& emb);

// What the qSA checks accept (core/semantics_policy.hpp): exact, embed and arith; fixed:I.F needs
// I >= 2 so that the witness's z = ±e_1 is representable; arith with a bounded-exponent format is
// refused (its weighted-sum bound is relative or absolute, not both).
inline constexpr SemanticsSupport kQsaSemantics{true, true, true, false, false, 2};

struct QsaCheckOptions {
  Rational eps = Rational(1, 10);
  Semantics semantics;
  unsigned threads = 1;
  Progress* progress = nullptr;
  bool verify_witness = true;  // forward pass on the witness input
  ChunkHooks* hooks = nullptr;  // journal / sharding of the subset sweep (see parallel.hpp)
};

struct QsaCheckResult {
  Verdict verdict = Verdict::Undecided;
  std::uint64_t cases = 0;             // subsets enumerated
  std::uint64_t fallback_rows = 0;     // rows re-evaluated with MPFI
  std::uint64_t undecided_rows = 0;
  std::uint64_t failing_rows = 0;      // rows whose certified lower bound exceeds ε
  std::uint64_t missing_rows = 0;      // subsets without a row (no certificate)
  Rational worst_lower, worst_upper;   // certified enclosure of the reported row's worst case
  std::vector<int> witness_S;          // 0-based sorted
  std::vector<int> witness_signs;      // sign of z_j's first coordinate, per token
  std::string missing_reason;          // for the first missing S
  std::string missing_proof;           // exact proof that it has none (empty: not proven)
  std::optional<Rational> forward_error_lower;  // direct forward pass on the witness input
  mpfr_prec_t forward_bits = 0;        // MPFI bits of that forward pass (0: none ran)
  bool witness_verified = false;
  std::string reduction;               // the sound reduction, in words
  std::string bound_derivation;        // how worst.lower / worst.upper are derived
  Rational rounding_slack;             // added to the upper bound for rounded z (embed/arith)
};

// Runs the exhaustive check of `emb` against ε under the given semantics, as a problem of the
// generic filtered sweep (core/filtered_sweep.hpp): rows settled by the double filter, the rest
// by MPFI along the one precision ladder; a failing row's witness re-verified by a forward pass
// along kWitnessLadder, up to its ceiling, until its error enclosure decides against ε.
QsaCheckResult check_qsa(const QsaEmbedding& emb, const QsaCheckOptions& opts);

// Exact worst case Σ|a_j − t_j| of one row from exact score differences, as an MPFI enclosure.
// Also returns the signs of a_j − t_j where decided (+1 otherwise).
Interval qsa_row_error_interval(const std::vector<Rational>& r, const std::vector<int>& S, mpfr_prec_t bits,
                                std::vector<int>* signs = nullptr);

// Fast enclosure of Σ|a_j − t_j| for one row (DInterval, no allocation). in_S has N flags.
// A score whose upper end is below kQsaUnderflowScore gets the enclosure qsa_underflow_term()
// for its exp without calling libm.
DInterval qsa_row_error_fast(const DInterval* r, const std::uint8_t* in_S, int N, int q, DInterval* scratch);
// e^x < 2^-1074 (the smallest subnormal) for x < −746, since ln(2^-1074) ≈ −744.44.
constexpr double kQsaUnderflowScore = -746.0;
inline DInterval qsa_underflow_term() { return {0.0, std::numeric_limits<double>::denorm_min()}; }
// `sum` after k repetitions of sum += qsa_underflow_term(), the same double endpoints, without
// the k additions (each one moves the endpoints outward by one rounding step).
DInterval qsa_add_underflow_terms(DInterval sum, std::uint64_t k);

// Rational bounds of a nonnegative enclosure, safe for endpoints like exp(−10^9).
struct IntervalBounds {
  Rational lower, upper;
};
IntervalBounds safe_bounds(const Interval& x);

// DInterval enclosure of an exact rational.
DInterval dinterval_of(const Rational& x);
// DInterval enclosure of a 128-bit integer.
DInterval dinterval_of(Int128 x);

// The concrete witness input: every token has y_i = S and z_j = signs_j·e_1 (d' wide).
struct QsaInput {
  Mat<Rational> z;
  std::vector<std::vector<int>> y;  // 0-based
};
QsaInput qsa_witness_input(int N, int d, const std::vector<int>& S, const std::vector<int>& signs);

// Forward pass of a qSA construction on a concrete input under a semantics: exact / embed use
// MPFI at `bits` (queries, keys and z rounded to the format under embed); arith uses FormatReal.
// Returns per-token output enclosures (N × d').
Mat<Interval> qsa_forward(const QsaEmbedding& emb, const QsaInput& x, const Semantics& sem, mpfr_prec_t bits);

// Fewest integer bits I (sign included) of fixed:I.F such that every key, every query entry and
// ±1 rounds into the range [-2^(I-1), 2^(I-1) - 2^-F] at every F >= 0 (so no row of a min-p sweep
// is refused): -2^(I-1) <= v < 2^(I-1) - 1/2 for every v.
int qsa_fixed_integer_bits(const QsaEmbedding& emb);
// The same rule for a list of values.
int fixed_integer_bits_for(const std::vector<Rational>& entries);

// p* of `emb` against ε (math §2) by the generic min_precision rule: one exhaustive check_qsa
// per tested precision.  Each row's witness is the reported subset S (0-based) when it fails.
MinPrecisionResult qsa_min_precision(const QsaEmbedding& emb, const Rational& eps, const MinPrecisionConfig& config,
                                     unsigned threads);

}  // namespace attnbounds

namespace attnbounds {
// math §4.1/§4.2: the smallest c with worst case ≤ ε when every off-S gap is at least `gap`,
// c = (1/gap)·ln((N−q)(2−ε)/(qε)), rounded UP to a multiple of 2^-20 (so the exact worst case
// is still ≤ ε); 0 when the logarithm is not positive.
Rational qsa_default_temperature(int N, int q, const Rational& eps, const Rational& gap);
// The closed-form worst case of a row whose in-S scores are equal: 2E/(q+E) with
// E = Σ_{j∉S} exp(r_j) (r_j = score gap below the S scores, ≤ 0), as an MPFI enclosure.
Interval qsa_equal_row_error(const std::vector<Rational>& r_off, int q, mpfr_prec_t bits);
}  // namespace attnbounds
