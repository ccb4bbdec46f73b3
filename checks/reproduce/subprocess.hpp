// Running a child process with captured stdout/stderr and a time limit (reproduce, regress,
// gnuplot).  Only the child this call started is ever killed, by its pid.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attnbounds {

struct ProcessResult {
  bool started = false;    // false: the program could not be executed (see error)
  bool timed_out = false;  // killed after the time limit
  int exit_status = -1;    // exit code, or 128 + signal when killed by a signal
  std::string out, err;
  std::string error;  // why it could not start
  double seconds = 0;
};

// Runs `program` with `args` (argv[1..]), stdin from /dev/null, in `cwd` if non-empty.
// timeout_seconds <= 0 means no limit.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          double timeout_seconds = 0, const std::filesystem::path& cwd = {});

// Absolute path of the running executable (/proc/self/exe).
std::string self_executable();
// The program found on PATH (or the path itself when it contains '/' and is executable).
std::optional<std::string> find_program(const std::string& name);
// POSIX-shell quoting of a command line, for printing commands users can paste.
std::string shell_join(const std::vector<std::string>& words);

}  // namespace attnbounds
