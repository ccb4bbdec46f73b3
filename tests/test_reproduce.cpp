// reproduce and regress, end to end through the CLI (a fake CLI script stands in for the claim
// commands, which live in other files), plus unit tests of the table, expression and JSON-path
// helpers they are built from.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <csignal>
#include <functional>
#include <optional>
#include <thread>

#include "checks/reproduce/expr.hpp"
#include "cli_runner.hpp"
#include "checks/json_path.hpp"
#include "checks/reproduce/manifest.hpp"
#include "checks/reproduce/regress.hpp"
#include "checks/reproduce/subprocess.hpp"
#include "learn/qsa_learning.hpp"
#include "checks/tables.hpp"

using namespace attnbounds;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = ATTNBOUNDS_SOURCE_DIR;
const fs::path kFixtures = kSource / "tests" / "fixtures";

using attnbounds_test::slurp;

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

struct Cli {
  int status;
  std::string out, err;
};

// The test manifests run a stand-in script, which a manifest may name only with --allow-programs.
Cli run_cli(std::vector<std::string> args) {
  if (!args.empty() && args[0] == "reproduce") args.push_back("--allow-programs");
  ProcessResult r = run_process(ATTNBOUNDS_BINARY, args, 120);
  REQUIRE(r.started);
  return {r.exit_status, r.out, r.err};
}

// A fresh scratch directory per test, removed afterwards.
struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name) {
    dir = fs::temp_directory_path() / ("attnbounds-test-" + std::to_string(getpid()) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
};

// The test manifest with its relative program paths made absolute, optionally edited.
json test_manifest() {
  json m = json::parse(slurp(kFixtures / "test_manifest.json"));
  for (auto& r : m["runs"])
    if (r.contains("program")) r["program"] = (kFixtures / "fake_attnbounds.sh").string();
  return m;
}

// Output text without the provenance lines that legitimately differ between two runs (the
// command line names the output directory; the date is the date).
std::string without_volatile_provenance(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find("command line: ") == std::string::npos && line.find("date: ") == std::string::npos &&
        line.find("\"command_line\": ") == std::string::npos && line.find("\"date\": ") == std::string::npos &&
        line.find("| command line |") == std::string::npos && line.find("| date |") == std::string::npos)
      out += line + "\n";
  return out;
}

int count_lines_containing(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t i = text.find(needle); i != std::string::npos; i = text.find(needle, i + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("tables render as Markdown, CSV and booktabs LaTeX", "[reproduce][tables]") {
  Table t;
  t.id = "demo";
  t.title = "Demo: q·log2 N";
  t.headers = {"name", "N", "value"};
  t.rows = {{"a_b", "8", "0.5"}, {"x, \"y\"", "16", "n/a"}};
  t.notes = {"50% done"};
  CHECK(render_csv(t) == "name,N,value\na_b,8,0.5\n\"x, \"\"y\"\"\",16,n/a\n");
  CHECK(render_markdown(t) ==
        "**Demo: q·log2 N**\n\n| name | N | value |\n|---|---:|---:|\n| a\\_b | 8 | 0.5 |\n| x, \"y\" | 16 | n/a |\n\n- 50% done\n");
  std::string tex = render_latex(t);
  CHECK(tex.find("\\begin{tabular}{lS[table-format=2]S[table-format=1.1]}") != std::string::npos);
  CHECK(tex.find("{n/a}") != std::string::npos);  // text in a number column is braced for siunitx
  std::string fl = render_latex_float(t);
  CHECK(fl.find("\\caption{Demo: q$\\cdot$log2 N}\\label{tab:demo}") < fl.find("\\begin{tabular}"));  // caption above
  CHECK(fl.find("50\\% done") != std::string::npos);
  auto top = tex.find("\\toprule"), mid = tex.find("\\midrule"), bottom = tex.find("\\bottomrule");
  REQUIRE(top != std::string::npos);
  REQUIRE(mid != std::string::npos);
  REQUIRE(bottom != std::string::npos);
  CHECK(top < mid);
  CHECK(mid < bottom);
  CHECK(tex.find("a\\_b & 8 & 0.5 \\\\") != std::string::npos);
  CHECK(latex_escape("a_b & 50% ≥ #1 {x} ~") == "a\\_b \\& 50\\% $\\geq$ \\#1 \\{x\\} \\textasciitilde{}");
  CHECK(parse_table_format("latex") == TableFormat::Latex);
  CHECK_THROWS_AS(parse_table_format("xlsx"), std::invalid_argument);
}

TEST_CASE("rationals for display: short exact decimals as is, others rounded in the stated direction", "[reproduce][tables]") {
  CHECK(format_rational(Rational(49, 1000), 6, -1) == "0.049");
  CHECK(format_rational(Rational(-31, 100), 6, -1) == "-0.31");
  CHECK(format_rational(Rational(1, 3), 4, -1) == "0.3333");
  CHECK(format_rational(Rational(1, 3), 4, 1) == "0.3334");
  CHECK(format_rational(Rational(123456789, 1000), 4, 1) == "1.235e+05");
}

TEST_CASE("a table from JSON objects, for grid commands' --format", "[reproduce][tables]") {
  json cells = json::parse(R"([{"m":1,"p":2,"verdict":"fails"},{"m":2,"p":2,"verdict":"holds","extra":{"bits":4}}])");
  Table t = table_from_objects("grid", "Grid", cells, {{"m", "m"}, {"p", "p"}, {"verdict", "verdict"}, {"bits", "extra.bits"}});
  CHECK(render(t, TableFormat::Csv) == "m,p,verdict,bits\n1,2,fails,n/a\n2,2,holds,4\n");
  CHECK(render(t, TableFormat::Json).find("\"rows\"") != std::string::npos);
}

TEST_CASE("numeric text recognition", "[reproduce][tables]") {
  for (const char* yes : {"0", "-3", "0.125", "1e-3", "-1.5E+2", "2/3", ".5"}) CHECK(looks_numeric(yes));
  for (const char* no : {"", "-", "1.2.3", "e5", "holds", "1/", "3 4", "n/a"}) CHECK_FALSE(looks_numeric(no));
}

TEST_CASE("expressions for derived columns", "[reproduce][expr]") {
  VariableLookup vars = [](const std::string& name) -> std::optional<double> {
    if (name == "q") return 2.0;
    if (name == "N") return 16.0;
    if (name == "m") return 3.0;
    return std::nullopt;
  };
  CHECK(*evaluate_expression("q*log2(N)", vars) == 8.0);
  CHECK(*evaluate_expression("1 + 2 * 3", vars) == 7.0);
  CHECK(*evaluate_expression("(1 + 2) * 3", vars) == 9.0);
  CHECK(*evaluate_expression("2^3^2", vars) == 512.0);  // right associative
  CHECK(*evaluate_expression("-2^2", vars) == -4.0);
  CHECK(*evaluate_expression("m*q >= 6", vars) == 1.0);
  CHECK(*evaluate_expression("m*q > 6 || N < 4", vars) == 0.0);
  CHECK(*evaluate_expression("max(q, m, 1) - min(N, 5)", vars) == -2.0);
  CHECK(*evaluate_expression("ceil(log2(N + 1))", vars) == 5.0);
  CHECK_FALSE(evaluate_expression("q * missing", vars).has_value());
  CHECK_THROWS_AS(evaluate_expression("q *", vars), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_expression("foo(1)", vars), std::invalid_argument);
  CHECK_THROWS_AS(validate_expression("(1"), std::invalid_argument);
}

TEST_CASE("JSON paths and volatile-key stripping", "[reproduce][json]") {
  json j = json::parse(R"({"a":{"b":[{"c":1},{"c":"0.5"}]},"p*":7,"seconds":1.5,"w":{"seconds":2,"x":[{"threads":4,"y":1}]}})");
  REQUIRE(find_path(j, "a.b[1].c"));
  CHECK(*find_path(j, "a.b[1].c") == "0.5");
  CHECK(*find_path(j, "[\"p*\"]") == 7);
  CHECK(find_path(j, "a.b[2].c") == nullptr);
  CHECK(find_path(j, "a.zz") == nullptr);
  CHECK(find_path(j, "") == &j);
  CHECK(display_value(json::parse("[1,2,3]")) == "1,2,3");
  CHECK(display_value(json(true)) == "yes");
  CHECK(display_value(json(nullptr)) == "n/a");
  CHECK(*numeric_text(json("2/3")) == "2/3");
  CHECK_FALSE(numeric_text(json("holds")));
  strip_keys(j, {"seconds", "threads"});
  CHECK(j.dump() == R"({"a":{"b":[{"c":1},{"c":"0.5"}]},"p*":7,"w":{"x":[{"y":1}]}})");
}

TEST_CASE("manifest validation names the bad entry", "[reproduce][manifest]") {
  json m = test_manifest();
  CHECK_NOTHROW(parse_manifest(m));
  json bad = m;
  bad["runs"][1]["argz"] = json::array();
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("run 'fake-holds'") || Catch::Contains("unknown field 'argz'"));
  bad = m;
  bad["tables"][0]["runs"].push_back("no-such-run");
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("unknown run 'no-such-run'"));
  bad = m;
  bad["tables"][1]["columns"][2]["expr"] = "q * (log2(N)";
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("missing ')'"));
  bad = m;
  bad["plots"][0]["x"] = "nope";
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("x column 'nope'"));
  bad = m;
  bad["runs"][2]["expect"] = "passes";
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("expect must be holds, fails, undecided or ok"));
}

TEST_CASE("the default manifest is the shipped file and covers every claim and reduction", "[reproduce][manifest]") {
  std::string file = slurp(kSource / "manifests" / "default.json");
  CHECK(default_manifest_text() == file);
  Manifest m = parse_manifest_text(default_manifest_text(), "default");
  auto has = [&](const std::string& verb, const std::string& name) {
    for (const auto& r : m.runs)
      if (r.args.size() >= 2 && r.args[0] == verb && r.args[1] == name) return true;
    return false;
  };
  for (const char* claim : {"qsa-rip", "qsa-cyclic", "match2", "match3-third-order", "match3-hinted", "match3-window"})
    CHECK(has("check", claim));
  for (const char* reduction : {"qsa-disj", "match3-disj", "fc-rank", "rnn-index"}) CHECK(has("lower", reduction));
  for (const char* f : {"disj", "eq", "index", "ip"}) CHECK(has("cc", f));
  CHECK(has("min-m", "qsa-rip"));
  for (const char* claim : {"qsa-cyclic", "qsa-rip", "match2", "match3-third-order"}) CHECK(has("min-p", claim));
  std::set<std::string> tables;
  for (const auto& t : m.tables) tables.insert(t.id);
  for (const char* id : {"thm2_mk_star", "p_star_qsa", "thm4_grid", "thm7_grid", "min_p_constructions"}) CHECK(tables.count(id));
  CHECK(m.plots.size() >= 5);
  // Every negative twin is expected to fail.
  for (const auto& r : m.runs)
    if (r.id.find("low-temperature") != std::string::npos || r.id.find("too-small") != std::string::npos)
      CHECK(r.expect == std::vector<std::string>{"fails"});
}

TEST_CASE("reproduce on the test manifest: report, tables, plots, errors, determinism", "[reproduce]") {
  Scratch s("reproduce");
  spit(s.dir / "manifest.json", test_manifest().dump(2));
  auto manifest = (s.dir / "manifest.json").string();
  Cli first = run_cli({"reproduce", "--manifest", manifest, "--out", (s.dir / "a").string()});
  INFO(first.err);
  // Some runs produce no result (bad input, crash, not JSON, unknown command): exit 3.
  CHECK(first.status == 3);
  CHECK(first.out.find("report: ") != std::string::npos);
  CHECK(first.err.find("[1/14] real-list") != std::string::npos);  // progress on stderr

  const fs::path a = s.dir / "a";
  for (const char* f : {"report.md", "results.json", "timings.json"}) CHECK(fs::file_size(a / f) > 0);
  for (const char* t : {"summary", "mk", "grid", "pstar"})
    for (const char* ext : {".md", ".csv", ".tex"}) CHECK(fs::file_size(a / "tables" / (std::string(t) + ext)) > 0);

  SECTION("tables hold the values of the runs' JSON, n/a where a field is missing") {
    // Tidy CSV: a run column, one column per variable (ids), exact values, empty = missing.
    CHECK(slurp(a / "tables" / "mk.csv").rfind("run,N,q,qlog,mk,note\nfake-min-m,8,1,3,4,\n", 0) == 0);
    CHECK(slurp(a / "tables" / "grid.csv").rfind("run,m,p,bits,verdict\nfake-lower-grid,1,1,1,fails\n", 0) == 0);
    CHECK(slurp(a / "tables" / "pstar.csv") == "run,construction,N,q,p_star\nfake-min-p-N8-q1,fake,8,1,5\nfake-min-p-N8-q2,fake,8,2,6\nfake-min-p-N16-q1,fake,16,1,9\nfake-min-p-N16-q2,fake,16,2,10\n");
    std::string summary = slurp(a / "tables" / "summary.csv");
    CHECK(summary.find("fake-holds,fake-holds,holds,10,0.05,0.1,\n") != std::string::npos);
    CHECK(summary.find("fake-bad-input,fake-bad-input,error,,,,\n") != std::string::npos);
    std::string tex = slurp(a / "tables" / "mk.tex");
    CHECK(tex.find("\\begin{tabular}{S[table-format=") != std::string::npos);
    CHECK(tex.find("{N} & {q} & {$q\\log_2 N$} & {m$'$*} & note \\\\") != std::string::npos);
    CHECK(count_lines_containing(tex, "\\toprule") == 1);
    CHECK(count_lines_containing(tex, "\\midrule") == 1);
    CHECK(count_lines_containing(tex, "\\bottomrule") == 1);
    CHECK(count_lines_containing(tex, " \\\\\n") == 5);  // header + 4 rows
    CHECK(slurp(a / "tables" / "grid.md").find("| 2 | FAIL (2) \\* | pass (4) \\* |") != std::string::npos);
  }

  SECTION("results.json is complete and free of timings; timings.json has them") {
    std::string text = slurp(a / "results.json");
    CHECK(text.find("\"seconds\"") == std::string::npos);
    CHECK(text.find("\"threads\"") == std::string::npos);
    json r = json::parse(text);
    CHECK(r["tool"] == "attnbounds");
    CHECK(r["summary"]["exit_status"] == 3);
    std::map<std::string, json> runs;
    for (const auto& run : r["runs"]) runs[run["id"].get<std::string>()] = run;
    CHECK(runs["fake-holds"]["status"] == "holds");
    CHECK(runs["fake-holds"]["result"]["worst"]["value"] == "0.05");
    CHECK(runs["fake-fails"]["status"] == "fails");
    CHECK(runs["fake-fails"]["as_expected"] == true);
    CHECK(runs["fake-bad-input"]["status"] == "error");
    CHECK(runs["fake-bad-input"]["exit_status"] == 2);
    CHECK(runs["fake-bad-input"]["error"].get<std::string>().find("--N: must be in 2..64") != std::string::npos);
    CHECK(runs["fake-crash"]["exit_status"] == 4);
    CHECK(runs["fake-not-json"]["status"] == "error");
    CHECK(runs["fake-unknown"]["status"] == "not-available");
    // An unknown option of an existing claim is bad input, not a missing claim.
    CHECK(runs["fake-bad-option"]["status"] == "error");
    CHECK(runs["fake-bad-option"]["error"].get<std::string>().find("bad input (exit 2)") != std::string::npos);
    CHECK(runs["real-list"]["status"] == "ok");
    CHECK(runs["real-list"]["command"] == "attnbounds list --json");
    json t = json::parse(slurp(a / "timings.json"));
    CHECK(t["runs"].size() == 14);
    CHECK(t["runs"][1]["seconds"].is_number());
    CHECK(t["runs"][1]["threads"] == 2);
  }

  SECTION("report.md names verdicts, key numbers, counterexamples, errors and commands") {
    std::string md = slurp(a / "report.md");
    CHECK(md.find("**Statement** [ours]: The fake claim holds for c >= 2.") != std::string::npos);
    CHECK(md.find("status: **holds (expected holds)** (exit 0)") != std::string::npos);
    CHECK(md.find("check fake --c 1 --json`") != std::string::npos);
    CHECK(md.find("margin (bound − worst upper): 0.049") != std::string::npos);
    CHECK(md.find("absent number: n/a") != std::string::npos);
    CHECK(md.find("counterexample (re-verified by the command)") != std::string::npos);
    CHECK(md.find("- S: `[3, 4]`") != std::string::npos);  // the witness as a list, not raw JSON
    CHECK(md.find("bad input (exit 2): attnbounds: error: --N: must be in 2..64 (got 1)") != std::string::npos);
    CHECK(md.find("exit status 4 (internal error)") != std::string::npos);
    CHECK(md.find("not available in this build") != std::string::npos);
    CHECK(md.find("## Runs without a result") != std::string::npos);
  }

  SECTION("plots: gnuplot scripts and pgfplots sources, rendered when gnuplot is installed") {
    for (const char* p : {"mk", "pstar", "grid", "pstar_by_construction"}) {
      CHECK(fs::file_size(a / "plots" / (std::string(p) + ".gp")) > 0);
      std::string tex = slurp(a / "plots" / (std::string(p) + ".tex"));
      CHECK(tex.find("\\begin{axis}") != std::string::npos);
      CHECK(tex.find("\\addplot") != std::string::npos);
      if (find_program("gnuplot")) {
        CHECK(fs::file_size(a / "plots" / (std::string(p) + ".png")) > 1000);
        CHECK(slurp(a / "plots" / (std::string(p) + ".pdf")).rfind("%PDF", 0) == 0);
      }
    }
    std::string gp = slurp(a / "plots" / "grid.gp");
    CHECK(gp.find("$series0 << EOD\n1 1\n1 2\n2 1\nEOD") != std::string::npos);  // the FAIL cells
    CHECK(gp.find("title 'FAIL'") != std::string::npos);
  }

  SECTION("the same manifest gives byte-identical tables, plot sources and results.json") {
    Cli second = run_cli({"reproduce", "--manifest", manifest, "--out", (s.dir / "b").string(), "--quiet"});
    CHECK(second.status == 3);
    CHECK(second.err.empty());
    const fs::path b = s.dir / "b";
    CHECK(without_volatile_provenance(slurp(a / "results.json")) == without_volatile_provenance(slurp(b / "results.json")));
    int compared = 0;
    for (const char* sub : {"tables", "plots"})
      for (const auto& e : fs::directory_iterator(a / sub)) {
        auto ext = e.path().extension();
        if (ext != ".md" && ext != ".csv" && ext != ".tex" && ext != ".gp") continue;
        INFO(e.path());
        CHECK(without_volatile_provenance(slurp(e.path())) == without_volatile_provenance(slurp(b / sub / e.path().filename())));
        ++compared;
      }
    CHECK(compared >= 4 * 4 + 4 * 2);
    // The timings differ (the fake prints a random `seconds`) and stay out of results.json.
    CHECK(slurp(a / "timings.json") != slurp(b / "timings.json"));
  }
}

TEST_CASE("reproduce without gnuplot says so and still writes the plot sources", "[reproduce]") {
  Scratch s("nognuplot");
  json m = test_manifest();
  spit(s.dir / "manifest.json", m.dump(2));
  Cli r = run_cli({"reproduce", "--manifest", (s.dir / "manifest.json").string(), "--out", (s.dir / "o").string(),
                   "--gnuplot", "/nonexistent/gnuplot", "--quiet"});
  CHECK(r.status == 3);  // unchanged: plots are not results
  CHECK(r.err.find("gnuplot not found") != std::string::npos);
  CHECK(slurp(s.dir / "o" / "report.md").find("Not rendered: gnuplot not found") != std::string::npos);
  CHECK(fs::exists(s.dir / "o" / "plots" / "mk.gp"));
  CHECK(fs::exists(s.dir / "o" / "plots" / "mk.tex"));
  CHECK_FALSE(fs::exists(s.dir / "o" / "plots" / "mk.pdf"));
}

TEST_CASE("reproduce exit status: 0 all as expected, 1 a contradicted expectation", "[reproduce]") {
  Scratch s("expect");
  json m = test_manifest();
  json keep = json::array();
  for (const auto& r : m["runs"])
    if (r["id"] == "fake-holds" || r["id"] == "fake-fails" || r["id"] == "real-list") keep.push_back(r);
  m["runs"] = keep;
  m["tables"] = json::array();
  m["plots"] = json::array();
  spit(s.dir / "ok.json", m.dump(2));
  CHECK(run_cli({"reproduce", "--manifest", (s.dir / "ok.json").string(), "--out", (s.dir / "o1").string(), "--quiet"}).status == 0);

  m["runs"][2]["expect"] = "holds";  // fake-fails now contradicts the manifest
  spit(s.dir / "bad.json", m.dump(2));
  Cli r = run_cli({"reproduce", "--manifest", (s.dir / "bad.json").string(), "--out", (s.dir / "o2").string(), "--quiet", "--json"});
  CHECK(r.status == 1);
  json summary = json::parse(r.out)["summary"];
  CHECK(summary["unexpected"] == json::array({"fake-fails"}));
  CHECK(slurp(s.dir / "o2" / "report.md").find("UNEXPECTED, the manifest expects holds") != std::string::npos);

  SECTION("--only selects runs; skipped runs are not reported") {
    Cli only = run_cli({"reproduce", "--manifest", (s.dir / "bad.json").string(), "--out", (s.dir / "o3").string(), "--quiet",
                        "--only", "holds,list"});
    CHECK(only.status == 0);
    json res = json::parse(slurp(s.dir / "o3" / "results.json"));
    CHECK(res["runs"].size() == 2);
  }
}

TEST_CASE("reproduce kills a run at its time limit and reports it", "[reproduce]") {
  Scratch s("timeout");
  json m = {{"name", "t"},
            {"runs", {{{"id", "slow"}, {"theorem", "T"}, {"args", {"sleep", "long"}},
                       {"program", (kFixtures / "fake_attnbounds.sh").string()}, {"timeout_seconds", 1}}}}};
  spit(s.dir / "m.json", m.dump());
  auto start = std::chrono::steady_clock::now();
  Cli r = run_cli({"reproduce", "--manifest", (s.dir / "m.json").string(), "--out", (s.dir / "o").string(), "--quiet"});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.status == 3);
  CHECK(seconds < 10);
  json res = json::parse(slurp(s.dir / "o" / "results.json"));
  CHECK(res["runs"][0]["status"] == "timeout");
}

TEST_CASE("reproduce rejects a bad manifest with one line naming it", "[reproduce]") {
  Scratch s("badmanifest");
  spit(s.dir / "m.json", R"({"runs": [{"id": "x", "theorem": "T", "args": ["list"], "expected": "ok"}]})");
  Cli r = run_cli({"reproduce", "--manifest", (s.dir / "m.json").string(), "--out", (s.dir / "o").string()});
  CHECK(r.status == 2);
  CHECK(r.err.find("--manifest: run 'x': unknown field 'expected'") != std::string::npos);
  CHECK(count_lines_containing(r.err, "\n") == 1);
  spit(s.dir / "broken.json", "{not json");
  CHECK(run_cli({"reproduce", "--manifest", (s.dir / "broken.json").string()}).status == 2);
  CHECK(run_cli({"reproduce", "--manifest", (s.dir / "missing.json").string()}).status == 2);
}

TEST_CASE("reproduce with the built-in manifest (registry run only) and its listing", "[reproduce]") {
  Scratch s("default");
  Cli r = run_cli({"reproduce", "--out", (s.dir / "o").string(), "--only", "registry", "--quiet", "--gnuplot", "none"});
  CHECK(r.status == 0);
  json res = json::parse(slurp(s.dir / "o" / "results.json"));
  REQUIRE(res["runs"].size() == 1);
  CHECK(res["runs"][0]["status"] == "ok");
  for (const char* t : {"thm2_mk_star", "p_star_qsa", "thm4_grid", "thm7_grid", "min_p_constructions"})
    CHECK(fs::exists(s.dir / "o" / "tables" / (std::string(t) + ".tex")));
  Cli printed = run_cli({"reproduce", "--print-manifest"});
  CHECK(printed.status == 0);
  CHECK(printed.out == default_manifest_text());
  Cli listed = run_cli({"reproduce", "--list"});
  CHECK(listed.out.find("attnbounds check qsa-cyclic --N 16 --q 2 --eps 0.1") != std::string::npos);
}

// The fast runs of the default manifest that feed every table except the slow grids: the real
// commands, checked against known facts (docs/qsa.md, docs/lower.md).
const char* kFastDefaultRuns = "cc-,thm2-min-m-grid,min-p-qsa-cyclic-N8,min-p-match3-hinted,thm4-grid-random,thm4-random-below";

TEST_CASE("the default manifest's tables fill in from the real commands", "[reproduce]") {
  Scratch s("default-real");
  Cli r = run_cli({"reproduce", "--out", (s.dir / "o").string(), "--quiet", "--only", kFastDefaultRuns});
  INFO(r.err);
  CHECK(r.status == 0);
  json res = json::parse(slurp(s.dir / "o" / "results.json"));
  CHECK(res["summary"]["without_result"].empty());
  CHECK(res["summary"]["unexpected"].empty());
  // D(DISJ_3) = 4, rank 8, fooling set 8, one-way 3 (math §3.3).
  CHECK(slurp(s.dir / "o" / "tables" / "cc_facts.csv").find("DISJ,3,4,8,8,8,3,3\n") != std::string::npos);
  // m'* for N = 8, q = 1 over seeds 1-3: min 5, median 7, max 8 (docs/qsa.md).
  CHECK(slurp(s.dir / "o" / "tables" / "thm2_mk_star.csv").find("thm2-min-m-grid,8,1,3,5,7,8,15,2.3333333333333335\n") != std::string::npos);
  // qsa-cyclic N = 8: p* = 6 (q = 1) and 18 (q = 2) under embed:float:P.
  std::string pstar = slurp(s.dir / "o" / "tables" / "p_star_qsa.csv");
  CHECK(pstar.find("min-p-qsa-cyclic-N8-q1,qsa-cyclic,8,1,5,3,6\n") != std::string::npos);
  CHECK(pstar.find("min-p-qsa-cyclic-N8-q2,qsa-cyclic,8,2,9,6,18\n") != std::string::npos);
  // Theorem 4, random model, q = 5: below the message-bit line (m·p < 5) every cell is a collision.
  std::string grid = slurp(s.dir / "o" / "tables" / "thm4_grid.md");
  CHECK(grid.find("| random, m = 1 | coll. 2 \\* | coll. 3 \\* | coll. 4 \\* |") != std::string::npos);
  // The message-bit line bits = q = 5 is a vertical segment over the data's y range (1..32 messages).
  std::string gp = slurp(s.dir / "o" / "plots" / "thm4_grid.gp");
  CHECK(gp.find("5 0\n5 33.24\nEOD") != std::string::npos);
  CHECK(gp.find("message-bit line: bits = q = 5") != std::string::npos);
  for (const char* plot : {"thm2_mk_star", "p_star_qsa", "thm4_grid"}) {
    INFO(plot);
    CHECK(fs::exists(s.dir / "o" / "plots" / (std::string(plot) + ".gp")));
    if (find_program("gnuplot")) CHECK(fs::file_size(s.dir / "o" / "plots" / (std::string(plot) + ".png")) > 0);
  }
}

TEST_CASE("the LaTeX tables and pgfplots figures compile inside a document", "[reproduce][latex]") {
  auto pdflatex = find_program("pdflatex");
  if (!pdflatex) {
    WARN("pdflatex not installed: LaTeX compilation not checked");
    return;
  }
  Scratch s("latex");
  Cli r = run_cli({"reproduce", "--out", (s.dir / "o").string(), "--quiet", "--gnuplot", "none", "--only", kFastDefaultRuns});
  REQUIRE(r.status == 0);
  std::string doc =
      "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs,siunitx,longtable}\n\\usepackage{pgfplots}\n"
      "\\pgfplotsset{compat=1.16}\n\\newcommand{\\attnboundsplotdir}{" + (s.dir / "o" / "plots").string() + "/}\n\\begin{document}\n";
  int inputs = 0;
  for (const char* sub : {"tables", "plots"})
    for (const auto& e : fs::directory_iterator(s.dir / "o" / sub))
      if (e.path().extension() == ".tex") {
        doc += "\\input{" + e.path().string() + "}\n\\clearpage\n";
        ++inputs;
      }
  doc += "\\end{document}\n";
  CHECK(inputs == 2 * 13 + 6);  // each table as fragment and float, each plot
  spit(s.dir / "paper.tex", doc);
  ProcessResult tex = run_process(*pdflatex, {"-interaction=nonstopmode", "-halt-on-error", "paper.tex"}, 120, s.dir);
  INFO(tex.out.substr(tex.out.size() > 3000 ? tex.out.size() - 3000 : 0));
  CHECK(tex.exit_status == 0);
  CHECK(fs::exists(s.dir / "paper.pdf"));
}

// ---------------------------------------------------------------- regress

namespace {

json fake_baseline(const std::string& c) {
  return {{"name", "fake-c"},
          {"args", {"check", "fake", "--c", c}},
          {"program", (kFixtures / "fake_attnbounds.sh").string()},
          {"expect", {{"$exit", 0}, {"verdict", "holds"}, {"$counterexample", false}, {"cases", 10}, {"worst.value", "0.05"}}},
          {"tolerances", {{"worst.value", "1e-9"}}}};
}

}  // namespace

TEST_CASE("regress passes on a matching baseline and catches a changed construction parameter", "[regress]") {
  Scratch s("regress");
  json b = fake_baseline("3");
  spit(s.dir / "fake.json", b.dump(2));
  Cli ok = run_cli({"regress", "--baselines", s.dir.string()});
  INFO(ok.out << ok.err);
  CHECK(ok.status == 0);
  CHECK(ok.out.find("all 1 baselines match") != std::string::npos);

  // The temperature drops below what the claim needs: verdict, exit status, counterexample and
  // worst case all change, and every one is named.
  b["args"][3] = "1";
  spit(s.dir / "fake.json", b.dump(2));
  Cli bad = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(bad.status == 1);
  CHECK(bad.out.find("DIFF   fake-c") != std::string::npos);
  CHECK(bad.out.find("verdict: expected \"holds\", got \"fails\"") != std::string::npos);
  CHECK(bad.out.find("$exit: expected 0, got 1") != std::string::npos);
  CHECK(bad.out.find("$counterexample: expected false, got true") != std::string::npos);
  CHECK(bad.out.find("worst.value: expected \"0.05\", got \"0.4\"  (differs by 0.35 (tolerance 1e-9))") != std::string::npos);
  CHECK(bad.out.find("1 of 1 baselines differ") != std::string::npos);
  Cli as_json = run_cli({"regress", "--baselines", s.dir.string(), "--json"});
  CHECK(as_json.status == 1);
  json report = json::parse(as_json.out);
  CHECK(report["differ"] == 1);
  CHECK(report["checks"][0]["diffs"].size() == 4);
  const json& diffs = report["checks"][0]["diffs"];
  CHECK(std::any_of(diffs.begin(), diffs.end(), [](const json& d) { return d["field"] == "verdict"; }));

  SECTION("numbers compare within the stated tolerance") {
    json t = fake_baseline("3");
    t["expect"]["worst.value"] = "0.0500000001";
    spit(s.dir / "fake.json", t.dump(2));
    CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
    t["expect"]["worst.value"] = "0.050001";
    spit(s.dir / "fake.json", t.dump(2));
    CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 1);
    t["expect"]["cases"] = "10";  // integers as strings compare as numbers, exactly
    t["expect"]["worst.value"] = "0.05";
    spit(s.dir / "fake.json", t.dump(2));
    CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
  }

  SECTION("--update approves the new results") {
    Cli up = run_cli({"regress", "--baselines", s.dir.string(), "--update"});
    CHECK(up.status == 0);
    CHECK(up.out.find("verdict: \"holds\" -> \"fails\"") != std::string::npos);
    json updated = json::parse(slurp(s.dir / "fake.json"));
    CHECK(updated["expect"]["verdict"] == "fails");
    CHECK(updated["expect"]["$counterexample"] == true);
    CHECK(updated["args"][3] == "1");
    CHECK(updated["tolerances"]["worst.value"] == "1e-9");
    CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
  }

  SECTION("--update records a new baseline's whole normalised result") {
    fs::remove(s.dir / "fake.json");
    spit(s.dir / "new.json", json{{"args", {"check", "fake", "--c", "2"}}, {"program", (kFixtures / "fake_attnbounds.sh").string()}}.dump());
    Cli unrecorded = run_cli({"regress", "--baselines", s.dir.string()});
    CHECK(unrecorded.status == 1);  // nothing recorded yet: not a silent pass
    CHECK(fs::exists(s.dir / "new.new.json"));
    CHECK(run_cli({"regress", "--baselines", s.dir.string(), "--update"}).status == 0);
    json filled = json::parse(slurp(s.dir / "new.json"));
    CHECK(filled["exit_status"] == 0);
    CHECK(filled["result"]["verdict"] == "holds");
    CHECK(filled["result"]["worst"]["value"] == "0.05");
    CHECK(!filled["result"].contains("seconds"));  // volatile: the fake CLI changes it on every call
    CHECK(!filled["result"].contains("threads"));
    CHECK(!filled.contains("expect"));
    CHECK(filled["tolerances"]["worst.value"] == "1e-12");
    CHECK(!fs::exists(s.dir / "new.new.json"));       // approved: the review copy is gone
    CHECK(!fs::exists(s.dir / "new.json.tmp"));       // written through a temporary and renamed
    CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
  }
}

TEST_CASE("regress compares the whole result and writes the new output beside the baseline", "[regress]") {
  Scratch s("regress-whole");
  const std::string fake = (kFixtures / "fake_attnbounds.sh").string();
  spit(s.dir / "fake.json", json{{"name", "fake-c"}, {"args", {"check", "fake", "--c", "3"}}, {"program", fake}}.dump());
  REQUIRE(run_cli({"regress", "--baselines", s.dir.string(), "--update"}).status == 0);
  json recorded = json::parse(slurp(s.dir / "fake.json"));
  REQUIRE(recorded["result"]["params"]["c"] == 3);

  // A field no `expect` names changes (a witness): the whole-output comparison sees it.
  json tampered = recorded;
  tampered["result"]["worst"]["witness"]["S"] = {1, 3};
  spit(s.dir / "fake.json", tampered.dump(2));
  Cli r = run_cli({"regress", "--baselines", s.dir.string()});
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find("worst.witness.S[1]: expected 3, got 2") != std::string::npos);
  CHECK(r.out.find("new output written to") != std::string::npos);
  json fresh = json::parse(slurp(s.dir / "fake.new.json"));
  CHECK(fresh["result"] == recorded["result"]);
  CHECK(fresh["args"] == recorded["args"]);
  CHECK(json::parse(slurp(s.dir / "fake.json")) == tampered);  // the baseline itself is untouched

  // A type change is a difference even when the value reads the same.
  tampered = recorded;
  tampered["result"]["cases"] = "10";
  spit(s.dir / "fake.json", tampered.dump(2));
  Cli typed = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(typed.status == 1);
  CHECK(typed.out.find("cases: expected \"10\", got 10") != std::string::npos);

  // Matching again removes the stale review copy.
  spit(s.dir / "fake.json", recorded.dump(2));
  CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
  CHECK(!fs::exists(s.dir / "fake.new.json"));

  // An --only name that selects nothing is a usage error, not "0 checked".
  Cli none = run_cli({"regress", "--baselines", s.dir.string(), "--only", "nosuch"});
  CHECK(none.status == 2);
  CHECK(none.err.find("--only: no baseline name contains 'nosuch'") != std::string::npos);
  CHECK(std::count(none.err.begin(), none.err.end(), '\n') == 1);
}

TEST_CASE("diff_json: paths, numbers, tolerances and array lengths", "[regress]") {
  json a = json::parse(R"({"x":{"y":[1,2,3]},"v":"0.1","n":3})");
  CHECK(diff_json(a, a, json::object()).empty());
  json b = json::parse(R"({"x":{"y":[1,5]},"v":"0.1000001","n":3.0,"extra":true})");
  auto d = diff_json(a, b, json::object());
  REQUIRE(d.size() == 4);
  CHECK(d[0].field == "x.y[1]");
  CHECK(d[1].field == "x.y");  // 3 elements against 2
  CHECK(d[2].field == "v");
  CHECK(d[3].field == "extra");
  CHECK(diff_json(a, b, json{{"v", "1e-6"}}).size() == 3);  // v within its tolerance
  CHECK(diff_json(a, b, json{{"v", "1e-8"}}).size() == 4);
  CHECK(normalise_result(json::parse(R"({"version":"9","seconds":1,"a":{"threads":2,"b":1}})")) == json::parse(R"({"a":{"b":1}})"));
}

TEST_CASE("regress on the real binary catches a perturbed construction parameter", "[reproduce][regress]") {
  // A real theorem baseline: qsa-cyclic at its certified temperature holds.  Lowering the
  // temperature to c = 1 on purpose must make regress fail and name the fields that changed.
  Scratch s("regress-perturbed");
  json b = json::parse(slurp(kSource / "tests" / "baselines" / "thm3-qsa-cyclic-N16-q2.json"));
  REQUIRE(b["result"]["verdict"] == "holds");
  spit(s.dir / "thm3.json", b.dump(2));
  Cli same = run_cli({"regress", "--baselines", s.dir.string()});
  INFO(same.out);
  CHECK(same.status == 0);
  b["args"].push_back("--c");
  b["args"].push_back("1");
  spit(s.dir / "thm3.json", b.dump(2));
  Cli r = run_cli({"regress", "--baselines", s.dir.string()});
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find("DIFF   thm3-qsa-cyclic-N16-q2") != std::string::npos);
  CHECK(r.out.find("verdict: expected \"holds\", got \"fails\"") != std::string::npos);
  CHECK(r.out.find("$exit: expected 0, got 1") != std::string::npos);
  CHECK(r.out.find("worst.value: expected") != std::string::npos);
  CHECK(r.out.find("1 of 1 baselines differ") != std::string::npos);
  json fresh = json::parse(slurp(s.dir / "thm3.new.json"));
  CHECK(fresh["exit_status"] == 1);
  CHECK(fresh["result"]["verdict"] == "fails");
  CHECK(fresh["result"]["worst"].contains("witness"));
}

TEST_CASE("regress on the real binary catches a changed expectation", "[regress]") {
  Scratch s("regress-real");
  json b = json::parse(slurp(kSource / "tests" / "baselines" / "registry-list.json"));
  spit(s.dir / "list.json", b.dump(2));
  CHECK(run_cli({"regress", "--baselines", s.dir.string()}).status == 0);
  b["result"]["command"] = "lisst";
  spit(s.dir / "list.json", b.dump(2));
  Cli r = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(r.status == 1);
  CHECK(r.out.find("command: expected \"lisst\", got \"list\"") != std::string::npos);
}

TEST_CASE("regress: a missing directory is bad input, an empty one a warning, a malformed baseline bad input", "[regress]") {
  Scratch s("regress-empty");
  Cli none = run_cli({"regress", "--baselines", (s.dir / "nothing").string()});
  CHECK(none.status == 2);
  CHECK(none.out.empty());
  CHECK(none.err.find("--baselines: no such directory") != std::string::npos);
  CHECK(std::count(none.err.begin(), none.err.end(), '\n') == 1);
  Cli empty = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(empty.status == 0);
  CHECK(empty.err.find("warning: no baseline files") != std::string::npos);
  spit(s.dir / "bad.json", R"({"args": "check"})");
  Cli bad = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("bad.json: 'args' must be a non-empty array") != std::string::npos);
}

TEST_CASE("regress: inputs the fuzzer found are refused as bad input (tests/fuzz_regressions)", "[regress][fuzz]") {
  // A baseline whose second "name" is an array made regress end with an uncaught type error.
  Scratch s("regress-fuzz");
  std::filesystem::copy_file(std::filesystem::path(ATTNBOUNDS_SOURCE_DIR) / "tests/fuzz_regressions/fuzz_baseline/name-array.json",
                             s.dir / "found.json");
  Cli r = run_cli({"regress", "--baselines", s.dir.string()});
  CHECK(r.status == 2);
  CHECK(r.err.find("found.json: 'name' must be a string") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("baseline fields: $exit and $counterexample", "[regress]") {
  json fails = json::parse(R"({"verdict":"fails","worst":{"witness":{"x":[1]}}})");
  json holds = json::parse(R"({"verdict":"holds","worst":{"witness":{"x":[1]}}})");
  CHECK(baseline_field(fails, 1, "$counterexample") == true);
  CHECK(baseline_field(holds, 0, "$counterexample") == false);
  CHECK(baseline_field(json::parse(R"({"verdict":"fails"})"), 1, "$counterexample") == false);
  CHECK(baseline_field(nullptr, 2, "$exit") == 2);
  CHECK(baseline_field(nullptr, 2, "verdict").is_null());
}

extern char** environ;

// ---- interruptions, --resume, the lock, process groups (docs/reproduce.md) ----

namespace {

// `attnbounds ARGS` started in the background with stdout and stderr to files, so a test can
// signal it while it works.  Killed (SIGKILL) if the test leaves it running.
struct Background {
  pid_t pid = -1;
  fs::path out, err;
  Background(const std::vector<std::string>& args, const fs::path& dir, const std::string& log) {
    out = dir / "bg.out";
    err = dir / "bg.err";
    // Everything is prepared before fork: the child only makes async-signal-safe calls.
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(out_fd >= 0);
    REQUIRE(err_fd >= 0);
    std::vector<char*> argv = {const_cast<char*>(ATTNBOUNDS_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_text = {"ATTNBOUNDS_FAKE_LOG=" + log};
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("ATTNBOUNDS_FAKE_LOG=", 0) != 0) env_text.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
      execve(ATTNBOUNDS_BINARY, argv.data(), envp.data());
      _exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
  }
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  ~Background() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// Fields of /proc/PID/stat after the command name: state, ppid, pgrp.
struct ProcStat {
  char state = '?';
  long ppid = 0, pgrp = 0;
};
std::optional<ProcStat> proc_stat(const fs::path& stat_file) {
  std::string text = slurp(stat_file);
  std::size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text.substr(close + 1));
  ProcStat s;
  if (!(in >> s.state >> s.ppid >> s.pgrp)) return std::nullopt;
  return s;
}

// Live (not zombie) processes in process group `pgid`.
int live_in_group(long pgid) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    auto s = proc_stat(e.path() / "stat");
    if (s && s->pgrp == pgid && s->state != 'Z' && s->state != 'X') ++n;
  }
  return n;
}

std::vector<long> children_of(long pid) {
  std::vector<long> kids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    auto s = proc_stat(e.path() / "stat");
    if (s && s->ppid == pid && s->state != 'Z') kids.push_back(std::atol(e.path().filename().c_str()));
  }
  return kids;
}

bool wait_until(const std::function<bool()>& ready, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

// The run records of a journal, in order (header and completion lines left out).
std::vector<std::string> journal_runs(const fs::path& dir) {
  std::vector<std::string> ids;
  std::istringstream in(slurp(dir / "reproduce-journal.jsonl"));
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("run")) ids.push_back(j["run"].get<std::string>());
  }
  return ids;
}

// Four fake runs; the third blocks until DIR/gate exists, which is where the tests interrupt.
json gate_manifest() {
  const std::string fake = (kFixtures / "fake_attnbounds.sh").string();
  auto run = [&](const std::string& id, std::vector<std::string> args) {
    return json{{"id", id}, {"theorem", "T"}, {"args", args}, {"program", fake}};
  };
  return {{"name", "gate"},
          {"runs", {run("a-holds", {"check", "fake", "--c", "3"}), run("b-fails", {"check", "fake", "--c", "1"}),
                    run("c-wait", {"wait", "gate"}), run("d-grid", {"min-m", "fake-grid"})}},
          {"tables", {{{"id", "t"}, {"title", "T"}, {"runs", {"a-holds", "b-fails", "c-wait"}},
                       {"columns", {{{"id", "status"}, {"path", "$status"}}, {{"id", "cases"}, {"path", "cases"}}}}}}}};
}

std::vector<std::string> gate_args(const fs::path& manifest, const fs::path& out) {
  return {"reproduce", "--manifest", manifest.string(), "--out", out.string(), "--gnuplot", "none", "--allow-programs"};
}

int count_lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("reproduce killed midway: the journal keeps finished runs, --resume finishes them identically", "[reproduce][interrupt]") {
  Scratch s("kill");
  spit(s.dir / "m.json", gate_manifest().dump(2));
  const fs::path o = s.dir / "o", log = s.dir / "calls.log";
  Background bg(gate_args(s.dir / "m.json", o), s.dir, log.string());
  const long reproduce_pid = bg.pid;
  std::vector<long> kids;
  REQUIRE(wait_until([&] { return journal_runs(o).size() == 2 && !(kids = children_of(reproduce_pid)).empty(); }, 20));
  const long child = kids.at(0);
  // The child leads its own process group, apart from reproduce's.
  REQUIRE(proc_stat(fs::path("/proc") / std::to_string(child) / "stat")->pgrp == child);
  CHECK(proc_stat(fs::path("/proc") / std::to_string(reproduce_pid) / "stat")->pgrp != child);

  kill(reproduce_pid, SIGKILL);
  int status = bg.wait();
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  // No orphan: the kernel kills the child when reproduce dies (PR_SET_PDEATHSIG).
  CHECK(wait_until([&] { return live_in_group(child) == 0; }, 5));
  CHECK(journal_runs(o) == std::vector<std::string>{"a-holds", "b-fails"});
  CHECK_FALSE(fs::exists(o / "report.md"));
  CHECK_FALSE(fs::exists(o / "results.json"));

  // Without --resume the interrupted run is not silently discarded.
  Cli plain = run_cli(gate_args(s.dir / "m.json", o));
  CHECK(plain.status == 2);
  CHECK(plain.err.find("holds an interrupted reproduce (2 finished runs") != std::string::npos);
  CHECK(plain.err.find("--resume") != std::string::npos);
  CHECK(count_lines(plain.err) == 1);

  // A record cut short by a kill (no newline) is dropped, and cut off before anything is appended.
  {
    std::ofstream torn(o / "reproduce-journal.jsonl", std::ios::app | std::ios::binary);
    torn << R"({"run":"c-wait","fingerprint":{"argv":[)";
  }
  // --resume redoes only the two unfinished runs (the fake logs every call).
  spit(o / "gate", "");
  fs::remove(log);
  auto resume_args = gate_args(s.dir / "m.json", o);
  resume_args.push_back("--resume");
  setenv("ATTNBOUNDS_FAKE_LOG", log.c_str(), 1);
  Cli resumed = run_cli(resume_args);
  unsetenv("ATTNBOUNDS_FAKE_LOG");
  INFO(resumed.err);
  CHECK(resumed.status == 0);
  CHECK(slurp(log) == "wait gate --json\nmin-m fake-grid --json\n");
  CHECK(resumed.err.find("4 runs (2 from the journal)") != std::string::npos);
  CHECK(journal_runs(o) == std::vector<std::string>{"a-holds", "b-fails", "c-wait", "d-grid"});
  {
    std::istringstream lines(slurp(o / "reproduce-journal.jsonl"));
    int n = 0;
    for (std::string line; std::getline(lines, line); ++n) CHECK_FALSE(json::parse(line, nullptr, false).is_discarded());
    CHECK(n == 6);  // header, four runs, completion
  }
  json timings = json::parse(slurp(o / "timings.json"));
  CHECK(timings["runs"][0]["from_journal"] == true);
  CHECK(timings["runs"][2]["from_journal"] == false);

  // The same outputs as one uninterrupted run.
  const fs::path r = s.dir / "r";
  fs::create_directories(r);
  spit(r / "gate", "");
  REQUIRE(run_cli(gate_args(s.dir / "m.json", r)).status == 0);
  for (const char* f : {"results.json", "report.md", "tables/t.md", "tables/t.csv", "tables/t.tex", "tables/t-float.tex"}) {
    INFO(f);
    CHECK(!slurp(r / f).empty());
    CHECK(without_volatile_provenance(slurp(o / f)) == without_volatile_provenance(slurp(r / f)));
  }

  SECTION("a resumed run redoes a finished run whose command line changed") {
    json m = gate_manifest();
    m["runs"][0]["args"] = {"check", "fake", "--c", "4"};
    spit(s.dir / "m2.json", m.dump(2));
    fs::remove(log);
    setenv("ATTNBOUNDS_FAKE_LOG", log.c_str(), 1);
    auto args = gate_args(s.dir / "m2.json", o);
    args.push_back("--resume");
    Cli again = run_cli(args);
    unsetenv("ATTNBOUNDS_FAKE_LOG");
    CHECK(again.status == 0);
    CHECK(slurp(log) == "check fake --c 4 --json\n");
    CHECK(json::parse(slurp(o / "results.json"))["runs"][0]["result"]["params"]["c"] == 4);
  }
}

TEST_CASE("reproduce on SIGTERM kills its child group, keeps the journal and the previous report; a second reproduce is refused", "[reproduce][interrupt]") {
  Scratch s("term");
  spit(s.dir / "m.json", gate_manifest().dump(2));
  const fs::path o = s.dir / "o", log = s.dir / "calls.log";
  // A complete earlier run in the same folder.
  fs::create_directories(o);
  spit(o / "gate", "");
  REQUIRE(run_cli(gate_args(s.dir / "m.json", o)).status == 0);
  const std::string previous_report = slurp(o / "report.md");
  REQUIRE(!previous_report.empty());
  fs::remove(o / "gate");

  Background bg(gate_args(s.dir / "m.json", o), s.dir, log.string());
  std::vector<long> kids;
  REQUIRE(wait_until([&] { return journal_runs(o).size() == 2 && !(kids = children_of(bg.pid)).empty(); }, 20));
  const long child = kids.at(0);
  // While it works, the earlier report is kept under a name that says so.
  CHECK_FALSE(fs::exists(o / "report.md"));
  CHECK(slurp(o / "report.previous.md") == previous_report);

  Cli second = run_cli(gate_args(s.dir / "m.json", o));
  CHECK(second.status == 2);
  CHECK(second.err.find("another reproduce (pid " + std::to_string(bg.pid) + ") is writing to") != std::string::npos);
  CHECK(count_lines(second.err) == 1);

  kill(bg.pid, SIGTERM);
  int status = bg.wait();
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
  CHECK(live_in_group(child) == 0);  // killed and reaped before reproduce ended
  CHECK(slurp(bg.err).find("interrupted by SIGTERM: 2 finished runs are recorded") != std::string::npos);
  CHECK(journal_runs(o) == std::vector<std::string>{"a-holds", "b-fails"});
  CHECK_FALSE(fs::exists(o / "report.md"));
  CHECK(slurp(o / "report.previous.md") == previous_report);

  spit(o / "gate", "");
  auto resume_args = gate_args(s.dir / "m.json", o);
  resume_args.push_back("--resume");
  CHECK(run_cli(resume_args).status == 0);
  CHECK(without_volatile_provenance(slurp(o / "report.md")) == without_volatile_provenance(previous_report));
  CHECK_FALSE(fs::exists(o / "report.previous.md"));
}

TEST_CASE("reproduce: a timed-out run kills its whole process group and leaves no stale certificate", "[reproduce][interrupt]") {
  Scratch s("stale");
  const std::string fake = (kFixtures / "fake_attnbounds.sh").string();
  json m = {{"name", "stale"},
            {"runs", {{{"id", "slow-cert"}, {"theorem", "T"}, {"args", {"sleep", "tree", "--certificate", "certificates/x.json"}},
                       {"program", fake}, {"timeout_seconds", 1}}}}};
  spit(s.dir / "m.json", m.dump());
  const fs::path o = s.dir / "o";
  fs::create_directories(o / "certificates");
  spit(o / "certificates" / "x.json", "{\"stale\": true}");
  Cli r = run_cli({"reproduce", "--manifest", (s.dir / "m.json").string(), "--out", o.string(), "--quiet", "--gnuplot", "none"});
  CHECK(r.status == 3);
  CHECK(json::parse(slurp(o / "results.json"))["runs"][0]["status"] == "timeout");
  // An earlier run's certificate is gone, so no later replay can read it as this run's.
  CHECK_FALSE(fs::exists(o / "certificates" / "x.json"));
  // The fake's own child (sleep 30) died with it.
  const long group = std::atol(slurp(o / "tree.pid").c_str());
  REQUIRE(group > 1);
  CHECK(wait_until([&] { return live_in_group(group) == 0; }, 5));

  // --resume reuses a timed-out run under the same time limit only.
  std::vector<std::string> resume = {"reproduce", "--manifest", (s.dir / "m.json").string(), "--out", o.string(), "--gnuplot", "none", "--resume"};
  Cli same = run_cli(resume);
  CHECK(same.status == 3);
  CHECK(same.err.find("1 runs (1 from the journal)") != std::string::npos);
  resume.insert(resume.end(), {"--timeout", "1.5"});
  Cli longer = run_cli(resume);
  CHECK(longer.status == 3);
  CHECK(longer.err.find("1 runs (0 from the journal)") != std::string::npos);
  CHECK(longer.err.find("killed after the time limit of 1.5 s") != std::string::npos);
}

TEST_CASE("learn qsa --out stopped by SIGTERM ends by the signal and leaves no result.json", "[learn][interrupt]") {
  if (!learning_available()) {
    WARN("no LibTorch in this build");
    return;
  }
  Scratch s("learnstop");
  const fs::path out = s.dir / "run";
  fs::create_directories(out);
  spit(out / "result.json", "{\"earlier\": true}\n");  // an earlier complete run in the same folder
  // Far more epochs than the test waits for: training is under way when the signal comes.
  Background bg({"learn", "qsa", "--N", "8", "--q", "2", "--samples", "200000", "--epochs", "100000", "--patience", "100000",
                 "--no-certify", "--threads", "1", "--gnuplot", "", "--out", out.string()},
                s.dir, (s.dir / "unused.log").string());
  REQUIRE(wait_until([&] { return fs::exists(out / "result.previous.json"); }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(bg.pid, SIGTERM);
  const auto start = std::chrono::steady_clock::now();
  int status = bg.wait();
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 20);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
  CHECK(slurp(bg.err).find("learn interrupted by SIGTERM during training") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "result.json"));
  CHECK(slurp(out / "result.previous.json") == "{\"earlier\": true}\n");  // not destroyed
  CHECK_FALSE(fs::exists(out / "model.safetensors"));
}

TEST_CASE("learn match2 --out stopped by SIGINT ends by the signal and leaves no result.json", "[learn][interrupt]") {
  if (!learning_available()) {
    WARN("no LibTorch in this build");
    return;
  }
  Scratch s("learnm2stop");
  const fs::path out = s.dir / "run";
  fs::create_directories(out);
  spit(out / "result.json", "{\"earlier\": true}\n");  // an earlier complete run in the same folder
  // Far more epochs than the test waits for: training is under way when the signal comes.
  Background bg({"learn", "match2", "--N", "4", "--M", "8", "--samples", "200000", "--epochs", "100000", "--patience",
                 "100000", "--no-certify", "--threads", "1", "--out", out.string()},
                s.dir, (s.dir / "unused.log").string());
  REQUIRE(wait_until([&] { return fs::exists(out / "result.previous.json"); }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(bg.pid, SIGINT);
  const auto start = std::chrono::steady_clock::now();
  int status = bg.wait();
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 20);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT));
  CHECK(slurp(bg.err) == "attnbounds: learn interrupted by SIGINT during training; '" + out.string() +
                             "' holds an incomplete run (no result.json)\n");
  CHECK_FALSE(fs::exists(out / "result.json"));
  CHECK(slurp(out / "result.previous.json") == "{\"earlier\": true}\n");  // not destroyed
  CHECK_FALSE(fs::exists(out / "model.safetensors"));
  CHECK_FALSE(fs::exists(out / "history.csv"));

  // A run that finishes replaces the earlier result and removes the one set aside.
  Cli done = run_cli({"learn", "match2", "--N", "3", "--M", "4", "--samples", "50", "--epochs", "2", "--no-certify",
                      "--threads", "1", "--json", "--out", out.string()});
  INFO(done.err);
  REQUIRE(done.status == 0);
  CHECK(json::parse(slurp(out / "result.json"))["params"]["N"] == 3);
  CHECK_FALSE(fs::exists(out / "result.previous.json"));
}

TEST_CASE("reproduce never overwrites a file under the journal's name that is not its journal", "[reproduce][interrupt]") {
  Scratch s("foreign");
  spit(s.dir / "m.json", gate_manifest().dump(2));
  const fs::path o = s.dir / "o";
  fs::create_directories(o);
  spit(o / "reproduce-journal.jsonl", "my notes\n");
  for (bool resume : {false, true}) {
    auto args = gate_args(s.dir / "m.json", o);
    if (resume) args.push_back("--resume");
    Cli r = run_cli(args);
    CHECK(r.status == 2);
    CHECK(r.err.find("reproduce-journal.jsonl' is not a reproduce journal") != std::string::npos);
    CHECK(count_lines(r.err) == 1);
    CHECK(slurp(o / "reproduce-journal.jsonl") == "my notes\n");
  }

  SECTION("a record that lost a field is not reused: the run is executed again") {
    fs::remove(o / "reproduce-journal.jsonl");
    spit(o / "gate", "");
    REQUIRE(run_cli(gate_args(s.dir / "m.json", o)).status == 0);
    std::string edited;
    std::istringstream in(slurp(o / "reproduce-journal.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      if (j.value("run", "") == "a-holds") j["outcome"].erase("status");
      edited += j.dump() + "\n";
    }
    spit(o / "reproduce-journal.jsonl", edited);
    const fs::path log = s.dir / "calls.log";
    setenv("ATTNBOUNDS_FAKE_LOG", log.c_str(), 1);
    auto args = gate_args(s.dir / "m.json", o);
    args.push_back("--resume");
    Cli r = run_cli(args);
    unsetenv("ATTNBOUNDS_FAKE_LOG");
    CHECK(r.status == 0);
    CHECK(slurp(log) == "check fake --c 3 --json\n");
    CHECK(json::parse(slurp(o / "results.json"))["runs"][0]["status"] == "holds");
  }
}

TEST_CASE("check --certificate killed while it streams keeps the previous certificate; the partial file is refused", "[output][interrupt]") {
  Scratch s("certkill");
  const fs::path cert = s.dir / "c.cbor.zst";
  spit(cert, "previous\n");
  // 635,376 subsets on one thread: seconds of streaming, killed as soon as the partial file grows.
  Background bg({"check", "qsa-cyclic", "--N", "64", "--q", "4", "--eps", "0.01", "--threads", "1", "--certificate", cert.string()},
                s.dir, (s.dir / "unused.log").string());
  auto partial = [&]() -> std::optional<fs::path> {
    for (const auto& e : fs::directory_iterator(s.dir))
      if (e.path().filename().string().rfind(".c.cbor.zst.partial-", 0) == 0 && fs::file_size(e.path()) > 0) return e.path();
    return std::nullopt;
  };
  REQUIRE(wait_until([&] { return partial().has_value(); }, 60));
  kill(bg.pid, SIGKILL);
  bg.wait();
  CHECK(slurp(cert) == "previous\n");  // never replaced by a half-written certificate
  const fs::path left = *partial();
  CHECK(left.filename().string()[0] == '.');  // hidden, named as partial
  Cli replay = run_cli({"replay", left.string()});
  CHECK(replay.status == 2);  // incomplete: malformed, not a verdict
  CHECK(replay.err.find("truncated") != std::string::npos);
}
