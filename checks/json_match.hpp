// The application's writers of the Match2 / Match3 / Theorem 7 typed results: one JSON writer
// per result type (the math §7 fields, in their published order), the grid's text formats, and
// the mapping of the library's size guard to the command line's one-line error.
#pragma once
#include <string>

#include "checks/usage_error.hpp"
#include "core/size_limit_error.hpp"
#include "proofs/match2_no_residual.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_local.hpp"
#include "proofs/match3_third_order.hpp"
#include "proofs/match_common.hpp"
#include "proofs/theorem7_match3_disj.hpp"
#include "checks/result_json.hpp"

namespace attnbounds {

json to_json(const Match2Result& r);
// The sweep fields every Match check prints (cases, the two tightest sides, worst, bound).
void add_match_sweep(json& result, const MatchSweepSummary& s, const char* matched_name, const char* unmatched_name);
json to_json(const Match2NoResidualResult& r);
json to_json(const Match3ThirdOrderResult& r);
json to_json(const Match3LocalResult& r);
// `claim` is the eval command's name (match2, match3-third-order, match3 for a model file).
json to_json(const MatchEvalResult& r, const std::string& claim);
json to_json(const Match3LocalEval& r);
// min-p: theorem, provenance and params are those of the scan's first checked result.
json to_json(const Match3DisjResult& r);
json to_json(const Match3DisjGrid& g);

// The grid as md | csv | latex | json text; anything else is a usage error on --format.
std::string render_grid(const Match3DisjGrid& g, const std::string& format);

// Runs f, turning the library's SizeLimitError into the command line's usage error on --force.
template <class F>
decltype(auto) with_size_guard(F&& f) {
  try {
    return f();
  } catch (const SizeLimitError& e) {
    throw UsageError("--force", e.what() + std::string("; pass --force to run it anyway"));
  }
}

}  // namespace attnbounds
