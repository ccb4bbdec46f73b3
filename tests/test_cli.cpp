// Command-line contract (math §7): end to end through the built binary, plus the shared
// parameter validators every claim command calls.
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/common.hpp"

using namespace attnbounds;

namespace {


using RunResult = attnbounds_test::CliRun;
// stdout and stderr captured separately; a command that ignores bad input and starts a long
// check fails the test (120 s limit) instead of hanging.
RunResult run_cli(const std::string& args) { return attnbounds_test::run_attnbounds(args, 120, true); }

std::size_t line_count(const std::string& s) {
  std::size_t lines = 0;
  for (char c : s) lines += c == '\n';
  return lines + (!s.empty() && s.back() != '\n' ? 1 : 0);
}

// Exit 2, nothing on stdout, exactly one line on stderr containing every expected fragment.
void expect_usage_error(const std::string& args, const std::vector<std::string>& fragments) {
  RunResult r = run_cli(args);
  INFO("attnbounds " << args << "\nstderr: " << r.err << "stdout: " << r.out);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(line_count(r.err) == 1);
  for (const auto& f : fragments) CHECK(r.err.find(f) != std::string::npos);
  CHECK(r.err.find("internal error") == std::string::npos);
}

std::string usage_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("--version and --help", "[cli]") {
  RunResult v = run_cli("--version");
  CHECK(v.status == 0);
  CHECK(v.out.find(std::string("attnbounds ") + ATTNBOUNDS_VERSION) != std::string::npos);
  RunResult h = run_cli("--help");
  CHECK(h.status == 0);
  for (const char* verb : {"list", "check", "eval", "lower", "cc", "min-p", "min-m", "replay", "reproduce", "regress"}) {
    INFO(verb);
    CHECK(h.out.find(std::string("\n  ") + verb + " ") != std::string::npos);
  }
  CHECK(h.out.find("Exit status") != std::string::npos);
  for (const char* verb : {"list", "check", "lower", "cc"}) {
    RunResult sub = run_cli(std::string(verb) + " --help");
    INFO(verb);
    CHECK(sub.status == 0);
    CHECK(sub.out.find("Usage") != std::string::npos);
  }
}

TEST_CASE("list --json prints one JSON object with provenance for every entry", "[cli]") {
  RunResult r = run_cli("list --json");
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  nlohmann::json j = nlohmann::json::parse(r.out);  // throws (fails the test) if not JSON
  CHECK(j["tool"] == "attnbounds");
  CHECK(j["command"] == "list");
  REQUIRE(j["entries"].is_array());
  for (const auto& e : j["entries"]) {
    CHECK(e.contains("verb"));
    CHECK(e.contains("name"));
    CHECK(e.contains("theorem"));
    CHECK(!e["provenance"].get<std::string>().empty());
    CHECK(e.contains("description"));
  }
  RunResult text = run_cli("list");
  CHECK(text.status == 0);
  CHECK(text.out.find("provenance") != std::string::npos);
}

TEST_CASE("bad subcommands and claims exit 2 with one line naming them", "[cli]") {
  expect_usage_error("frob", {"unknown subcommand 'frob'", "list", "check", "regress"});
  expect_usage_error("", {"subcommand", "list"});
  expect_usage_error("check nosuch", {"claim", "'nosuch'"});
  expect_usage_error("lower nosuch", {"reduction", "'nosuch'"});
  expect_usage_error("cc nosuch", {"function", "'nosuch'"});
  expect_usage_error("min-p nosuch", {"claim", "'nosuch'"});
  expect_usage_error("check", {"claim", "needs a claim name"});
  expect_usage_error("check --json", {"claim"});
  expect_usage_error("list --bogus", {"--bogus"});
  expect_usage_error("list extra", {"extra"});
}

TEST_CASE("every registered claim, reduction and function answers --help and rejects bad --semantics", "[cli]") {
  RunResult r = run_cli("list --json");
  REQUIRE(r.status == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const auto& e : j["entries"]) {
    const std::string cmd = e["verb"].get<std::string>() + " " + e["name"].get<std::string>();
    INFO(cmd);
    RunResult help = run_cli(cmd + " --help");
    CHECK(help.status == 0);
    CHECK(help.out.find("--json") != std::string::npos);  // math §7: every subcommand accepts --json
    if (help.out.find("--semantics") == std::string::npos) continue;
    // A malformed --semantics must be refused (exit 2, one line naming it), never ignored.  When
    // the command also has a required option (eval's --input), CLI11 may name that one first.
    RunResult bad = run_cli(cmd + " --semantics float:1");
    INFO("stderr: " << bad.err << "stdout: " << bad.out);
    CHECK(bad.status == 2);
    CHECK(bad.out.empty());
    CHECK(line_count(bad.err) == 1);
    CHECK((bad.err.find("--semantics") != std::string::npos || bad.err.find("is required") != std::string::npos));
  }
}

TEST_CASE("shared validators: UsageError naming the parameter and its range", "[cli]") {
  CHECK_NOTHROW(validate_N_q(8, 1));
  CHECK_NOTHROW(validate_N_q(8, 8));
  CHECK_NOTHROW(validate_N_q(1, 1));
  std::string q_big = usage_message([] { validate_N_q(8, 9); });
  CHECK(q_big.find("--q") == 0);
  CHECK(q_big.find("1..8") != std::string::npos);
  CHECK(q_big.find("got 9") != std::string::npos);
  std::string q_small = usage_message([] { validate_N_q(8, 0); });
  CHECK(q_small.find("--q") == 0);
  CHECK(q_small.find("got 0") != std::string::npos);
  std::string n_small = usage_message([] { validate_N_q(0, 1); });
  CHECK(n_small.find("--N") == 0);
  CHECK(n_small.find(">= 1") != std::string::npos);
  CHECK(usage_message([] { validate_N(-3); }).find("--N") == 0);
  CHECK(usage_message([] { validate_N(3, "--n"); }).empty());
  CHECK(usage_message([] { validate_N(0, "--n"); }).find("--n") == 0);

  std::string m = usage_message([] { validate_M(1); });
  CHECK(m.find("--M") == 0);
  CHECK(m.find(">= 2") != std::string::npos);
  CHECK(m.find("got 1") != std::string::npos);
  CHECK(usage_message([] { validate_M(2); }).empty());

  std::string p = usage_message([] { validate_precision(1); });
  CHECK(p.find("--p") == 0);
  CHECK(p.find("2..4096") != std::string::npos);
  CHECK(usage_message([] { validate_precision(4097, "--p-max"); }).find("--p-max") == 0);
  CHECK(usage_message([] { validate_precision(2); }).empty());

  std::string missing = usage_message([] { require_readable_file("--certificate", "/nonexistent/cert.json"); });
  CHECK(missing.find("--certificate") == 0);
  CHECK(missing.find("/nonexistent/cert.json") != std::string::npos);
  CHECK(missing.find("No such file") != std::string::npos);
  CHECK(usage_message([] { require_readable_file("--manifest", "/tmp"); }).find("directory") != std::string::npos);
  CHECK(usage_message([] { require_readable_file("--manifest", ""); }).find("--manifest") == 0);
  CHECK(usage_message([] { require_readable_file("--input", ATTNBOUNDS_BINARY); }).empty());

  CHECK(parse_rational_param("--eps", "0.1") == Rational(1, 10));
  std::string eps = usage_message([] { parse_rational_param("--eps", "zero"); });
  CHECK(eps.find("--eps") == 0);
  CHECK(eps.find("2/3") != std::string::npos);

  CommonOptions opts;
  opts.semantics = "embed:float:1";
  std::string sem = usage_message([&] { semantics_of(opts); });
  CHECK(sem.find("--semantics") == 0);
  CHECK(sem.find("2..4096") != std::string::npos);
  opts.semantics = "tiled:fp16:4";
  CHECK(semantics_of(opts).tile == 4);

  std::string range = usage_message([] { require_range("--H", 0LL, 1LL, 64LL); });
  CHECK(range == "--H: must be in 1..64 (got 0)");
  CHECK(usage_message([] { require_size("subsets", 1000, 100, true); }).empty());
  CHECK(usage_message([] { require_size("subsets", 1000, 100, false); }).find("--force") == 0);
}

TEST_CASE("the top-level verbs answer --help", "[cli]") {
  for (const char* verb : {"replay", "reproduce", "regress", "eval", "min-p", "min-m"}) {
    INFO(verb);
    RunResult r = run_cli(std::string(verb) + " --help");
    CHECK(r.status == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
}

TEST_CASE("result skeleton has the math §7 fields and exit statuses", "[cli]") {
  json r = make_result("check", "demo", "Theorem 0", "ours", json{{"N", 4}}, "exact");
  finish_result(r, Verdict::Fails, 0.5, 2);
  for (const char* key : {"tool", "version", "command", "claim", "theorem", "provenance", "params", "semantics",
                          "verdict", "seconds", "threads"})
    CHECK(r.contains(key));
  CHECK(r["verdict"] == "fails");
  CHECK(status_of(r) == 1);
  CHECK(exit_status_for(Verdict::Holds) == 0);
  CHECK(exit_status_for(Verdict::Undecided) == 3);
  CHECK(render_text(r).find("check demo: fails") == 0);
}

TEST_CASE("audit: bad input across the subcommands exits 2 with one line naming the parameter", "[cli]") {
  // Each of these used to be accepted (ran and printed a verdict), crashed (SIGFPE, GLPK abort,
  // exit 4 on a JSON type error or bad_alloc) or named the wrong parameter.
  expect_usage_error("check qsa-cyclic --N 4 --q 2 --seed -1", {"--seed", "0..2^64-1"});
  expect_usage_error("lower qsa-disj --q 1000000000", {"--q", "1..30"});
  expect_usage_error("lower qsa-disj --q 3 --N 1000000000", {"--N", "2q+1..4096"});
  expect_usage_error("lower qsa-disj --q 3 --model qsa-cyclic --eps 0", {"--eps", "(0, 1)"});
  expect_usage_error("lower qsa-disj --q 3 --model qsa-cyclic --eps 5", {"--eps", "(0, 1)"});
  expect_usage_error("lower qsa-disj --q 3 --model qsa-cyclic --c -1", {"--c", ">= 0"});
  expect_usage_error("lower qsa-disj --q 3 --model qsa-rip --mk -5", {"--mk", "0..4096"});
  expect_usage_error("lower match3-disj --n 3 --c 0", {"--c", "> 0"});
  expect_usage_error("lower match3-disj --n 3 --c -1", {"--c", "> 0"});
  expect_usage_error("lower match3-disj --n 1000000000", {"--n", "1..12"});
  expect_usage_error("lower match3-disj --n 3 --grid --grid-p 1", {"--grid-p", "2..64"});
  expect_usage_error("lower fc-rank --N 6 --k -5", {"--k", "1..4096"});
  expect_usage_error("lower rnn-index --model linear --r 0", {"--r", "1..64"});
  expect_usage_error("lower rnn-index --model automaton --S 0", {"--S", "1..24"});
  expect_usage_error("cc disj --n 3 --max-nodes 0", {"--max-nodes"});
  expect_usage_error("cc disj --n 3 --max-nodes -1", {"--max-nodes"});
  expect_usage_error("check qsa-rip --N 4000 --q 1 --mk 4096", {"--force", "key table"});
  expect_usage_error("min-m qsa-rip --N 4 --q 5", {"--q", "q <= N"});
  expect_usage_error("min-m qsa-rip --N 4, --q 2", {"--N", "comma-separated"});
  expect_usage_error("eval match3-hinted --input 1,2,3 --hints \"2 2|1 3|1 2\"", {"--hints", "distinct"});
  expect_usage_error("check match2 --N 4 --M 8 --semantics embed:fixed:1.2", {"--semantics", "fixed:1.2", "integer bits"});
  expect_usage_error("regress --timeout nan", {"--timeout", "> 0"});
  expect_usage_error("reproduce --timeout nan --out /tmp/attnbounds_cli_nan", {"--timeout", ">= 0"});
  expect_usage_error("check qsa-cyclic --N 4 --q 2 --semantics tiled:fp16:4", {"--semantics", "exact, embed"});
  expect_usage_error("check qsa-cyclic --N 4 --q 2 --semantics embed:fixed:1.4", {"--semantics", "I >= 2"});
  expect_usage_error("check qsa-cyclic --N 1000000000 --q 2", {"--N", "1..100000"});
  expect_usage_error("check qsa-cyclic --N 99999 --q 3", {"--force", "cases"});
  expect_usage_error("check qsa-cyclic --N 4 --q 0", {"--q", "1..4"});
  expect_usage_error("check qsa-cyclic --N 4 --q 2 --eps 1", {"--eps", "(0, 1)"});
  expect_usage_error("check match2 --N 4 --M 1", {"--M", "2.."});
  expect_usage_error("check match2 --N 2 --M 1048576", {"--force"});
  expect_usage_error("check match3-third-order --N 4 --M 9 --semantics tiled:fp16:2", {"--semantics"});
  expect_usage_error("lower match3-disj --n 3 --semantics exact", {"--semantics", "tiled"});
  expect_usage_error("lower rnn-index --model linear --state-format fixed:3", {"--state-format", "fixed:I.F"});
  expect_usage_error("cc matrix --matrix /nonexistent/m.txt", {"--matrix", "/nonexistent/m.txt"});
  expect_usage_error("replay /nonexistent/cert.json", {"FILE", "/nonexistent/cert.json"});
  expect_usage_error("lower fc-rank --weights /nonexistent/w.txt", {"--weights"});
  expect_usage_error("check qsa-cyclic --N 4 --q 2 --threads 100000", {"--threads", "0..1024"});
}

TEST_CASE("audit: malformed eval --input files exit 2 naming --input", "[cli]") {
  char dir_template[] = "/tmp/attnbounds_cli_input_XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  // z_i a number instead of an array: was exit 4 (nlohmann type_error).
  expect_usage_error("eval qsa-cyclic --input " + write("zscalar.json", R"({"z": [1, 2], "y": [[1], [2]]})"),
                     {"--input", "z_i"});
  // A y entry of 2^32 + 1 used to truncate to 1 and pass.
  expect_usage_error("eval qsa-cyclic --input " + write("yhuge.json", R"({"z": [[0.5], [0.5]], "y": [[4294967297], [2]]})"),
                     {"--input", "1..N"});
  expect_usage_error("eval qsa-cyclic --input " + write("bad.json", R"({"z": [[1]], "y": )"), {"--input", "not JSON"});
  expect_usage_error("eval qsa-cyclic --input " + write("dup.json", R"({"z": [[0.5], [0.5]], "y": [[1, 1], [1, 2]]})"),
                     {"--input", "repeated"});
  expect_usage_error("eval qsa-cyclic --input " + write("big.json", R"({"z": [[2], [0]], "y": [[1], [2]]})"),
                     {"--input", "unit ball"});
  expect_usage_error("eval qsa-rip --input " + dir, {"--input"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("audit: huge M does not build M^2 tables (eval match2 --no-residual used to run for hours)", "[cli]") {
  RunResult nr = run_cli("eval match2 --no-residual --input 1,2 --M 65536 --json");
  INFO(nr.err);
  CHECK(nr.status == 0);
  RunResult r = run_cli("eval match2 --input 1,2,5 --M 8192 --json");
  CHECK(r.status == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["errors"] == 0);
}

TEST_CASE("audit: malformed certificates make replay exit 2, never exit 4 or allocate C(N, q)", "[cli]") {
  char dir_template[] = "/tmp/attnbounds_cli_replay_XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template, good = dir + "/good.json";
  REQUIRE(run_cli("check qsa-cyclic --N 5 --q 2 --certificate " + good).status == 0);
  nlohmann::json cert = nlohmann::json::parse(std::ifstream(good));
  auto variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json c = cert;
    edit(c);
    std::ofstream(dir + "/" + name) << c.dump();
    return dir + "/" + name;
  };
  expect_usage_error("replay " + variant("nstr.json", [](auto& c) { c["N"] = "five"; }), {"FILE", "N must be an integer"});
  expect_usage_error("replay " + variant("claim.json", [](auto& c) { c["claim"] = "foo"; }), {"FILE", "claim"});
  expect_usage_error("replay " + variant("d0.json", [](auto& c) { c["d"] = 0; }), {"FILE", "d must be an integer in 1..4096"});
  expect_usage_error("replay " + variant("sstr.json", [](auto& c) { c["queries"][0]["S"] = {"a", "b"}; }),
                     {"FILE", "malformed certificate"});
  expect_usage_error("replay " + variant("big.json",
                                         [&cert](auto& c) {
                                           c["N"] = 60;
                                           c["q"] = 30;
                                           c["keys"] = nlohmann::json::array();
                                           for (int j = 0; j < 60; ++j) c["keys"].push_back(cert["keys"][0]);
                                         }),
                     // Rows are checked as they stream in: the first one already has the wrong size.
                     {"FILE", "queries[0].S must have q = 30 elements"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("audit: the scripted bad-input sweep (scripts/bad_input_cases.txt) has no violation", "[cli]") {
  // ~280 malformed commands over every subcommand: exit 2, one stderr line, empty stdout, no hang/OOM.
  const std::string command = std::string("bash ") + ATTNBOUNDS_SOURCE_DIR + "/scripts/bad_input_sweep.sh " +
                              ATTNBOUNDS_BINARY + " 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int raw = pclose(pipe);
  INFO(out);
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 0);
  CHECK(out.find(" 0 violations") != std::string::npos);
}

TEST_CASE("audit: a result without a verdict never maps to exit 0", "[cli]") {
  CHECK(status_of(json::object()) == 3);
  CHECK(status_of(json{{"verdict", "holds"}}) == 0);
  CHECK(status_of(json{{"verdict", "fails"}}) == 1);
  CHECK(status_of(json{{"verdict", "undecided"}}) == 3);
}
