// lower match3-disj --model FILE (Theorem 7's reduction on a match2-table unit): the search at a
// fixed M, the built-in random model written as a file gives the built-in result, a broken file
// fails with a witness re-checked here, and bad files or flags exit 2 with one line.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>

#include "cli_runner.hpp"
#include "modelfile/match2_model.hpp"
#include "proofs/theorem7_match3_disj.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;
using attnbounds_test::run_attnbounds;
using attnbounds_test::TempDir;
using nlohmann::json;

namespace {

// The plain search at one M, no pruning: the first (t, s, d) in lexicographic order.
std::optional<Match3DisjReduction> plain_search_at(int n, int M, std::uint64_t& tried) {
  tried = 0;
  for (int t = 0; t < M; ++t)
    for (int s = 0; s < M; ++s)
      for (int d = 0; d < M; ++d) {
        ++tried;
        Match3DisjReduction r{n, M, t, s, d};
        if (match3_disj_pairs_ok(r) && verify_match3_disj(r, 1) == 0) return r;
      }
  return std::nullopt;
}

// The built-in random model (one head, scalar values) as a match2-table unit: every query row is
// token 0's query (only row t is read), keys and values per residue.
Match2TableModel random_model_as_file(int n, int m, std::uint64_t seed, int M, const Format& format) {
  TiledModelSpec spec;
  spec.family = "random";
  spec.m = m;
  spec.H = 1;
  spec.seed = seed;
  const TiledRandomHead head = tiled_random_tables(spec, M, format).at(0);
  Match2TableModel f;
  f.N = 2 * n + 1, f.M = M, f.k = m, f.d = 1;
  for (int x = 0; x < M; ++x)
    for (const auto& q : head.query) f.query.emplace_back(q);
  for (const auto& e : head.key) f.key.emplace_back(e);
  for (const auto& e : head.value) f.value.emplace_back(e);
  f.threshold = Rational(1, 2);
  return f;
}

json without(json r, std::initializer_list<const char*> keys) {
  for (const char* k : keys) r.erase(k);
  return r;
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// Literal Match3 at token 0, written out here (tasks.hpp is the library's).
int match3_token0(const std::vector<int>& x, int M) {
  for (int a : x)
    for (int b : x)
      if ((x[0] + a + b) % M == 0) return 1;
  return 0;
}

}  // namespace

TEST_CASE("match3-disj at a fixed M: the pruned search is the plain one; which M admit a reduction", "[match][lower]") {
  for (int n : {1, 2, 3}) {
    for (int M = 2; M <= 2 * n + 12; ++M) {
      INFO("n = " << n << ", M = " << M);
      std::uint64_t pruned = 0, plain = 0;
      const auto a = find_match3_disj_reduction_at(n, M, 1, &pruned);
      const auto b = plain_search_at(n, M, plain);
      REQUIRE(a.has_value() == b.has_value());
      CHECK(pruned == plain);
      if (a) CHECK((a->t == b->t && a->s == b->s && a->dummy == b->dummy));
    }
  }
  // The built-in search returns the first M's first candidate, and counts every smaller M's.
  for (int n : {3, 6}) {
    std::uint64_t all = 0, at = 0;
    const auto builtin = find_match3_disj_reduction(n, 1, 8 * n + 16, &all);
    REQUIRE(builtin.has_value());
    const auto fixed = find_match3_disj_reduction_at(n, builtin->M, 1, &at);
    REQUIRE(fixed.has_value());
    CHECK((fixed->t == builtin->t && fixed->s == builtin->s && fixed->dummy == builtin->dummy));
    std::uint64_t below = 0;
    for (std::uint64_t M = 2 * n + 2; M < static_cast<std::uint64_t>(builtin->M); ++M) below += M * M * M;
    CHECK(all == below + at);
  }
  // Below 2n+4 (values from the plain search); from 2n+4 on, (1, 1, 0) always works.
  CHECK(match3_disj_small_M(1, 1) == std::vector<int>{4, 5});
  CHECK(match3_disj_small_M(2, 1) == std::vector<int>{7});
  CHECK(match3_disj_small_M(3, 1) == std::vector<int>{8});
  CHECK(match3_disj_small_M(6, 1) == std::vector<int>{14});
  for (int n = 1; n <= 6; ++n)
    for (int M : {2 * n + 4, 2 * n + 5, 3 * n + 7, 1000}) {
      Match3DisjReduction r{n, M, 1, 1, 0};
      CHECK(match3_disj_pairs_ok(r));
      if (n <= 4) CHECK(verify_match3_disj(r, 1) == 0);
    }
}

TEST_CASE("lower match3-disj --model: the built-in random model as a file gives the built-in result", "[match][lower][cli]") {
  TempDir tmp("m3disj");
  struct Case {
    int n, m;
    const char* semantics;
    int status;
  };
  for (const Case& c : {Case{3, 1, "tiled:float:2:3", 1}, Case{3, 2, "tiled:float:24:3", 0}, Case{4, 1, "tiled:float:3:2", 1},
                        Case{4, 2, "tiled:bf16:2", -1}}) {
    INFO(c.semantics << " n = " << c.n << " m = " << c.m);
    const auto red = find_match3_disj_reduction(c.n, 1, 8 * c.n + 16);
    REQUIRE(red.has_value());
    const Semantics sem = parse_semantics(c.semantics);
    const std::string path = (tmp.dir / ("random-" + std::to_string(c.n) + "-" + std::to_string(c.m) + ".st")).string();
    write_match2_table_model(path, random_model_as_file(c.n, c.m, 5, red->M, sem.format));
    int s_builtin = -1, s_file = -1;
    const std::string common = std::string(" --semantics ") + c.semantics + " --threads 2";
    const json builtin = attnbounds_test::run_json(
        "lower match3-disj --n " + std::to_string(c.n) + " --m " + std::to_string(c.m) + " --H 1 --seed 5" + common, &s_builtin);
    const json file = attnbounds_test::run_json("lower match3-disj --model " + path + common, &s_file);
    if (c.status >= 0) CHECK(s_builtin == c.status);
    CHECK(s_file == s_builtin);
    CHECK(without(file, {"params", "reduction_search", "seconds"}) == without(builtin, {"params", "reduction_search", "seconds"}));
    CHECK(file["params"]["model"] == path);
    CHECK(file["params"]["class"] == "match2-table");
    CHECK(file["params"]["M"] == red->M);
    CHECK(file["params"]["N"] == 2 * c.n + 1);
    CHECK(file["reduction_search"]["order"] == "t, s, dummy lexicographically at the model's M");
    CHECK(file["reduction_search"]["candidates_tried"].get<std::uint64_t>() <=
          builtin["reduction_search"]["candidates_tried"].get<std::uint64_t>());
  }
}

TEST_CASE("lower match3-disj --model: a unit with zeroed keys and values fails with a witness re-checked here", "[match][lower][cli]") {
  TempDir tmp("m3disj");
  const int n = 3, M = 11;  // M above the built-in 8: the file's M is the reduction's
  const Format format = parse_format("float:24");
  Match2TableModel broken = random_model_as_file(n, 2, 7, M, format);
  for (auto& v : broken.key) v = Rational(0);  // every score 0: Bob's denominator is always n
  for (auto& v : broken.value) v = Rational(0);
  broken.residual.assign(static_cast<std::size_t>(M), ExactReal(Rational(1, 4)));  // out_0 = 1/4 on every input
  const std::string path = (tmp.dir / "zeroed.st").string();
  write_match2_table_model(path, broken);
  int status = -1;
  const json r = attnbounds_test::run_json("lower match3-disj --model " + path, &status);
  CHECK(status == 1);
  CHECK(r["verdict"] == "fails");
  CHECK(r["reduction"]["M"] == M);
  CHECK(r["reduction_verified"] == true);
  CHECK(r["protocol"]["mismatches"] == 0);
  CHECK(r["messages"]["distinct"] == 1);  // Bob's tile sums never depend on his set
  const json& w = r["worst"]["witness"];
  const std::vector<int> x1 = w["inputs"][0]["x"], x2 = w["inputs"][1]["x"];
  REQUIRE(x1.size() == 2 * n + 1);
  REQUIRE(x2.size() == 2 * n + 1);
  CHECK(w["outputs"][0] == "1/4");
  CHECK(w["outputs"][1] == "1/4");
  // Ground truth, written out here: the two inputs differ at token 0.
  const int t1 = match3_token0(x1, M), t2 = match3_token0(x2, M);
  CHECK(t1 != t2);
  CHECK(w["truth"] == json::array({t1, t2}));
  // The library's own passes on the file's unit agree, and so does the exact (untiled) evaluator
  // of the file: token 0 gets the same decision on both inputs, so it is wrong on one.
  const Match2TableModel read = read_match2_table_model(path);
  Match3DisjTables tables;
  tables.N = read.N, tables.M = read.M, tables.k = read.k, tables.d = read.d;
  tables.query = read.query, tables.key = read.key, tables.value = read.value, tables.residual = read.residual;
  const Match3DisjReduction red{n, M, r["reduction"]["t"], r["reduction"]["s"], r["reduction"]["dummy"]};
  const TiledMatch3Model unit = make_tiled_model_of_tables(tables, red, parse_semantics("tiled:float:24:3"));
  CHECK(tiled_output_token0(unit, x1, n) == std::vector<Rational>{Rational(1, 4)});
  CHECK(tiled_output_token0(unit, x2, n) == std::vector<Rational>{Rational(1, 4)});
  const MatchEvalResult e1 = eval_match2_table(read, Semantics{}, x1), e2 = eval_match2_table(read, Semantics{}, x2);
  REQUIRE(e1.tokens[0].decided);
  REQUIRE(e2.tokens[0].decided);
  CHECK(e1.tokens[0].model == e2.tokens[0].model);
  CHECK((e1.tokens[0].model != t1 || e2.tokens[0].model != t2));
}

TEST_CASE("lower match3-disj --model: a d' = 2 unit with a residual (the Match2 construction) runs the same protocol", "[match][lower][cli]") {
  TempDir tmp("m3disj");
  const std::string path = (tmp.dir / "m2.st").string();
  REQUIRE(run_attnbounds("export match2 --N 7 --M 12 --out " + path, 60, true).status == 0);
  int status = -1;
  const json r = attnbounds_test::run_json("lower match3-disj --model " + path + " --semantics tiled:float:8:3", &status);
  CHECK(r["params"]["d"] == 2);
  CHECK(r["params"]["residual"] == true);
  CHECK(r["reduction"]["M"] == 12);
  CHECK(r["reduction_verified"] == true);
  CHECK(r["protocol"]["mismatches"] == 0);
  // Bob's message: one tile of (2 numerators, 1 denominator).
  const std::string formula = r["messages"]["bits_formula"];
  CHECK(formula.rfind("H * bob_tiles * (d'+1) * w = 1*1*3*", 0) == 0);
  CHECK(status == (r["verdict"] == "fails" ? 1 : 0));
  if (r["verdict"] == "fails") {
    const json& w = r["worst"]["witness"];
    CHECK(w["outputs"][0] == w["outputs"][1]);
    CHECK(w["outputs"][0].size() == 2);
    CHECK(match3_token0(w["inputs"][0]["x"], 12) != match3_token0(w["inputs"][1]["x"], 12));
  }
}

TEST_CASE("lower match3-disj --model: bad files and conflicting flags exit 2 with one line", "[match][lower][cli]") {
  TempDir tmp("m3disj");
  const Format format = parse_format("float:24");
  auto write = [&](const std::string& name, const Match2TableModel& m) {
    const std::string p = (tmp.dir / name).string();
    write_match2_table_model(p, m);
    return p;
  };
  Match2TableModel even = random_model_as_file(3, 1, 1, 8, format);
  even.N = 8;
  Match2TableModel big = random_model_as_file(3, 1, 1, 8, format);
  big.N = 27;
  Match2TableModel m9 = random_model_as_file(3, 1, 1, 9, format);
  Match2TableModel positional = random_model_as_file(3, 1, 1, 8, format);
  positional.key_pos.assign(7, ExactReal(Rational(1)));
  const std::string good = write("good.st", random_model_as_file(3, 1, 1, 8, format));
  const std::string third = (tmp.dir / "m3.st").string();
  REQUIRE(run_attnbounds("export match3-third-order --N 7 --M 9 --out " + third, 60, true).status == 0);
  const std::string qsa = (tmp.dir / "qsa.st").string();
  REQUIRE(run_attnbounds("export qsa-cyclic --N 7 --q 2 --out " + qsa, 60, true).status == 0);
  const std::string junk = (tmp.dir / "junk.st").string();
  {
    std::FILE* f = std::fopen(junk.c_str(), "wb");
    REQUIRE(f);
    std::fputs("not a model", f);
    std::fclose(f);
  }
  struct Refusal {
    std::string args, flag, words;
  };
  const std::vector<Refusal> refusals = {
      {"--model " + write("even.st", even), "--model", "odd N in 3..25"},
      {"--model " + write("big.st", big), "--model", "N = 27"},
      {"--model " + write("m9.st", m9), "--model", "M = 9 admits no DISJ_3 reduction for N = 7 (allowed M: 8, every M >= 10)"},
      {"--model " + write("positional.st", positional), "--model", "positional tables"},
      {"--model " + third, "--model", "class match3-third-order is a third-order unit"},
      {"--model " + qsa, "--model", "class 'qsa-table' is not match2-table"},
      {"--model " + junk, "--model", "header length"},
      {"--model " + (tmp.dir / "missing.st").string(), "--model", "missing.st"},
      {"--model " + good + " --n 4", "--n", "is 4 but the --model file has N = 7 (n = 3)"},
      {"--model " + good + " --m 2", "--m", "does not apply to --model FILE"},
      {"--model " + good + " --H 2", "--H", "does not apply to --model FILE"},
      {"--model " + good + " --c 2", "--c", "does not apply to --model FILE"},
      {"--model " + good + " --grid", "--grid", "does not apply to --model FILE"},
      {"--model " + good + " --semantics exact", "--semantics", "tiled"},
      {"--model " + good + " --N 7", "--N", ""},
      {"--model " + good + " --M 8", "--M", ""},
  };
  for (const auto& r : refusals) {
    INFO(r.args);
    const auto out = run_attnbounds("lower match3-disj " + r.args, 60, true);
    CHECK(out.status == 2);
    CHECK(lines(out.err) == 1);
    CHECK(out.err.find(r.flag) != std::string::npos);
    CHECK(out.err.find(r.words) != std::string::npos);
    CHECK(out.out.empty());
  }
  // The same file with --n equal to its own n is accepted.
  CHECK(run_attnbounds("lower match3-disj --model " + good + " --n 3", 60, true).status != 2);
}
