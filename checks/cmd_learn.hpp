// `attnbounds learn ...` (checks/cmd_learn.cpp, part of the attnbounds_learn component): the
// program registers it beside the built-in commands.
#pragma once

namespace attnbounds {

void register_learn_commands();
// `learn match2` (checks/cmd_learn_match2.cpp); called by register_learn_commands.
void register_learn_match2_command();

}  // namespace attnbounds
