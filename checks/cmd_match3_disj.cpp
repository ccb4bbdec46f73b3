// `attnbounds lower match3-disj` (Theorem 7, math §5.2).
#include <iostream>
#include <sstream>

#include "builtin_commands.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "proofs/theorem7_match3_disj.hpp"

namespace attnbounds {
namespace {

struct DisjCli {
  CommonOptions common;
  int n = 3, m = 2, H = 1;
  std::string model = "random", c = "4";
  bool dump = false, grid = false;
  std::string grid_m = "1,2,4", grid_p = "2,4,8,16", grid_H = "1,2", format = "md";
};

Match3DisjOptions options_of(const DisjCli& o) {
  Match3DisjOptions opts;
  opts.n = o.n;
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

const DeclaredEntry reg{
    {"lower", "match3-disj", "Theorem 7", "paper statement; reduction ours",
     "Match3 needs mpH >= cN/log log N: DISJ reduction verified on all 4^n instances, tiled protocol, "
     "message count, verified collision counterexample",
     "--n --m --H --model trig|random --semantics tiled:<fmt>:<T> --dump --grid", [](CLI::App& verb) {
       auto o = std::make_shared<DisjCli>();
       auto* sub = verb.add_subcommand("match3-disj", "Theorem 7: Match3 lower bound via DISJ_n");
       sub->add_option("--n", o->n, "DISJ size n (N = 2n+1), 1..12")->capture_default_str();
       sub->add_option("--m", o->m, "embedding width of the model under test")->capture_default_str();
       sub->add_option("--H", o->H, "number of heads")->capture_default_str();
       sub->add_option("--model", o->model, "model family: trig | random (seeded p-bit entries)")->capture_default_str();
       sub->add_option("--c", o->c, "temperature of the trig family")->capture_default_str();
       sub->add_flag("--dump", o->dump, "include every instance's token layout");
       sub->add_flag("--grid", o->grid, "table over --grid-m x --grid-p x --grid-H (formats float:p)");
       sub->add_option("--grid-m", o->grid_m, "m values for --grid")->capture_default_str();
       sub->add_option("--grid-p", o->grid_p, "p values (float:p) for --grid")->capture_default_str();
       sub->add_option("--grid-H", o->grid_H, "H values for --grid")->capture_default_str();
       sub->add_option("--format", o->format, "--grid output: md | csv | latex | json")->capture_default_str();
       add_common(*sub, o->common);
       sub->get_option("--format")->excludes("--json");
       o->common.semantics = "";
       sub->callback([o] {
         auto opts = options_of(*o);
         const unsigned threads = resolve_threads(o->common.threads);
         if (o->grid) {
           const std::vector<int> grid_p = parse_int_list("--grid-p", o->grid_p, 1, 64);
           for (int p : grid_p)
             if (p < 2) throw UsageError("--grid-p", "every p must be in 2..64 (float:p needs 2 significand bits; got 1)");
           const std::string format = o->common.json ? "json" : o->format;
           if (format != "md" && format != "csv" && format != "latex" && format != "json")
             throw UsageError("--format", "must be md, csv, latex or json (got '" + format + "')");
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
         json r = with_size_guard([&] { return to_json(lower_match3_disj(opts, threads)); });
         emit(r, o->common, status_of(r));
       });
     }}};

}  // namespace

void register_match3_disj_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
