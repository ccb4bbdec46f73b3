// `attnbounds lower fc-rank` (Theorem 10, SPEC §5.3) and `attnbounds lower rnn-index`
// (Theorem 11, SPEC §5.4).
#include <fmt/format.h>

#include <memory>

#include "builtin_commands.hpp"
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

void run_fc(const FcRankCli& o) {
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
  json res = fc_rank::run_fc_rank(opts, params);
  emit(res, o.common, status_of(res));
}

struct RnnIndexCli {
  CommonOptions common;
  int N = 9, r = 0, S = 0;
  std::string model = "automaton", recurrence = "shift", automaton = "window", state_format = "fixed:2.0",
              eps = "1/2";
};

void run_rnn(const RnnIndexCli& o) {
  rnn_index::RnnIndexOptions opts;
  opts.N = o.N;
  opts.force = o.common.force;
  opts.threads = resolve_threads(o.common.threads);
  require_range("--N", static_cast<long long>(o.N), 2LL, 31LL);
  try {
    opts.eps = parse_rational(o.eps);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--eps", e.what());
  }
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
  json res = rnn_index::run_rnn_index(opts, *model, params);
  emit(res, o.common, status_of(res));
}

const DeclaredEntry reg_fc{{"lower", "fc-rank", "Theorem 10", "paper statement; construction reconstructed",
                        "first layer of width k < (N-q+1)d': exact kernel vector gives X+, X- with W X+ = W X- and "
                        "qSA error >= 1/q",
                        "--N --q --d --k --seed --weights FILE", [](CLI::App& parent) {
                          auto o = std::make_shared<FcRankCli>();
                          CLI::App* app = parent.add_subcommand("fc-rank", "Theorem 10: FC networks need width >= N d'/2 (SPEC 5.3)");
                          add_common(*app, o->common, false);
                          app->add_option("--N", o->N, "tokens")->capture_default_str();
                          app->add_option("--q", o->q, "sparsity q")->capture_default_str();
                          app->add_option("--d", o->d, "value width d'")->capture_default_str();
                          app->add_option("--k", o->k, "first-layer width of the seeded random W (default: bound - 1)")
                              ->check(CLI::Range(1, 4096));
                          app->add_option("--weights", o->weights, "first layer W from a file (rows of numbers, N*(d'+q+1) columns)");
                          app->callback([o] { run_fc(*o); });
                        }}};

const DeclaredEntry reg_rnn{{"lower", "rnn-index", "Theorem 11", "paper: (N-1)/2 bits; reduction ours (N-1 bits, one-pass models)",
                         "one-way INDEX_{N-1} through qSA: a one-pass model with S < N-1 state bits has a verified "
                         "state collision",
                         "--N --model linear|automaton --r --state-format --recurrence shift|random --S --automaton "
                         "window|random --eps",
                         [](CLI::App& parent) {
                           auto o = std::make_shared<RnnIndexCli>();
                           CLI::App* app = parent.add_subcommand("rnn-index", "Theorem 11: recurrent models need Omega(N) bits (SPEC 5.4)");
                           add_common(*app, o->common, false);
                           app->add_option("--N", o->N, "tokens (n = N-1 data tokens)")->capture_default_str();
                           app->add_option("--model", o->model, "linear | automaton")->capture_default_str();
                           app->add_option("--r", o->r, "linear: state dimension (default N-1)")->check(CLI::Range(1, 64));
                           app->add_option("--state-format", o->state_format, "linear: format of the state entries")
                               ->capture_default_str();
                           app->add_option("--recurrence", o->recurrence, "linear: shift | random")->capture_default_str();
                           app->add_option("--S", o->S, "automaton: state bits (default N-1)")->check(CLI::Range(1, 24));
                           app->add_option("--automaton", o->automaton, "automaton: window | random")->capture_default_str();
                           app->add_option("--eps", o->eps, "claimed accuracy, in (0, 1)")->capture_default_str();
                           app->callback([o] { run_rnn(*o); });
                         }}};

}  // namespace

void register_lower_fc_rnn_commands() {
  for (const DeclaredEntry* d : {&reg_fc, &reg_rnn})
    register_entry(d->entry);
}

}  // namespace attnbounds
