#include "builtin_commands.hpp"

namespace attnbounds {

void register_builtin_commands() {
  static bool done = false;
  if (done) return;
  done = true;
  register_list_commands();
  register_qsa_commands();
  register_qsa_min_m_commands();
  register_match_commands();
  register_match3_disj_commands();
  register_lower_qsa_disj_commands();
  register_lower_fc_rnn_commands();
  register_cc_commands();
  register_replay_commands();
  register_model_commands();
}

}  // namespace attnbounds
