#include "json_qsa.hpp"

#include <fmt/format.h>

#include "core/filtered_sweep.hpp"

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
      {"fallback", fmt::format("MPFI {}, {}, ..., {} bits", kLadderStartBits, 2 * kLadderStartBits, kLadderCeilingBits)},
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

}  // namespace attnbounds
