// The communication-complexity engine against the math §3.3 facts and an independent brute force.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <bit>
#include <map>
#include <set>
#include <random>

#include "cc/cc.hpp"
#include "checks/result_json.hpp"

#include <array>
#include <cstdio>
#include <fstream>

using namespace attnbounds;
using attnbounds_test::CliRun;
using namespace attnbounds::cc;

namespace {

// Independent oracle: D over every rectangle of the full lattice (no canonicalisation, no bounds).
int brute_force_D(const BoolMatrix& M) {
  std::map<std::pair<std::uint64_t, std::uint64_t>, int> memo;
  std::function<int(std::uint64_t, std::uint64_t)> D = [&](std::uint64_t rows, std::uint64_t cols) -> int {
    auto key = std::make_pair(rows, cols);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    bool has0 = false, has1 = false;
    for (int x = 0; x < M.rows; ++x)
      for (int y = 0; y < M.cols; ++y)
        if (((rows >> x) & 1U) && ((cols >> y) & 1U)) (M.at(x, y) ? has1 : has0) = true;
    int best = 1000;
    if (!(has0 && has1)) best = 0;
    else {
      for (std::uint64_t p = (rows - 1) & rows; p; p = (p - 1) & rows)
        best = std::min(best, 1 + std::max(D(p, cols), D(rows ^ p, cols)));
      for (std::uint64_t p = (cols - 1) & cols; p; p = (p - 1) & cols)
        best = std::min(best, 1 + std::max(D(rows, p), D(rows, cols ^ p)));
    }
    memo[key] = best;
    return best;
  };
  return D((1ULL << M.rows) - 1, (1ULL << M.cols) - 1);
}

BoolMatrix random_matrix(int r, int c, double density, std::mt19937_64& rng) {
  std::bernoulli_distribution bit(density);
  BoolMatrix M;
  M.rows = r;
  M.cols = c;
  M.row_bits.assign(r, IndexSet{});
  for (int x = 0; x < r; ++x)
    for (int y = 0; y < c; ++y)
      if (bit(rng)) M.set(x, y);
  return M;
}

}  // namespace

TEST_CASE("DISJ_n: D = n+1, rank 2^n, fooling set of size 2^n, one-way n (math §3.3)", "[cc]") {
  for (int n = 1; n <= 4; ++n) {
    auto M = make_disj(n);
    auto r = analyse(M);
    REQUIRE(r.D);
    CHECK(*r.D == n + 1);
    CHECK(r.rank_Q == (1 << n));
    CHECK(r.fooling.pairs.size() == static_cast<std::size_t>(1 << n));
    CHECK(r.fooling.colour == 1);
    CHECK(is_fooling_set(M, 1, r.fooling.pairs));
    CHECK(r.one_way_alice == n);
    CHECK(r.one_way_bob == n);
    REQUIRE(r.protocol);
    CHECK(r.protocol->depth() == n + 1);
    CHECK(verify_protocol(M, *r.protocol));
  }
  // The textbook fooling set {(a, complement of a)} is one.
  auto M = make_disj(3);
  std::vector<std::pair<int, int>> textbook;
  for (int a = 0; a < 8; ++a) textbook.emplace_back(a, 7 ^ a);
  CHECK(is_fooling_set(M, 1, textbook));
}

TEST_CASE("EQ_n: D = n+1; INDEX_n one-way Alice needs n bits; IP_n", "[cc]") {
  for (int n = 1; n <= 4; ++n) {
    auto r = analyse(make_eq(n));
    REQUIRE(r.D);
    CHECK(*r.D == n + 1);
    CHECK(r.rank_Q == (1 << n));
    auto ri = analyse(make_index(n));
    CHECK(ri.one_way_alice == n);
    CHECK(ri.one_way_bob == ceil_log2(n));
    REQUIRE(ri.D);
    CHECK(*ri.D == ceil_log2(n) + 1);  // Bob sends k, Alice answers; the log-rank bound matches
    if (n <= 3) CHECK(*ri.D == brute_force_D(make_index(n)));
  }
  // IP_n over GF(2) is the bilinear form: rank n; over Q the ±1 Hadamard argument gives 2^n − 1.
  for (int n = 1; n <= 3; ++n) {
    auto r = analyse(make_ip(n));
    CHECK(r.rank_GF2 == n);
    CHECK(r.rank_Q == (1 << n) - 1);
    REQUIRE(r.D);
    CHECK(*r.D == n + 1);
  }
}

TEST_CASE("exact D agrees with an independent brute force on random and structured matrices", "[cc]") {
  std::mt19937_64 rng(12345);
  int searched = 0;
  for (int trial = 0; trial < 200; ++trial) {
    int r = 2 + static_cast<int>(rng() % 4), c = 2 + static_cast<int>(rng() % 4);
    double density = (trial % 3 == 0) ? 0.2 : (trial % 3 == 1) ? 0.5 : 0.8;
    auto M = random_matrix(r, c, density, rng);
    auto res = analyse(M);
    REQUIRE(res.D);
    INFO("trial " << trial);
    CHECK(*res.D == brute_force_D(M));
    CHECK(res.log_rank_bound <= *res.D);
    CHECK(res.fooling_bound <= *res.D);
    REQUIRE(res.protocol);
    CHECK(res.protocol->depth() == *res.D);
    CHECK(verify_protocol(M, *res.protocol));
    // The plain exhaustive search (no bounds, no shortcut) must agree too.
    CcOptions plain;
    plain.prune = false;
    auto res_plain = analyse(M, plain);
    REQUIRE(res_plain.D);
    CHECK(*res_plain.D == *res.D);
    REQUIRE(res_plain.protocol);
    CHECK(res_plain.protocol->depth() == *res.D);
    CHECK(verify_protocol(M, *res_plain.protocol));
    if (res_plain.search_nodes > 0) ++searched;
  }
  CHECK(searched > 100);  // the search itself (not only the bounds) was exercised
}

TEST_CASE("rank over Q and GF(2) on known matrices", "[cc]") {
  // [[1,1],[1,1]]: rank 1; [[1,0],[0,1]]: rank 2; [[1,1,0],[0,1,1],[1,0,1]]: rank 3 over Q, 2 over GF(2).
  CHECK(rank_rational(parse_matrix("11\n11\n")) == 1);
  CHECK(rank_rational(parse_matrix("10\n01\n")) == 2);
  auto C = parse_matrix("110\n011\n101\n");
  CHECK(rank_rational(C) == 3);
  CHECK(rank_gf2(C) == 2);
}

TEST_CASE("matrix file validation gives clear errors", "[cc]") {
  CHECK_THROWS_WITH(parse_matrix("101\n10\n"), Catch::Contains("ragged"));
  CHECK_THROWS_WITH(parse_matrix("102\n"), Catch::Contains("not 0 or 1"));
  CHECK_THROWS_WITH(parse_matrix("\n# only a comment\n"), Catch::Contains("no rows"));
  CHECK_THROWS_WITH(parse_matrix(std::string(257, '1') + "\n"), Catch::Contains("256"));
  {  // 257 rows of width 1
    std::string tall;
    for (int i = 0; i < 257; ++i) tall += "1\n";
    CHECK_THROWS_WITH(parse_matrix(tall), Catch::Contains("256"));
  }
  CHECK_THROWS_WITH(read_matrix_file("/nonexistent/matrix.txt"), Catch::Contains("cannot open"));
  auto M = parse_matrix("1 0 1  # comment\n0,1,1\n");
  CHECK(M.rows == 2);
  CHECK(M.cols == 3);
  CHECK(M.at(0, 0));
  CHECK(!M.at(0, 1));
}

namespace {
}  // namespace

TEST_CASE("cc from the command line: DISJ_4 JSON fields, protocol tree, bad input exits 2", "[cc]") {
  auto r = attnbounds_test::run_attnbounds("cc disj --n 4 --json");
  REQUIRE(r.status == 0);
  auto j = attnbounds::json::parse(r.out);
  CHECK(j["D"] == 5);
  CHECK(j["rank_Q"] == 16);
  CHECK(j["fooling_set_size"] == 16);
  CHECK(j["one_way_alice"] == 4);
  CHECK(j["one_way_bob"] == 4);
  CHECK(j["fooling_set"].size() == 16);
  CHECK(j["seconds"].get<double>() < 10.0);
  // Walk the printed tree: leaves are monochromatic for DISJ (bit i of the 0-based index = element i+1).
  std::function<int(const attnbounds::json&)> depth = [&](const attnbounds::json& node) -> int {
    if (node.contains("leaf")) {
      for (const auto& x : node["rows"])
        for (const auto& y : node["cols"])
          CHECK(((((x.get<int>() - 1) & (y.get<int>() - 1)) == 0) ? 1 : 0) == node["leaf"].get<int>());
      return 0;
    }
    return 1 + std::max(depth(node["send0"]), depth(node["send1"]));
  };
  CHECK(depth(j["protocol"]) == 5);
  CHECK(attnbounds_test::run_attnbounds("cc disj --n 0").status == 2);
  CHECK(attnbounds_test::run_attnbounds("cc matrix --matrix /nonexistent/file").status == 2);
  const std::string path = "/tmp/attnbounds_test_cc_matrix.txt";
  { std::ofstream(path) << "0110\n01\n"; }
  CHECK(attnbounds_test::run_attnbounds("cc matrix --matrix " + path).status == 2);
  { std::ofstream(path) << "01x0\n"; }
  CHECK(attnbounds_test::run_attnbounds("cc matrix --matrix " + path).status == 2);
  { std::ofstream(path) << "0110\n1001\n"; }
  auto ok = attnbounds_test::run_attnbounds("cc matrix --matrix " + path + " --json");
  CHECK(ok.status == 0);
  CHECK(attnbounds::json::parse(ok.out)["D"] == 2);  // two distinct complementary rows: Alice 1 bit, Bob 1 bit
}

TEST_CASE("256-bit index sets: counting order of subsets across a word boundary", "[cc]") {
  IndexSet universe;
  for (int i : {3, 62, 63, 64, 65, 200}) universe.set(i);
  std::set<IndexSet> seen;
  IndexSet s;
  int steps = 0;
  do {
    CHECK(s.minus(universe).empty());
    seen.insert(s);
    s = s.next_subset_of(universe);
    ++steps;
  } while (!s.empty() && steps < 1000);
  CHECK(steps == 64);
  CHECK(seen.size() == 64);
  CHECK(IndexSet::first_n(130).count() == 130);
  CHECK(IndexSet::first_n(256).count() == 256);
  CHECK(IndexSet::first_n(130).test(129));
  CHECK(!IndexSet::first_n(130).test(130));
}

TEST_CASE("beyond 64 x 64: duplicated rows and columns keep D; identity matrices", "[cc]") {
  // A random 5 x 5 matrix blown up to 80 x 70 by repeating rows and columns: D is unchanged
  // (repeats never need separating), so the brute force on the 5 x 5 is the oracle, and the
  // 256-bit search path (with its canonicalisation) is exercised.
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 6; ++trial) {
    auto small = random_matrix(5, 5, 0.5, rng);
    BoolMatrix big;
    big.rows = 80;
    big.cols = 70;
    big.row_bits.assign(big.rows, IndexSet{});
    for (int x = 0; x < big.rows; ++x)
      for (int y = 0; y < big.cols; ++y)
        if (small.at(x % 5, (y * 7) % 5)) big.set(x, y);
    auto r = analyse(big);
    REQUIRE(r.D);
    CHECK(*r.D == brute_force_D(small));
    REQUIRE(r.protocol);
    CHECK(verify_protocol(big, *r.protocol));
    CcOptions plain;
    plain.prune = false;
    auto rp = analyse(big, plain);
    REQUIRE(rp.D);
    CHECK(*rp.D == *r.D);
  }
  // I_m: rank m and rank(J − I) = m give 2m leaves; Alice's index plus Bob's answer meets it.
  for (int m : {65, 100, 200, 256}) {
    BoolMatrix I;
    I.rows = I.cols = m;
    I.row_bits.assign(m, IndexSet{});
    for (int x = 0; x < m; ++x) I.set(x, x);
    auto r = analyse(I);
    REQUIRE(r.D);
    CHECK(*r.D == ceil_log2(m) + 1);
    CHECK(r.rank_Q == m);
  }
}

namespace {
void check_named_d(int n) {
  INFO("n = " << n);
  CcOptions opts;
  opts.fooling_budget = 20000;  // the fooling set is reported, not needed for D
  {
    for (const BoolMatrix& M : {make_eq(n), make_disj(n), make_ip(n)}) {
      auto r = analyse(M, opts);
      REQUIRE(r.D);
      CHECK(*r.D == n + 1);
      CHECK(r.log_rank_bound == n + 1);  // the rank bound alone proves it: no search needed
      CHECK(r.search_nodes == 0);
      REQUIRE(r.protocol);
      CHECK(r.protocol->depth() == n + 1);
      CHECK(verify_protocol(M, *r.protocol));
      CHECK(is_fooling_set(M, r.fooling.colour, r.fooling.pairs));
    }
  }
}
}  // namespace

TEST_CASE("EQ_n, DISJ_n, IP_n: D = n+1 for n = 5, 6", "[cc]") {
  check_named_d(5);
  check_named_d(6);
}

TEST_CASE("EQ_n, DISJ_n, IP_n: D = n+1 for n = 7, 8 (up to 256 x 256)", "[cc][long]") {
  check_named_d(7);
  check_named_d(8);
}

TEST_CASE("named functions above 256 x 256 are refused with the size", "[cc]") {
  CHECK(make_index(8).rows == 256);
  CHECK_THROWS_WITH(make_disj(9), Catch::Contains("1..8"));
  CHECK_THROWS_WITH(make_index(9), Catch::Contains("1..8"));
}
