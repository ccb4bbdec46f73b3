// check / eval qsa --model for files of class qsa-unit (src/modelfile/qsa_unit_model.*).
#include "cmd_qsa_unit_model.hpp"

#include <fmt/format.h>

#include "claims.hpp"
#include "json_match.hpp"
#include "result_json.hpp"
#include "modelfile/qsa_unit_model.hpp"
#include "numeric/precision_ladder.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {
namespace {


std::string query_words(const QsaUnitModel& m) {
  return m.query_is_table ? "table over y_i" : "MLP " + layer_widths(m.query_mlp) + " on (1_y, e(i))";
}
std::string key_words(const QsaUnitModel& m) { return m.key_is_table ? "table over j" : "MLP " + layer_widths(m.key_mlp) + " on e(j)"; }

json unit_params(const QsaUnitModel& m, const std::string& path) {
  json p{{"model", path},           {"class", kQsaUnitClass},  {"N", m.N},
         {"q", m.q},                {"d", m.d},                {"k", m.k()},
         {"d_v", m.dv()},           {"query", query_words(m)}, {"key", key_words(m)},
         {"positional", m.query_positional()}, {"dtypes", m.dtypes}};
  if (!m.query_is_table || !m.key_is_table) p["activation"] = activation_name(m.activation);
  if (auto alpha = m.scalar()) p["alpha"] = to_exact_decimal_or_fraction(*alpha);
  if (!m.construction.empty()) p["construction"] = m.construction;
  return p;
}

QsaUnitModel load(const std::string& path) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  return read_qsa_unit_model(path);
}

json z_json(const Mat<Rational>& z) {
  json out = json::array();
  for (std::size_t j = 0; j < z.rows(); ++j) {
    json v = json::array();
    for (std::size_t c = 0; c < z.cols(); ++c) v.push_back(to_exact_decimal_or_fraction(z(j, c)));
    out.push_back(v);
  }
  return out;
}

}  // namespace

std::string model_file_class(const std::string& path) {
  if (path.empty()) return "";
  try {
    const SafetensorsFile f = read_safetensors(path);
    auto it = f.metadata.find("class");
    return it == f.metadata.end() ? std::string() : it->second;
  } catch (const ModelFileError&) {
    return "";  // the class's own reader reports the defect
  }
}

bool is_qsa_unit_file(const std::string& path) { return model_file_class(path) == kQsaUnitClass; }

void run_check_qsa_unit_model(const std::string& path, const Rational& eps, const CommonOptions& common) {
  Stopwatch sw;
  const Semantics sem = semantics_of(common);
  if (auto why = kQsaUnitSemantics.refusal(sem, "class qsa-unit"))
    throw UsageError("--semantics", path + ": " + *why + " (a rounding model for MLP queries and general linear maps is not written)");
  const QsaUnitModel m = load(path);
  const unsigned threads = resolve_threads(common.threads);
  const QsaUnitCheckResult r = with_size_guard([&] { return check_qsa_unit(m, eps, threads, common.force, sem); });
  json params = unit_params(m, path);
  params["eps"] = to_exact_decimal_or_fraction(eps);
  json out = make_claim_result("check", "qsa", params, sem.name());
  out["cases"] = r.rows;
  out["reduction"] = r.reduction;
  json worst;
  if (r.has_witness) {
    worst["value"] = to_decimal_string((r.worst_lower + r.worst_upper) / 2, 17, 0);
    worst["lower"] = to_decimal_string(r.worst_lower, 17, -1);
    worst["upper"] = to_decimal_string(r.worst_upper, 17, +1);
    json w;
    json S = json::array();
    for (int s : r.witness_S) S.push_back(s + 1);
    w["S"] = S;
    w["y"] = "every token has y_i = S";
    if (r.per_position) w["token"] = r.witness_i + 1;
    w["z"] = z_json(r.witness_z);
    if (r.forward_error_lower) {
      w["forward_pass_error_lower"] = to_decimal_string(*r.forward_error_lower, 17, -1);
      w["forward_pass_error_upper"] = to_decimal_string(*r.forward_error_upper, 17, +1);
      w["verified_by_forward_pass"] = r.witness_verified;
      w["forward_pass_bits"] = r.forward_bits;
    }
    worst["witness"] = w;
  } else {
    worst = {{"value", nullptr}, {"lower", nullptr}, {"upper", nullptr}, {"witness", json::object()}};
  }
  out["worst"] = worst;
  out["worst_case"] = r.alpha ? "exact (A = αI)" : "enclosure";
  out["bound"] = to_exact_decimal_or_fraction(eps);
  out["bound_derivation"] = r.bound_derivation;
  out["working_precision"] = {
      {"filter", "DInterval: IEEE double, outward rounded"},
      {"fallback", fmt::format("MPFI {}, {}, ..., {} bits", kLadderStartBits, 2 * kLadderStartBits, kLadderCeilingBits)},
      {"report", r.forward_bits > 0 ? fmt::format("MPFI 128 bits; witness forward pass {} bits", r.forward_bits)
                                    : std::string("MPFI 128 bits")}};
  out["rows"] = {{"fallback_mpfi", r.fallback_rows}, {"failing", r.failing_rows}, {"undecided", r.undecided_rows}, {"missing", 0}};
  out["structure"] = "verified from the file: class qsa-unit (query " + query_words(m) + ", key " + key_words(m) +
                     ", values value_map·z_j and ψ = output_map linear, no bias, one head, no residual); " +
                     (r.per_position ? "the query depends on the position: one row per (S, i)"
                                     : "the query does not depend on the position: one row per S") +
                     (r.alpha ? "; A = output_map·value_map = " + to_exact_string(*r.alpha) + "·I exactly"
                              : "; A = output_map·value_map is not a multiple of I");
  finish_result(out, r.verdict, sw.seconds(), threads);
  emit(out, common, exit_status_for(r.verdict));
}

void run_eval_qsa_unit_model(const std::string& path, const Mat<Rational>& z, const std::vector<std::vector<int>>& y,
                             const CommonOptions& common) {
  Stopwatch sw;
  const Semantics sem = semantics_of(common);
  if (auto why = kQsaUnitSemantics.refusal(sem, "class qsa-unit")) throw UsageError("--semantics", path + ": " + *why);
  const QsaUnitModel m = load(path);
  const mpfr_prec_t bits = 256;
  const Mat<Interval> out = eval_qsa_unit(m, z, y, bits, sem);
  const Mat<Rational> truth = qsa(z, y);
  const json tokens = qsa_eval_tokens(out, truth);
  json res = make_claim_result("eval", "qsa", unit_params(m, path), sem.name());
  res["tokens"] = tokens;
  res["output_note"] = "output_lower/output_upper: a certified enclosure of output_map·Σ_j a_ij value_map z_j at 256 bits "
                       "(direct forward pass), rounded outward";
  res["seconds"] = sw.seconds();
  emit(res, common, 0);
}

json qsa_eval_tokens(const Mat<Interval>& out, const Mat<Rational>& truth) {
  json tokens = json::array();
  for (std::size_t i = 0; i < out.rows(); ++i) {
    json lo = json::array(), hi = json::array(), t = json::array();
    for (std::size_t c = 0; c < out.cols(); ++c) {
      const Interval::Bounds b = out(i, c).widened_bounds();
      lo.push_back(to_decimal_string(b.lower, 17, -1));
      hi.push_back(to_decimal_string(b.upper, 17, +1));
    }
    for (std::size_t c = 0; c < truth.cols(); ++c) t.push_back(to_exact_decimal_or_fraction(truth(i, c)));
    tokens.push_back({{"i", i + 1}, {"output_lower", lo}, {"output_upper", hi}, {"qsa", t}});
  }
  return tokens;
}

void refuse_min_p_qsa_unit(const std::string& path) {
  throw UsageError("--model", path + ": class qsa-unit is certified under exact semantics only (a rounding model for MLP "
                                     "queries and general linear maps is not written), so it has no p*; min-p qsa "
                                     "--model takes a qsa-table file");
}

}  // namespace attnbounds
