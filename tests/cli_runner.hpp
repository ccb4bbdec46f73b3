// Runs the built attnbounds binary from a test (end-to-end: exit status, stdout, stderr).
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace attnbounds_test {

struct CliRun {
  int status = -1;  // exit status; -1 when killed (e.g. by the time limit)
  std::string out, err;
};

// `attnbounds ARGS` (ARGS are shell words) under `timeout`; stderr is captured into err when
// capture_err, else discarded.  A command that hangs fails its test instead of hanging CI.
CliRun run_attnbounds(const std::string& args, int timeout_seconds = 300, bool capture_err = false);
// The same, started through a launcher (shell words before the binary, e.g. "taskset -c 0").
CliRun run_attnbounds_under(const std::string& launcher, const std::string& args, int timeout_seconds = 300,
                            bool capture_err = false);

// `attnbounds ARGS --json` parsed (the test fails when nothing was printed); `status`, when given,
// receives the exit status.
nlohmann::json run_json(const std::string& args, int* status = nullptr);

// The whole content of a file ("" when it cannot be read).
std::string slurp(const std::filesystem::path& p);

// A fresh directory /tmp/<prefix>XXXXXX, removed with everything in it at scope exit.
struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace attnbounds_test
