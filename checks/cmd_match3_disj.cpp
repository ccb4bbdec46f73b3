// `attnbounds lower match3-disj` (Theorem 7, math §5.2).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "builtin_commands.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "modelfile/match2_model.hpp"
#include "proofs/theorem7_match3_disj.hpp"

namespace attnbounds {
namespace {

struct DisjCli {
  CommonOptions common;
  int n = 3, m = 2, H = 1;
  std::string model = "random", c = "4";
  bool dump = false, grid = false;
  std::string grid_m = "1,2,4", grid_p = "2,4,8,16", grid_H = "1,2", format = "md";
  GivenParams given;
  std::shared_ptr<const Match2TableModel> file;  // --model FILE, read once before the run
};

// --model names a built-in family or a model file; a file called like a family is given with a path.
bool is_family(const std::string& model) { return model == "random" || model == "trig"; }

// Reads --model FILE: one standard attention unit over token values (class match2-table, no
// positional tables), whose N = 2n+1 and M the reduction uses (docs/match.md).
void load_model_file(DisjCli& o) {
  if (is_family(o.model)) return;
  if (o.model.empty()) throw UsageError("--model", "needs random, trig or a file name");
  for (const char* flag : {"--m", "--H", "--c", "--grid", "--grid-m", "--grid-p", "--grid-H"})
    if (o.given.given(flag)) throw UsageError(flag, "does not apply to --model FILE (the file is the model)");
  std::shared_ptr<Match2TableModel> m;
  try {
    const SafetensorsFile f = read_safetensors(o.model);
    const auto cls = f.metadata.find("class");
    // A third-order unit is not a standard attention layer: its softmax over pairs (j, k) mixes
    // Alice's and Bob's tokens, so tile sums are no protocol for it (and it computes Match3 well).
    if (cls != f.metadata.end() && cls->second == "match3-third-order")
      throw UsageError("--model", o.model + ": class match3-third-order is a third-order unit; Theorem 7's reduction "
                                            "bounds standard attention: give a match2-table file (docs/match.md)");
    if (cls != f.metadata.end() && cls->second != "match2-table")
      throw UsageError("--model", o.model + ": class '" + cls->second + "' is not match2-table: the reduction needs one "
                                            "attention unit with query, key and value tables over token values");
    m = std::make_shared<Match2TableModel>(match2_table_model_from(o.model, f));
  } catch (const ModelFileError& e) {
    throw UsageError("--model", e.what());
  }
  if (m->positional())
    throw UsageError("--model", o.model + ": has positional tables; the reduction's tiled protocol needs a position-free "
                                          "unit (query, key, value, residual tables over token values only)");
  if (m->N < 3 || m->N > 25 || m->N % 2 == 0)
    throw UsageError("--model", fmt::format("{}: N = {}; the reduction needs N = 2n+1 tokens with n in 1..12 (odd N in 3..25)",
                                            o.model, m->N));
  const int n = (m->N - 1) / 2;
  if (o.given.given("--n") && o.n != n)
    throw UsageError("--n", fmt::format("is {} but the --model file has N = {} (n = {})", o.n, m->N, n));
  o.n = n;
  o.file = std::move(m);
}

Match3DisjTables tables_of(const Match2TableModel& m) {
  Match3DisjTables t;
  t.N = m.N, t.M = m.M, t.k = m.k, t.d = m.d;
  t.query = m.query, t.key = m.key, t.value = m.value, t.residual = m.residual;
  return t;
}

// params of a file run: the unit's shape from the library, the file from here (as qsa-disj).
void add_file_params(json& result, const DisjCli& o) {
  json& p = result["params"];
  p["model"] = o.model;
  p["class"] = "match2-table";
  p["dtypes"] = o.file->dtypes;
  p["residual"] = o.file->has_residual();
  if (!o.file->construction.empty()) p["construction"] = o.file->construction;
}

Match3DisjOptions options_of(const DisjCli& o) {
  Match3DisjOptions opts;
  opts.n = o.n;
  if (o.file) opts.tables = tables_of(*o.file);
  opts.model.family = o.model;
  opts.model.m = o.m;
  opts.model.H = o.H;
  opts.model.seed = o.common.seed;
  require_range("--n", o.n, 1, 12);  // before the default tiled:float:24:n names it
  try {
    opts.model.c = parse_rational(o.c);
  } catch (const std::invalid_argument&) {
    throw UsageError("--c", "expected a rational temperature > 0 (got '" + o.c + "')");
  }
  if (opts.model.c <= 0) throw UsageError("--c", "temperature must be > 0 (got " + o.c + ")");
  CommonOptions c = o.common;
  if (c.semantics.empty()) c.semantics = "tiled:float:24:" + std::to_string(std::max(1, o.n));
  opts.semantics = semantics_of(c);
  opts.dump = o.dump;
  opts.force = o.common.force;
  return opts;
}

ParamTable disj_params() {
  ParamDef n = param::N().with_flag("--n").with_range(Match3DisjOptions::kN).with_default(3).with_help("DISJ size n (N = 2n+1 tokens)");
  ParamDef H = param::m().with_flag("--H").with_help("number of heads");
  ParamDef model = param::file("--model", "model under test: trig | random (seeded p-bit entries), or a model file of "
                                           "class match2-table without positional tables (its N = 2n+1 and M are used; "
                                           "a file named like a family needs a path, ./random)")
                       .with_default("random");
  model.value_hint = "trig|random|FILE";
  ParamDef c = param::c().with_default("4").with_help("temperature of the trig family");
  c.rational = RationalRange::Positive;
  ParamDef dump, grid;
  dump.flag = "--dump";
  dump.kind = ParamKind::Flag;
  dump.help = "include every instance's token layout";
  grid.flag = "--grid";
  grid.kind = ParamKind::Flag;
  grid.help = "table over --grid-m x --grid-p x --grid-H (formats float:p)";
  ParamDef list;
  list.kind = ParamKind::IntList;
  list.lo = 1;
  list.hi = 64;
  ParamDef grid_m = list, grid_p = list, grid_H = list;
  grid_m.flag = "--grid-m";
  grid_m.help = "m values for --grid";
  grid_m.default_value = "1,2,4";
  grid_p.flag = "--grid-p";
  grid_p.help = "p values (float:p) for --grid";
  grid_p.default_value = "2,4,8,16";
  grid_p.lo = 2;
  grid_H.flag = "--grid-H";
  grid_H.help = "H values for --grid";
  grid_H.default_value = "1,2";
  ParamDef sem = param::semantics().with_computed_default("tiled:float:24:n (T = --n)");
  return {n, param::m().with_default(2), H, model, c, dump, grid, grid_m, grid_p, grid_H,
          param::format().with_help("--grid output format"), param::json(), param::threads(), param::seed(), param::force(), param::time_limit(),
          param::journal(), param::resume(), param::mpi(), sem};
}
const ParamTable kDisjParams = disj_params();

const DeclaredEntry reg{
    {"lower", "match3-disj", "", "",
     "Match3 needs mpH >= cN/log log N: DISJ reduction verified on all 4^n instances, tiled protocol, "
     "message count, verified collision counterexample",
     "", [](CLI::App& verb) {
       auto o = std::make_shared<DisjCli>();
       auto* sub = verb.add_subcommand("match3-disj", "Theorem 7: Match3 lower bound via DISJ_n");
       o->common.semantics = "";  // "" = the computed default tiled:float:24:n
       o->given = bind_with_common(*sub, kDisjParams,
                        {{"--n", &o->n}, {"--m", &o->m}, {"--H", &o->H}, {"--model", &o->model}, {"--c", &o->c},
                         {"--dump", &o->dump}, {"--grid", &o->grid}, {"--grid-m", &o->grid_m}, {"--grid-p", &o->grid_p},
                         {"--grid-H", &o->grid_H}, {"--format", &o->format}},
                        o->common);
       sub->callback([o] {
         load_model_file(*o);
         auto opts = options_of(*o);
         const unsigned threads = resolve_threads(o->common.threads);
         if (o->grid) {
           const std::vector<int> grid_p = parse_int_list("--grid-p", o->grid_p, 2, 64);
           const std::string format = o->common.json ? "json" : o->format;
           Match3DisjGrid g = with_size_guard([&] {
             return lower_match3_disj_grid(opts, parse_int_list("--grid-m", o->grid_m, 1, 64), grid_p,
                                           parse_int_list("--grid-H", o->grid_H, 1, 64), threads);
           });
           std::cout << render_grid(g, format);
           set_exit_status(0);
           return;
         }
         // The layout dump lists 4^n instances: refused above n = 6 unless forced.
         if (opts.dump && opts.n > 6 && !opts.force) throw UsageError("--dump", "4^n layouts for n > 6 is large; add --force");
         json r;
         try {
           r = with_size_guard([&] { return to_json(lower_match3_disj(opts, threads)); });
         } catch (const ConfigError& e) {
           if (!o->file || e.field() != "model") throw;
           throw UsageError("--model", o->model + ": " + e.what());
         }
         if (o->file) add_file_params(r, *o);
         emit(r, o->common, status_of(r));
       });
     }, &kDisjParams}};

}  // namespace

void register_match3_disj_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
