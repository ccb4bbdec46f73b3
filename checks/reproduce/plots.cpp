#include "plots.hpp"

#include <fmt/format.h>

#include <cmath>

#include "files.hpp"
#include "tables.hpp"
#include "subprocess.hpp"

namespace attnbounds {

namespace {

std::string gp_quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + '"';
}

// Numbers in plot sources: shortest form that round-trips, so that scripts are deterministic.
std::string num(double v) { return fmt::format("{}", v); }
// Sampled reference curves need no more than 6 significant digits.
std::string short_num(double v) { return fmt::format("{:.6g}", v); }

bool finite_point(const std::pair<double, double>& p, const Plot& plot) {
  if (!std::isfinite(p.first) || !std::isfinite(p.second)) return false;
  if (plot.logx && p.first <= 0) return false;
  if (plot.logy && p.second <= 0) return false;
  return true;
}

// Point types that stay distinguishable when points of two series coincide: filled circle,
// open square, filled triangle, open circle, filled diamond, open triangle.
const int kPointTypes[] = {7, 4, 9, 6, 13, 8};
const double kPointSizes[] = {1.2, 2.0, 1.4, 2.0, 1.4, 2.0};

}  // namespace

bool Plot::has_data() const {
  for (const auto& s : series)
    for (const auto& p : s.points)
      if (finite_point(p, *this)) return true;
  return false;
}

std::string gnuplot_script(const Plot& plot) {
  std::string gp;
  gp += "# attnbounds plot '" + plot.id + "': run `gnuplot " + plot.id + ".gp` to re-render.\n";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    gp += fmt::format("$series{} << EOD\n", i);
    auto fmt_num = plot.series[i].style == "lines" ? short_num : num;
    for (const auto& p : plot.series[i].points)
      if (finite_point(p, plot)) gp += fmt_num(p.first) + " " + fmt_num(p.second) + "\n";
    gp += "EOD\n";
  }
  gp += "set title " + gp_quote(plot.title) + "\n";
  gp += "set xlabel " + gp_quote(plot.xlabel) + "\n";
  gp += "set ylabel " + gp_quote(plot.ylabel) + "\n";
  // Literal text (no enhanced-mode ^ and _), and the legend below the plot when labels are long
  // so that the plot area keeps its width.
  std::size_t longest = 0;
  for (const auto& s : plot.series) longest = std::max(longest, s.label.size());
  gp += longest > 24 ? "set key outside center bottom horizontal maxrows 4\nset grid\n" : "set key outside right top\nset grid\n";
  if (plot.logx) gp += "set logscale x 2\n";
  if (plot.logy) gp += "set logscale y\n";
  if (!plot.x_categories.empty()) {
    gp += "set xtics (";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i)
      gp += (i ? ", " : "") + gp_quote(plot.x_categories[i]) + " " + std::to_string(i + 1);
    gp += ") rotate by -25\n";
    gp += fmt::format("set xrange [0.5:{}.5]\n", plot.x_categories.size());
    gp += "set offsets 0, 0, graph 0.05, graph 0.05\n";
  } else {
    gp += "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n";
  }
  std::string cmd = "plot ";
  bool first = true;
  std::size_t point_series = 0;
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    bool any = false;
    for (const auto& p : plot.series[i].points) any = any || finite_point(p, plot);
    if (!any) continue;
    const auto& s = plot.series[i];
    std::string with;
    if (s.style == "lines") {
      with = "lines lw 2";
    } else {
      std::size_t k = point_series++ % std::size(kPointTypes);
      with = fmt::format("{} pt {} ps {}", s.style == "points" ? "points" : "linespoints lw 2", kPointTypes[k], kPointSizes[k]);
    }
    if (!s.color.empty()) with += " lc rgb " + gp_quote(s.color);
    cmd += (first ? "" : ", ") + fmt::format("$series{} using 1:2 with {} title {}", i, with, gp_quote(s.label));
    first = false;
  }
  gp += "set terminal svg size 720,480 noenhanced font 'sans,12' background rgb 'white'\n";
  gp += "set output " + gp_quote(plot.id + ".svg") + "\n" + cmd + "\n";
  gp += "set terminal pngcairo size 960,640 noenhanced font 'sans,12'\n";
  gp += "set output " + gp_quote(plot.id + ".png") + "\nreplot\nunset output\n";
  return gp;
}

std::string pgfplots_source(const Plot& plot) {
  std::string tex;
  tex += "% attnbounds plot '" + plot.id + "'. Requires \\usepackage{pgfplots} (\\pgfplotsset{compat=1.16}).\n";
  tex += "\\begin{tikzpicture}\n\\begin{axis}[\n";
  tex += "  title={" + latex_escape(plot.title) + "},\n";
  tex += "  xlabel={" + latex_escape(plot.xlabel) + "},\n";
  tex += "  ylabel={" + latex_escape(plot.ylabel) + "},\n";
  tex += "  legend pos=outer north east, grid=major,\n";
  if (plot.logx) tex += "  xmode=log, log basis x=2,\n";
  if (plot.logy) tex += "  ymode=log,\n";
  if (!plot.x_categories.empty()) {
    tex += "  xtick={";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i) tex += (i ? "," : "") + std::to_string(i + 1);
    tex += "},\n  xticklabels={";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i) tex += (i ? "," : "") + ("{" + latex_escape(plot.x_categories[i]) + "}");
    tex += "},\n  x tick label style={rotate=25, anchor=north east}, enlarge x limits=0.15,\n";
  }
  tex += "]\n";
  for (const auto& s : plot.series) {
    std::string coords;
    auto fmt_num = s.style == "lines" ? short_num : num;
    for (const auto& p : s.points)
      if (finite_point(p, plot)) coords += " (" + fmt_num(p.first) + "," + fmt_num(p.second) + ")";
    if (coords.empty()) continue;
    std::string opts = s.style == "points" ? "only marks" : s.style == "lines" ? "no marks, thick" : "mark=*, thick";
    if (s.color.size() == 7 && s.color[0] == '#') {
      // pgfplots takes RGB colours as {rgb,255:red,R;green,G;blue,B}.
      int rgb = std::stoi(s.color.substr(1), nullptr, 16);
      opts += fmt::format(", color={{rgb,255:red,{};green,{};blue,{}}}", rgb >> 16, (rgb >> 8) & 255, rgb & 255);
    }
    tex += "\\addplot+[" + opts + "] coordinates {" + coords + " };\n";
    tex += "\\addlegendentry{" + latex_escape(s.label) + "}\n";
  }
  tex += "\\end{axis}\n\\end{tikzpicture}\n";
  return tex;
}

json plot_to_json(const Plot& plot) {
  json j;
  j["id"] = plot.id;
  j["title"] = plot.title;
  j["xlabel"] = plot.xlabel;
  j["ylabel"] = plot.ylabel;
  if (!plot.x_categories.empty()) j["x_categories"] = plot.x_categories;
  json series = json::array();
  for (const auto& s : plot.series) {
    json pts = json::array();
    for (const auto& p : s.points)
      if (finite_point(p, plot)) pts.push_back({p.first, p.second});
    series.push_back({{"label", s.label}, {"points", pts}});
  }
  j["series"] = series;
  return j;
}

PlotFiles write_plot_files(const Plot& plot, const std::filesystem::path& dir, const std::string& gnuplot_program) {
  PlotFiles files;
  auto gp = dir / (plot.id + ".gp");
  auto tex = dir / (plot.id + ".tex");
  write_text_file(gp, gnuplot_script(plot));
  write_text_file(tex, pgfplots_source(plot));
  files.written = {gp, tex};
  if (!plot.has_data()) {
    files.warning = "no data points (the runs it reads produced no values); wrote " + gp.filename().string() + " and " +
                    tex.filename().string() + " only";
    return files;
  }
  if (gnuplot_program.empty()) {
    files.warning = "rendering disabled; run `gnuplot " + gp.filename().string() + "` in " + dir.string();
    return files;
  }
  auto program = find_program(gnuplot_program);
  if (!program) {
    files.warning = "gnuplot not found ('" + gnuplot_program +
                    "'): install it (apt-get install gnuplot-nox, or scripts/setup.sh), then run `gnuplot " +
                    gp.filename().string() + "` in " + dir.string();
    return files;
  }
  auto r = run_process(*program, {gp.filename().string()}, 120, dir);
  auto svg = dir / (plot.id + ".svg"), png = dir / (plot.id + ".png");
  if (!r.started || r.exit_status != 0 || !std::filesystem::exists(svg)) {
    std::string why = r.started ? r.err : r.error;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    files.warning = "gnuplot failed on " + gp.filename().string() + ": " + why;
    return files;
  }
  files.written.push_back(svg);
  if (std::filesystem::exists(png)) files.written.push_back(png);
  return files;
}

}  // namespace attnbounds
