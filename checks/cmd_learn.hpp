// `attnbounds learn ...` (checks/cmd_learn.cpp, part of the attnbounds_learn component): the
// program registers it beside the built-in commands.
#pragma once
#include <filesystem>
#include <string>

namespace attnbounds {

// --out of a learn command: created when its parent exists; refused (UsageError on --out) before
// any training when it cannot be written.  "" gives an empty path (no output directory).
std::filesystem::path prepare_learn_out_dir(const std::string& out);

void register_learn_commands();
// `learn match2` (checks/cmd_learn_match2.cpp); called by register_learn_commands.
void register_learn_match2_command();

}  // namespace attnbounds
