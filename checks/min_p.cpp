#include "min_p.hpp"

#include <fmt/format.h>


namespace attnbounds {

namespace {
const char* mode_name(Semantics::Kind k) { return k == Semantics::Kind::Arith ? "arith" : "embed"; }
json one_based(const std::vector<int>& v) {
  json a = json::array();
  for (int k : v) a.push_back(k + 1);
  return a;
}
void write_witness(json& row, const PrecisionTrial& t) {
  if (t.verdict != Verdict::Fails || t.witness.empty()) return;
  if (t.witness_token) {
    row["witness_x"] = t.witness;
    row["witness_token"] = *t.witness_token + 1;
  } else {
    row["witness_S"] = one_based(t.witness);
  }
}
}  // namespace

MinPrecisionConfig min_precision_config(const std::string& mode, const std::string& number_format, int p_min, int p_max) {
  MinPrecisionConfig mc;
  mc.mode = mode == "arith" ? Semantics::Kind::Arith : Semantics::Kind::Embed;
  mc.family = number_format == "fixed" ? FormatFamily::Fixed : FormatFamily::Float;
  mc.p_min = p_min;
  mc.p_max = p_max;
  mc.validate();
  return mc;
}

std::string min_precision_family_name(const MinPrecisionConfig& c) {
  return c.family == FormatFamily::Float ? fmt::format("{}:float:P", mode_name(c.mode))
                                         : fmt::format("{}:fixed:{}.F", mode_name(c.mode), c.fixed_integer_bits);
}

json min_precision_table_json(const MinPrecisionResult& r) {
  json table = json::array();
  for (const auto& row : r.table) {
    json j = {{"p", row.p}, {"semantics", row.semantics.name()}, {"verdict", to_string(row.trial.verdict)}};
    if (row.trial.worst_lower) j["worst_lower"] = to_decimal_string(*row.trial.worst_lower, 6, -1);
    if (row.trial.worst_upper) j["worst_upper"] = to_decimal_string(*row.trial.worst_upper, 6, +1);
    write_witness(j, row.trial);
    if (!row.trial.undecided_reason.empty()) j["undecided_reason"] = row.trial.undecided_reason;
    table.push_back(j);
  }
  return table;
}

void write_min_precision(json& out, const MinPrecisionResult& r, const MinPrecisionConfig& c,
                         std::uint64_t cases_per_p, const std::string& bound) {
  const std::string mode = mode_name(c.mode);
  const bool is_float = c.family == FormatFamily::Float;
  out["params"]["format"] = is_float ? "float" : "fixed";
  out["params"]["mode"] = mode;
  out["params"]["p_min"] = c.p_min;
  out["params"]["p_max"] = c.p_max;
  out["cases"] = cases_per_p * r.table.size();
  out["p_star"] = r.p_star ? json(*r.p_star) : json(nullptr);
  out["p_star_meaning"] = is_float ? "significand bits P of " + mode + ":float:P" : "total bits I+F of " + mode + ":fixed:I.F";
  out["islands"] = r.islands;
  out["table"] = min_precision_table_json(r);
  out["bound"] = bound;
  // math §7 worst: p* itself, with the p_max row's witness when there is none.
  const PrecisionRow* star = r.star_row();
  json witness = {{"p_star_semantics", star ? json(star->semantics.name()) : json(nullptr)}};
  if (!r.p_star && !out["table"].empty()) {
    const json& top = out["table"].back();
    if (top.contains("witness_S")) witness["p_max_failing_S"] = top["witness_S"];
    if (top.contains("witness_x")) witness["p_max_failing_input"] = {{"x", top["witness_x"]}, {"token", top["witness_token"]}};
  }
  const json p_value = r.p_star ? json(std::to_string(*r.p_star)) : json(nullptr);
  out["worst"] = {{"value", p_value}, {"lower", p_value}, {"upper", p_value}, {"witness", witness}};
}

}  // namespace attnbounds
