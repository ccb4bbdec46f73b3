#include "enumerate/run_control.hpp"

#include <fmt/format.h>

namespace attnbounds {

namespace {
thread_local RunControl* g_control = nullptr;
thread_local std::uint64_t g_repeats = 1;

std::string minutes(double seconds) {
  const double m = seconds / 60.0;
  return m >= 10 ? fmt::format("{:.0f}", m) : m >= 0.1 ? fmt::format("{:.1f}", m) : fmt::format("{:.2g}", m);
}
}  // namespace

TimeLimitError::TimeLimitError(double estimate_seconds, unsigned threads, std::uint64_t cases, double limit_seconds)
    : ConfigError("time_limit", fmt::format("estimated {} min on {} thread{} for {} cases, above the limit of {} min; "
                                            "pass --force or --time-limit",
                                            minutes(estimate_seconds), threads, threads == 1 ? "" : "s", cases,
                                            minutes(limit_seconds))),
      estimate_(estimate_seconds) {}

RunControl* active_run_control() { return g_control; }

RunControlScope::RunControlScope(RunControl& control) : previous_(g_control) { g_control = &control; }
RunControlScope::~RunControlScope() { g_control = previous_; }

RunControlPause::RunControlPause() : previous_(g_control) { g_control = nullptr; }
RunControlPause::~RunControlPause() { g_control = previous_; }

RepeatHint::RepeatHint(std::uint64_t count) : previous_(g_repeats) { g_repeats = count == 0 ? 1 : count; }
RepeatHint::~RepeatHint() { g_repeats = previous_; }
std::uint64_t RepeatHint::current() { return g_repeats; }

}  // namespace attnbounds
