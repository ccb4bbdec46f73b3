// CLI wiring of the Match2 / Match3 claims (SPEC §4.3-4.5): check, eval and min-p.
#include <fstream>
#include <iostream>
#include <sstream>

#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_third_order.hpp"

namespace attnbounds {
namespace {

struct MatchCliOptions {
  CommonOptions common;
  int N = 8, M = 16;
  std::string c;
  bool flip = false;
  std::string input;
};

std::optional<Rational> temperature_of(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    return parse_rational(text);
  } catch (const std::invalid_argument&) {
    throw UsageError("--c", "expected a positive rational such as 12.5 or 25/2 (got '" + text + "')");
  }
}

std::vector<int> parse_values(const std::string& text) {
  std::vector<int> x;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      x.push_back(std::stoi(item, &used));
    } catch (const std::exception&) {
      throw UsageError("--input", "expected comma-separated integers such as 3,5,1 (bad item '" + item + "')");
    }
  }
  if (x.size() < 2) throw UsageError("--input", "need at least 2 tokens");
  return x;
}

Match2Config match2_config(const MatchCliOptions& o) {
  Match2Config cfg;
  cfg.N = o.N;
  cfg.M = o.M;
  cfg.c = temperature_of(o.c);
  cfg.semantics = semantics_of(o.common);
  cfg.flip_query_sign = o.flip;
  return cfg;
}

void add_match2_options(CLI::App& sub, MatchCliOptions& o, bool with_N) {
  if (with_N) sub.add_option("--N", o.N, "number of tokens (2..64)")->capture_default_str();
  sub.add_option("--M", o.M, "modulus (values in [M])")->capture_default_str();
  sub.add_option("--c", o.c, "temperature (exact rational); default slightly above (1/g) ln((N-1)(4-g)/g)");
  sub.add_flag("--flip-query-sign", o.flip, "negative twin: query c(cos, +sin) instead of c(cos, -sin)");
  add_common(sub, o.common);
}

const Registrar check_match2_reg{
    {"check", "match2", "§4.3 (Match2)", "paper: m = 3; construction ours (m = 2 + residual)",
     "Match2 with the trigonometric embedding + residual, m = 2, exhaustive over [M]^N", "--N --M --c --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "Match2, trigonometric embedding + residual (m = 2)");
       add_match2_options(*sub, *o, true);
       sub->callback([o] {
         json r = check_match2(match2_config(*o), resolve_threads(o->common.threads), o->common.force);
         emit(r, o->common, status_of(r));
       });
     }}};

void emit_eval(const json& r, const CommonOptions& common) {
  if (common.json) std::cout << r.dump(2) << '\n';
  else {
    std::cout << "eval " << r.value("construction", "") << " (" << r["semantics"].get<std::string>() << ")\n";
    std::cout << "  token  x   model  truth\n";
    int i = 1;
    for (const auto& t : r["tokens"])
      std::cout << "  " << i++ << "\t" << t["x"].dump() << "\t" << t["model"].dump() << "\t" << t["truth"].dump()
                << (t["model"] == t["truth"] ? "" : "   <- wrong") << '\n';
    std::cout << "  errors " << r["errors"].dump() << '\n';
  }
  set_exit_status(r["errors"].get<int>() == 0 ? 0 : 1);
}

const Registrar eval_match2_reg{
    {"eval", "match2", "§4.3 (Match2)", "paper: m = 3; construction ours (m = 2 + residual)",
     "forward pass of the Match2 construction on one input", "--input --M --c --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "forward pass of the Match2 construction");
       sub->add_option("--input", o->input, "comma-separated token values, e.g. 3,5,1,13")->required();
       add_match2_options(*sub, *o, false);
       sub->callback([o] {
         auto cfg = match2_config(*o);
         emit_eval(eval_match2(cfg, parse_values(o->input)), o->common);
       });
     }}};

Match3Config match3_config(const MatchCliOptions& o) {
  Match3Config cfg;
  cfg.N = o.N;
  cfg.M = o.M;
  cfg.c = temperature_of(o.c);
  cfg.semantics = semantics_of(o.common);
  cfg.flip_query_sign = o.flip;
  return cfg;
}

void add_match3_options(CLI::App& sub, MatchCliOptions& o, bool with_N) {
  if (with_N) sub.add_option("--N", o.N, "number of tokens (2..16)")->capture_default_str();
  sub.add_option("--M", o.M, "modulus (values in [M])")->capture_default_str();
  sub.add_option("--c", o.c, "temperature C (exact rational); default slightly above (1/g) ln((N^2-1)(4-g)/g)");
  sub.add_flag("--flip-query-sign", o.flip, "negative twin: last query entry +C sin instead of -C sin");
  add_common(sub, o.common);
}

const Registrar check_match3_reg{
    {"check", "match3-third-order", "§4.4 (Match3, third-order)", "paper statement; construction ours",
     "Match3 with one third-order unit (softmax over all N^2 pairs), m = 4, exhaustive over [M]^N",
     "--N --M --c --semantics", [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       o->N = 6;
       o->M = 9;
       auto* sub = verb.add_subcommand("match3-third-order", "Match3 with one third-order unit (m = 4)");
       add_match3_options(*sub, *o, true);
       sub->callback([o] {
         json r = check_match3_third_order(match3_config(*o), resolve_threads(o->common.threads), o->common.force);
         emit(r, o->common, status_of(r));
       });
     }}};

const Registrar eval_match3_reg{
    {"eval", "match3-third-order", "§4.4 (Match3, third-order)", "paper statement; construction ours",
     "forward pass of the third-order Match3 construction on one input", "--input --M --c --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       o->M = 9;
       auto* sub = verb.add_subcommand("match3-third-order", "forward pass of the third-order Match3 construction");
       sub->add_option("--input", o->input, "comma-separated token values, e.g. 3,5,1")->required();
       add_match3_options(*sub, *o, false);
       sub->callback([o] { emit_eval(eval_match3_third_order(match3_config(*o), parse_values(o->input)), o->common); });
     }}};

}  // namespace
}  // namespace attnbounds
