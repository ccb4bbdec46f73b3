// The plugin's entry point: the table of its trainers (see torch_plugin.hpp).
#include "learn/torch_plugin.hpp"

namespace attnbounds {
QsaLearnResult torch_train_qsa(const QsaLearnConfig& config, const std::atomic<bool>* stop);
Match2LearnResult torch_train_match2(const Match2LearnConfig& config, const std::atomic<bool>* stop);
}  // namespace attnbounds

extern "C" __attribute__((visibility("default"))) const attnbounds::TorchTrainerTable* attnbounds_torch_trainer_table() {
  static const attnbounds::TorchTrainerTable table =
      attnbounds::make_torch_trainer_table(&attnbounds::torch_train_qsa, &attnbounds::torch_train_match2);
  return &table;
}
