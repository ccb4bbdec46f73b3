// The Match2 trainer of a build without LibTorch: every call says so.
#include "learn/match2_learning.hpp"

#include <stdexcept>

namespace attnbounds {

Match2LearnResult train_match2(const Match2LearnConfig& config, const std::atomic<bool>*) {
  config.validate();
  throw std::runtime_error("this build has no LibTorch (install libtorch-dev and re-run CMake)");
}

}  // namespace attnbounds
