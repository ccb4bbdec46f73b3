// `attnbounds regress`: approval-style regression baselines (docs/reproduce.md).  Each baseline
// file names a command and the values its JSON result must reproduce: verdict, p*, m*, whether
// a counterexample exists, worst-case values within a stated tolerance.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct Baseline {
  std::filesystem::path file;
  std::string name, description;
  std::vector<std::string> args;  // without --json (appended)
  std::string program;            // empty = this binary; relative paths are relative to the file
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
  json result;          // the command's JSON (null when none)
  std::vector<FieldDiff> diffs;
};

// Fields tracked when a baseline's expect is empty and --update fills it.
const std::vector<std::string>& default_tracked_fields();

// The value of a baseline field in a result: a JSON path, or "$exit" (exit status) or
// "$counterexample" (true iff verdict is "fails" and worst.witness is present).  Null if missing.
json baseline_field(const json& result, int exit_status, const std::string& field);

// Throws UsageError("--baselines", ...) naming the file on a malformed baseline.
Baseline parse_baseline(const json& document, const std::filesystem::path& file);
std::vector<Baseline> load_baselines(const std::filesystem::path& dir);

BaselineCheck check_baseline(const Baseline& baseline, const std::string& self, double timeout_seconds);
// Rewrites the baseline's expect from the check's actual values: its own fields plus every
// default tracked field the result has (a worst.value gets tolerance 1e-12 unless one is
// stated); returns the changed fields.
std::vector<FieldDiff> update_baseline(const Baseline& baseline, const BaselineCheck& check);

struct RegressOptions {
  std::filesystem::path dir;
  bool update = false;
  std::vector<std::string> only;
  double timeout_seconds = 600;
  bool json = false;
};
// Prints a readable report (or JSON) on stdout; returns 0 when every baseline matches (or was
// updated), 1 on any mismatch.
int run_regress(const RegressOptions& options);

}  // namespace attnbounds
