// `attnbounds list`: the registry, with theorem numbers and provenance tags.
#include <fmt/format.h>

#include <iostream>

#include "builtin_commands.hpp"
#include "common.hpp"
#include "result_schema.hpp"

namespace attnbounds {
namespace {

struct ListOptions {
  bool json = false;
};

void run_list(const ListOptions& o) {
  json out = json::array();
  for (const auto& e : registry()) {
    if (e.name.empty()) continue;
    out.push_back({{"verb", e.verb}, {"name", e.name}, {"theorem", e.theorem}, {"provenance", e.provenance},
                   {"params", e.params}, {"description", e.description}});
  }
  if (o.json) {
    std::cout << json{{"tool", "attnbounds"}, {"schema_version", kResultSchemaVersion}, {"version", ATTNBOUNDS_VERSION}, {"command", "list"}, {"entries", out}}.dump(2)
              << '\n';
    return;
  }
  std::cout << fmt::format("{:<8} {:<20} {:<14} {:<36} {}\n", "verb", "name", "theorem", "provenance", "description");
  for (const auto& e : out)
    std::cout << fmt::format("{:<8} {:<20} {:<14} {:<36} {}\n    params: {}\n", e["verb"].get<std::string>(),
                             e["name"].get<std::string>(), e["theorem"].get<std::string>(),
                             e["provenance"].get<std::string>(), e["description"].get<std::string>(),
                             e["params"].get<std::string>());
  std::cout << "\nprovenance: 'paper' = stated in the paper; 'ours' = this toolkit's own construction,\n"
               "reduction or finite-precision model (see docs/theorems.md).\n";
}

const DeclaredEntry reg{{"list", "", "", "", "list the registry", "--json", [](CLI::App& app) {
                       auto opts = std::make_shared<ListOptions>();
                       app.add_flag("--json", opts->json, "print one JSON object on stdout");
                       app.callback([opts] { run_list(*opts); });
                     }}};

}  // namespace

void register_list_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
