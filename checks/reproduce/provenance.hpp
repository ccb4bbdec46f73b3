// Where an output came from: tool version, commit, compiler, library versions, command line,
// core count and date.  Written into results.json, the report and every table and figure source.
#pragma once
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct Provenance {
  std::string tool_version, git_commit, compiler;
  std::string gmp, mpfr, mpfi, glpk, boost;
  std::string command_line;  // of this process, shell-quoted
  unsigned cores = 0;
  std::string date;  // UTC, ISO 8601; SOURCE_DATE_EPOCH (when set) fixes it for reproducible outputs

  // "key: value" lines in a fixed order (for comments in tables, plots and the report).
  std::vector<std::pair<std::string, std::string>> fields() const;
  json to_json() const;
};

// The provenance of the running process.
Provenance current_provenance();

// The provenance as comment lines, each starting with `prefix` (e.g. "% " or "# ").
std::string provenance_comment(const Provenance& p, const std::string& prefix);

}  // namespace attnbounds
