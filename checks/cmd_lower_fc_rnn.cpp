// `attnbounds lower fc-rank` (Theorem 10, math §5.3) and `attnbounds lower rnn-index`
// (Theorem 11, math §5.4).
#include <fmt/format.h>

#include <memory>

#include "builtin_commands.hpp"
#include "claims.hpp"
#include "common.hpp"
#include "enumerate/parallel.hpp"
#include "proofs/theorem10_fc_rank.hpp"
#include "proofs/theorem11_rnn_index.hpp"

namespace attnbounds {
namespace {

struct FcRankCli {
  CommonOptions common;
  int N = 6, q = 2, d = 1, k = -1;
  std::string weights;
};

json exact_strings(const std::vector<Rational>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(to_exact_string(x));
  return a;
}

json fc_input_json(const fc_rank::FcInput& X) {
  json z = json::array(), y = json::array();
  for (std::size_t i = 0; i < X.z.rows(); ++i) {
    json row = json::array();
    for (std::size_t c = 0; c < X.z.cols(); ++c) row.push_back(to_exact_string(X.z(i, c)));
    z.push_back(row);
    json yi = json::array();
    for (int j : X.y[i]) yi.push_back(j + 1);
    y.push_back(yi);
  }
  return {{"z", z}, {"y", y}};
}

// The one JSON writer of a Theorem 10 result.
json fc_rank_json(const fc_rank::FcRankResult& r, json params, bool k_in_params, double seconds) {
  if (k_in_params) params["k"] = r.k;  // the width actually used (the default is bound - 1)
  json res = make_claim_result("lower", "fc-rank", params, "exact");
  res["claim_text"] = fmt::format(
      "no fully-connected network with this first layer W (k = {}) eps-approximates qSA for eps below the forced "
      "error; a counterexample of this form exists iff W restricted to the z-coordinates of the N-q+1 free tokens "
      "has a kernel, which k < (N-q+1)d' guarantees",
      r.k);
  res["k"] = r.k;
  res["input_dim"] = r.input_dim;
  res["token_dim"] = r.token_dim;
  res["bound"] = std::to_string(r.bound);
  res["bound_vs_paper"] = fmt::format("(N-q+1)d' = {} {} N d'/2 = {}{}", r.bound, 2 * r.bound >= r.N * r.d ? ">=" : "<",
                                      to_exact_decimal_or_fraction(Rational(r.N * r.d) / 2),
                                      r.q <= r.N / 2 + 1 ? " (q <= N/2 + 1)" : "");
  res["rank_W_free_z"] = r.rank_W_free_z;
  res["qsa_map_rank"] = r.qsa_map_rank;
  res["qsa_map_rank_free_z"] = r.qsa_map_rank_free_z;
  res["cases"] = 1;
  json worst;
  if (!r.witness) {
    res["note"] = fmt::format("W restricted to the free z-coordinates has full column rank {} (k = {} >= {}): no "
                              "counterexample of this form exists (this does not prove that a network with this W "
                              "approximates qSA)",
                              r.rank_W_free_z, r.k, r.bound);
    worst["value"] = "0";
    worst["lower"] = "0";
    worst["upper"] = "0";
    worst["witness"] = json::object();
  } else {
    const fc_rank::FcRankWitness& w = *r.witness;
    worst["value"] = to_decimal_string(w.forced_error_lower, 17, -1);
    worst["lower"] = to_decimal_string(w.forced_error_lower, 17, -1);
    worst["upper"] = to_decimal_string(w.forced_error_upper, 17, +1);
    worst["witness"] = {{"X_plus", fc_input_json(w.X_plus)},
                        {"X_minus", fc_input_json(w.X_minus)},
                        {"delta", exact_strings(w.delta)},
                        {"scale", to_exact_string(w.scale)},
                        {"row", w.row + 1},
                        {"true_outputs", {exact_strings(w.true_plus), exact_strings(w.true_minus)}},
                        {"first_layer_output", exact_strings(w.first_layer_output)},
                        {"first_layer_equal", w.first_layer_equal},
                        {"forced_error_lower", to_decimal_string(w.forced_error_lower, 17, -1)},
                        {"forced_error_reference", fmt::format("1/q = {}", to_decimal_string(Rational(1, r.q), 17, 0))}};
    if (r.input_dim <= 64) {
      json wj = json::array();
      for (std::size_t row = 0; row < r.W.rows(); ++row) {
        json a = json::array();
        for (std::size_t c = 0; c < r.W.cols(); ++c) a.push_back(to_exact_string(r.W(row, c)));
        wj.push_back(a);
      }
      worst["witness"]["W"] = wj;
    }
  }
  res["worst"] = worst;
  finish_result(res, r.verdict, seconds, 1);
  return res;
}

void run_fc(const FcRankCli& o) {
  Stopwatch clock;
  fc_rank::FcRankOptions opts;
  opts.N = o.N;
  opts.q = o.q;
  opts.d = o.d;
  opts.k = o.k;
  opts.seed = o.common.seed;
  json params = {{"N", o.N}, {"q", o.q}, {"d", o.d}, {"seed", o.common.seed}};
  if (!o.weights.empty()) {
    opts.weights = fc_rank::read_weights_file(o.weights);
    params["weights"] = o.weights;
  } else {
    params["k"] = o.k;
  }
  const fc_rank::FcRankResult r = fc_rank::run_fc_rank(opts);
  emit(fc_rank_json(r, params, o.weights.empty(), clock.seconds()), o.common, exit_status_for(r.verdict));
}

struct RnnIndexCli {
  CommonOptions common;
  int N = 9, r = 0, S = 0;
  std::string model = "automaton", recurrence = "shift", automaton = "window", state_format = "fixed:2.0",
              eps = "1/2";
};

json index_input_json(const rnn_index::IndexInput& X) {
  json z = json::array(), y = json::array();
  for (const auto& t : X.tokens) {
    z.push_back(json::array({to_exact_string(t.z)}));
    json yi = json::array();
    for (int j : t.y) yi.push_back(j + 1);
    y.push_back(yi);
  }
  return {{"z", z}, {"y", y}};
}

std::string bits_text(std::uint64_t b, int n) {
  std::string s;
  for (int j = 0; j < n; ++j) s += ((b >> j) & 1U) ? '1' : '0';
  return s;
}

// The one JSON writer of a Theorem 11 result.
json rnn_index_json(const rnn_index::RnnIndexResult& r, const json& params, double seconds, unsigned threads) {
  json res = make_claim_result("lower", "rnn-index",
                         params, "exact");
  res["claim_text"] = fmt::format("the streaming model eps-approximates qSA at token N on all {} INDEX_{} instances; "
                                  "any one-pass model that does needs 2^(N-1) distinct states, S >= N-1 = {} bits",
                                  r.instances, r.n, r.n);
  res["model"] = r.model;
  res["cases"] = r.instances;
  res["instances"] = r.instances;
  res["reduction"] = {{"instances", r.instances}, {"verified", r.reduction_verified},
                      {"statement", "qSA(X)_N = z_k = (2 b_k - 1) e_1 decides INDEX(b, k)"}};
  res["state_bits"] = r.state_bits;
  res["states_distinct"] = r.states_distinct;
  res["states_needed"] = r.states_needed;
  res["bound"] = std::to_string(r.n);
  res["paper_bound"] = to_exact_decimal_or_fraction(Rational(r.n) / 2);
  res["model_class"] = rnn_index::kModelClassNote;
  res["eps"] = to_exact_string(r.eps);
  const rnn_index::RnnIndexWitness& w = r.witness;
  json worst;
  worst["value"] = to_exact_decimal_or_fraction(r.worst_error);
  worst["lower"] = worst["value"];
  worst["upper"] = worst["value"];
  json b = json::array(), inputs = json::array(), errors = json::array();
  for (std::uint64_t v : w.b) b.push_back(bits_text(v, r.n));
  for (const auto& X : w.inputs) inputs.push_back(index_input_json(X));
  for (const auto& e : w.errors) errors.push_back(to_exact_decimal_or_fraction(e));
  const bool collision = w.kind == rnn_index::RnnWitnessKind::StateCollision;
  worst["witness"] = {{"kind", collision ? "state collision"
                               : w.kind == rnn_index::RnnWitnessKind::Inaccurate ? "inaccurate"
                                                                                  : "worst instance"},
                      {"b", b},
                      {"k", w.k + 1},
                      {"inputs", inputs},
                      {"model_outputs", exact_strings(w.model_outputs)},
                      {"true_outputs", exact_strings(w.true_outputs)},
                      {"errors", errors}};
  if (collision)
    worst["witness"]["explanation"] = "both prefixes leave the model in the same state, so the outputs at token N "
                                      "are equal while qSA differs by 2: one error is >= 1 > eps";
  res["instances_within_eps"] = r.instances_within_eps;
  res["worst"] = worst;
  finish_result(res, r.verdict, seconds, threads);
  return res;
}

void run_rnn(const RnnIndexCli& o) {
  Stopwatch clock;
  rnn_index::RnnIndexOptions opts;
  opts.N = o.N;
  opts.threads = resolve_threads(o.common.threads);
  opts.eps = parse_rational_param("--eps", o.eps);
  opts.validate();
  // Every instance runs the model over all N tokens: cost instances·N steps.
  require_size("rnn-index (2^(N-1)*(N-1) instances, each a full run of N tokens)", opts.instances() * o.N,
               std::uint64_t{1} << 22, o.common.force);
  const int n = o.N - 1;
  json params = {{"N", o.N}, {"model", o.model}, {"eps", o.eps}, {"seed", o.common.seed}};
  std::unique_ptr<rnn_index::StreamingModel> model;
  if (o.model == "linear") {
    const int r = o.r == 0 ? n : o.r;
    require_range("--r", static_cast<long long>(r), 1LL, 64LL);
    Format fmt;
    try {
      fmt = parse_format(o.state_format);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--state-format", e.what());
    }
    params["r"] = r;
    params["recurrence"] = o.recurrence;
    params["state_format"] = fmt.name();
    model = rnn_index::make_linear_recurrence(n, r, fmt, o.recurrence, o.common.seed);
  } else if (o.model == "automaton") {
    const int S = o.S == 0 ? n : o.S;
    require_range("--S", static_cast<long long>(S), 1LL, 24LL);
    params["S"] = S;
    params["automaton"] = o.automaton;
    model = rnn_index::make_automaton(n, S, o.automaton, o.common.seed);
  } else {
    throw UsageError("--model", fmt::format("must be linear or automaton (got '{}')", o.model));
  }
  const rnn_index::RnnIndexResult r = rnn_index::run_rnn_index(opts, *model);
  emit(rnn_index_json(r, params, clock.seconds(), opts.threads), o.common, exit_status_for(r.verdict));
}

ParamDef choice_row(const std::string& flag, const std::string& help, std::vector<std::string> choices, const std::string& def) {
  ParamDef d;
  d.flag = flag;
  d.kind = ParamKind::Choice;
  d.help = help;
  return d.with_choices(std::move(choices), def);
}

const ParamTable kFcRankParams = with_common(
    {param::N().with_range(fc_rank::FcRankOptions::kN).with_default(6),
     param::q().with_range(1, fc_rank::FcRankOptions::kN.hi).at_most("--N").with_help("sparsity q"),
     param::d().with_range(fc_rank::FcRankOptions::kD),
     param::N().with_flag("--k").with_range(fc_rank::FcRankOptions::kK).with_computed_default("bound - 1").with_help("first-layer width of the seeded random W"),
     param::file("--weights", "first layer W from a file (rows of numbers, N*(d'+q+1) columns)")},
    false);

const ParamTable kRnnIndexParams = with_common(
    {param::N().with_range(rnn_index::RnnIndexOptions::kN).with_default(9).with_help("tokens (n = N-1 data tokens)"),
     choice_row("--model", "one-pass model under test", {"linear", "automaton"}, "automaton"),
     param::N().with_flag("--r").with_range(1, 64).with_computed_default("N-1").with_help("linear: state dimension"),
     [] {
       ParamDef d;
       d.flag = "--state-format";
       d.help = "linear: format of the state entries (float:P or fixed:I.F)";
       d.default_value = "fixed:2.0";
       d.value_hint = "FORMAT";
       return d;
     }(),
     choice_row("--recurrence", "linear: recurrence", {"shift", "random"}, "shift"),
     param::N().with_flag("--S").with_range(1, 24).with_computed_default("N-1").with_help("automaton: state bits"),
     choice_row("--automaton", "automaton: transition rule", {"window", "random"}, "window"),
     param::eps().with_default("1/2").with_help("claimed accuracy")},
    false);

const DeclaredEntry reg_fc{{"lower", "fc-rank", "", "",
                        "first layer of width k < (N-q+1)d': exact kernel vector gives X+, X- with W X+ = W X- and "
                        "qSA error >= 1/q",
                        "", [](CLI::App& parent) {
                          auto o = std::make_shared<FcRankCli>();
                          CLI::App* app = parent.add_subcommand("fc-rank", "Theorem 10: FC networks need width >= N d'/2 (math §5.3)");
                          bind_with_common(*app, kFcRankParams,
                                           {{"--N", &o->N}, {"--q", &o->q}, {"--d", &o->d}, {"--k", &o->k}, {"--weights", &o->weights}},
                                           o->common);
                          app->callback([o] { run_fc(*o); });
                        }, &kFcRankParams}};

const DeclaredEntry reg_rnn{{"lower", "rnn-index", "", "",
                         "one-way INDEX_{N-1} through qSA: a one-pass model with S < N-1 state bits has a verified "
                         "state collision",
                         "",
                         [](CLI::App& parent) {
                           auto o = std::make_shared<RnnIndexCli>();
                           CLI::App* app = parent.add_subcommand("rnn-index", "Theorem 11: recurrent models need Omega(N) bits (math §5.4)");
                           bind_with_common(*app, kRnnIndexParams,
                                            {{"--N", &o->N}, {"--model", &o->model}, {"--r", &o->r},
                                             {"--state-format", &o->state_format}, {"--recurrence", &o->recurrence},
                                             {"--S", &o->S}, {"--automaton", &o->automaton}, {"--eps", &o->eps}},
                                            o->common);
                           app->callback([o] { run_rnn(*o); });
                         }, &kRnnIndexParams}};

}  // namespace

void register_lower_fc_rnn_commands() {
  for (const DeclaredEntry* d : {&reg_fc, &reg_rnn})
    register_entry(d->entry);
}

}  // namespace attnbounds
