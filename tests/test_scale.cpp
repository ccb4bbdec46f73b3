// Running at scale: the default thread count, checkpoint/resume and sharded runs.
#include <catch2/catch.hpp>

#include <sched.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "enumerate/mpi_shard.hpp"
#include "enumerate/parallel.hpp"

using attnbounds_test::CliRun;

TEST_CASE("the default thread count follows the CPU affinity mask", "[scale]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
  CHECK(attnbounds::available_cpus() == static_cast<unsigned>(CPU_COUNT(&set)));
  CHECK(attnbounds::resolve_threads(0) == attnbounds::available_cpus());
  CHECK(attnbounds::resolve_threads(5) == 5);
  // Pinned to one CPU, the default is one thread; an explicit --threads still wins.
  CliRun one = attnbounds_test::run_attnbounds_under("taskset -c 0", "check qsa-cyclic --N 8 --q 2 --json", 120);
  REQUIRE(one.status == 0);
  CHECK(nlohmann::json::parse(one.out)["threads"] == 1);
  CliRun forced =
      attnbounds_test::run_attnbounds_under("taskset -c 0", "check qsa-cyclic --N 8 --q 2 --threads 3 --json", 120);
  REQUIRE(forced.status == 0);
  CHECK(nlohmann::json::parse(forced.out)["threads"] == 3);
  if (CPU_COUNT(&set) >= 2) {
    CliRun two = attnbounds_test::run_attnbounds_under("taskset -c 0,1", "check qsa-cyclic --N 8 --q 2 --json", 120);
    REQUIRE(two.status == 0);
    CHECK(nlohmann::json::parse(two.out)["threads"] == 2);
  }
}

namespace {

// The report without the fields that describe the process rather than the result.
nlohmann::json result_only(const std::string& out) {
  nlohmann::json j = nlohmann::json::parse(out);
  for (const char* k : {"seconds", "threads", "journal", "mpi"}) j.erase(k);
  return j;
}

std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a run killed with SIGKILL resumes from its journal to the identical result", "[scale]") {
  const std::string args = "check qsa-cyclic --N 40 --q 3 --eps 0.01 --json";
  CliRun whole = attnbounds_test::run_attnbounds(args, 300);
  REQUIRE(whole.status == 0);
  const nlohmann::json want = result_only(whole.out);
  CHECK(want["verdict"] == "holds");
  for (int threads : {1, 2}) {
    const std::string path = "/tmp/attnbounds_test_journal_" + std::to_string(threads) + ".log";
    std::remove(path.c_str());
    // The journal kills the process (SIGKILL, like kill -9) after 700 of the 4940 chunks.
    CliRun killed = attnbounds_test::run_attnbounds_under(
        "env ATTNBOUNDS_TEST_KILL_AFTER_CHUNKS=700", args + " --threads " + std::to_string(threads) + " --journal " + path,
        300);
    CHECK(killed.status != 0);
    CHECK(killed.out.empty());  // it died before reporting
    const std::size_t lines = count_lines(path);
    CHECK(lines >= 701);   // header + the records written before the kill
    CHECK(lines < 4941);   // not finished
    // A torn last record (as if the kill hit mid-write) must be ignored, not trusted.
    { std::ofstream(path, std::ios::app) << "1234 deadbeef,"; }
    CliRun resumed = attnbounds_test::run_attnbounds(args + " --threads " + std::to_string(threads) + " --resume " + path, 300);
    REQUIRE(resumed.status == 0);
    const nlohmann::json got = nlohmann::json::parse(resumed.out);
    CHECK(got["journal"]["chunks_resumed"].get<std::uint64_t>() + 1 == lines);
    CHECK(got["journal"]["chunks_resumed"].get<std::uint64_t>() + got["journal"]["chunks_written"].get<std::uint64_t>() ==
          4940);
    CHECK(result_only(resumed.out) == want);
    // A finished journal replays without recomputing anything.
    CliRun again = attnbounds_test::run_attnbounds(args + " --resume " + path, 300);
    REQUIRE(again.status == 0);
    CHECK(nlohmann::json::parse(again.out)["journal"]["chunks_written"] == 0);
    CHECK(result_only(again.out) == want);
    std::remove(path.c_str());
  }
}

TEST_CASE("journals refuse another run's file and missing files, with exit 2", "[scale]") {
  const std::string path = "/tmp/attnbounds_test_journal_other.log";
  std::remove(path.c_str());
  CliRun missing = attnbounds_test::run_attnbounds("check qsa-cyclic --N 10 --q 2 --resume " + path, 60, true);
  CHECK(missing.status == 2);
  CHECK(missing.err.find("--resume") != std::string::npos);
  REQUIRE(attnbounds_test::run_attnbounds("check qsa-cyclic --N 10 --q 2 --journal " + path, 60).status == 0);
  CliRun other = attnbounds_test::run_attnbounds("check qsa-cyclic --N 10 --q 3 --journal " + path, 60, true);
  CHECK(other.status == 2);
  CHECK(other.err.find("another run") != std::string::npos);
  CliRun both = attnbounds_test::run_attnbounds("check qsa-cyclic --N 10 --q 2 --journal " + path + " --resume " + path, 60, true);
  CHECK(both.status == 2);
  { std::ofstream(path) << "not a journal\n"; }
  CHECK(attnbounds_test::run_attnbounds("check qsa-cyclic --N 10 --q 2 --resume " + path, 60).status == 2);
  std::remove(path.c_str());
}

TEST_CASE("qsa-rip journals and resumes too", "[scale]") {
  const std::string args = "check qsa-rip --N 16 --q 2 --json --threads 1";
  CliRun whole = attnbounds_test::run_attnbounds(args, 300);
  REQUIRE(whole.status == 0);
  const std::string path = "/tmp/attnbounds_test_journal_rip.log";
  std::remove(path.c_str());
  CliRun killed =
      attnbounds_test::run_attnbounds_under("env ATTNBOUNDS_TEST_KILL_AFTER_CHUNKS=40", args + " --journal " + path, 300);
  CHECK(killed.status != 0);
  CliRun resumed = attnbounds_test::run_attnbounds(args + " --resume " + path, 300);
  REQUIRE(resumed.status == 0);
  CHECK(nlohmann::json::parse(resumed.out)["journal"]["chunks_resumed"] == 40);
  // "certificates" counts the certificate solves of this process (the resumed run skips the
  // journaled subsets), so it is compared apart from the result.
  nlohmann::json got = result_only(resumed.out), want = result_only(whole.out);
  CHECK(got["certificates"]["certificate_solves"] < want["certificates"]["certificate_solves"]);
  got.erase("certificates");
  want.erase("certificates");
  CHECK(got == want);
  std::remove(path.c_str());
}

TEST_CASE("mpirun -np 1, 2, 3 give the single-process result bit for bit", "[scale][mpi]") {
  const std::string args = "check qsa-cyclic --N 30 --q 3 --eps 0.01 --json --threads 1";
  CliRun single = attnbounds_test::run_attnbounds(args, 300);
  REQUIRE(single.status == 0);
  if (!attnbounds::mpi_available()) {
    CliRun off = attnbounds_test::run_attnbounds(args + " --mpi", 60, true);
    CHECK(off.status == 2);
    CHECK(off.err.find("no MPI") != std::string::npos);
    return;
  }
  const nlohmann::json want = result_only(single.out);
  for (int ranks : {1, 2, 3}) {
    INFO("ranks = " << ranks);
    CliRun r = attnbounds_test::run_attnbounds_under(
        "mpirun --oversubscribe --allow-run-as-root -np " + std::to_string(ranks), args + " --mpi", 300);
    REQUIRE(r.status == 0);
    const nlohmann::json got = nlohmann::json::parse(r.out);  // one report (rank 0 only)
    CHECK(got["mpi"]["ranks"] == ranks);
    CHECK(result_only(r.out) == want);
  }
  // A failing run: the same witness whatever the rank count.
  const std::string low = "check qsa-cyclic --N 20 --q 2 --c 1/2 --json --threads 2";
  CliRun fails = attnbounds_test::run_attnbounds(low, 300);
  REQUIRE(fails.status == 1);
  CliRun fails3 =
      attnbounds_test::run_attnbounds_under("mpirun --oversubscribe --allow-run-as-root -np 3", low + " --mpi", 300);
  REQUIRE(fails3.status == 1);
  CHECK(result_only(fails3.out) == result_only(fails.out));
}
