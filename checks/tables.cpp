#include "tables.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

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

namespace {

// Markdown text: math spans $...$ kept verbatim (GitHub renders them), the rest escaped.
std::string md_text(std::string_view s) {
  std::string out;
  bool math = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (ch == '\\' && i + 1 < s.size() && s[i + 1] == '$') {
      out += "\\$";
      ++i;
      continue;
    }
    if (ch == '$') math = !math;
    if (ch == '|') out += "\\|";
    else if (math) out += ch;
    else out += md_cell(std::string_view(&ch, 1));
  }
  return out;
}

std::string column_list(const Table& t, bool latex) {
  std::string out;
  for (std::size_t c = 0; c < t.headers.size() && c < t.descriptions.size(); ++c) {
    if (t.descriptions[c].empty()) continue;
    bool raw = latex && c < t.latex_headers.size() && !t.latex_headers[c].empty();
    std::string name = raw ? latex_text(t.latex_headers[c]) : latex ? latex_text(t.headers[c]) : md_text(t.headers[c]);
    std::string what = latex ? latex_text(t.descriptions[c]) : md_text(t.descriptions[c]);
    out += (out.empty() ? "" : "; ") + (latex ? "\\emph{" + name + "}" : "*" + name + "*") + ": " + what;
  }
  return out.empty() ? out : "Columns: " + out + ".";
}

}  // namespace

std::string render_markdown(const Table& t) {
  std::string out;
  for (const auto& c : t.comments) {
    std::string clean;
    for (char ch : c) clean += (ch == '-' && !clean.empty() && clean.back() == '-') ? ' ' : ch;
    out += "<!-- " + clean + " -->\n";
  }
  if (!t.comments.empty()) out += "\n";
  if (!t.title.empty()) out += "**" + md_text(t.title) + "**\n\n";
  std::string align = column_alignment(t);
  out += "|";
  for (const auto& h : t.headers) out += " " + md_text(h) + " |";
  out += "\n|";
  for (std::size_t c = 0; c < t.headers.size(); ++c) out += align[c] == 'r' ? "---:|" : align[c] == 'c' ? ":---:|" : "---|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (std::size_t c = 0; c < t.headers.size(); ++c) out += " " + md_cell(cell_at(row, c)) + " |";
    out += "\n";
  }
  std::string columns = column_list(t, false);
  if (!t.notes.empty() || !columns.empty()) {
    out += "\n";
    if (!columns.empty()) out += "- " + columns + "\n";
    for (const auto& n : t.notes) out += "- " + md_text(n) + "\n";
  }
  return out;
}

std::string csv_lines(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (std::size_t c = 0; c < header.size(); ++c) out += (c ? "," : "") + csv_cell(header[c]);
  out += "\n";
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < header.size(); ++c) out += (c ? "," : "") + csv_cell(cell_at(row, c));
    out += "\n";
  }
  return out;
}

std::string render_csv(const Table& t) { return csv_lines(t.headers, t.rows); }

std::string shortest_double(double v) {
  std::array<char, 64> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
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

namespace {

// Math commands a manifest may use inside $...$: symbols and operators, nothing that reads or
// writes files or redefines anything.
bool allowed_math_command(std::string_view name) {
  static const std::string_view names[] = {
      "log",    "ln",     "exp",     "lg",      "min",    "max",     "sup",    "inf",    "cdot",   "times",
      "leq",    "geq",    "le",      "ge",      "neq",    "approx",  "sim",    "varepsilon", "epsilon", "delta",
      "Delta",  "theta",  "varphi",  "phi",     "psi",    "mu",      "sigma",  "pi",     "alpha",  "beta",
      "gamma",  "lambda", "omega",   "tau",     "rho",    "eta",     "kappa",  "xi",     "zeta",   "chi",
      "lceil",  "rceil",  "lfloor",  "rfloor",  "mathrm", "mathit",  "mathbf", "mathcal", "infty", "pm",
      "to",     "ldots",  "cdots",   "dots",    "sum",    "prod",    "in",     "notin",  "subseteq", "subset",
      "emptyset", "wedge", "vee",    "mid",     "ell",    "quad",    "qquad",  "frac",   "sqrt",   "binom",
      "langle", "rangle", "lvert",   "rvert",   "top",    "prime",   "star",   "ast",    "circ",   "oplus",
      "otimes", "cap",    "cup",     "setminus", "lor",   "land",    "neg",    "exists", "forall"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

}  // namespace

std::string check_inline_math(std::string_view s) {
  bool math = false;
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (!math) {
      if (ch == '\\' && i + 1 < s.size() && s[i + 1] == '$') ++i;
      else if (ch == '$') math = true;
      continue;
    }
    if (ch == '$') {
      if (depth != 0) return "unbalanced braces in math '$...$'";
      math = false;
      continue;
    }
    if (ch == '\\') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
      std::string_view name = s.substr(i + 1, j - i - 1);
      if (name.empty()) {
        if (j < s.size() && std::string_view(",;!{}| ").find(s[j]) != std::string_view::npos) {
          i = j;
          continue;
        }
        return "math '$...$' may not use '\\" + std::string(j < s.size() ? s.substr(j, 1) : "") + "'";
      }
      if (!allowed_math_command(name)) return "math '$...$' may not use \\" + std::string(name) + " (only symbols such as \\log, \\cdot, \\leq)";
      i = j - 1;
      continue;
    }
    if (ch == '{') {
      ++depth;
    } else if (ch == '}') {
      if (--depth < 0) return "unbalanced braces in math '$...$'";
    } else if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string_view(" ^_()[]+-*/=<>,.;:'|!").find(ch) == std::string_view::npos)
      return std::string("math '$...$' may not contain '") + ch + "'";
  }
  if (math) return "unterminated math '$...'";
  return "";
}

std::string latex_text(std::string_view s) {
  if (!check_inline_math(s).empty()) return latex_escape(s);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '$') {
      out += "\\$";
      i += 2;
      continue;
    }
    if (s[i] == '$') {
      std::size_t close = s.find('$', i + 1);
      out += s.substr(i, close - i + 1);
      i = close + 1;
      continue;
    }
    std::size_t next = i;
    while (next < s.size() && s[next] != '$' && !(s[next] == '\\' && next + 1 < s.size() && s[next + 1] == '$')) ++next;
    out += latex_escape(s.substr(i, next - i));
    i = next;
  }
  return out;
}

std::string plain_text(std::string_view s) {
  static const std::pair<std::string_view, std::string_view> symbols[] = {
      {"cdot", "·"}, {"times", "×"},  {"leq", "≤"},   {"geq", "≥"},   {"le", "≤"},  {"ge", "≥"},     {"neq", "≠"},
      {"approx", "≈"}, {"varepsilon", "ε"}, {"epsilon", "ε"}, {"delta", "δ"}, {"theta", "θ"}, {"varphi", "φ"},
      {"psi", "ψ"},  {"mu", "μ"},     {"sigma", "σ"}, {"pi", "π"},    {"infty", "∞"}, {"pm", "±"},   {"to", "→"},
      {"lceil", "⌈"}, {"rceil", "⌉"}, {"lfloor", "⌊"}, {"rfloor", "⌋"}, {"ldots", "…"}, {"cdots", "⋯"}, {"in", "∈"},
      {"emptyset", "∅"}, {"wedge", "∧"}, {"prime", "′"}, {"star", "*"}, {"ast", "*"}};
  std::string out;
  bool math = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (ch == '\\' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (ch == '$') {
      math = !math;
      continue;
    }
    if (!math) {
      out += ch;
      continue;
    }
    if (ch == '{' || ch == '}') continue;
    if (ch == '\\') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
      std::string_view name = s.substr(i + 1, j - i - 1);
      std::string_view text = name;
      for (const auto& [from, to] : symbols)
        if (from == name) text = to;
      bool word = text == name;  // \log, \min, \mathrm ...: a word
      if (name == "mathrm" || name == "mathit" || name == "mathbf" || name == "mathcal" || name == "quad" || name == "qquad") text = "";
      if (word && !text.empty() && !out.empty() && std::isalnum(static_cast<unsigned char>(out.back()))) out += ' ';
      out += text;
      i = j - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

namespace {

std::string fmt_continued(std::size_t columns) {
  return "\\midrule\n\\multicolumn{" + std::to_string(columns) + "}{r}{\\footnotesize continued on the next page}\\\\\n\\endfoot\n";
}

bool is_decimal_number(std::string_view s) { return looks_numeric(s) && s.find('/') == std::string_view::npos; }

// siunitx's table-format for a column of decimal numbers: sign, integer and fraction digits,
// exponent.  Empty when the column has no decimal number.
std::string table_format(const Table& t, std::size_t c) {
  bool any = false, negative = false, exponent = false, negative_exponent = false;
  int integer = 1, fraction = 0, exp_digits = 0;
  for (const auto& row : t.rows) {
    const std::string& cell = cell_at(row, c);
    if (!is_decimal_number(cell)) continue;
    any = true;
    std::size_t i = 0;
    if (cell[i] == '-' || cell[i] == '+') negative = negative || cell[i++] == '-';
    int digits = 0;
    while (i < cell.size() && std::isdigit(static_cast<unsigned char>(cell[i]))) ++i, ++digits;
    integer = std::max(integer, digits);
    if (i < cell.size() && cell[i] == '.') {
      int f = 0;
      for (++i; i < cell.size() && std::isdigit(static_cast<unsigned char>(cell[i])); ++i) ++f;
      fraction = std::max(fraction, f);
    }
    if (i < cell.size() && (cell[i] == 'e' || cell[i] == 'E')) {
      exponent = true;
      ++i;
      if (i < cell.size() && (cell[i] == '-' || cell[i] == '+')) negative_exponent = negative_exponent || cell[i++] == '-';
      exp_digits = std::max(exp_digits, static_cast<int>(cell.size() - i));
    }
  }
  if (!any) return "";
  std::string f = (negative ? "-" : "") + std::to_string(integer);
  if (fraction > 0) f += "." + std::to_string(fraction);
  if (exponent) f += std::string("e") + (negative_exponent ? "-" : "") + std::to_string(exp_digits);
  return f;
}

// Column types: S (siunitx) for columns of decimal numbers, else l or r as in Markdown.
std::vector<std::string> latex_columns(const Table& t) {
  std::string align = column_alignment(t);
  std::vector<std::string> cols;
  for (std::size_t c = 0; c < t.headers.size(); ++c) {
    bool all_decimal = true, any = false;
    for (const auto& row : t.rows) {
      const std::string& cell = cell_at(row, c);
      if (cell.empty() || cell == kNotAvailable) continue;
      any = true;
      all_decimal = all_decimal && is_decimal_number(cell);
    }
    std::string format = any && all_decimal ? table_format(t, c) : "";
    cols.push_back(format.empty() ? std::string(1, align[c]) : "S[table-format=" + format + "]");
  }
  return cols;
}

std::string latex_header_row(const Table& t, const std::vector<std::string>& cols) {
  std::string out;
  for (std::size_t c = 0; c < t.headers.size(); ++c) {
    bool raw = c < t.latex_headers.size() && !t.latex_headers[c].empty();
    std::string h = latex_text(raw ? t.latex_headers[c] : t.headers[c]);
    if (cols[c][0] == 'S') h = "{" + h + "}";
    out += (c ? " & " : "") + h;
  }
  return out + " \\\\\n";
}

std::string latex_body(const Table& t, const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < t.headers.size(); ++c) {
      const std::string& cell = cell_at(row, c);
      std::string text = cols[c][0] == 'S' && is_decimal_number(cell) ? cell : latex_escape(cell);
      if (cols[c][0] == 'S' && !is_decimal_number(cell)) text = "{" + text + "}";
      out += (c ? " & " : "") + text;
    }
    out += " \\\\\n";
  }
  return out;
}

std::string latex_comments(const Table& t) {
  std::string out = "% attnbounds table '" + t.id + "'. Requires \\usepackage{booktabs,siunitx}" +
                    (t.rows.size() > kLongTableRows ? " and \\usepackage{longtable}" : "") + ".\n";
  for (const auto& c : t.comments) {
    std::string clean;
    for (char ch : c) clean += (ch == '\n' || ch == '\r') ? ' ' : ch;
    out += "% " + clean + "\n";
  }
  return out;
}

std::string column_spec(const std::vector<std::string>& cols) {
  std::string spec;
  for (const auto& c : cols) spec += c;
  return spec;
}

std::string latex_notes(const Table& t) {
  std::string columns = column_list(t, true);
  if (t.notes.empty() && columns.empty()) return "";
  std::string out;
  if (!columns.empty()) out += columns + "\\par\n";
  for (const auto& n : t.notes) out += latex_text(n) + "\\par\n";
  return out;
}

std::string latex_table(const Table& t, bool as_float) {
  auto cols = latex_columns(t);
  std::string out = latex_comments(t);
  std::string header = latex_header_row(t, cols);
  std::string caption = t.title.empty() ? "" : "\\caption{" + latex_text(t.title) + "}\\label{tab:" + t.id + "}";
  if (t.rows.size() > kLongTableRows) {
    if (as_float) out += "{\\small\n";
    out += "\\begin{longtable}{" + column_spec(cols) + "}\n";
    if (as_float && !caption.empty()) out += caption + "\\\\\n";
    out += "\\toprule\n" + header + "\\midrule\n\\endfirsthead\n";
    out += "\\toprule\n" + header + "\\midrule\n\\endhead\n";
    out += fmt_continued(cols.size());
    out += "\\bottomrule\n\\endlastfoot\n";
    out += latex_body(t, cols);
    out += "\\end{longtable}\n";
    if (as_float) {
      std::string notes = latex_notes(t);
      if (!notes.empty()) out += "{\\footnotesize\n" + notes + "}\n";
      out += "}\n";
    }
    return out;
  }
  if (as_float) out += "\\begin{table}[htbp]\n\\centering\n\\small\n" + (caption.empty() ? "" : caption + "\n");
  out += "\\begin{tabular}{" + column_spec(cols) + "}\n\\toprule\n" + header + "\\midrule\n" + latex_body(t, cols) +
         "\\bottomrule\n\\end{tabular}\n";
  if (as_float) {
    std::string notes = latex_notes(t);
    if (!notes.empty()) out += "\\par\\smallskip\n\\begin{minipage}{\\linewidth}\\footnotesize\n" + notes + "\\end{minipage}\n";
    out += "\\end{table}\n";
  }
  return out;
}

}  // namespace

std::string render_latex(const Table& t) { return latex_table(t, false); }
std::string render_latex_float(const Table& t) { return latex_table(t, true); }

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


}  // namespace attnbounds
