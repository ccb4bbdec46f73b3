// `attnbounds lower qsa-disj` (Theorem 4, math §5.1), with the --grid table over m and p.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <tuple>

#include "builtin_commands.hpp"
#include "claims.hpp"
#include "tables.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "modelfile/qsa_model.hpp"
#include "proofs/theorem4_qsa_disj.hpp"

namespace attnbounds {
namespace {

struct QsaDisjCli {
  CommonOptions common;
  int q = 3, N = 0, d = 1, m = 1, mk = 0;
  std::string model = "random";
  std::string eps = "1/10", c;
  bool grid = false;
  std::string m_values = "1,2,3,4", p_values = "2,3,4,5", grid_format = "fixed", format = "md";
  GivenParams given;
  std::shared_ptr<const QsaTableModel> file;  // --model FILE, read once before the run
};

// --model names a built-in family or a model file; a file called like a family is given with a path.
bool is_family(const std::string& model) { return model == "random" || model == "qsa-cyclic" || model == "qsa-rip"; }

// A qsa-table file as the embedding of the model under test; it owns the tables it points into.
struct TableOwner {
  std::shared_ptr<const QsaTableModel> model;
};
class FileEmbedding : private TableOwner, public QsaTableEmbedding {
 public:
  explicit FileEmbedding(std::shared_ptr<const QsaTableModel> m) : TableOwner{std::move(m)}, QsaTableEmbedding(*model) {}
};

// Reads --model FILE, verifies the structure the reduction needs, and takes q, N, d' from it.
void load_model_file(QsaDisjCli& o) {
  if (is_family(o.model)) return;
  for (const char* flag : {"--m", "--mk", "--eps", "--c"})
    if (o.given.given(flag)) throw UsageError(flag, "does not apply to --model FILE (the file is the model)");
  if (o.model.empty()) throw UsageError("--model", "needs random, qsa-cyclic, qsa-rip or a file name");
  auto m = std::make_shared<QsaTableModel>();
  try {
    *m = read_qsa_table_model(o.model, o.common.force ? 200000000 : 20000000);
  } catch (const ModelFileError& e) {
    throw UsageError("--model", e.what());
  }
  // The reduction reads the model's output at token 2q+1 as z-weighted attention: V = ψ = I.
  const std::string problem = qsa_certifiable_structure_problem(*m, false);
  if (!problem.empty()) throw UsageError("--model", o.model + ": not usable in the qSA reduction: " + problem);
  for (const auto& [flag, given_value, actual] :
       {std::tuple<const char*, int, int>{"--q", o.q, m->q}, {"--N", o.N, m->N}, {"--d", o.d, m->d}})
    if (o.given.given(flag) && given_value != actual)
      throw UsageError(flag, fmt::format("is {} but the --model file has {} = {}", given_value, std::string(flag).substr(2), actual));
  if (m->N < 2 * m->q + 1)
    throw UsageError("--model", fmt::format("{}: N = {} is below 2q+1 = {}; the reduction needs tokens 1..2q+1", o.model,
                                            m->N, 2 * m->q + 1));
  o.q = m->q;
  o.N = m->N;
  o.d = m->d;
  o.file = std::move(m);
}

// ---- the one JSON writer of a Theorem 4 result ------------------------------------------------

json input_json(const qsa_disj::QsaInput& X) {
  json z = json::array(), y = json::array();
  for (std::size_t i = 0; i < X.z.rows(); ++i) {
    json row = json::array();
    for (std::size_t c = 0; c < X.z.cols(); ++c) row.push_back(to_exact_decimal_or_fraction(X.z(i, c)));
    z.push_back(row);
    json yi = json::array();
    for (int j : X.y[i]) yi.push_back(j + 1);
    y.push_back(yi);
  }
  return {{"z", z}, {"y", y}};
}

json set_json(std::uint64_t a, int q) {
  json s = json::array();
  for (int i = 0; i < q; ++i)
    if ((a >> i) & 1U) s.push_back(i + 1);
  return s;
}

json midpoints_json(const std::vector<qsa_disj::Enclosure>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(to_decimal_string((x.lower + x.upper) / 2, 20, 0));
  return a;
}

json enclosures_json(const std::vector<qsa_disj::Enclosure>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back({to_decimal_string(x.lower, 20, -1), to_decimal_string(x.upper, 20, +1)});
  return a;
}

json rationals_json(const std::vector<Rational>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(to_exact_decimal_or_fraction(x));
  return a;
}

json qsa_disj_json(const qsa_disj::QsaDisjResult& r, const json& params, const Semantics& sem, double seconds,
                   unsigned threads) {
  json res = make_claim_result("lower", "qsa-disj", params, sem.name());
  res["claim_text"] =
      "the model 1/(2q)-approximates qSA at token 2q+1 on all 4^q DISJ_q reduction instances; any model that does "
      "must send 2^q distinct messages, i.e. m*w >= q bits (math §5.1)";
  res["cases"] = r.instances;
  res["instances"] = r.instances;
  res["model"] = r.model;
  res["m"] = r.m;
  res["reduction"] = {{"instances", r.instances},
                      {"verified", r.reduction_verified},
                      {"statement", "qSA(X)_{2q+1} = (-1 + 2|a and b|/q) e_1; first coordinate < -1 + 1/q iff DISJ(a, b)"}};
  res["protocol_equal_instances"] = r.protocol_equal_instances;
  res["messages_distinct"] = r.messages_distinct;
  res["messages_needed"] = r.messages_needed;
  res["message_entries"] = r.message_entries;
  if (r.message_bits) {
    res["message_bits"] = *r.message_bits;
    res["bits_per_entry"] = *r.bits_per_entry;
    res["message_bits_counted"] = "message_entries * bits_per_entry; " + r.width_counting;
    if (r.exponent_bits_seen) res["exponent_bits_seen"] = *r.exponent_bits_seen;
  } else {
    res["message_bits"] = nullptr;
    res["message_bits_note"] = "exact semantics: an embedding entry is an exact rational, the message is unbounded";
  }
  res["width_consistent"] = r.width_consistent;
  res["pigeonhole_forces_collision"] = r.pigeonhole_forces_collision;
  res["bound_proved"] = r.bound_proved.empty() ? json(nullptr) : json(r.bound_proved);
  res["bits_bound"] = r.bits_bound;
  res["bound"] = to_decimal_string(r.bound, 17, 0);
  const qsa_disj::QsaDisjWitness& w = r.witness;
  const bool collision = w.kind == qsa_disj::QsaDisjWitnessKind::Collision;
  json worst;
  worst["value"] = to_decimal_string((r.worst_error.lower + r.worst_error.upper) / 2, 17, 0);
  worst["lower"] = to_decimal_string(r.worst_error.lower, 17, -1);
  worst["upper"] = to_decimal_string(r.worst_error.upper, 17, +1);
  json inputs = json::array(), outputs = json::array(), enclosures = json::array(), truths = json::array(),
       errors = json::array(), errors_upper = json::array();
  for (const auto& X : w.inputs) inputs.push_back(input_json(X));
  for (const auto& o : w.model_outputs) {
    outputs.push_back(midpoints_json(o));
    enclosures.push_back(enclosures_json(o));
  }
  for (const auto& t : w.true_outputs) truths.push_back(rationals_json(t));
  for (const auto& e : w.errors) {
    errors.push_back(to_decimal_string(e.lower, 17, -1));
    errors_upper.push_back(to_decimal_string(e.upper, 17, +1));
  }
  json sets = collision ? json{{"a", set_json(w.a, r.q)}, {"a_prime", set_json(w.a_prime, r.q)}, {"b", set_json(w.b, r.q)}}
                        : json{{"a", set_json(w.a, r.q)}, {"b", set_json(w.b, r.q)}};
  const char* kind = collision ? "collision" : w.kind == qsa_disj::QsaDisjWitnessKind::Inaccurate ? "inaccurate" : "worst instance";
  worst["witness"] = {{"kind", kind},
                      {"sets", sets},
                      {"token", w.token + 1},
                      {"inputs", inputs},
                      {"message", rationals_json(w.message)},
                      {"model_outputs", outputs},
                      {"model_output_enclosures", enclosures},
                      {"true_outputs", truths},
                      {"errors", errors},
                      {"errors_upper", errors_upper}};
  if (collision)
    worst["witness"]["explanation"] =
        "Alice's rounded embeddings for a and a' are equal, so the model's outputs on the two inputs are equal, "
        "while qSA differs by >= 2/q: one error is >= 1/q > 1/(2q) (both outputs recomputed by forward passes)";
  res["worst"] = worst;
  res["undecided_instances"] = r.undecided_instances;
  finish_result(res, r.verdict, seconds, threads);
  return res;
}

// ---- wiring ---------------------------------------------------------------------------------

void require_instances(const qsa_disj::QsaDisjOptions& opts, bool force) {
  opts.validate();
  require_size("qsa-disj (4^q instances (a, b))", opts.instances(), std::uint64_t{1} << 14, force);
}

std::unique_ptr<qsa_disj::TokenwiseModel> build_model(const QsaDisjCli& o, int m_or_mk, const Semantics& sem) {
  const int N = o.N == 0 ? 2 * o.q + 1 : o.N;
  if (o.file) return qsa_disj::wrap_qsa_embedding(std::make_shared<FileEmbedding>(o.file));
  if (o.model == "random") {
    require_range("--m", static_cast<long long>(m_or_mk), 1LL, 64LL);
    return qsa_disj::make_random_model(N, o.q, o.d, m_or_mk, o.common.seed, qsa_disj::random_model_scale(sem));
  }
  if (o.model != "qsa-cyclic" && o.model != "qsa-rip")
    throw UsageError("--model", fmt::format("must be random, qsa-cyclic, qsa-rip or a model file (got '{}')", o.model));
  QsaEmbeddingParams p;
  p.N = N;
  p.q = o.q;
  p.d = o.d;
  p.seed = o.common.seed;
  p.mk = m_or_mk;
  p.eps = parse_rational_param("--eps", o.eps);
  if (!o.c.empty()) p.c = parse_rational_param("--c", o.c);
  p.validate();
  std::shared_ptr<const QsaEmbedding> emb;
  try {
    emb = make_qsa_embedding(o.model, p);
  } catch (const std::invalid_argument& e) {
    auto names = qsa_embedding_names();
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    if (std::find(names.begin(), names.end(), o.model) == names.end())
      throw UsageError("--model", fmt::format("construction '{}' is not available in this build (registered qSA "
                                              "constructions: {}); use --model random",
                                              o.model, known.empty() ? "none" : known));
    throw;
  }
  if (emb->N() != N || emb->q() != o.q || emb->d() != o.d)
    throw UsageError("--model", "the construction was built for different N, q or d'");
  return qsa_disj::wrap_qsa_embedding(std::move(emb));
}

json base_params(const QsaDisjCli& o) {
  json p = {{"q", o.q}, {"N", o.N == 0 ? 2 * o.q + 1 : o.N}, {"d", o.d}, {"model", o.model}, {"seed", o.common.seed}};
  if (o.file) {
    p["class"] = "qsa-table";
    p["dtypes"] = o.file->dtypes;
    p["k"] = o.file->k();
    return p;
  }
  if (o.model == "random") p["m"] = o.m;
  else {
    p["eps"] = o.eps;
    if (!o.c.empty()) p["c"] = o.c;
    if (o.mk) p["mk"] = o.mk;
  }
  return p;
}

void run_single(const QsaDisjCli& o) {
  qsa_disj::QsaDisjOptions opts;
  opts.q = o.q;
  opts.N = o.N;
  opts.d = o.d;
  opts.semantics = semantics_of(o.common);
  opts.threads = resolve_threads(o.common.threads);
  require_instances(opts, o.common.force);
  Stopwatch clock;
  auto model = build_model(o, o.model == "random" ? o.m : o.mk, opts.semantics);
  const qsa_disj::QsaDisjResult r = qsa_disj::run_qsa_disj(opts, *model);
  emit(qsa_disj_json(r, base_params(o), opts.semantics, clock.seconds(), opts.threads), o.common,
       exit_status_for(r.verdict));
}

void run_grid(const QsaDisjCli& o) {
  Stopwatch clock;
  if (o.format != "md" && o.format != "csv" && o.format != "latex" && o.format != "json")
    throw UsageError("--format", fmt::format("must be md, csv, latex or json (got '{}')", o.format));
  const std::vector<int> ms = o.model == "qsa-cyclic" || o.file ? std::vector<int>{0} : parse_int_list("--m-values", o.m_values, 1, 64);
  const std::vector<int> ps = parse_int_list("--p-values", o.p_values, 1, 64);
  for (int p : ps)
    if (p < 2) throw UsageError("--p-values", "every p must be >= 2 (formats fixed:1.(p-1) and float:p need 2 bits)");
  qsa_disj::QsaDisjOptions opts;
  opts.q = o.q;
  opts.N = o.N;
  opts.d = o.d;
  opts.threads = resolve_threads(o.common.threads);
  opts.semantics = parse_semantics("embed:float:2");  // the grid's semantics are all embed:<fmt>
  require_instances(opts, o.common.force);
  json cells = json::array();
  for (int m : ms) {
    for (int p : ps) {
      const std::string fmt_name = o.grid_format == "fixed" ? fmt::format("fixed:1.{}", p - 1) : fmt::format("float:{}", p);
      opts.semantics = parse_semantics("embed:" + fmt_name);
      auto model = build_model(o, m, opts.semantics);
      json cell = {{"m", model->m()}, {"grid_m", m}, {"p", p}, {"format", fmt_name}};
      try {
        const qsa_disj::QsaDisjResult r = qsa_disj::run_qsa_disj(opts, *model);
        const bool collision = r.witness.kind == qsa_disj::QsaDisjWitnessKind::Collision;
        cell["verdict"] = to_string(r.verdict);
        cell["state"] = r.verdict == Verdict::Holds ? "P" : collision ? "C" : r.verdict == Verdict::Fails ? "F" : "U";
        cell["message_bits"] = r.message_bits ? json(*r.message_bits) : json(nullptr);
        cell["bits_per_entry"] = r.bits_per_entry ? json(*r.bits_per_entry) : json(nullptr);
        cell["messages_distinct"] = r.messages_distinct;
        // Below the line only when the counting really forces a collision (width counted with
        // the exponent bits, reduction and protocol verified).
        cell["below_line"] = r.pigeonhole_forces_collision;
      } catch (const ConfigError& e) {  // this format cannot hold the model's embedding
        cell["verdict"] = "n/a";
        cell["state"] = "-";
        cell["note"] = flag_of_field(e.field()) + ": " + e.what();
        cell["message_bits"] = nullptr;
        cell["bits_per_entry"] = nullptr;
        cell["below_line"] = false;
      }
      cells.push_back(cell);
    }
  }
  json params = base_params(o);
  params["m_values"] = o.m_values;
  params["p_values"] = o.p_values;
  params["grid_format"] = o.grid_format;
  if (o.format == "json" || o.common.json) {
    json res = make_claim_result("lower", "qsa-disj --grid", params,
                           "embed:" + o.grid_format);
    res["cells"] = cells;
    res["legend"] = "P holds; C collision of Alice's messages (verified failing pair); F fails without collision "
                    "(inaccurate); U undecided; below_line: m*w < q, where a collision is forced by counting (w = bits_per_entry: "
                    "fixed:1.(p-1) p bits; float:p sign + p-1 fraction bits + the exponent bits the messages use)";
    res["seconds"] = clock.seconds();
    res["threads"] = resolve_threads(o.common.threads);
    annotate_run(res);
    std::cout << res.dump(2) << '\n';
    set_exit_status(0);
    return;
  }
  // Table: rows m, columns p; a cell below the line m*w = q is marked with '*'.
  auto cell_text = [&](int mi, int pi) {
    const json& c = cells[mi * ps.size() + pi];
    std::string s = c["state"].get<std::string>();
    if (c["below_line"].get<bool>()) s += "*";
    return s;
  };
  std::string out;
  const std::string head_m = o.model == "qsa-rip" ? "m' (m)" : "m";
  if (o.format == "md") {
    out += fmt::format("qsa-disj grid, q = {}, model {}, formats {} (p bits): P pass, C collision, F inaccurate, "
                       "* below the line m*w = q\n\n| {} |",
                       o.q, o.model, o.grid_format == "fixed" ? "fixed:1.(p-1)" : "float:p", head_m);
    for (int p : ps) out += fmt::format(" p={} |", p);
    out += "\n|---|";
    for (std::size_t i = 0; i < ps.size(); ++i) out += "---|";
    out += "\n";
    for (std::size_t mi = 0; mi < ms.size(); ++mi) {
      out += fmt::format("| {} |", cells[mi * ps.size()]["m"].get<int>());
      for (std::size_t pi = 0; pi < ps.size(); ++pi) out += " " + cell_text(mi, pi) + " |";
      out += "\n";
    }
  } else if (o.format == "csv") {
    out += "m,p,format,message_bits,messages_distinct,state,below_line\n";
    for (const auto& c : cells)
      out += fmt::format("{},{},{},{},{},{},{}\n", c["m"].get<int>(), c["p"].get<int>(), c["format"].get<std::string>(),
                         c["message_bits"].dump(), c.value("messages_distinct", json(nullptr)).dump(),
                         c["state"].get<std::string>(), c["below_line"].get<bool>() ? 1 : 0);
  } else {
    Table t;
    t.id = "qsa_disj_grid";
    t.headers = {head_m};
    t.latex_headers = {o.model == "qsa-rip" ? "$m'$" : "$m$"};
    for (int p : ps) {
      t.headers.push_back(fmt::format("p={}", p));
      t.latex_headers.push_back(fmt::format("$p={}$", p));
    }
    t.align = std::string("r") + std::string(ps.size(), 'c');
    for (std::size_t mi = 0; mi < ms.size(); ++mi) {
      std::vector<std::string> row = {std::to_string(cells[mi * ps.size()]["m"].get<int>())};
      for (std::size_t pi = 0; pi < ps.size(); ++pi) row.push_back(cell_text(mi, pi));
      t.rows.push_back(std::move(row));
    }
    t.comments = {fmt::format("qsa-disj grid, q = {}, model {}, formats {}: P pass, C collision, F inaccurate, * below the line m*w = q",
                              o.q, o.model, o.grid_format == "fixed" ? "fixed:1.(p-1)" : "float:p")};
    t.notes = {"P pass, C collision, F inaccurate; * marks $m w < q$"};
    out += render_latex(t);
  }
  std::cout << out;
  set_exit_status(0);
}

ParamTable qsa_disj_params() {
  ParamDef model = param::file("--model", "model under test: random | qsa-cyclic | qsa-rip, or a model file of class "
                                           "qsa-table with V = psi = I (docs/model-format.md; q, N, d' are the file's; "
                                           "a file named like a family needs a path, ./random)")
                       .with_default("random");
  model.value_hint = "random|qsa-cyclic|qsa-rip|FILE";
  ParamDef grid;
  grid.flag = "--grid";
  grid.kind = ParamKind::Flag;
  grid.help = "pass/fail table over --m-values x --p-values";
  ParamDef list;
  list.kind = ParamKind::IntList;
  list.lo = 1;
  list.hi = 64;
  ParamDef m_values = list, p_values = list;
  m_values.flag = "--m-values";
  m_values.help = "grid: m (random) or m' (qsa-rip) values";
  m_values.default_value = "1,2,3,4";
  p_values.flag = "--p-values";
  p_values.help = "grid: precision bits p";
  p_values.default_value = "2,3,4,5";
  p_values.lo = 2;
  ParamDef grid_format;
  grid_format.flag = "--grid-format";
  grid_format.kind = ParamKind::Choice;
  grid_format.help = "grid: number family per cell, fixed:1.(p-1) or float:p";
  grid_format = grid_format.with_choices({"fixed", "float"}, "fixed");
  return with_common({param::q().with_range(qsa_disj::QsaDisjOptions::kQ).with_default(3).with_help("sparsity q (DISJ_q)"),
                      param::N().with_range(0, qsa_disj::QsaDisjOptions::kMaxN).with_range_note("2q+1.." + std::to_string(qsa_disj::QsaDisjOptions::kMaxN)).with_computed_default("2q+1"),
                      param::d().with_range(qsa_disj::QsaDisjOptions::kD), model, param::m().with_help("embedding width of the random model"),
                      param::mk().with_help("qsa-rip key width m' (0 = its default)"),
                      param::eps().with_default("1/10").with_help("accuracy the construction is built for"),
                      param::c().with_help("temperature override for the construction"), grid, m_values, p_values,
                      grid_format, param::format().with_help("grid output format")});
}
const ParamTable kQsaDisjParams = qsa_disj_params();

const DeclaredEntry reg{{"lower", "qsa-disj", "", "",
                     "qSA at token 2q+1 decides DISJ_q: a 1/(2q)-approximation needs m*w >= q bits (collision -> "
                     "verified failing pair)",
                     "",
                     [](CLI::App& parent) {
                       auto o = std::make_shared<QsaDisjCli>();
                       CLI::App* app = parent.add_subcommand("qsa-disj", "Theorem 4: qSA needs m*p >= c*q (math §5.1)");
                       const GivenParams given = bind_with_common(*app, kQsaDisjParams,
                                        {{"--q", &o->q}, {"--N", &o->N}, {"--d", &o->d}, {"--model", &o->model},
                                         {"--m", &o->m}, {"--mk", &o->mk}, {"--eps", &o->eps}, {"--c", &o->c},
                                         {"--grid", &o->grid}, {"--m-values", &o->m_values}, {"--p-values", &o->p_values},
                                         {"--grid-format", &o->grid_format}, {"--format", &o->format}},
                                        o->common);
                       o->given = given;
                       app->callback([o] {
                         load_model_file(*o);
                         if (o->grid) run_grid(*o);
                         else run_single(*o);
                       });
                     }, &kQsaDisjParams}};

}  // namespace

void register_lower_qsa_disj_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
