// Wall-clock time of a run, for the `seconds` a typed result reports.
#pragma once
#include <chrono>

namespace attnbounds {

class ElapsedTimer {
 public:
  ElapsedTimer() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace attnbounds
