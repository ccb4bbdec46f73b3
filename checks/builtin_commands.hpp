// Explicit registration of the toolkit's own commands.  A program calls
// register_builtin_commands() once before run_command_line; each function adds the entries
// of one checks/cmd_<topic>.cpp.
#pragma once

namespace attnbounds {

void register_list_commands();
void register_qsa_commands();
void register_qsa_min_m_commands();
void register_match_commands();
void register_match3_disj_commands();
void register_lower_qsa_disj_commands();
void register_lower_fc_rnn_commands();
void register_cc_commands();
void register_replay_commands();
void register_model_commands();

// All of the above (list, check, eval, lower, cc, min-p, min-m, replay); a second call does
// nothing.  reproduce and regress live in checks/reproduce (register_reproduce_commands).
void register_builtin_commands();

}  // namespace attnbounds
