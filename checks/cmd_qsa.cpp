// CLI wiring for the qSA upper bounds: check / eval / min-p for qsa-cyclic (Theorem 3) and
// qsa-rip (Theorem 2), min-m for qsa-rip.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <tuple>

#include "certify/qsa_certificate.hpp"
#include "certify/qsa_checker.hpp"
#include "claims.hpp"
#include "cmd_qsa.hpp"
#include "builtin_commands.hpp"
#include "common.hpp"
#include "json_qsa.hpp"
#include "min_p.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"
#include "tasks/tasks.hpp"
#include "core/atomic_file.hpp"
#include "core/input_file.hpp"

namespace attnbounds {

const char* qsa_theorem(const std::string& claim) { return claim_info("check", claim).theorem.c_str(); }
const char* qsa_provenance(const std::string& claim) { return claim_info("check", claim).provenance.c_str(); }

ParamTable qsa_construction_params(const std::string& claim) {
  ParamTable t = {param::N(), param::q().at_most("--N"), param::d(),
                  param::eps(), param::c()};
  if (claim == "qsa-rip") {
    t.push_back(param::mk());
    t.push_back(param::strategy());
  }
  return t;
}

std::vector<ParamBinding> qsa_construction_bindings(QsaCliOptions& o, const std::string& claim) {
  std::vector<ParamBinding> b = {{"--N", &o.N}, {"--q", &o.q}, {"--d", &o.d}, {"--eps", &o.eps}, {"--c", &o.c}};
  if (claim == "qsa-rip") {
    b.push_back({"--mk", &o.mk});
    b.push_back({"--strategy", &o.strategy});
  }
  return b;
}

Rational parse_rational_option(const std::string& name, const std::string& text) {
  try {
    return parse_rational(text);
  } catch (const std::exception&) {
    throw UsageError(name, "must be a decimal or p/q rational (got '" + text + "')");
  }
}

QsaEmbeddingParams qsa_params_from(const QsaCliOptions& o) {
  QsaEmbeddingParams p;
  p.N = o.N;
  p.q = o.q;
  p.d = o.d;
  p.eps = parse_rational_option("--eps", o.eps);
  if (!o.c.empty()) p.c = parse_rational_option("--c", o.c);
  p.mk = o.mk;
  p.seed = o.common.seed;
  p.strategy = o.strategy;
  p.validate();  // ConfigError names the field; main maps it to its flag
  return p;
}

std::unique_ptr<QsaEmbedding> build_qsa(const std::string& claim, const QsaEmbeddingParams& p, bool force) {
  if (claim == "qsa-rip") {
    // N x m' exact sign keys, and one N-row LP over m' columns per subset: refuse before allocating.
    const std::uint64_t mk = p.mk > 0 ? p.mk : QsaRipEmbedding::default_mk(p.N, p.q);
    require_size("qsa-rip key table (N x m' entries)", static_cast<std::uint64_t>(p.N) * mk, 8000000, force);
  }
  return make_qsa_embedding(claim, p);
}

json qsa_params_json(const QsaEmbedding& emb, const QsaEmbeddingParams& p) {
  json params;
  params["N"] = emb.N();
  params["q"] = emb.q();
  params["d"] = emb.d();
  params["eps"] = to_exact_decimal_or_fraction(p.eps);
  params["c"] = to_exact_decimal_or_fraction(emb.temperature());
  params["c_source"] = p.c ? "--c" : "default: smallest c with worst case <= eps at the construction's gap, rounded up to 2^-20";
  params["m"] = emb.m();
  if (auto* rip = dynamic_cast<const QsaRipEmbedding*>(&emb)) {
    params["mk"] = rip->mk();
    params["strategy"] = rip->strategy();
    params["seed"] = p.seed;
  }
  return params;
}

namespace {

// The qsa-rip certificate statistics are counted by each process as its row workers solve
// (outside the sweep's partials); under --mpi every rank saw only its own chunks, so they are
// combined over the ranks: counts summed (each rank's re-solves for the report included), the
// maxima taken over all ranks - hence over every subset, as in one process.
RipCertificateSummary summary_over_ranks(RipCertificateSummary s) {
  auto text = [](const std::optional<Rational>& v) { return v ? to_exact_string(*v) : std::string("-"); };
  const std::string mine = std::to_string(s.certificate_solves) + " " + std::to_string(s.by_active_set) + " " +
                           std::to_string(s.by_lp) + " " + text(s.max_norm_scaled_upper) + " " + text(s.norm_reference_upper) +
                           " " + text(s.max_off_S_score);
  const std::vector<std::string> all = gather_over_ranks(mine);
  if (all.size() <= 1) return s;
  RipCertificateSummary fresh;
  fresh.strategy = s.strategy;
  fresh.how = s.how;
  fresh.mk = s.mk;
  fresh.m = s.m;
  s = fresh;
  auto larger = [](std::optional<Rational>& acc, const std::string& t) {
    if (t == "-") return;
    const Rational v = parse_rational(t);
    if (!acc || v > *acc) acc = v;
  };
  for (const auto& line : all) {
    std::istringstream in(line);
    std::uint64_t solves = 0, active = 0, lp = 0;
    std::string norm, reference, off;
    if (!(in >> solves >> active >> lp >> norm >> reference >> off)) throw std::logic_error("mpi: malformed rank summary");
    s.certificate_solves += solves;
    s.by_active_set += active;
    s.by_lp += lp;
    larger(s.max_norm_scaled_upper, norm);
    larger(s.norm_reference_upper, reference);
    larger(s.max_off_S_score, off);
  }
  s.by_least_norm = s.certificate_solves - s.by_active_set - s.by_lp;
  if (s.max_off_S_score) s.min_gap = 1 - *s.max_off_S_score;
  return s;
}

void run_check(const std::string& claim, const QsaCliOptions& o) {
  Stopwatch sw;
  QsaEmbeddingParams p = qsa_params_from(o);
  const Semantics sem = semantics_of(o.common);
  const std::uint64_t cases = binomial_saturating(o.N, o.q);
  require_size("check " + claim + " (subsets of [N] of size q)", cases, 20000000, o.common.force);
  require_size("check " + claim + " (subsets x tokens, one exp each)",
               cases > UINT64_MAX / static_cast<std::uint64_t>(o.N) ? UINT64_MAX : cases * o.N, 4000000000ULL,
               o.common.force);
  // JSON certificates grow to gigabytes near a million rows; CBOR(+zstd) is compact, and both stream.
  if (!o.certificate.empty())
    require_size(certificate_encoding_for_path(o.certificate) == CertificateEncoding::Json
                     ? "--certificate FILE.json (one query per subset; *.cbor.zst allows 20 times more)"
                     : "--certificate (one query per subset)",
                 cases, certificate_encoding_for_path(o.certificate) == CertificateEncoding::Json ? 1000000 : 20000000,
                 o.common.force);
  for (const auto& [flag, file] : {std::pair<const char*, const std::string*>{"--certificate", &o.certificate}, {"--emit-lrs", &o.emit_lrs}})
    if (!file->empty()) {
      try {
        require_writable_output(*file);
      } catch (const OutputError& e) {
        throw UsageError(flag, e.what());
      }
    }
  auto emb = build_qsa(claim, p, o.common.force);
  const unsigned threads = resolve_threads(o.common.threads);
  QsaCheckOptions co;
  co.eps = p.eps;
  co.semantics = sem;
  co.threads = threads;
  Progress progress("check " + claim, cases);
  co.progress = &progress;
  const QsaCheckResult r = check_qsa(*emb, co);
  json out = make_claim_result("check", claim, qsa_params_json(*emb, p), sem.name());
  write_qsa_check(out, r, emb->d(), p.eps);
  if (auto* rip = dynamic_cast<const QsaRipEmbedding*>(emb.get()))
    out["certificates"] = rip_certificate_summary_json(summary_over_ranks(rip->summary()));
  if (dynamic_cast<const QsaCyclicEmbedding*>(emb.get())) {
    json geo;
    if (o.N <= 64 && binomial_saturating(o.N, 2 * o.q) <= 200000 && 2 * o.q < o.N) {
      geo["q_neighbourly_subsets_verified"] = verify_q_neighbourly(o.N, o.q);
      auto facets = gale_facets(o.N, 2 * o.q);
      geo["gale_facets"] = facets.size();
      geo["closed_form_facets"] = cyclic_facet_count(o.N, o.q);
      geo["gale_q_neighbourly"] = gale_q_neighbourly(o.N, o.q);
      if (facets.size() != cyclic_facet_count(o.N, o.q)) throw std::logic_error("Gale facet count disagrees with closed form");
    } else {
      geo["skipped"] = "geometry cross-checks run when 2q < N <= 64 and C(N, 2q) <= 200000";
    }
    out["geometry"] = geo;
  }
  // Output files are written once (under --mpi by rank 0 alone, which computes every row: the
  // check's result is on every rank, the certificate's rows are not sharded).
  if (!o.emit_lrs.empty()) {
    write_once([&] {
      AtomicFile lrs(o.emit_lrs);
      write_lrs(lrs.stream(), o.N, o.q);
      lrs.commit();
    });
    out["lrs_file"] = o.emit_lrs;
  }
  if (!o.certificate.empty()) {
    if (r.verdict != Verdict::Holds) {
      out["certificate"] = "not written: the claim does not hold";
    } else {
      const CertificateEncoding encoding = certificate_encoding_for_path(o.certificate);
      write_once([&] { write_qsa_certificate(o.certificate, *emb, p.eps, sem, claim, encoding, threads); });
      out["certificate"] = {{"file", o.certificate}, {"subsets", binomial(o.N, o.q)}, {"encoding", certificate_encoding_name(encoding)}};
    }
  }
  finish_result(out, r.verdict, sw.seconds(), threads);
  emit(out, o.common, exit_status_for(r.verdict));
}

Rational json_rational(const json& v, const std::string& where) {
  try {
    if (v.is_string()) return parse_rational(v.get<std::string>());
    if (v.is_number()) return parse_rational(v.dump());
  } catch (const std::exception&) {
  }
  throw UsageError("--input", where + " must be a number or an exact decimal / p/q string");
}

void run_eval(const std::string& claim, const QsaCliOptions& o) {
  if (o.input.empty()) throw UsageError("--input", "a JSON file with \"z\" (N vectors) and \"y\" (N lists of q 1-based indices) is required");
  json in;
  try {
    in = parse_json_bounded(read_bounded_file(o.input, kMaxTextInputBytes), "'" + o.input + "'");
  } catch (const std::invalid_argument& e) {
    throw UsageError("--input", std::string("not JSON, or not a readable regular file: ") + e.what());
  }
  if (!in.contains("z") || !in.contains("y") || !in["z"].is_array() || !in["y"].is_array() || in["z"].size() != in["y"].size() ||
      in["z"].empty())
    throw UsageError("--input", "needs arrays \"z\" and \"y\" of equal length N >= 1");
  for (std::size_t i = 0; i < in["z"].size(); ++i)
    if (!in["z"][i].is_array() || in["z"][i].empty() || !in["y"][i].is_array())
      throw UsageError("--input", "token " + std::to_string(i + 1) +
                                      ": z_i must be a non-empty array of numbers and y_i an array of 1-based indices");
  for (const auto& [key, value] : in.items())
    if (key != "z" && key != "y") throw UsageError("--input", "unknown key \"" + key + "\" (the file has \"z\" and \"y\" only)");
  const int N = static_cast<int>(in["z"].size());
  const int d = static_cast<int>(in["z"][0].size());
  const int q = static_cast<int>(in["y"][0].size());
  // A size given on the command line must be the input's, never silently replaced by it.
  for (const auto& [flag, given_value, actual] : {std::tuple<const char*, int, int>{"--N", o.N, N}, {"--q", o.q, q}, {"--d", o.d, d}})
    if (o.given.given(flag) && given_value != actual)
      throw UsageError(flag, fmt::format("is {} but the --input file has {} = {}", given_value, std::string(flag).substr(2), actual));
  Mat<Rational> z(N, d);
  std::vector<std::vector<int>> y(N);
  for (int i = 0; i < N; ++i) {
    if (static_cast<int>(in["z"][i].size()) != d) throw UsageError("--input", "every z_i must have the same length d'");
    for (int c = 0; c < d; ++c) z(i, c) = json_rational(in["z"][i][c], "z");
    for (const auto& v : in["y"][i]) {
      if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > N)
        throw UsageError("--input", "y entries must be integers in 1..N = 1.." + std::to_string(N));
      y[i].push_back(static_cast<int>(v.get<long long>()) - 1);
    }
    std::sort(y[i].begin(), y[i].end());
  }
  try {
    validate_qsa_input(z, y, q);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--input", e.what());
  }
  QsaCliOptions oo = o;
  oo.N = N;
  oo.q = q;
  oo.d = d;
  QsaEmbeddingParams p = qsa_params_from(oo);
  const Semantics sem = semantics_of(o.common);
  auto emb = build_qsa(claim, p, o.common.force);
  Stopwatch sw;
  QsaInput x{z, y};
  Mat<Interval> out = qsa_forward(*emb, x, sem, 256);
  Mat<Rational> truth = qsa(z, y);
  json tokens = json::array();
  Rational max_err = 0;
  for (int i = 0; i < N; ++i) {
    json o_i = json::array(), t_i = json::array();
    Interval sq(0L, 256);
    for (int c = 0; c < d; ++c) {
      o_i.push_back(fmt::format("{:.17g}", out(i, c).mid_double()));
      t_i.push_back(to_exact_decimal_or_fraction(truth(i, c)));
      Interval diff = out(i, c) - Interval(truth(i, c), 256);
      sq += sqr(diff);  // x * x of an interval around 0 has a negative end, and its sqrt is NaN
    }
    Rational err_up = safe_bounds(sqrt(sq)).upper;
    max_err = std::max(max_err, err_up);
    tokens.push_back({{"i", i + 1}, {"output", o_i}, {"qsa", t_i}, {"error_upper", to_decimal_string(err_up, 6, +1)}});
  }
  json res = make_claim_result("eval", claim, qsa_params_json(*emb, p), sem.name());
  res["tokens"] = tokens;
  res["output_note"] = "output: midpoint of a certified 256-bit enclosure (display only); error_upper: certified upper bound";
  res["max_error_upper"] = to_decimal_string(max_err, 17, +1);
  res["within_eps"] = max_err <= p.eps;
  res["seconds"] = sw.seconds();
  emit(res, o.common, 0);
}

// p* (math §2) by the library's one min-p rule (certify/min_precision.hpp).
void run_min_p(const std::string& claim, const QsaCliOptions& o) {
  Stopwatch sw;
  QsaEmbeddingParams p = qsa_params_from(o);
  MinPrecisionConfig mc = min_precision_config(o.mode, o.number_format, o.p_min, o.p_max);
  const std::uint64_t cases = binomial_saturating(o.N, o.q);
  require_size("min-p " + claim + " (subsets per precision)", cases * (o.p_max - o.p_min + 1), 5000000, o.common.force);
  auto emb = build_qsa(claim, p, o.common.force);
  const unsigned threads = resolve_threads(o.common.threads);
  if (mc.family == FormatFamily::Fixed) mc.fixed_integer_bits = qsa_fixed_integer_bits(*emb);
  const MinPrecisionResult r = qsa_min_precision(*emb, p.eps, mc, threads);
  json out = make_claim_result("min-p", claim, qsa_params_json(*emb, p), min_precision_family_name(mc));
  write_min_precision(out, r, mc, cases, to_exact_decimal_or_fraction(p.eps));
  finish_result(out, r.verdict, sw.seconds(), threads);
  emit(out, o.common, exit_status_for(r.verdict));
}

ParamTable check_params(const std::string& claim) {
  ParamTable t = qsa_construction_params(claim);
  t.push_back(param::file("--certificate", "write a replayable certificate when the claim holds (FILE.json: JSON; FILE.cbor: CBOR; FILE.cbor.zst: zstd-compressed CBOR)"));
  if (claim == "qsa-cyclic") t.push_back(param::file("--emit-lrs", "write the moment-curve points in lrs format"));
  return with_common(t);
}

ParamTable eval_params(const std::string& claim) {
  ParamTable t = qsa_construction_params(claim);
  for (auto& d : t) {
    if (d.flag == "--N" || d.flag == "--q" || d.flag == "--d") {
      d = d.with_computed_default("the --input file's").with_help(d.help + "; when given, must equal the --input file's");
      d.hi_flag.clear();
    }
  }
  t.push_back(param::input().with_help("JSON file: {\"z\": [[...], ...], \"y\": [[1-based indices], ...]}").as_required());
  return with_common(t);
}

ParamTable min_p_params(const std::string& claim) {
  ParamTable t = qsa_construction_params(claim);
  t.push_back(param::number_format());
  t.push_back(param::mode());
  t.push_back(param::p_min());
  t.push_back(param::p_max().at_least("--p-min"));
  return with_common(t, false);
}

const ParamTable kCheckCyclic = check_params("qsa-cyclic"), kCheckRip = check_params("qsa-rip");
const ParamTable kEvalCyclic = eval_params("qsa-cyclic"), kEvalRip = eval_params("qsa-rip");
const ParamTable kMinPCyclic = min_p_params("qsa-cyclic"), kMinPRip = min_p_params("qsa-rip");

const ParamTable& table_of(const std::string& verb, const std::string& claim) {
  const bool rip = claim == "qsa-rip";
  if (verb == "check") return rip ? kCheckRip : kCheckCyclic;
  if (verb == "eval") return rip ? kEvalRip : kEvalCyclic;
  return rip ? kMinPRip : kMinPCyclic;
}

void attach_claim(CLI::App& parent, const std::string& verb, const std::string& claim) {
  auto o = std::make_shared<QsaCliOptions>();
  std::vector<ParamBinding> b = qsa_construction_bindings(*o, claim);
  const ParamTable& table = table_of(verb, claim);
  if (verb == "check") {
    auto* sub = parent.add_subcommand(claim, std::string("certified exhaustive check of ") + qsa_theorem(claim));
    b.push_back({"--certificate", &o->certificate});
    if (claim == "qsa-cyclic") b.push_back({"--emit-lrs", &o->emit_lrs});
    o->given = bind_with_common(*sub, table, b, o->common);
    sub->callback([o, claim] { run_check(claim, *o); });
  } else if (verb == "eval") {
    auto* sub = parent.add_subcommand(claim, "forward pass on one input with the true qSA and the error per token");
    b.push_back({"--input", &o->input});
    o->given = bind_with_common(*sub, table, b, o->common);
    sub->callback([o, claim] { run_eval(claim, *o); });
  } else if (verb == "min-p") {
    auto* sub = parent.add_subcommand(claim, "minimal precision p* under embed:float:P or embed:fixed:I.F");
    b.insert(b.end(), {{"--number-format", &o->number_format}, {"--mode", &o->mode}, {"--p-min", &o->p_min}, {"--p-max", &o->p_max}});
    o->given = bind_with_common(*sub, table, b, o->common);
    sub->callback([o, claim] { run_min_p(claim, *o); });
  }
}

RegistryEntry qsa_entry(const std::string& verb, const std::string& claim, const std::string& description) {
  RegistryEntry e{verb, claim, "", "", description, "", [verb, claim](CLI::App& a) { attach_claim(a, verb, claim); }};
  e.table = &table_of(verb, claim);
  return e;
}

}  // namespace

void register_qsa_commands() {
  register_entry(qsa_entry("check", "qsa-cyclic", "qSA with m = d' + 4q (moment curve, gap 1), exhaustive over all q-subsets"));
  register_entry(qsa_entry("check", "qsa-rip", "qSA with m = d' + 2m' (random sign keys, exact dual certificates w_S, gap 1/2)"));
  register_entry(qsa_entry("eval", "qsa-cyclic", "forward pass of the moment-curve qSA unit on an input file"));
  register_entry(qsa_entry("eval", "qsa-rip", "forward pass of the random-sign qSA unit on an input file"));
  register_entry(qsa_entry("min-p", "qsa-cyclic", "minimal precision p* of the moment-curve embedding (embed:float:P / embed:fixed)"));
  register_entry(qsa_entry("min-p", "qsa-rip", "minimal precision p* of the random-sign embedding (embed:float:P / embed:fixed)"));
}

}  // namespace attnbounds
