// LibTorch is confined to the plugin libattnbounds_torch.so: the executable does not link it (it
// cost every command ~0.3 s at start), and a missing or foreign plugin is a clear exit 2.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "cli_runner.hpp"

using attnbounds_test::run_attnbounds_under;
using attnbounds_test::TempDir;

namespace {

std::string ldd_of(const std::string& path) {
  std::string out;
  if (FILE* p = popen(("ldd " + path + " 2>&1").c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

std::size_t lines_of(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("the executable does not link LibTorch; a missing or foreign trainer plugin is exit 2 with one line", "[learn][plugin]") {
  const std::string deps = ldd_of(ATTNBOUNDS_BINARY);
  REQUIRE(deps.find("libgmp") != std::string::npos);  // ldd worked
  CHECK(deps.find("libtorch") == std::string::npos);
  CHECK(deps.find("libc10") == std::string::npos);

  TempDir tmp("ab-plugin-");
  const std::string out = (tmp.dir / "run").string();
  const std::string learn = "learn match2 --N 4 --M 8 --out " + out;
  {
    const auto r = run_attnbounds_under("env ATTNBOUNDS_TORCH_PLUGIN=/nonexistent/libx.so", learn, 60, true);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err) == 1);
    CHECK(r.err.find("ATTNBOUNDS_TORCH_PLUGIN names no file: /nonexistent/libx.so") != std::string::npos);
  }
  {
    const std::string junk = (tmp.dir / "junk.so").string();
    std::ofstream(junk) << "not a shared object\n";
    const auto r = run_attnbounds_under("env ATTNBOUNDS_TORCH_PLUGIN=" + junk, learn, 60, true);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err) == 1);
    CHECK(r.err.find("could not be loaded") != std::string::npos);
  }
  {
    // A real shared object without the entry point: GMP, which the executable links.
    const auto at = deps.find("libgmp");
    const auto from = deps.find("=> ", at), to = deps.find(" (", from);
    REQUIRE(from != std::string::npos);
    const std::string gmp = deps.substr(from + 3, to - from - 3);
    const auto r = run_attnbounds_under("env ATTNBOUNDS_TORCH_PLUGIN=" + gmp, learn, 60, true);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err) == 1);
    CHECK(r.err.find("belongs to another build of attnbounds") != std::string::npos);
  }
}
