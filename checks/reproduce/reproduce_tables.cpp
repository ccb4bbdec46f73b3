// Tables and plots of `reproduce`, built from the runs' JSON results by the manifest's specs.
#include "reproduce.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "numeric/rational.hpp"
#include "expr.hpp"
#include "checks/json_path.hpp"
#include "subprocess.hpp"

namespace attnbounds {

namespace {

std::string without_spaces(const std::string& s) {
  std::string out;
  for (char ch : s)
    if (ch != ' ') out += ch;
  return out;
}

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
      // "a|b": the first of several paths that the element has (producers name a field differently).
      for (std::size_t start = 0; value.is_null() && start <= c.path.size();) {
        std::size_t bar = c.path.find('|', start);
        if (bar == std::string::npos) bar = c.path.size();
        if (const json* v = find_path(*element, c.path.substr(start, bar - start)); v && !v->is_null()) value = *v;
        start = bar + 1;
      }
    }
    if (value.is_null()) {
      cell.text = c.missing;
      return cell;
    }
    cell.text = display_value(value);
    cell.number = to_double(value);
    exact = numeric_text(value);
    cell.data = exact ? *exact : cell.text;
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
    cell.text = shortest_double(*cell.number);
    cell.data = cell.text;
  } else {
    cell.text = fill_template(c.templ, earlier);
    cell.data = cell.text;
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
      built.flat_runs.push_back(run_id);
    }
  }

  Table& t = built.table;
  if (!spec.pivot) {
    for (const auto& c : spec.columns) {
      if (c.hidden) continue;
      t.headers.push_back(c.header);
      t.latex_headers.push_back(c.latex);
      t.descriptions.push_back(c.description);
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
    const ColumnSpec& row_spec = spec.columns[rcol];
    const ColumnSpec& col_spec = spec.columns[ccol];
    if (!row_spec.description.empty() || !col_spec.description.empty())
      t.notes.push_back("Rows: " + (row_spec.description.empty() ? row_spec.header : row_spec.description) +
                        "; columns: " + (col_spec.description.empty() ? col_spec.header : col_spec.description) + ".");
    if (!pv.mark.empty()) t.notes.push_back(pv.mark_note.empty() ? without_spaces(pv.marker) + " marks cells where " + pv.mark : pv.mark_note);
    if (duplicates) t.notes.push_back("several rows fell into one cell; the first is shown");
  }
  t.notes.insert(t.notes.end(), spec.notes.begin(), spec.notes.end());
  t.notes.insert(t.notes.end(), run_notes.begin(), run_notes.end());
  return built;
}

std::string tidy_csv(const BuiltTable& table, const TableSpec& spec) {
  std::vector<std::string> header = {"run"};
  for (const auto& c : spec.columns)
    if (!c.hidden) header.push_back(c.id);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t r = 0; r < table.flat.size(); ++r) {
    std::vector<std::string> row = {table.flat_runs[r]};
    for (std::size_t i = 0; i < spec.columns.size(); ++i)
      if (!spec.columns[i].hidden) row.push_back(table.flat[r][i].number || !table.flat[r][i].data.empty() ? table.flat[r][i].data : "");
    rows.push_back(std::move(row));
  }
  return csv_lines(header, rows);
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
  // Reference curves span the whole x axis and vertical lines its whole height (both are
  // clipped to the data's ranges, so they never stretch the axes).
  plot.data_series = plot.series.size();
  std::optional<AxisRanges> ranges = axis_ranges(plot);
  VariableLookup vars_only = [&](const std::string& name) -> std::optional<double> {
    auto var = manifest.vars.find(name);
    if (var != manifest.vars.end()) return var->second;
    return std::nullopt;
  };
  for (const auto& c : spec.curves) {
    PlotSeries series;
    series.label = c.label;
    series.style = "lines";
    series.color = c.color;
    if (ranges || (c.from && c.to)) {
      double from = c.from.value_or(ranges ? ranges->xmin : 0), to = c.to.value_or(ranges ? ranges->xmax : 1);
      bool geometric = plot.logx && from > 0 && to > 0;
      for (int i = 0; i < c.samples; ++i) {
        double t = static_cast<double>(i) / (c.samples - 1);
        double x = geometric ? from * std::pow(to / from, t) : from + (to - from) * t;
        VariableLookup lookup = [&](const std::string& name) -> std::optional<double> {
          if (name == "x") return x;
          return vars_only(name);
        };
        auto y = evaluate_expression(c.expr, lookup);
        if (y && std::isfinite(*y)) series.points.emplace_back(x, *y);
      }
    }
    plot.series.push_back(std::move(series));
  }
  for (const auto& v : spec.vlines) {
    PlotSeries series;
    series.label = v.label;
    series.style = "lines";
    series.color = v.color;
    auto x = evaluate_expression(v.expr, vars_only);
    if (x && std::isfinite(*x) && ranges) {
      series.points.emplace_back(*x, ranges->ymin);
      series.points.emplace_back(*x, ranges->ymax);
    }
    plot.series.push_back(std::move(series));
  }
  return plot;
}

}  // namespace attnbounds
