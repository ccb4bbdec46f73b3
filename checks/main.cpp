// attnbounds: certified checks of the theorems of Sanford, Hsu and Telgarsky (NeurIPS 2023).
// Exit status: 0 holds / ok, 1 fails (verified counterexample), 2 bad input, 3 undecided,
// 4 internal error (a bug: please report it).
#include "builtin_commands.hpp"
#include "cmd_learn.hpp"
#include "command_line.hpp"
#include "reproduce/reproduce_commands.hpp"

int main(int argc, char** argv) {
  attnbounds::register_builtin_commands();
  attnbounds::register_reproduce_commands();
  attnbounds::register_learn_commands();
  return attnbounds::run_command_line(argc, argv);
}
