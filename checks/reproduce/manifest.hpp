// The reproduce manifest (docs/reproduce.md): runs of the CLI, and the tables and plots built
// from their JSON results.  Parsing validates everything up front so that a typo in a manifest
// is a one-line usage error, not a crash halfway through a long run.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct KeyField {
  std::string label;
  std::string path;
};

struct RunSpec {
  std::string id;
  std::string theorem;     // groups runs in the report ("Theorem 3", "§4.3 Match2", ...)
  std::string statement;   // optional; falls back to the theorem entry
  std::string provenance;  // "paper", "ours", "paper statement; construction ours", ...
  std::string what;        // one line: what this run checks
  std::vector<std::string> args;
  std::string program;                // empty = this attnbounds binary (tests use a script)
  bool append_json = true;            // append --json to args
  std::vector<std::string> expect;    // accepted statuses: holds, fails, undecided, ok; empty = any result
  double timeout_seconds = 0;         // 0 = manifest default
  std::vector<KeyField> key;          // extra numbers for the report (missing -> n/a)
  json tags = json::object();         // free-form labels tables can read as "$tag.<name>"
};

struct TheoremSpec {
  std::string theorem, title;
  std::string statement, provenance;         // the claim and whose it is: paper | ours | fact
  std::string method, method_provenance;     // how the toolkit checks it, and whose that is
};

struct ColumnSpec {
  std::string id, header, latex;
  std::string description;  // what the column means (listed under the table)
  std::string path;      // JSON path (element path in array mode; "$run.<path>" reaches the run)
  std::string expr;      // arithmetic over earlier columns (by id)
  std::string templ;     // text with {column_id} placeholders
  int decimals = -1;     // fixed decimals for numbers
  int sig = -1;          // significant digits for numbers (exact rounding)
  int round = 0;         // with sig: -1 down, 0 nearest, +1 up
  std::map<std::string, std::string> map;  // text substitutions, e.g. holds -> pass
  std::string missing = "n/a";
  bool hidden = false;   // computed for plots and templates, not shown in the table
};

struct PivotSpec {
  std::string rows, cols, cell;  // column ids; cell is a template like "{verdict} ({bits} b)"
  std::string corner;            // top-left header
  std::string mark;              // expression over column ids; true -> marker appended
  std::string marker = "*";
  std::string mark_note;         // explanation printed under the table
};

struct TableSpec {
  std::string id, title;
  std::vector<std::string> runs;  // run ids, rows in this order
  std::string array;              // optional: one row per element of this array in each run
  std::vector<ColumnSpec> columns;
  std::optional<PivotSpec> pivot;
  std::vector<std::string> notes;
};

struct SeriesSpec {
  std::string y;            // column id
  std::string label;        // legend text; may use {column_id} of the group_by column
  std::string group_by;     // column id: one series per distinct value
  std::string style = "linespoints";
  std::map<std::string, std::string> colors;  // group value (or label) -> "#rrggbb"
};

struct CurveSpec {
  std::string expr;  // in x and the manifest's vars
  std::string label;
  std::optional<double> from, to;  // default: the data's x range
  int samples = 64;
  std::string color;
};

// A vertical reference line x = expr (over the manifest's vars), drawn across the data's y range:
// the message-bit line of Theorems 4 and 7.
struct VLineSpec {
  std::string expr;
  std::string label;
  std::string color;
};

struct PlotSpec {
  std::string id, title, xlabel, ylabel;
  std::string table;  // table id whose (unpivoted) rows are plotted
  std::string x;      // column id
  bool categorical_x = false;
  bool logx = false, logy = false;
  std::vector<SeriesSpec> series;
  std::vector<CurveSpec> curves;
  std::vector<VLineSpec> vlines;
};

struct Manifest {
  std::string name = "manifest";
  std::string description;
  double timeout_seconds = 600;
  std::map<std::string, double> vars;  // constants for plot curves
  std::vector<TheoremSpec> theorems;
  std::vector<RunSpec> runs;
  std::vector<TableSpec> tables;
  std::vector<PlotSpec> plots;

  const RunSpec* find_run(const std::string& id) const;
  const TheoremSpec* find_theorem(const std::string& theorem) const;
};

// Parses and validates; throws UsageError("--manifest", ...) naming the offending entry.
Manifest parse_manifest(const json& j);
Manifest parse_manifest_text(const std::string& text, const std::string& origin);

// The manifest shipped as manifests/default.json, embedded in the binary at build time.
const std::string& default_manifest_text();

}  // namespace attnbounds
