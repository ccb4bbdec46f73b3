// What an application asks of every long reduction it runs, without passing it through each
// checker: a progress label, a time limit (checked by calibration before the bulk of the work)
// and chunk hooks (a journal or MPI sharding).  The application installs a RunControl on the
// thread that runs the command (RunControlScope); parallel_reduce reads it for top-level
// reductions only, never for a reduction nested in another's chunk.
//
// Calibration: parallel_reduce first runs a few chunks spread over the range (about two per
// thread), times them and extrapolates to the chunks that remain.  The calibrated chunks are
// chunks of the run (their partials are kept and combined in chunk order like every other), so
// calibration neither wastes work nor changes a result.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "core/config_error.hpp"

namespace attnbounds {

class ChunkHooks;

// A run whose calibrated estimate is above the time limit, refused because it was not forced.
// A ConfigError on the field "time_limit", so an application reports it as bad input.
class TimeLimitError : public ConfigError {
 public:
  TimeLimitError(double estimate_seconds, unsigned threads, std::uint64_t cases, double limit_seconds);
  double estimate_seconds() const { return estimate_; }

 private:
  double estimate_;
};

struct RunControl {
  std::string label;               // progress line label ("" = no progress line)
  double time_limit_seconds = 600;  // estimated wall time allowed without `force`
  bool force = false;              // run whatever the estimate
  ChunkHooks* hooks = nullptr;     // journal or sharding for reductions with a lossless codec
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // Statistics, for the report.
  std::uint64_t reductions = 0;         // top-level reductions run
  std::uint64_t hooked_reductions = 0;  // of them, those the hooks saw (the others have no codec)
  double largest_estimate_seconds = 0;  // the largest calibrated estimate of a whole run

  double elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// The calling thread's RunControl, or nullptr (none installed, or inside a reduction).
RunControl* active_run_control();

// Installs `control` on the calling thread for the scope's lifetime.
class RunControlScope {
 public:
  explicit RunControlScope(RunControl& control);
  ~RunControlScope();
  RunControlScope(const RunControlScope&) = delete;
  RunControlScope& operator=(const RunControlScope&) = delete;

 private:
  RunControl* previous_;
};

// While it lives, the calling thread has no RunControl: a reduction started inside another's
// chunk, or one the caller runs apart (a batch of a streamed replay), stays plain.
class RunControlPause {
 public:
  RunControlPause();
  ~RunControlPause();
  RunControlPause(const RunControlPause&) = delete;
  RunControlPause& operator=(const RunControlPause&) = delete;

 private:
  RunControl* previous_;
};

// The remaining work of a command that runs several reductions of about the same size (min-p
// runs one per precision): estimates of the current reduction are multiplied by `count` while
// the hint lives.  Hints nest; the innermost wins.
class RepeatHint {
 public:
  explicit RepeatHint(std::uint64_t count);
  ~RepeatHint();
  RepeatHint(const RepeatHint&) = delete;
  RepeatHint& operator=(const RepeatHint&) = delete;
  static std::uint64_t current();

 private:
  std::uint64_t previous_;
};

}  // namespace attnbounds
