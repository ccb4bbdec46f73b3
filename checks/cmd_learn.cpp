// `attnbounds learn qsa` and `learn qsa-sweep` (docs/learning.md): train attention units, fully
// connected networks and LSTMs on qSA, measure test error and sample complexity, and certify every
// trained attention unit with the exhaustive qSA checker over every input.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "checks/cmd_learn.hpp"
#include "checks/cmd_learn_interrupt.hpp"
#include "common.hpp"
#include "core/atomic_file.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "json_qsa.hpp"
#include "min_p.hpp"
#include "learn/torch_plugin.hpp"
#include "learn/qsa_learning.hpp"
#include "learn/trained_certification.hpp"
#include "reproduce/plots.hpp"
#include "reproduce/subprocess.hpp"

namespace attnbounds {

namespace {

namespace fs = std::filesystem;

constexpr const char* kLearnProvenance =
    "experiment after the paper's Appendix D (settings ours); certification of each trained unit ours";

struct LearnOptions {
  CommonOptions common;
  std::string family = "attention";
  std::string families = "attention,fc,lstm";   // sweep
  std::string N = "8";                          // sweep: a list
  std::string samples = "1000";                 // sweep: a list
  int seeds = 1;                                // sweep
  double target = 0.1;                          // sweep: test mean error to reach
  int q = 2, d = 2, m = 0;
  bool no_scale = false;
  int width = 256, depth = 2, hidden = 64;
  std::string inputs = "ball";
  long long validation = 500, test = 1000;
  int validation_int = 500, test_int = 1000;  // the table's integer targets (ranges fit in int)
  int N_one = 8, samples_one = 1000;          // learn qsa: one N, one training-set size
  int epochs = 200, batch = 64, patience = 20;
  double lr = 0.01;
  std::string precision;  // float32 | float64; default per family
  std::string out;
  std::string eps = "0.1";
  std::string model_dtype = "F64";
  bool no_certify = false, no_min_p = false;
  int p_min = 2, p_max = 24;
  std::string gnuplot = "gnuplot";
};

void require_learning() {
  if (!learning_available())
    throw UsageError("learn", learning_unavailable_reason());
}

QsaLearnConfig base_config(const LearnOptions& o, LearnFamily family, int N, long long samples, std::uint64_t seed) {
  QsaLearnConfig c;
  c.family = family;
  c.N = N, c.q = o.q, c.d = o.d, c.k = o.m;
  c.learn_scale = !o.no_scale;
  c.width = o.width, c.depth = o.depth, c.hidden = o.hidden;
  if (o.inputs != "ball" && o.inputs != "sphere")
    throw UsageError("--inputs", "must be ball or sphere (got '" + o.inputs + "')");
  c.sphere = o.inputs == "sphere";
  c.samples = samples;
  c.validation = o.validation, c.test = o.test;
  c.seed = seed;
  c.epochs = o.epochs, c.batch = o.batch, c.lr = o.lr, c.patience = o.patience;
  c.threads = o.common.threads == 0 ? static_cast<int>(resolve_threads(0)) : o.common.threads;
  if (o.precision.empty()) c.float64 = family == LearnFamily::Attention;
  else if (o.precision == "float64") c.float64 = true;
  else if (o.precision == "float32") c.float64 = false;
  else throw UsageError("--precision", "must be float32 or float64 (got '" + o.precision + "')");
  return c;
}

DType model_dtype_of(const std::string& s) {
  if (s == "F64") return DType::F64;
  if (s == "F32") return DType::F32;
  throw UsageError("--model-dtype", "must be F64 or F32 (got '" + s + "')");
}

Rational eps_of(const std::string& text) {
  Rational eps = parse_rational_param("--eps", text);
  if (!(eps > 0 && eps < 1)) throw UsageError("--eps", "must be in (0, 1) (got " + text + ")");
  return eps;
}


json config_json(const QsaLearnConfig& c) {
  json j = {{"family", learn_family_name(c.family)}, {"N", c.N}, {"q", c.q}, {"d", c.d}};
  if (c.family == LearnFamily::Attention) {
    j["m"] = c.key_width();
    j["learn_scale"] = c.learn_scale;
  } else if (c.family == LearnFamily::FullyConnected) {
    j["width"] = c.width;
    j["depth"] = c.depth;
  } else {
    j["hidden"] = c.hidden;
    j["direction"] = "bidirectional";
  }
  j["inputs"] = c.sphere ? "sphere" : "ball";
  j["samples"] = c.samples;
  j["validation"] = c.validation;
  j["test"] = c.test;
  j["seed"] = c.seed;
  j["optimiser"] = "adam";
  j["lr"] = c.lr;
  j["epochs"] = c.epochs;
  j["batch"] = c.batch;
  j["patience"] = c.patience;
  j["precision"] = c.float64 ? "float64" : "float32";
  j["threads"] = c.threads;
  return j;
}

std::string subset_text(const std::vector<int>& S) {
  std::string s = "{";
  for (std::size_t k = 0; k < S.size(); ++k) s += (k ? "," : "") + std::to_string(S[k] + 1);
  return s + "}";
}

json min_p_json(const MinPrecisionResult& r) {
  json j = {{"verdict", to_string(r.verdict)}};
  j["p_star"] = r.p_star ? json(*r.p_star) : json(nullptr);
  j["islands"] = r.islands;
  j["table"] = min_precision_table_json(r);
  return j;
}

// The certification fields of one trained unit; `row` gets the flat numbers for tables.
json certification_json(const TrainedCertification& c, int d, const Rational& eps, double test_max, json& row) {
  json j;
  write_qsa_check(j, c.check, d, eps);
  j["verdict"] = to_string(c.check.verdict);
  j["semantics"] = "exact";
  const bool have_worst = !c.check.witness_signs.empty();
  row["verdict"] = to_string(c.check.verdict);
  if (have_worst) {
    const double lower = nearest_double(c.check.worst_lower), upper = nearest_double(c.check.worst_upper);
    j["certified_worst_lower"] = to_decimal_string(c.check.worst_lower, 17, -1);
    j["certified_worst_upper"] = to_decimal_string(c.check.worst_upper, 17, +1);
    row["certified_worst_lower"] = lower;
    row["certified_worst_upper"] = upper;
    // A sampled maximum can never exceed the supremum over every input.
    j["test_max_within_certified"] = Rational(test_max) <= c.check.worst_upper;
    row["witness_S"] = subset_text(c.check.witness_S);
  }
  if (c.witness_error_double) {
    j["witness_error_double_forward"] = *c.witness_error_double;
    row["witness_error_double"] = *c.witness_error_double;
  }
  if (c.min_p_embed) {
    j["min_p_embed"] = min_p_json(*c.min_p_embed);
    row["p_star_embed"] = c.min_p_embed->p_star ? json(*c.min_p_embed->p_star) : json(nullptr);
  }
  if (c.min_p_arith) {
    j["min_p_arith"] = min_p_json(*c.min_p_arith);
    row["p_star_arith"] = c.min_p_arith->p_star ? json(*c.min_p_arith->p_star) : json(nullptr);
  }
  return j;
}

std::string history_csv(const QsaLearnResult& r) {
  std::ostringstream s;
  s << "epoch,train_loss,validation_loss,off_support_mass\n";
  for (const auto& e : r.history)
    s << e.epoch << ',' << fmt::format("{}", e.train_loss) << ',' << fmt::format("{}", e.validation_loss) << ','
      << (e.off_support_mass >= 0 ? fmt::format("{}", e.off_support_mass) : std::string()) << '\n';
  return s.str();
}

// Long format: token, row (learned | target), position j, weight.
std::string pattern_csv(const QsaLearnResult& r) {
  std::ostringstream s;
  s << "token,subset,row,j,weight\n";
  const int q = r.config.q;
  for (const auto& p : r.pattern)
    for (int j = 0; j < r.config.N; ++j) {
      const bool in = std::find(p.subset.begin(), p.subset.end(), j) != p.subset.end();
      const std::string S = "\"" + subset_text(p.subset) + "\"";
      s << p.token + 1 << ',' << S << ",learned," << j + 1 << ',' << fmt::format("{}", p.weights[j]) << '\n';
      s << p.token + 1 << ',' << S << ",target," << j + 1 << ',' << fmt::format("{}", in ? 1.0 / q : 0.0) << '\n';
    }
  return s.str();
}

// A gnuplot heatmap: one image row per (token, learned | target), columns = positions.
std::string pattern_gnuplot(const QsaLearnResult& r, const std::string& stem) {
  std::ostringstream s;
  s << "# attention of a trained unit (learned) beside the target 1/q on y_i, first test input\n";
  s << "$rows << EOD\n";
  const int q = r.config.q;
  std::vector<std::string> labels;
  for (const auto& p : r.pattern) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int j = 0; j < r.config.N; ++j) {
        const bool in = std::find(p.subset.begin(), p.subset.end(), j) != p.subset.end();
        s << (j ? " " : "") << fmt::format("{:.6g}", kind == 0 ? p.weights[j] : (in ? 1.0 / q : 0.0));
      }
      s << '\n';
      labels.push_back(fmt::format("token {} {} {}", p.token + 1, subset_text(p.subset), kind == 0 ? "learned" : "target"));
    }
  }
  s << "EOD\n";
  s << "set xlabel 'position j'\nset cblabel 'attention weight'\nset cbrange [0:1]\nset yrange ["
    << labels.size() - 0.5 << ":-0.5]\nset xrange [0.5:" << r.config.N + 0.5 << "]\n";
  s << "set ytics (";
  for (std::size_t k = 0; k < labels.size(); ++k) s << (k ? ", " : "") << gnuplot_quote(labels[k]) << ' ' << k;
  s << ")\nset palette gray negative\nset title "
    << gnuplot_quote(fmt::format("attention, N = {}, q = {}, {} samples", r.config.N, q, r.config.samples)) << '\n';
  for (const char* term : {"pdfcairo size 6in,3in", "pngcairo size 1000,500"}) {
    const std::string ext = std::string(term).rfind("pdf", 0) == 0 ? "pdf" : "png";
    s << "set terminal " << term << " noenhanced\nset output " << gnuplot_quote(stem + "." + ext) << '\n';
    s << "plot $rows matrix using ($1+1):2:3 with image notitle\nset output\n";
  }
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) { write_file_atomically(path.string(), text); }

void render_gnuplot(const fs::path& dir, const std::string& script_name, const std::string& gnuplot, std::vector<std::string>& warnings) {
  if (gnuplot.empty()) return;
  auto program = find_program(gnuplot);
  if (!program) {
    warnings.push_back("gnuplot not found ('" + gnuplot + "'): " + script_name + " not rendered");
    return;
  }
  auto r = run_process(*program, {script_name}, 120, dir);
  if (!r.started || r.exit_status != 0) warnings.push_back("gnuplot failed on " + script_name);
}

// Trains one model and certifies it (attention).  `model_path` empty: the file's bytes are
// certified in memory and not written.
struct TrainedRun {
  QsaLearnResult result;
  json result_json, row;
  std::vector<unsigned char> model_bytes;
};

TrainedRun train_and_certify(const LearnOptions& o, const QsaLearnConfig& cfg, const std::string& model_name,
                             const char* marker) {
  TrainedRun t;
  t.result = train_stoppable([&](const std::atomic<bool>* stop) { return train_qsa(cfg, stop); }, o.out, marker);
  const QsaLearnResult& r = t.result;
  json j;
  j["config"] = config_json(cfg);
  j["parameters"] = r.parameters;
  j["epochs_run"] = static_cast<int>(r.history.size());
  j["best_epoch"] = r.best_epoch;
  j["stopped_early"] = r.stopped_early;
  j["final_train_loss"] = r.history.empty() ? 0.0 : r.history.back().train_loss;
  j["test_loss"] = r.test_loss;
  j["test_mean_error"] = r.test_mean_error;
  j["test_max_error"] = r.test_max_error;
  j["timings"] = {{"train_seconds", r.seconds}};
  t.row = {{"family", learn_family_name(cfg.family)}, {"N", cfg.N}, {"q", cfg.q}, {"samples", cfg.samples},
           {"seed", cfg.seed}, {"test_mean_error", r.test_mean_error}, {"test_max_error", r.test_max_error},
           {"epochs_run", static_cast<int>(r.history.size())}, {"best_epoch", r.best_epoch},
           {"train_seconds", r.seconds}};
  if (r.attention) {
    const auto& a = *r.attention;
    j["learned_scale"] = a.scale;
    if (!r.history.empty()) {
      j["final_off_support_mass"] = r.history[static_cast<std::size_t>(r.best_epoch > 0 ? r.best_epoch - 1 : 0)].off_support_mass;
      t.row["off_support_mass"] = j["final_off_support_mass"];
    }
    std::map<std::string, std::string> meta;
    meta["construction"] = "trained";
    meta["params"] = config_json(cfg).dump();
    meta["provenance"] = "trained by attnbounds learn qsa (LibTorch, Adam); query = scale * sum of W_Q columns over y_i, key = W_K column j, V = psi = I";
    t.model_bytes = trained_model_file_bytes(a, model_dtype_of(o.model_dtype), meta, model_name);
    j["model_file"] = model_name;
    j["model_dtype"] = o.model_dtype;
    if (!o.no_certify) {
      CertifyOptions co;
      co.eps = eps_of(o.eps);
      co.min_p = !o.no_min_p;
      co.p_min = o.p_min;
      co.p_max = o.p_max;
      co.threads = resolve_threads(o.common.threads);
      Stopwatch sw;
      const TrainedCertification c = certify_trained_model(t.model_bytes, model_name, co);
      j["certification"] = certification_json(c, cfg.d, co.eps, r.test_max_error, t.row);
      j["timings"]["certify_seconds"] = sw.seconds();
      j["certification"]["meaning"] =
          "a theorem about this model file only: its worst case over every input z in the unit ball and every y, "
          "exact semantics; test errors are sampled";
    }
  }
  t.result_json = j;
  return t;
}

void validate_common(const LearnOptions& o) {
  require_learning();
  model_dtype_of(o.model_dtype);
  eps_of(o.eps);
  validate_precision(o.p_min, "--p-min");
  validate_precision(o.p_max, "--p-max");
  if (o.p_max < o.p_min) throw UsageError("--p-max", "must be >= --p-min");
}

void run_learn_qsa(const LearnOptions& o) {
  Stopwatch sw;
  const LearnFamily family = learn_family_of(o.family);
  const int N = parse_int_list("--N", o.N, 2, 1024, 1).at(0);
  const std::vector<int> sample_list = parse_int_list("--samples", o.samples, 1, 10000000, 1);
  if (sample_list.size() != 1) throw UsageError("--samples", "learn qsa takes one training-set size (got '" + o.samples + "'); see learn qsa-sweep");
  const long long samples = sample_list[0];
  QsaLearnConfig cfg = base_config(o, family, N, samples, o.common.seed);
  cfg.validate();
  validate_common(o);
  if (family == LearnFamily::Attention && !o.no_certify)
    require_size("learn qsa (certification: subsets x tokens)", binomial_saturating(N, o.q) * N, 400000000ULL, o.common.force);
  const fs::path dir = prepare_learn_out_dir(o.out);
  set_previous_aside(dir, "result.json");
  const std::string model_name = dir.empty() ? "(model in memory)" : (dir / "model.safetensors").string();
  TrainedRun t = train_and_certify(o, cfg, model_name, "result.json");
  json out = make_result("learn", "qsa", "Appendix D", kLearnProvenance, config_json(cfg),
                         cfg.float64 ? "float64 training" : "float32 training");
  for (auto it = t.result_json.begin(); it != t.result_json.end(); ++it) out[it.key()] = it.value();
  json history = json::array();
  for (const auto& e : t.result.history) {
    json h = {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"validation_loss", e.validation_loss}};
    if (e.off_support_mass >= 0) h["off_support_mass"] = e.off_support_mass;
    history.push_back(h);
  }
  out["history"] = history;
  json pattern = json::array();
  for (const auto& p : t.result.pattern) {
    for (int j = 0; j < N; ++j) {
      const bool in = std::find(p.subset.begin(), p.subset.end(), j) != p.subset.end();
      pattern.push_back({{"token", p.token + 1}, {"j", j + 1}, {"learned", p.weights[j]}, {"target", in ? 1.0 / o.q : 0.0}});
    }
  }
  if (!pattern.empty()) out["attention_pattern"] = pattern;
  std::vector<std::string> warnings;
  if (!dir.empty()) {
    // Everything but result.json first: result.json, written last, marks a complete run.
    if (!t.model_bytes.empty())
      write_file_atomically(model_name, std::string_view(reinterpret_cast<const char*>(t.model_bytes.data()), t.model_bytes.size()));
    write_text(dir / "history.csv", history_csv(t.result));
    if (!t.result.pattern.empty()) {
      write_text(dir / "attention-pattern.csv", pattern_csv(t.result));
      write_text(dir / "attention-pattern.gp", pattern_gnuplot(t.result, "attention-pattern"));
      render_gnuplot(dir, "attention-pattern.gp", o.gnuplot, warnings);
      Plot off;
      off.id = "off-support-mass";
      off.title = fmt::format("attention mass off y_i during training (N = {}, q = {})", N, o.q);
      off.xlabel = "epoch";
      off.ylabel = "mean attention mass off y_i";
      PlotSeries s;
      s.label = "validation tokens";
      for (const auto& e : t.result.history) s.points.emplace_back(e.epoch, e.off_support_mass);
      off.series.push_back(s);
      PlotFiles pf = write_plot_files(off, dir, o.gnuplot);
      if (!pf.warning.empty()) warnings.push_back(pf.warning);
    }
  }
  if (!warnings.empty()) out["warnings"] = warnings;
  out["seconds"] = sw.seconds();
  out["threads"] = cfg.threads;
  const json* cert = out.contains("certification") ? &out["certification"] : nullptr;
  if (!dir.empty()) write_text(dir / "result.json", out.dump(2) + "\n");
  remove_previous(dir, "result.json");
  if (!o.common.json) {
    std::cout << fmt::format("learn qsa: {} N = {} q = {} d' = {}, {} samples: test error mean {:.4g}, max {:.4g} ({} epochs)\n",
                             o.family, N, o.q, o.d, samples, t.result.test_mean_error, t.result.test_max_error,
                             t.result.history.size());
    if (cert && cert->contains("certified_worst_upper"))
      std::cout << fmt::format("  certified worst case over every input: [{}, {}] ({} at eps = {})\n",
                               (*cert)["certified_worst_lower"].get<std::string>(),
                               (*cert)["certified_worst_upper"].get<std::string>(), (*cert)["verdict"].get<std::string>(), o.eps);
    if (!dir.empty()) std::cout << "  wrote " << (dir / "result.json").string() << '\n';
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}


std::string csv_value(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>().find_first_of(",\"") == std::string::npos ? v.get<std::string>()
                                                                                              : "\"" + v.get<std::string>() + "\"";
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

std::string rows_csv(const json& rows, const std::vector<std::string>& cols) {
  std::string s;
  for (std::size_t k = 0; k < cols.size(); ++k) s += (k ? "," : "") + cols[k];
  s += '\n';
  for (const auto& r : rows) {
    for (std::size_t k = 0; k < cols.size(); ++k) s += (k ? "," : "") + (r.contains(cols[k]) ? csv_value(r[cols[k]]) : std::string());
    s += '\n';
  }
  return s;
}

void run_learn_sweep(const LearnOptions& o) {
  Stopwatch sw;
  validate_common(o);
  std::vector<LearnFamily> families;
  {
    std::string rest = o.families;
    std::size_t start = 0;
    while (true) {
      std::size_t comma = rest.find(',', start);
      std::string name = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      try {
        families.push_back(learn_family_of(name));
      } catch (const ConfigError& e) {
        throw UsageError("--families", e.what());
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const std::vector<int> Ns = parse_int_list("--N", o.N, 2, 1024);
  const std::vector<int> sample_sizes = parse_int_list("--samples", o.samples, 1, 10000000);
  require_range("--seeds", o.seeds, 1, 100);
  require_range("--target", o.target, 0.0, 10.0, true, false);
  for (LearnFamily f : families)
    for (int N : Ns) base_config(o, f, N, *std::max_element(sample_sizes.begin(), sample_sizes.end()), o.common.seed).validate();
  const fs::path dir = prepare_learn_out_dir(o.out);
  set_previous_aside(dir, "sweep.json");
  if (!dir.empty()) fs::create_directory(dir / "models");

  json runs = json::array(), cert_rows = json::array();
  json first_attention_history;
  for (LearnFamily f : families)
    for (int N : Ns)
      for (int k = 0; k < o.seeds; ++k)
        for (int samples : sample_sizes) {
          const std::uint64_t seed = o.common.seed + k;
          QsaLearnConfig cfg = base_config(o, f, N, samples, seed);
          const std::string name = fmt::format("attention-N{}-q{}-samples{}-seed{}.safetensors", N, o.q, samples, seed);
          const std::string model_name = dir.empty() ? name : (dir / "models" / name).string();
          TrainedRun t = train_and_certify(o, cfg, model_name, "sweep.json");
          if (!dir.empty() && !t.model_bytes.empty())
            write_file_atomically(model_name, std::string_view(reinterpret_cast<const char*>(t.model_bytes.data()), t.model_bytes.size()));
          if (f == LearnFamily::Attention && first_attention_history.is_null()) {
            first_attention_history = json::array();
            for (const auto& e : t.result.history) first_attention_history.push_back({{"epoch", e.epoch}, {"off_support_mass", e.off_support_mass}});
          }
          runs.push_back(t.row);
          if (t.row.contains("verdict")) cert_rows.push_back(t.row);
        }

  // Samples needed to reach the target mean test error: the smallest grid size that reaches it.
  json needed = json::array(), exponents = json::array();
  for (LearnFamily f : families) {
    std::vector<std::optional<double>> per_seed_slopes;
    std::vector<double> slopes;
    std::map<int, std::vector<double>> by_N;
    for (int k = 0; k < o.seeds; ++k) {
      std::vector<std::pair<double, double>> pts;
      for (int N : Ns) {
        std::optional<int> reached;
        for (const auto& r : runs)
          if (r["family"] == learn_family_name(f) && r["N"] == N && r["seed"] == o.common.seed + k &&
              r["test_mean_error"].get<double>() <= o.target && (!reached || r["samples"].get<int>() < *reached))
            reached = r["samples"].get<int>();
        needed.push_back({{"family", learn_family_name(f)}, {"N", N}, {"seed", o.common.seed + k},
                          {"samples_needed", reached ? json(*reached) : json(nullptr)}});
        if (reached) {
          pts.emplace_back(N, *reached);
          by_N[N].push_back(*reached);
        }
      }
      if (auto s = loglog_slope(pts)) slopes.push_back(*s);
    }
    std::vector<std::pair<double, double>> median_pts;
    for (auto& [N, v] : by_N) median_pts.emplace_back(N, *median(v));
    json e = {{"family", learn_family_name(f)}, {"seeds_with_fit", slopes.size()}};
    std::sort(slopes.begin(), slopes.end());
    if (auto s = loglog_slope(median_pts)) e["exponent_of_median"] = *s;
    if (!slopes.empty()) {
      e["exponent_seed_min"] = slopes.front();
      e["exponent_seed_median"] = *median(slopes);
      e["exponent_seed_max"] = slopes.back();
    }
    e["N_reached"] = static_cast<int>(median_pts.size());
    exponents.push_back(e);
  }

  // The grid's lists have their own names: params.N is a single integer in every result.
  json params = {{"families", o.families}, {"N_values", Ns}, {"q", o.q}, {"d", o.d}, {"samples_values", sample_sizes},
                 {"seeds", o.seeds}, {"first_seed", o.common.seed}, {"target", o.target}, {"eps", o.eps},
                 {"precision", o.precision.empty() ? "float64 attention, float32 fc and lstm" : o.precision}};
  json out = make_result("learn", "qsa-sweep", "Appendix D", kLearnProvenance, params,
                         "training in float64 (attention) / float32 (fc, lstm) unless --precision");
  out["runs"] = runs;
  out["samples_needed"] = needed;
  out["exponents"] = exponents;
  out["exponent_interval"] = "per-seed least-squares slopes of log(samples needed) on log N: min, median, max over seeds "
                             "(N where the target was not reached are left out)";
  out["certified"] = cert_rows;
  if (!first_attention_history.is_null()) out["attention_off_support_history"] = first_attention_history;
  std::vector<std::string> warnings;
  if (!dir.empty()) {
    write_text(dir / "runs.csv", rows_csv(runs, {"family", "N", "q", "samples", "seed", "test_mean_error", "test_max_error",
                                                 "epochs_run", "best_epoch", "train_seconds", "off_support_mass"}));
    write_text(dir / "samples-needed.csv", rows_csv(needed, {"family", "N", "seed", "samples_needed"}));
    write_text(dir / "exponents.csv", rows_csv(exponents, {"family", "seeds_with_fit", "exponent_seed_min", "exponent_seed_median",
                                                           "exponent_seed_max", "exponent_of_median", "N_reached"}));
    write_text(dir / "certified.csv",
               rows_csv(cert_rows, {"N", "q", "samples", "seed", "test_mean_error", "test_max_error", "certified_worst_lower",
                                    "certified_worst_upper", "verdict", "witness_S", "witness_error_double", "p_star_embed",
                                    "p_star_arith"}));
    // Test error against samples: one series per (family, N), mean over seeds.
    Plot err;
    err.id = "learn-test-error";
    err.title = fmt::format("qSA test error against training samples (q = {}, d' = {})", o.q, o.d);
    err.xlabel = "training samples";
    err.ylabel = "mean test error";
    err.logx = err.logy = true;
    for (LearnFamily f : families)
      for (int N : Ns) {
        PlotSeries s;
        s.label = fmt::format("{} N = {}", learn_family_name(f), N);
        for (int samples : sample_sizes) {
          double sum = 0;
          int n = 0;
          for (const auto& r : runs)
            if (r["family"] == learn_family_name(f) && r["N"] == N && r["samples"] == samples) sum += r["test_mean_error"].get<double>(), ++n;
          if (n) s.points.emplace_back(samples, sum / n);
        }
        err.series.push_back(s);
      }
    PlotFiles pf = write_plot_files(err, dir, o.gnuplot);
    if (!pf.warning.empty()) warnings.push_back(pf.warning);
    Plot need;
    need.id = "learn-samples-needed";
    need.title = fmt::format("samples needed for mean test error <= {} (median over seeds)", o.target);
    need.xlabel = "N";
    need.ylabel = "samples needed";
    need.logx = need.logy = true;
    for (LearnFamily f : families) {
      PlotSeries s;
      s.label = learn_family_name(f);
      std::map<int, std::vector<double>> v;
      for (const auto& r : needed)
        if (r["family"] == learn_family_name(f) && !r["samples_needed"].is_null())
          v[r["N"].get<int>()].push_back(r["samples_needed"].get<double>());
      for (auto& [N, xs] : v) s.points.emplace_back(N, *median(xs));
      need.series.push_back(s);
    }
    pf = write_plot_files(need, dir, o.gnuplot);
    if (!pf.warning.empty()) warnings.push_back(pf.warning);
    if (!first_attention_history.is_null()) {
      Plot off;
      off.id = "learn-off-support-mass";
      off.title = "attention mass off y_i during training (first attention run)";
      off.xlabel = "epoch";
      off.ylabel = "mean attention mass off y_i";
      PlotSeries s;
      s.label = "validation tokens";
      for (const auto& e : first_attention_history) s.points.emplace_back(e["epoch"].get<double>(), e["off_support_mass"].get<double>());
      off.series.push_back(s);
      pf = write_plot_files(off, dir, o.gnuplot);
      if (!pf.warning.empty()) warnings.push_back(pf.warning);
    }
  }
  if (!warnings.empty()) out["warnings"] = warnings;
  out["seconds"] = sw.seconds();
  if (!dir.empty()) write_text(dir / "sweep.json", out.dump(2) + "\n");
  remove_previous(dir, "sweep.json");
  if (!o.common.json) {
    for (const auto& e : exponents)
      std::cout << fmt::format("learn qsa-sweep: {}: exponent of samples needed vs N: {}\n", e["family"].get<std::string>(),
                               e.contains("exponent_seed_median")
                                   ? fmt::format("median {:.3g} over seeds [{:.3g}, {:.3g}]", e["exponent_seed_median"].get<double>(),
                                                 e["exponent_seed_min"].get<double>(), e["exponent_seed_max"].get<double>())
                                   : std::string("no fit (target reached at fewer than two N)"));
    if (!dir.empty()) std::cout << "  wrote " << (dir / "sweep.json").string() << '\n';
    set_exit_status(0);
    return;
  }
  emit(out, o.common, 0);
}

// The parameter table of learn qsa (sweep = false) or learn qsa-sweep: the ranges are those
// QsaLearnConfig::validate enforces, so a bad value is refused by the flag before any training.
ParamTable learn_params(bool sweep) {
  using Q = QsaLearnConfig;
  using T = TrainingLimits;
  auto real_row = [](const char* flag, const char* def, const char* help, const char* range) {
    ParamDef d;
    d.flag = flag;
    d.kind = ParamKind::Real;
    d.help = help;
    d.default_value = def;
    d.range_note = range;
    return d;
  };
  ParamTable t;
  if (sweep) {
    ParamDef families;
    families.flag = "--families";
    families.kind = ParamKind::TextList;
    families.help = "comma-separated model families: attention, fc, lstm";
    t.push_back(families.with_default("attention,fc,lstm"));
    ParamDef N;
    N.flag = "--N";
    N.kind = ParamKind::IntList;
    N.help = "comma-separated numbers of tokens";
    N.value_hint = "list";
    t.push_back(N.with_range(Q::kN).with_default("8,16"));
    ParamDef samples;
    samples.flag = "--samples";
    samples.kind = ParamKind::IntList;
    samples.help = "comma-separated training-set sizes";
    samples.value_hint = "list";
    t.push_back(samples.with_range(Q::kSamples).with_default("100,300,1000"));
    t.push_back(param::integer("--seeds", {1, 100}, 1, "seeds per point (seed, seed+1, ...)"));
    t.push_back(real_row("--target", "0.1", "mean test error that counts as learned, in (0, 10]", "(0, 10]"));
  } else {
    ParamDef family;
    family.flag = "--family";
    family.kind = ParamKind::Choice;
    family.help = "model family";
    t.push_back(family.with_choices({"attention", "fc", "lstm"}, "attention"));
    t.push_back(param::integer("--N", Q::kN, 8, "number of tokens"));
    t.push_back(param::integer("--samples", Q::kSamples, 1000, "training samples"));
  }
  t.push_back(param::integer("--q", {1, Q::kN.hi}, 2, "subset size q, at most N"));
  t.push_back(param::integer("--d", Q::kD, 2, "value width d'"));
  t.push_back(param::integer("--m", Q::kK, 0, "attention: width of queries and keys (0 = N)"));
  t.push_back(param::flag("--no-scale", "attention: no learned scalar on the query"));
  t.push_back(param::integer("--width", Q::kWidth, 256, "fc: hidden width"));
  t.push_back(param::integer("--depth", Q::kDepth, 2, "fc: hidden layers"));
  t.push_back(param::integer("--hidden", Q::kHidden, 64, "lstm: hidden size per direction"));
  ParamDef inputs;
  inputs.flag = "--inputs";
  inputs.kind = ParamKind::Choice;
  inputs.help = "z_i uniform in the unit ball or on the unit sphere";
  t.push_back(inputs.with_choices({"ball", "sphere"}, "ball"));
  t.push_back(param::integer("--validation", T::kValidation, 500, "validation samples (early stopping)"));
  t.push_back(param::integer("--test", T::kTest, 1000, "held-out test samples"));
  t.push_back(param::integer("--epochs", T::kEpochs, 200, "maximum epochs"));
  t.push_back(param::integer("--batch", T::kBatch, 64, "minibatch size"));
  t.push_back(real_row("--lr", "0.01", "Adam learning rate, in (0, 10]", "(0, 10]"));
  t.push_back(param::integer("--patience", T::kPatience, 20, "stop after this many epochs without a better validation loss"));
  ParamDef precision;
  precision.flag = "--precision";
  precision.kind = ParamKind::Choice;
  precision.help = "training precision";
  t.push_back(precision.with_choices({"float32", "float64"}, "").with_computed_default("float64 for attention, float32 otherwise"));
  t.push_back(param::file("--out", "output directory (created if its parent exists)"));
  t.push_back(param::eps().with_help("accuracy the certified check of a trained unit is run at").with_default("0.1"));
  ParamDef dtype;
  dtype.flag = "--model-dtype";
  dtype.kind = ParamKind::Choice;
  dtype.help = "dtype of the written model file";
  t.push_back(dtype.with_choices({"F64", "F32"}, "F64"));
  t.push_back(param::flag("--no-certify", "skip the certified check of trained attention units"));
  t.push_back(param::flag("--no-min-p", "skip min-p (embed and arith, float:P) of trained attention units"));
  t.push_back(param::p_min().with_help("min-p of a trained unit: smallest P"));
  t.push_back(param::p_max().with_default(24).at_least("--p-min").with_help("min-p of a trained unit: largest P"));
  ParamDef gnuplot;
  gnuplot.flag = "--gnuplot";
  gnuplot.kind = ParamKind::Text;
  gnuplot.help = "gnuplot program for the figures (empty: do not render)";
  t.push_back(gnuplot.with_default("gnuplot"));
  // Training is reproducible bit for bit only on one thread (LibTorch's reductions depend on the
  // thread count), so learn defaults to one and says so.
  ParamTable common = common_params(false);
  for (auto& d : common)
    if (d.flag == "--threads")
      d = d.with_default(1).with_help("worker threads of training and certification (0 = every CPU the process may use); "
                                      "training is bit-for-bit reproducible with one thread only");
  t.insert(t.end(), common.begin(), common.end());
  return t;
}
const ParamTable kLearnQsa = learn_params(false), kLearnSweep = learn_params(true);

std::vector<ParamBinding> training_bindings(LearnOptions& o) {
  return {{"--q", &o.q}, {"--d", &o.d}, {"--m", &o.m}, {"--no-scale", &o.no_scale}, {"--width", &o.width},
          {"--depth", &o.depth}, {"--hidden", &o.hidden}, {"--inputs", &o.inputs}, {"--validation", &o.validation_int},
          {"--test", &o.test_int}, {"--epochs", &o.epochs}, {"--batch", &o.batch}, {"--lr", &o.lr},
          {"--patience", &o.patience}, {"--precision", &o.precision}, {"--out", &o.out}, {"--eps", &o.eps},
          {"--model-dtype", &o.model_dtype}, {"--no-certify", &o.no_certify}, {"--no-min-p", &o.no_min_p},
          {"--p-min", &o.p_min}, {"--p-max", &o.p_max}, {"--gnuplot", &o.gnuplot}};
}

std::vector<ParamBinding> with_common_bindings(std::vector<ParamBinding> b, LearnOptions& o) {
  for (auto& c : common_bindings(o.common, false)) b.push_back(c);
  return b;
}

const DeclaredEntry reg_learn_qsa{{"learn", "qsa", "Appendix D", kLearnProvenance,
                                   "train one attention unit, FC network or LSTM on qSA; certify a trained unit", "",
                                   [](CLI::App& a) {
                                     auto o = std::make_shared<LearnOptions>();
                                     auto* sub = a.add_subcommand("qsa", "train one model on qSA (docs/learning.md)");
                                     auto b = training_bindings(*o);
                                     b.push_back({"--family", &o->family});
                                     b.push_back({"--N", &o->N_one});
                                     b.push_back({"--samples", &o->samples_one});
                                     bind_params(*sub, kLearnQsa, with_common_bindings(b, *o));
                                     sub->callback([o] {
                                       o->N = std::to_string(o->N_one);
                                       o->samples = std::to_string(o->samples_one);
                                       o->validation = o->validation_int;
                                       o->test = o->test_int;
                                       run_learn_qsa(*o);
                                     });
                                   }, &kLearnQsa}};

const DeclaredEntry reg_learn_sweep{{"learn", "qsa-sweep", "Appendix D", kLearnProvenance,
                                     "samples x N x seeds grid per family: test error, samples needed, log-log exponent", "",
                                     [](CLI::App& a) {
                                       auto o = std::make_shared<LearnOptions>();
                                       auto* sub = a.add_subcommand("qsa-sweep", "sample-complexity sweep (docs/learning.md)");
                                       auto b = training_bindings(*o);
                                       b.push_back({"--families", &o->families});
                                       b.push_back({"--N", &o->N});
                                       b.push_back({"--samples", &o->samples});
                                       b.push_back({"--seeds", &o->seeds});
                                       b.push_back({"--target", &o->target});
                                       bind_params(*sub, kLearnSweep, with_common_bindings(b, *o));
                                       sub->callback([o] {
                                         o->validation = o->validation_int;
                                         o->test = o->test_int;
                                         run_learn_sweep(*o);
                                       });
                                     }, &kLearnSweep}};

}  // namespace

fs::path prepare_learn_out_dir(const std::string& out) {
  if (out.empty()) return {};
  std::error_code ec;
  fs::path dir(out);
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) throw UsageError("--out", "'" + out + "' exists and is not a directory");
  if (!fs::exists(dir, ec)) {
    const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec)) throw UsageError("--out", "the parent directory of '" + out + "' does not exist");
    fs::create_directory(dir, ec);
    if (ec) throw UsageError("--out", "cannot create directory '" + out + "': " + ec.message());
  }
  try {
    require_writable_output((dir / "result.json").string());
  } catch (const OutputError& e) {
    throw UsageError("--out", e.what());
  }
  return dir;
}

void register_learn_commands() {
  static bool done = false;
  if (done) return;
  done = true;
  register_entry(reg_learn_qsa.entry);
  register_entry(reg_learn_sweep.entry);
  register_learn_match2_command();
}

}  // namespace attnbounds
