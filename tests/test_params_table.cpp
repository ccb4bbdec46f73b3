// The parameter table (checks/params.hpp) and the claims table (checks/claims.hpp) are the one
// source of --help, the defaults that run, list's columns, result metadata and docs/theorems.md.
#include <catch2/catch.hpp>

#include "checks/cmd_learn.hpp"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "checks/builtin_commands.hpp"
#include "checks/claims.hpp"
#include "checks/params.hpp"
#include "checks/registry.hpp"
#include "checks/reproduce/reproduce_commands.hpp"
#include "cli_runner.hpp"

using attnbounds_test::run_attnbounds;
using namespace attnbounds;

namespace {

void register_all() {
  register_builtin_commands();
  register_reproduce_commands();
  register_learn_commands();
}

std::string command_of(const RegistryEntry& e) { return e.name.empty() ? e.verb : e.verb + " " + e.name; }

// CLI11 wraps long help lines: compare with all whitespace runs collapsed to one space.
std::string squeeze(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

}  // namespace

TEST_CASE("bind_params writes each row's default into its target, and a given value over it", "[params]") {
  const ParamTable table = {param::N().with_default(7), param::eps().with_default("1/3"), param::mode(), param::json(),
                            param::N().with_flag("--k").with_computed_default("bound - 1")};
  int N = -1, k = -1;
  std::string eps, mode;
  bool json = true;
  CLI::App app;
  GivenParams given = bind_params(app, table, {{"--N", &N}, {"--eps", &eps}, {"--mode", &mode}, {"--json", &json}, {"--k", &k}});
  CHECK(N == 7);
  CHECK(eps == "1/3");
  CHECK(mode == "embed");
  CHECK(k == -1);  // a computed default leaves the "not given" value for the command
  const char* argv[] = {"t", "--N", "9", "--mode", "arith"};
  app.parse(5, const_cast<char**>(argv));
  CHECK(N == 9);
  CHECK(mode == "arith");
  CHECK(given.given("--N"));
  CHECK_FALSE(given.given("--eps"));
}

TEST_CASE("the table's validators refuse out-of-range values naming the range", "[params]") {
  const ParamTable table = {param::N().with_range(2, 64), param::q().at_most("--N"), param::eps(), param::mode()};
  int N = 0, q = 0;
  std::string eps, mode;
  auto parse = [&](std::vector<const char*> args) -> std::string {
    CLI::App app;
    bind_params(app, table, {{"--N", &N}, {"--q", &q}, {"--eps", &eps}, {"--mode", &mode}});
    args.insert(args.begin(), "t");
    try {
      app.parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  CHECK(parse({"--N", "65"}).find("2..64") != std::string::npos);
  CHECK(parse({"--N", "0x10"}).find("2..64") != std::string::npos);
  CHECK(parse({"--N", "8", "--q", "9"}) == "--q: must be in 1..N = 1..8 (got 9)");
  CHECK(parse({"--eps", "1"}).find("(0, 1)") != std::string::npos);
  CHECK(parse({"--mode", "exact"}).find("embed or arith") != std::string::npos);
  CHECK(parse({"--N", "8", "--q", "8", "--eps", "1/2", "--mode", "arith"}).empty());
}

TEST_CASE("a row without a target, or a target without a row, is a programming error", "[params]") {
  const ParamTable table = {param::N(), param::json()};
  int N = 0, extra = 0;
  bool json = false;
  CLI::App a, b;
  CHECK_THROWS_AS(bind_params(a, table, {{"--N", &N}}), std::logic_error);
  CHECK_THROWS_AS(bind_params(b, table, {{"--N", &N}, {"--json", &json}, {"--q", &extra}}), std::logic_error);
}

TEST_CASE("nearest_name picks the smallest edit distance", "[params]") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("--N", "--n") == 1);
  CHECK(nearest_name("--NN", {"--M", "--N", "--json"}) == "--N");
  CHECK(nearest_name("--numbr-format", {"--number-format", "--mode", "--force"}) == "--number-format");
  CHECK(nearest_name("--x", {}).empty());
}

TEST_CASE("an unknown flag is a usage error that names the nearest known flag", "[params][cli]") {
  struct Case {
    const char* args;
    const char* nearest;
  };
  for (const Case& c : {Case{"check qsa-cyclic --NN 4", "--N"}, Case{"check match2 --flip-query 1", "--flip-query-sign"},
                        Case{"lower match3-disj --N 3", "--n"}, Case{"min-p qsa-rip --number-fromat fixed", "--number-format"},
                        Case{"cc disj --max-node 5", "--max-nodes"}, Case{"regress --baseline tests/baselines", "--baselines"},
                        Case{"lower qsa-disj --gird", "--grid"}}) {
    auto r = run_attnbounds(c.args, 60, true);
    INFO(c.args << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(std::string("did you mean ") + c.nearest + "?") != std::string::npos);
  }
}

TEST_CASE("every command's --help shows each table row with its allowed range and the default that runs", "[params][cli]") {
  register_all();
  int checked = 0;
  for (const RegistryEntry& e : registry()) {
    if (!e.table) continue;
    auto r = run_attnbounds(command_of(e) + " --help", 60, true);
    INFO(command_of(e) << "\n" << r.out);
    REQUIRE(r.status == 0);
    const std::string help = squeeze(r.out);
    for (const ParamDef& d : *e.table) {
      INFO(d.flag);
      CHECK(help.find(d.flag) != std::string::npos);
      if (d.kind == ParamKind::Flag) continue;
      if (!d.shown_default().empty()) CHECK(help.find("[default: " + squeeze(d.shown_default()) + "]") != std::string::npos);
      if (!d.allowed().empty()) CHECK(help.find("[allowed: " + d.allowed()) != std::string::npos);
      ++checked;
    }
  }
  CHECK(checked > 150);
}

TEST_CASE("the defaults --help shows are the values that run", "[params][cli]") {
  // lower match3-disj: the semantics default depends on --n, and --help says so.
  auto help = run_attnbounds("lower match3-disj --help", 60);
  CHECK(squeeze(help.out).find("[default: tiled:float:24:n (T = --n)]") != std::string::npos);
  CHECK(squeeze(help.out).find("[default: exact]") == std::string::npos);
  auto r = run_attnbounds("lower match3-disj --n 2 --json", 120);
  REQUIRE(r.status != 2);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["semantics"] == "tiled:float:24:2");
  CHECK(j["params"]["m"] == 2);
  CHECK(j["params"]["model"] == "random");
  // check match3-third-order: N and M defaults 6 and 9 in --help and in the run.
  auto h3 = squeeze(run_attnbounds("check match3-third-order --help", 60).out);
  CHECK(h3.find("number of tokens [allowed: 2..16] [default: 6]") != std::string::npos);
  // M's range is the one the library validates (Match3Config::kM), not a second copy.
  CHECK(h3.find("[allowed: 2..65536] [default: 9]") != std::string::npos);
  const auto big = run_attnbounds("check match3-third-order --M 65537", 60, true);
  CHECK(big.status == 2);
  CHECK(big.err.find("--M") != std::string::npos);
  CHECK(big.err.find("2..65536") != std::string::npos);
  // check qsa-cyclic with no size flags runs the defaults N = 16, q = 2, d = 1, eps = 0.1.
  auto hq = squeeze(run_attnbounds("check qsa-cyclic --help", 60).out);
  CHECK(hq.find("number of tokens [allowed: 1..100000] [default: 16]") != std::string::npos);
  auto q = run_attnbounds("check qsa-cyclic --json", 300);
  REQUIRE(q.status == 0);
  auto jq = nlohmann::json::parse(q.out);
  CHECK(jq["params"]["N"] == 16);
  CHECK(jq["params"]["q"] == 2);
  CHECK(jq["params"]["d"] == 1);
  CHECK(jq["params"]["eps"] == "0.1");
  CHECK(jq["semantics"] == "exact");
}

TEST_CASE("list's parameter column is made from each command's table", "[params][claims]") {
  register_all();
  auto r = run_attnbounds("list --json", 60);
  REQUIRE(r.status == 0);
  auto entries = nlohmann::json::parse(r.out)["entries"];
  std::size_t compared = 0;
  for (const RegistryEntry& e : registry()) {
    if (e.name.empty()) continue;
    INFO(command_of(e));
    REQUIRE(e.table != nullptr);
    bool found = false;
    for (const auto& row : entries)
      if (row["verb"] == e.verb && row["name"] == e.name) {
        found = true;
        CHECK(row["params"] == params_column(*e.table));
        // Every row of the table is in the column, in table order.
        std::size_t at = 0;
        const std::string column = row["params"].get<std::string>();
        for (const ParamDef& d : *e.table) {
          at = column.find(d.flag, at);
          CHECK(at != std::string::npos);
        }
        ++compared;
      }
    CHECK(found);
  }
  CHECK(compared == entries.size());
}

TEST_CASE("list's theorem and provenance are the claims table's", "[claims]") {
  auto r = run_attnbounds("list --json", 60);
  REQUIRE(r.status == 0);
  // Named: a range-for over a member of a temporary would read the freed document (ASan).
  const nlohmann::json listing = nlohmann::json::parse(r.out);
  for (const auto& row : listing["entries"]) {
    INFO(row.dump());
    if (row["verb"] == "learn") {  // registered by the application with their own metadata
      // The qSA runs follow the paper's Appendix D; learn match2 names its task's section.
      CHECK(row["theorem"] == (row["name"] == "match2" ? "§4.3 (Match2)" : "Appendix D"));
      CHECK(!row["provenance"].get<std::string>().empty());
      continue;
    }
    const ClaimInfo& c = claim_info(row["verb"], row["name"]);
    CHECK(row["theorem"] == c.theorem);
    CHECK(row["provenance"] == c.provenance);
  }
}

TEST_CASE("each claim's result carries the claims table's theorem and provenance", "[claims][cli]") {
  attnbounds_test::TempDir tmp("attnbounds_claims_");
  const std::string cert = (tmp.dir / "cert.json").string(), model = (tmp.dir / "m.safetensors").string(),
                    input = (tmp.dir / "in.json").string(), matrix = (tmp.dir / "m.txt").string();
  std::ofstream(input) << R"({"z": [[0.5], [0.25], [-0.5], [0]], "y": [[1, 2], [2, 3], [3, 4], [1, 4]]})";
  std::ofstream(matrix) << "0 1\n1 0\n";
  struct Run {
    std::string verb, name, args;
  };
  const std::vector<Run> runs = {
      {"check", "qsa-cyclic", "check qsa-cyclic --N 4 --q 2 --certificate " + cert},
      {"replay", "qsa-cyclic", "replay " + cert},
      {"check", "qsa-rip", "check qsa-rip --N 4 --q 1"},
      {"eval", "qsa-cyclic", "eval qsa-cyclic --input " + input},
      {"eval", "qsa-rip", "eval qsa-rip --input " + input},
      {"min-p", "qsa-cyclic", "min-p qsa-cyclic --N 4 --q 2 --p-max 12"},
      {"min-p", "qsa-rip", "min-p qsa-rip --N 4 --q 1 --p-max 8"},
      {"export", "qsa-cyclic", "export qsa-cyclic --N 4 --q 2 --out " + model},
      {"check", "qsa", "check qsa --model " + model},
      {"eval", "qsa", "eval qsa --model " + model + " --input " + input},
      {"min-p", "qsa", "min-p qsa --model " + model + " --p-max 10"},
      {"check", "match2", "check match2 --N 3 --M 5"},
      {"export", "match2", "export match2 --N 3 --M 5 --out " + (tmp.dir / "m2.st").string()},
      {"export", "match3-third-order", "export match3-third-order --N 3 --M 5 --out " + (tmp.dir / "m3.st").string()},
      {"check", "match3", "check match3 --model " + (tmp.dir / "m3.st").string()},
      {"check", "match2 --no-residual", "check match2 --N 3 --M 5 --no-residual"},
      {"check", "match3-third-order", "check match3-third-order --N 3 --M 5"},
      {"check", "match3-hinted", "check match3-hinted --N 4 --M 4 --q 1"},
      {"check", "match3-window", "check match3-window --N 4 --M 4 --w 1"},
      {"min-p", "match2", "min-p match2 --N 3 --M 5 --p-max 10"},
      {"lower", "match3-disj", "lower match3-disj --n 2"},
      {"lower", "match3-disj --grid", "lower match3-disj --n 2 --grid --grid-m 1 --grid-p 2 --grid-H 1 --format json"},
      {"lower", "qsa-disj", "lower qsa-disj --q 2"},
      {"lower", "qsa-disj --grid", "lower qsa-disj --q 2 --grid --m-values 1 --p-values 2 --format json"},
      {"lower", "fc-rank", "lower fc-rank --N 4"},
      {"lower", "rnn-index", "lower rnn-index --N 4"},
      {"cc", "disj", "cc disj --n 2"},
      {"cc", "matrix", "cc matrix --matrix " + matrix},
      {"min-m", "qsa-rip", "min-m qsa-rip --N 4 --q 1 --format json"},
      {"eval", "match2", "eval match2 --input 1,4,2 --M 5"},
      {"eval", "match2", "eval match2 --model " + (tmp.dir / "m2.st").string() + " --input 1,4,2"},
      {"eval", "match3", "eval match3 --model " + (tmp.dir / "m3.st").string() + " --input 1,4,0"},
      {"eval", "match3-third-order", "eval match3-third-order --input 1,4,0 --M 5"},
      {"eval", "match3-hinted", "eval match3-hinted --input 1,3,0,2 --M 4 --q 1 --hints \"2|3|4|1\""},
      {"eval", "match3-window", "eval match3-window --input 1,3,0,2 --M 4 --w 1"},
      {"export", "match3-hinted", "export match3-hinted --N 4 --M 4 --q 1 --out " + (tmp.dir / "h.st").string()},
      {"export", "match3-window", "export match3-window --N 4 --M 4 --w 1 --out " + (tmp.dir / "w.st").string()},
      {"check", "match3-hinted --model", "check match3-hinted --model " + (tmp.dir / "h.st").string()},
      {"check", "match3-window --model", "check match3-window --model " + (tmp.dir / "w.st").string()},
      {"eval", "match3-hinted --model",
       "eval match3-hinted --model " + (tmp.dir / "h.st").string() + " --input 1,3,0,2 --hints \"2|3|4|1\""},
      {"eval", "match3-window --model", "eval match3-window --model " + (tmp.dir / "w.st").string() + " --input 1,3,0,2"},
      {"min-p", "match3-hinted --model", "min-p match3-hinted --model " + (tmp.dir / "h.st").string() + " --p-max 8"},
      {"min-p", "match3-window --model", "min-p match3-window --model " + (tmp.dir / "w.st").string() + " --p-max 8"},
  };
  std::set<std::string> covered;
  for (const Run& run : runs) {
    auto r = run_attnbounds(run.args + (run.args.find("--format json") == std::string::npos ? " --json" : ""), 300, true);
    INFO(run.args << "\nstderr: " << r.err);
    REQUIRE((r.status == 0 || r.status == 1 || r.status == 3));
    auto j = nlohmann::json::parse(r.out);
    const ClaimInfo& c = claim_info(run.verb, run.name);
    CHECK(j["schema_version"] == 1);
    CHECK(j["command"] == run.verb);
    CHECK(j["theorem"] == c.theorem);
    CHECK(j["provenance"] == c.provenance);
    // A result with a verdict says which comparison it makes, as the claims table does.
    if (j.contains("verdict")) {
      CHECK_FALSE(c.verdict_rule.empty());
      CHECK(j["verdict_rule"] == c.verdict_rule);
    }
    covered.insert(run.verb + " " + run.name);
  }
  // Every claim row is covered.
  for (const ClaimInfo& c : claim_table()) {
    const std::string key = c.verb + " " + c.name;
    const bool covered_by_sibling = key == "export qsa-rip" || key == "replay qsa-rip" || key == "cc eq" || key == "cc index" ||
                                    key == "cc ip" || (c.verb == "min-p" && c.name.rfind("match3", 0) == 0);
    if (!covered_by_sibling) CHECK(covered.count(key) == 1);
  }
}

TEST_CASE("claims table: every command with a verdict has a verdict rule, eval and export none", "[claims]") {
  for (const ClaimInfo& c : claim_table()) {
    INFO(c.verb << " " << c.name);
    if (c.verb == "eval" || c.verb == "export") CHECK(c.verdict_rule.empty());
    else CHECK(c.verdict_rule.rfind("holds: ", 0) == 0);
  }
  CHECK(claim_verdict_rule("check", "match2") == claim_info("check", "match2").verdict_rule);
  CHECK(claim_verdict_rule("check", "match2").find("worst.lower > bound") != std::string::npos);
  CHECK(claim_verdict_rule("check", "qsa-cyclic").find("worst.upper <= bound") != std::string::npos);
  CHECK(claim_verdict_rule("eval", "qsa-cyclic").empty());
}

TEST_CASE("docs/theorems.md embeds the claims table as generated", "[claims]") {
  std::ifstream in(std::string(ATTNBOUNDS_SOURCE_DIR) + "/docs/theorems.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- claims-table: generated by `attnbounds list --claims-table`; do not edit -->\n";
  const std::string end = "<!-- claims-table end -->";
  const auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  CHECK(doc.substr(b + begin.size(), e - b - begin.size()) == claim_table_markdown());
  auto r = run_attnbounds("list --claims-table", 60);
  CHECK(r.out == claim_table_markdown());
}

TEST_CASE("the grid commands' LaTeX comes from the one booktabs writer", "[params][latex]") {
  for (const char* args : {"lower match3-disj --n 2 --grid --grid-m 1 --grid-p 2 --grid-H 1 --format latex",
                           "lower qsa-disj --q 2 --grid --m-values 1,2 --p-values 2,3 --format latex",
                           "min-m qsa-rip --N 4 --q 1 --format latex"}) {
    auto r = run_attnbounds(args, 300);
    INFO(args << "\n" << r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("\\hline") == std::string::npos);
    CHECK(r.out.find("\\toprule") != std::string::npos);
    CHECK(r.out.find("\\midrule") != std::string::npos);
    CHECK(r.out.find("\\bottomrule") != std::string::npos);
  }
}
