// CLI wiring of the Match model-file class match2-table: export of the Match2 construction, and
// check / eval of a file with the certified Match2 checker (src/modelfile/match2_model.*).
#include "cmd_match_model.hpp"
#include "min_p.hpp"
#include "params.hpp"

#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <memory>

#include "core/atomic_file.hpp"
#include "claims.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "modelfile/attention_unit_model.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/match3_local_model.hpp"
#include "modelfile/match3_model.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_third_order.hpp"
#include "result_json.hpp"

namespace attnbounds {
namespace {

constexpr const char* kMatch2ModelTheorem = "§4.3 (Match2, constant m)";  // as the claims table
constexpr const char* kMatch2ModelProvenance = "paper statement (Match2, math §4.3); the model is the file's";
constexpr const char* kMatch3ModelTheorem = "§4.4 (Match3, third-order attention)";
constexpr const char* kMatch3ModelProvenance = "paper statement (Match3, math §1.5, §4.4); the model is the file's";

json match2_model_params(const Match2TableModel& m, const std::string& path) {
  json p{{"model", path},
         {"class", "match2-table"},
         {"N", m.N},
         {"M", m.M},
         {"k", m.k},
         {"d", m.d},
         {"residual", m.has_residual()},
         {"positional", m.positional()},
         {"psi", psi_name(m.psi)},
         {"psi_matched", m.matched_below ? "below" : "above"},
         {"dtypes", m.dtypes}};
  if (!m.construction.empty()) p["construction"] = m.construction;
  return p;
}

Match2TableModel load(const std::string& path) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  return read_match2_table_model(path);
}

}  // namespace


namespace {

// check match2 --model as its result JSON: the command itself and every point of min-p match2 --model.
json match2_model_check(const Match2TableModel& m, const std::string& path, const Semantics& sem, unsigned threads,
                        bool force) {
  const std::string problem = match2_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw UsageError("--model", path + ": not certifiable as Match2 under " + sem.name() + ": " + problem);
  const Match2TableCheckResult r = with_size_guard([&] { return check_match2_table(m, sem, threads, force); });
  json out = make_result("check", "match2", kMatch2ModelTheorem, kMatch2ModelProvenance, match2_model_params(m, path), r.semantics);
  out["residual"] = m.has_residual();
  out["threshold"] = to_decimal_string(r.threshold_lower, 17, 0);
  if (m.disjunctive()) out["threshold_linear"] = to_decimal_string(m.threshold_linear.at(128).lower(), 17, 0);
  out["reduction"] = r.reduction;
  const std::string psi = m.disjunctive() ? "‖out‖² < τ or |w·out| < τ_lin"
                                          : std::string(m.psi == Match2TableModel::Psi::Norm ? "‖out‖" : "w·out") +
                                                (m.matched_below ? " < τ" : " > τ");
  out["structure"] = std::string("verified from the file: class match2-table (query, key, value") +
                     (m.has_residual() ? ", residual" : "") + " tables over token values" +
                     (m.positional() ? " plus positional tables" : ", no positional tables") + "; ψ = 1[" + psi + "])";
  const bool norm_below = m.psi == Match2TableModel::Psi::Norm && m.matched_below;
  // The disjunctive ψ's statistic is its decision function, named as in check match2 --no-residual.
  add_match_sweep(out, r.sweep,
                  m.disjunctive() ? "smallest_matched_psi_function"
                  : norm_below    ? "largest_matched_norm"
                                  : "tightest_matched_statistic",
                  m.disjunctive() ? "largest_unmatched_psi_function"
                  : norm_below    ? "smallest_unmatched_norm"
                                  : "tightest_unmatched_statistic");
  finish_result(out, r.verdict, r.seconds, r.threads);
  return out;
}

}  // namespace

// min-p of a model file: the file's own check at every <mode>:float:p, by the one min-p rule
// (certify/min_precision.hpp) and the Match min-p result (checks/min_p.hpp).
void run_min_p_of_model(const std::string& claim, const std::string& provenance, const MatchMinPOfModel& o,
                        const std::function<json(const Semantics&, unsigned)>& check_at) {
  const unsigned threads = resolve_threads(o.common.threads);
  const MinPrecisionConfig mc = min_precision_config(o.mode, "float", o.p_min, o.p_max, kMatchMinPrecisionP);
  json first;
  const json r = match_min_precision_result(
      mc,
      [&](const Semantics& sem) {
        json c = check_at(sem, threads);
        if (first.is_null()) first = c;
        return trial_from_check_json(c);
      },
      first, threads, [&](const json& params) {
        return make_result("min-p", claim, first.value("theorem", ""), provenance, params, min_precision_family_name(mc));
      });
  emit(r, o.common, status_of(r));
}

void run_check_match2_model(const std::string& path, const CommonOptions& common) {
  if (is_attention_unit_file(path)) return run_check_unit_model(path, "match2", common);
  const Match2TableModel m = load(path);
  const json out = match2_model_check(m, path, semantics_of(common), resolve_threads(common.threads), common.force);
  emit(out, common, status_of(out));
}

void run_min_p_match2_model(const MatchMinPOfModel& o) {
  if (is_attention_unit_file(o.model)) return run_min_p_unit_model(o, "match2");
  const Match2TableModel m = load(o.model);
  run_min_p_of_model("match2", kMatch2ModelProvenance, o, [&](const Semantics& sem, unsigned threads) {
    return match2_model_check(m, o.model, sem, threads, o.common.force);
  });
}

void run_eval_match2_model(const std::string& path, const std::string& input, const CommonOptions& common) {
  if (is_attention_unit_file(path)) return run_eval_unit_model(path, "match2", input, common);
  const Match2TableModel m = load(path);
  const std::vector<int> x = parse_int_list("--input", input, -1000000000, 1000000000, 2);
  if (x.size() != static_cast<std::size_t>(m.N))
    throw UsageError("--input", fmt::format("needs N = {} token values (the model's N), got {}", m.N, x.size()));
  json r = to_json(eval_match2_table(m, semantics_of(common), x), "match2");
  r["params"]["model"] = path;
  r["params"]["class"] = "match2-table";
  emit_match_model_eval(r, common, "match2 --model " + path);
}

void emit_match_model_eval(const json& r, const CommonOptions& common, const std::string& title) {
  const int status = r["errors"].get<int>() == 0 ? 0 : 1;  // any wrong or undecided token
  if (common.json) return emit(r, common, status);
  std::cout << "eval " << title << " (" << r["semantics"].get<std::string>() << ")\n";
  std::cout << "  token  x   model  truth\n";
  int i = 1;
  for (const auto& t : r["tokens"])
    std::cout << "  " << i++ << "\t" << t["x"].dump() << "\t" << t["model"].dump() << "\t" << t["truth"].dump()
              << (t["model"] == t["truth"] ? "" : "   <- wrong") << '\n';
  std::cout << "  errors " << r["errors"].dump() << '\n';
  std::cout.flush();
  if (!std::cout) throw OutputError("cannot write the result to standard output");
  set_exit_status(status);
}

namespace {

struct Match2ExportOptions {
  CommonOptions common;
  int N = 8, M = 16;
  std::string c, out, dtype = "exact", cls = "match2-table";
  bool flip = false, no_residual = false;
};

ModelWriteOptions write_options(const std::string& dtype) {
  ModelWriteOptions w;
  if (dtype == "exact") return w;
  w.exact = false;
  if (dtype == "F64") w.dtype = DType::F64;
  else if (dtype == "F32") w.dtype = DType::F32;
  else if (dtype == "BF16") w.dtype = DType::BF16;
  else if (dtype == "F16") w.dtype = DType::F16;
  else throw UsageError("--dtype", "must be exact, F64, F32, BF16 or F16 (got '" + dtype + "')");
  return w;
}

// --c as given, else the construction's default.
Rational export_temperature(const Match2ExportOptions& o, bool third_order) {
  Rational c;
  if (o.c.empty()) {
    c = third_order      ? match3_default_temperature(o.N, o.M)
        : o.no_residual ? match2nr_default_temperature(o.N, o.M)
                        : match2_default_temperature(o.N, o.M);
  } else {
    try {
      c = parse_rational(o.c);
    } catch (const std::invalid_argument&) {
      throw UsageError("--c", "expected a positive rational such as 12.5 or 25/2 (got '" + o.c + "')");
    }
    if (!(c > 0) || c > Rational(mpz_class(1) << 40)) throw UsageError("--c", "must be in (0, 2^40] (got " + o.c + ")");
  }
  return c;
}

void check_export_sizes(const Match2ExportOptions& o, int max_N) {
  if (o.out.empty()) throw UsageError("--out", "a file name is required");
  if (o.N < 2 || o.N > max_N) throw UsageError("--N", fmt::format("must be in 2..{} (got {})", max_N, o.N));
  if (o.M < 2 || o.M > 4096) throw UsageError("--M", "must be in 2..4096 for export (got " + std::to_string(o.M) + ")");
}

void run_export_match2(const Match2ExportOptions& o) {
  Stopwatch sw;
  const ModelWriteOptions wopts = write_options(o.dtype);
  check_export_sizes(o, 64);
  if (o.no_residual) {
    if (o.flip) throw UsageError("--flip-query-sign", "not available with --no-residual");
    if (o.M < 3) throw UsageError("--M", "must be in 3..4096 with --no-residual (got " + std::to_string(o.M) + ")");
  }
  const Rational c = export_temperature(o, false);
  if (o.cls == kAttentionUnitClass) {
    if (o.no_residual)
      throw UsageError("--no-residual", "not available with --class attention-unit (its ψ, ‖out‖² < τ or |w·out| < τ_lin, "
                                        "is neither a norm threshold nor an MLP sign; write it as match2-table)");
    AttentionUnitModel u = attention_unit_of_match2_construction(o.N, o.M, c, o.flip);
    const json params{{"N", o.N}, {"M", o.M}, {"c", to_exact_string(c)}, {"flip_query_sign", o.flip}};
    const std::string provenance = claim_info("check", "match2").provenance;
    u.metadata["params"] = params.dump();
    u.metadata["provenance"] = provenance;
    write_model_file_once([&] { write_attention_unit_model(o.out, u, wopts); });
    json out = make_result("export", "match2", kMatch2ModelTheorem, provenance, params, "exact");
    out["file"] = o.out;
    out["class"] = kAttentionUnitClass;
    out["dtype"] = o.dtype;
    out["seconds"] = sw.seconds();
    if (!o.common.json) {
      std::cout << fmt::format("export match2: wrote {} (class attention-unit, N = {}, M = {}, one head, m = d = 2, residual, "
                               "psi norm, c = {}, {})\n",
                               o.out, o.N, o.M, to_exact_string(c), o.dtype);
      set_exit_status(0);
      return;
    }
    return emit(out, o.common, 0);
  }
  Match2TableModel m = o.no_residual ? match2_table_model_of_no_residual_construction(o.N, o.M, c)
                                     : match2_table_model_of_construction(o.N, o.M, c, o.flip);
  json params{{"N", o.N}, {"M", o.M}, {"c", to_exact_string(c)}, {"flip_query_sign", o.flip}};
  if (o.no_residual) params = json{{"N", o.N}, {"M", o.M}, {"c", to_exact_string(c)}, {"residual", false}};
  const std::string provenance = claim_info("check", o.no_residual ? "match2 --no-residual" : "match2").provenance;
  m.metadata["params"] = params.dump();
  m.metadata["provenance"] = provenance;
  write_model_file_once([&] { write_match2_table_model(o.out, m, wopts); });  // under --mpi rank 0 alone writes it
  json out = make_result("export", "match2", kMatch2ModelTheorem, provenance, params, "exact");
  out["file"] = o.out;
  out["class"] = "match2-table";
  out["dtype"] = o.dtype;
  out["seconds"] = sw.seconds();
  if (!o.common.json) {
    std::cout << fmt::format("export match2: wrote {} (class match2-table, N = {}, M = {}, k = d = 2, {}, c = {}, {})\n", o.out,
                             o.N, o.M, o.no_residual ? "no residual, psi sqnorm-or-abs-linear" : "residual, psi norm",
                             to_exact_string(c), o.dtype);
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}

ParamTable export_match_params(FieldLimits N_limits, FieldLimits M_limits, int default_N, int default_M,
                               const std::string& c_default, const std::string& flip_help, bool no_residual_flag) {
  ParamDef dtype;
  dtype.flag = "--dtype";
  dtype.kind = ParamKind::Choice;
  dtype.help = "exact (F64 + exact companions) or a stored dtype";
  ParamTable t = {param::N().with_range(N_limits).with_default(default_N), param::M().with_range(M_limits).with_default(default_M),
                  param::c().with_help("temperature (exact rational)").with_computed_default(c_default),
                  param::flag("--flip-query-sign", flip_help)};
  if (no_residual_flag) {
    t.push_back(param::flag("--no-residual", "the residual-free construction (m = 4; psi = sqnorm-or-abs-linear, default c as "
                                          "check match2 --no-residual)"));
    ParamDef cls;
    cls.flag = "--class";
    cls.kind = ParamKind::Choice;
    cls.help = "the file's class: match2-table (tables) or attention-unit (the general unit, docs/model-format.md)";
    t.push_back(cls.with_choices({"match2-table", "attention-unit"}, "match2-table"));
  }
  t.push_back(param::file("--out", "model file to write (safetensors)").as_required());
  t.push_back(dtype.with_choices({"exact", "F64", "F32", "BF16", "F16"}, "exact"));
  return with_common(t, false);
}
const ParamTable kExportMatch2 =
    export_match_params(Match2Config::kN, Match2Config::kM, 8, 16, "as check match2 (--no-residual: as check match2 --no-residual)",
                        "negative twin: query c(cos, +sin)", true);
const ParamTable kExportMatch3 =
    export_match_params(Match3Config::kN, Match3Config::kM, 6, 9, "as check match3-third-order", "negative twin: last query entry +C sin", false);

std::vector<ParamBinding> export_bindings(Match2ExportOptions& o, bool no_residual_flag) {
  std::vector<ParamBinding> b = {{"--N", &o.N}, {"--M", &o.M}, {"--c", &o.c}, {"--flip-query-sign", &o.flip}};
  if (no_residual_flag) {
    b.push_back({"--no-residual", &o.no_residual});
    b.push_back({"--class", &o.cls});
  }
  b.push_back({"--out", &o.out});
  b.push_back({"--dtype", &o.dtype});
  return b;
}

const DeclaredEntry reg_export_match2{
    {"export", "match2", "", "", "write the Match2 construction (trigonometric tables; residual, or --no-residual) as a model file, exact", "",
     [](CLI::App& a) {
       auto o = std::make_shared<Match2ExportOptions>();
       auto* sub = a.add_subcommand("match2", "write the Match2 construction as a model file");
       bind_with_common(*sub, kExportMatch2, export_bindings(*o, true), o->common);
       sub->callback([o] { run_export_match2(*o); });
     },
     &kExportMatch2}};

void run_export_match3(const Match2ExportOptions& o) {
  Stopwatch sw;
  const ModelWriteOptions wopts = write_options(o.dtype);
  check_export_sizes(o, 16);
  const Rational c = export_temperature(o, true);
  Match3ThirdOrderModel m = match3_third_order_model_of_construction(o.N, o.M, c, o.flip);
  json params{{"N", o.N}, {"M", o.M}, {"c", to_exact_string(c)}, {"flip_query_sign", o.flip}};
  m.metadata["params"] = params.dump();
  m.metadata["provenance"] = "paper statement; construction ours";
  write_model_file_once([&] { write_match3_third_order_model(o.out, m, wopts); });  // under --mpi rank 0 alone writes it
  json out = make_result("export", "match3-third-order", kMatch3ModelTheorem, "paper statement; construction ours", params, "exact");
  out["file"] = o.out;
  out["class"] = "match3-third-order";
  out["dtype"] = o.dtype;
  out["seconds"] = sw.seconds();
  if (!o.common.json) {
    std::cout << fmt::format("export match3-third-order: wrote {} (class match3-third-order, N = {}, M = {}, m = d = 4, c = {}, {})\n",
                             o.out, o.N, o.M, to_exact_string(c), o.dtype);
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}

const DeclaredEntry reg_export_match3{
    {"export", "match3-third-order", "", "", "write the third-order Match3 construction (trigonometric tables) as a model file, exact",
     "",
     [](CLI::App& a) {
       auto o = std::make_shared<Match2ExportOptions>();
       auto* sub = a.add_subcommand("match3-third-order", "write the third-order Match3 construction as a model file");
       bind_with_common(*sub, kExportMatch3, export_bindings(*o, false), o->common);
       sub->callback([o] { run_export_match3(*o); });
     },
     &kExportMatch3}};

struct Match3ModelOptions {
  CommonOptions common;
  std::string model, input;
};

json match3_model_params(const Match3ThirdOrderModel& m, const std::string& path) {
  json p{{"model", path}, {"class", "match3-third-order"}, {"N", m.N}, {"M", m.M}, {"m", m.m}, {"d", m.d},
         {"psi_matched", m.matched_below ? "below" : "above"}, {"dtypes", m.dtypes}};
  if (!m.construction.empty()) p["construction"] = m.construction;
  return p;
}

Match3ThirdOrderModel load3(const std::string& path) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  return read_match3_third_order_model(path);
}

json match3_model_check(const Match3ThirdOrderModel& m, const std::string& path, const Semantics& sem, unsigned threads,
                        bool force) {
  const std::string problem = match3_certifiable_structure_problem(m, sem);
  if (!problem.empty()) throw UsageError("--model", path + ": not certifiable as Match3 under " + sem.name() + ": " + problem);
  const Match2TableCheckResult r = with_size_guard([&] { return check_match3_third_order_model(m, sem, threads, force); });
  json out = make_result("check", "match3", kMatch3ModelTheorem, kMatch3ModelProvenance, match3_model_params(m, path), r.semantics);
  out["threshold"] = to_decimal_string(r.threshold_lower, 17, 0);
  out["reduction"] = r.reduction;
  out["structure"] = std::string("verified from the file: class match3-third-order (query, key1, key2, value1, value2 tables "
                                 "over token values, no positional tables; ψ = 1[psi_table[x_i]·out") +
                     (m.matched_below ? " < τ" : " > τ") + "])";
  add_match_sweep(out, r.sweep, "smallest_matched_statistic", "largest_unmatched_statistic");
  finish_result(out, r.verdict, r.seconds, r.threads);
  return out;
}

void run_check_match3_model(const Match3ModelOptions& o) {
  if (is_attention_unit_file(o.model)) return run_check_unit_model(o.model, "match3", o.common);
  const Match3ThirdOrderModel m = load3(o.model);
  const json out = match3_model_check(m, o.model, semantics_of(o.common), resolve_threads(o.common.threads), o.common.force);
  emit(out, o.common, status_of(out));
}

void run_min_p_match3_model(const MatchMinPOfModel& o) {
  if (is_attention_unit_file(o.model)) return run_min_p_unit_model(o, "match3");
  const Match3ThirdOrderModel m = load3(o.model);
  run_min_p_of_model("match3", kMatch3ModelProvenance, o, [&](const Semantics& sem, unsigned threads) {
    return match3_model_check(m, o.model, sem, threads, o.common.force);
  });
}

void run_eval_match3_model(const Match3ModelOptions& o) {
  if (is_attention_unit_file(o.model)) return run_eval_unit_model(o.model, "match3", o.input, o.common);
  const Match3ThirdOrderModel m = load3(o.model);
  const std::vector<int> x = parse_int_list("--input", o.input, -1000000000, 1000000000, 2);
  if (x.size() != static_cast<std::size_t>(m.N))
    throw UsageError("--input", fmt::format("needs N = {} token values (the model's N), got {}", m.N, x.size()));
  json r = to_json(eval_match3_third_order_model(m, semantics_of(o.common), x), "match3");
  r["params"]["model"] = o.model;
  r["params"]["class"] = "match3-third-order";
  emit_match_model_eval(r, o.common, "match3 --model " + o.model);
}

const ParamTable kCheckMatch3Model =
    with_common({param::file("--model", "model file of class match3-third-order or attention-unit (docs/model-format.md)").as_required()});
const ParamTable kEvalMatch3Model =
    with_common({param::file("--model", "model file of class match3-third-order or attention-unit (docs/model-format.md)").as_required(),
                 param::input().with_help("comma-separated token values in 0..M-1, N of them").as_required()});

const ParamTable kMinPMatch3Model = with_common(
    {param::file("--model", "model file of class match3-third-order or attention-unit (docs/model-format.md)").as_required(), param::mode(),
     param::p_min().with_range(kMatchMinPrecisionP).with_help("smallest p scanned"),
     param::p_max().with_range(kMatchMinPrecisionP).with_default(24).at_least("--p-min").with_help("largest p scanned (p_max of math §2)")},
    false);

const DeclaredEntry reg_min_p_match3{
    {"min-p", "match3", "", "", "smallest float:p (embed or arith) for which a match3-third-order or attention-unit model file holds for every p' in [p, p_max]",
     "",
     [](CLI::App& a) {
       auto o = std::make_shared<MatchMinPOfModel>();
       auto* sub = a.add_subcommand("match3", "minimal precision of a match3-third-order or attention-unit model file");
       bind_with_common(*sub, kMinPMatch3Model,
                        {{"--model", &o->model}, {"--mode", &o->mode}, {"--p-min", &o->p_min}, {"--p-max", &o->p_max}},
                        o->common);
       sub->callback([o] { run_min_p_match3_model(*o); });
     },
     &kMinPMatch3Model}};

const DeclaredEntry reg_check_match3{
    {"check", "match3", "", "", "certified exhaustive Match3 check of a model file of class match3-third-order or attention-unit", "",
     [](CLI::App& a) {
       auto o = std::make_shared<Match3ModelOptions>();
       auto* sub = a.add_subcommand("match3", "certified exhaustive Match3 check of a model file");
       bind_with_common(*sub, kCheckMatch3Model, {{"--model", &o->model}}, o->common);
       sub->callback([o] { run_check_match3_model(*o); });
     },
     &kCheckMatch3Model}};

const DeclaredEntry reg_eval_match3{
    {"eval", "match3", "", "", "forward pass of a match3-third-order or attention-unit model file on one input", "",
     [](CLI::App& a) {
       auto o = std::make_shared<Match3ModelOptions>();
       auto* sub = a.add_subcommand("match3", "forward pass of a match3-third-order or attention-unit model file");
       bind_with_common(*sub, kEvalMatch3Model, {{"--model", &o->model}, {"--input", &o->input}}, o->common);
       sub->callback([o] { run_eval_match3_model(*o); });
     },
     &kEvalMatch3Model}};


// ---- class match3-local: export match3-hinted|match3-window, check/eval match3-hinted|window --model ----

const char* local_name(bool window) { return window ? "match3-window" : "match3-hinted"; }

struct LocalExportOptions {
  CommonOptions common;
  int N = 8, M = 8, q = 2;
  std::string c, out, dtype = "exact";
};

ParamTable export_local_params(bool window) {
  ParamDef dtype;
  dtype.flag = "--dtype";
  dtype.kind = ParamKind::Choice;
  dtype.help = "exact (F64 + exact companions) or a stored dtype";
  ParamDef hints = window ? param::q().with_flag("--w").with_range(Match3LocalConfig::kQ).with_help("window length (positions i+1..i+w, cyclic)")
                          : param::q().with_range(Match3LocalConfig::kQ).with_help("hint set size q");
  ParamTable t = {param::N().with_range(Match3LocalConfig::kN).with_default(8), param::M().with_range(Match3LocalConfig::kM).with_default(8),
                  hints, param::c().with_help("temperature (exact rational)").with_computed_default(std::string("as check ") + local_name(window)),
                  param::file("--out", "model file to write (safetensors)").as_required(),
                  dtype.with_choices({"exact", "F64", "F32", "BF16", "F16"}, "exact")};
  return with_common(t, false);
}
const ParamTable kExportHinted = export_local_params(false), kExportWindow = export_local_params(true);

void run_export_local(bool window, const LocalExportOptions& o) {
  Stopwatch sw;
  const ModelWriteOptions wopts = write_options(o.dtype);
  if (o.out.empty()) throw UsageError("--out", "a file name is required");
  Match3LocalConfig cfg;
  cfg.window = window;
  cfg.N = o.N;
  cfg.M = o.M;
  cfg.q = o.q;
  const char* qflag = window ? "--w" : "--q";
  const int q_hi = std::min(Match3LocalConfig::kQ.hi, static_cast<long long>(o.N - (window ? 1 : 0)));
  if (o.q < 1 || o.q > q_hi) throw UsageError(qflag, fmt::format("must be in 1..{} for N = {} (got {})", q_hi, o.N, o.q));
  Rational c = match3_local_default_temperature(o.N, o.M, o.q);
  if (!o.c.empty()) {
    try {
      c = parse_rational(o.c);
    } catch (const std::invalid_argument&) {
      throw UsageError("--c", "expected a positive rational such as 12.5 or 25/2 (got '" + o.c + "')");
    }
    if (!(c > 0) || c > Rational(mpz_class(1) << 40)) throw UsageError("--c", "must be in (0, 2^40] (got " + o.c + ")");
  }
  const std::uint64_t rows = window ? static_cast<std::uint64_t>(o.N) : binomial_saturating(o.N, o.q);
  require_size(std::string("export ") + local_name(window) + " (one query row per hint set)", rows, 1000000, o.common.force);
  Match3LocalModel m = match3_local_model_of_construction(cfg, c);
  json params{{"N", o.N}, {"M", o.M}, {window ? "w" : "q", o.q}, {"c", to_exact_string(c)}};
  const std::string provenance = claim_info("check", local_name(window)).provenance;
  m.metadata["params"] = params.dump();
  m.metadata["provenance"] = provenance;
  write_model_file_once([&] { write_match3_local_model(o.out, m, wopts); });  // under --mpi rank 0 alone writes it
  json out = make_claim_result("export", local_name(window), params, "exact");
  out["file"] = o.out;
  out["class"] = kMatch3LocalClass;
  out["dtype"] = o.dtype;
  out["seconds"] = sw.seconds();
  if (!o.common.json) {
    std::cout << fmt::format("export {}: wrote {} (class match3-local, hints {}, N = {}, M = {}, {} = {}, K = {}, {} query rows, c = {}, {})\n",
                             local_name(window), o.out, window ? "window" : "all-subsets", o.N, o.M, window ? "w" : "q", o.q, m.K,
                             rows, to_exact_string(c), o.dtype);
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}

DeclaredEntry export_local_entry(bool window) {
  return {{"export", local_name(window), "", "",
           std::string("write the ") + local_name(window) + " construction (moment-curve keys, power-sum values) as a model file, exact",
           "",
           [window](CLI::App& a) {
             auto o = std::make_shared<LocalExportOptions>();
             auto* sub = a.add_subcommand(local_name(window), "write the construction as a model file of class match3-local");
             bind_with_common(*sub, window ? kExportWindow : kExportHinted,
                              {{"--N", &o->N}, {"--M", &o->M}, {window ? "--w" : "--q", &o->q}, {"--c", &o->c}, {"--out", &o->out},
                               {"--dtype", &o->dtype}},
                              o->common);
             sub->callback([o, window] { run_export_local(window, *o); });
           },
           window ? &kExportWindow : &kExportHinted}};
}
const DeclaredEntry reg_export_hinted = export_local_entry(false), reg_export_window = export_local_entry(true);

}  // namespace

Match3LocalModel load_match3_local_model(const std::string& path, bool window, bool force) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  Match3LocalModel m = read_match3_local_model(path, force ? 10 * kMatch3LocalMaxQueryEntries : kMatch3LocalMaxQueryEntries);
  if (m.window != window)
    throw UsageError("--model", path + ": __metadata__.hints is " + (m.window ? "window" : "all-subsets") + "; " + local_name(window) +
                                    " needs hints = " + (window ? "window" : "all-subsets") + " (use " + local_name(m.window) + ")");
  return m;
}

namespace {

json local_model_params(const Match3LocalModel& m, const std::string& path) {
  json p{{"model", path}, {"class", kMatch3LocalClass}, {"hints", m.window ? "window" : "all-subsets"},
         {"N", m.N}, {"M", m.M}, {m.window ? "w" : "q", m.q}, {"K", m.K}, {"psi", kMatch3LocalPsi}, {"dtypes", m.dtypes}};
  if (!m.construction.empty()) p["construction"] = m.construction;
  return p;
}

std::string local_model_provenance(const std::string& verb, bool window) {
  return claim_info(verb, std::string(local_name(window)) + " --model").provenance;
}

}  // namespace

void run_check_match3_local_model(const std::string& path, bool window, const CommonOptions& common) {
  const Match3LocalModel m = load_match3_local_model(path, window, common.force);
  const Semantics sem = semantics_of(common);
  json out = with_size_guard([&] {
    return to_json(check_match3_local_unit(match3_local_unit_of(m), sem, resolve_threads(common.threads), common.force));
  });
  out["params"] = local_model_params(m, path);
  out["provenance"] = local_model_provenance("check", window);
  out["structure"] = std::string("verified from the file: class match3-local (key table over positions, query table over ") +
                     (window ? "each token's window" : "the q-subsets of [N]") +
                     ", value table over token values of width q; psi = power-sum decoder with scale q, seeing x_i)";
  emit(out, common, status_of(out));
}

void run_min_p_match3_local_model(const MatchMinPOfModel& o, bool window) {
  const Match3LocalModel m = load_match3_local_model(o.model, window, o.common.force);
  const Match3LocalUnit unit = match3_local_unit_of(m);  // built once, checked at every precision
  const unsigned threads = resolve_threads(o.common.threads);
  const MinPrecisionConfig mc = min_precision_config(o.mode, "float", o.p_min, o.p_max, kMatchMinPrecisionP);
  const ClaimInfo& info = claim_info("min-p", std::string(local_name(window)) + " --model");
  json first;
  const json r = with_size_guard([&] {
    return match_min_precision_result(
        mc,
        [&](const Semantics& sem) {
          const Match3LocalResult c = check_match3_local_unit(unit, sem, threads, o.common.force);
          if (first.is_null()) {
            first = to_json(c);
            first["params"] = local_model_params(m, o.model);
          }
          return trial_of_match3_local(c);  // the built-in min-p's trial, so the rows compare one to one
        },
        first, threads, [&](const json& params) {
          return make_result("min-p", local_name(window), info.theorem, info.provenance, params, min_precision_family_name(mc));
        });
  });
  emit(r, o.common, status_of(r));
}

void run_eval_match3_local_model(const std::string& path, bool window, const std::vector<int>& x,
                                 const std::vector<std::vector<int>>& y, const CommonOptions& common) {
  const Match3LocalModel m = load_match3_local_model(path, window, common.force);
  json r = to_json(eval_match3_local_unit(match3_local_unit_of(m), semantics_of(common), x, y));
  r["params"] = local_model_params(m, path);
  r["construction"] = m.construction.empty() ? "match3-local-model" : m.construction;
  r["provenance"] = local_model_provenance("eval", window);
  emit_match_model_eval(r, common, std::string(local_name(window)) + " --model " + path);
}

namespace {
}  // namespace

void register_match_model_commands() {
  for (const DeclaredEntry* d : {&reg_export_match2, &reg_export_match3, &reg_check_match3, &reg_eval_match3, &reg_min_p_match3,
                                 &reg_export_hinted, &reg_export_window})
    register_entry(d->entry);
}

}  // namespace attnbounds
