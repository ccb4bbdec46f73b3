// Claim metadata, declared once: theorem, provenance, supported semantics and limits of every
// command that checks, evaluates, measures or reduces.  `list`, every result's "theorem" and
// "provenance" fields and the claims table of docs/theorems.md are all made from this table
// (tests/test_claims_table.cpp compares them), so they cannot disagree.
#pragma once
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct ClaimInfo {
  std::string verb;        // check | eval | min-p | min-m | lower | cc | export | replay
  std::string name;        // "qsa-cyclic"; a variant adds its flag: "match2 --no-residual"
  std::string theorem;     // "Theorem 3", "§4.3 (Match2, constant m)"
  std::string provenance;  // "paper statement; moment-curve construction ours" (see docs/theorems.md)
  std::string semantics;   // the semantics the claim runs under, in words
  std::string limits;      // sizes accepted (and the size guard, lifted by --force)
  std::string verdict_rule{};  // the comparison behind holds / fails / undecided ("" when no verdict)
};

// Every row, in (verb, name) order.
const std::vector<ClaimInfo>& claim_table();
// The row of (verb, name); std::logic_error when there is none (a command without metadata).
const ClaimInfo& claim_info(const std::string& verb, const std::string& name);
// The verdict rule of a result of `verb name` (a variant's flag, as in "match2 --no-residual", may
// be left out): the comparison its verdict makes; "" for a command without a verdict.
std::string claim_verdict_rule(const std::string& verb, const std::string& name);
// make_result with the row's theorem and provenance.
json make_claim_result(const std::string& verb, const std::string& name, const json& params, const std::string& semantics);
// The table as Markdown (the block docs/theorems.md embeds between its claims-table markers).
std::string claim_table_markdown();

}  // namespace attnbounds
