// `attnbounds replay FILE`: independent replay of a certificate (exact rational scores, the
// replayer's own row formula in certified doubles and MPFI where that does not decide; with
// --mpfi-only MPFI alone).  No row evaluation is shared with the checkers.  Dispatches on the
// certificate format.
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "certify/replay.hpp"
#include "builtin_commands.hpp"
#include "claims.hpp"
#include "common.hpp"
#include "core/input_file.hpp"
#include "enumerate/parallel.hpp"

namespace attnbounds {
namespace {

struct ReplayOptions {
  CommonOptions common;
  std::string file;
  bool mpfi_only = false;
};

void run_replay(const ReplayOptions& o) {
  Stopwatch sw;
  std::string format;
  {
    // Never block on a FIFO or read a device: the kind and size of the file are checked first.
    try {
      require_regular_input(o.file, kMaxCertificateBytes);
    } catch (const std::invalid_argument& e) {
      throw UsageError("FILE", e.what());
    }
    std::ifstream is(o.file);
    if (!is) throw UsageError("FILE", "cannot read '" + o.file + "'");
    std::string head(4096, '\0');
    is.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(is.gcount()));
    // CBOR and zstd are recognised by their first bytes; the reader then checks the content.
    const auto* bytes = reinterpret_cast<const unsigned char*>(head.data());
    if (head.find("attnbounds-qsa-certificate-1") != std::string::npos ||
        detect_certificate_encoding(bytes, head.size()) != CertificateEncoding::Json)
      format = "qsa";
  }
  if (format != "qsa")
    throw UsageError("FILE", "not a certificate format this build replays (known: attnbounds-qsa-certificate-1 as JSON, CBOR or CBOR+zstd)");
  const unsigned threads = resolve_threads(o.common.threads);
  ReplayReport rep;
  try {
    rep = replay_qsa_certificate(o.file, threads, !o.mpfi_only);
  } catch (const std::invalid_argument& e) {
    throw UsageError("FILE", e.what());
  }
  json params = {{"file", o.file}, {"N", rep.N}, {"q", rep.q}, {"encoding", rep.encoding}};
  const ClaimInfo& claim = claim_info("replay", rep.claim == "qsa-rip" ? "qsa-rip" : "qsa-cyclic");
  json out = make_result("replay", rep.claim, claim.theorem, claim.provenance, params, rep.semantics);
  out["cases"] = rep.rows;
  out["method"] = std::string("scores <query, key_j> recomputed in exact rationals; ") +
                  (o.mpfi_only ? "" : "each row first decided in certified double intervals (the replayer's own formula), and where that does not decide, ") +
                  "softmax and sum_j |a_j - t_j| enclosed with MPFI (128 bits, doubled up to 4096 when undecided); the worst row enclosed "
                  "with MPFI at 128 bits; coverage of every q-subset checked; rows streamed, verdict only for a file accepted whole";
  json worst;
  if (!rep.worst_S.empty()) {
    worst["value"] = to_decimal_string((rep.worst_lower + rep.worst_upper) / 2, 17, 0);
    worst["lower"] = to_decimal_string(rep.worst_lower, 17, -1);
    worst["upper"] = to_decimal_string(rep.worst_upper, 17, +1);
    worst["witness"] = {{"S", rep.worst_S}};
  }
  if (!rep.first_bad_S.empty()) worst["first_row_not_within_bound"] = rep.first_bad_S;
  out["worst"] = worst;
  out["bound"] = to_exact_decimal_or_fraction(rep.bound);
  if (!rep.problem.empty()) out["problem"] = rep.problem;
  finish_result(out, rep.verdict, sw.seconds(), threads);
  emit(out, o.common, exit_status_for(rep.verdict));
}

const ParamTable kReplayParams = with_common(
    {param::file("FILE", "certificate file (JSON, CBOR or zstd-compressed CBOR; told apart by content)").as_required(),
     param::flag("--mpfi-only", "decide every row with MPFI, without the double filter: no arithmetic shared with the checkers' "
                                "fast evaluators; the same report, slower")},
    false);

const DeclaredEntry reg{{"replay", "", "", "", "replay a certificate independently", "",
                     [](CLI::App& app) {
                       auto o = std::make_shared<ReplayOptions>();
                       bind_with_common(app, kReplayParams, {{"FILE", &o->file}, {"--mpfi-only", &o->mpfi_only}}, o->common);
                       app.callback([o] { run_replay(*o); });
                     }, &kReplayParams}};

}  // namespace

void register_replay_commands() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
