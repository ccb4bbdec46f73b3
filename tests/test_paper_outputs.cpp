// Paper-ready outputs of reproduce, rendered from a fixed results.json of the default manifest
// (tests/fixtures/default_results.json): approval baselines, LaTeX at a NeurIPS text width,
// series styles in both plot sources, escaping and tidy CSV.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "checks/reproduce/files.hpp"
#include "checks/reproduce/manifest.hpp"
#include "checks/reproduce/plots.hpp"
#include "checks/reproduce/reproduce.hpp"
#include "checks/reproduce/subprocess.hpp"
#include "checks/tables.hpp"

using namespace attnbounds;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = ATTNBOUNDS_SOURCE_DIR;

struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& name) {
    dir = fs::temp_directory_path() / ("attnbounds-paper-" + std::to_string(getpid()) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
};

// Fixed provenance so that the approved files do not depend on the machine, the commit or the day.
Provenance fixed_provenance() {
  Provenance p;
  p.tool_version = "0.1.0";
  p.git_commit = "0000000000000000000000000000000000000000";
  p.compiler = "compiler";
  p.gmp = p.mpfr = p.mpfi = p.glpk = p.boost = "x.y";
  p.command_line = "attnbounds reproduce --out DIR";
  p.cores = 2;
  p.date = "2000-01-01T00:00:00Z";
  return p;
}

// Renders every output of the default manifest from the fixture into dir (no gnuplot unless asked).
const Manifest& default_manifest() {
  static const Manifest m = parse_manifest_text(default_manifest_text(), "default");
  return m;
}

void render_fixture(const fs::path& dir, const std::string& gnuplot = "") {
  json results = json::parse(read_text_file(kSource / "tests" / "fixtures" / "default_results.json"));
  auto ran = outcomes_from_results(default_manifest(), results);
  REQUIRE(ran.size() == default_manifest().runs.size());
  ReproduceOptions opts;
  opts.out = dir;
  opts.gnuplot = gnuplot;
  opts.progress = false;
  write_reproduce_outputs(default_manifest(), opts, ran, fixed_provenance());
}

std::vector<fs::path> files_with(const fs::path& dir, const std::vector<std::string>& exts) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    for (const auto& x : exts)
      if (e.path().filename().string().size() > x.size() && e.path().string().ends_with(x)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("approved tables and plot sources: the default manifest's outputs from fixed results", "[reproduce][approved]") {
  // To approve a deliberate change: ATTNBOUNDS_UPDATE_APPROVED=1 build/attnbounds_tests "[approved]",
  // then review `git diff tests/approved`.
  TempDir t("approved");
  render_fixture(t.dir);
  const bool update = std::getenv("ATTNBOUNDS_UPDATE_APPROVED") != nullptr;
  int compared = 0;
  for (const std::string sub : {"tables", "plots"}) {
    fs::path approved = kSource / "tests" / "approved" / sub;
    if (update) {
      fs::remove_all(approved);
      fs::create_directories(approved);
    }
    auto generated = files_with(t.dir / sub, {".tex", ".csv", ".md", ".gp"});
    for (const auto& f : generated) {
      INFO(f.filename().string());
      if (update) write_text_file(approved / f.filename(), read_text_file(f));
      REQUIRE(fs::exists(approved / f.filename()));
      CHECK(read_text_file(f) == read_text_file(approved / f.filename()));
      ++compared;
    }
    // No approved file without a generated one (a table that disappeared is a change too).
    for (const auto& f : files_with(approved, {".tex", ".csv", ".md", ".gp"})) CHECK(fs::exists(t.dir / sub / f.filename()));
  }
  CHECK(compared > 30);
}

TEST_CASE("every table and figure compiles at a 397 pt text width without overfull boxes", "[reproduce][latex]") {
  auto pdflatex = find_program("pdflatex");
  if (!pdflatex) {
    WARN("pdflatex not installed (scripts/setup.sh installs it): LaTeX widths not checked");
    return;
  }
  TempDir t("latex");
  render_fixture(t.dir);
  std::vector<fs::path> inputs;
  for (const char* sub : {"tables", "plots"})
    for (const auto& f : files_with(t.dir / sub, {".tex"})) inputs.push_back(f);
  REQUIRE(inputs.size() > 10);
  for (const auto& f : inputs) {
    INFO(f.filename().string());
    std::string name = f.stem().string();
    bool is_float = name.ends_with("-float");
    std::string doc =
        "\\documentclass[10pt]{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,siunitx,longtable,pgfplots}\n\\pgfplotsset{compat=1.16}\n"
        "\\setlength{\\textwidth}{397pt}\n\\setlength{\\hsize}{397pt}\n\\setlength{\\linewidth}{397pt}\n"
        "\\newcommand{\\attnboundsplotdir}{" + (t.dir / "plots").string() + "/}\n"
        "\\begin{document}\n\\noindent\n" +
        (is_float || f.parent_path().filename() == "plots" ? "\\input{" + f.string() + "}\n"
                                                           : "{\\small\\noindent\\input{" + f.string() + "}}\n") +
        "\\end{document}\n";
    fs::path job = t.dir / ("doc-" + name);
    fs::create_directories(job);
    write_text_file(job / "doc.tex", doc);
    ProcessResult r = run_process(*pdflatex, {"-interaction=nonstopmode", "-halt-on-error", "doc.tex"}, 120, job);
    std::string log = fs::exists(job / "doc.log") ? read_text_file(job / "doc.log") : r.out;
    INFO(log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    CHECK(r.exit_status == 0);
    CHECK(log.find("Overfull \\hbox") == std::string::npos);
    CHECK(log.find("Overfull \\vbox") == std::string::npos);
  }
}

TEST_CASE("a table longer than a page becomes a longtable that compiles and spans pages", "[reproduce][latex]") {
  Table t;
  t.id = "long";
  t.title = "A long table: $p^*$ per instance";
  t.headers = {"N", "worst", "verdict"};
  t.descriptions = {"instance size", "certified upper bound", "holds or fails"};
  t.notes = {"Rows repeat the header on every page."};
  const std::size_t rows = 3 * kLongTableRows;
  for (std::size_t i = 0; i < rows; ++i)
    t.rows.push_back({std::to_string(i + 2), std::to_string(i + 1) + ".25e-05", i % 7 ? "holds" : "fails"});
  for (bool as_float : {false, true}) {
    std::string tex = as_float ? render_latex_float(t) : render_latex(t);
    INFO(tex.substr(0, 600));
    REQUIRE(tex.find("\\begin{longtable}") != std::string::npos);
    CHECK(tex.find("\\endhead") != std::string::npos);
    CHECK(tex.find("\\begin{tabular}") == std::string::npos);
    // Every data row is there once.
    std::size_t row_ends = 0;
    for (std::size_t at = tex.find("e-05 & "); at != std::string::npos; at = tex.find("e-05 & ", at + 1)) ++row_ends;
    CHECK(row_ends == rows);
    auto pdflatex = find_program("pdflatex");
    if (!pdflatex) {
      WARN("pdflatex not installed (scripts/setup.sh installs it): longtable not compiled");
      continue;
    }
    TempDir dir("longtable");
    write_text_file(dir.dir / "long.tex", tex);
    std::string doc =
        "\\documentclass[10pt]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs,siunitx,longtable}\n"
        "\\setlength{\\textwidth}{397pt}\n\\begin{document}\n" +
        std::string(as_float ? "\\input{long.tex}\n" : "{\\small\\input{long.tex}}\n") + "\\end{document}\n";
    write_text_file(dir.dir / "doc.tex", doc);
    ProcessResult r = run_process(*pdflatex, {"-interaction=nonstopmode", "-halt-on-error", "doc.tex"}, 120, dir.dir);
    std::string log = fs::exists(dir.dir / "doc.log") ? read_text_file(dir.dir / "doc.log") : r.out;
    INFO(log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    CHECK(r.exit_status == 0);
    CHECK(log.find("Overfull \\hbox") == std::string::npos);
    std::smatch pages;
    REQUIRE(std::regex_search(log, pages, std::regex(R"(Output written on doc\.pdf \((\d+) pages?)")));
    CHECK(std::stoi(pages[1]) >= 2);
  }
}

namespace {

// {label -> colour} as each plot source states it, and the fill of its marker.
struct SeenStyle {
  std::string color, fill, marker;
};

std::string hex_of_pgf(const std::string& pgf) {
  std::smatch m;
  static const std::regex rgb(R"(\{rgb,255:red,(\d+);green,(\d+);blue,(\d+)\})");
  if (!std::regex_search(pgf, m, rgb)) return pgf;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]));
  return buf;
}

std::vector<std::pair<std::string, SeenStyle>> pgfplots_styles(const std::string& tex) {
  std::vector<std::pair<std::string, SeenStyle>> out;
  static const std::regex plot(R"(\\addplot\[color=(\{[^}]*\})([^\n]*)\] table[^\n]*\n\\addlegendentry\{([^\n]*)\}\n)");
  for (auto it = std::sregex_iterator(tex.begin(), tex.end(), plot); it != std::sregex_iterator(); ++it) {
    SeenStyle s;
    s.color = hex_of_pgf((*it)[1]);
    std::string rest = (*it)[2];
    std::smatch m;
    if (std::regex_search(rest, m, std::regex(R"(mark=([a-z*]+))"))) s.marker = m[1];
    if (std::regex_search(rest, m, std::regex(R"(draw=(\{[^}]*\}))"))) CHECK(hex_of_pgf(m[1]) == s.color);
    if (std::regex_search(rest, m, std::regex(R"(fill=(\{[^}]*\}|none))"))) s.fill = m[1] == "none" ? "none" : hex_of_pgf(m[1]);
    out.emplace_back((*it)[3], s);
  }
  return out;
}

std::vector<std::pair<std::string, SeenStyle>> gnuplot_styles(const std::string& gp) {
  std::vector<std::pair<std::string, SeenStyle>> out;
  static const std::regex series(R"(\$series\d+ using 1:2 with ([a-z]+)( lw 2)?( pt (\d+) ps [0-9.]+)? lc rgb '(#[0-9a-f]{6})' title '((?:[^']|'')*)')");
  for (auto it = std::sregex_iterator(gp.begin(), gp.end(), series); it != std::sregex_iterator(); ++it) {
    SeenStyle s;
    s.color = (*it)[5];
    std::string pt = (*it)[4];
    // gnuplot's filled point types are 5, 7, 9, 11, 13; the even ones are open.
    if (!pt.empty()) s.fill = std::stoi(pt) % 2 == 1 ? s.color : "none";
    s.marker = pt;
    std::string label = (*it)[6];
    for (std::size_t at = label.find("''"); at != std::string::npos; at = label.find("''", at + 1)) label.erase(at, 1);
    out.emplace_back(label, s);
  }
  return out;
}

}  // namespace

TEST_CASE("every plotted series has the colour and fill its legend entry claims, in both plot sources", "[reproduce][plots]") {
  TempDir t("styles");
  render_fixture(t.dir);
  int checked = 0;
  for (const auto& spec : default_manifest().plots) {
    INFO(spec.id);
    auto pgf = pgfplots_styles(read_text_file(t.dir / "plots" / (spec.id + ".tex")));
    auto gp = gnuplot_styles(read_text_file(t.dir / "plots" / (spec.id + ".gp")));
    REQUIRE(!pgf.empty());
    CHECK(pgf.size() == gp.size());
    for (std::size_t k = 0; k < pgf.size() && k < gp.size(); ++k) {
      const auto& style = pgf[k].second;
      const std::string& label = gp[k].first;  // plain text, as in the legend of the PNG
      const SeenStyle& g = gp[k].second;
      INFO(label);
      CHECK(style.color == g.color);
      CHECK(style.fill == g.fill);
      // A filled marker is filled with its own colour (not the default cycle's).
      if (!style.fill.empty() && style.fill != "none") CHECK(style.fill == style.color);
      // The manifest's colour for the legend's group, when it states one.
      for (const auto& s : spec.series)
        for (const auto& [group, colour] : s.colors)
          if (label == group || label.ends_with(group)) CHECK(style.color == colour);
      for (const auto& c : spec.curves)
        if (label == plain_text(c.label) && !c.color.empty()) CHECK(style.color == c.color);
      for (const auto& v : spec.vlines)
        if (label == plain_text(v.label) && !v.color.empty()) CHECK(style.color == v.color);
      ++checked;
    }
  }
  CHECK(checked >= 15);
  // The Theorem 7 pass points are green and filled green; FAIL points red (the old bug: the
  // default cycle's fill kept them blue/red).
  int seen = 0;
  for (const auto& [label, style] : pgfplots_styles(read_text_file(t.dir / "plots" / "thm7_grid.tex"))) {
    if (label == "pass") CHECK((style.color == "#2ca02c" && (style.fill == "#2ca02c" || style.fill == "none")));
    if (label == "FAIL") CHECK(style.color == "#d62728");
    seen += label == "pass" || label == "FAIL";
  }
  CHECK(seen == 2);
}

TEST_CASE("plot axes start where the data do and reference lines span them", "[reproduce][plots]") {
  TempDir t("axes");
  render_fixture(t.dir);
  std::string gp = read_text_file(t.dir / "plots" / "thm4_grid.gp");
  std::smatch m;
  REQUIRE(std::regex_search(gp, m, std::regex(R"(set yrange \[([-0-9.e]+):([-0-9.e]+)\])")));
  CHECK(std::stod(m[1]) >= 0);  // counts of messages: never below 0 (was -5)
  CHECK(std::stod(m[2]) < 40);  // at most 32 messages, plus padding
  REQUIRE(std::regex_search(gp, m, std::regex(R"(set xrange \[([-0-9.e]+):([-0-9.e]+)\])")));
  double xmin = std::stod(m[1]), xmax = std::stod(m[2]);
  // The capacity curve is sampled from the axis's left end to its right end.
  std::string csv0;
  json results = json::parse(read_text_file(kSource / "tests" / "fixtures" / "default_results.json"));
  auto ran = outcomes_from_results(default_manifest(), results);
  const TableSpec* table = nullptr;
  for (const auto& ts : default_manifest().tables)
    if (ts.id == "thm4_grid") table = &ts;
  REQUIRE(table);
  BuiltTable bt = build_table(*table, ran, default_manifest());
  Plot plot = build_plot(default_manifest().plots[2], bt, default_manifest());
  REQUIRE(plot.id == "thm4_grid");
  bool found_curve = false;
  for (std::size_t i = plot.data_series; i < plot.series.size(); ++i) {
    const auto& pts = plot.series[i].points;
    REQUIRE(pts.size() >= 2);
    if (pts.front().first == pts.back().first) {  // the vertical message-bit line
      auto r = axis_ranges(plot);
      CHECK(pts.front().second == r->ymin);
      CHECK(pts.back().second == r->ymax);
    } else {
      found_curve = true;
      CHECK(pts.front().first == Approx(xmin));
      CHECK(pts.back().first == Approx(xmax));
    }
  }
  CHECK(found_curve);
}

TEST_CASE("manifest text reaching gnuplot cannot start a command; LaTeX math is limited to symbols", "[reproduce][plots]") {
  TempDir t("inject");
  fs::path marker = t.dir / "injected";
  Plot plot;
  plot.id = "evil";
  plot.title = "title\n system 'touch " + marker.string() + "'\n";
  plot.xlabel = "x `touch " + marker.string() + "` '";
  plot.ylabel = "y";
  PlotSeries s;
  s.label = "a\" ; system \"touch " + marker.string() + "\"";
  s.points = {{1, 2}, {2, 3}};
  plot.series.push_back(s);
  std::string gp = gnuplot_script(plot);
  // Every line is a datablock line, a comment or starts with a known command.
  std::istringstream lines(gp);
  for (std::string line; std::getline(lines, line);) {
    bool harmless = line.find("system") == std::string::npos || line.rfind("set ", 0) == 0 || line.rfind("plot ", 0) == 0;
    CHECK(harmless);
  }
  if (auto gnuplot = find_program("gnuplot")) {
    write_text_file(t.dir / "evil.gp", gp);
    run_process(*gnuplot, {"evil.gp"}, 60, t.dir);
    CHECK_FALSE(fs::exists(marker));
    CHECK(fs::exists(t.dir / "evil.pdf"));
  }
  CHECK(gnuplot_quote("it's\nnew") == "'it''s new'");
  // LaTeX: math spans may use symbols only; anything else is escaped as text.
  CHECK(check_inline_math("$q\\log_2 N$ and $m'^*$").empty());
  CHECK_FALSE(check_inline_math("$\\input{/etc/passwd}$").empty());
  CHECK_FALSE(check_inline_math("$x$ $\\write18{rm}$").empty());
  CHECK_FALSE(check_inline_math("$x#1$").empty());
  CHECK_FALSE(check_inline_math("$x").empty());
  CHECK(latex_text("$2^{q}$ messages, 50%") == "$2^{q}$ messages, 50\\%");
  CHECK(latex_text("$\\input{x}$") == "\\$\\textbackslash{}input\\{x\\}\\$");
  CHECK(latex_text("costs \\$5") == "costs \\$5");
  CHECK(plain_text("$q\\log_2 N$, $\\varepsilon \\leq 0.1$") == "q log_2 N, ε ≤ 0.1");
  json bad = json::parse(default_manifest_text());
  bad["tables"][0]["title"] = "$\\input{/etc/passwd}$";
  CHECK_THROWS_WITH(parse_manifest(bad), Catch::Contains("may not use \\input"));
}

TEST_CASE("tidy CSV: one row per observation, exact values, shortest round-trip doubles", "[reproduce][tables]") {
  CHECK(shortest_double(0.1) == "0.1");
  CHECK(shortest_double(3.0) == "3");
  CHECK(shortest_double(1.0 / 3.0) == "0.3333333333333333");
  CHECK(std::stod(shortest_double(1.0 / 3.0)) == 1.0 / 3.0);
  TempDir t("tidy");
  render_fixture(t.dir);
  // The Theorem 4 grid: a long table with one row per (run, cell), raw states, no display marks.
  std::string grid = read_text_file(t.dir / "tables" / "thm4_grid.csv");
  CHECK(grid.rfind("run,model,m,p,bits,distinct,verdict,state\n", 0) == 0);
  CHECK(grid.find('*') == std::string::npos);
  bool raw_states = grid.find("(") == std::string::npos || grid.find("random (") != std::string::npos;
  CHECK(raw_states);
  // Expression columns at full precision: q log2 N for N = 8, q = 1 is exactly 3.
  std::string mk = read_text_file(t.dir / "tables" / "thm2_mk_star.csv");
  CHECK(mk.find("thm2-min-m-grid,8,1,3,5,7,8,15,2.3333333333333335\n") != std::string::npos);
}
