// The registry that `attnbounds list` reads and that wires subcommands.  Each claim,
// construction and reduction adds itself from its own file in checks/ with a static Registrar.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace attnbounds {

struct RegistryEntry {
  std::string verb;         // check | eval | lower | min-p | min-m | cc | replay | reproduce | regress
  std::string name;         // claim or reduction name; empty for a top-level verb itself
  std::string theorem;      // "Theorem 3", "§4.3", ...
  std::string provenance;   // "paper" | "ours" | "paper statement, construction ours" ...
  std::string description;  // one line
  std::string params;       // e.g. "--N --q --d --eps --c --semantics"
  // Adds options and a callback.  For entries with a name, `parent` is the verb's app and the
  // entry adds its own nested subcommand; without a name, `parent` is the verb's app itself.
  std::function<void(CLI::App& parent)> attach;
};

void register_entry(RegistryEntry entry);
const std::vector<RegistryEntry>& registry();

struct Registrar {
  explicit Registrar(RegistryEntry entry) { register_entry(std::move(entry)); }
};

// Exit status chosen by the command that ran (0 holds/ok, 1 fails, 2 usage, 3 undecided).
void set_exit_status(int status);
int exit_status();

}  // namespace attnbounds
