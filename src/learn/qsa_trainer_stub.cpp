// The trainer of a build without LibTorch: every call says so.
#include "learn/qsa_learning.hpp"

namespace attnbounds {

bool learning_available() { return false; }

QsaLearnResult train_qsa(const QsaLearnConfig& config, const std::atomic<bool>*) {
  config.validate();
  throw std::runtime_error("this build has no LibTorch (install libtorch-dev and re-run CMake)");
}

}  // namespace attnbounds
