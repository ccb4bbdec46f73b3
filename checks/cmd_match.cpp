// CLI wiring of the Match2 / Match3 claims (math §4.3-4.5): check, eval and min-p.
#include <fstream>
#include <iostream>
#include <filesystem>
#include <sstream>

#include "builtin_commands.hpp"
#include "cmd_match_model.hpp"
#include "claims.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "min_p.hpp"
#include "core/elapsed_timer.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_third_order.hpp"
#include "modelfile/match3_local_model.hpp"
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
  GivenParams given;
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

// Token values "3,5,1,...": at least two tokens, each in 0..M-1 (never reduced mod M).  A --N
// given on the command line must be the number of tokens.
std::vector<int> parse_tokens(const std::string& text, int M, const GivenParams& given, int N) {
  std::vector<int> x = parse_int_list("--input", text, -1000000000, 1000000000, 2);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] < 0 || x[i] >= M)
      throw UsageError("--input", "token " + std::to_string(i + 1) + " is " + std::to_string(x[i]) +
                                      ", outside 0..M-1 = 0.." + std::to_string(M - 1));
  if (given.given("--N") && static_cast<int>(x.size()) != N)
    throw UsageError("--N", "is " + std::to_string(N) + " but --input has " + std::to_string(x.size()) + " tokens");
  return x;
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

// eval: --N is the number of --input tokens; given, it must agree.
ParamDef eval_N(ParamDef d) {
  return d.with_computed_default("the number of --input tokens").with_help("number of tokens; when given, must equal the --input count");
}
ParamDef tokens_input(const std::string& help) { return param::input().with_help(help).as_required(); }

ParamTable match2_params(bool eval) {
  ParamDef N = param::N().with_range(Match2Config::kN).with_default(8);
  ParamTable t = {eval ? eval_N(N) : N,
                  param::M().with_range(Match2Config::kM).with_default(16),
                  param::c().with_help("temperature (exact rational)").with_computed_default("slightly above (1/g) ln((N-1)(4-g)/g)"),
                  param::flag("--flip-query-sign", "negative twin: query c(cos, +sin) instead of c(cos, -sin)"),
                  param::flag("--no-residual", "residual-free variant (m = 4, psi sees only the attention output; exact/embed only)")};
  // With --model the file is the model: the construction's own parameters would be ignored.
  ParamDef model = param::file("--model", "model file of class match2-table or attention-unit instead of the construction (docs/model-format.md)");
  for (const char* f : {"--N", "--M", "--c", "--flip-query-sign", "--no-residual"}) model = model.excluding(f);
  t.push_back(model);
  if (eval) t.push_back(tokens_input("comma-separated token values in 0..M-1, e.g. 3,5,1,13"));
  return with_common(t);
}
const ParamTable kCheckMatch2 = match2_params(false), kEvalMatch2 = match2_params(true);

void bind_match2(CLI::App& sub, MatchCliOptions& o, bool eval) {
  std::vector<ParamBinding> b = {{"--N", &o.N}, {"--M", &o.M}, {"--c", &o.c}, {"--flip-query-sign", &o.flip},
                                 {"--no-residual", &o.no_residual}, {"--model", &o.model}};
  b.push_back({"--model", &o.model});
  if (eval) b.push_back({"--input", &o.input});
  o.given = bind_with_common(sub, eval ? kEvalMatch2 : kCheckMatch2, b, o.common);
}



const DeclaredEntry check_match2_reg{
    {"check", "match2", "", "",
     "Match2 with the trigonometric embedding + residual, m = 2, exhaustive over [M]^N", "",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "Match2, trigonometric embedding + residual (m = 2)");
       bind_match2(*sub, *o, false);
       sub->callback([o] {
         if (!o->model.empty()) return run_check_match2_model(o->model, o->common);
         const unsigned threads = resolve_threads(o->common.threads);
         if (o->no_residual) check_no_residual_flags(*o);
         json r = with_size_guard([&] {
           return o->no_residual ? to_json(check_match2_no_residual(match2_config(*o), threads, o->common.force))
                                 : to_json(check_match2(match2_config(*o), threads, o->common.force));
         });
         emit(r, o->common, status_of(r));
       });
     }, &kCheckMatch2}};

// The eval result, titled by its construction (one renderer with the model files' eval).
void emit_eval(const json& r, const CommonOptions& common) { emit_match_model_eval(r, common, r.value("construction", "")); }

const DeclaredEntry eval_match2_reg{
    {"eval", "match2", "", "",
     "forward pass of the Match2 construction on one input", "",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match2", "forward pass of the Match2 construction");
       bind_match2(*sub, *o, true);
       sub->callback([o] {
         if (!o->model.empty()) return run_eval_match2_model(o->model, o->input, o->common);
         if (o->no_residual) check_no_residual_flags(*o);
         const std::vector<int> x = parse_tokens(o->input, o->M, o->given, o->N);
         auto cfg = match2_config(*o);
         emit_eval(o->no_residual ? to_json(eval_match2_no_residual(cfg, x), "match2")
                                  : to_json(eval_match2(cfg, x), "match2"),
                   o->common);
       });
     }, &kEvalMatch2}};

Match3Config match3_config(const MatchCliOptions& o) { return match_config<Match3Config>(o); }

ParamTable match3_params(bool eval) {
  ParamDef N = param::N().with_range(Match3Config::kN).with_default(6);
  ParamTable t = {eval ? eval_N(N) : N,
                  param::M().with_range(Match3Config::kM).with_default(9),
                  param::c().with_help("temperature C (exact rational)").with_computed_default("slightly above (1/g) ln((N^2-1)(4-g)/g)"),
                  param::flag("--flip-query-sign", "negative twin: last query entry +C sin instead of -C sin")};
  if (eval) t.push_back(tokens_input("comma-separated token values in 0..M-1, e.g. 3,5,1"));
  return with_common(t);
}
const ParamTable kCheckMatch3 = match3_params(false), kEvalMatch3 = match3_params(true);

void bind_match3(CLI::App& sub, MatchCliOptions& o, bool eval) {
  std::vector<ParamBinding> b = {{"--N", &o.N}, {"--M", &o.M}, {"--c", &o.c}, {"--flip-query-sign", &o.flip}};
  if (eval) b.push_back({"--input", &o.input});
  o.given = bind_with_common(sub, eval ? kEvalMatch3 : kCheckMatch3, b, o.common);
}

const DeclaredEntry check_match3_reg{
    {"check", "match3-third-order", "", "",
     "Match3 with one third-order unit (softmax over all N^2 pairs), m = 4, exhaustive over [M]^N",
     "", [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match3-third-order", "Match3 with one third-order unit (m = 4)");
       bind_match3(*sub, *o, false);
       sub->callback([o] {
         json r = with_size_guard([&] {
           return to_json(check_match3_third_order(match3_config(*o), resolve_threads(o->common.threads), o->common.force));
         });
         emit(r, o->common, status_of(r));
       });
     }, &kCheckMatch3}};

const DeclaredEntry eval_match3_reg{
    {"eval", "match3-third-order", "", "",
     "forward pass of the third-order Match3 construction on one input", "",
     [](CLI::App& verb) {
       auto o = std::make_shared<MatchCliOptions>();
       auto* sub = verb.add_subcommand("match3-third-order", "forward pass of the third-order Match3 construction");
       bind_match3(*sub, *o, true);
       sub->callback([o] {
         const std::vector<int> x = parse_tokens(o->input, o->M, o->given, o->N);
         emit_eval(to_json(eval_match3_third_order(match3_config(*o), x), "match3-third-order"), o->common);
       });
     }, &kEvalMatch3}};

struct LocalCli {
  CommonOptions common;
  int N = 8, M = 8, q = 2;
  std::string c, input, hints, model;
  GivenParams given;
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
      std::size_t used = 0;
      const std::string value = line.substr(0, colon);
      try {
        x.push_back(std::stoi(value, &used));
      } catch (const std::exception&) {
        throw UsageError("--input", "bad token value in line '" + line + "'");
      }
      if (value.find_first_not_of(" \t", used) != std::string::npos)
        throw UsageError("--input", "bad token value in line '" + line + "'");
      if (x.back() < 0 || x.back() >= o.M)
        throw UsageError("--input", "token value " + std::to_string(x.back()) + " in line '" + line +
                                        "' is outside 0..M-1 = 0.." + std::to_string(o.M - 1));
      y.push_back(index_list(line.substr(colon + 1), "--input"));
    }
    if (o.given.given("--N") && static_cast<int>(x.size()) != o.N)
      throw UsageError("--N", "is " + std::to_string(o.N) + " but --input has " + std::to_string(x.size()) + " tokens");
    return;
  }
  x = parse_tokens(o.input, o.M, o.given, o.N);
  std::stringstream ss(o.hints);
  std::string part;
  while (std::getline(ss, part, '|')) y.push_back(index_list(part, "--hints"));
}

ParamDef window_or_hints(bool window) {
  return window ? param::q().with_flag("--w").with_range(Match3LocalConfig::kQ).with_help("window length (positions i+1..i+w, cyclic)")
                : param::q().with_range(Match3LocalConfig::kQ).with_help("hint set size q");
}

ParamTable local_params(bool window, bool eval) {
  ParamDef N = param::N().with_range(Match3LocalConfig::kN).with_default(8);
  ParamTable t = {eval ? eval_N(N) : N, param::M().with_range(Match3LocalConfig::kM).with_default(8), window_or_hints(window),
                  param::c().with_help("temperature (exact rational)").with_computed_default("from the decode-error bound")};
  // With --model the file is the model (class match3-local): the construction's own parameters would be ignored.
  ParamDef model = param::file("--model", "model file of class match3-local instead of the construction (docs/model-format.md)");
  for (const char* f : {"--N", "--M", window ? "--w" : "--q", "--c"}) model = model.excluding(f);
  t.push_back(model);
  if (eval) {
    t.push_back(tokens_input(window ? "comma-separated token values in 0..M-1"
                                    : "FILE (lines 'x: j1 .. jq') or comma-separated token values in 0..M-1"));
    if (!window) {
      ParamDef hints;
      hints.flag = "--hints";
      hints.help = "hint sets, 1-based, '|'-separated: \"2 3|1 3|1 2\"";
      t.push_back(hints);
    }
  }
  return with_common(t);
}
const ParamTable kCheckHinted = local_params(false, false), kEvalHinted = local_params(false, true);
const ParamTable kCheckWindow = local_params(true, false), kEvalWindow = local_params(true, true);

const ParamTable& local_table(bool window, bool eval) {
  return window ? (eval ? kEvalWindow : kCheckWindow) : (eval ? kEvalHinted : kCheckHinted);
}

void bind_local(CLI::App& sub, LocalCli& o, bool window, bool eval) {
  std::vector<ParamBinding> b = {{"--N", &o.N}, {"--M", &o.M}, {window ? "--w" : "--q", &o.q}, {"--c", &o.c}};
  b.push_back({"--model", &o.model});
  if (eval) b.push_back({"--input", &o.input});
  if (eval && !window) b.push_back({"--hints", &o.hints});
  o.given = bind_with_common(sub, local_table(window, eval), b, o.common);
}

void register_local(bool window) {
  const std::string name = window ? "match3-window" : "match3-hinted";
  const std::string desc = window ? "Match3 over the window i+1..i+w with one standard unit (moment-curve keys, power-sum values)"
                                  : "Match3 over hint sets y_i with one standard unit (moment-curve keys, power-sum values)";
  register_entry({"check", name, "", "", desc, "", [window, name](CLI::App& verb) {
                    auto o = std::make_shared<LocalCli>();
                    auto* sub = verb.add_subcommand(name, "Match3 variant computed by one standard unit");
                    bind_local(*sub, *o, window, false);
                    sub->callback([o, window] {
                      if (!o->model.empty()) return run_check_match3_local_model(o->model, window, o->common);
                      json r = with_size_guard([&] {
                        return to_json(check_match3_local(local_config(*o, window), resolve_threads(o->common.threads),
                                                          o->common.force));
                      });
                      emit(r, o->common, status_of(r));
                    });
                  }, &local_table(window, false)});
  register_entry({"eval", name, "", "", "forward pass of the " + name + " construction on one input", "",
                  [window, name](CLI::App& verb) {
                    auto o = std::make_shared<LocalCli>();
                    auto* sub = verb.add_subcommand(name, "forward pass of the " + name + " construction");
                    bind_local(*sub, *o, window, true);
                    sub->callback([o, window] {
                      std::vector<int> x;
                      std::vector<std::vector<int>> y;
                      if (!o->model.empty()) {
                        // The file gives N and M: the input is read against them.
                        const Match3LocalModel m = load_match3_local_model(o->model, window, o->common.force);
                        o->M = m.M;
                        o->N = m.N;
                        if (window) x = parse_tokens(o->input, o->M, o->given, o->N);
                        else read_hinted(*o, x, y);
                        return run_eval_match3_local_model(o->model, window, x, y, o->common);
                      }
                      if (window) x = parse_tokens(o->input, o->M, o->given, o->N);
                      else read_hinted(*o, x, y);
                      emit_eval(to_json(eval_match3_local(local_config(*o, window), x, y)), o->common);
                    });
                  }, &local_table(window, true)});
}

// ---- min-p --------------------------------------------------------------------------------

struct MinPCli {
  CommonOptions common;
  int N = 4, M = 8, q = 2;
  std::string c, mode = "embed", model;
  int p_min = 2, p_max = 24;
};

ParamTable min_p_params(const std::string& name, int N, int M) {
  const bool local = name != "match2" && name != "match3-third-order";
  const FieldLimits N_limits = name == "match2" ? Match2Config::kN : local ? Match3LocalConfig::kN : Match3Config::kN;
  const FieldLimits M_limits = name == "match2" ? Match2Config::kM : local ? Match3LocalConfig::kM : Match3Config::kM;
  ParamTable t = {param::N().with_range(N_limits).with_default(N), param::M().with_range(M_limits).with_default(M)};
  if (name == "match3-hinted" || name == "match3-window") t.push_back(window_or_hints(name == "match3-window"));
  t.push_back(param::c().with_help("temperature").with_computed_default("the claim's"));
  t.push_back(param::mode());
  t.push_back(param::p_min().with_range(kMatchMinPrecisionP).with_help("smallest p scanned"));
  t.push_back(param::p_max().with_range(kMatchMinPrecisionP).with_default(24).at_least("--p-min").with_help("largest p scanned (p_max of math §2)"));
  if (name != "match3-third-order") {
    // With --model the file is the model: the construction's own parameters would be ignored.
    ParamDef model = param::file("--model", std::string("model file of class ") + (local ? "match3-local" : "match2-table or attention-unit") +
                                                " instead of the construction (docs/model-format.md)");
    for (const char* f : {"--N", "--M", "--c"}) model = model.excluding(f);
    if (local) model = model.excluding(name == "match3-window" ? "--w" : "--q");
    t.push_back(model);
  }
  return with_common(t, false);
}
const ParamTable kMinPMatch2 = min_p_params("match2", 4, 8), kMinPMatch3 = min_p_params("match3-third-order", 3, 6);
const ParamTable kMinPHinted = min_p_params("match3-hinted", 8, 8), kMinPWindow = min_p_params("match3-window", 8, 8);

const ParamTable& min_p_table(const std::string& name) {
  return name == "match2" ? kMinPMatch2 : name == "match3-third-order" ? kMinPMatch3 : name == "match3-hinted" ? kMinPHinted : kMinPWindow;
}

// One check of the claim under `sem`, as min-p's trial: the verdict, the certified ends of the
// worst case and, for a failure, its input witness (re-verified by the checker's forward pass).
// `first` receives the first check's JSON (its params and bound describe the claim).
PrecisionTrial match_trial(const std::string& name, const MinPCli& o, const Semantics& sem, unsigned threads, json& first) {
  PrecisionTrial t;
  auto from_sweep = [&](const auto& typed) {
    if (first.is_null()) first = to_json(typed);
    t.verdict = typed.verdict;
    t.witness_verified = typed.verdict == Verdict::Fails;  // the sweep fails only on a confirmed witness
    if (typed.sweep.worst) {
      t.worst_lower = Rational(typed.sweep.worst->lower);
      t.worst_upper = Rational(typed.sweep.worst->upper);
      if (typed.verdict == Verdict::Fails) {
        t.witness = typed.sweep.worst->witness.x;
        t.witness_token = typed.sweep.worst->witness.token;
      }
    }
  };
  if (name == "match2") {
    from_sweep(check_match2(Match2Config{o.N, o.M, temperature_of(o.c), sem, false}, threads, o.common.force));
  } else if (name == "match3-third-order") {
    from_sweep(check_match3_third_order(Match3Config{o.N, o.M, temperature_of(o.c), sem, false}, threads, o.common.force));
  } else {
    const Match3LocalResult r = check_match3_local(
        Match3LocalConfig{name == "match3-window", o.N, o.M, o.q, temperature_of(o.c), sem}, threads, o.common.force);
    if (first.is_null()) first = to_json(r);
    t = trial_of_match3_local(r);  // the trial of min-p match3-hinted|match3-window --model too
  }
  return t;
}

// p* by the library's one min-p rule (certify/min_precision.hpp), over float:P; beside it the
// verdicts under the bounded hardware formats bf16, fp16 and fp32 (their exponent ranges
// included, so they can differ from float:8, float:11, float:24).
void run_min_p(const std::string& name, const MinPCli& o) {
  const unsigned threads = resolve_threads(o.common.threads);
  const MinPrecisionConfig mc = min_precision_config(o.mode, "float", o.p_min, o.p_max, kMatchMinPrecisionP);
  json first;
  json out = with_size_guard([&] {
    return match_min_precision_result(mc, [&](const Semantics& sem) { return match_trial(name, o, sem, threads, first); },
                                      first, threads, [&](const json& params) {
                                        return make_claim_result("min-p", name, params, min_precision_family_name(mc));
                                      });
  });
  emit(out, o.common, status_of(out));
}

void register_min_p(const std::string& name) {
  register_entry({"min-p", name, "", "",
                  "smallest float:p (embed or arith) for which " + name + " holds for every p' in [p, p_max]", "",
                  [=](CLI::App& verb) {
                    auto o = std::make_shared<MinPCli>();
                    auto* sub = verb.add_subcommand(name, "minimal precision of " + name);
                    std::vector<ParamBinding> b = {{"--N", &o->N}, {"--M", &o->M}, {"--c", &o->c}, {"--mode", &o->mode},
                                                   {"--p-min", &o->p_min}, {"--p-max", &o->p_max}};
                    if (name == "match3-hinted") b.push_back({"--q", &o->q});
                    if (name == "match3-window") b.push_back({"--w", &o->q});
                    if (name != "match3-third-order") b.push_back({"--model", &o->model});
                    bind_with_common(*sub, min_p_table(name), b, o->common);
                    sub->callback([o, name] {
                      if (!o->model.empty()) {
                        MatchMinPOfModel m{o->common, o->model, o->mode, o->p_min, o->p_max};
                        if (name == "match2") return run_min_p_match2_model(m);
                        return run_min_p_match3_local_model(m, name == "match3-window");
                      }
                      run_min_p(name, *o);
                    });
                  }, &min_p_table(name)});
}

}  // namespace

void register_match_commands() {
  for (const DeclaredEntry* d : {&check_match2_reg, &eval_match2_reg, &check_match3_reg, &eval_match3_reg})
    register_entry(d->entry);
  register_local(false);
  register_local(true);
  for (const char* name : {"match2", "match3-third-order", "match3-hinted", "match3-window"}) register_min_p(name);
}

}  // namespace attnbounds
