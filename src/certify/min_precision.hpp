// The minimal precision p* of a claim over one family of number formats (math §2), for every
// claim (qSA constructions and model files, the Match constructions, trained units), so that p*,
// its table and its verdict rule are decided in one place.
//
// Every p in [p_min, p_max] is checked (the claim need not be monotone in p).  p* is the
// smallest p such that the claim holds at every tested p' in [p, p_max]; a p < p* that holds is a
// non-monotone island.  Verdict: holds when p* exists; otherwise fails only when the p_max row
// fails with a verified witness, else undecided (an undecided top row never becomes a failure).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/field_checks.hpp"
#include "core/verdict.hpp"
#include "numeric/format.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

enum class FormatFamily { Float, Fixed };

struct MinPrecisionConfig {
  // p (and I of fixed:I.F) in 2..4096: the largest float:P the format parser accepts.
  static constexpr FieldLimits kP{2, 4096};
  Semantics::Kind mode = Semantics::Kind::Embed;  // embed (entries rounded) or arith (every operation)
  FormatFamily family = FormatFamily::Float;
  int fixed_integer_bits = 2;  // I of fixed:I.F (p = I + F); unused for float:P
  int p_min = 2, p_max = 64;
  // The range p_min and p_max must lie in: kP, or a claim's narrower one (kMatchMinPrecisionP).
  FieldLimits p_limits = kP;
  // Throws ConfigError on "mode" (embed or arith only), "p_min" (in p_limits), "p_max" (p_min ..
  // p_limits.hi) or "fixed_integer_bits" (1..4096).
  void validate() const;
  // The semantics tested at p, or nullopt when the family has no format with p bits (fixed: p < I).
  std::optional<Semantics> semantics_at(int p) const;
};

// What one check at one precision established.  The worst case is the claim's own statistic
// (qSA: the error, compared worst <= bound; Match: the room, compared margin > 0), given by the
// certified ends the check has.
struct PrecisionTrial {
  Verdict verdict = Verdict::Undecided;
  bool witness_verified = false;          // a Fails verdict backed by a verified witness
  std::optional<Rational> worst_lower;    // certified lower end of the worst case, if reported
  std::optional<Rational> worst_upper;    // certified upper end of the worst case, if any
  std::vector<int> witness;               // the claim's own witness (a subset, an input), if any
  std::optional<int> witness_token;       // the 0-based token of an input witness, if any
  // Why an Undecided row is undecided, when the trial itself did not decide (e.g. a value of the
  // computation left the format's range); empty otherwise.
  std::string undecided_reason;
};

struct PrecisionRow {
  int p = 0;
  Semantics semantics;
  PrecisionTrial trial;
};

struct MinPrecisionResult {
  std::optional<int> p_star;
  std::vector<PrecisionRow> table;  // one row per tested p, ascending
  std::vector<int> islands;         // p < p* at which the claim holds
  Verdict verdict = Verdict::Undecided;
  // The row of p*, or nullptr when there is none.
  const PrecisionRow* star_row() const;
};

using PrecisionCheck = std::function<PrecisionTrial(const Semantics&)>;

// Runs `check` at every p of the range (validated first) and applies the rule above.  A check
// that throws FormatRangeError (a value leaves the format's range: an error under docs/precision.md,
// never a number, so neither an output nor a counterexample) gives an Undecided row whose
// undecided_reason names the overflow, and the scan goes on.
MinPrecisionResult min_precision(const MinPrecisionConfig& config, const PrecisionCheck& check);
// The rule alone, on a table already computed (rows ascending in p).
MinPrecisionResult decide_min_precision(std::vector<PrecisionRow> table);

}  // namespace attnbounds
