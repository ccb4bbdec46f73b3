// The semantics policy (core/semantics_policy.hpp): what a claim accepts, the one refusal
// message, and the rounding of stored values against independent computations.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "core/config_error.hpp"
#include "core/semantics_policy.hpp"
#include "numeric/format.hpp"
#include "model/turn_table.hpp"
#include "numeric/interval.hpp"

using namespace attnbounds;

namespace {
std::string refusal_of(const char* sem, const SemanticsSupport& support) {
  try {
    SemanticsPolicy(parse_semantics(sem), support, "claim-x");
  } catch (const ConfigError& e) {
    CHECK(e.field() == "semantics");
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("semantics policy: accepted kinds, and one message naming the claim, the accepted kinds and the input",
          "[semantics]") {
  CHECK(refusal_of("exact", kExactEmbedArith).empty());
  CHECK(refusal_of("embed:bf16", kExactEmbedArith).empty());
  CHECK(refusal_of("arith:float:12", kExactEmbedArith).empty());
  const std::string tiled = refusal_of("tiled:fp16:4", kExactEmbedArith);
  CHECK(tiled.find("claim-x supports exact, embed:<fmt> and arith:<fmt> (got tiled:fp16:4)") != std::string::npos);
  const std::string arith = refusal_of("arith:fp16", kExactEmbed);
  CHECK(arith.find("claim-x supports exact and embed:<fmt> (got arith:fp16)") != std::string::npos);
  const std::string exact = refusal_of("exact", kTiledOnly);
  CHECK(exact.find("claim-x needs tiled:<fmt>:<T> (got exact)") != std::string::npos);
  // Format restrictions.
  const SemanticsSupport strict{true, true, true, false, false, 2};
  CHECK(refusal_of("arith:bf16", strict).find("bounded-exponent") != std::string::npos);
  CHECK(refusal_of("embed:bf16", strict).empty());  // the restriction is on arith only
  CHECK(refusal_of("embed:fixed:1.8", strict).find("I >= 2") != std::string::npos);
  CHECK(refusal_of("embed:fixed:2.8", strict).empty());
  CHECK(strict.description() ==
        "exact, embed:<fmt> and arith:<fmt> (fixed:I.F with I >= 2; arith not over bounded-exponent hardware formats)");
  CHECK(kExactEmbed.description() == "exact and embed:<fmt>");
  // refusal() is the same message, without throwing.
  REQUIRE(kExactEmbed.refusal(parse_semantics("arith:fp16"), "claim-x"));
  CHECK(*kExactEmbed.refusal(parse_semantics("arith:fp16"), "claim-x") ==
        "claim-x supports exact and embed:<fmt> (got arith:fp16)");
}

TEST_CASE("semantics policy: stored values are rounded to nearest in the format, nothing under exact", "[semantics]") {
  const SemanticsPolicy exact(parse_semantics("exact"), kExactEmbedArith, "t");
  const SemanticsPolicy f8(parse_semantics("embed:float:8"), kExactEmbedArith, "t");
  const Rational third(1, 3);
  CHECK(exact.stored(third) == third);
  CHECK_FALSE(exact.storage_format());
  CHECK_THROWS_AS(exact.format(), std::logic_error);
  // 1/3 = 0.0101...b: 8 significand bits give 171/512 (0.10101011b · 2^-1; the tail 0101... rounds up).
  CHECK(f8.stored(third) == Rational(171, 512));
  CHECK(f8.stored(std::vector<Rational>{third, Rational(1)}) == std::vector<Rational>{Rational(171, 512), Rational(1)});
  // A real known by enclosures: cos(2π/7) rounded to float:24 equals the double of the 200-bit
  // value rounded to float (binary32 has 24 significand bits; cos(2π/7) is far from a tie).
  const auto cos27 = [](mpfr_prec_t bits) { return cos_turn(1, 7, bits); };
  const SemanticsPolicy f24(parse_semantics("embed:float:24"), kExactEmbedArith, "t");
  const auto stored = f24.stored_real(cos27);
  REQUIRE(stored);
  CHECK(stored->get_d() == static_cast<double>(static_cast<float>(std::cos(2 * M_PI / 7))));
  CHECK_FALSE(exact.stored_real(cos27));
}
