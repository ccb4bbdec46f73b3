// Running a child process with captured stdout/stderr and a time limit (reproduce, regress,
// gnuplot).  Each child runs in its own process group, so a time limit or an interruption kills
// the child and everything it started (by the group's id, never by name), and the kernel kills
// the child when this process dies (PR_SET_PDEATHSIG), so no orphan keeps writing.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attnbounds {

struct ProcessResult {
  bool started = false;      // false: the program could not be executed (see error)
  bool timed_out = false;    // killed after the time limit
  bool interrupted = false;  // killed because this process caught SIGINT/SIGTERM/SIGHUP
  int exit_status = -1;      // exit code, or 128 + signal when killed by a signal
  std::string out, err;
  std::string error;  // why it could not start
  double seconds = 0;
  int pid = -1;  // the child's pid (= its process group id)
};

// Runs `program` with `args` (argv[1..]), stdin from /dev/null, in `cwd` if non-empty.
// timeout_seconds <= 0 means no limit.  While an InterruptGuard is alive, SIGINT, SIGTERM and
// SIGHUP kill the child's process group and return with `interrupted` set.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          double timeout_seconds = 0, const std::filesystem::path& cwd = {});

// While alive, SIGINT, SIGTERM and SIGHUP do not end this process: they are recorded (see
// caught_signal) and make a running run_process kill its child group and return.  The previous
// handlers come back at destruction.  One guard at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  // The signal caught since the guard was made, 0 if none.
  static int caught_signal();
  // Restores the default action of `sig` and raises it, so the caller's parent sees this process
  // ended by that signal (the shell convention for an interrupted command).
  [[noreturn]] static void die_by(int sig);
};

// Absolute path of the running executable (/proc/self/exe).
std::string self_executable();
// The program found on PATH (or the path itself when it contains '/' and is executable).
std::optional<std::string> find_program(const std::string& name);
// POSIX-shell quoting of a command line, for printing commands users can paste.
std::string shell_join(const std::vector<std::string>& words);

}  // namespace attnbounds
