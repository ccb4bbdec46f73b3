// `attnbounds min-m qsa-rip`: the smallest key width m' for which a seed admits exactly verified
// certificates w_S for every S (new numbers, not in the paper), over one (N, q) or a grid.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

#include "builtin_commands.hpp"
#include "claims.hpp"
#include "tables.hpp"
#include "cmd_qsa.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "proofs/theorem2_qsa_rip.hpp"

namespace attnbounds {
namespace {

struct MinMOptions {
  CommonOptions common;
  std::string N = "16", q = "2";
  int seeds = 1;
  int mk_max = 512;
  std::string strategy = "lp";
  std::string format = "md";
};

void run_min_m(const MinMOptions& o) {
  Stopwatch sw;
  auto Ns = parse_int_list("--N", o.N, 2, 4096);
  auto qs = parse_int_list("--q", o.q, 1, 64);
  if (*std::min_element(qs.begin(), qs.end()) > *std::max_element(Ns.begin(), Ns.end()))
    throw UsageError("--q", "every q exceeds every N: need 1 <= q <= N for at least one pair (got --q " + o.q + ", --N " +
                                o.N + ")");
  std::uint64_t work = 0;
  for (int N : Ns)
    for (int q : qs)
      if (q <= N) work += binomial_saturating(N, q) * o.seeds;
  require_size("min-m qsa-rip (subsets x seeds per tested width)", work, 2000000, o.common.force);
  const unsigned threads = resolve_threads(o.common.threads);
  json rows = json::array();
  for (int N : Ns)
    for (int q : qs) {
      if (q > N) continue;
      std::vector<int> stars;
      json per_seed = json::array();
      for (int k = 0; k < o.seeds; ++k) {
        const std::uint64_t seed = o.common.seed + k;
        RipMinMResult r = rip_min_mk(N, q, seed, o.strategy, o.mk_max, threads);
        json s = {{"seed", seed}, {"mk_star", r.mk_star > 0 ? json(r.mk_star) : json(nullptr)}, {"widths_tested", r.tested}};
        if (!r.missing_at_below.empty()) {
          json S = json::array();
          for (int v : r.missing_at_below) S.push_back(v + 1);
          s["no_certificate_below_at_S"] = S;
          s["below_proof"] = r.below_proof.empty() ? json("not proven exactly (GLPK infeasible only)") : json(r.below_proof);
        }
        per_seed.push_back(s);
        if (r.mk_star > 0) stars.push_back(r.mk_star);
      }
      std::sort(stars.begin(), stars.end());
      const double qlog = q * std::log2(static_cast<double>(N));
      json row = {{"N", N}, {"q", q}, {"q_log2_N", fmt::format("{:.2f}", qlog)}, {"seeds", per_seed}};
      if (!stars.empty()) {
        row["mk_min"] = stars.front();
        row["mk_median"] = stars[stars.size() / 2];
        row["mk_max"] = stars.back();
        row["ratio_median"] = fmt::format("{:.2f}", stars[stars.size() / 2] / qlog);
      }
      rows.push_back(row);
    }
  // The grid's N and q lists have their own names: params.N and params.q are single integers in
  // every result.
  json params = {{"N_values", Ns}, {"q_values", qs}, {"seeds", o.seeds}, {"first_seed", o.common.seed}, {"strategy", o.strategy},
                 {"mk_max", o.mk_max}};
  json out = make_claim_result("min-m", "qsa-rip", params, "exact");
  out["meaning"] =
      "m'* = smallest key width for which every S in ([N] choose q) gets an exactly verified certificate w_S with this "
      "seed (keys at width m' are a prefix of those at m'+1, so feasibility is monotone and binary search is exact "
      "given the certificate search). At m'* - 1 the named S has no certificate; below_proof says whether that is "
      "proven exactly (a Farkas certificate re-solved and checked in rationals) or only reported by GLPK.";
  if (o.strategy == "least-norm")
    out["caveat"] = "least-norm success need not be monotone in m' (existence is): with --strategy least-norm the binary "
                    "search gives a width at which every S passes, not necessarily the smallest";
  out["table"] = rows;
  out["cases"] = work;
  bool all = true;
  for (const auto& r : rows) all = all && r.contains("mk_min");
  finish_result(out, all ? Verdict::Holds : Verdict::Undecided, sw.seconds(), threads);
  if (o.common.json || o.format == "json") {
    annotate_run(out);
    std::cout << out.dump(2) << '\n';
    set_exit_status(all ? 0 : 3);
    return;
  }
  auto cell = [](const json& r, const char* k) { return r.contains(k) ? r[k].dump() : std::string("-"); };
  if (o.format == "md") {
    std::cout << "| N | q | q log2 N | m'* min | m'* median | m'* max | median / (q log2 N) |\n|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows)
      std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r["N"].get<int>(), r["q"].get<int>(),
                               r["q_log2_N"].get<std::string>(), cell(r, "mk_min"), cell(r, "mk_median"), cell(r, "mk_max"),
                               r.contains("ratio_median") ? r["ratio_median"].get<std::string>() : "-");
  } else if (o.format == "csv") {
    std::cout << "N,q,q_log2_N,mk_min,mk_median,mk_max\n";
    for (const auto& r : rows)
      std::cout << fmt::format("{},{},{},{},{},{}\n", r["N"].get<int>(), r["q"].get<int>(), r["q_log2_N"].get<std::string>(),
                               cell(r, "mk_min"), cell(r, "mk_median"), cell(r, "mk_max"));
  } else {
    Table t;
    t.id = "min_m_qsa_rip";
    t.headers = {"N", "q", "q log2 N", "m'* min", "m'* median", "m'* max"};
    t.latex_headers = {"$N$", "$q$", "$q\\log_2 N$", "$m'^*_{\\min}$", "$m'^*_{\\mathrm{med}}$", "$m'^*_{\\max}$"};
    for (const auto& r : rows)
      t.rows.push_back({std::to_string(r["N"].get<int>()), std::to_string(r["q"].get<int>()), r["q_log2_N"].get<std::string>(),
                        cell(r, "mk_min"), cell(r, "mk_median"), cell(r, "mk_max")});
    std::cout << render_latex(t);
  }
  std::cerr << fmt::format("min-m qsa-rip: {} seed(s), strategy {}, {:.2f} s on {} thread(s)\n", o.seeds, o.strategy,
                           sw.seconds(), threads);
  set_exit_status(all ? 0 : 3);
}

ParamTable min_m_params() {
  ParamDef N, q;
  N.flag = "--N";
  N.kind = q.kind = ParamKind::IntList;
  N.help = "number of tokens: N or a comma-separated list";
  N.lo = 2;
  N.hi = 4096;
  N.default_value = "16";
  q.flag = "--q";
  q.help = "subset size: q or a comma-separated list (pairs with q > N are skipped)";
  q.lo = 1;
  q.hi = 64;
  q.default_value = "2";
  return with_common({N, q, param::N().with_flag("--seeds").with_range(1, 1000).with_default(1).with_help("number of seeds (seed, seed+1, ...)"),
                      param::mk().with_flag("--mk-max").with_range(1, 4096).with_default(512).with_help("largest m' tried"),
                      param::strategy(), param::format()},
                     false);
}
const ParamTable kMinMParams = min_m_params();

const DeclaredEntry reg_minm{{"min-m", "qsa-rip", "", "",
                          "smallest key width m' a seed admits (exact certificates for every S); grid table vs q log2 N",
                          "",
                          [](CLI::App& parent) {
                            auto o = std::make_shared<MinMOptions>();
                            auto* sub = parent.add_subcommand("qsa-rip", "smallest m' admitting certificates for all S");
                            bind_with_common(*sub, kMinMParams,
                                             {{"--N", &o->N}, {"--q", &o->q}, {"--seeds", &o->seeds}, {"--mk-max", &o->mk_max},
                                              {"--strategy", &o->strategy}, {"--format", &o->format}},
                                             o->common);
                            sub->callback([o] { run_min_m(*o); });
                          }, &kMinMParams}};

}  // namespace

void register_qsa_min_m_commands() {
  register_entry(reg_minm.entry);
}

}  // namespace attnbounds
