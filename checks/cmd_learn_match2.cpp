// `attnbounds learn match2` (docs/learning.md): train one position-free attention unit on Match2,
// write it as a model file of class match2-table, and certify it with the Match2 checker that
// `check match2 --model` runs (multiset reduction, every input of [M]^N).
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "checks/cmd_learn.hpp"
#include "checks/cmd_learn_interrupt.hpp"
#include "common.hpp"
#include "core/atomic_file.hpp"
#include "enumerate/parallel.hpp"
#include "json_match.hpp"
#include "learn/torch_plugin.hpp"
#include "learn/match2_learning.hpp"

namespace attnbounds {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTheorem = "§4.3 (Match2)";
constexpr const char* kProvenance =
    "task from the paper (Match2, math §4.3); training settings and the certification of the trained unit ours";

struct LearnMatch2Options {
  CommonOptions common;
  int N = 0, M = 0, k = 0, d = 0, epochs = 0, batch = 0, patience = 0;
  int samples = 0, validation = 0, test = 0;
  bool no_residual = false, no_certify = false;
  double lr = 0;
  std::string out;
};

ParamTable learn_match2_params() {
  ParamDef lr;
  lr.flag = "--lr";
  lr.kind = ParamKind::Real;
  lr.help = "Adam's learning rate, in (0, 10]";
  lr.default_value = "0.05";
  ParamDef out;
  out.flag = "--out";
  out.kind = ParamKind::Text;
  out.help = "output directory (created if its parent exists): model.safetensors, history.csv, result.json";
  out.value_hint = "DIR";
  ParamTable t = with_common(
      {param::N().with_range(Match2LearnConfig::kN).with_default(4), param::M().with_range(Match2LearnConfig::kM).with_default(8),
       param::m().with_range(Match2LearnConfig::kWidth).with_default(4).with_help("query and key width k").with_field("k"),
       param::d().with_range(Match2LearnConfig::kWidth).with_default(4).with_help("value width d"),
       param::flag("--no-residual", "no residual table (out_i = attention output only)"),
       param::integer("--samples", Match2LearnConfig::kSamples, 2000, "training inputs (each has N labelled tokens)"),
       param::integer("--validation", TrainingLimits::kValidation, 500, "held-out inputs for early stopping"),
       param::integer("--test", TrainingLimits::kTest, 2000, "held-out inputs for the reported test error"),
       param::integer("--epochs", TrainingLimits::kEpochs, 300, "maximum epochs"),
       param::integer("--batch", TrainingLimits::kBatch, 64, "minibatch size"),
       param::integer("--patience", TrainingLimits::kPatience, 40, "stop after this many epochs without a lower validation loss"), lr, out,
       param::flag("--no-certify", "skip the certified check of the trained unit")},
      false);
  // Training is reproducible only with one thread, so one is the default here.
  for (auto& row : t)
    if (row.flag == "--threads")
      row = row.with_range(TrainingLimits::kThreads).with_default(1).with_help(
          "Torch intra-op threads and checker threads (1: training is bit-reproducible; more threads may change the trained tables)");
  return t;
}
const ParamTable kLearnMatch2 = learn_match2_params();

json config_json(const Match2LearnConfig& c) {
  return {{"N", c.N}, {"M", c.M}, {"k", c.k}, {"d", c.d}, {"residual", c.residual}, {"psi", "norm"},
          {"samples", c.samples}, {"validation", c.validation}, {"test", c.test}, {"sampler", "balanced"},
          {"seed", c.seed}, {"optimiser", "adam"}, {"lr", c.lr}, {"epochs", c.epochs}, {"batch", c.batch},
          {"patience", c.patience}, {"precision", "float64"}, {"threads", c.threads}};
}

void run_learn_match2(const LearnMatch2Options& o) {
  Stopwatch sw;
  if (!learning_available()) throw UsageError("learn", learning_unavailable_reason());
  if (!(o.lr > 0 && o.lr <= 10)) throw UsageError("--lr", fmt::format("must be in (0, 10] (got {})", o.lr));
  Match2LearnConfig cfg;
  cfg.N = o.N, cfg.M = o.M, cfg.k = o.k, cfg.d = o.d, cfg.residual = !o.no_residual;
  cfg.samples = o.samples, cfg.validation = o.validation, cfg.test = o.test;
  cfg.seed = o.common.seed, cfg.epochs = o.epochs, cfg.batch = o.batch, cfg.patience = o.patience, cfg.lr = o.lr;
  cfg.threads = o.common.threads;
  cfg.validate();
  if (!o.no_certify)
    require_size("learn match2 (certification: M·C(M+N−2, N−1) multiset cases)", query_multiset_cases(cfg.N, cfg.M),
                 200000000ULL, o.common.force);
  const fs::path dir = prepare_learn_out_dir(o.out);
  const std::string model_name = dir.empty() ? "(model in memory)" : (dir / "model.safetensors").string();
  if (writes_outputs()) set_previous_aside(dir, "result.json");  // under --mpi rank 0 alone touches the files

  const Match2LearnResult r =
      train_stoppable([&](const std::atomic<bool>* stop) { return train_match2(cfg, stop); }, o.out, "result.json");
  const Match2Samples test = draw_match2_samples(cfg.N, cfg.M, cfg.test, cfg.seed, 2);
  const Match2TableModel model = trained_match2_model(r.unit);
  const Match2TestError te = match2_test_error(model, test);

  json out = make_result("learn", "match2", kTheorem, kProvenance, config_json(cfg), "float64 training; certification exact");
  out["parameters"] = r.parameters;
  out["epochs_run"] = static_cast<int>(r.history.size());
  out["best_epoch"] = r.best_epoch;
  out["stopped_early"] = r.stopped_early;
  out["train_matched_fraction"] = r.train_matched_fraction;
  out["threshold"] = r.unit.threshold;
  out["test"] = {{"inputs", te.inputs},
                 {"tokens", te.tokens},
                 {"matched_fraction", test.matched_fraction()},
                 {"wrong_tokens", te.wrong_tokens},
                 {"wrong_inputs", te.wrong_inputs},
                 {"token_error", static_cast<double>(te.wrong_tokens) / static_cast<double>(te.tokens)},
                 {"token_accuracy", 1.0 - static_cast<double>(te.wrong_tokens) / static_cast<double>(te.tokens)},
                 {"forward_pass", "double forward pass of the exported tables (sampled, not a proof)"}};
  json history = json::array();
  for (const auto& e : r.history)
    history.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"validation_loss", e.validation_loss}});
  out["history"] = history;
  out["timings"] = {{"train_seconds", r.seconds}};

  std::map<std::string, std::string> meta;
  meta["params"] = config_json(cfg).dump();
  meta["provenance"] =
      "trained by attnbounds learn match2 (LibTorch, Adam): position-free query/key/value/residual tables over token values, "
      "psi = 1[norm(out) < threshold]";
  const std::vector<unsigned char> bytes = trained_match2_file_bytes(r.unit, meta, model_name);
  out["model_file"] = model_name;
  if (!o.no_certify) {
    Stopwatch csw;
    const unsigned threads = resolve_threads(o.common.threads);
    const Match2Certification c = certify_match2_model_bytes(bytes, model_name, threads);
    json cert;
    cert["verdict"] = to_string(c.check.verdict);
    cert["semantics"] = c.check.semantics;
    cert["reduction"] = c.check.reduction;
    cert["threshold"] = to_decimal_string(c.check.threshold_lower, 17, 0);
    add_match_sweep(cert, c.check.sweep, "largest_matched_norm", "smallest_unmatched_norm");
    if (c.witness_wrong_double) cert["worst"]["witness"]["wrong_in_double_forward_pass"] = *c.witness_wrong_double;
    cert["meaning"] = "a theorem about this model file only: every token of every input of [M]^N, exact semantics "
                      "(the check of `check match2 --model`); test errors are sampled";
    out["certification"] = cert;
    out["timings"]["certify_seconds"] = csw.seconds();
  }
  out["seconds"] = sw.seconds();
  out["threads"] = cfg.threads;
  if (!dir.empty()) {
    write_once([&] {
      write_file_atomically(model_name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      std::ostringstream h;
      h << "epoch,train_loss,validation_loss\n";
      for (const auto& e : r.history) h << e.epoch << ',' << fmt::format("{}", e.train_loss) << ',' << fmt::format("{}", e.validation_loss) << '\n';
      write_file_atomically((dir / "history.csv").string(), h.str());
      write_file_atomically((dir / "result.json").string(), out.dump(2) + "\n");
    });
  }
  if (writes_outputs()) remove_previous(dir, "result.json");
  if (!o.common.json) {
    std::cout << fmt::format("learn match2: N = {} M = {} k = {} d = {}{}, {} samples: test token error {:.4g} ({} of {} tokens), "
                             "{} epochs\n",
                             cfg.N, cfg.M, cfg.k, cfg.d, cfg.residual ? " + residual" : "", cfg.samples,
                             out["test"]["token_error"].get<double>(), te.wrong_tokens, te.tokens, r.history.size());
    if (out.contains("certification")) {
      const json& c = out["certification"];
      std::cout << fmt::format("  certified over every input of [{}]^{} ({} multiset cases): {}", cfg.M, cfg.N, c["cases"].dump(),
                               c["verdict"].get<std::string>());
      if (c.contains("worst"))
        std::cout << ", worst margin " << c["worst"]["value"].get<std::string>() << ", witness x = " << c["worst"]["witness"]["x"].dump()
                  << " token " << c["worst"]["witness"]["token"].dump();
      std::cout << '\n';
    }
    if (!dir.empty()) std::cout << "  wrote " << (dir / "result.json").string() << '\n';
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}

const DeclaredEntry reg_learn_match2{
    {"learn", "match2", kTheorem, kProvenance,
     "train one position-free attention unit on Match2; certify it over every input (multiset reduction)", "",
     [](CLI::App& a) {
       auto o = std::make_shared<LearnMatch2Options>();
       auto* sub = a.add_subcommand("match2", "train one attention unit on Match2 and certify it (docs/learning.md)");
       bind_with_common(*sub, kLearnMatch2,
                        {{"--N", &o->N}, {"--M", &o->M}, {"--m", &o->k}, {"--d", &o->d}, {"--no-residual", &o->no_residual},
                         {"--samples", &o->samples}, {"--validation", &o->validation}, {"--test", &o->test},
                         {"--epochs", &o->epochs}, {"--batch", &o->batch}, {"--patience", &o->patience}, {"--lr", &o->lr},
                         {"--out", &o->out}, {"--no-certify", &o->no_certify}},
                        o->common);
       sub->callback([o] { run_learn_match2(*o); });
     },
     &kLearnMatch2}};

}  // namespace

void register_learn_match2_command() { register_entry(reg_learn_match2.entry); }

}  // namespace attnbounds
