#include "result_json.hpp"

#include "claims.hpp"

#include "result_schema.hpp"

#include <fmt/format.h>

namespace attnbounds {

int exit_status_for(Verdict v) {
  switch (v) {
    case Verdict::Holds: return 0;
    case Verdict::Fails: return 1;
    case Verdict::Undecided: return 3;
  }
  return 3;
}

json make_result(const std::string& command, const std::string& claim, const std::string& theorem,
                 const std::string& provenance, const json& params, const std::string& semantics) {
  json r;
  r["tool"] = "attnbounds";
  r["schema_version"] = kResultSchemaVersion;
  r["version"] = ATTNBOUNDS_VERSION;
  r["command"] = command;
  r["claim"] = claim;
  r["theorem"] = theorem;
  r["provenance"] = provenance;
  r["params"] = params;
  r["semantics"] = semantics;
  return r;
}

void finish_result(json& result, Verdict verdict, double seconds, unsigned threads) {
  result["verdict"] = to_string(verdict);
  // Which comparison the verdict makes, from the claims table (one place for every command).
  if (!result.contains("verdict_rule")) {
    const std::string rule = claim_verdict_rule(result.value("command", ""), result.value("claim", ""));
    if (!rule.empty()) result["verdict_rule"] = rule;
  }
  result["seconds"] = seconds;
  result["threads"] = threads;
}

namespace {
std::string scalar(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
}  // namespace

namespace {
// min-p: p* and one line per tested precision (the row's certified worst-case ends).
std::string render_min_precision_text(const json& r) {
  const json& p_star = r["p_star"];
  std::string out = fmt::format("min-p {} ({}): p* = {}\n", r.value("claim", ""), r.value("semantics", ""),
                                p_star.is_number_integer() ? std::to_string(p_star.get<int>()) : std::string("none in range"));
  for (const auto& row : r["table"]) {
    std::string worst;
    if (row.contains("worst_lower") && row.contains("worst_upper"))
      worst = fmt::format("[{}, {}]", row["worst_lower"].get<std::string>(), row["worst_upper"].get<std::string>());
    else if (row.contains("worst_upper"))
      worst = row["worst_upper"].get<std::string>();
    else if (row.contains("undecided_reason"))
      worst = row["undecided_reason"].get<std::string>();
    out += fmt::format("  p = {:>3}  {:<10} {}\n", row.value("p", 0), row.value("verdict", ""), worst);
  }
  if (r.contains("islands") && !r["islands"].empty())
    out += "  non-monotone islands (hold below p*): " + r["islands"].dump() + "\n";
  if (r.contains("hardware_formats"))
    for (const auto& [name, v] : r["hardware_formats"].items()) out += fmt::format("  {:<8} {}\n", name, scalar(v));
  out += fmt::format("  verdict {} ({:.3f} s on {} thread(s))\n", r.value("verdict", "undecided"), r.value("seconds", 0.0),
                     r.value("threads", 1));
  return out;
}
}  // namespace

std::string render_text(const json& r) {
  if (r.value("command", "") == "min-p" && r.contains("table") && r["table"].is_array() && r.contains("p_star"))
    return render_min_precision_text(r);
  std::string out;
  if (r.contains("verdict"))
    out += fmt::format("{} {}: {}\n", r.value("command", ""), r.value("claim", ""), r["verdict"].get<std::string>());
  for (const char* key : {"theorem", "provenance", "semantics", "cases", "bound"})
    if (r.contains(key)) out += fmt::format("  {:<12} {}\n", key, scalar(r[key]));
  if (r.contains("params")) out += fmt::format("  {:<12} {}\n", "params", r["params"].dump());
  if (r.contains("worst")) {
    const auto& w = r["worst"];
    for (const char* key : {"value", "lower", "upper"})
      if (w.contains(key)) out += fmt::format("  worst.{:<6} {}\n", key, scalar(w[key]));
    if (w.contains("witness")) out += fmt::format("  witness      {}\n", w["witness"].dump());
  }
  for (auto it = r.begin(); it != r.end(); ++it) {
    static const char* skip[] = {"tool", "schema_version", "version", "command", "claim", "theorem", "provenance", "semantics",
                                 "cases", "bound", "params", "worst", "verdict", "seconds", "threads"};
    bool skipped = false;
    for (const char* s : skip) skipped = skipped || it.key() == s;
    if (!skipped) out += fmt::format("  {:<12} {}\n", it.key(), scalar(it.value()));
  }
  if (r.contains("seconds"))
    out += fmt::format("  {:<12} {:.3f} s on {} thread(s)\n", "time", r["seconds"].get<double>(),
                       r.value("threads", 1));
  return out;
}

}  // namespace attnbounds
