// `attnbounds reproduce`: a driver over the documented CLI contract.  Each manifest run is a
// subprocess of this binary with --json; its JSON result feeds the report, the tables and the
// plots.  Nothing here knows about a particular theorem: the manifest names the fields.
// Code: reproduce.cpp (runs, driver), reproduce_tables.cpp (tables, plots), reproduce_report.cpp.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest.hpp"
#include "plots.hpp"
#include "provenance.hpp"
#include "checks/tables.hpp"

namespace attnbounds {

struct ReproduceOptions {
  std::filesystem::path out = "out";
  std::string manifest_label = "default";  // shown in the report and results.json
  std::vector<std::string> only;           // run ids containing any of these; empty = all
  double timeout_seconds = 0;              // > 0 overrides the manifest's per-run limits
  std::string gnuplot = "gnuplot";         // empty: write scripts only
  bool progress = true;                    // progress lines on stderr
  std::string invocation = "attnbounds reproduce";
  bool resume = false;  // reuse the runs the journal in `out` records (unchanged ones only)
};

// What happened to one run.  `status`: holds | fails | undecided | ok (a result), or
// not-available | error | timeout (no result), or skipped (filtered out by --only).
struct RunOutcome {
  const RunSpec* spec = nullptr;
  std::vector<std::string> argv;  // as shown to users: "attnbounds", args..., "--json"
  std::string status = "skipped";
  int exit_status = -1;
  json result;          // the command's JSON with volatile keys (seconds, threads) removed
  std::string error;    // first line(s) of stderr, or why the run could not start
  std::string warning;  // e.g. exit status disagrees with the verdict
  double wall_seconds = 0;
  json reported_seconds;  // the command's own `seconds`, for timings.json
  json threads;           // the command's `threads`, for timings.json
  bool from_journal = false;  // taken from the journal of an interrupted reproduce (--resume)

  bool produced_result() const;
  bool as_expected() const;  // true when no expectation or the status is one of them
};

// Keys dropped from results.json (they go to timings.json instead).
const std::vector<std::string>& volatile_keys();

// Runs one manifest entry as a subprocess; `program` is this binary unless the run names one.
// Runs in `cwd` (reproduce uses the output directory, so files a run writes, such as
// certificates/<name>.json, land there and later runs can read them by the same relative path).
RunOutcome execute_run(const RunSpec& run, const std::string& self, double timeout_seconds,
                       const std::filesystem::path& cwd = {});

// A table cell: display text plus the number behind it (for expressions and plots).
struct TableCell {
  std::string text;                // for display (decimals, sig, map applied)
  std::optional<double> number;
  std::string data;                // for the CSV: the producer's exact value, or the shortest round-trip double
};
struct BuiltTable {
  Table table;                                // what is rendered (pivoted if the spec says so)
  std::vector<std::string> column_ids;        // of the flat rows
  std::vector<std::vector<TableCell>> flat;   // one row per run or array element, before pivoting
  std::vector<std::string> flat_runs;         // the run each flat row comes from
};
// The tidy CSV of a table: one line per flat row, a `run` column, then one column per shown
// column (named by its id) with the full-precision data.
std::string tidy_csv(const BuiltTable& table, const TableSpec& spec);

BuiltTable build_table(const TableSpec& spec, const std::vector<RunOutcome>& outcomes, const Manifest& manifest);
Plot build_plot(const PlotSpec& spec, const BuiltTable& table, const Manifest& manifest);

// What report.md is written from.
struct ReportInputs {
  const Manifest* manifest;
  const ReproduceOptions* options;
  const std::vector<RunOutcome>* outcomes;
  const std::vector<BuiltTable>* tables;
  const std::vector<std::pair<Plot, PlotFiles>>* plots;
  int exit_status;
  const Provenance* provenance;
};
std::string write_report_markdown(const ReportInputs& inputs);

// Runs everything and writes DIR/report.md, DIR/tables/, DIR/plots/, DIR/results.json and
// DIR/timings.json.  Returns the exit status: 0 every selected run produced a result as
// expected, 1 some result contradicts the manifest's expectation, 3 some run produced no
// result (not available, error, timeout) and none contradicts.  Holds DIR/reproduce.lock
// while it works and records each finished run in DIR/reproduce-journal.jsonl; on SIGINT,
// SIGTERM or SIGHUP it kills the running child's process group, writes no report and ends by
// that signal.  `summary`, when given, receives results.json's summary (read while the lock is
// held, so no other reproduce can have replaced the file).
int run_reproduce(const Manifest& manifest, const ReproduceOptions& options, json* summary = nullptr);

// Writes every output of `reproduce` from outcomes that already exist (for example read back from
// a results.json with outcomes_from_results); returns the exit status run_reproduce would.
int write_reproduce_outputs(const Manifest& manifest, const ReproduceOptions& options,
                            const std::vector<RunOutcome>& ran, const Provenance& provenance, json* summary = nullptr);
// The runs recorded in a results.json, matched to `manifest`'s runs by id (unknown ids are
// skipped).  The outcomes point into `manifest`.
std::vector<RunOutcome> outcomes_from_results(const Manifest& manifest, const json& results);

}  // namespace attnbounds
