#include "report/reproduce.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include "numeric/rational.hpp"
#include "report/expr.hpp"
#include "report/files.hpp"
#include "report/json_path.hpp"
#include "report/subprocess.hpp"

namespace attnbounds {

namespace {

bool is_result_status(const std::string& s) { return s == "holds" || s == "fails" || s == "undecided" || s == "ok"; }

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// The first few lines of stderr, enough to say why a run failed.
std::string stderr_summary(const std::string& err) {
  std::string out;
  int lines = 0;
  std::size_t start = 0;
  while (start < err.size() && lines < 3) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = trim(err.substr(start, end - start));
    if (!line.empty()) {
      out += (out.empty() ? "" : " / ") + line;
      ++lines;
    }
    start = end + 1;
  }
  return out.size() > 400 ? out.substr(0, 400) + "..." : out;
}

// CLI11's messages when the verb has no subcommands at all, or when the claim name itself is the
// unexpected argument: the claim is not built into this binary.  An unknown *option* of an
// existing claim is bad input, not "not available".
bool looks_unknown_subcommand(const std::string& err, const std::vector<std::string>& args) {
  if (err.find("A subcommand is required") != std::string::npos) return true;
  if (args.size() < 2) return false;
  for (const char* phrase : {"argument was not expected: ", "arguments were not expected: "}) {
    std::size_t at = err.find(phrase);
    if (at != std::string::npos && err.compare(at + std::strlen(phrase), args[1].size(), args[1]) == 0) return true;
  }
  return false;
}

std::string compact(const json& v, std::size_t limit) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  return s.size() > limit ? s.substr(0, limit) + " …" : s;
}

}  // namespace

const std::vector<std::string>& volatile_keys() {
  static const std::vector<std::string> keys = {"seconds", "threads", "wall_seconds", "elapsed_seconds", "timings"};
  return keys;
}

bool RunOutcome::produced_result() const { return is_result_status(status); }

bool RunOutcome::as_expected() const {
  if (!spec || spec->expect.empty() || !produced_result()) return true;
  return std::find(spec->expect.begin(), spec->expect.end(), status) != spec->expect.end();
}

RunOutcome execute_run(const RunSpec& run, const std::string& self, double timeout_seconds) {
  RunOutcome o;
  o.spec = &run;
  std::vector<std::string> args = run.args;
  if (run.append_json) args.push_back("--json");
  o.argv.push_back(run.program.empty() ? "attnbounds" : run.program);
  o.argv.insert(o.argv.end(), args.begin(), args.end());

  ProcessResult p = run_process(run.program.empty() ? self : run.program, args, timeout_seconds);
  o.wall_seconds = p.seconds;
  o.exit_status = p.exit_status;
  if (!p.started) {
    o.status = "error";
    o.error = p.error;
    return o;
  }
  if (p.timed_out) {
    o.status = "timeout";
    o.error = fmt::format("killed after the time limit of {} s", timeout_seconds);
    return o;
  }
  if (p.exit_status == 0 || p.exit_status == 1 || p.exit_status == 3) {
    json parsed;
    try {
      parsed = json::parse(p.out);
    } catch (const json::parse_error&) {
      o.status = "error";
      o.error = fmt::format("exit status {} but stdout is not one JSON object: {}", p.exit_status,
                            stderr_summary(p.out.empty() ? std::string("(empty)") : p.out));
      return o;
    }
    if (parsed.is_object()) {
      if (parsed.contains("seconds")) o.reported_seconds = parsed["seconds"];
      if (parsed.contains("threads")) o.threads = parsed["threads"];
    }
    strip_keys(parsed, volatile_keys());
    o.result = std::move(parsed);
    const json* verdict = find_path(o.result, "verdict");
    if (verdict && verdict->is_string()) {
      o.status = verdict->get<std::string>();
      int expected_exit = o.status == "holds" ? 0 : o.status == "fails" ? 1 : 3;
      if (!is_result_status(o.status) || o.status == "ok") {
        o.warning = "unknown verdict '" + o.status + "'";
        o.status = "error";
        o.error = o.warning;
      } else if (expected_exit != p.exit_status) {
        o.warning = fmt::format("exit status {} disagrees with verdict {} (SPEC §7: {} exits {})", p.exit_status, o.status,
                                o.status, expected_exit);
      }
    } else {
      o.status = p.exit_status == 0 ? "ok" : p.exit_status == 1 ? "fails" : "undecided";
    }
    return o;
  }
  if (p.exit_status == 2) {
    bool unknown = looks_unknown_subcommand(p.err, run.args);
    o.status = unknown ? "not-available" : "error";
    o.error = (unknown ? "not available in this build (exit 2): " : "bad input (exit 2): ") + stderr_summary(p.err);
    return o;
  }
  o.status = "error";
  o.error = fmt::format("exit status {}{}: {}", p.exit_status, p.exit_status == 4 ? " (internal error)" : "",
                        stderr_summary(p.err));
  return o;
}

// ---------------------------------------------------------------- tables

namespace {

const RunOutcome* outcome_of(const std::vector<RunOutcome>& outcomes, const std::string& id) {
  for (const auto& o : outcomes)
    if (o.spec && o.spec->id == id) return &o;
  return nullptr;
}

std::optional<double> to_double(const json& v) {
  auto text = numeric_text(v);
  if (!text) return std::nullopt;
  try {
    return parse_rational(*text).get_d();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

json special_value(const std::string& path, const RunOutcome& o) {
  if (path == "$id") return o.spec->id;
  if (path == "$status") return o.status;
  if (path == "$exit") return o.exit_status;
  if (path == "$theorem") return o.spec->theorem;
  if (path == "$provenance") return o.spec->provenance;
  if (path == "$command") return shell_join(o.argv);
  if (path.rfind("$tag.", 0) == 0) {
    const json* v = find_path(o.spec->tags, path.substr(5));
    return v ? *v : json(nullptr);
  }
  return nullptr;
}

std::string fill_template(const std::string& templ, const std::map<std::string, TableCell>& cells) {
  std::string out;
  for (std::size_t i = 0; i < templ.size();) {
    std::size_t open = templ.find('{', i);
    if (open == std::string::npos) {
      out += templ.substr(i);
      break;
    }
    std::size_t close = templ.find('}', open);
    if (close == std::string::npos) {
      out += templ.substr(i);
      break;
    }
    out += templ.substr(i, open - i);
    auto it = cells.find(templ.substr(open + 1, close - open - 1));
    out += it != cells.end() ? it->second.text : std::string(kNotAvailable);
    i = close + 1;
  }
  return out;
}

TableCell column_cell(const ColumnSpec& c, const json* element, const RunOutcome& o,
                      const std::map<std::string, TableCell>& earlier, const Manifest& manifest) {
  TableCell cell;
  std::optional<std::string> exact;
  if (!c.path.empty()) {
    json value = nullptr;
    if (c.path[0] == '$' && c.path.rfind("$run.", 0) != 0) {
      value = special_value(c.path, o);
    } else if (c.path.rfind("$run.", 0) == 0) {
      if (o.produced_result())
        if (const json* v = find_path(o.result, c.path.substr(5))) value = *v;
    } else if (element) {
      if (const json* v = find_path(*element, c.path)) value = *v;
    }
    if (value.is_null()) {
      cell.text = c.missing;
      return cell;
    }
    cell.text = display_value(value);
    cell.number = to_double(value);
    exact = numeric_text(value);
  } else if (!c.expr.empty()) {
    VariableLookup lookup = [&](const std::string& name) -> std::optional<double> {
      auto it = earlier.find(name);
      if (it != earlier.end()) return it->second.number;
      auto var = manifest.vars.find(name);
      if (var != manifest.vars.end()) return var->second;
      return std::nullopt;
    };
    cell.number = evaluate_expression(c.expr, lookup);
    if (!cell.number || !std::isfinite(*cell.number)) {
      cell.number.reset();
      cell.text = c.missing;
      return cell;
    }
    cell.text = fmt::format("{}", *cell.number);
  } else {
    cell.text = fill_template(c.templ, earlier);
  }
  if (cell.number) {
    if (c.decimals >= 0) {
      cell.text = fmt::format("{:.{}f}", *cell.number, c.decimals);
    } else if (c.sig > 0) {
      try {
        cell.text = exact ? format_rational(parse_rational(*exact), c.sig, c.round) : fmt::format("{:.{}g}", *cell.number, c.sig);
      } catch (const std::exception&) {
        cell.text = fmt::format("{:.{}g}", *cell.number, c.sig);
      }
    }
  }
  auto mapped = c.map.find(cell.text);
  if (mapped != c.map.end()) cell.text = mapped->second;
  return cell;
}

// Distinct keys of a column in display order: numeric ascending when every key is a number,
// otherwise first appearance.
std::vector<std::string> ordered_keys(const std::vector<std::vector<TableCell>>& flat, std::size_t col) {
  std::vector<std::string> keys;
  std::map<std::string, double> numbers;
  bool all_numeric = true;
  for (const auto& row : flat) {
    const auto& cell = row[col];
    if (std::find(keys.begin(), keys.end(), cell.text) != keys.end()) continue;
    keys.push_back(cell.text);
    if (cell.number) numbers[cell.text] = *cell.number;
    else all_numeric = false;
  }
  if (all_numeric)
    std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) { return numbers[a] < numbers[b]; });
  return keys;
}

std::size_t column_index(const std::vector<std::string>& ids, const std::string& id) {
  return static_cast<std::size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
}

}  // namespace

BuiltTable build_table(const TableSpec& spec, const std::vector<RunOutcome>& outcomes, const Manifest& manifest) {
  BuiltTable built;
  built.table.id = spec.id;
  built.table.title = spec.title;
  for (const auto& c : spec.columns) built.column_ids.push_back(c.id);
  std::vector<std::string> run_notes;

  for (const auto& run_id : spec.runs) {
    const RunOutcome* o = outcome_of(outcomes, run_id);
    if (!o || o->status == "skipped") continue;
    std::vector<const json*> elements;
    if (!o->produced_result()) {
      run_notes.push_back(fmt::format("run {}: {} — {}", run_id, o->status, o->error));
      if (spec.array.empty()) elements.push_back(nullptr);
    } else if (spec.array.empty()) {
      elements.push_back(&o->result);
    } else {
      const json* arr = find_path(o->result, spec.array);
      if (!arr || !arr->is_array()) run_notes.push_back(fmt::format("run {}: its result has no array '{}'", run_id, spec.array));
      else
        for (const auto& e : *arr) elements.push_back(&e);
    }
    for (const json* element : elements) {
      std::map<std::string, TableCell> cells;
      std::vector<TableCell> row;
      for (const auto& c : spec.columns) {
        TableCell cell = column_cell(c, element, *o, cells, manifest);
        cells[c.id] = cell;
        row.push_back(cell);
      }
      built.flat.push_back(std::move(row));
    }
  }

  Table& t = built.table;
  if (!spec.pivot) {
    for (const auto& c : spec.columns) {
      if (c.hidden) continue;
      t.headers.push_back(c.header);
      t.latex_headers.push_back(c.latex);
    }
    for (const auto& row : built.flat) {
      std::vector<std::string> texts;
      for (std::size_t i = 0; i < row.size(); ++i)
        if (!spec.columns[i].hidden) texts.push_back(row[i].text);
      t.rows.push_back(std::move(texts));
    }
  } else {
    const PivotSpec& pv = *spec.pivot;
    std::size_t rcol = column_index(built.column_ids, pv.rows), ccol = column_index(built.column_ids, pv.cols);
    auto row_keys = ordered_keys(built.flat, rcol), col_keys = ordered_keys(built.flat, ccol);
    t.headers.push_back(pv.corner);
    t.latex_headers.push_back("");
    for (const auto& k : col_keys) {
      t.headers.push_back(k);
      t.latex_headers.push_back("");
    }
    std::map<std::pair<std::string, std::string>, std::string> cells;
    bool duplicates = false;
    for (const auto& row : built.flat) {
      std::map<std::string, TableCell> by_id;
      for (std::size_t i = 0; i < row.size(); ++i) by_id[built.column_ids[i]] = row[i];
      std::string text = fill_template(pv.cell, by_id);
      if (!pv.mark.empty()) {
        VariableLookup lookup = [&](const std::string& name) -> std::optional<double> {
          auto it = by_id.find(name);
          if (it != by_id.end()) return it->second.number;
          auto var = manifest.vars.find(name);
          if (var != manifest.vars.end()) return var->second;
          return std::nullopt;
        };
        auto marked = evaluate_expression(pv.mark, lookup);
        if (marked && *marked != 0) text += pv.marker;
      }
      auto key = std::make_pair(row[rcol].text, row[ccol].text);
      if (!cells.emplace(key, text).second) duplicates = true;
    }
    for (const auto& rk : row_keys) {
      std::vector<std::string> texts = {rk};
      for (const auto& ck : col_keys) {
        auto it = cells.find({rk, ck});
        texts.push_back(it != cells.end() ? it->second : std::string(kNotAvailable));
      }
      t.rows.push_back(std::move(texts));
    }
    if (!pv.mark.empty()) t.notes.push_back(pv.mark_note.empty() ? trim(pv.marker) + " marks cells where " + pv.mark : pv.mark_note);
    if (duplicates) t.notes.push_back("several rows fell into one cell; the first is shown");
  }
  t.notes.insert(t.notes.end(), spec.notes.begin(), spec.notes.end());
  t.notes.insert(t.notes.end(), run_notes.begin(), run_notes.end());
  return built;
}

Plot build_plot(const PlotSpec& spec, const BuiltTable& table, const Manifest& manifest) {
  Plot plot;
  plot.id = spec.id;
  plot.title = spec.title;
  plot.xlabel = spec.xlabel;
  plot.ylabel = spec.ylabel;
  plot.logx = spec.logx;
  plot.logy = spec.logy;
  std::size_t xcol = column_index(table.column_ids, spec.x);
  if (spec.categorical_x) plot.x_categories = ordered_keys(table.flat, xcol);
  auto x_of = [&](const std::vector<TableCell>& row) -> std::optional<double> {
    if (!spec.categorical_x) return row[xcol].number;
    auto it = std::find(plot.x_categories.begin(), plot.x_categories.end(), row[xcol].text);
    return static_cast<double>(it - plot.x_categories.begin() + 1);
  };
  std::optional<double> xmin, xmax;
  for (const auto& s : spec.series) {
    std::size_t ycol = column_index(table.column_ids, s.y);
    std::vector<std::string> groups = {""};
    std::size_t gcol = 0;
    if (!s.group_by.empty()) {
      gcol = column_index(table.column_ids, s.group_by);
      groups = ordered_keys(table.flat, gcol);
    }
    for (const auto& g : groups) {
      PlotSeries series;
      series.style = s.style;
      std::map<std::string, TableCell> label_cells;
      for (const auto& row : table.flat) {
        if (!s.group_by.empty() && row[gcol].text != g) continue;
        if (label_cells.empty())
          for (std::size_t i = 0; i < row.size(); ++i) label_cells[table.column_ids[i]] = row[i];
        auto x = x_of(row);
        auto y = row[ycol].number;
        if (!x || !y) continue;
        series.points.emplace_back(*x, *y);
        xmin = xmin ? std::min(*xmin, *x) : *x;
        xmax = xmax ? std::max(*xmax, *x) : *x;
      }
      std::stable_sort(series.points.begin(), series.points.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      series.label = fill_template(s.label, label_cells);
      if (!s.group_by.empty() && s.label.find('{') == std::string::npos) series.label = s.label + " " + g;
      for (const auto& key : {g, series.label}) {
        auto colour = s.colors.find(key);
        if (colour != s.colors.end()) series.color = colour->second;
      }
      plot.series.push_back(std::move(series));
    }
  }
  for (const auto& c : spec.curves) {
    double from = c.from.value_or(xmin.value_or(0)), to = c.to.value_or(xmax.value_or(1));
    PlotSeries series;
    series.label = c.label;
    series.style = "lines";
    series.color = c.color;
    if (xmin || (c.from && c.to))
      for (int i = 0; i < c.samples; ++i) {
        double x = from + (to - from) * i / (c.samples - 1);
        VariableLookup lookup = [&](const std::string& name) -> std::optional<double> {
          if (name == "x") return x;
          auto var = manifest.vars.find(name);
          if (var != manifest.vars.end()) return var->second;
          return std::nullopt;
        };
        auto y = evaluate_expression(c.expr, lookup);
        if (y && std::isfinite(*y)) series.points.emplace_back(x, *y);
      }
    plot.series.push_back(std::move(series));
  }
  return plot;
}

// ---------------------------------------------------------------- report

namespace {

struct KeyNumber {
  std::string label, value;
};

// The numbers the report shows for a run: the manifest's `key` list (missing -> n/a) plus the
// standard fields of SPEC §7 and the issues, when present.
std::vector<KeyNumber> key_numbers(const RunOutcome& o) {
  std::vector<KeyNumber> out;
  if (!o.produced_result()) return out;
  static const std::pair<const char*, const char*> standard[] = {
      {"cases", "cases"},
      {"instances", "instances"},
      {"semantics", "semantics"},
      {"worst.value", "worst case"},
      {"worst.lower", "worst case, certified lower"},
      {"worst.upper", "worst case, certified upper"},
      {"bound", "bound"},
      {"margin", "margin"},
      {"params.c", "temperature c"},
      {"params.m", "m"},
      {"m", "m"},
      {"p_star", "p*"},
      {"m_star", "m*"},
      {"mk_star", "m′*"},
      {"messages_distinct", "distinct messages"},
      {"message_bits", "message bits"},
      {"D", "D(f)"},
      {"rank_Q", "rank over Q"},
      {"rank_GF2", "rank over GF(2)"},
      {"fooling_set_size", "fooling set"},
      {"one_way_alice", "one-way (Alice speaks)"},
      {"one_way_bob", "one-way (Bob speaks)"},
      {"reduction", "reduction"},
  };
  std::set<std::string> seen_labels, seen_paths;
  for (const auto& k : o.spec->key) {
    const json* v = find_path(o.result, k.path);
    out.push_back({k.label, v ? compact(*v, 200) : std::string(kNotAvailable)});
    seen_labels.insert(k.label);
    seen_paths.insert(k.path);
  }
  for (const auto& [path, label] : standard) {
    if (seen_labels.count(label) || seen_paths.count(path)) continue;
    const json* v = find_path(o.result, path);
    if (!v || v->is_null()) continue;
    out.push_back({label, compact(*v, 200)});
    seen_labels.insert(label);
  }
  // margin = bound − certified upper end of the worst case, exactly, when the command did not
  // report one; rounded down so that it never overstates the room.
  // Only for check results: there `bound` is the accuracy the worst case must stay within.
  if (!seen_labels.count("margin") && !o.spec->args.empty() && o.spec->args[0] == "check") {
    const json* bound = find_path(o.result, "bound");
    const json* upper = find_path(o.result, "worst.upper");
    if (bound && upper && numeric_text(*bound) && numeric_text(*upper)) {
      try {
        Rational m = parse_rational(*numeric_text(*bound)) - parse_rational(*numeric_text(*upper));
        out.push_back({"margin (bound − worst upper)", format_rational(m, 6, -1)});
      } catch (const std::exception&) {
      }
    }
  }
  return out;
}

std::string status_word(const RunOutcome& o) {
  std::string s = o.status;
  if (o.produced_result() && o.spec && !o.spec->expect.empty()) {
    std::string expected;
    for (const auto& e : o.spec->expect) expected += (expected.empty() ? "" : " or ") + e;
    s += o.as_expected() ? " (expected " + expected + ")" : " — UNEXPECTED, the manifest expects " + expected;
  }
  return s;
}

std::string md_escape_inline(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += "\\|";
    else out += ch;
  }
  return out;
}

struct ReportInputs {
  const Manifest* manifest;
  const ReproduceOptions* options;
  const std::vector<RunOutcome>* outcomes;
  const std::vector<BuiltTable>* tables;
  const std::vector<std::pair<Plot, PlotFiles>>* plots;
  int exit_status;
};

std::string write_report_markdown(const ReportInputs& in) {
  const Manifest& m = *in.manifest;
  std::string md;
  md += "# attnbounds reproduce report\n\n";
  md += fmt::format("Tool: attnbounds {}. Manifest: `{}` ({} runs). Re-run everything with `{}`.\n\n", ATTNBOUNDS_VERSION,
                    in.options->manifest_label, m.runs.size(), in.options->invocation);
  if (!m.description.empty()) md += m.description + "\n\n";
  md += "Every verdict below is the command's own: **holds** means a certified bound covers every case the claim "
        "quantifies over (after the sound reduction the command names); **fails** means a counterexample was found "
        "and re-verified by a direct forward pass; **undecided** means the enclosure straddled the bound. "
        "Provenance: *paper* = stated in the paper; *ours* = this toolkit's construction, reduction or precision "
        "model.\n\n";

  std::map<std::string, int> counts;
  for (const auto& o : *in.outcomes) counts[o.status]++;
  md += "## Summary\n\n";
  std::string count_line;
  for (const auto& [status, n] : counts) count_line += (count_line.empty() ? "" : ", ") + fmt::format("{} {}", n, status);
  md += "Runs: " + count_line + ". ";
  md += in.exit_status == 0   ? "Every run produced a result, as expected (exit status 0).\n\n"
        : in.exit_status == 1 ? "**Some result contradicts the manifest's expectation** (exit status 1).\n\n"
                              : "**Some runs produced no result** (exit status 3); they are listed below.\n\n";
  md += "| run | theorem | provenance | status |\n|---|---|---|---|\n";
  for (const auto& o : *in.outcomes)
    md += fmt::format("| [{}](#run-{}) | {} | {} | {} |\n", o.spec->id, o.spec->id, md_escape_inline(o.spec->theorem),
                      md_escape_inline(o.spec->provenance), md_escape_inline(status_word(o)));
  md += "\n";

  // Theorems in order of first appearance.
  std::vector<std::string> theorems;
  for (const auto& t : m.theorems) theorems.push_back(t.theorem);
  for (const auto& r : m.runs)
    if (std::find(theorems.begin(), theorems.end(), r.theorem) == theorems.end()) theorems.push_back(r.theorem);

  for (const auto& theorem : theorems) {
    std::vector<const RunOutcome*> runs;
    for (const auto& o : *in.outcomes)
      if (o.spec->theorem == theorem) runs.push_back(&o);
    if (runs.empty()) continue;
    const TheoremSpec* ts = m.find_theorem(theorem);
    md += "## " + theorem + (ts && !ts->title.empty() ? " — " + ts->title : "") + "\n\n";
    if (ts && !ts->statement.empty())
      md += "**Statement** [" + (ts->provenance.empty() ? std::string("unspecified") : ts->provenance) + "]: " +
            ts->statement + "\n\n";
    if (ts && !ts->method.empty())
      md += "**How it is checked** [" + (ts->method_provenance.empty() ? std::string("unspecified") : ts->method_provenance) +
            "]: " + ts->method + "\n\n";
    std::set<std::string> shown;
    if (ts) shown.insert(ts->statement);
    for (const auto* o : runs)
      if (!o->spec->statement.empty() && shown.insert(o->spec->statement).second)
        md += "**Statement** [" + (o->spec->provenance.empty() ? std::string("unspecified") : o->spec->provenance) +
              "]: " + o->spec->statement + "\n\n";
    for (const auto* o : runs) {
      md += fmt::format("<a id=\"run-{}\"></a>\n### {}\n\n", o->spec->id, o->spec->id);
      if (!o->spec->what.empty()) md += "What is checked: " + o->spec->what + "\n\n";
      md += "- provenance: " + (o->spec->provenance.empty() ? std::string("unspecified") : o->spec->provenance) + "\n";
      md += "- command: `" + shell_join(o->argv) + "`\n";
      md += "- status: **" + status_word(*o) + "**" + (o->exit_status >= 0 ? fmt::format(" (exit {})", o->exit_status) : "") + "\n";
      if (!o->error.empty()) md += "- reason: " + o->error + "\n";
      if (!o->warning.empty()) md += "- warning: " + o->warning + "\n";
      for (const auto& k : key_numbers(*o)) md += "- " + k.label + ": " + k.value + "\n";
      std::string used_by;
      for (const auto& t : m.tables)
        if (std::find(t.runs.begin(), t.runs.end(), o->spec->id) != t.runs.end())
          used_by += (used_by.empty() ? "" : ", ") + ("`tables/" + t.id + "`");
      if (!used_by.empty()) md += "- in tables: " + used_by + "\n";
      const json* witness = o->produced_result() ? find_path(o->result, "worst.witness") : nullptr;
      if (o->status == "fails" && witness && !witness->is_null())
        md += "- counterexample (re-verified by the command):\n\n  ```json\n  " + compact(*witness, 1500) + "\n  ```\n";
      else if (o->status == "fails")
        md += "- counterexample: the command reports fails without a `worst.witness` field\n";
      md += "\n";
    }
  }

  md += "## Tables\n\nEach table is in `tables/` as Markdown (`.md`), CSV (`.csv`) and a LaTeX booktabs fragment "
        "(`.tex`, needs `\\usepackage{booktabs}`). `n/a` marks a value the run did not produce.\n\n";
  for (const auto& bt : *in.tables) {
    md += "### " + (bt.table.title.empty() ? bt.table.id : bt.table.title) + "\n\n";
    Table untitled = bt.table;
    untitled.title.clear();
    md += render_markdown(untitled) + "\nFiles: `tables/" + bt.table.id + ".md`, `.csv`, `.tex`.\n\n";
  }
  md += "## Plots\n\nEach plot is in `plots/` as a gnuplot script (`.gp`, data inline), pgfplots source (`.tex`, needs "
        "`\\usepackage{pgfplots}`) and, when gnuplot is installed, rendered SVG and PNG.\n\n";
  for (const auto& [plot, files] : *in.plots) {
    md += "### " + (plot.title.empty() ? plot.id : plot.title) + "\n\n";
    if (files.warning.empty()) md += "![" + plot.title + "](plots/" + plot.id + ".svg)\n\n";
    else md += "Not rendered: " + files.warning + ".\n\n";
    md += "Files: `plots/" + plot.id + ".gp`, `plots/" + plot.id + ".tex`" +
          (files.warning.empty() ? ", `plots/" + plot.id + ".svg`, `plots/" + plot.id + ".png`" : std::string()) + ".\n\n";
  }

  std::string problems;
  for (const auto& o : *in.outcomes)
    if (!o.produced_result() && o.status != "skipped")
      problems += fmt::format("- `{}` ({}): {}\n", o.spec->id, o.status, o.error);
  if (!problems.empty()) md += "## Runs without a result\n\n" + problems + "\n";
  md += "Timings are in `timings.json`; everything else is in `results.json` (deterministic: the same manifest gives "
        "byte-identical tables and results.json).\n";
  return md;
}

json outcome_to_json(const RunOutcome& o) {
  json j;
  j["id"] = o.spec->id;
  j["theorem"] = o.spec->theorem;
  j["provenance"] = o.spec->provenance;
  if (!o.spec->statement.empty()) j["statement"] = o.spec->statement;
  if (!o.spec->what.empty()) j["what"] = o.spec->what;
  j["argv"] = o.argv;
  j["command"] = shell_join(o.argv);
  j["status"] = o.status;
  j["exit_status"] = o.exit_status;
  if (!o.spec->expect.empty()) j["expect"] = o.spec->expect;
  j["as_expected"] = o.as_expected();
  if (!o.error.empty()) j["error"] = o.error;
  if (!o.warning.empty()) j["warning"] = o.warning;
  j["result"] = o.produced_result() ? o.result : json(nullptr);
  return j;
}

bool selected(const RunSpec& r, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const auto& s : only)
    if (r.id.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace

int run_reproduce(const Manifest& manifest, const ReproduceOptions& options) {
  namespace fs = std::filesystem;
  const std::string self = self_executable();
  fs::create_directories(options.out / "tables");
  fs::create_directories(options.out / "plots");

  std::vector<RunOutcome> outcomes;
  std::size_t total = 0;
  for (const auto& r : manifest.runs) total += selected(r, options.only);
  if (total == 0) std::cerr << "reproduce: warning: no run id matches --only\n";
  std::size_t done = 0;
  double total_seconds = 0;
  for (const auto& run : manifest.runs) {
    if (!selected(run, options.only)) {
      RunOutcome skipped;
      skipped.spec = &run;
      skipped.argv.push_back(run.program.empty() ? "attnbounds" : run.program);
      skipped.argv.insert(skipped.argv.end(), run.args.begin(), run.args.end());
      outcomes.push_back(std::move(skipped));
      continue;
    }
    ++done;
    double limit = options.timeout_seconds > 0 ? options.timeout_seconds
                   : run.timeout_seconds > 0   ? run.timeout_seconds
                                               : manifest.timeout_seconds;
    if (options.progress)
      std::cerr << fmt::format("[{}/{}] {:<28} {}", done, total, run.id, shell_join(run.args)) << std::flush;
    RunOutcome o = execute_run(run, self, limit);
    total_seconds += o.wall_seconds;
    if (options.progress) {
      std::string note = o.status == "not-available" ? ""
                         : !o.produced_result()      ? "  (" + o.error + ")"
                         : !o.as_expected()          ? "  UNEXPECTED"
                                                     : "";
      if (note.size() > 120) note = note.substr(0, 120) + "...)";
      std::cerr << fmt::format("  -> {} ({:.1f} s){}\n", o.status, o.wall_seconds, note);
    }
    outcomes.push_back(std::move(o));
  }
  // Skipped runs are not part of this report.
  std::vector<RunOutcome> ran;
  for (auto& o : outcomes)
    if (o.status != "skipped") ran.push_back(o);

  bool unexpected = false, incomplete = false;
  for (const auto& o : ran) {
    unexpected = unexpected || !o.as_expected();
    incomplete = incomplete || !o.produced_result();
  }
  int exit_status = unexpected ? 1 : incomplete ? 3 : 0;

  std::vector<BuiltTable> tables;
  for (const auto& spec : manifest.tables) {
    tables.push_back(build_table(spec, ran, manifest));
    write_table_files(tables.back().table, options.out / "tables");
  }
  std::vector<std::pair<Plot, PlotFiles>> plots;
  for (const auto& spec : manifest.plots) {
    const BuiltTable* table = nullptr;
    for (std::size_t i = 0; i < manifest.tables.size(); ++i)
      if (manifest.tables[i].id == spec.table) table = &tables[i];
    Plot plot = build_plot(spec, *table, manifest);
    PlotFiles files = write_plot_files(plot, options.out / "plots", options.gnuplot);
    if (!files.warning.empty()) std::cerr << "reproduce: plot " << plot.id << ": " << files.warning << '\n';
    plots.emplace_back(std::move(plot), std::move(files));
  }

  json results;
  results["tool"] = "attnbounds";
  results["version"] = ATTNBOUNDS_VERSION;
  results["command"] = "reproduce";
  results["manifest"] = {{"name", manifest.name}, {"label", options.manifest_label}, {"runs", manifest.runs.size()}};
  json counts = json::object();
  for (const auto& o : ran) counts[o.status] = counts.value(o.status, 0) + 1;
  json unexpected_ids = json::array(), incomplete_ids = json::array();
  for (const auto& o : ran) {
    if (!o.as_expected()) unexpected_ids.push_back(o.spec->id);
    if (!o.produced_result()) incomplete_ids.push_back(o.spec->id);
  }
  results["summary"] = {{"runs", ran.size()},       {"status_counts", counts},
                        {"unexpected", unexpected_ids}, {"without_result", incomplete_ids},
                        {"exit_status", exit_status}};
  json runs = json::array();
  for (const auto& o : ran) runs.push_back(outcome_to_json(o));
  results["runs"] = runs;
  json table_json = json::array();
  for (const auto& bt : tables) table_json.push_back(table_to_json(bt.table));
  results["tables"] = table_json;
  json plot_json = json::array();
  for (const auto& [plot, files] : plots) plot_json.push_back(plot_to_json(plot));
  results["plots"] = plot_json;
  write_text_file(options.out / "results.json", results.dump(2) + "\n");

  json timings;
  timings["total_seconds"] = total_seconds;
  json per_run = json::array();
  for (const auto& o : ran)
    per_run.push_back({{"id", o.spec->id}, {"wall_seconds", o.wall_seconds}, {"seconds", o.reported_seconds}, {"threads", o.threads}});
  timings["runs"] = per_run;
  write_text_file(options.out / "timings.json", timings.dump(2) + "\n");

  ReportInputs in{&manifest, &options, &ran, &tables, &plots, exit_status};
  write_text_file(options.out / "report.md", write_report_markdown(in));
  if (options.progress)
    std::cerr << fmt::format("reproduce: {} runs in {:.1f} s; report: {}\n", ran.size(), total_seconds,
                             (options.out / "report.md").string());
  return exit_status;
}

}  // namespace attnbounds
