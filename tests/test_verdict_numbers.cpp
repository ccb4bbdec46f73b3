// The numbers printed beside a verdict: enclosures of the true worst case whatever the verdict,
// the fewest integer bits of min-p's fixed formats, ties at ψ's threshold, witness precision,
// enclosures of values below the double range, and message / state widths that count exponents.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "certify/qsa_checker.hpp"
#include "enumerate/combinatorics.hpp"
#include "numeric/format.hpp"
#include "numeric/rational.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"

using namespace attnbounds;
using nlohmann::json;

namespace {

using attnbounds_test::run_json;

Rational dec(const json& v) { return parse_rational(v.get<std::string>()); }

// Every value rounds into the range of fixed:I.F for F = 0..max_F.
bool fits_every_F(const std::vector<Rational>& values, int I, int max_F) {
  for (int F = 0; F <= max_F; ++F)
    for (const auto& v : values) {
      try {
        (void)round_to(Format::fixed_bits(I, F), v);
      } catch (const FormatRangeError&) {
        return false;
      }
    }
  return true;
}

}  // namespace

TEST_CASE("undecided: worst.upper bounds a real input's error, not only the first undecided row", "[verdict-numbers]") {
  const std::string common = " --N 3 --q 1 --c 29/8 --semantics embed:fixed:12.1";
  int status = -1;
  const json r = run_json("check qsa-cyclic" + common + " --eps 0.1275210237678848092", &status);
  CHECK(r["verdict"] == "undecided");
  CHECK(status == 3);
  // A concrete input of that instance: every token has y = {2}, z = (-1, 1/4, -1).  1/4 rounds
  // to 0 in fixed:12.1 (a tie, to even), so the output is the weight-average of -1, 0, -1 and
  // the target is 1/4: error 1/4 + (1 - a_2) = 0.31376...
  attnbounds_test::TempDir tmp("verdict-numbers-");
  const auto input = tmp.dir / "input.json";
  std::ofstream(input) << R"({"z": [[-1], ["1/4"], [-1]], "y": [[2], [2], [2]]})";
  const json e = run_json("eval qsa-cyclic --input " + input.string() + common);
  const Rational out = dec(e["tokens"][1]["output"][0]);  // midpoint of a 256-bit enclosure
  const Rational real_error = abs(out - Rational(1, 4)) - Rational(1, 1000000000);
  CHECK(real_error > Rational(31376, 100000));
  CHECK(dec(r["worst"]["upper"]) >= real_error);  // was 0.3086 (the first undecided row's)
  CHECK(dec(r["worst"]["lower"]) <= dec(r["worst"]["upper"]));
}

TEST_CASE("min-p fixed: the fewest integer bits holding every entry at every F", "[verdict-numbers]") {
  // fixed:I.F holds [-2^(I-1), 2^(I-1) - 2^-F]; v rounds into range at every F >= 0 iff
  // -2^(I-1) <= v < 2^(I-1) - 1/2 (F = 0: the tie 2^(I-1) - 1/2 goes to the even 2^(I-1)).
  CHECK(fixed_integer_bits_for({}) == 2);                      // ±1: 1 < 2 - 1/2
  CHECK(fixed_integer_bits_for({Rational(3, 2)}) == 3);        // 3/2 is the tie at I = 2
  CHECK(fixed_integer_bits_for({Rational(-2)}) == 2);          // -2 = -2^(2-1) exactly
  CHECK(fixed_integer_bits_for({Rational(-5, 2)}) == 3);
  CHECK(fixed_integer_bits_for({Rational(349, 100)}) == 3);    // < 4 - 1/2
  CHECK(fixed_integer_bits_for({Rational(7, 2)}) == 4);        // the tie at I = 3
  CHECK(fixed_integer_bits_for({Rational(49467, 100)}) == 10); // < 512 - 1/2
  CHECK(fixed_integer_bits_for({Rational(-512)}) == 10);
  CHECK(fixed_integer_bits_for({Rational(-513)}) == 11);
  // Independently, by rounding: I holds every entry at F = 0..12 and I - 1 does not.
  for (const std::vector<Rational>& vals :
       {std::vector<Rational>{Rational(3, 2)}, {Rational(-5, 2), Rational(1, 3)}, {Rational(49467, 100)}, {Rational(7, 2)}}) {
    std::vector<Rational> with_units = vals;
    with_units.push_back(1);
    with_units.push_back(-1);
    const int I = fixed_integer_bits_for(vals);
    CHECK(fits_every_F(with_units, I, 12));
    CHECK_FALSE(fits_every_F(with_units, I - 1, 12));
  }
  // On a construction: the I min-p uses is the fewest that rounds every key and query into range.
  QsaEmbeddingParams p;
  p.N = 4;
  p.q = 2;
  p.c = Rational(3);
  const QsaCyclicEmbedding emb(p);
  std::vector<Rational> entries(emb.keys().data().begin(), emb.keys().data().end());
  std::vector<int> S{0, 1};
  do {
    auto w = emb.query(S);
    entries.insert(entries.end(), w.begin(), w.end());
  } while (next_subset(S.data(), 2, 4));
  entries.push_back(1);
  entries.push_back(-1);
  const int I = qsa_fixed_integer_bits(emb);
  CHECK(fits_every_F(entries, I, 12));
  CHECK_FALSE(fits_every_F(entries, I - 1, 12));
}

TEST_CASE("min-p fixed arith: an overflow inside a trial is an undecided row, not the end of the run", "[verdict-numbers]") {
  // qsa-cyclic N = 4, q = 1, c = 2: the entries fit fixed:6.F (I = 6, range [-32, 32 - 2^-F]), but
  // the arithmetic reaches the value 32 at every F, one past the top of the range.  That used to
  // end min-p with exit 2; now each row is undecided with its reason and the scan covers p = 6..9.
  int status = -1;
  const json r = run_json("min-p qsa-cyclic --N 4 --q 1 --c 2 --number-format fixed --mode arith --p-min 2 --p-max 9",
                          &status);
  CHECK(status == 3);
  CHECK(r["verdict"] == "undecided");
  CHECK(r["p_star"].is_null());
  CHECK(r["semantics"] == "arith:fixed:6.F");
  REQUIRE(r["table"].size() == 4);
  for (int F = 0; F < 4; ++F) {
    const json& row = r["table"][F];
    INFO(row.dump());
    CHECK(row["p"] == 6 + F);
    CHECK(row["semantics"] == "arith:fixed:6." + std::to_string(F));
    CHECK(row["verdict"] == "undecided");
    CHECK_FALSE(row.contains("worst_upper"));  // no value was computed, so no number is printed
    CHECK(row["undecided_reason"].get<std::string>().find("value 32 is outside the range of fixed:6." +
                                                          std::to_string(F) + " [-32, ") != std::string::npos);
  }
  // The text form names the reason on the row.
  const auto text = attnbounds_test::run_attnbounds(
      "min-p qsa-cyclic --N 4 --q 1 --c 2 --number-format fixed --mode arith --p-min 2 --p-max 6");
  CHECK(text.status == 3);
  CHECK(text.out.find("p =   6  undecided  value 32 is outside the range of fixed:6.0 [-32, 31]") != std::string::npos);
  // The value 32 really is out of range at every F, and in range one integer bit up.
  for (int F = 0; F < 4; ++F) {
    CHECK_THROWS_AS(round_to(Format::fixed_bits(6, F), Rational(32)), FormatRangeError);
    CHECK(round_to(Format::fixed_bits(7, F), Rational(32)) == 32);
  }
}

TEST_CASE("match2: an exact tie at psi's threshold is decided by psi's strict rule", "[verdict-numbers]") {
  // M = 6: tau = (1 - cos(2pi/6))/2 = 1/4 exactly, and under arith:float:2 some token's output
  // norm is exactly 1/4; psi says "matched" only when the norm is strictly below tau.
  int status = -1;
  const json r = run_json("check match2 --N 3 --M 6 --semantics arith:float:2", &status);
  CHECK(r["undecided_cases"] == 0);  // the ties used to be undecided
  CHECK(r["largest_matched_norm"]["lower"] == "0.25");
  CHECK(r["largest_matched_norm"]["upper"] == "0.25");
  // A matched token whose norm equals tau is wrong (psi answers unmatched): a verified failure.
  CHECK(r["verdict"] == "fails");
  CHECK(status == 1);
  CHECK(r["worst"]["witness"]["model"] == 0);
  CHECK(r["worst"]["witness"]["truth"] == 1);
}

TEST_CASE("a failure below 2^-256 is verified at a higher precision, and the precision is reported", "[verdict-numbers]") {
  // q = 1, N = 3: the worst row error is about 2 exp(-c) for the moment-curve gap; c = 200 puts it
  // near 1e-87, far below what a 256-bit forward pass resolves.
  int status = -1;
  const json r = run_json("check qsa-cyclic --N 3 --q 1 --c 200 --eps 1e-200", &status);
  CHECK(r["verdict"] == "fails");
  CHECK(status == 1);
  CHECK(r["worst"]["witness"]["verified_by_forward_pass"] == true);
  CHECK(r["worst"]["witness"]["forward_pass_bits"].get<int>() > 256);
  CHECK(dec(r["worst"]["witness"]["forward_pass_error_lower"]) > parse_rational("1e-200"));
}

TEST_CASE("holds: enclosures of worst cases below the double range are multiprecision ones", "[verdict-numbers]") {
  int status = -1;
  const json r = run_json("check qsa-cyclic --N 3 --q 1 --c 1000 --eps 0.1", &status);
  CHECK(r["verdict"] == "holds");
  const Rational lo = dec(r["worst"]["lower"]), hi = dec(r["worst"]["upper"]);
  CHECK(lo > 0);
  CHECK(hi < Rational(1) / Rational(Integer(1) << 1200));
  CHECK(hi <= lo * Rational(1000001, 1000000));
}

TEST_CASE("lower match3-disj: message widths count the exponent bits used (float:P)", "[verdict-numbers]") {
  // float:2 per value: sign + 1 fraction bit + exponent code; Bob's tile sums use binary
  // exponents -5..3, i.e. 9 exponents plus one code for zero = 10 codes = 4 bits: w = 6.
  ExponentRange used;
  used.add(-5L);
  used.add(3L);
  CHECK(encoded_value_bits(parse_format("float:2"), used) == 6);
  CHECK(encoded_value_bits(parse_format("fp8e5m2"), used) == 8);
  CHECK(encoded_value_bits(parse_format("fixed:3.4"), used) == 7);
  const json r = run_json("lower match3-disj --n 7 --semantics tiled:float:2:7");
  // One head, one tile of Bob's 7 tokens, two values (numerator, denominator) of 6 bits each.
  CHECK(r["messages"]["bits_per_message"] == 12);
  CHECK(r["messages"]["bits_formula"].get<std::string>().find("exponents used -5..3") != std::string::npos);
  // 12 >= 7 bits needed: the pigeonhole principle does not force a collision (the exponent-free
  // count, 2 * 3 = 6 bits, claimed it did).
  CHECK(r["messages"]["pigeonhole_forces_collision"] == false);
  CHECK(r["messages"]["distinct"].get<std::uint64_t>() <= (std::uint64_t{1} << 12));
  CHECK(r["bound_proved"].is_string());
}

TEST_CASE("lower match3-disj: more distinct messages than the exponent-free width holds (the audit case)", "[verdict-numbers]") {
  // n = 8, one head, one tile of Bob's 8 tokens, float:2: 72 distinct messages among 256 sets.
  // Without the exponent a message would be 2 * (1 + 2) = 6 bits, only 64 codes: fewer than the
  // messages seen, and below n = 8 bits, so that count "forced" a collision it could not justify.
  // Counted with the exponents used (-7..4: 12 exponents and zero, 13 codes, 4 bits), w = 6 and
  // a message is 12 bits >= 8: the pigeonhole principle forces nothing, and the width holds
  // every message seen.
  const json r = run_json("lower match3-disj --n 8 --model random --m 5 --seed 5 --semantics tiled:float:2:8");
  const json& msg = r["messages"];
  CHECK(msg["distinct"] == 72);
  CHECK(msg["distinct"].get<std::uint64_t>() > (std::uint64_t{1} << 6));
  CHECK(msg["bits_formula"].get<std::string>().find("exponents used -7..4") != std::string::npos);
  ExponentRange used;
  used.add(-7L);
  used.add(4L);
  CHECK(encoded_value_bits(parse_format("float:2"), used) == 6);
  CHECK(msg["bits_per_message"] == 2 * 6);
  CHECK(msg["distinct"].get<std::uint64_t>() <= (std::uint64_t{1} << 12));
  CHECK(msg["bits_needed"] == 8);
  CHECK(msg["pigeonhole_forces_collision"] == false);
  // The counting bound is stated because the 12-bit width is consistent with the 72 messages.
  CHECK(r["bound_proved"].is_string());
  CHECK(r["reduction_verified"] == true);
  CHECK(r["protocol"]["mismatches"] == 0);
}

TEST_CASE("lower rnn-index: state widths count the exponent bits", "[verdict-numbers]") {
  // Bounded formats cost their full width: 2 entries of fp8e4m3 = 16 bits.
  const json b = run_json("lower rnn-index --N 9 --model linear --recurrence random --r 2 --state-format fp8e4m3");
  CHECK(b["state_bits"] == 16);
  // float:2 (unbounded exponent): 2 entries of sign + 1 fraction bit + the exponents the reached
  // states use (more than one: the exponent-free count, 2 * 3 = 6 bits, is not a state width).
  const json f = run_json("lower rnn-index --N 9 --model linear --recurrence random --r 2 --state-format float:2");
  CHECK(f["state_bits"] == 10);
  CHECK(f["states_distinct"].get<std::uint64_t>() <= (std::uint64_t{1} << 10));
  // Every state of the shift recurrence is a vector of ±1 and 0: exponent 0 plus zero, 1 bit.
  const json s = run_json("lower rnn-index --N 5 --model linear --recurrence shift --r 4 --state-format float:3");
  CHECK(s["state_bits"] == 4 * (1 + 2 + 1));
}

TEST_CASE("FormatRangeError says what kind of format would hold the value", "[verdict-numbers]") {
  try {
    (void)round_to(parse_format("fp16"), Rational(70000));
    FAIL("no overflow");
  } catch (const FormatRangeError& e) {
    CHECK(e.hint().find("exponent range") != std::string::npos);
  }
  try {
    (void)round_to(parse_format("fixed:2.2"), Rational(5));
    FAIL("no range error");
  } catch (const FormatRangeError& e) {
    CHECK(e.hint().find("integer bits") != std::string::npos);
  }
}
