// CLI wiring of the Match2 / Match3 claims (math §4.3-4.5): check, eval and min-p.
#include <fstream>
#include <iostream>
#include <filesystem>
#include <sstream>

#include "builtin_commands.hpp"
#include "cmd_match_model.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_third_order.hpp"
#include "proofs/match3_local.hpp"
#include "core/input_file.hpp"

namespace attnbounds {
namespace {

struct MatchCliOptions {
  CommonOptions common;
  int N = 8, M = 16;
  std::string c;
  bool flip = false;
  bool no_residual = false;
  std::string input;
  std::string model;  // match2: a model file instead of the construction
};

std::optional<Rational> temperature_of(const std::string& text) {
  if (text.empty()) return std::nullopt;
  Rational c;
  try {
    c = parse_rational(text);
  } catch (const std::invalid_argument&) {
    throw UsageError("--c", "expected a positive rational such as 12.5 or 25/2 (got '" + text + "')");
  }
  // Beyond 2^40 the attention is one-hot far below every precision checked, and the certified
  // double filter's scores would overflow: refused up front instead of running for minutes.
  if (c > Rational(mpz_class(1) << 40))
    throw UsageError("--c", "must be at most 2^40 = 1099511627776 (got " + (text.size() > 40 ? text.substr(0, 40) + "..." : text) + ")");
  return c;
}

// Token values "3,5,1,...": any integers (taken mod M), at least two tokens.
std::vector<int> parse_tokens(const std::string& text) {
  return parse_int_list("--input", text, -1000000000, 1000000000, 2);
}

// Match2Config and Match3Config share these fields.
template <class Config>
Config match_config(const MatchCliOptions& o) {
  Config cfg;
  cfg.N = o.N;
  cfg.M = o.M;
  cfg.c = temperature_of(o.c);
  cfg.semantics = semantics_of(o.common);
  cfg.flip_query_sign = o.flip;
  return cfg;
}
Match2Config match2_config(const MatchCliOptions& o) { return match_config<Match2Config>(o); }

// The residual-free variant's restrictions, worded with the flags (the library names fields).
void check_no_residual_flags(const MatchCliOptions& o) {
  const Semantics sem = semantics_of(o.common);
  if (sem.kind != Semantics::Kind::Exact && sem.kind != Semantics::Kind::Embed)
    throw UsageError("--semantics", "match2 --no-residual supports exact and embed:<fmt>");
  if (o.flip) throw UsageError("--flip-query-sign", "not available with --no-residual");
}

void add_match2_options(CLI::App& sub, MatchCliOptions& o, bool with_N) {
  if (with_N) sub.add_option("--N", o.N, "number of tokens (2..64)")->capture_default_str();
  sub.add_option("--M", o.M, "modulus (values in [M])")->capture_default_str();
  sub.add_option("--c", o.c, "temperature (exact rational); default slightly above (1/g) ln((N-1)(4-g)/g)");
  sub.add_flag("--flip-query-sign", o.flip, "negative twin: query c(cos, +sin) instead of c(cos, -sin)");
  sub.add_flag("--no-residual", o.no_residual,
               "residual-free variant (m = 4, psi sees only the attention output; exact/embed only)");
  sub.add_option("--model", o.model, "model file of class match2-table instead of the construction (docs/model-format.md)");
  add_common(sub, o.common);
}

// With --model the file is the model: the construction's own parameters would be ignored.
bool match2_model_requested(const CLI::App& sub, const MatchCliOptions& o) {
  if (o.model.empty()) return false;
  for (const char* flag : {"--N", "--M", "--c", "--flip-query-sign", "--no-residual"})
    if (const CLI::Option* opt = sub.get_option_no_throw(flag); opt && opt->count() > 0)
      throw UsageError(flag, "not with --model (the file gives the model and its N, M)");
  return true;
}

const DeclaredEntry check_match2_reg{
    {"check", "match2", "§4.3 (Match2)", "paper: m = 3; construction ours (m = 2 + residual)",
     "Match2 with the trigonometric embedding + residual, m = 2, exhaustive over [M]^N", "--N --M --c --model --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "Match2, trigonometric embedding + residual (m = 2)");
       add_match2_options(*sub, *o, true);
       sub->callback([o, sub] {
         if (match2_model_requested(*sub, *o)) return run_check_match2_model(o->model, o->common);
         const unsigned threads = resolve_threads(o->common.threads);
         if (o->no_residual) check_no_residual_flags(*o);
         json r = with_size_guard([&] {
           return o->no_residual ? to_json(check_match2_no_residual(match2_config(*o), threads, o->common.force))
                                 : to_json(check_match2(match2_config(*o), threads, o->common.force));
         });
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

const DeclaredEntry eval_match2_reg{
    {"eval", "match2", "§4.3 (Match2)", "paper: m = 3; construction ours (m = 2 + residual)",
     "forward pass of the Match2 construction on one input", "--input --M --c --model --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "forward pass of the Match2 construction");
       sub->add_option("--input", o->input, "comma-separated token values, e.g. 3,5,1,13")->required();
       add_match2_options(*sub, *o, false);
       sub->callback([o, sub] {
         if (match2_model_requested(*sub, *o)) return run_eval_match2_model(o->model, o->input, o->common);
         if (o->no_residual) check_no_residual_flags(*o);
         auto cfg = match2_config(*o);
         emit_eval(o->no_residual ? to_json(eval_match2_no_residual(cfg, parse_tokens(o->input)))
                                  : to_json(eval_match2(cfg, parse_tokens(o->input))),
                   o->common);
       });
     }}};

Match3Config match3_config(const MatchCliOptions& o) { return match_config<Match3Config>(o); }

void add_match3_options(CLI::App& sub, MatchCliOptions& o, bool with_N) {
  if (with_N) sub.add_option("--N", o.N, "number of tokens (2..16)")->capture_default_str();
  sub.add_option("--M", o.M, "modulus (values in [M])")->capture_default_str();
  sub.add_option("--c", o.c, "temperature C (exact rational); default slightly above (1/g) ln((N^2-1)(4-g)/g)");
  sub.add_flag("--flip-query-sign", o.flip, "negative twin: last query entry +C sin instead of -C sin");
  add_common(sub, o.common);
}

const DeclaredEntry check_match3_reg{
    {"check", "match3-third-order", "§4.4 (Match3, third-order)", "paper statement; construction ours",
     "Match3 with one third-order unit (softmax over all N^2 pairs), m = 4, exhaustive over [M]^N",
     "--N --M --c --semantics", [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       o->N = 6;
       o->M = 9;
       auto* sub = verb.add_subcommand("match3-third-order", "Match3 with one third-order unit (m = 4)");
       add_match3_options(*sub, *o, true);
       sub->callback([o] {
         json r = with_size_guard([&] {
           return to_json(check_match3_third_order(match3_config(*o), resolve_threads(o->common.threads), o->common.force));
         });
         emit(r, o->common, status_of(r));
       });
     }}};

const DeclaredEntry eval_match3_reg{
    {"eval", "match3-third-order", "§4.4 (Match3, third-order)", "paper statement; construction ours",
     "forward pass of the third-order Match3 construction on one input", "--input --M --c --semantics",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       o->M = 9;
       auto* sub = verb.add_subcommand("match3-third-order", "forward pass of the third-order Match3 construction");
       sub->add_option("--input", o->input, "comma-separated token values, e.g. 3,5,1")->required();
       add_match3_options(*sub, *o, false);
       sub->callback([o] { emit_eval(to_json(eval_match3_third_order(match3_config(*o), parse_tokens(o->input))), o->common); });
     }}};

struct LocalCli {
  CommonOptions common;
  int N = 8, M = 8, q = 2;
  std::string c, input, hints;
};

Match3LocalConfig local_config(const LocalCli& o, bool window) {
  Match3LocalConfig cfg;
  cfg.window = window;
  cfg.N = o.N;
  cfg.M = o.M;
  cfg.q = o.q;
  cfg.c = temperature_of(o.c);
  cfg.semantics = semantics_of(o.common);
  return cfg;
}

std::vector<int> index_list(const std::string& text, const std::string& param) {
  std::vector<int> v;
  std::stringstream ss(text);
  std::string item;
  while (ss >> item) {
    try {
      v.push_back(std::stoi(item) - 1);
    } catch (const std::exception&) {
      throw UsageError(param, "expected 1-based token indices (bad item '" + item + "')");
    }
  }
  return v;
}

// Hinted input: --input FILE with one token per line "x: j1 j2 ... jq" (1-based indices), or
// --input "3,5,1" with --hints "2 3|1 3|1 2".
void read_hinted(const LocalCli& o, std::vector<int>& x, std::vector<std::vector<int>>& y) {
  std::error_code ec;
  const bool is_file = std::filesystem::exists(std::filesystem::symlink_status(o.input, ec));
  std::istringstream file;
  if (is_file) {
    try {
      file.str(read_bounded_file(o.input, kMaxTextInputBytes));
    } catch (const std::invalid_argument& e) {
      throw UsageError("--input", e.what());
    }
    std::string line;
    while (std::getline(file, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto colon = line.find(':');
      if (colon == std::string::npos) throw UsageError("--input", "each line must be 'x: j1 j2 ...' (got '" + line + "')");
      try {
        x.push_back(std::stoi(line.substr(0, colon)));
      } catch (const std::exception&) {
        throw UsageError("--input", "bad token value in line '" + line + "'");
      }
      y.push_back(index_list(line.substr(colon + 1), "--input"));
    }
    return;
  }
  x = parse_tokens(o.input);
  std::stringstream ss(o.hints);
  std::string part;
  while (std::getline(ss, part, '|')) y.push_back(index_list(part, "--hints"));
}

void add_local_options(CLI::App& sub, LocalCli& o, bool window, bool with_N) {
  if (with_N) sub.add_option("--N", o.N, "number of tokens (2..24)")->capture_default_str();
  sub.add_option("--M", o.M, "modulus (values in [M])")->capture_default_str();
  sub.add_option(window ? "--w" : "--q", o.q, window ? "window length (positions i+1..i+w, cyclic)" : "hint set size q")
      ->capture_default_str();
  sub.add_option("--c", o.c, "temperature (exact rational); default from the decode-error bound");
  add_common(sub, o.common);
}

void register_local(bool window) {
  const std::string name = window ? "match3-window" : "match3-hinted";
  const std::string desc = window ? "Match3 over the window i+1..i+w with one standard unit (moment-curve keys, power-sum values)"
                                  : "Match3 over hint sets y_i with one standard unit (moment-curve keys, power-sum values)";
  register_entry({"check", name, "§4.5 (Match3, structure/locality)", "paper: structure/locality; definitions ours", desc,
                  window ? "--N --M --w --c --semantics" : "--N --M --q --c --semantics", [window, name](CLI::App& verb) {
                    auto o = std::make_shared<LocalCli>();
                    auto* sub = verb.add_subcommand(name, "Match3 variant computed by one standard unit");
                    add_local_options(*sub, *o, window, true);
                    sub->callback([o, window] {
                      json r = with_size_guard([&] {
                        return to_json(check_match3_local(local_config(*o, window), resolve_threads(o->common.threads),
                                                          o->common.force));
                      });
                      emit(r, o->common, status_of(r));
                    });
                  }});
  register_entry({"eval", name, "§4.5 (Match3, structure/locality)", "paper: structure/locality; definitions ours",
                  "forward pass of the " + name + " construction on one input",
                  window ? "--input --M --w --c" : "--input FILE|values --hints --M --q --c", [window, name](CLI::App& verb) {
                    auto o = std::make_shared<LocalCli>();
                    auto* sub = verb.add_subcommand(name, "forward pass of the " + name + " construction");
                    sub->add_option("--input", o->input, window ? "comma-separated token values"
                                                                  : "FILE (lines 'x: j1 .. jq') or comma-separated values")
                        ->required();
                    if (!window) sub->add_option("--hints", o->hints, "hint sets, 1-based, '|'-separated: \"2 3|1 3|1 2\"");
                    add_local_options(*sub, *o, window, false);
                    sub->callback([o, window] {
                      std::vector<int> x;
                      std::vector<std::vector<int>> y;
                      if (window) x = parse_tokens(o->input);
                      else read_hinted(*o, x, y);
                      emit_eval(to_json(eval_match3_local(local_config(*o, window), x, y)), o->common);
                    });
                  }});
}

// ---- min-p --------------------------------------------------------------------------------

struct MinPCli {
  CommonOptions common;
  int N = 4, M = 8, q = 2;
  std::string c, mode = "embed";
  int p_min = 2, p_max = 24;
};

void register_min_p(const std::string& name, const std::string& theorem, const std::string& provenance, int N, int M,
                    bool has_q, const std::string& q_name) {
  register_entry({"min-p", name, theorem, provenance,
                  "smallest float:p (embed or arith) for which " + name + " holds for every p' in [p, p_max]",
                  "--mode embed|arith --p-min --p-max --N --M --c" + (has_q ? " " + q_name : std::string()),
                  [=](CLI::App& verb) {
                    auto o = std::make_shared<MinPCli>();
                    o->N = N;
                    o->M = M;
                    auto* sub = verb.add_subcommand(name, "minimal precision of " + name);
                    sub->add_option("--N", o->N, "number of tokens")->capture_default_str();
                    sub->add_option("--M", o->M, "modulus")->capture_default_str();
                    if (has_q) sub->add_option(q_name, o->q, "hint set size / window length")->capture_default_str();
                    sub->add_option("--c", o->c, "temperature (default: the claim's)");
                    sub->add_option("--mode", o->mode, "embed | arith")->capture_default_str();
                    sub->add_option("--p-min", o->p_min, "smallest p scanned (>= 2)")->capture_default_str();
                    sub->add_option("--p-max", o->p_max, "largest p scanned (p_max of math §2)")->capture_default_str();
                    add_common(*sub, o->common, false);
                    sub->callback([o, name] {
                      if (o->mode != "embed" && o->mode != "arith") throw UsageError("--mode", "must be embed or arith");
                      require_range("--p-min", static_cast<long long>(o->p_min), 2LL, 200LL);
                      require_range("--p-max", static_cast<long long>(o->p_max), static_cast<long long>(o->p_min), 200LL);
                      const unsigned threads = resolve_threads(o->common.threads);
                      // Each point runs the typed check; the first result's JSON gives min-p its
                      // theorem, provenance and params, and each row shows the worst value as the
                      // check prints it.
                      json first;
                      auto point = [&first](const auto& typed) {
                        json r = to_json(typed);
                        if (first.is_null()) first = r;
                        return MatchMinPrecisionPoint{typed.verdict, r.value("worst", json::object()).value("value", "")};
                      };
                      std::function<MatchMinPrecisionPoint(const Semantics&)> run;
                      if (name == "match2") {
                        run = [o, threads, &point](const Semantics& sem) {
                          Match2Config cfg{o->N, o->M, temperature_of(o->c), sem, false};
                          return point(check_match2(cfg, threads, o->common.force));
                        };
                      } else if (name == "match3-third-order") {
                        run = [o, threads, &point](const Semantics& sem) {
                          Match3Config cfg{o->N, o->M, temperature_of(o->c), sem, false};
                          return point(check_match3_third_order(cfg, threads, o->common.force));
                        };
                      } else {
                        run = [o, threads, name, &point](const Semantics& sem) {
                          Match3LocalConfig cfg{name == "match3-window", o->N, o->M, o->q, temperature_of(o->c), sem};
                          return point(check_match3_local(cfg, threads, o->common.force));
                        };
                      }
                      json r = with_size_guard([&] { return to_json(min_precision_scan(name, o->mode, o->p_min, o->p_max, run), first, threads); });
                      emit(r, o->common, status_of(r));
                    });
                  }});
}

}  // namespace

void register_match_commands() {
  for (const DeclaredEntry* d : {&check_match2_reg, &eval_match2_reg, &check_match3_reg, &eval_match3_reg})
    register_entry(d->entry);
  register_local(false);
  register_local(true);
  register_min_p("match2", "§4.3 (Match2)", "paper: m = 3; construction ours (m = 2 + residual)", 4, 8, false, "");
  register_min_p("match3-third-order", "§4.4 (Match3, third-order)", "paper statement; construction ours", 3, 6, false, "");
  register_min_p("match3-hinted", "§4.5 (Match3, structure/locality)", "paper: structure/locality; definitions ours", 8, 8, true, "--q");
  register_min_p("match3-window", "§4.5 (Match3, structure/locality)", "paper: structure/locality; definitions ours", 8, 8, true, "--w");
}

}  // namespace attnbounds
