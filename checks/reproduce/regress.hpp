// `attnbounds regress`: approval-style regression baselines (docs/reproduce.md).  Each baseline
// file names a command and holds its whole normalised JSON result and exit status; optional
// `expect` entries pin single fields (verdict, p*, worst case within a tolerance).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct Baseline {
  std::filesystem::path file;
  std::string name, description;
  std::vector<std::string> args;  // without --json (appended)
  std::string program;            // empty = this binary; relative paths are relative to the file
  std::optional<int> exit_status;    // the recorded exit status (whole-output baselines)
  std::optional<json> result;        // the recorded normalised result (whole-output baselines)
  json expect = json::object();   // path -> expected value; "$exit", "$counterexample" are derived
  json tolerances = json::object();  // path -> decimal string; numbers compare within it (default exact)
  json document;                  // the whole file, to rewrite it with --update
};

struct FieldDiff {
  std::string field, expected, actual, note;
};

struct BaselineCheck {
  const Baseline* baseline = nullptr;
  std::string command;  // as users can paste it
  int exit_status = -1;
  std::string error;    // stderr summary when the command did not produce JSON
  json result;          // the command's normalised JSON (null when none)
  std::vector<FieldDiff> diffs;
};

// Keys removed at any depth before results are compared or stored (they legitimately differ
// between two identical runs or machines), and top-level keys removed likewise.
const std::vector<std::string>& volatile_result_keys();
const std::vector<std::string>& volatile_top_level_keys();
// A copy of `result` without the volatile keys.
json normalise_result(json result);

// Every difference between two JSON values, by path ("worst.value", "rows[2].m"); numbers and
// numeric strings compare exactly as rationals, or within tolerances[path] when one is given.
// At most `limit` differences are listed.
std::vector<FieldDiff> diff_json(const json& expected, const json& actual, const json& tolerances,
                                 std::size_t limit = 20);

// The value of a baseline field in a result: a JSON path, or "$exit" (exit status) or
// "$counterexample" (true iff verdict is "fails" and worst.witness is present).  Null if missing.
json baseline_field(const json& result, int exit_status, const std::string& field);

// Throws UsageError("--baselines", ...) naming the file on a malformed baseline.
Baseline parse_baseline(const json& document, const std::filesystem::path& file);
// Every *.json file of `dir` except the NAME.new.json files regress writes beside them.
std::vector<Baseline> load_baselines(const std::filesystem::path& dir);
// NAME.new.json beside NAME.json: the new output of a baseline that differs, for review.
std::filesystem::path new_output_path(const Baseline& baseline);

BaselineCheck check_baseline(const Baseline& baseline, const std::string& self, double timeout_seconds);
// The baseline document with the check's exit status and normalised result (and its `expect`
// fields, if any, refreshed from the result).
json approved_document(const Baseline& baseline, const BaselineCheck& check);
// Replaces the baseline file atomically by approved_document and removes NAME.new.json;
// returns what changed.
std::vector<FieldDiff> update_baseline(const Baseline& baseline, const BaselineCheck& check);

struct RegressOptions {
  std::filesystem::path dir;
  bool update = false;
  std::vector<std::string> only;
  double timeout_seconds = 600;
  bool json = false;
};
// Prints a readable report (or JSON) on stdout; returns 0 when every baseline matches (or was
// updated), 1 on any mismatch.  An --only name that matches no baseline is a UsageError.
int run_regress(const RegressOptions& options);

}  // namespace attnbounds
