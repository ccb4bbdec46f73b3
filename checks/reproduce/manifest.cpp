#include "manifest.hpp"

#include <fmt/format.h>

#include <set>

#include "checks/usage_error.hpp"
#include "reproduce/default_manifest_data.hpp"
#include "expr.hpp"
#include "checks/tables.hpp"
#include "core/input_file.hpp"
#include "core/safe_path.hpp"

namespace attnbounds {

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw UsageError("--manifest", where + ": " + what);
}

// Ids become file names below --out (tables/<id>.md, plots/<id>.gp, ...).
void require_file_id(const std::string& id, const std::string& where) {
  if (!is_safe_file_id(id))
    bad(where, "id must be 1..100 characters of letters, digits, '.', '_' or '-', starting with a letter or digit "
               "(it becomes a file name inside --out)");
}

// A run executes attnbounds inside --out: no argument may name a file outside it, and a run may not
// start another reproduce or regress (which write elsewhere).
void require_contained_args(const std::vector<std::string>& args, const std::string& where) {
  if (args[0] == "reproduce" || args[0] == "regress") bad(where, "a run may not be '" + args[0] + "'");
  for (const auto& a : args) {
    std::string value = a;
    if (a.rfind("--", 0) == 0) {
      std::size_t eq = a.find('=');
      if (eq == std::string::npos) continue;
      value = a.substr(eq + 1);
    }
    if (!value.empty() && !is_contained_relative_path(value))
      bad(where, "argument '" + a + "' names a path outside --out (absolute, or with '..')");
  }
}

void require_object(const json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!j.is_object()) bad(where, "must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      bad(where, "unknown field '" + it.key() + "' (allowed: " + list + ")");
    }
  }
}

std::string get_string(const json& j, const char* key, const std::string& where, bool required = false,
                       const std::string& fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) bad(where, std::string("missing field '") + key + "'");
    return fallback;
  }
  if (!it->is_string()) bad(where, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

double get_number(const json& j, const char* key, const std::string& where, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) bad(where, std::string("field '") + key + "' must be a number");
  return it->get<double>();
}

int get_int(const json& j, const char* key, const std::string& where, int fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) bad(where, std::string("field '") + key + "' must be an integer");
  return it->get<int>();
}

bool get_bool(const json& j, const char* key, const std::string& where, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad(where, std::string("field '") + key + "' must be true or false");
  return it->get<bool>();
}

std::vector<std::string> get_strings(const json& j, const char* key, const std::string& where, bool allow_single) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (allow_single && it->is_string()) return {it->get<std::string>()};
  if (!it->is_array()) bad(where, std::string("field '") + key + "' must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) bad(where, std::string("field '") + key + "' must contain only strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Text that reaches LaTeX may hold $...$ math, limited to symbols (no \input, \write, ...).
void check_math(const std::string& text, const std::string& where) {
  std::string why = check_inline_math(text);
  if (!why.empty()) bad(where, why + " in \"" + text + "\"");
}

void check_expression(const std::string& expr, const std::string& where) {
  try {
    validate_expression(expr);
  } catch (const std::invalid_argument& e) {
    bad(where, e.what());
  }
}

// Placeholders {name} of a template.
std::vector<std::string> placeholders(const std::string& templ) {
  std::vector<std::string> names;
  for (std::size_t i = templ.find('{'); i != std::string::npos; i = templ.find('{', i + 1)) {
    std::size_t close = templ.find('}', i);
    if (close == std::string::npos) break;
    names.push_back(templ.substr(i + 1, close - i - 1));
  }
  return names;
}

bool valid_color(const std::string& c) {
  return c.size() == 7 && c[0] == '#' && c.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos;
}

RunSpec parse_run(const json& j, std::size_t index) {
  std::string where = fmt::format("runs[{}]", index);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) where = "run '" + j["id"].get<std::string>() + "'";
  require_object(j, where,
                 {"id", "theorem", "statement", "provenance", "what", "args", "program", "json", "expect",
                  "timeout_seconds", "key", "tags"});
  RunSpec r;
  r.id = get_string(j, "id", where, true);
  where = "run '" + r.id + "'";
  require_file_id(r.id, where);
  r.theorem = get_string(j, "theorem", where, true);
  r.statement = get_string(j, "statement", where);
  r.provenance = get_string(j, "provenance", where);
  r.what = get_string(j, "what", where);
  r.args = get_strings(j, "args", where, false);
  if (r.args.empty()) bad(where, "'args' must be a non-empty array, e.g. [\"check\", \"qsa-cyclic\", \"--N\", \"16\"]");
  require_contained_args(r.args, where);
  r.program = get_string(j, "program", where);
  r.append_json = get_bool(j, "json", where, true);
  r.expect = get_strings(j, "expect", where, true);
  for (const auto& e : r.expect)
    if (e != "holds" && e != "fails" && e != "undecided" && e != "ok")
      bad(where, "expect must be holds, fails, undecided or ok (got '" + e + "')");
  r.timeout_seconds = get_number(j, "timeout_seconds", where, 0);
  if (j.contains("tags")) {
    if (!j["tags"].is_object()) bad(where, "'tags' must be an object");
    r.tags = j["tags"];
  }
  if (j.contains("key")) {
    if (!j["key"].is_array()) bad(where, "'key' must be an array of {label, path}");
    for (const auto& k : j["key"]) {
      require_object(k, where + " key", {"label", "path"});
      r.key.push_back({get_string(k, "label", where + " key", true), get_string(k, "path", where + " key", true)});
    }
  }
  return r;
}

ColumnSpec parse_column(const json& j, const std::string& where) {
  require_object(j, where, {"id", "header", "latex", "description", "path", "expr", "template", "decimals", "sig", "round", "map", "missing", "hidden"});
  ColumnSpec c;
  c.path = get_string(j, "path", where);
  c.expr = get_string(j, "expr", where);
  c.templ = get_string(j, "template", where);
  int sources = !c.path.empty() + !c.expr.empty() + !c.templ.empty();
  if (sources != 1) bad(where, "needs exactly one of 'path', 'expr', 'template'");
  c.header = get_string(j, "header", where);
  c.id = get_string(j, "id", where, false, !c.path.empty() ? c.path : c.header);
  if (c.id.empty()) bad(where, "needs an 'id' (or a 'header' to use as id)");
  if (c.header.empty()) c.header = c.id;
  c.latex = get_string(j, "latex", where);
  c.description = get_string(j, "description", where);
  for (const auto* text : {&c.header, &c.latex, &c.description}) check_math(*text, where);
  c.decimals = get_int(j, "decimals", where, -1);
  c.sig = get_int(j, "sig", where, -1);
  std::string round = get_string(j, "round", where, false, "nearest");
  if (round != "nearest" && round != "up" && round != "down") bad(where, "round must be nearest, up or down");
  c.round = round == "up" ? 1 : round == "down" ? -1 : 0;
  c.missing = get_string(j, "missing", where, false, "n/a");
  c.hidden = get_bool(j, "hidden", where, false);
  if (j.contains("map")) {
    if (!j["map"].is_object()) bad(where, "'map' must be an object of strings");
    for (auto it = j["map"].begin(); it != j["map"].end(); ++it) {
      if (!it.value().is_string()) bad(where, "'map' values must be strings");
      c.map[it.key()] = it.value().get<std::string>();
    }
  }
  if (!c.expr.empty()) check_expression(c.expr, where);
  return c;
}

TableSpec parse_table(const json& j, std::size_t index, const Manifest& m) {
  std::string where = fmt::format("tables[{}]", index);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) where = "table '" + j["id"].get<std::string>() + "'";
  require_object(j, where, {"id", "title", "runs", "array", "columns", "pivot", "notes"});
  TableSpec t;
  t.id = get_string(j, "id", where, true);
  require_file_id(t.id, where);
  where = "table '" + t.id + "'";
  t.title = get_string(j, "title", where);
  t.runs = get_strings(j, "runs", where, false);
  if (t.runs.empty()) bad(where, "'runs' must list at least one run id");
  for (const auto& id : t.runs)
    if (!m.find_run(id)) bad(where, "unknown run '" + id + "'");
  t.array = get_string(j, "array", where);
  t.notes = get_strings(j, "notes", where, false);
  check_math(t.title, where);
  for (const auto& n : t.notes) check_math(n, where + " note");
  if (!j.contains("columns") || !j["columns"].is_array() || j["columns"].empty())
    bad(where, "'columns' must be a non-empty array");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < j["columns"].size(); ++i) {
    ColumnSpec c = parse_column(j["columns"][i], where + fmt::format(" column {}", i));
    if (!ids.insert(c.id).second) bad(where, "duplicate column id '" + c.id + "'");
    t.columns.push_back(std::move(c));
  }
  auto known = [&](const std::string& id) { return ids.count(id) > 0; };
  for (const auto& c : t.columns)
    for (const auto& name : placeholders(c.templ))
      if (!known(name)) bad(where, "template of column '" + c.id + "' uses unknown column '" + name + "'");
  if (j.contains("pivot")) {
    const json& p = j["pivot"];
    require_object(p, where + " pivot", {"rows", "cols", "cell", "corner", "mark", "marker", "mark_note"});
    PivotSpec pv;
    pv.rows = get_string(p, "rows", where + " pivot", true);
    pv.cols = get_string(p, "cols", where + " pivot", true);
    pv.cell = get_string(p, "cell", where + " pivot", true);
    pv.corner = get_string(p, "corner", where + " pivot", false, pv.rows + " \\ " + pv.cols);
    pv.mark = get_string(p, "mark", where + " pivot");
    pv.marker = get_string(p, "marker", where + " pivot", false, "*");
    pv.mark_note = get_string(p, "mark_note", where + " pivot");
    check_math(pv.mark_note, where + " pivot");
    check_math(pv.corner, where + " pivot");
    for (const auto& id : {pv.rows, pv.cols})
      if (!known(id)) bad(where, "pivot uses unknown column '" + id + "'");
    for (const auto& name : placeholders(pv.cell))
      if (!known(name)) bad(where, "pivot cell uses unknown column '" + name + "'");
    if (!pv.mark.empty()) check_expression(pv.mark, where + " pivot mark");
    t.pivot = pv;
  }
  return t;
}

PlotSpec parse_plot(const json& j, std::size_t index, const Manifest& m) {
  std::string where = fmt::format("plots[{}]", index);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) where = "plot '" + j["id"].get<std::string>() + "'";
  require_object(j, where, {"id", "title", "xlabel", "ylabel", "table", "x", "categorical_x", "logx", "logy", "series", "curves", "vlines"});
  PlotSpec p;
  p.id = get_string(j, "id", where, true);
  require_file_id(p.id, where);
  where = "plot '" + p.id + "'";
  p.title = get_string(j, "title", where);
  p.xlabel = get_string(j, "xlabel", where);
  p.ylabel = get_string(j, "ylabel", where);
  for (const auto* text : {&p.title, &p.xlabel, &p.ylabel}) check_math(*text, where);
  p.table = get_string(j, "table", where, true);
  p.x = get_string(j, "x", where, true);
  p.categorical_x = get_bool(j, "categorical_x", where, false);
  p.logx = get_bool(j, "logx", where, false);
  p.logy = get_bool(j, "logy", where, false);
  const TableSpec* table = nullptr;
  for (const auto& t : m.tables)
    if (t.id == p.table) table = &t;
  if (!table) bad(where, "unknown table '" + p.table + "'");
  auto known = [&](const std::string& id) {
    for (const auto& c : table->columns)
      if (c.id == id) return true;
    return false;
  };
  if (!known(p.x)) bad(where, "x column '" + p.x + "' is not a column of table '" + p.table + "'");
  if (!j.contains("series") || !j["series"].is_array() || j["series"].empty()) bad(where, "'series' must be a non-empty array");
  for (const auto& s : j["series"]) {
    require_object(s, where + " series", {"y", "label", "group_by", "style", "colors"});
    SeriesSpec ss;
    ss.y = get_string(s, "y", where + " series", true);
    ss.group_by = get_string(s, "group_by", where + " series");
    ss.label = get_string(s, "label", where + " series", false, ss.y);
    ss.style = get_string(s, "style", where + " series", false, "linespoints");
    check_math(ss.label, where + " series");
    if (ss.style != "linespoints" && ss.style != "points" && ss.style != "lines")
      bad(where, "series style must be linespoints, points or lines");
    if (s.contains("colors")) {
      if (!s["colors"].is_object()) bad(where, "series 'colors' must be an object of value -> \"#rrggbb\"");
      for (auto it = s["colors"].begin(); it != s["colors"].end(); ++it) {
        if (!it.value().is_string() || !valid_color(it.value().get<std::string>()))
          bad(where, "colour of '" + it.key() + "' must be \"#rrggbb\"");
        ss.colors[it.key()] = it.value().get<std::string>();
      }
    }
    if (!known(ss.y)) bad(where, "series column '" + ss.y + "' is not a column of table '" + p.table + "'");
    if (!ss.group_by.empty() && !known(ss.group_by)) bad(where, "group_by column '" + ss.group_by + "' is unknown");
    p.series.push_back(ss);
  }
  if (j.contains("curves")) {
    if (!j["curves"].is_array()) bad(where, "'curves' must be an array");
    for (const auto& c : j["curves"]) {
      require_object(c, where + " curve", {"expr", "label", "from", "to", "samples", "color"});
      CurveSpec cs;
      cs.expr = get_string(c, "expr", where + " curve", true);
      cs.label = get_string(c, "label", where + " curve", false, cs.expr);
      check_math(cs.label, where + " curve");
      if (c.contains("from")) cs.from = get_number(c, "from", where, 0);
      if (c.contains("to")) cs.to = get_number(c, "to", where, 0);
      cs.samples = get_int(c, "samples", where, 64);
      cs.color = get_string(c, "color", where);
      if (!cs.color.empty() && !valid_color(cs.color)) bad(where, "curve colour must be \"#rrggbb\"");
      if (cs.samples < 2 || cs.samples > 10000) bad(where, "curve samples must be in 2..10000");
      check_expression(cs.expr, where + " curve");
      p.curves.push_back(cs);
    }
  }
  if (j.contains("vlines")) {
    if (!j["vlines"].is_array()) bad(where, "'vlines' must be an array");
    for (const auto& c : j["vlines"]) {
      require_object(c, where + " vline", {"x", "label", "color"});
      VLineSpec vs;
      vs.expr = get_string(c, "x", where + " vline", true);
      vs.label = get_string(c, "label", where + " vline", false, "x = " + vs.expr);
      check_math(vs.label, where + " vline");
      vs.color = get_string(c, "color", where);
      if (!vs.color.empty() && !valid_color(vs.color)) bad(where, "vline colour must be \"#rrggbb\"");
      check_expression(vs.expr, where + " vline");
      p.vlines.push_back(vs);
    }
  }
  return p;
}

}  // namespace

const RunSpec* Manifest::find_run(const std::string& id) const {
  for (const auto& r : runs)
    if (r.id == id) return &r;
  return nullptr;
}

const TheoremSpec* Manifest::find_theorem(const std::string& theorem) const {
  for (const auto& t : theorems)
    if (t.theorem == theorem) return &t;
  return nullptr;
}

Manifest parse_manifest(const json& j) {
  require_object(j, "manifest", {"name", "description", "timeout_seconds", "vars", "theorems", "runs", "tables", "plots"});
  Manifest m;
  m.name = get_string(j, "name", "manifest", false, "manifest");
  m.description = get_string(j, "description", "manifest");
  m.timeout_seconds = get_number(j, "timeout_seconds", "manifest", 600);
  if (j.contains("vars")) {
    if (!j["vars"].is_object()) bad("manifest", "'vars' must be an object of numbers");
    for (auto it = j["vars"].begin(); it != j["vars"].end(); ++it) {
      if (!it.value().is_number()) bad("manifest vars", "'" + it.key() + "' must be a number");
      m.vars[it.key()] = it.value().get<double>();
    }
  }
  if (j.contains("theorems")) {
    if (!j["theorems"].is_array()) bad("manifest", "'theorems' must be an array");
    for (const auto& t : j["theorems"]) {
      require_object(t, "theorems", {"theorem", "title", "statement", "provenance", "method", "method_provenance"});
      m.theorems.push_back({get_string(t, "theorem", "theorems", true), get_string(t, "title", "theorems"),
                            get_string(t, "statement", "theorems"), get_string(t, "provenance", "theorems"),
                            get_string(t, "method", "theorems"), get_string(t, "method_provenance", "theorems")});
    }
  }
  if (!j.contains("runs") || !j["runs"].is_array()) bad("manifest", "'runs' must be an array");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < j["runs"].size(); ++i) {
    RunSpec r = parse_run(j["runs"][i], i);
    if (!ids.insert(r.id).second) bad("run '" + r.id + "'", "duplicate id");
    m.runs.push_back(std::move(r));
  }
  std::set<std::string> table_ids, plot_ids;
  if (j.contains("tables")) {
    if (!j["tables"].is_array()) bad("manifest", "'tables' must be an array");
    for (std::size_t i = 0; i < j["tables"].size(); ++i) {
      TableSpec t = parse_table(j["tables"][i], i, m);
      if (!table_ids.insert(t.id).second) bad("table '" + t.id + "'", "duplicate id");
      m.tables.push_back(std::move(t));
    }
  }
  if (j.contains("plots")) {
    if (!j["plots"].is_array()) bad("manifest", "'plots' must be an array");
    for (std::size_t i = 0; i < j["plots"].size(); ++i) {
      PlotSpec p = parse_plot(j["plots"][i], i, m);
      if (!plot_ids.insert(p.id).second) bad("plot '" + p.id + "'", "duplicate id");
      m.plots.push_back(std::move(p));
    }
  }
  return m;
}

Manifest parse_manifest_text(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = parse_json_bounded(text, origin);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--manifest", e.what());
  }
  return parse_manifest(j);
}

const std::string& default_manifest_text() {
  static const std::string text = kDefaultManifestJson;
  return text;
}

}  // namespace attnbounds
