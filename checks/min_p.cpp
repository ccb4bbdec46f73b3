#include "min_p.hpp"

#include <fmt/format.h>

#include "checks/usage_error.hpp"
#include "core/config_error.hpp"
#include "core/elapsed_timer.hpp"
#include "numeric/format.hpp"
#include "numeric/rational.hpp"
#include "proofs/match3_local.hpp"


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

MinPrecisionConfig min_precision_config(const std::string& mode, const std::string& number_format, int p_min, int p_max,
                                        FieldLimits p_limits) {
  MinPrecisionConfig mc;
  mc.p_limits = p_limits;
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

json match_min_precision_result(const MinPrecisionConfig& mc, const PrecisionCheck& trial, const json& first_check,
                                unsigned threads, const std::function<json(const json& params)>& skeleton) {
  ElapsedTimer timer;
  const MinPrecisionResult r = min_precision(mc, trial);
  json hardware;
  for (const auto& [label, format] : {std::pair{"bf16", Format::bf16()}, {"fp16", Format::fp16()}, {"fp32", Format::fp32()}}) {
    Semantics sem;
    sem.kind = mc.mode;
    sem.format = format;
    try {
      hardware[label] = to_string(trial(sem).verdict);
    } catch (const ConfigError& e) {  // a checker that cannot certify this format says why
      hardware[label] = std::string("not supported: ") + e.what();
    } catch (const UsageError& e) {  // a model file whose structure this semantics cannot certify
      hardware[label] = std::string("not supported: ") + e.what();
    } catch (const FormatRangeError& e) {  // a value outside the format's finite range
      hardware[label] = std::string("out of range: ") + e.what();
    }
  }
  json result = skeleton(first_check.value("params", json::object()));
  const std::uint64_t cases_per_p = first_check.value("cases", std::uint64_t{0});
  write_min_precision(result, r, mc, cases_per_p, first_check.value("bound", std::string()));
  result["hardware_formats"] = hardware;
  finish_result(result, r.verdict, timer.seconds(), threads);
  return result;
}

PrecisionTrial trial_from_check_json(const json& check) {
  PrecisionTrial t;
  const std::string v = check.value("verdict", "undecided");
  t.verdict = v == "holds" ? Verdict::Holds : v == "fails" ? Verdict::Fails : Verdict::Undecided;
  const json worst = check.value("worst", json::object());
  if (worst.value("lower", json()).is_string()) t.worst_lower = parse_rational(worst["lower"].get<std::string>());
  if (worst.value("upper", json()).is_string()) t.worst_upper = parse_rational(worst["upper"].get<std::string>());
  const json witness = worst.value("witness", json::object());
  // A Match check fails only on a witness its forward pass confirmed (verify_sweep).
  t.witness_verified = t.verdict == Verdict::Fails;
  if (t.verdict == Verdict::Fails && witness.contains("x") && witness.contains("token")) {
    t.witness = witness["x"].get<std::vector<int>>();
    t.witness_token = witness["token"].get<int>() - 1;
  }
  return t;
}

PrecisionTrial trial_of_match3_local(const Match3LocalResult& r) {
  PrecisionTrial t;
  t.verdict = r.verdict;
  t.witness_verified = r.verdict == Verdict::Fails && r.witness.has_value();
  t.worst_lower = Rational(r.worst_lower);
  t.worst_upper = Rational(r.worst_upper);
  return t;
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
