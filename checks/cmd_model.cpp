// CLI wiring for model files (docs/model-format.md): export of the qSA constructions, and check /
// eval of a qSA model read from a file with the same certified checker the constructions use.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "certify/qsa_checker.hpp"
#include "cmd_match_model.hpp"
#include "claims.hpp"
#include "cmd_qsa.hpp"
#include "cmd_qsa_unit_model.hpp"
#include "json_qsa.hpp"
#include "min_p.hpp"
#include "common.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/qsa_unit_model.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {
namespace {

struct ExportOptions {
  QsaCliOptions qsa;
  std::string out;
  std::string dtype = "exact";
  std::string cls = "qsa-table";  // or qsa-unit (through qsa_unit_of_table)
};

ModelWriteOptions write_options_of(const std::string& dtype) {
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

void run_export(const std::string& claim, const ExportOptions& o) {
  Stopwatch sw;
  if (o.out.empty()) throw UsageError("--out", "a file name is required");
  const ModelWriteOptions wopts = write_options_of(o.dtype);
  QsaEmbeddingParams p = qsa_params_from(o.qsa);
  const bool unit = o.cls == kQsaUnitClass;
  if (unit && p.N > QsaUnitLimits::kMaxN)
    throw UsageError("--N", fmt::format("must be in 1..{} with --class qsa-unit (got {})", QsaUnitLimits::kMaxN, p.N));
  if (unit && p.d > QsaUnitLimits::kMaxD)
    throw UsageError("--d", fmt::format("must be in 1..{} with --class qsa-unit (got {})", QsaUnitLimits::kMaxD, p.d));
  const std::uint64_t subsets = binomial_saturating(p.N, p.q);
  require_size("export " + claim + " (one query row per q-subset)", subsets, 1000000, o.qsa.common.force);
  auto emb = build_qsa(claim, p, o.qsa.common.force);
  QsaTableModel m;
  try {
    m = qsa_table_model_of(*emb, claim);
  } catch (const std::runtime_error& e) {
    throw UsageError("--N/--q", std::string("the construction has no query for some subset, nothing written: ") + e.what());
  }
  json params = qsa_params_json(*emb, p);
  m.metadata["params"] = params.dump();
  m.metadata["provenance"] = claim_info("export", claim).provenance;
  if (unit) {
    QsaUnitModel u;
    try {
      u = qsa_unit_of_table(m);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--class", std::string("qsa-unit cannot hold this construction: ") + e.what());
    }
    write_model_file_once([&] { write_qsa_unit_model(o.out, u, wopts); });
  } else {
    write_model_file_once([&] { write_qsa_table_model(o.out, m, wopts); });  // under --mpi rank 0 alone writes it
  }
  json out = make_claim_result("export", claim, params, "exact");
  out["file"] = o.out;
  out["class"] = o.cls;
  out["dtype"] = o.dtype;
  out["query_rows"] = subsets;
  out["k"] = m.k();
  out["seconds"] = sw.seconds();
  if (!o.qsa.common.json) {
    std::cout << fmt::format("export {}: wrote {} (class {}, N = {}, q = {}, d' = {}, k = {}, {} query rows, {})\n",
                             claim, o.out, o.cls, m.N, m.q, m.d, m.k(), subsets, o.dtype);
    set_exit_status(0);
    return;
  }
  emit(out, o.qsa.common, 0);
}

struct ModelOptions {
  CommonOptions common;
  std::string model, eps = "0.1", input;
  std::string number_format = "float", mode = "embed";  // min-p
  int p_min = 2, p_max = 64;
  int N = 0;  // eval: when given, must be the model's and the input's N
  GivenParams given;
};

// A FIFO or device would block an ifstream: only regular files are opened.
void require_regular_file(const std::string& param, const std::string& path) {
  if (path.empty()) throw UsageError(param, "needs a file name");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw UsageError(param, "'" + path + "' is not a readable regular file");
}

QsaTableModel load_model(const std::string& path, bool force) {
  if (path.empty()) throw UsageError("--model", "needs a file name");
  // The table holds C(N, q)·k exact entries in memory: the reader's limit is the size guard.
  return read_qsa_table_model(path, force ? 200000000 : 20000000);
}

Rational eps_of(const std::string& text) {
  Rational eps = parse_rational_param("--eps", text);
  if (!(eps > 0 && eps < 1)) throw UsageError("--eps", "must be in (0, 1) (got " + text + ")");
  return eps;
}

json model_params(const QsaTableModel& m, const std::string& path) {
  json params;
  params["model"] = path;
  params["class"] = "qsa-table";
  params["N"] = m.N;
  params["q"] = m.q;
  params["d"] = m.d;
  params["k"] = m.k();
  params["m"] = m.d + 2 * m.k();
  params["dtypes"] = m.dtypes;
  if (!m.construction.empty()) params["construction"] = m.construction;
  return params;
}

void run_check_model(const ModelOptions& o) {
  Stopwatch sw;
  const Rational eps = eps_of(o.eps);
  if (is_qsa_unit_file(o.model)) return run_check_qsa_unit_model(o.model, eps, o.common);
  const Semantics sem = semantics_of(o.common);
  QsaTableModel m = load_model(o.model, o.common.force);
  const std::string problem = qsa_certifiable_structure_problem(m, sem.is_exact());
  if (!problem.empty()) throw UsageError("--model", o.model + ": not certifiable as qSA: " + problem);
  const std::uint64_t cases = binomial_saturating(m.N, m.q);
  require_size("check qsa --model (subsets x tokens, one exp each)",
               cases > UINT64_MAX / static_cast<std::uint64_t>(m.N) ? UINT64_MAX : cases * m.N, 4000000000ULL,
               o.common.force);
  QsaTableEmbedding emb(m);
  const unsigned threads = resolve_threads(o.common.threads);
  QsaCheckOptions co;
  co.eps = eps;
  co.semantics = sem;
  co.threads = threads;
  Progress progress("check qsa --model", cases);
  co.progress = &progress;
  QsaCheckResult r;
  try {
    r = check_qsa(emb, co);
  } catch (const FormatRangeError& e) {
    throw UsageError("--semantics", e.what());
  }
  json params = model_params(m, o.model);
  params["eps"] = to_exact_decimal_or_fraction(eps);
  json out = make_claim_result("check", "qsa", params, sem.name());
  write_qsa_check(out, r, emb.d(), eps);
  out["structure"] = "verified from the file: class qsa-table (query a table over y_i, key a table over j, "
                     "value linear in z_j, ψ linear) with ψ·V = I" +
                     std::string(sem.is_exact() ? "" : ", V = I and ψ = I (rounding semantics)");
  finish_result(out, r.verdict, sw.seconds(), threads);
  emit(out, o.common, exit_status_for(r.verdict));
}

Rational input_rational(const json& v) {
  try {
    if (v.is_string()) return parse_rational(v.get<std::string>());
    if (v.is_number()) return parse_rational(v.dump());
  } catch (const std::exception&) {
  }
  throw UsageError("--input", "z entries must be numbers or exact decimal / p/q strings");
}

void run_eval_model(const ModelOptions& o) {
  Stopwatch sw;
  const Semantics sem = semantics_of(o.common);
  if (sem.kind == Semantics::Kind::Tiled) throw UsageError("--semantics", "eval qsa supports exact, embed:<fmt> and arith:<fmt>");
  const bool unit = is_qsa_unit_file(o.model);
  QsaTableModel m;
  if (unit) {
    const QsaUnitModel file = read_qsa_unit_model(o.model);
    m.N = file.N;  // the shape the input must have
    m.q = file.q;
    m.d = file.d;
  } else {
    m = load_model(o.model, o.common.force);
    if (!sem.is_exact() && !qsa_certifiable_structure_problem(m, false).empty())
      throw UsageError("--semantics", "embed/arith evaluation needs value_map = output_map = identity; use exact");
  }
  require_regular_file("--input", o.input);
  std::ifstream is(o.input);
  json in;
  try {
    in = json::parse(is);
  } catch (const std::exception& e) {
    throw UsageError("--input", std::string("not JSON: ") + e.what());
  }
  if (o.given.given("--N") && o.N != m.N)
    throw UsageError("--N", "is " + std::to_string(o.N) + " but the --model file has N = " + std::to_string(m.N));
  if (in.is_object())
    for (const auto& [key, value] : in.items())
      if (key != "z" && key != "y") throw UsageError("--input", "unknown key \"" + key + "\" (the file has \"z\" and \"y\" only)");
  if (!in.is_object() || !in.contains("z") || !in.contains("y") || !in["z"].is_array() || !in["y"].is_array() ||
      in["z"].size() != static_cast<std::size_t>(m.N) || in["y"].size() != static_cast<std::size_t>(m.N))
    throw UsageError("--input", "needs arrays \"z\" and \"y\" of length N = " + std::to_string(m.N) + " (the model's N)");
  Mat<Rational> z(m.N, m.d);
  std::vector<std::vector<int>> y(m.N);
  for (int i = 0; i < m.N; ++i) {
    const json& zi = in["z"][i];
    const json& yi = in["y"][i];
    if (!zi.is_array() || zi.size() != static_cast<std::size_t>(m.d) || !yi.is_array() ||
        yi.size() != static_cast<std::size_t>(m.q))
      throw UsageError("--input", fmt::format("token {}: z_i must have d = {} entries and y_i q = {} indices", i + 1, m.d, m.q));
    for (int c = 0; c < m.d; ++c) z(i, c) = input_rational(zi[c]);
    for (const auto& v : yi) {
      if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > m.N)
        throw UsageError("--input", "y entries must be integers in 1..N = 1.." + std::to_string(m.N));
      y[i].push_back(static_cast<int>(v.get<long long>()) - 1);
    }
    std::sort(y[i].begin(), y[i].end());
  }
  try {
    validate_qsa_input(z, y, m.q);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--input", e.what());
  }
  if (unit) return run_eval_qsa_unit_model(o.model, z, y, o.common);
  QsaTableEmbedding emb(m);
  const mpfr_prec_t bits = 256;
  Mat<Interval> u = qsa_forward(emb, QsaInput{z, y}, sem, bits);  // Σ_j a_ij z_j
  // ψ(Σ_j a_ij V z_j) = (ψ·V) Σ_j a_ij z_j, in intervals (exact matrices).
  Mat<Rational> PV = matmul(m.output_map, m.value_map);
  Mat<Rational> truth = qsa(z, y);
  Mat<Interval> out(m.N, PV.rows());
  for (int i = 0; i < m.N; ++i)
    for (std::size_t r = 0; r < PV.rows(); ++r) {
      Interval acc(0L, bits);
      for (int c = 0; c < m.d; ++c) acc += Interval(PV(r, c), bits) * u(i, c);
      out(i, r) = acc;
    }
  const json tokens = qsa_eval_tokens(out, truth);
  json res = make_claim_result("eval", "qsa", model_params(m, o.model), sem.name());
  res["tokens"] = tokens;
  res["output_note"] = "output_lower/output_upper: a certified enclosure of ψ(unit output) at 256 bits, rounded outward";
  res["seconds"] = sw.seconds();
  emit(res, o.common, 0);
}

// p* of a model file by the one min-p rule (math §2), exactly as min-p does for the constructions.
void run_min_p_model(const ModelOptions& o) {
  Stopwatch sw;
  const Rational eps = eps_of(o.eps);
  MinPrecisionConfig mc = min_precision_config(o.mode, o.number_format, o.p_min, o.p_max);
  if (is_qsa_unit_file(o.model)) refuse_min_p_qsa_unit(o.model);
  QsaTableModel m = load_model(o.model, o.common.force);
  const std::string problem = qsa_certifiable_structure_problem(m, false);
  if (!problem.empty()) throw UsageError("--model", o.model + ": not certifiable as qSA under rounding: " + problem);
  const std::uint64_t cases = binomial_saturating(m.N, m.q);
  require_size("min-p qsa --model (subsets per precision)", cases * (o.p_max - o.p_min + 1), 5000000, o.common.force);
  QsaTableEmbedding emb(m);
  const unsigned threads = resolve_threads(o.common.threads);
  if (mc.family == FormatFamily::Fixed) mc.fixed_integer_bits = qsa_fixed_integer_bits(emb);
  const MinPrecisionResult r = qsa_min_precision(emb, eps, mc, threads);
  json params = model_params(m, o.model);
  params["eps"] = to_exact_decimal_or_fraction(eps);
  json out = make_claim_result("min-p", "qsa", params, min_precision_family_name(mc));
  write_min_precision(out, r, mc, cases, to_exact_decimal_or_fraction(eps));
  finish_result(out, r.verdict, sw.seconds(), threads);
  emit(out, o.common, exit_status_for(r.verdict));
}

ParamTable export_params(const std::string& claim) {
  ParamTable t = qsa_construction_params(claim);
  for (auto& d : t)
    if (d.flag == "--eps") d = d.with_help("accuracy the default temperature is chosen for");
  t.push_back(param::file("--out", "model file to write (safetensors)").as_required());
  ParamDef dtype;
  dtype.flag = "--dtype";
  dtype.kind = ParamKind::Choice;
  dtype.help = "exact (F64 + exact rationals) or a stored dtype";
  t.push_back(dtype.with_choices({"exact", "F64", "F32", "BF16", "F16"}, "exact"));
  ParamDef cls;
  cls.flag = "--class";
  cls.kind = ParamKind::Choice;
  cls.help = "the file's class: qsa-table, or qsa-unit (the general qSA unit, N <= 64, d' <= 16; docs/model-format.md)";
  t.push_back(cls.with_choices({"qsa-table", "qsa-unit"}, "qsa-table"));
  return with_common(t, false);
}
const ParamTable kExportCyclic = export_params("qsa-cyclic"), kExportRip = export_params("qsa-rip");

ParamDef model_file() { return param::file("--model", "model file (docs/model-format.md)").as_required(); }

const ParamTable kCheckModel = with_common({model_file(), param::eps()});
const ParamTable kMinPModel = with_common({model_file(), param::eps(), param::number_format(), param::mode(), param::p_min(),
                                           param::p_max().at_least("--p-min")},
                                          false);
const ParamTable kEvalModel = with_common(
    {model_file(),
     param::N().with_computed_default("the --model file's").with_help("number of tokens; when given, must equal the --model file's"),
     param::input().with_help("JSON file: {\"z\": [[...], ...], \"y\": [[1-based indices], ...]}").as_required()});

void attach_export(CLI::App& parent, const std::string& claim) {
  auto o = std::make_shared<ExportOptions>();
  auto* sub = parent.add_subcommand(claim, "write the exact " + claim + " construction as a model file");
  std::vector<ParamBinding> b = qsa_construction_bindings(o->qsa, claim);
  b.push_back({"--out", &o->out});
  b.push_back({"--dtype", &o->dtype});
  b.push_back({"--class", &o->cls});
  bind_with_common(*sub, claim == "qsa-rip" ? kExportRip : kExportCyclic, b, o->qsa.common);
  sub->callback([o, claim] { run_export(claim, *o); });
}

RegistryEntry model_entry(const std::string& verb, const std::string& name, const std::string& description,
                          const ParamTable& table, std::function<void(CLI::App&)> attach) {
  RegistryEntry e{verb, name, "", "", description, "", std::move(attach)};
  e.table = &table;
  return e;
}

}  // namespace

void register_model_commands() {
  register_entry(model_entry("export", "qsa-cyclic", "write the moment-curve qSA unit as a model file (exact rationals)",
                             kExportCyclic, [](CLI::App& a) { attach_export(a, "qsa-cyclic"); }));
  register_entry(model_entry("export", "qsa-rip", "write the random-sign qSA unit (verified certificates) as a model file",
                             kExportRip, [](CLI::App& a) { attach_export(a, "qsa-rip"); }));
  register_entry(model_entry("check", "qsa", "certified exhaustive qSA check of a model file of class qsa-table or qsa-unit", kCheckModel,
                             [](CLI::App& a) {
                               auto o = std::make_shared<ModelOptions>();
                               auto* sub = a.add_subcommand("qsa", "certified exhaustive qSA check of a model file");
                               bind_with_common(*sub, kCheckModel, {{"--model", &o->model}, {"--eps", &o->eps}}, o->common);
                               sub->callback([o] { run_check_model(*o); });
                             }));
  register_entry(model_entry("min-p", "qsa", "minimal precision p* of a qsa-table model file (embed/arith, float/fixed)",
                             kMinPModel, [](CLI::App& a) {
                               auto o = std::make_shared<ModelOptions>();
                               auto* sub = a.add_subcommand("qsa", "minimal precision p* of a model file");
                               bind_with_common(*sub, kMinPModel,
                                                {{"--model", &o->model}, {"--eps", &o->eps}, {"--number-format", &o->number_format},
                                                 {"--mode", &o->mode}, {"--p-min", &o->p_min}, {"--p-max", &o->p_max}},
                                                o->common);
                               sub->callback([o] { run_min_p_model(*o); });
                             }));
  register_entry(model_entry("eval", "qsa", "forward pass of a qsa-table or qsa-unit model file on an input file, certified enclosure",
                             kEvalModel, [](CLI::App& a) {
                               auto o = std::make_shared<ModelOptions>();
                               auto* sub = a.add_subcommand("qsa", "forward pass of a model file on one input");
                               o->given = bind_with_common(*sub, kEvalModel,
                                                           {{"--model", &o->model}, {"--N", &o->N}, {"--input", &o->input}},
                                                           o->common);
                               sub->callback([o] { run_eval_model(*o); });
                             }));
  register_match_model_commands();
}

}  // namespace attnbounds
