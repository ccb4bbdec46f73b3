// What every `learn` command does about SIGINT, SIGTERM and SIGHUP during training, and about the
// file that marks a complete run (checks/cmd_learn.cpp, checks/cmd_learn_match2.cpp; docs/learning.md).
#pragma once
#include <atomic>
#include <filesystem>
#include <string>
#include <utility>

#include "learn/qsa_learning.hpp"  // LearningInterrupted

namespace attnbounds {

// While alive, SIGINT, SIGTERM and SIGHUP do not end the process: they set the stop flag a trainer
// polls between batches.  The previous handlers come back at destruction.
class StopTrainingOnSignal {
 public:
  StopTrainingOnSignal();
  ~StopTrainingOnSignal();
  StopTrainingOnSignal(const StopTrainingOnSignal&) = delete;
  StopTrainingOnSignal& operator=(const StopTrainingOnSignal&) = delete;
  const std::atomic<bool>* stop_flag() const;
  // The first signal caught since the guard was made, 0 if none.
  static int caught_signal();
};

// Prints one line (the run in `out` is incomplete: no `marker`) and ends the process by the
// caught signal.
[[noreturn]] void end_interrupted(const std::string& out, const char* marker);

// Runs `train(stop)` under StopTrainingOnSignal.  A signal during training, or caught just as it
// ended, ends the process by that signal (end_interrupted), so nothing after training is written.
template <class Train>
auto train_stoppable(Train&& train, const std::string& out, const char* marker) {
  using Result = decltype(train(static_cast<const std::atomic<bool>*>(nullptr)));
  Result r{};
  {
    StopTrainingOnSignal guard;
    try {
      r = std::forward<Train>(train)(guard.stop_flag());
    } catch (const LearningInterrupted&) {
      end_interrupted(out, marker);
    }
  }
  if (StopTrainingOnSignal::caught_signal() != 0) end_interrupted(out, marker);
  return r;
}

// `marker` (result.json, sweep.json) marks a complete run in `dir`.  Before training, an earlier
// run's marker is renamed <stem>.previous.json, so an interrupted run leaves nothing that looks
// complete and the earlier result is kept; once the new marker is written, the previous one is
// removed.  An empty `dir` (no --out) does nothing.
void set_previous_aside(const std::filesystem::path& dir, const std::string& marker);
void remove_previous(const std::filesystem::path& dir, const std::string& marker);

}  // namespace attnbounds
