// Outputs are complete or absent (atomic files, checked writes, exit 2 on a full disk or a closed
// stdout) and a manifest cannot make reproduce write outside --out or run another program.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "core/atomic_file.hpp"
#include "core/input_file.hpp"
#include "core/safe_path.hpp"

namespace {

namespace fs = std::filesystem;
using attnbounds_test::run_attnbounds;
using nlohmann::json;

struct TempDir : attnbounds_test::TempDir {
  TempDir() : attnbounds_test::TempDir("attnbounds_outsafe_") {}
};

using attnbounds_test::slurp;

int line_count(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

void expect_exit2_one_line(const std::string& args, const std::string& fragment = "") {
  auto r = run_attnbounds(args, 120, true);
  INFO("attnbounds " << args << "\nstderr: " << r.err << "stdout: " << r.out);
  CHECK(r.status == 2);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.find("internal error") == std::string::npos);
  if (!fragment.empty()) CHECK(r.err.find(fragment) != std::string::npos);
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("AtomicFile: the old file survives until commit, and nothing is left behind", "[output]") {
  using namespace attnbounds;
  TempDir tmp;
  const fs::path target = tmp.dir / "out.txt";
  std::ofstream(target) << "old";
  {
    AtomicFile f(target.string());
    f.stream() << "new content";
    CHECK(slurp(target) == "old");
  }  // no commit: abandoned
  CHECK(slurp(target) == "old");
  CHECK(entries_in(tmp.dir) == 1);
  {
    AtomicFile f(target.string());
    f.stream() << "new content";
    f.commit();
  }
  CHECK(slurp(target) == "new content");
  CHECK(entries_in(tmp.dir) == 1);
  // A process that dies mid-write leaves the old file and only a hidden ".partial" file.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto* f = new AtomicFile(target.string());
    f->stream() << "half";
    f->stream().flush();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(slurp(target) == "new content");
  for (const auto& e : fs::directory_iterator(tmp.dir))
    if (e.path() != target) CHECK(e.path().filename().string().rfind(".out.txt.partial-", 0) == 0);
  // A full device and a missing directory are errors that name the path.
  AtomicFile full("/dev/full");
  full.stream() << std::string(1 << 16, 'x');
  CHECK_THROWS_AS(full.commit(), OutputError);
  CHECK_THROWS_AS(AtomicFile((tmp.dir / "no" / "such" / "dir.txt").string()), OutputError);
  CHECK_THROWS_AS(write_file_atomically(tmp.dir.string(), "x"), OutputError);
  CHECK_THROWS_AS(require_writable_output((tmp.dir / "no" / "x").string()), OutputError);
}

TEST_CASE("bounded inputs: special files, size limits and nesting depth", "[output]") {
  using namespace attnbounds;
  TempDir tmp;
  const fs::path fifo = tmp.dir / "fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_AS(read_bounded_file(fifo.string(), 1000), std::invalid_argument);  // and does not block
  CHECK_THROWS_AS(read_bounded_file("/dev/zero", 1000), std::invalid_argument);
  CHECK_THROWS_AS(read_bounded_file(tmp.dir.string(), 1000), std::invalid_argument);
  std::ofstream(tmp.dir / "big") << std::string(2000, 'a');
  CHECK_THROWS_AS(read_bounded_file((tmp.dir / "big").string(), 1000), std::invalid_argument);
  CHECK(read_bounded_file((tmp.dir / "big").string(), 2000).size() == 2000);
  CHECK(parse_json_bounded(std::string(64, '[') + std::string(64, ']'), "x").is_array());
  CHECK_THROWS_AS(parse_json_bounded(std::string(65, '[') + std::string(65, ']'), "x"), std::invalid_argument);
  CHECK_THROWS_AS(parse_json_bounded(std::string(100000, '['), "x"), std::invalid_argument);
  CHECK_THROWS_AS(parse_json_bounded("{\"a\": ", "x"), std::invalid_argument);
}

TEST_CASE("safe ids and contained paths", "[output]") {
  using namespace attnbounds;
  for (const char* ok : {"t3", "qsa-cyclic_N16.q2", "A"}) CHECK(is_safe_file_id(ok));
  for (const char* no : {"", "..", ".", ".hidden", "../x", "/abs", "a/b", "a b", "a\nb", "-x"}) CHECK_FALSE(is_safe_file_id(no));
  CHECK_FALSE(is_safe_file_id(std::string(101, 'a')));
  for (const char* ok : {"certificates/x.json", "29/8", "x", "a..b", "./x"}) CHECK(is_contained_relative_path(ok));
  for (const char* no : {"", "/etc/passwd", "..", "../x", "a/../../x", "a/.."}) CHECK_FALSE(is_contained_relative_path(no));
}

TEST_CASE("write errors exit 2 naming the output: /dev/full, closed stdout, bad --certificate", "[output][cli]") {
  TempDir tmp;
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 --certificate /dev/full", "/dev/full");
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 --emit-lrs /dev/full", "/dev/full");
  // Model files too; and the device stays a device (a write to PATH.tmp renamed over the target
  // replaced /dev/full with a regular file when run as root).
  REQUIRE(fs::is_character_file("/dev/full"));
  expect_exit2_one_line("export qsa-cyclic --N 5 --q 2 --out /dev/full", "/dev/full");
  expect_exit2_one_line("export match2 --N 5 --M 8 --out /dev/full", "/dev/full");
  CHECK(fs::is_character_file("/dev/full"));
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 --certificate ''", "--certificate");
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 --certificate " + tmp.dir.string(), "directory");
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 > /dev/full", "standard output");
  expect_exit2_one_line("check qsa-cyclic --N 4 --q 2 --json >&-", "standard output");
  expect_exit2_one_line("list >&-", "");
  // A failed run never destroys an earlier certificate.
  const fs::path cert = tmp.dir / "c.json";
  REQUIRE(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate " + cert.string()).status == 0);
  const std::string before = slurp(cert);
  CHECK(run_attnbounds("check qsa-cyclic --N 4 --q 2 --c 1/1000 --certificate " + cert.string()).status != 0);
  CHECK(slurp(cert) == before);
  CHECK(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate " + cert.string() + " > /dev/full").status == 2);
  CHECK(slurp(cert).size() > 0);
}

TEST_CASE("--json output survives a file name that is not UTF-8", "[output][cli]") {
  TempDir tmp;
  const fs::path cert = tmp.dir / "c\xff\xfe.json";
  REQUIRE(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate '" + cert.string() + "'").status == 0);
  auto r = run_attnbounds("replay --json '" + cert.string() + "'", 120, true);
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(json::parse(r.out)["verdict"] == "holds");
}

TEST_CASE("a manifest cannot reach outside --out or run another program", "[output][cli][reproduce]") {
  TempDir tmp;
  auto manifest_with = [&](const std::string& name, const json& m) {
    const fs::path p = tmp.dir / name;
    std::ofstream(p) << m.dump();
    return p.string();
  };
  const json run = {{"id", "r1"}, {"theorem", "T"}, {"args", {"list"}}};
  const json table = {{"id", "t1"}, {"runs", {"r1"}}, {"columns", {{{"id", "v"}, {"path", "tool"}}}}};
  const std::string out = (tmp.dir / "out").string();
  auto expect_refused = [&](const std::string& name, const json& m, const std::string& fragment) {
    expect_exit2_one_line("reproduce --quiet --gnuplot none --manifest " + manifest_with(name, m) + " --out " + out, fragment);
    CHECK_FALSE(fs::exists(tmp.dir / "x"));
    CHECK_FALSE(fs::exists(tmp.dir / "x.md"));
  };
  // The valid base manifest runs.
  REQUIRE(run_attnbounds("reproduce --quiet --gnuplot none --manifest " +
                             manifest_with("ok.json", {{"runs", {run}}, {"tables", {table}}}) + " --out " + out,
                         120, true)
              .status == 0);
  CHECK(fs::exists(fs::path(out) / "tables" / "t1.md"));
  for (const std::string bad_id : {"../x", "../../x", "/tmp/x", "a/b", ".x", "x y"}) {
    json r = run;
    r["id"] = bad_id;
    json t = table;
    t["runs"] = {bad_id};
    expect_refused("run_id.json", {{"runs", {r}}, {"tables", {t}}}, "id must be");
    json t2 = table;
    t2["id"] = bad_id;
    expect_refused("table_id.json", {{"runs", {run}}, {"tables", {t2}}}, "id must be");
    json p = {{"id", bad_id}, {"table", "t1"}, {"x", "v"}, {"series", {{{"y", "v"}}}}};
    expect_refused("plot_id.json", {{"runs", {run}}, {"tables", {table}}, {"plots", {p}}}, "id must be");
  }
  for (const json& args : {json{"check", "qsa-cyclic", "--N", "4", "--q", "2", "--certificate", "/tmp/x"},
                           json{"check", "qsa-cyclic", "--N", "4", "--q", "2", "--certificate", "../x"},
                           json{"check", "qsa-cyclic", "--N", "4", "--q", "2", "--certificate=../../x"},
                           json{"check", "qsa-cyclic", "--N", "4", "--q", "2", "--certificate", "certificates/../../x"}}) {
    json r = run;
    r["args"] = args;
    expect_refused("args.json", {{"runs", {r}}}, "outside --out");
  }
  for (const char* verb : {"reproduce", "regress"}) {
    json r = run;
    r["args"] = {verb, "--out", "x"};
    expect_refused("verb.json", {{"runs", {r}}}, verb);
  }
  {
    json r = run;
    r["program"] = "/bin/sh";
    expect_refused("program.json", {{"runs", {r}}}, "--allow-programs");
  }
  // A symbolic link planted inside --out is not written through.
  const fs::path victim = tmp.dir / "victim";
  fs::create_directories(victim);
  fs::remove_all(fs::path(out) / "tables");
  fs::create_directory_symlink(victim, fs::path(out) / "tables");
  expect_exit2_one_line("reproduce --quiet --gnuplot none --manifest " + manifest_with("ok2.json", {{"runs", {run}}, {"tables", {table}}}) +
                            " --out " + out,
                        "symbolic link");
  CHECK(fs::is_empty(victim));
}
