#include "registry.hpp"

#include <algorithm>

namespace attnbounds {

namespace {
std::vector<RegistryEntry>& storage() {
  static std::vector<RegistryEntry> entries;
  return entries;
}
int g_exit_status = 0;
}  // namespace

void register_entry(RegistryEntry entry) {
  auto& v = storage();
  // Keep a stable order (verb, name) whatever the static initialisation order is.
  auto pos = std::upper_bound(v.begin(), v.end(), entry, [](const RegistryEntry& a, const RegistryEntry& b) {
    return a.verb != b.verb ? a.verb < b.verb : a.name < b.name;
  });
  v.insert(pos, std::move(entry));
}

const std::vector<RegistryEntry>& registry() { return storage(); }
void set_exit_status(int status) { g_exit_status = status; }
int exit_status() { return g_exit_status; }

}  // namespace attnbounds
