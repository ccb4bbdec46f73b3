// Progress with ETA on stderr, only when stderr is a terminal and the run takes over 2 s.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace attnbounds {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(std::uint64_t n);

 private:
  std::string label_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_, last_;
  std::mutex mutex_;
  bool enabled_;
  bool printed_ = false;
};

}  // namespace attnbounds
