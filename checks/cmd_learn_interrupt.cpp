// The stop-on-signal guard and the <marker>.previous.json convention shared by every `learn`
// command (checks/cmd_learn_interrupt.hpp).
#include "checks/cmd_learn_interrupt.hpp"

#include <csignal>
#include <iostream>
#include <system_error>

#include "reproduce/subprocess.hpp"
#include "checks/usage_error.hpp"

namespace attnbounds {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop_training{false};
volatile sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_training(int sig) {
  if (g_stop_signal == 0) g_stop_signal = sig;
  g_stop_training.store(true);
}

constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];

}  // namespace

StopTrainingOnSignal::StopTrainingOnSignal() {
  g_stop_signal = 0;
  g_stop_training.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_stop_training;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

StopTrainingOnSignal::~StopTrainingOnSignal() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

const std::atomic<bool>* StopTrainingOnSignal::stop_flag() const { return &g_stop_training; }

int StopTrainingOnSignal::caught_signal() { return g_stop_signal; }

void end_interrupted(const std::string& out, const char* marker) {
  const int sig = g_stop_signal;
  const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
  std::cerr << "attnbounds: learn interrupted by " << name << " during training"
            << (out.empty() ? std::string() : "; '" + out + "' holds an incomplete run (no " + marker + ")") << '\n';
  InterruptGuard::die_by(sig);
}

void set_previous_aside(const fs::path& dir, const std::string& marker) {
  if (dir.empty()) return;
  std::error_code ec;
  const fs::path current = dir / marker;
  if (!fs::exists(current, ec)) return;
  fs::rename(current, dir / (fs::path(marker).stem().string() + ".previous.json"), ec);
  if (ec) throw UsageError("--out", "cannot rename '" + current.string() + "' aside: " + ec.message());
}

void remove_previous(const fs::path& dir, const std::string& marker) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::remove(dir / (fs::path(marker).stem().string() + ".previous.json"), ec);
}

}  // namespace attnbounds
