#include "cli_runner.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attnbounds_test {

CliRun run_attnbounds(const std::string& args, int timeout_seconds, bool capture_err) {
  return run_attnbounds_under("", args, timeout_seconds, capture_err);
}

CliRun run_attnbounds_under(const std::string& launcher, const std::string& args, int timeout_seconds,
                            bool capture_err) {
  std::string err_path = "/dev/null";
  if (capture_err) {
    char tmpl[] = "/tmp/attnbounds_cli_stderr_XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("cannot create a temporary file for stderr");
    close(fd);
    err_path = tmpl;
  }
  const std::string command = "timeout " + std::to_string(timeout_seconds) + " " +
                              (launcher.empty() ? "" : launcher + " ") + ATTNBOUNDS_BINARY + " " +
                              args + " 2>" + err_path;
  CliRun r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (capture_err) {
    std::ifstream in(err_path);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    std::remove(err_path.c_str());
  }
  return r;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TempDir::TempDir(const std::string& prefix) {
  std::string templ = "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory " + templ);
  dir = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

nlohmann::json run_json(const std::string& args, int* status) {
  CliRun r = run_attnbounds(args + " --json");
  INFO("attnbounds " << args << " --json\n" << r.out);
  if (status) *status = r.status;
  REQUIRE(!r.out.empty());
  return nlohmann::json::parse(r.out);
}

}  // namespace attnbounds_test
