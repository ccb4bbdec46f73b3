#include "json_qsa.hpp"

#include <fmt/format.h>

namespace attnbounds {

void write_qsa_check(json& out, const QsaCheckResult& r, int d, const Rational& eps) {
  out["cases"] = r.cases;
  out["reduction"] = r.reduction;
  json worst;
  if (!r.witness_signs.empty()) {
    worst["value"] = to_decimal_string((r.worst_lower + r.worst_upper) / 2, 17, 0);
    worst["lower"] = to_decimal_string(r.worst_lower, 17, -1);
    worst["upper"] = to_decimal_string(r.worst_upper, 17, +1);
  } else {  // no row to report (e.g. the subset has no certificate)
    worst["value"] = nullptr;
    worst["lower"] = nullptr;
    worst["upper"] = nullptr;
  }
  json witness;
  if (!r.witness_S.empty()) {
    json S = json::array();
    for (int k : r.witness_S) S.push_back(k + 1);
    witness["S"] = S;
    witness["y"] = "every token has y_i = S";
  }
  if (!r.witness_signs.empty()) {
    json z = json::array();
    for (int s : r.witness_signs) {
      json v = json::array();
      v.push_back(s < 0 ? "-1" : "1");
      for (int c = 1; c < d; ++c) v.push_back("0");
      z.push_back(v);
    }
    witness["z"] = z;
  }
  if (!r.missing_reason.empty()) {
    witness["missing"] = r.missing_reason;
    witness["missing_proof"] = r.missing_proof.empty() ? json("none verified (verdict undecided)") : json(r.missing_proof);
  }
  if (r.forward_error_lower) {
    witness["forward_pass_error_lower"] = to_decimal_string(*r.forward_error_lower, 17, -1);
    witness["verified_by_forward_pass"] = r.witness_verified;
    witness["forward_pass_bits"] = r.forward_bits;
  }
  worst["witness"] = witness;
  out["worst"] = worst;
  out["bound"] = to_exact_decimal_or_fraction(eps);
  out["bound_derivation"] = r.bound_derivation;
  out["working_precision"] = {
      {"filter", "DInterval: IEEE double, outward rounded (exp/log from IEEE operations alone)"},
      {"fallback", "MPFI 128, 256, ..., 2048 bits"},
      {"report", r.forward_bits > 0 ? fmt::format("MPFI 128 bits; witness forward pass {} bits", r.forward_bits)
                                    : std::string("MPFI 128 bits")}};
  out["rows"] = {{"fallback_mpfi", r.fallback_rows},
                 {"failing", r.failing_rows},
                 {"undecided", r.undecided_rows},
                 {"missing", r.missing_rows}};
}

json rip_certificate_summary_json(const RipCertificateSummary& s) {
  json j;
  j["strategy"] = s.strategy;
  j["how"] = s.how;
  j["verified_exactly"] = true;
  j["certificate_solves"] = s.certificate_solves;
  j["by_least_norm"] = s.by_least_norm;
  j["by_active_set"] = s.by_active_set;
  j["by_lp"] = s.by_lp;
  if (s.max_norm_scaled_upper) {
    j["max_norm_scaled"] = to_decimal_string(*s.max_norm_scaled_upper, 6, +1);
    j["norm_reference_2_sqrt_q"] = to_decimal_string(*s.norm_reference_upper, 6, +1);
    j["max_off_S_score"] = to_exact_decimal_or_fraction(*s.max_off_S_score);
    j["min_gap"] = to_exact_decimal_or_fraction(*s.min_gap);
  }
  j["mk"] = s.mk;
  j["m"] = s.m;
  return j;
}

namespace {
const char* mode_name(Semantics::Kind k) { return k == Semantics::Kind::Arith ? "arith" : "embed"; }
json one_based(const std::vector<int>& S) {
  json a = json::array();
  for (int k : S) a.push_back(k + 1);
  return a;
}
}  // namespace

std::string min_precision_family_name(const MinPrecisionConfig& c) {
  return c.family == FormatFamily::Float ? fmt::format("{}:float:P", mode_name(c.mode))
                                         : fmt::format("{}:fixed:{}.F", mode_name(c.mode), c.fixed_integer_bits);
}

void write_qsa_min_precision(json& out, const MinPrecisionResult& r, const MinPrecisionConfig& c,
                             std::uint64_t cases_per_p, const Rational& eps) {
  const std::string mode = mode_name(c.mode);
  const bool is_float = c.family == FormatFamily::Float;
  json table = json::array();
  for (const auto& row : r.table) {
    json j = {{"p", row.p}, {"semantics", row.semantics.name()}, {"verdict", to_string(row.trial.verdict)}};
    if (row.trial.worst_upper) j["worst_upper"] = to_decimal_string(*row.trial.worst_upper, 6, +1);
    if (row.trial.verdict == Verdict::Fails && !row.trial.witness.empty()) j["witness_S"] = one_based(row.trial.witness);
    table.push_back(j);
  }
  out["params"]["format"] = is_float ? "float" : "fixed";
  out["params"]["mode"] = mode;
  out["params"]["p_min"] = c.p_min;
  out["params"]["p_max"] = c.p_max;
  out["cases"] = cases_per_p * r.table.size();
  out["p_star"] = r.p_star ? json(*r.p_star) : json(nullptr);
  out["p_star_meaning"] = is_float ? "significand bits P of " + mode + ":float:P" : "total bits I+F of " + mode + ":fixed:I.F";
  out["islands"] = r.islands;
  out["table"] = table;
  out["bound"] = to_exact_decimal_or_fraction(eps);
  // math §7 worst: p* itself, with the p_max row's witness subset when there is none.
  const std::string p_text = r.p_star ? std::to_string(*r.p_star) : "none";
  const PrecisionRow* star = r.star_row();
  json witness = {{"p_star_semantics", star ? star->semantics.name() : std::string("none")}};
  if (!r.p_star && !table.empty() && table.back().contains("witness_S")) witness["p_max_failing_S"] = table.back()["witness_S"];
  out["worst"] = {{"value", p_text}, {"lower", p_text}, {"upper", p_text}, {"witness", witness}};
}

}  // namespace attnbounds
