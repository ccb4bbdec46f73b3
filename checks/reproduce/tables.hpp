// One table type, rendered as Markdown, CSV and a LaTeX booktabs fragment.  Used by
// `reproduce` and by any command that prints a grid (min-m, lower --grid): build a Table,
// then call render(table, format).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "numeric/rational.hpp"
#include "checks/result_json.hpp"

namespace attnbounds {

enum class TableFormat { Markdown, Csv, Latex, Json };
// "md" | "csv" | "latex" | "json"; throws std::invalid_argument otherwise.
TableFormat parse_table_format(std::string_view name);

struct Table {
  std::string id;       // file stem: tables/<id>.md, .csv, .tex
  std::string title;    // heading in Markdown, \caption in LaTeX
  std::vector<std::string> headers;
  std::vector<std::string> latex_headers;  // optional per-column override (raw LaTeX); "" = escape header
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // printed under the table (LaTeX: as a footnotesize paragraph)
  // Per-column alignment 'l' | 'r' | 'c'; empty = numeric columns right, others left.
  std::string align;
};

// The cell text used when a field is missing.
inline constexpr const char* kNotAvailable = "n/a";

std::string render_markdown(const Table& t);
// RFC 4180: fields with a comma, quote or newline are quoted; header row first; no notes.
std::string render_csv(const Table& t);
// A table float with \toprule/\midrule/\bottomrule (needs \usepackage{booktabs}); compiles
// as-is when \input inside a document.
std::string render_latex(const Table& t);
json table_to_json(const Table& t);
std::string render(const Table& t, TableFormat format);

// Escapes LaTeX specials and maps common Unicode math symbols (·, ≥, ≤, ×, ε, ′, −, ✓, ✗) to
// commands so the fragment compiles under pdflatex.
std::string latex_escape(std::string_view text);

// A table from an array of JSON objects (e.g. a grid command's cells): one row per object, one
// column per {header, path}; a missing field shows n/a.  For `--format md|csv|latex|json`.
struct ColumnRef {
  std::string header;
  std::string path;  // JSON path into each object (see report/json_path.hpp)
};
Table table_from_objects(const std::string& id, const std::string& title, const json& objects,
                         const std::vector<ColumnRef>& columns);

// Writes dir/<id>.md, dir/<id>.csv and dir/<id>.tex; returns the three paths.
std::vector<std::filesystem::path> write_table_files(const Table& t, const std::filesystem::path& dir);

// A rational for display: its exact decimal when that is short (at most `digits` significant
// digits), otherwise `digits` significant digits rounded in `direction` (-1 down, 0 nearest,
// +1 up) so that a rounded bound never overstates.
std::string format_rational(const Rational& value, int digits, int direction);

// True when `text` is a decimal number (optionally signed, with fraction/exponent) or p/q.
bool looks_numeric(std::string_view text);

}  // namespace attnbounds
