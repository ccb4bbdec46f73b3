// The semantics of a run turned into one policy object, once (math §2): which semantics a claim
// accepts, the one message that refuses the others, and the rounding of stored values.
//
// A claim declares what it accepts as a SemanticsSupport constant beside its configuration (as it
// declares FieldLimits); the policy built from a parsed Semantics checks it, names the claim in the
// refusal, and is then what the checker asks instead of re-inspecting the semantics string:
//   exact          real arithmetic, nothing rounded;
//   embed:<fmt>    stored values (embedding entries, queries, keys, values, inputs) rounded to fmt,
//                  arithmetic exact;
//   arith:<fmt>    stored values rounded and every operation rounded (FormatReal does the latter);
//   tiled:<fmt>:T  blockwise softmax with rounded partial results (the Theorem 7 protocol).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numeric/format.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

struct SemanticsSupport {
  bool exact = true, embed = true, arith = true, tiled = false;
  // arith with a bounded-exponent hardware format (fp16, bf16, ...): its rounding error mixes an
  // absolute (underflow) and a relative part, which some checkers' arith bounds do not cover.
  bool arith_bounded = true;
  // fixed:I.F needs I >= this (2 when ±1 must be representable, as z = ±e_1 for qSA).
  int min_fixed_integer_bits = 1;

  // "exact, embed:<fmt> and arith:<fmt>": the accepted kinds, in words.
  std::string words() const;
  // words() and the restrictions on formats, for tables and --help.
  std::string description() const;
  // Why `claim` does not run under `semantics` (the one message SemanticsPolicy throws), or
  // nullopt when it does.
  std::optional<std::string> refusal(const Semantics& semantics, std::string_view claim) const;
};

// The usual sets.
inline constexpr SemanticsSupport kExactEmbedArith{};
inline constexpr SemanticsSupport kExactEmbed{true, true, false, false};
inline constexpr SemanticsSupport kTiledOnly{false, false, false, true};

class SemanticsPolicy {
 public:
  // Throws ConfigError("semantics", "<claim> supports <words> (got <name>)") for a kind outside
  // `support`, and names the restriction for a format it excludes.
  SemanticsPolicy(const Semantics& semantics, const SemanticsSupport& support, std::string_view claim);

  const Semantics& semantics() const { return sem_; }
  std::string name() const { return sem_.name(); }
  bool exact() const { return sem_.kind == Semantics::Kind::Exact; }
  bool embed() const { return sem_.kind == Semantics::Kind::Embed; }
  bool arith() const { return sem_.kind == Semantics::Kind::Arith; }
  bool tiled() const { return sem_.kind == Semantics::Kind::Tiled; }

  // The format stored values are rounded to: every semantics but exact.
  const std::optional<Format>& storage_format() const { return storage_; }
  // A stored value as the model holds it: rounded to nearest in the storage format (math §2),
  // unchanged under exact.  FormatRangeError when it is outside the format's range.
  Rational stored(const Rational& v) const;
  std::vector<Rational> stored(const std::vector<Rational>& v) const;
  // A stored real known through enclosures make(bits) of it (cos(2πr/M), ...): its certified
  // rounding (format.hpp round_certified), or nullopt under exact, where the real itself is kept.
  std::optional<Rational> stored_real(const std::function<Interval(mpfr_prec_t)>& make) const;
  // The format of a non-exact semantics (std::logic_error under exact: a caller's bug).
  const Format& format() const;

 private:
  Semantics sem_;
  std::optional<Format> storage_;
};

}  // namespace attnbounds
