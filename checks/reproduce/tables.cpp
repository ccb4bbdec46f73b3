#include "tables.hpp"

#include <cctype>
#include <stdexcept>

#include "files.hpp"
#include "json_path.hpp"

namespace attnbounds {

TableFormat parse_table_format(std::string_view name) {
  if (name == "md" || name == "markdown") return TableFormat::Markdown;
  if (name == "csv") return TableFormat::Csv;
  if (name == "latex" || name == "tex") return TableFormat::Latex;
  if (name == "json") return TableFormat::Json;
  throw std::invalid_argument("--format: must be md, csv, latex or json (got '" + std::string(name) + "')");
}

bool looks_numeric(std::string_view s) {
  std::size_t i = 0, n = s.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > start;
  };
  if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
  bool whole = digits();
  if (i < n && s[i] == '/') {  // p/q
    ++i;
    return whole && digits() && i == n;
  }
  bool frac = false;
  if (i < n && s[i] == '.') {
    ++i;
    frac = digits();
  }
  if (!whole && !frac) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

std::string format_rational(const Rational& value, int digits, int direction) {
  std::string exact = to_exact_decimal_or_fraction(value);
  if (exact.find('/') == std::string::npos) {
    int significant = 0;
    bool leading = true;
    for (char ch : exact) {
      if (ch < '0' || ch > '9') continue;
      if (leading && ch == '0') continue;
      leading = false;
      ++significant;
    }
    // Trailing zeros of an integer count; that is fine for a display rule.
    if (significant <= digits) return exact;
  }
  return to_decimal_string(value, digits, direction);
}

namespace {

std::string column_alignment(const Table& t) {
  std::string align = t.align;
  for (std::size_t c = align.size(); c < t.headers.size(); ++c) {
    bool numeric = false, other = false;
    for (const auto& row : t.rows) {
      if (c >= row.size() || row[c] == kNotAvailable || row[c].empty()) continue;
      (looks_numeric(row[c]) ? numeric : other) = true;
    }
    align += (numeric && !other) ? 'r' : 'l';
  }
  return align;
}

std::string md_cell(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|' || ch == '*' || ch == '_') out += '\\';
    if (ch == '\n') out += ' ';
    else out += ch;
  }
  return out;
}

std::string csv_cell(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

const std::string& cell_at(const std::vector<std::string>& row, std::size_t c) {
  static const std::string empty;
  return c < row.size() ? row[c] : empty;
}

}  // namespace

std::string render_markdown(const Table& t) {
  std::string out;
  if (!t.title.empty()) out += "**" + md_cell(t.title) + "**\n\n";
  std::string align = column_alignment(t);
  out += "|";
  for (const auto& h : t.headers) out += " " + md_cell(h) + " |";
  out += "\n|";
  for (std::size_t c = 0; c < t.headers.size(); ++c) out += align[c] == 'r' ? "---:|" : align[c] == 'c' ? ":---:|" : "---|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (std::size_t c = 0; c < t.headers.size(); ++c) out += " " + md_cell(cell_at(row, c)) + " |";
    out += "\n";
  }
  if (!t.notes.empty()) {
    out += "\n";
    for (const auto& n : t.notes) out += "- " + md_cell(n) + "\n";
  }
  return out;
}

std::string render_csv(const Table& t) {
  std::string out;
  for (std::size_t c = 0; c < t.headers.size(); ++c) out += (c ? "," : "") + csv_cell(t.headers[c]);
  out += "\n";
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < t.headers.size(); ++c) out += (c ? "," : "") + csv_cell(cell_at(row, c));
    out += "\n";
  }
  return out;
}

std::string latex_escape(std::string_view s) {
  struct Map {
    std::string_view from, to;
  };
  static const Map unicode[] = {
      {"·", "$\\cdot$"},  {"≥", "$\\geq$"},     {"≤", "$\\leq$"},    {"×", "$\\times$"}, {"ε", "$\\varepsilon$"},
      {"′", "$'$"},       {"−", "$-$"},         {"✓", "yes"},        {"✗", "no"},        {"–", "--"},
      {"—", "---"},       {"→", "$\\to$"},      {"∞", "$\\infty$"},  {"±", "$\\pm$"},    {"δ", "$\\delta$"},
      {"θ", "$\\theta$"}, {"φ", "$\\varphi$"},  {"ψ", "$\\psi$"},    {"≈", "$\\approx$"}, {"²", "$^2$"},
      {"∧", "$\\wedge$"}, {"∅", "$\\emptyset$"}, {"⌈", "$\\lceil$"}, {"⌉", "$\\rceil$"}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool mapped = false;
    for (const auto& m : unicode)
      if (s.substr(i, m.from.size()) == m.from) {
        out += m.to;
        i += m.from.size();
        mapped = true;
        break;
      }
    if (mapped) continue;
    char ch = s[i++];
    switch (ch) {
      case '&': out += "\\&"; break;
      case '%': out += "\\%"; break;
      case '$': out += "\\$"; break;
      case '#': out += "\\#"; break;
      case '_': out += "\\_"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      case '<': out += "\\textless{}"; break;
      case '>': out += "\\textgreater{}"; break;
      case '|': out += "\\textbar{}"; break;
      case '\n': out += ' '; break;
      default: out += ch;
    }
  }
  return out;
}

std::string render_latex(const Table& t) {
  std::string align = column_alignment(t);
  std::string out;
  out += "% attnbounds table '" + t.id + "'. Requires \\usepackage{booktabs}.\n";
  out += "\\begin{table}[htbp]\n\\centering\n\\small\n";
  out += "\\begin{tabular}{" + align.substr(0, t.headers.size()) + "}\n\\toprule\n";
  for (std::size_t c = 0; c < t.headers.size(); ++c) {
    bool raw = c < t.latex_headers.size() && !t.latex_headers[c].empty();
    out += (c ? " & " : "") + (raw ? t.latex_headers[c] : latex_escape(t.headers[c]));
  }
  out += " \\\\\n\\midrule\n";
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < t.headers.size(); ++c) out += (c ? " & " : "") + latex_escape(cell_at(row, c));
    out += " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  if (!t.notes.empty()) {
    out += "\\par\\smallskip{\\footnotesize\n";
    for (const auto& n : t.notes) out += latex_escape(n) + "\\\\\n";
    out += "}\n";
  }
  if (!t.title.empty()) out += "\\caption{" + latex_escape(t.title) + "}\n";
  out += "\\label{tab:" + t.id + "}\n\\end{table}\n";
  return out;
}

json table_to_json(const Table& t) {
  json j;
  j["id"] = t.id;
  j["title"] = t.title;
  j["headers"] = t.headers;
  j["rows"] = t.rows;
  j["notes"] = t.notes;
  return j;
}

std::string render(const Table& t, TableFormat format) {
  switch (format) {
    case TableFormat::Markdown: return render_markdown(t);
    case TableFormat::Csv: return render_csv(t);
    case TableFormat::Latex: return render_latex(t);
    case TableFormat::Json: return table_to_json(t).dump(2) + "\n";
  }
  return {};
}

Table table_from_objects(const std::string& id, const std::string& title, const json& objects,
                         const std::vector<ColumnRef>& columns) {
  Table t;
  t.id = id;
  t.title = title;
  for (const auto& c : columns) t.headers.push_back(c.header);
  if (!objects.is_array()) return t;
  for (const auto& object : objects) {
    std::vector<std::string> row;
    for (const auto& c : columns) {
      const json* v = find_path(object, c.path);
      row.push_back(v ? display_value(*v) : std::string(kNotAvailable));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<std::filesystem::path> write_table_files(const Table& t, const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths = {dir / (t.id + ".md"), dir / (t.id + ".csv"), dir / (t.id + ".tex")};
  write_text_file(paths[0], render_markdown(t));
  write_text_file(paths[1], render_csv(t));
  write_text_file(paths[2], render_latex(t));
  return paths;
}

}  // namespace attnbounds
