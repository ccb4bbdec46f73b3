// `attnbounds learn ...` (checks/cmd_learn.cpp, part of the attnbounds_learn component): the
// program registers it beside the built-in commands.
#pragma once

namespace attnbounds {

void register_learn_commands();

}  // namespace attnbounds
