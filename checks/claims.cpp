#include "claims.hpp"

#include <algorithm>
#include <stdexcept>

#include "certify/min_precision.hpp"
#include "certify/qsa_checker.hpp"
#include "modelfile/match2_model.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/theorem4_qsa_disj.hpp"
#include "proofs/theorem7_match3_disj.hpp"
#include "proofs/match3_local.hpp"
#include "proofs/match3_third_order.hpp"

namespace attnbounds {

namespace {

const char* kCyclic = "paper statement; moment-curve construction ours";
const char* kRip = "paper statement; certificates ours";
const char* kModel = "paper statement (qSA class of Theorems 2 and 3); the model is the file's";
const char* kMatch2 = "paper: m = 3; construction ours (m = 2 + residual)";
const char* kMatch3 = "paper statement; construction ours";
const char* kLocal = "paper: structure/locality; definitions ours";
const char* kLocalModel = "paper: structure/locality; definitions ours; the model is the file's";
// The semantics of the checks, in the words of the support each configuration declares
// (core/semantics_policy.hpp), so this table says what the library accepts.
const std::string kQsaSem = kQsaSemantics.description();
const std::string kEvalSem = kExactEmbedArith.description();
// The p ranges of the min-p scans, from the library's limits.
std::string p_range(FieldLimits l) { return "p in " + std::to_string(l.lo) + ".." + std::to_string(l.hi); }
const std::string kMatchP = p_range(kMatchMinPrecisionP), kQsaP = p_range(MinPrecisionConfig::kP);
const char* kMinPSem = "embed or arith over float:P or fixed:I.F, P in p_min..p_max";
// The Match min-p scans float:P only (no --number-format); bf16, fp16, fp32 are run beside it.
const char* kMatchMinPSem = "embed or arith over float:P, P in p_min..p_max; bf16, fp16, fp32 beside";
const char* kThm2 = "Theorem 2";
const char* kThm3 = "Theorem 3";
const char* kModelThm = "Theorems 2, 3";
const char* kMatch2Thm = "§4.3 (Match2, constant m)";
const char* kMatch3Thm = "§4.4 (Match3, third-order attention)";
const char* kLocalThm = "§4.5 (Match3 with structure/locality)";

// What each verdict compares: the claims of one family share their rule.
const char* kQsaRule =
    "holds: worst.upper <= bound, certified on every row of the reduction; fails: an input whose error exceeds "
    "bound, re-verified by a direct forward pass; otherwise undecided";
const char* kMarginRule =
    "holds: worst.lower > bound (= 0), i.e. psi's room is certified positive on every case of the reduction; "
    "fails: a token psi decides wrongly, re-verified by a direct forward pass; otherwise undecided";
const char* kDecodeRule =
    "holds: worst.upper < bound (= 1/2) on every hint row and psi's decoder is exact on every multiset; fails: an "
    "input psi gets wrong, re-verified by a direct forward pass; otherwise undecided";
const char* kMinPRule =
    "holds: p_star exists, i.e. every tested p' in [p_star, p_max] holds; fails: no p_star and the p_max row fails "
    "with a verified witness; otherwise undecided";
const char* kMinMRule =
    "holds: every (N, q) cell has m'* (an exactly verified certificate for every S at m'*); otherwise undecided";
const char* kQsaDisjRule =
    "holds: all Alice messages are distinct and every instance's error is certified <= bound (= 1/(2q)); fails: a "
    "message collision or an instance whose error exceeds bound, verified by forward passes; otherwise undecided";
const char* kMatch3DisjRule =
    "holds: the reduction is verified on every instance, the protocol output equals the forward pass and all Bob "
    "messages are distinct (it does not certify that the model computes Match3); fails: a message collision gives "
    "an input the model gets wrong, verified by a forward pass; otherwise undecided";
const char* kFcRankRule =
    "holds: the first layer has no kernel vector on the free inputs, so no pair is forced; fails: an exact pair "
    "X+, X- with W X+ = W X- whose true outputs differ, forcing error >= bound on one of them";
const char* kRnnRule =
    "holds: every INDEX instance's output error is exactly <= eps; fails: an instance with error > eps, or a state "
    "collision forcing one, computed exactly; otherwise undecided";
const char* kCcRule =
    "holds: D is exact (a verified protocol of depth D and a matching lower bound: log-rank, fooling set or "
    "exhaustive search); otherwise undecided with [worst.lower, worst.upper]";

std::string rule_of(const std::string& verb, const std::string& name) {
  const std::string base = name.substr(0, name.find(' '));
  if (verb == "check" || verb == "replay") {
    if (base.rfind("qsa", 0) == 0) return kQsaRule;
    if (base == "match3-hinted" || base == "match3-window") return kDecodeRule;
    if (base.rfind("match", 0) == 0) return kMarginRule;
  }
  if (verb == "min-p") return kMinPRule;
  if (verb == "min-m") return kMinMRule;
  if (verb == "cc") return kCcRule;
  if (verb == "lower") {
    if (base == "qsa-disj") return kQsaDisjRule;
    if (base == "match3-disj") return kMatch3DisjRule;
    if (base == "fc-rank") return kFcRankRule;
    if (base == "rnn-index") return kRnnRule;
  }
  return "";  // eval, export: no verdict
}

std::vector<ClaimInfo> make_table() {
  std::vector<ClaimInfo> t = {
      {"cc", "disj", "§3.3", "fact", "exact", "n in 1..8"},
      {"cc", "eq", "§3.3", "fact", "exact", "n in 1..8"},
      {"cc", "index", "§3.3", "fact", "exact", "n in 1..8"},
      {"cc", "ip", "§3.3", "fact", "exact", "n in 1..8"},
      {"cc", "matrix", "§5.5", "fact", "exact", "at most 256 x 256 entries"},
      {"check", "match2", kMatch2Thm, kMatch2, Match2Config::kSemantics.description(),
       "N in 2..64; M^N cases, size guard without --force"},
      {"check", "match2 --no-residual", kMatch2Thm, "paper: m = 3; construction ours (m = 4, no residual)",
       Match2Config::kSemanticsNoResidual.description(), "N in 2..64; size guard without --force"},
      {"check", "match3-hinted", kLocalThm, kLocal, Match3LocalConfig::kSemantics.description(),
       "N in 2..24; size guard without --force"},
      {"check", "match3-third-order", kMatch3Thm, kMatch3, Match3Config::kSemantics.description(),
       "N in 2..16; size guard without --force"},
      {"check", "match3-window", kLocalThm, kLocal, Match3LocalConfig::kSemantics.description(),
       "N in 2..24; size guard without --force"},
      {"check", "qsa", kModelThm, kModel, kQsaSem, "the model file's N and q; C(N, q) size guard without --force"},
      {"check", "qsa-cyclic", kThm3, kCyclic, kQsaSem, "N in 1..100000, q in 1..N; C(N, q) <= 2e7 without --force"},
      {"check", "qsa-rip", kThm2, kRip, kQsaSem, "N in 1..100000, q in 1..N; C(N, q) <= 2e7 without --force"},
      {"eval", "match2", kMatch2Thm, kMatch2, kEvalSem, "token values in 0..M-1"},
      {"eval", "match3-hinted", kLocalThm, kLocal, kEvalSem, "token values in 0..M-1"},
      {"check", "match3-hinted --model", kLocalThm, kLocalModel, Match3LocalConfig::kSemantics.description(),
       "a match3-local file: N in 2..24, q in 1..6, K in 1..64; size guard without --force"},
      {"eval", "match3-hinted --model", kLocalThm, kLocalModel, kEvalSem, "token values in 0..M-1, the file's N"},
      {"eval", "match3-third-order", kMatch3Thm, kMatch3, kEvalSem, "token values in 0..M-1"},
      {"eval", "match3-window", kLocalThm, kLocal, kEvalSem, "token values in 0..M-1"},
      {"check", "match3-window --model", kLocalThm, kLocalModel, Match3LocalConfig::kSemantics.description(),
       "a match3-local file: N in 2..24, q in 1..6, K in 1..64; size guard without --force"},
      {"eval", "match3-window --model", kLocalThm, kLocalModel, kEvalSem, "token values in 0..M-1, the file's N"},
      {"eval", "qsa", kModelThm, kModel, kEvalSem, "the model file's N and q"},
      {"eval", "qsa-cyclic", kThm3, kCyclic, kEvalSem, "z_i in the unit ball, y_i q distinct indices in 1..N"},
      {"eval", "qsa-rip", kThm2, kRip, kEvalSem, "z_i in the unit ball, y_i q distinct indices in 1..N"},
      {"check", "match3", kMatch3Thm, "paper statement (Match3, math §1.5, §4.4); the model is the file's",
       kMatchModelSemantics.description(), "the model file's N and M; size guard without --force"},
      {"eval", "match3", kMatch3Thm, "paper statement (Match3, math §1.5, §4.4); the model is the file's",
       kMatchModelSemantics.description(), "token values in 0..M-1"},
      {"export", "match2", kMatch2Thm, kMatch2, "exact", "N in 2..64"},
      {"export", "match3-third-order", kMatch3Thm, kMatch3, "exact", "N in 2..16"},
      {"export", "match3-hinted", kLocalThm, kLocal, "exact", "N in 2..24; C(N, q) <= 1e6 query rows without --force"},
      {"export", "match3-window", kLocalThm, kLocal, "exact", "N in 2..24"},
      {"export", "qsa-cyclic", kThm3, kCyclic, "exact", "C(N, q) <= 1e6 query rows without --force"},
      {"export", "qsa-rip", kThm2, kRip, "exact", "C(N, q) <= 1e6 query rows without --force"},
      {"lower", "fc-rank", "Theorem 10", "paper statement; construction reconstructed", "exact", "k in 1..4096"},
      {"lower", "match3-disj", "Theorem 7", "paper statement; reduction ours", Match3DisjOptions::kSemantics.description(),
       "n in 1..12 (4^n instances); a model file's own N = 2n+1 and M"},
      {"lower", "match3-disj --grid", "Theorem 7", "paper statement; reduction ours", "tiled:float:p:n per cell",
       "n in 1..12; m, H in 1..64, p in 2..64"},
      {"lower", "qsa-disj", "Theorem 4", "paper statement; reduction reconstructed",
       qsa_disj::QsaDisjOptions::kSemantics.description(),
       "q in 1..30, N in 2q+1..4096"},
      {"lower", "qsa-disj --grid", "Theorem 4", "paper statement; reduction reconstructed",
       "embed:fixed:1.(p-1) or embed:float:p per cell", "q in 1..30"},
      {"lower", "rnn-index", "Theorem 11", "paper: (N-1)/2 bits; reduction ours (N-1 bits, one-pass models)", "exact",
       "2^(N-1)(N-1) instance steps <= 2^22 without --force"},
      {"min-m", "qsa-rip", kThm2, "ours (new numbers; construction math §4.1)", "exact", "N, q lists; q <= N"},
      {"min-p", "match2", kMatch2Thm, kMatch2, kMatchMinPSem, kMatchP},
      {"min-p", "match3", kMatch3Thm, "paper statement (Match3, math §1.5, §4.4); the model is the file's", kMatchMinPSem,
       kMatchP + "; the model file's N and M"},
      {"min-p", "match3-hinted", kLocalThm, kLocal, kMatchMinPSem, kMatchP},
      {"min-p", "match3-hinted --model", kLocalThm, kLocalModel, kMatchMinPSem,
       kMatchP + "; a match3-local file: N in 2..24, q in 1..6, K in 1..64; size guard without --force"},
      {"min-p", "match3-third-order", kMatch3Thm, kMatch3, kMatchMinPSem, kMatchP},
      {"min-p", "match3-window", kLocalThm, kLocal, kMatchMinPSem, kMatchP},
      {"min-p", "match3-window --model", kLocalThm, kLocalModel, kMatchMinPSem,
       kMatchP + "; a match3-local file: N in 2..24, q in 1..6, K in 1..64; size guard without --force"},
      {"min-p", "qsa", kModelThm, kModel, kMinPSem, kQsaP},
      {"min-p", "qsa-cyclic", kThm3, "ours (finite-precision model); construction ours", kMinPSem, kQsaP},
      {"min-p", "qsa-rip", kThm2, "ours (finite-precision model); certificates ours", kMinPSem, kQsaP},
      {"replay", "qsa-cyclic", kThm3, "certificate replay (ours)", "exact or embed:<fmt>, as certified",
       "the certificate's N and q"},
      {"replay", "qsa-rip", kThm2, "certificate replay (ours)", "exact or embed:<fmt>, as certified",
       "the certificate's N and q"},
  };
  for (auto& c : t) c.verdict_rule = rule_of(c.verb, c.name);
  std::sort(t.begin(), t.end(), [](const ClaimInfo& a, const ClaimInfo& b) {
    return a.verb != b.verb ? a.verb < b.verb : a.name < b.name;
  });
  return t;
}

}  // namespace

const std::vector<ClaimInfo>& claim_table() {
  static const std::vector<ClaimInfo> table = make_table();
  return table;
}

const ClaimInfo& claim_info(const std::string& verb, const std::string& name) {
  for (const auto& c : claim_table())
    if (c.verb == verb && c.name == name) return c;
  throw std::logic_error("no claim metadata for '" + verb + " " + name + "'");
}

std::string claim_verdict_rule(const std::string& verb, const std::string& name) {
  for (const auto& c : claim_table())
    if (c.verb == verb && (c.name == name || c.name.rfind(name + " ", 0) == 0)) return c.verdict_rule;
  return "";
}

json make_claim_result(const std::string& verb, const std::string& name, const json& params, const std::string& semantics) {
  const ClaimInfo& c = claim_info(verb, name);
  return make_result(verb, name, c.theorem, c.provenance, params, semantics);
}

std::string claim_table_markdown() {
  std::string out = "| command | theorem | provenance | semantics | limits | verdict rule |\n|---|---|---|---|---|---|\n";
  for (const auto& c : claim_table())
    out += "| `" + c.verb + " " + c.name + "` | " + c.theorem + " | " + c.provenance + " | " + c.semantics + " | " +
           c.limits + " | " + (c.verdict_rule.empty() ? "(no verdict)" : c.verdict_rule) + " |\n";
  return out;
}

}  // namespace attnbounds
