// The replayer decides rows with a double filter and computes the worst row's enclosure with
// MPFI only for candidates (src/certify/replay.cpp).  Checked here against an independent
// evaluation of every row at 320 bits from the certificate's own rationals: the replayer's worst
// enclosure must contain the true maximum, be a 128-bit enclosure (not a double-width one), name
// a row whose value is that maximum (to 2^-100), and give the same verdict, for 1 and 2 threads.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "certify/replay.hpp"
#include "cli_runner.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

using namespace attnbounds;
using attnbounds_test::run_attnbounds;
using attnbounds_test::TempDir;
using nlohmann::json;

namespace {

struct RowTruth {
  Interval err{0L, 320};
  std::vector<int> S;  // 1-based
};

// Σ_j |softmax(s)_j − 1_S(j)/q| at 320 bits, straight from the definition.
std::vector<RowTruth> every_row(const json& cert) {
  const int q = cert["q"].get<int>();
  std::vector<std::vector<Rational>> keys;
  for (const auto& k : cert["keys"]) {
    keys.emplace_back();
    for (const auto& v : k) keys.back().push_back(parse_rational(v.get<std::string>()));
  }
  std::vector<RowTruth> out;
  for (const auto& row : cert["queries"]) {
    std::vector<Rational> query;
    for (const auto& v : row["query"]) query.push_back(parse_rational(v.get<std::string>()));
    std::vector<Interval> w;
    Interval total(0L, 320);
    for (const auto& key : keys) {
      Rational s = 0;
      for (std::size_t c = 0; c < query.size(); ++c) s += query[c] * key[c];
      Interval e(s, 320);
      mpfi_exp(e.get(), e.get());
      total += e;
      w.push_back(std::move(e));
    }
    RowTruth t;
    std::vector<char> member(keys.size(), 0);
    for (const auto& k : row["S"]) {  // 1-based in the file
      member[k.get<int>() - 1] = 1;
      t.S.push_back(k.get<int>());
    }
    for (std::size_t j = 0; j < keys.size(); ++j) {
      Interval a = w[j] / total;
      if (member[j]) a -= Interval(Rational(1, q), 320);
      mpfi_abs(a.get(), a.get());
      t.err += a;
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

TEST_CASE("replay's filtered worst row agrees with every row evaluated at 320 bits", "[replay]") {
  TempDir tmp("ab-replay-filter-");
  struct Case {
    std::string command;  // check writing the certificate
    int tamper;           // 1: zero one query (uniform attention); 2: one query attends to one member of its S
  };
  const std::vector<Case> cases = {{"check qsa-cyclic --N 12 --q 3 --eps 0.01", 0},
                                   {"check qsa-cyclic --N 10 --q 2 --eps 0.3", 0},
                                   {"check qsa-rip --N 10 --q 2 --eps 0.1", 0},
                                   {"check qsa-cyclic --N 9 --q 2 --eps 0.1", 1},
                                   {"check qsa-cyclic --N 9 --q 2 --eps 0.1", 2}};
  int index = 0;
  for (const Case& c : cases) {
    INFO(c.command << " tamper " << c.tamper);
    const std::string path = (tmp.dir / ("c" + std::to_string(index++) + ".json")).string();
    const auto wrote = run_attnbounds(c.command + " --certificate " + path, 120, true);
    REQUIRE((wrote.status == 0 || wrote.status == 1));
    json cert = json::parse(attnbounds_test::slurp(path));
    REQUIRE(cert["semantics"] == "exact");  // no rounding slack: the bound is on the error itself
    if (c.tamper == 1)
      for (auto& v : cert["queries"][5]["query"]) v = "0";
    if (c.tamper == 2) {
      // Keys of qsa-cyclic are (J, J^2, ...) for the 1-based position J: the query
      // (2T·J0, −T, 0, ...) scores J as −T(J − J0)^2 + T·J0^2, so all attention goes to J0, the
      // first member of S.  The error is then 2(1 − 1/q), all of it in the on-set imbalance.
      auto& row = cert["queries"][5];
      const int J0 = row["S"][0].get<int>();
      for (int j = 0; j < 9; ++j) {
        REQUIRE(cert["keys"][j][0] == std::to_string(j + 1));
        REQUIRE(cert["keys"][j][1] == std::to_string((j + 1) * (j + 1)));
      }
      for (auto& v : row["query"]) v = "0";
      row["query"][0] = std::to_string(2 * 100 * J0);
      row["query"][1] = "-100";
    }
    if (c.tamper) std::ofstream(path) << cert.dump();
    const std::vector<RowTruth> truth = every_row(cert);
    Rational max_lo = -1, max_hi = -1;
    bool any_above = false;
    const Rational bound = parse_rational(cert["bound"].get<std::string>());
    for (const auto& t : truth) {
      const auto b = t.err.widened_bounds();
      if (b.lower > max_lo) max_lo = b.lower;
      if (b.upper > max_hi) max_hi = b.upper;
      any_above = any_above || b.lower > bound;
    }
    // Without the filter (MPFI alone) the report is the same.
    const ReplayReport plain = replay_qsa_certificate(path, 1, false);
    for (unsigned threads : {1u, 2u}) {
      const ReplayReport r = replay_qsa_certificate(path, threads);
      CHECK(r.verdict == plain.verdict);
      CHECK(r.worst_lower == plain.worst_lower);
      CHECK(r.worst_upper == plain.worst_upper);
      CHECK(r.worst_S == plain.worst_S);
      CHECK(r.first_bad_S == plain.first_bad_S);
      CHECK(r.rows == truth.size());
      CHECK(r.verdict == (any_above ? Verdict::Fails : Verdict::Holds));
      // The reported enclosure contains the true maximum ...
      CHECK(r.worst_lower <= max_hi);
      CHECK(max_lo <= r.worst_upper);
      // ... at 128-bit width, not at the filter's (a double-width enclosure is about 2^-53 wide).
      const Rational tiny(1, mpz_class(1) << 100);
      CHECK(r.worst_upper - r.worst_lower <= tiny);
      // ... and the named row attains it (to 2^-100).
      bool found = false;
      for (const auto& t : truth)
        if (t.S == r.worst_S) {
          found = true;
          CHECK(t.err.widened_bounds().upper + tiny >= max_lo);
        }
      CHECK(found);
    }
  }
}
