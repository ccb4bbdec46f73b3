// `attnbounds list`: the registry, with theorem numbers and provenance tags.
#include <fmt/format.h>

#include <iostream>

#include "builtin_commands.hpp"
#include "claims.hpp"
#include "common.hpp"
#include "result_schema.hpp"

namespace attnbounds {
namespace {

struct ListOptions {
  bool json = false;
  bool claims_table = false;
};

void run_list(const ListOptions& o) {
  if (o.claims_table) {
    std::cout << claim_table_markdown();
    return;
  }
  json out = json::array();
  for (const auto& e : registry()) {
    if (e.name.empty()) continue;
    json row = {{"verb", e.verb}, {"name", e.name}, {"theorem", e.theorem}, {"provenance", e.provenance},
                {"params", params_of(e)}, {"description", e.description}};
    for (const auto& c : claim_table())
      if (c.verb == e.verb && c.name == e.name) {
        row["semantics"] = c.semantics;
        row["limits"] = c.limits;
      }
    out.push_back(row);
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

ParamDef claims_table_flag() {
  ParamDef d;
  d.flag = "--claims-table";
  d.kind = ParamKind::Flag;
  d.help = "print the claims table (theorem, provenance, semantics, limits) as Markdown, as docs/theorems.md embeds it";
  return d;
}
const ParamTable kListParams = {param::json(), claims_table_flag()};

const DeclaredEntry reg{{"list", "", "", "", "list the registry", "", [](CLI::App& app) {
                       auto opts = std::make_shared<ListOptions>();
                       bind_params(app, kListParams, {{"--json", &opts->json}, {"--claims-table", &opts->claims_table}});
                       app.callback([opts] { run_list(*opts); });
                     }, &kListParams}};

}  // namespace

void register_list_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
