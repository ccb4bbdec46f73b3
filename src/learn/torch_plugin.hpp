// The LibTorch trainers live in a plugin, libattnbounds_torch.so, loaded with dlopen only when a
// learn command trains: linking LibTorch into the executable cost every command ~0.3 s of
// dynamic loading and static initialisation (about 300 shared libraries).  The plugin is built
// with the executable from the same sources, so its types are the executable's; the table's
// version and sizes refuse a stale plugin from another build.
#pragma once
#include <atomic>
#include <cstddef>

#include "learn/match2_learning.hpp"
#include "learn/qsa_learning.hpp"

namespace attnbounds {

inline constexpr int kTorchPluginVersion = 1;

struct TorchTrainerTable {
  int version;
  std::size_t qsa_config_size, qsa_result_size, match2_config_size, match2_result_size;
  QsaLearnResult (*train_qsa)(const QsaLearnConfig&, const std::atomic<bool>*);
  Match2LearnResult (*train_match2)(const Match2LearnConfig&, const std::atomic<bool>*);
};

inline TorchTrainerTable make_torch_trainer_table(QsaLearnResult (*qsa)(const QsaLearnConfig&, const std::atomic<bool>*),
                                                  Match2LearnResult (*match2)(const Match2LearnConfig&,
                                                                              const std::atomic<bool>*)) {
  return {kTorchPluginVersion,        sizeof(QsaLearnConfig), sizeof(QsaLearnResult), sizeof(Match2LearnConfig),
          sizeof(Match2LearnResult), qsa,                    match2};
}

// Why learning is not available in this process ("" when it is): no plugin was built, the
// plugin could not be loaded (with the loader's message), or it belongs to another build.
std::string learning_unavailable_reason();

}  // namespace attnbounds

// The one symbol the plugin exports.
extern "C" const attnbounds::TorchTrainerTable* attnbounds_torch_trainer_table();
