#include "enumerate/progress.hpp"

#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include "enumerate/parallel.hpp"

namespace attnbounds {

unsigned available_cpus() {
  // The affinity mask (taskset, cgroup cpusets) limits where this process may run; the core
  // count does not.  Fall back to the core count where the mask cannot be read.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : h;
}

unsigned resolve_threads(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  return available_cpus();
}

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()), last_(start_),
      enabled_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (printed_) std::fprintf(stderr, "\r\033[K");
}

void Progress::advance(std::uint64_t n) {
  std::uint64_t done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 2.0 || std::chrono::duration<double>(now - last_).count() < 0.5) return;
  last_ = now;
  double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
  std::fprintf(stderr, "\r%s: %llu/%llu (%.1f%%) elapsed %.0fs, ETA %.0fs\033[K", label_.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), 100.0 * frac,
               elapsed, eta);
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace attnbounds
