// The replayer accepts exactly the documented certificate format (docs/certificate-format.md):
// a real certificate replays as holds, and every forgery below is refused with exit 2 and one
// line before any mathematics — never read "holds", never exit 1 (a verified counterexample)
// because a file is incomplete.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using attnbounds_test::run_attnbounds;

struct TempDir : attnbounds_test::TempDir {
  TempDir() : attnbounds_test::TempDir("attnbounds_certfmt_") {}
};

using attnbounds_test::slurp;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

int line_count(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("replay: forged certificates are all refused with exit 2 and one line; the real one holds", "[replay][cli]") {
  TempDir tmp;
  const fs::path good = tmp.dir / "good.json";
  REQUIRE(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate " + good.string()).status == 0);
  const std::string cert = slurp(good);
  REQUIRE(cert.find("\"q\": 2,") != std::string::npos);
  // The first row and a query entry as the writer prints them.
  const std::size_t row0 = cert.find("{\"S\": [1, 2]");
  REQUIRE(row0 != std::string::npos);
  const std::string first_row = cert.substr(row0, cert.find('}', row0) + 1 - row0);
  const std::string second_row_start = "{\"S\": [1, 3]";

  {
    auto r = run_attnbounds("replay " + good.string(), 120, true);
    CHECK(r.status == 0);
    auto j = run_attnbounds("replay --json " + good.string(), 120, true);
    CHECK(j.out.find("\"verdict\": \"holds\"") != std::string::npos);
  }
  // Field order and white space are free: the same content rearranged still holds.
  {
    std::string moved = replaced(cert, "  \"format\": \"attnbounds-qsa-certificate-1\",\n", "");
    moved = replaced(moved, "\"claim\"", "\"format\":\"attnbounds-qsa-certificate-1\",   \"claim\"");
    std::ofstream(tmp.dir / "moved.json") << moved;
    CHECK(run_attnbounds("replay " + (tmp.dir / "moved.json").string(), 120, true).status == 0);
  }

  const std::vector<std::pair<std::string, std::string>> forged = {
      {"q wraps (2^32 + 2)", replaced(cert, "\"q\": 2,", "\"q\": 4294967298,")},
      {"N wraps (2^32 + 4)", replaced(cert, "\"N\": 4,", "\"N\": 4294967300,")},
      {"N beyond 2^64", replaced(cert, "\"N\": 4,", "\"N\": 18446744073709551620,")},
      {"N negative", replaced(cert, "\"N\": 4,", "\"N\": -4,")},
      {"N as a float", replaced(cert, "\"N\": 4,", "\"N\": 4.0,")},
      {"N as a boolean", replaced(cert, "\"N\": 4,", "\"N\": true,")},
      {"q as a string", replaced(cert, "\"q\": 2,", "\"q\": \"2\",")},
      {"q > N", replaced(cert, "\"q\": 2,", "\"q\": 5,")},
      {"d zero", replaced(cert, "\"d\": 1,", "\"d\": 0,")},
      {"d wraps", replaced(cert, "\"d\": 1,", "\"d\": 4294967297,")},
      {"m inconsistent with the key width", replaced(cert, "\"m\": 9,", "\"m\": 10,")},
      {"S entry a boolean", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [true, 2]")},
      {"S entry a float", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1.0, 2]")},
      {"S entry a string", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [\"1\", 2]")},
      {"S entry wraps", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [4294967297, 2]")},
      {"S entry 0", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [0, 2]")},
      {"S entry N + 1", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1, 5]")},
      {"S unsorted", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [2, 1]")},
      {"S too long", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1, 2, 3]")},
      {"a subset twice", replaced(cert, second_row_start, "{\"S\": [1, 2]")},
      {"a subset missing (incomplete)", replaced(cert, first_row + ",\n", "")},
      {"an extra row", replaced(cert, first_row, first_row + ",\n    " + first_row)},
      {"queries under another key", replaced(cert, "\"queries\"", "\"rows\"")},
      {"queries under another key, plus an empty queries",
       replaced(replaced(cert, "\"queries\"", "\"rows\""), "\"keys\"", "\"queries\": [], \"keys\"")},
      {"queries twice", replaced(cert, "\"keys\"", "\"queries\": [], \"keys\"")},
      {"N twice", replaced(cert, "\"q\": 2,", "\"q\": 2, \"N\": 4,")},
      {"an unknown field", replaced(cert, "\"q\": 2,", "\"q\": 2, \"note\": \"x\",")},
      {"temperature missing", replaced(cert, "\"temperature\"", "\"temperaturX\"")},
      {"format missing", replaced(cert, "  \"format\": \"attnbounds-qsa-certificate-1\",\n", "")},
      {"another format version", replaced(cert, "certificate-1\"", "certificate-2\"")},
      {"claim unknown", replaced(cert, "\"claim\": \"qsa-cyclic\"", "\"claim\": \"qsa-other\"")},
      {"arith semantics", replaced(cert, "\"semantics\": \"exact\"", "\"semantics\": \"arith:float:8\"")},
      {"embed semantics, entries not representable", replaced(cert, "\"semantics\": \"exact\"", "\"semantics\": \"embed:float:4\"")},
      {"bound as a JSON number", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": 0.1")},
      {"bound 0", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"0\"")},
      {"bound 1", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1\"")},
      {"bound hex", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"0x1\"")},
      {"bound with a plus sign", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"+0.1\"")},
      {"bound with a space", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \" 0.1\"")},
      {"bound nan", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"nan\"")},
      {"bound with a huge exponent", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1e-99999999\"")},
      {"bound 1/0", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1/0\"")},
      {"key entry a JSON number", replaced(cert, "[\"1\", \"1\", \"1\", \"1\"]", "[1, \"1\", \"1\", \"1\"]")},
      {"keys of unequal length", replaced(cert, "[\"1\", \"1\", \"1\", \"1\"]", "[\"1\", \"1\", \"1\"]")},
      {"N - 1 keys", replaced(cert, "    [\"1\", \"1\", \"1\", \"1\"],\n", "")},
      {"a query shorter than the keys", replaced(cert, first_row, "{\"S\": [1, 2], \"query\": [\"0\"]}")},
      {"a row with an extra field", replaced(cert, "{\"S\": [1, 2]", "{\"note\": 1, \"S\": [1, 2]")},
      {"a row repeating S", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [3, 4], \"S\": [1, 2]")},
      {"a row without query", replaced(cert, first_row, "{\"S\": [1, 2]}")},
      {"a number inside queries", replaced(cert, first_row, "7")},
      {"an object inside values", replaced(cert, "\"values\": \"", "\"values\": {\"S\": [1, 2]}, \"valuesX\": \"")},
      {"deep nesting", replaced(cert, "\"values\": \"", "\"values\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], \"valuesX\": \"")},
      {"top-level array", "[" + cert + "]"},
      {"trailing garbage", cert + "x"},
      {"truncated (half written)", cert.substr(0, cert.size() * 2 / 3)},
      {"empty", ""},
  };
  int index = 0;
  for (const auto& [what, text] : forged) {
    const fs::path f = tmp.dir / ("forged_" + std::to_string(index++) + ".json");
    std::ofstream(f, std::ios::binary) << text;
    auto r = run_attnbounds("replay " + f.string(), 120, true);
    INFO(what << "\nstderr: " << r.err << "stdout: " << r.out);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("internal error") == std::string::npos);
  }
  CHECK(forged.size() >= 50);
}

TEST_CASE("replay: special files are refused without blocking or reading them", "[replay][cli]") {
  TempDir tmp;
  const fs::path fifo = tmp.dir / "fifo.json";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& f : {fifo.string(), std::string("/dev/zero"), tmp.dir.string()}) {
    auto r = run_attnbounds("replay " + f, 30, true);
    INFO(f << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
  }
}
