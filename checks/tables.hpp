// One table type and the one writer of every table format: Markdown, CSV and LaTeX (a booktabs
// tabular fragment with siunitx number columns, and an optional float with the caption above).
// Used by `reproduce` and by every command that prints a grid (min-m, lower --grid): build a
// Table, then call render(table, format).  Writing table files lives in checks/reproduce/table_files.hpp.
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
  // What each column means ("" = not stated); listed under the table as "Columns: ...".
  std::vector<std::string> descriptions;
  // Lines written as comments at the top of the Markdown and LaTeX files (provenance).
  std::vector<std::string> comments;
  // Per-column alignment 'l' | 'r' | 'c'; empty = numeric columns right, others left.
  std::string align;
};

// The cell text used when a field is missing.
inline constexpr const char* kNotAvailable = "n/a";

std::string render_markdown(const Table& t);
// RFC 4180: fields with a comma, quote or newline are quoted; header row first; no notes.
std::string render_csv(const Table& t);
// A tabular fragment with \toprule/\midrule/\bottomrule: decimal columns are siunitx `S`
// columns (table-format from the data), headers in braces; more than kLongTableRows rows give a
// `longtable` instead.  Needs \usepackage{booktabs,siunitx} (and longtable for long tables).
std::string render_latex(const Table& t);
// The same table as a float: caption above, \label{tab:<id>}, \small, notes below (a long
// table stays a longtable with its caption inside).
std::string render_latex_float(const Table& t);
inline constexpr std::size_t kLongTableRows = 40;
json table_to_json(const Table& t);
std::string render(const Table& t, TableFormat format);

// Escapes LaTeX specials and maps common Unicode math symbols (·, ≥, ≤, ×, ε, ′, −, ✓, ✗) to
// commands so the fragment compiles under pdflatex.
std::string latex_escape(std::string_view text);
// Text that may contain inline math between $...$ (as in titles, notes and headers): the math is
// kept when it passes check_inline_math, everything else is escaped; a `\$` is a literal dollar.
std::string latex_text(std::string_view text);
// Empty when every $...$ span of `text` is balanced and uses only letters, digits, ^ _ { } ( ) [ ]
// + - * / = < > , . ; : ' | ! and a fixed list of math commands (\log, \cdot, \leq, ...), so that a
// manifest cannot smuggle \input or \write into a document; otherwise the reason.
std::string check_inline_math(std::string_view text);
// The same text for renderers without TeX (gnuplot, Markdown headings): $ removed, common math
// commands as Unicode.
std::string plain_text(std::string_view text);

// A table from an array of JSON objects (e.g. a grid command's cells): one row per object, one
// column per {header, path}; a missing field shows n/a.  For `--format md|csv|latex|json`.
struct ColumnRef {
  std::string header;
  std::string path;  // JSON path into each object (see checks/json_path.hpp)
};
Table table_from_objects(const std::string& id, const std::string& title, const json& objects,
                         const std::vector<ColumnRef>& columns);

// CSV of data (RFC 4180): header line, then one line per row.
std::string csv_lines(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// The shortest decimal that reads back as exactly `v` (std::to_chars), e.g. 0.1, 3, 1e-300.
std::string shortest_double(double v);

// A rational for display: its exact decimal when that is short (at most `digits` significant
// digits), otherwise `digits` significant digits rounded in `direction` (-1 down, 0 nearest,
// +1 up) so that a rounded bound never overstates.
std::string format_rational(const Rational& value, int digits, int direction);

// True when `text` is a decimal number (optionally signed, with fraction/exponent) or p/q.
bool looks_numeric(std::string_view text);

}  // namespace attnbounds
