// The one min-p rule (certify/min_precision.hpp) on synthetic claims whose answer is known.
#include <catch2/catch.hpp>

#include "certify/min_precision.hpp"
#include "core/config_error.hpp"

using namespace attnbounds;

namespace {

// A claim given by its verdict per precision; records which semantics it was asked about.
struct SyntheticClaim {
  std::function<Verdict(int)> verdict_at;
  std::vector<std::string> asked = {};
  PrecisionTrial operator()(const Semantics& sem) {
    asked.push_back(sem.name());
    const int p = sem.format.kind == Format::Kind::Float ? sem.format.P : sem.format.I + sem.format.F;
    PrecisionTrial t;
    t.verdict = verdict_at(p);
    t.witness_verified = t.verdict == Verdict::Fails;
    t.worst_upper = Rational(1, p);
    if (t.verdict == Verdict::Fails) t.witness = {p};
    return t;
  }
};

MinPrecisionConfig float_range(int lo, int hi) {
  MinPrecisionConfig c;
  c.p_min = lo;
  c.p_max = hi;
  return c;
}

}  // namespace

TEST_CASE("min-p: p* is the start of the holding tail; holds below it are islands", "[certify]") {
  // Holds at 5 (an island), fails at 6..9, holds from 10 on.
  SyntheticClaim claim{[](int p) { return p == 5 || p >= 10 ? Verdict::Holds : Verdict::Fails; }};
  const MinPrecisionResult r = min_precision(float_range(2, 16), std::ref(claim));
  REQUIRE(r.p_star.has_value());
  CHECK(*r.p_star == 10);
  CHECK(r.islands == std::vector<int>{5});
  CHECK(r.verdict == Verdict::Holds);
  REQUIRE(r.table.size() == 15);  // every p is checked, none skipped
  CHECK(r.table.front().p == 2);
  CHECK(r.table.back().p == 16);
  CHECK(claim.asked.front() == "embed:float:2");
  REQUIRE(r.star_row() != nullptr);
  CHECK(r.star_row()->semantics.name() == "embed:float:10");
  CHECK(*r.table[3].trial.worst_upper == Rational(1, 5));
}

TEST_CASE("min-p: no p* fails only when the top row fails with a verified witness", "[certify]") {
  SyntheticClaim fails{[](int p) { return p < 8 ? Verdict::Holds : Verdict::Fails; }};
  const MinPrecisionResult f = min_precision(float_range(2, 10), std::ref(fails));
  CHECK_FALSE(f.p_star.has_value());
  CHECK(f.islands.empty());  // no p*: nothing counts as an island
  CHECK(f.verdict == Verdict::Fails);
  CHECK(f.table.back().trial.witness == std::vector<int>{10});
  CHECK(f.star_row() == nullptr);

  // The same failing top row without a verified witness: undecided.
  std::vector<PrecisionRow> rows = f.table;
  rows.back().trial.witness_verified = false;
  CHECK(decide_min_precision(rows).verdict == Verdict::Undecided);

  // An undecided top row is never a failure, whatever lies below it.
  SyntheticClaim undecided{[](int p) { return p == 10 ? Verdict::Undecided : Verdict::Fails; }};
  const MinPrecisionResult u = min_precision(float_range(2, 10), std::ref(undecided));
  CHECK_FALSE(u.p_star.has_value());
  CHECK(u.verdict == Verdict::Undecided);

  // An undecided row inside the tail cuts it: p* is above it.
  SyntheticClaim gap{[](int p) { return p == 7 ? Verdict::Undecided : p >= 4 ? Verdict::Holds : Verdict::Fails; }};
  const MinPrecisionResult g = min_precision(float_range(2, 10), std::ref(gap));
  REQUIRE(g.p_star.has_value());
  CHECK(*g.p_star == 8);
  CHECK(g.islands == std::vector<int>{4, 5, 6});

  CHECK(decide_min_precision({}).verdict == Verdict::Undecided);  // nothing tested
}

TEST_CASE("min-p: fixed formats start at I bits, arith mode is named arith, ranges are validated", "[certify]") {
  MinPrecisionConfig c = float_range(2, 9);
  c.family = FormatFamily::Fixed;
  c.fixed_integer_bits = 4;
  c.mode = Semantics::Kind::Arith;
  SyntheticClaim claim{[](int p) { return p >= 6 ? Verdict::Holds : Verdict::Fails; }};
  const MinPrecisionResult r = min_precision(c, std::ref(claim));
  REQUIRE(r.table.size() == 6);  // p = 4..9; p < I has no fixed:I.F format
  CHECK(r.table.front().semantics.name() == "arith:fixed:4.0");
  REQUIRE(r.p_star.has_value());
  CHECK(*r.p_star == 6);
  CHECK(r.star_row()->semantics.name() == "arith:fixed:4.2");

  auto field_of = [](const MinPrecisionConfig& bad) {
    try {
      bad.validate();
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  CHECK(field_of(float_range(1, 8)) == "p_min");
  CHECK(field_of(float_range(8, 4)) == "p_max");
  CHECK(field_of(float_range(2, 5000)) == "p_max");
  MinPrecisionConfig exact = float_range(2, 8);
  exact.mode = Semantics::Kind::Exact;
  CHECK(field_of(exact) == "mode");
  CHECK(field_of(float_range(2, 8)).empty());
}

TEST_CASE("min-p: a value leaving the format's range makes that row undecided and the scan goes on", "[certify]") {
  // fixed:2.F holds [-2, 2 - 2^-F]; a claim whose computation produces 15/8 overflows where 15/8
  // rounds to 2 (F = 0 and 1: nearest; F = 2: the tie between 7/4 and 2 goes to the even 2) and
  // holds from F = 3 on (15/8 is the largest value of fixed:2.3).
  MinPrecisionConfig c = float_range(2, 6);
  c.family = FormatFamily::Fixed;
  c.fixed_integer_bits = 2;
  c.mode = Semantics::Kind::Arith;
  std::vector<std::string> asked;
  const MinPrecisionResult r = min_precision(c, [&](const Semantics& sem) {
    asked.push_back(sem.name());
    round_to(sem.format, Rational(15, 8));  // throws FormatRangeError when out of range
    PrecisionTrial t;
    t.verdict = Verdict::Holds;
    t.worst_upper = Rational(1, 8);
    return t;
  });
  CHECK(asked.size() == 5);  // every p was tried: the overflow did not end the scan
  REQUIRE(r.table.size() == 5);
  for (int i = 0; i < 3; ++i) {
    INFO("p = " << r.table[i].p);
    CHECK(r.table[i].trial.verdict == Verdict::Undecided);
    CHECK_FALSE(r.table[i].trial.witness_verified);
    CHECK_FALSE(r.table[i].trial.worst_upper.has_value());
    CHECK(r.table[i].trial.undecided_reason.find("fixed:2.") != std::string::npos);
  }
  for (int i = 3; i < 5; ++i) {
    CHECK(r.table[i].trial.verdict == Verdict::Holds);
    CHECK(r.table[i].trial.undecided_reason.empty());
  }
  REQUIRE(r.p_star.has_value());
  CHECK(*r.p_star == 5);  // fixed:2.3
  CHECK(r.verdict == Verdict::Holds);

  // Overflow at the top row too: no p*, and undecided (never fails: no counterexample exists).
  c.p_max = 3;
  const MinPrecisionResult top = min_precision(c, [&](const Semantics& sem) {
    round_to(sem.format, Rational(15, 8));
    PrecisionTrial holds;
    holds.verdict = Verdict::Holds;
    return holds;
  });
  CHECK_FALSE(top.p_star.has_value());
  CHECK(top.verdict == Verdict::Undecided);
}

TEST_CASE("min-p: a claim's narrower p range is enforced by the library, naming the field", "[min_p]") {
  MinPrecisionConfig c;
  c.p_limits = FieldLimits{2, 200};
  c.p_min = 2;
  c.p_max = 200;
  CHECK_NOTHROW(c.validate());
  c.p_max = 201;
  try {
    c.validate();
    FAIL("p_max = 201 accepted under p_limits 2..200");
  } catch (const ConfigError& e) {
    CHECK(e.field() == "p_max");
    CHECK(std::string(e.what()).find("200") != std::string::npos);
  }
  c.p_max = 100;
  c.p_min = 1;
  CHECK_THROWS_AS(c.validate(), ConfigError);
  c.p_min = 2;
  c.p_limits = FieldLimits{2, 5000};  // wider than any format: a caller's bug, not a user's
  CHECK_THROWS_AS(c.validate(), std::logic_error);
}
