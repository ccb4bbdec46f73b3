// Class attention-unit on the command line (docs/model-format.md): check, eval and min-p
// match2|match3 --model with the general unit's exhaustive checker (src/modelfile/attention_unit_model.*).
#include <fmt/format.h>

#include "checks/cmd_match_model.hpp"
#include "checks/cmd_qsa_unit_model.hpp"
#include "checks/json_match.hpp"
#include "checks/result_json.hpp"
#include "modelfile/attention_unit_model.hpp"

namespace attnbounds {
namespace {

constexpr const char* kTheorem2 = "§4.3 (Match2, constant m)";
constexpr const char* kTheorem3 = "§4.4 (Match3)";
constexpr const char* kProvenance2 = "paper statement (Match2, math §4.3); the model is the file's";
constexpr const char* kProvenance3 = "paper statement (Match3, math §4.4); the model is the file's";

MatchTask task_of(const std::string& task) { return task == "match3" ? MatchTask::Match3 : MatchTask::Match2; }

AttentionUnitModel load_unit(const std::string& path) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  return read_attention_unit_model(path);
}


json unit_params(const AttentionUnitModel& m, const std::string& path) {
  json k = json::array();
  for (const auto& h : m.heads) k.push_back(h.query.out);
  json p{{"model", path},
         {"class", kAttentionUnitClass},
         {"N", m.N},
         {"M", m.M},
         {"phi_input", m.positional_input ? "token+position" : "token"},
         {"phi_widths", layer_widths(m.phi)},
         {"m", m.m()},
         {"heads", m.heads.size()},
         {"k", k},
         {"d", m.d()},
         {"residual", m.residual.has_value()},
         {"positional", m.positional()},
         {"activation", activation_name(m.activation)},
         {"psi", psi_name(m.psi)},
         {"dtypes", m.dtypes}};
  if (m.psi == AttentionUnitModel::Psi::Mlp) p["psi_widths"] = layer_widths(m.psi_mlp);
  else p["psi_matched"] = m.matched_below ? "below" : "above";
  if (!m.construction.empty()) p["construction"] = m.construction;
  return p;
}

std::string structure_of(const AttentionUnitModel& m) {
  std::string s = "verified from the file: class attention-unit (φ an MLP " + layer_widths(m.phi) + " on one-hot token" +
                  (m.positional_input ? " and position" : "") + " features" +
                  (m.positional_input && !m.positional() ? ", every positional column exactly 0" : "") + "; " +
                  std::to_string(m.heads.size()) + " softmax head(s) summed" + (m.residual ? ", a residual map" : "") +
                  "; ψ = 1[" +
                  (m.psi == AttentionUnitModel::Psi::Mlp ? "MLP " + layer_widths(m.psi_mlp) + " of out > 0"
                                                         : std::string("‖out‖") + (m.matched_below ? " < τ" : " > τ")) +
                  "]); no further structure is needed: [M]^N is finite and enumerated";
  return s;
}

json unit_check(const AttentionUnitModel& m, const std::string& path, const std::string& task, const Semantics& sem,
                unsigned threads, bool force) {
  if (auto why = kAttentionUnitSemantics.refusal(sem, "attention-unit models"))
    throw UsageError("--semantics", path + ": " + *why + "; the MLPs' rounded arithmetic is not modelled");
  const AttentionUnitCheckResult r = with_size_guard([&] { return check_attention_unit(m, task_of(task), sem, threads, force); });
  const bool two = task == "match2";
  json out = make_result("check", task, two ? kTheorem2 : kTheorem3, two ? kProvenance2 : kProvenance3, unit_params(m, path),
                         r.semantics);
  if (m.psi == AttentionUnitModel::Psi::Norm) out["threshold"] = to_decimal_string(m.threshold.at(128).lower(), 17, 0);
  else out["threshold"] = "0";
  out["reduction"] = r.reduction;
  out["inputs"] = r.inputs;
  out["structure"] = structure_of(m);
  add_match_sweep(out, r.sweep, "tightest_matched_statistic", "tightest_unmatched_statistic");
  finish_result(out, r.verdict, r.seconds, r.threads);
  return out;
}

}  // namespace

bool is_attention_unit_file(const std::string& path) { return model_file_class(path) == kAttentionUnitClass; }

void run_check_unit_model(const std::string& path, const std::string& task, const CommonOptions& common) {
  const AttentionUnitModel m = load_unit(path);
  const json out = unit_check(m, path, task, semantics_of(common), resolve_threads(common.threads), common.force);
  emit(out, common, status_of(out));
}

void run_min_p_unit_model(const MatchMinPOfModel& o, const std::string& task) {
  if (o.mode != "embed")
    throw UsageError("--mode", "must be embed for an attention-unit file (got " + o.mode +
                                   "): the MLPs' rounded arithmetic is not modelled");
  const AttentionUnitModel m = load_unit(o.model);
  run_min_p_of_model(task, task == "match2" ? kProvenance2 : kProvenance3, o, [&](const Semantics& sem, unsigned threads) {
    return unit_check(m, o.model, task, sem, threads, o.common.force);
  });
}

void run_eval_unit_model(const std::string& path, const std::string& task, const std::string& input,
                         const CommonOptions& common) {
  const AttentionUnitModel m = load_unit(path);
  const std::vector<int> x = parse_int_list("--input", input, -1000000000, 1000000000, 2);
  if (x.size() != static_cast<std::size_t>(m.N))
    throw UsageError("--input", fmt::format("needs N = {} token values (the model's N), got {}", m.N, x.size()));
  const Semantics sem = semantics_of(common);
  if (auto why = kAttentionUnitSemantics.refusal(sem, "attention-unit models")) throw UsageError("--semantics", path + ": " + *why);
  json r = to_json(eval_attention_unit(m, task_of(task), sem, x), task);
  r["params"]["model"] = path;
  r["params"]["class"] = kAttentionUnitClass;
  emit_match_model_eval(r, common, task + " --model " + path);
}

}  // namespace attnbounds
