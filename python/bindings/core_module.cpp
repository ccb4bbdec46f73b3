// attnbounds_core: typed calls into the attnbounds library for Python (pybind11).  Results are
// dicts built from the library's typed results: exact numbers as fractions.Fraction, doubles
// (the Match checkers' certified double enclosures) as float, witnesses 1-based like the CLI.
// Long computations release the GIL; library errors become ValueError (bad input, one line).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "certify/qsa_checker.hpp"
#include "checks/builtin_commands.hpp"
#include "checks/command_line.hpp"
#include "checks/min_p.hpp"
#include "core/config_error.hpp"
#include "core/size_limit_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "modelfile/attention_unit_model.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/qsa_unit_model.hpp"
#include "modelfile/match3_model.hpp"
#include "modelfile/qsa_model.hpp"
#include "numeric/format.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"

namespace py = pybind11;
using namespace attnbounds;

namespace {

py::object fraction(const Rational& q) {
  static py::object make = py::module_::import("fractions").attr("Fraction");
  static py::object to_int = py::module_::import("builtins").attr("int");
  Rational c = q;
  c.canonicalize();
  return make(to_int(c.get_num().get_str()), to_int(c.get_den().get_str()));
}

Rational rational_arg(const std::string& name, const std::string& text) {
  try {
    return parse_rational(text);
  } catch (const std::exception&) {
    throw ConfigError(name, "expected an exact decimal or p/q (got '" + text + "')");
  }
}

std::vector<int> one_based(const std::vector<int>& v) {
  std::vector<int> out;
  for (int x : v) out.push_back(x + 1);
  return out;
}

unsigned threads_of(int threads) { return resolve_threads(threads); }

std::unique_ptr<QsaEmbedding> qsa_construction(const std::string& construction, int N, int q, int d, const std::string& eps,
                                               const std::optional<std::string>& c, std::uint64_t seed, int mk,
                                               const std::string& strategy) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.d = d;
  p.eps = rational_arg("eps", eps);
  if (c) p.c = rational_arg("c", *c);
  p.seed = seed;
  p.mk = mk;
  p.strategy = strategy;
  p.validate();
  if (construction == "qsa-cyclic") return std::make_unique<QsaCyclicEmbedding>(p);
  if (construction == "qsa-rip") return std::make_unique<QsaRipEmbedding>(p);
  throw ConfigError("construction", "must be qsa-cyclic or qsa-rip (got '" + construction + "')");
}

py::dict qsa_result(const QsaCheckResult& r, const QsaEmbedding& emb, const Rational& eps, const std::string& semantics) {
  py::dict out;
  out["verdict"] = to_string(r.verdict);
  out["cases"] = r.cases;
  out["semantics"] = semantics;
  out["N"] = emb.N();
  out["q"] = emb.q();
  out["d"] = emb.d();
  out["c"] = fraction(emb.temperature());
  out["bound"] = fraction(eps);
  out["reduction"] = r.reduction;
  py::dict worst, witness;
  if (!r.witness_signs.empty()) {
    worst["lower"] = fraction(r.worst_lower);
    worst["upper"] = fraction(r.worst_upper);
  } else {
    worst["lower"] = py::none();
    worst["upper"] = py::none();
  }
  if (!r.witness_S.empty()) witness["S"] = one_based(r.witness_S);
  if (!r.witness_signs.empty()) {
    py::list z;
    for (int s : r.witness_signs) {
      py::list row;
      row.append(s < 0 ? -1 : 1);
      for (int c = 1; c < emb.d(); ++c) row.append(0);
      z.append(row);
    }
    witness["z"] = z;
  }
  if (r.forward_error_lower) {
    witness["forward_pass_error_lower"] = fraction(*r.forward_error_lower);
    witness["verified_by_forward_pass"] = r.witness_verified;
  }
  if (!r.missing_reason.empty()) witness["missing"] = r.missing_reason;
  worst["witness"] = witness;
  out["worst"] = worst;
  out["rows"] = py::dict(py::arg("fallback_mpfi") = r.fallback_rows, py::arg("failing") = r.failing_rows,
                         py::arg("undecided") = r.undecided_rows, py::arg("missing") = r.missing_rows);
  return out;
}

QsaCheckResult run_qsa(const QsaEmbedding& emb, const Rational& eps, const Semantics& sem, unsigned threads) {
  QsaCheckOptions co;
  co.eps = eps;
  co.semantics = sem;
  co.threads = threads;
  py::gil_scoped_release release;
  return check_qsa(emb, co);
}

py::dict check_qsa_construction(const std::string& construction, int N, int q, int d, const std::string& eps,
                                const std::optional<std::string>& c, const std::string& semantics, std::uint64_t seed, int mk,
                                const std::string& strategy, int threads, bool force) {
  const Semantics sem = parse_semantics(semantics);
  require_size_limit("check " + construction + " (subsets of [N] of size q)", binomial_saturating(N, q), 20000000, force);
  auto emb = qsa_construction(construction, N, q, d, eps, c, seed, mk, strategy);
  const Rational e = rational_arg("eps", eps);
  py::dict out = qsa_result(run_qsa(*emb, e, sem, threads_of(threads)), *emb, e, sem.name());
  out["claim"] = construction;
  return out;
}

// A file of class qsa-unit through its own row sweep (exact semantics only).
py::dict check_qsa_unit_file(const std::string& path, const SafetensorsFile& f, const Rational& eps, const Semantics& sem,
                             int threads, bool force) {
  const QsaUnitModel m = qsa_unit_model_from(path, f);
  QsaUnitCheckResult r;
  {
    py::gil_scoped_release release;
    r = check_qsa_unit(m, eps, threads_of(threads), force, sem);
  }
  py::dict out, worst, witness;
  out["verdict"] = to_string(r.verdict);
  out["cases"] = r.rows;
  out["claim"] = "qsa";
  out["model"] = path;
  out["class"] = "qsa-unit";
  out["semantics"] = sem.name();
  out["bound"] = fraction(eps);
  out["reduction"] = r.reduction;
  out["worst_case"] = r.alpha ? "exact (A = αI)" : "enclosure";
  worst["lower"] = fraction(r.worst_lower);
  worst["upper"] = fraction(r.worst_upper);
  if (r.has_witness) {
    witness["S"] = one_based(r.witness_S);
    if (r.witness_i >= 0) witness["token"] = r.witness_i + 1;
    py::list z;
    for (std::size_t j = 0; j < r.witness_z.rows(); ++j) {
      py::list row;
      for (std::size_t c = 0; c < r.witness_z.cols(); ++c) row.append(fraction(r.witness_z(j, c)));
      z.append(row);
    }
    witness["z"] = z;
    witness["verified_by_forward_pass"] = r.witness_verified;
  }
  worst["witness"] = witness;
  out["worst"] = worst;
  return out;
}

py::dict check_qsa_model_file(const std::string& path, const std::string& eps, const std::string& semantics, int threads,
                              bool force) {
  const Semantics sem = parse_semantics(semantics);
  const Rational e = rational_arg("eps", eps);
  {
    const SafetensorsFile f = read_safetensors(path);
    auto it = f.metadata.find("class");
    if (it != f.metadata.end() && it->second == "qsa-unit") return check_qsa_unit_file(path, f, e, sem, threads, force);
  }
  QsaTableModel m = read_qsa_table_model(path, force ? 200000000 : 20000000);
  const std::string problem = qsa_certifiable_structure_problem(m, sem.is_exact());
  if (!problem.empty()) throw ConfigError("model", path + ": not certifiable as qSA: " + problem);
  QsaTableEmbedding emb(m);
  py::dict out = qsa_result(run_qsa(emb, e, sem, threads_of(threads)), emb, e, sem.name());
  out["claim"] = "qsa";
  out["model"] = path;
  out["dtypes"] = m.dtypes;
  return out;
}

py::dict min_p_qsa(const std::string& construction, int N, int q, int d, const std::string& eps,
                   const std::optional<std::string>& c, const std::string& mode, const std::string& format, int p_min,
                   int p_max, std::uint64_t seed, int threads) {
  if (format != "float" && format != "fixed") throw ConfigError("format", "must be float or fixed (got '" + format + "')");
  if (mode != "embed" && mode != "arith") throw ConfigError("mode", "must be embed or arith (got '" + mode + "')");
  MinPrecisionConfig mc = min_precision_config(mode, format, p_min, p_max);
  auto emb = qsa_construction(construction, N, q, d, eps, c, seed, 0, "lp");
  if (mc.family == FormatFamily::Fixed) mc.fixed_integer_bits = qsa_fixed_integer_bits(*emb);
  const Rational e = rational_arg("eps", eps);
  MinPrecisionResult r;
  {
    py::gil_scoped_release release;
    r = qsa_min_precision(*emb, e, mc, threads_of(threads));
  }
  py::dict out;
  out["claim"] = construction;
  out["verdict"] = to_string(r.verdict);
  out["p_star"] = r.p_star ? py::object(py::int_(*r.p_star)) : py::object(py::none());
  out["islands"] = r.islands;
  py::list table;
  for (const auto& row : r.table) {
    py::dict j;
    j["p"] = row.p;
    j["semantics"] = row.semantics.name();
    j["verdict"] = to_string(row.trial.verdict);
    if (row.trial.worst_upper) j["worst_upper"] = fraction(*row.trial.worst_upper);
    if (row.trial.verdict == Verdict::Fails && !row.trial.witness.empty()) j["witness_S"] = one_based(row.trial.witness);
    table.append(j);
  }
  out["table"] = table;
  return out;
}

py::dict match_result(const MatchSweepSummary& s, Verdict verdict, const std::string& claim, const std::string& semantics,
                      const std::string& reduction) {
  py::dict out;
  out["claim"] = claim;
  out["verdict"] = to_string(verdict);
  out["semantics"] = semantics;
  out["cases"] = s.cases;
  out["fallback_cases"] = s.fallbacks;
  out["failing_cases"] = s.failing;
  out["undecided_cases"] = s.undecided;
  out["reduction"] = reduction;
  auto side = [](const MatchSide& m) -> py::object {
    if (!m.any) return py::none();
    return py::dict(py::arg("lower") = m.stat_lower, py::arg("upper") = m.stat_upper,
                    py::arg("witness") = py::dict(py::arg("x") = m.witness.x, py::arg("token") = m.witness.token + 1));
  };
  out["matched_side"] = side(s.matched);
  out["unmatched_side"] = side(s.unmatched);
  if (s.worst) {
    py::dict w, witness;
    witness["x"] = s.worst->witness.x;
    witness["token"] = s.worst->witness.token + 1;
    if (s.worst->check) {
      witness["model"] = s.worst->check->model;
      witness["truth"] = s.worst->check->truth;
      witness["verified"] = s.worst->check->confirmed;
    }
    w["lower"] = s.worst->lower;
    w["upper"] = s.worst->upper;
    w["witness"] = witness;
    out["worst"] = w;
  } else {
    out["worst"] = py::none();
  }
  return out;
}

py::dict check_match2_construction(int N, int M, const std::optional<std::string>& c, bool flip, const std::string& semantics,
                                   int threads, bool force) {
  Match2Config cfg;
  cfg.N = N;
  cfg.M = M;
  if (c) cfg.c = rational_arg("c", *c);
  cfg.flip_query_sign = flip;
  cfg.semantics = parse_semantics(semantics);
  Match2Result r;
  {
    py::gil_scoped_release release;
    r = check_match2(cfg, threads_of(threads), force);
  }
  py::dict out = match_result(r.sweep, r.verdict, "match2", r.semantics, r.reduction);
  out["c"] = fraction(r.c);
  out["threshold_lower"] = fraction(r.threshold_lower);
  return out;
}

// A file of class attention-unit (the general unit) checked against Match2 or Match3; nullopt for
// another class, which the caller's own reader handles.
std::optional<py::dict> check_attention_unit_file(const std::string& path, MatchTask task, const std::string& semantics,
                                                  int threads, bool force) {
  const SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("class");
  if (it == f.metadata.end() || it->second != kAttentionUnitClass) return std::nullopt;
  const AttentionUnitModel m = attention_unit_model_from(path, f);
  const Semantics sem = parse_semantics(semantics);
  AttentionUnitCheckResult r;
  {
    py::gil_scoped_release release;
    r = check_attention_unit(m, task, sem, threads_of(threads), force);
  }
  py::dict out = match_result(r.sweep, r.verdict, match_task_name(task), r.semantics, r.reduction);
  out["model"] = path;
  out["class"] = kAttentionUnitClass;
  out["inputs"] = r.inputs;
  return out;
}

py::dict check_match2_model_file(const std::string& path, const std::string& semantics, int threads, bool force) {
  if (auto unit = check_attention_unit_file(path, MatchTask::Match2, semantics, threads, force)) return *unit;
  const Match2TableModel m = read_match2_table_model(path);
  const Semantics sem = parse_semantics(semantics);
  Match2TableCheckResult r;
  {
    py::gil_scoped_release release;
    r = check_match2_table(m, sem, threads_of(threads), force);
  }
  py::dict out = match_result(r.sweep, r.verdict, "match2", r.semantics, r.reduction);
  out["model"] = path;
  out["threshold_lower"] = fraction(r.threshold_lower);
  return out;
}

py::dict check_match3_model_file(const std::string& path, const std::string& semantics, int threads, bool force) {
  if (auto unit = check_attention_unit_file(path, MatchTask::Match3, semantics, threads, force)) return *unit;
  const Match3ThirdOrderModel m = read_match3_third_order_model(path);
  const Semantics sem = parse_semantics(semantics);
  Match2TableCheckResult r;
  {
    py::gil_scoped_release release;
    r = check_match3_third_order_model(m, sem, threads_of(threads), force);
  }
  py::dict out = match_result(r.sweep, r.verdict, "match3", r.semantics, r.reduction);
  out["model"] = path;
  out["threshold_lower"] = fraction(r.threshold_lower);
  return out;
}

// The command line in-process: the same registry, parser, checks and JSON writer as the
// executable, with stdout and stderr captured.  One run at a time: the command layer keeps the
// exit status and the running command's parameter table in globals, and std::cout is shared.
std::mutex g_command_line_mutex;

class StreamCapture {
 public:
  StreamCapture(std::ostream& stream, std::streambuf* into) : stream_(stream), saved_(stream.rdbuf(into)) {}
  ~StreamCapture() { stream_.rdbuf(saved_); }
  StreamCapture(const StreamCapture&) = delete;
  StreamCapture& operator=(const StreamCapture&) = delete;

 private:
  std::ostream& stream_;
  std::streambuf* saved_;
};

py::tuple run_command_line_captured(const std::vector<std::string>& args) {
  std::string out, err;
  int status = 4;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(g_command_line_mutex);
    register_builtin_commands();
    std::vector<std::string> words = {"attnbounds"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    std::ostringstream captured_out, captured_err;
    {
      StreamCapture o(std::cout, captured_out.rdbuf()), e(std::cerr, captured_err.rdbuf());
      status = run_command_line(static_cast<int>(words.size()), argv.data());
    }
    out = captured_out.str();
    err = captured_err.str();
  }
  return py::make_tuple(status, py::bytes(out), py::bytes(err));
}

// round_to of the library: exact rounding (nearest, ties to even) of an exact rational.
py::object round_exact(const std::string& value, const std::string& format) {
  Format f;
  try {
    f = parse_format(format);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("format", e.what());
  }
  return fraction(round_to(f, rational_arg("x", value)));
}

std::string format_name(const std::string& format) {
  try {
    return parse_format(format).name();
  } catch (const std::invalid_argument& e) {
    throw ConfigError("format", e.what());
  }
}

}  // namespace

PYBIND11_MODULE(attnbounds_core, mod) {
  mod.doc() = "Typed calls into the attnbounds library (certified exhaustive checks); see docs/model-format.md";
  // Bad input, refused work and bad files: ValueError with the library's one-line message.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FormatRangeError& e) {
      PyErr_SetString(PyExc_OverflowError, (std::string(e.what()) + "; " + e.hint()).c_str());
    } catch (const SizeLimitError& e) {
      PyErr_SetString(PyExc_ValueError, (std::string(e.what()) + "; pass force=True to run it anyway").c_str());
    } catch (const ConfigError& e) {
      PyErr_SetString(PyExc_ValueError, (e.field() + ": " + e.what()).c_str());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  using py::arg;
  mod.def("check_qsa", &check_qsa_construction, "certified check of qsa-cyclic or qsa-rip", arg("construction"),
          arg("N") = 8, arg("q") = 2, arg("d") = 1, arg("eps") = "0.1", arg("c") = py::none(), arg("semantics") = "exact",
          arg("seed") = 1, arg("mk") = 0, arg("strategy") = "lp", arg("threads") = 0, arg("force") = false);
  mod.def("check_qsa_model", &check_qsa_model_file, "certified qSA check of a qsa-table or qsa-unit model file", arg("path"),
          arg("eps") = "0.1", arg("semantics") = "exact", arg("threads") = 0, arg("force") = false);
  mod.def("min_p_qsa", &min_p_qsa, "minimal precision p* of qsa-cyclic or qsa-rip", arg("construction"), arg("N") = 8,
          arg("q") = 2, arg("d") = 1, arg("eps") = "0.1", arg("c") = py::none(), arg("mode") = "embed",
          arg("format") = "float", arg("p_min") = 2, arg("p_max") = 64, arg("seed") = 1, arg("threads") = 0);
  mod.def("check_match2", &check_match2_construction, "certified check of the Match2 construction", arg("N") = 8,
          arg("M") = 16, arg("c") = py::none(), arg("flip_query_sign") = false, arg("semantics") = "exact",
          arg("threads") = 0, arg("force") = false);
  mod.def("check_match2_model", &check_match2_model_file, "certified Match2 check of a match2-table or attention-unit model file", arg("path"),
          arg("semantics") = "exact", arg("threads") = 0, arg("force") = false);
  mod.def("run_command_line", &run_command_line_captured,
          "runs `attnbounds ARGS...` in-process; returns (exit status, stdout bytes, stderr bytes)", arg("args"));
  mod.def("round_to_format", &round_exact, "exact rounding of a rational (decimal or p/q string) to a format",
          arg("x"), arg("format"));
  mod.def("format_name", &format_name, "canonical name of a format string (fp16, float:24, fixed:4.12, ...)",
          arg("format"));
  mod.def("check_match3_model", &check_match3_model_file, "certified Match3 check of a match3-third-order or attention-unit model file",
          arg("path"), arg("semantics") = "exact", arg("threads") = 0, arg("force") = false);
}
