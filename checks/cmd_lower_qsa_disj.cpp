// `attnbounds lower qsa-disj` (Theorem 4, SPEC §5.1), with the --grid table over m and p.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "common.hpp"
#include "enumerate/parallel.hpp"
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
};

// The ranges run_qsa_disj enforces, checked before any model is built (a huge q or N would
// otherwise allocate first), plus the construction parameters.
void validate_cli(const QsaDisjCli& o) {
  require_range("--q", o.q, 1, 30);
  if (o.N != 0) require_range("--N", o.N, 2 * o.q + 1, 4096);
  require_range("--d", o.d, 1, 64);
  if (o.model == "random") return;
  const Rational eps = parse_rational_param("--eps", o.eps);
  if (!(eps > 0 && eps < 1)) throw UsageError("--eps", "must be in (0, 1) (got " + o.eps + ")");
  if (!o.c.empty() && parse_rational_param("--c", o.c) < 0)
    throw UsageError("--c", "must be >= 0 (got " + o.c + ")");
  if (o.mk != 0) require_range("--mk", o.mk, 1, 4096);
}

std::unique_ptr<qsa_disj::TokenwiseModel> build_model(const QsaDisjCli& o, int m_or_mk, const Semantics& sem) {
  validate_cli(o);
  const int N = o.N == 0 ? 2 * o.q + 1 : o.N;
  if (o.model == "random") {
    require_range("--m", static_cast<long long>(m_or_mk), 1LL, 64LL);
    return qsa_disj::make_random_model(N, o.q, o.d, m_or_mk, o.common.seed, qsa_disj::random_model_scale(sem));
  }
  if (o.model != "qsa-cyclic" && o.model != "qsa-rip")
    throw UsageError("--model", fmt::format("must be random, qsa-cyclic or qsa-rip (got '{}')", o.model));
  QsaEmbeddingParams p;
  p.N = N;
  p.q = o.q;
  p.d = o.d;
  p.seed = o.common.seed;
  p.mk = m_or_mk;
  try {
    p.eps = parse_rational(o.eps);
    if (!o.c.empty()) p.c = parse_rational(o.c);
  } catch (const std::invalid_argument& e) {
    throw UsageError(o.c.empty() ? "--eps" : "--c", e.what());
  }
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
  opts.force = o.common.force;
  auto model = build_model(o, o.model == "random" ? o.m : o.mk, opts.semantics);
  json res = qsa_disj::run_qsa_disj(opts, *model, base_params(o));
  emit(res, o.common, status_of(res));
}

void run_grid(const QsaDisjCli& o) {
  Stopwatch clock;
  if (o.grid_format != "fixed" && o.grid_format != "float")
    throw UsageError("--grid-format", fmt::format("must be fixed or float (got '{}')", o.grid_format));
  if (o.format != "md" && o.format != "csv" && o.format != "latex" && o.format != "json")
    throw UsageError("--format", fmt::format("must be md, csv, latex or json (got '{}')", o.format));
  const std::vector<int> ms = o.model == "qsa-cyclic" ? std::vector<int>{0} : parse_int_list("--m-values", o.m_values, 1, 64);
  const std::vector<int> ps = parse_int_list("--p-values", o.p_values, 1, 64);
  for (int p : ps)
    if (p < 2) throw UsageError("--p-values", "every p must be >= 2 (formats fixed:1.(p-1) and float:p need 2 bits)");
  qsa_disj::QsaDisjOptions opts;
  opts.q = o.q;
  opts.N = o.N;
  opts.d = o.d;
  opts.threads = resolve_threads(o.common.threads);
  opts.force = o.common.force;
  json cells = json::array();
  for (int m : ms) {
    for (int p : ps) {
      const std::string fmt_name = o.grid_format == "fixed" ? fmt::format("fixed:1.{}", p - 1) : fmt::format("float:{}", p);
      opts.semantics = parse_semantics("embed:" + fmt_name);
      auto model = build_model(o, m, opts.semantics);
      json cell = {{"m", model->m()}, {"grid_m", m}, {"p", p}, {"format", fmt_name}};
      try {
        json r = qsa_disj::run_qsa_disj(opts, *model, base_params(o));
        const std::string kind = r["worst"]["witness"].value("kind", "");
        const std::string verdict = r["verdict"];
        cell["verdict"] = verdict;
        cell["state"] = verdict == "holds" ? "P" : kind == "collision" ? "C" : verdict == "fails" ? "F" : "U";
        cell["message_bits"] = r["message_bits"];
        cell["messages_distinct"] = r["messages_distinct"];
      } catch (const UsageError& e) {
        cell["verdict"] = "n/a";
        cell["state"] = "-";
        cell["note"] = e.what();
        cell["message_bits"] = nullptr;
      }
      const bool below = cell["message_bits"].is_number() && cell["message_bits"].get<long>() < o.q;
      cell["below_line"] = below;
      cells.push_back(cell);
    }
  }
  json params = base_params(o);
  params["m_values"] = o.m_values;
  params["p_values"] = o.p_values;
  params["grid_format"] = o.grid_format;
  if (o.format == "json" || o.common.json) {
    json res = make_result("lower", "qsa-disj --grid", "Theorem 4", "paper statement; reduction reconstructed", params,
                           "embed:" + o.grid_format);
    res["cells"] = cells;
    res["legend"] = "P holds; C collision of Alice's messages (verified failing pair); F fails without collision "
                    "(inaccurate); U undecided; below_line: m*w < q, where a collision is forced by counting";
    res["seconds"] = clock.seconds();
    res["threads"] = resolve_threads(o.common.threads);
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
    out += "% qsa-disj grid: P pass, C collision, F inaccurate; * marks m*w < q\n\\begin{tabular}{c|";
    for (std::size_t i = 0; i < ps.size(); ++i) out += "c";
    out += "}\n$m$";
    for (int p : ps) out += fmt::format(" & $p={}$", p);
    out += " \\\\\n\\hline\n";
    for (std::size_t mi = 0; mi < ms.size(); ++mi) {
      out += fmt::format("{}", cells[mi * ps.size()]["m"].get<int>());
      for (std::size_t pi = 0; pi < ps.size(); ++pi) {
        std::string t = cell_text(mi, pi);
        if (t.back() == '*') t = t.substr(0, t.size() - 1) + "$^*$";
        out += " & " + t;
      }
      out += " \\\\\n";
    }
    out += "\\end{tabular}\n";
  }
  std::cout << out;
  set_exit_status(0);
}

const Registrar reg{{"lower", "qsa-disj", "Theorem 4", "paper statement; reduction reconstructed",
                     "qSA at token 2q+1 decides DISJ_q: a 1/(2q)-approximation needs m*w >= q bits (collision -> "
                     "verified failing pair)",
                     "--q --N --d --model random|qsa-cyclic|qsa-rip --m --mk --eps --c --semantics embed:<fmt> --grid",
                     [](CLI::App& parent) {
                       auto o = std::make_shared<QsaDisjCli>();
                       CLI::App* app = parent.add_subcommand("qsa-disj", "Theorem 4: qSA needs m*p >= c*q (SPEC 5.1)");
                       add_common(*app, o->common);
                       app->add_option("--q", o->q, "sparsity q (DISJ_q)")->capture_default_str();
                       app->add_option("--N", o->N, "tokens (default 2q+1, at least 2q+1)");
                       app->add_option("--d", o->d, "value width d'")->capture_default_str();
                       app->add_option("--model", o->model, "random | qsa-cyclic | qsa-rip")->capture_default_str();
                       app->add_option("--m", o->m, "embedding width of the random model")->capture_default_str();
                       app->add_option("--mk", o->mk, "qsa-rip key width m' (0 = its default)");
                       app->add_option("--eps", o->eps, "accuracy the construction is built for")->capture_default_str();
                       app->add_option("--c", o->c, "temperature override for the construction");
                       app->add_flag("--grid", o->grid, "pass/fail table over --m-values x --p-values");
                       app->add_option("--m-values", o->m_values, "grid: m (random) or m' (qsa-rip) values")->capture_default_str();
                       app->add_option("--p-values", o->p_values, "grid: precision bits p")->capture_default_str();
                       app->add_option("--grid-format", o->grid_format, "grid: fixed (fixed:1.(p-1)) or float (float:p)")
                           ->capture_default_str();
                       app->add_option("--format", o->format, "grid output: md | csv | latex | json")->capture_default_str()->excludes("--json");
                       app->callback([o] {
                         if (o->common.semantics == "exact" && !o->grid) {
                           // exact is allowed: the message is then an exact rational vector.
                         }
                         if (o->grid) run_grid(*o);
                         else run_single(*o);
                       });
                     }}};

}  // namespace
}  // namespace attnbounds
