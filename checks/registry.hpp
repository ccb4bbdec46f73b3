// The registry that `attnbounds list` reads and that wires subcommands.  Registration is
// explicit: each checks/cmd_<topic>.cpp declares its entries and adds them in its
// register_<topic>_commands() (see builtin_commands.hpp); a program that embeds the command
// line (run_command_line) may add entries of its own with register_entry before running it.
#pragma once
#include <functional>

#include "checks/params.hpp"
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace attnbounds {

struct RegistryEntry {
  std::string verb;         // check | eval | lower | min-p | min-m | cc | replay | reproduce | regress | list
  std::string name;         // claim or reduction name; empty for a top-level verb itself
  std::string theorem;      // "Theorem 3", "§4.3", ...
  std::string provenance;   // "paper" | "ours" | "paper statement, construction ours" ...
  std::string description;  // one line
  std::string params;       // e.g. "--N --q --d --eps --c --semantics"; ignored when `table` is set
  // Adds options and a callback.  For entries with a name, `parent` is the verb's app and the
  // entry adds its own nested subcommand; without a name, `parent` is the verb's app itself.
  std::function<void(CLI::App& parent)> attach;
  // The command's parameter table (params.hpp): `list`'s parameter column is made from it.
  const ParamTable* table = nullptr;
};

// Adds an entry; the registry stays sorted by (verb, name).  An entry the claims table
// (claims.hpp) knows gets its theorem and provenance from there (leave them empty).  Throws std::invalid_argument for
// an unknown verb or a (verb, name) pair that is already registered.
void register_entry(RegistryEntry entry);
const std::vector<RegistryEntry>& registry();
// `list`'s parameter column of an entry: from its table when it has one, else `params`.
std::string params_of(const RegistryEntry& entry);
// The verbs an entry may use, in the order `--help` shows them.
struct VerbInfo {
  std::string name;
  std::string help;
  bool nested;       // takes a claim / reduction / function name
  std::string what;  // what the nested name is called in messages ("claim", "reduction", ...)
};
const std::vector<VerbInfo>& registry_verbs();

// An entry written at namespace scope in a command file.  Declaring one registers nothing:
// the file's register_<topic>_commands() passes `entry` to register_entry.
struct DeclaredEntry {
  RegistryEntry entry;
};

// Exit status chosen by the command that ran (0 holds/ok, 1 fails, 2 usage, 3 undecided).
void set_exit_status(int status);
int exit_status();

}  // namespace attnbounds
