#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "claims.hpp"

namespace attnbounds {

namespace {
std::vector<RegistryEntry>& storage() {
  static std::vector<RegistryEntry> entries;
  return entries;
}
int g_exit_status = 0;
}  // namespace

const std::vector<VerbInfo>& registry_verbs() {
  static const std::vector<VerbInfo> verbs = {
      {"list", "list every claim, construction and reduction with its theorem and provenance", false, ""},
      {"check", "run a claim's exhaustive certified checker", true, "claim"},
      {"eval", "forward pass of a construction on one input, with the ground truth", true, "construction"},
      {"lower", "run a lower-bound reduction: correctness, protocol, message count, counterexample", true, "reduction"},
      {"cc", "exact communication complexity of disj, eq, index, ip or a matrix file", true, "function"},
      {"min-p", "minimal precision p* for a claim", true, "claim"},
      {"min-m", "minimal embedding width m* for a claim", true, "claim"},
      {"export", "write a construction as a model file (docs/model-format.md)", true, "construction"},
      {"learn", "train models on a task (LibTorch) and certify the trained attention units", true, "experiment"},
      {"replay", "re-check a certificate file independently, in exact arithmetic", false, ""},
      {"reproduce", "the main job: every theorem at default sizes, with report, tables and plots", false, ""},
      {"regress", "compare verdicts, p* and m* with the stored baselines", false, ""},
  };
  return verbs;
}

void register_entry(RegistryEntry entry) {
  const auto& verbs = registry_verbs();
  if (std::none_of(verbs.begin(), verbs.end(), [&](const VerbInfo& v) { return v.name == entry.verb; }))
    throw std::invalid_argument("register_entry: unknown verb '" + entry.verb + "'");
  // Theorem and provenance come from the claims table (claims.hpp) when it has the entry.
  for (const auto& c : claim_table())
    if (c.verb == entry.verb && c.name == entry.name) {
      if ((!entry.theorem.empty() && entry.theorem != c.theorem) || (!entry.provenance.empty() && entry.provenance != c.provenance))
        throw std::logic_error("register_entry: '" + entry.verb + " " + entry.name + "' disagrees with the claims table");
      entry.theorem = c.theorem;
      entry.provenance = c.provenance;
    }
  auto& v = storage();
  auto before = [](const RegistryEntry& a, const RegistryEntry& b) {
    return a.verb != b.verb ? a.verb < b.verb : a.name < b.name;
  };
  auto pos = std::lower_bound(v.begin(), v.end(), entry, before);
  if (pos != v.end() && pos->verb == entry.verb && pos->name == entry.name)
    throw std::invalid_argument("register_entry: '" + entry.verb + (entry.name.empty() ? "" : " " + entry.name) +
                                "' is already registered");
  v.insert(pos, std::move(entry));
}

const std::vector<RegistryEntry>& registry() { return storage(); }
std::string params_of(const RegistryEntry& entry) { return entry.table ? params_column(*entry.table) : entry.params; }
void set_exit_status(int status) { g_exit_status = status; }
int exit_status() { return g_exit_status; }

}  // namespace attnbounds
