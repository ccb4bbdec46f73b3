// report.md of `reproduce`: per theorem the statement, how it is checked, every run's verdict,
// key numbers, counterexample and re-run command, then the tables and plots.
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

// A JSON value as text for the report: scalars as they are, arrays as comma lists, objects as
// "key: value" pairs (nested ones in parentheses), never raw JSON syntax and never cut short.
std::string readable(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return kNotAvailable;
  if (v.is_array()) {
    std::string out;
    bool nested = false;
    for (const auto& e : v) nested = nested || e.is_structured();
    for (const auto& e : v) out += (out.empty() ? "" : nested ? "; " : ", ") + (e.is_object() ? "(" + readable(e) + ")" : e.is_array() ? "[" + readable(e) + "]" : readable(e));
    return "[" + out + "]";
  }
  if (v.is_object()) {
    std::string out;
    for (auto it = v.begin(); it != v.end(); ++it)
      out += (out.empty() ? "" : "; ") + it.key() + ": " + (it.value().is_object() ? "(" + readable(it.value()) + ")" : readable(it.value()));
    return out;
  }
  return v.dump();
}

// A witness as an indented Markdown list: one item per top-level field, nested objects as
// sub-items.
std::string witness_list(const json& w, const std::string& indent) {
  std::string out;
  if (!w.is_object()) return indent + "- " + readable(w) + "\n";
  for (auto it = w.begin(); it != w.end(); ++it) {
    if (it.value().is_object()) out += indent + "- " + it.key() + ":\n" + witness_list(it.value(), indent + "  ");
    else out += indent + "- " + it.key() + ": `" + readable(it.value()) + "`\n";
  }
  return out;
}

struct KeyNumber {
  std::string label, value;
};

// The numbers the report shows for a run: the manifest's `key` list (missing -> n/a) plus the
// standard fields of math §7 and the issues, when present.
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
    out.push_back({k.label, v ? readable(*v) : std::string(kNotAvailable)});
    seen_labels.insert(k.label);
    seen_paths.insert(k.path);
  }
  for (const auto& [path, label] : standard) {
    if (seen_labels.count(label) || seen_paths.count(path)) continue;
    const json* v = find_path(o.result, path);
    if (!v || v->is_null()) continue;
    out.push_back({label, readable(*v)});
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



}  // namespace

std::string write_report_markdown(const ReportInputs& in) {
  const Manifest& m = *in.manifest;
  std::string md;
  md += "# attnbounds reproduce report\n\n";
  md += "## How to cite\n\n"
        "The theorems checked here are from: Clayton Sanford, Daniel Hsu and Matus Telgarsky, \"Representational "
        "Strengths and Limitations of Transformers\", Advances in Neural Information Processing Systems 36 (NeurIPS "
        "2023). Cite the paper for the statements; cite the attnbounds toolkit (version " ATTNBOUNDS_VERSION
        ", commit `" + in.provenance->git_commit + "`) for the certified checks, constructions and numbers below. "
        "Both entries are in `CITATION.cff` at the top of the repository (`cffconvert -f bibtex` turns it into "
        "BibTeX). The toolkit is under the Apache License 2.0 (`LICENSE`).\n\n";
  md += "## Provenance\n\n| field | value |\n|---|---|\n";
  for (const auto& [key, value] : in.provenance->fields()) md += "| " + key + " | " + md_escape_inline(value) + " |\n";
  md += "\n";
  md += fmt::format("Manifest: `{}` ({} runs). Re-run everything with `{}`.\n\n", in.options->manifest_label, m.runs.size(),
                    in.options->invocation);
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
        md += "- counterexample (re-verified by the command):\n" + witness_list(*witness, "  ");
      md += "\n";
    }
  }

  md += "## Tables\n\nEach table is in `tables/` as Markdown (`.md`), tidy CSV (`.csv`: one row per observation, a "
        "`run` column, one column per variable named by its id, full precision; an empty field is a value the run did "
        "not produce), a LaTeX `tabular` fragment (`.tex`, needs `\\usepackage{booktabs,siunitx}`) and the same table as "
        "a float with its caption above (`-float.tex`). `n/a` marks a value the run did not produce.\n\n";
  for (const auto& bt : *in.tables) {
    md += "### " + (bt.table.title.empty() ? bt.table.id : bt.table.title) + "\n\n";
    Table untitled = bt.table;
    untitled.title.clear();
    untitled.comments.clear();
    md += render_markdown(untitled) + "\nFiles: `tables/" + bt.table.id + ".md`, `.csv`, `.tex`, `-float.tex`.\n\n";
  }
  md += "## Plots\n\nEach plot is in `plots/` as a gnuplot script (`.gp`, data inline), pgfplots source (`.tex`, needs "
        "`\\usepackage{pgfplots}`, reads `<id>-<k>.csv` from `\\attnboundsplotdir`, default `plots/`) and, when gnuplot "
        "is installed, rendered PDF and PNG.\n\n";
  for (const auto& [plot, files] : *in.plots) {
    md += "### " + (plot.title.empty() ? plot.id : plot.title) + "\n\n";
    if (files.warning.empty()) md += "![" + plain_text(plot.title) + "](plots/" + plot.id + ".png)\n\n";
    else md += "Not rendered: " + files.warning + ".\n\n";
    md += "Files: `plots/" + plot.id + ".gp`, `plots/" + plot.id + ".tex`" +
          (files.warning.empty() ? ", `plots/" + plot.id + ".pdf`, `plots/" + plot.id + ".png`" : std::string()) + ".\n\n";
  }

  std::string problems;
  for (const auto& o : *in.outcomes)
    if (!o.produced_result() && o.status != "skipped")
      problems += fmt::format("- `{}` ({}): {}\n", o.spec->id, o.status, o.error);
  if (!problems.empty()) md += "## Runs without a result\n\n" + problems + "\n";
  md += "Timings are in `timings.json`; everything else is in `results.json` (deterministic: the same manifest gives "
        "byte-identical tables and results.json apart from the provenance lines: date and command line).\n";
  return md;
}

}  // namespace attnbounds
