#include "plots.hpp"

#include <fmt/format.h>

#include <cmath>

#include "files.hpp"
#include "checks/tables.hpp"
#include "subprocess.hpp"

namespace attnbounds {

namespace {

// Numbers in plot sources: shortest form that round-trips, so that scripts are deterministic.
std::string num(double v) { return shortest_double(v); }
// Sampled reference curves need no more than 6 significant digits.
std::string short_num(double v) { return fmt::format("{:.6g}", v); }

bool finite_point(const std::pair<double, double>& p, const Plot& plot) {
  if (!std::isfinite(p.first) || !std::isfinite(p.second)) return false;
  if (plot.logx && p.first <= 0) return false;
  if (plot.logy && p.second <= 0) return false;
  return true;
}

bool has_points(const PlotSeries& s, const Plot& plot) {
  for (const auto& p : s.points)
    if (finite_point(p, plot)) return true;
  return false;
}

// Markers that stay distinguishable when points of two series coincide, as (gnuplot point type,
// pgfplots mark, filled): filled circle, open square, filled triangle, open circle, filled
// diamond, open triangle; open ones are drawn larger so that a filled one inside stays visible.
struct Marker {
  int gnuplot;
  const char* pgf;
  bool filled;
  double gnuplot_size, pgf_size;
};
const Marker kMarkers[] = {{7, "*", true, 1.2, 2.5},        {4, "square", false, 2.0, 3.5},
                           {9, "triangle*", true, 1.4, 3.0}, {6, "o", false, 2.0, 3.5},
                           {13, "diamond*", true, 1.4, 3.0}, {8, "triangle", false, 2.0, 3.8}};
// A colour-blind-safe palette (Okabe-Ito) for series without a stated colour.
const char* const kPalette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"};

std::size_t data_count(const Plot& plot) { return std::min(plot.data_series, plot.series.size()); }

std::string rgb_pgf(const std::string& color) {
  int rgb = std::stoi(color.substr(1), nullptr, 16);
  return fmt::format("{{rgb,255:red,{};green,{};blue,{}}}", rgb >> 16, (rgb >> 8) & 255, rgb & 255);
}

}  // namespace

SeriesStyle series_style(const Plot& plot, std::size_t index) {
  SeriesStyle st;
  const PlotSeries& s = plot.series[index];
  std::size_t marker_index = 0, palette_index = 0;
  for (std::size_t i = 0; i < index; ++i) {
    if (plot.series[i].style != "lines") ++marker_index;
    if (plot.series[i].color.empty()) ++palette_index;
  }
  st.color = s.color.empty() ? kPalette[palette_index % std::size(kPalette)] : s.color;
  st.line = s.style != "points";
  if (s.style != "lines") {
    const Marker& m = kMarkers[marker_index % std::size(kMarkers)];
    st.gnuplot_point = m.gnuplot;
    st.pgf_mark = m.pgf;
    st.fill = m.filled ? st.color : "none";
  }
  return st;
}

std::optional<AxisRanges> axis_ranges(const Plot& plot) {
  std::optional<AxisRanges> r;
  for (std::size_t i = 0; i < data_count(plot); ++i)
    for (const auto& p : plot.series[i].points) {
      if (!finite_point(p, plot)) continue;
      if (!r) r = AxisRanges{p.first, p.first, p.second, p.second};
      r->xmin = std::min(r->xmin, p.first);
      r->xmax = std::max(r->xmax, p.first);
      r->ymin = std::min(r->ymin, p.second);
      r->ymax = std::max(r->ymax, p.second);
    }
  if (!r) return r;
  auto pad = [](double& lo, double& hi, bool log) {
    if (log) {
      double f = std::pow(hi / lo, 0.04);
      if (f < 1.2) f = 1.2;
      lo /= f;
      hi *= f;
      return;
    }
    double span = hi - lo;
    double d = span > 0 ? 0.04 * span : std::max(0.5, 0.04 * std::abs(hi));
    bool non_negative = lo >= 0;
    lo -= d;
    hi += d;
    if (non_negative && lo < 0) lo = 0;
  };
  if (!plot.x_categories.empty()) {
    r->xmin = 0.5;
    r->xmax = plot.x_categories.size() + 0.5;
  } else {
    pad(r->xmin, r->xmax, plot.logx);
  }
  pad(r->ymin, r->ymax, plot.logy);
  return r;
}

std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') out += "''";
    else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) out += ' ';
    else out += ch;
  }
  return out + "'";
}

bool Plot::has_data() const {
  for (std::size_t i = 0; i < data_count(*this); ++i)
    if (has_points(series[i], *this)) return true;
  return false;
}

std::string gnuplot_script(const Plot& plot) {
  std::string gp;
  gp += "# attnbounds plot '" + plot.id + "': run `gnuplot " + plot.id + ".gp` to re-render " + plot.id + ".pdf and " +
        plot.id + ".png.\n";
  for (const auto& c : plot.comments) {
    std::string clean;
    for (char ch : c) clean += (ch == '\n' || ch == '\r') ? ' ' : ch;
    gp += "# " + clean + "\n";
  }
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    gp += fmt::format("$series{} << EOD\n", i);
    auto fmt_num = plot.series[i].style == "lines" ? short_num : num;
    for (const auto& p : plot.series[i].points)
      if (finite_point(p, plot)) gp += fmt_num(p.first) + " " + fmt_num(p.second) + "\n";
    gp += "EOD\n";
  }
  // Literal text (noenhanced: no ^ and _ markup); $...$ math becomes plain text.
  gp += "set title " + gnuplot_quote(plain_text(plot.title)) + "\n";
  gp += "set xlabel " + gnuplot_quote(plain_text(plot.xlabel)) + "\n";
  gp += "set ylabel " + gnuplot_quote(plain_text(plot.ylabel)) + "\n";
  // The legend below the plot when labels are long, so that the plot area keeps its width.
  std::size_t longest = 0;
  for (const auto& s : plot.series) longest = std::max(longest, s.label.size());
  gp += longest > 24 ? "set key outside center bottom horizontal maxrows 4\nset grid\n" : "set key outside right top\nset grid\n";
  if (plot.logx) gp += "set logscale x 2\n";
  if (plot.logy) gp += "set logscale y\n";
  if (!plot.x_categories.empty()) {
    gp += "set xtics (";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i)
      gp += (i ? ", " : "") + gnuplot_quote(plain_text(plot.x_categories[i])) + " " + std::to_string(i + 1);
    // Labels end at their tick and run down to the left (as in the pgfplots source), so the margins
    // must hold the rotated text: about sin 30° of the longest label below, cos 30° of the first one
    // to the left (a character is about 0.55 of a line high).
    std::size_t longest_label = 0;
    for (const auto& c : plot.x_categories) longest_label = std::max(longest_label, plain_text(c).size());
    std::size_t first_label = plain_text(plot.x_categories.front()).size();
    gp += ") rotate by 30 right\n";
    gp += fmt::format("set bmargin {}\n", 3 + (longest_label * 55 / 200 + 1));
    gp += fmt::format("set lmargin {}\n", std::max<std::size_t>(10, first_label * 87 / 100));
  }
  if (auto r = axis_ranges(plot)) {
    gp += "set xrange [" + num(r->xmin) + ":" + num(r->xmax) + "]\n";
    gp += "set yrange [" + num(r->ymin) + ":" + num(r->ymax) + "]\n";
  }
  std::string cmd = "plot ";
  bool first = true;
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    if (!has_points(plot.series[i], plot)) continue;
    SeriesStyle st = series_style(plot, i);
    std::string with;
    std::size_t marker_index = 0;
    for (std::size_t j = 0; j < i; ++j) marker_index += plot.series[j].style != "lines";
    double size = kMarkers[marker_index % std::size(kMarkers)].gnuplot_size;
    if (st.gnuplot_point == 0) with = "lines lw 2";
    else with = fmt::format("{} pt {} ps {}", st.line ? "linespoints lw 2" : "points", st.gnuplot_point, size);
    with += " lc rgb " + gnuplot_quote(st.color);
    cmd += (first ? "" : ", ") + fmt::format("$series{} using 1:2 with {} title {}", i, with, gnuplot_quote(plain_text(plot.series[i].label)));
    first = false;
  }
  gp += "set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'\n";
  gp += "set output " + gnuplot_quote(plot.id + ".pdf") + "\n" + cmd + "\n";
  gp += "set terminal pngcairo size 960,640 noenhanced font 'sans,12'\n";
  gp += "set output " + gnuplot_quote(plot.id + ".png") + "\nreplot\nunset output\n";
  return gp;
}

std::string series_csv(const Plot& plot, std::size_t k) {
  std::string out = "x,y\n";
  auto fmt_num = plot.series[k].style == "lines" ? short_num : num;
  for (const auto& p : plot.series[k].points)
    if (finite_point(p, plot)) out += fmt_num(p.first) + "," + fmt_num(p.second) + "\n";
  return out;
}

std::string pgfplots_source(const Plot& plot) {
  std::string tex;
  tex += "% attnbounds plot '" + plot.id + "'. Requires \\usepackage{pgfplots} (\\pgfplotsset{compat=1.16}).\n";
  tex += "% Reads its points from " + plot.id + "-<k>.csv in \\attnboundsplotdir (default plots/).\n";
  for (const auto& c : plot.comments) {
    std::string clean;
    for (char ch : c) clean += (ch == '\n' || ch == '\r') ? ' ' : ch;
    tex += "% " + clean + "\n";
  }
  tex += "\\providecommand{\\attnboundsplotdir}{plots/}\n";
  tex += "\\begin{tikzpicture}\n\\begin{axis}[\n";
  tex += "  scale only axis, width=0.74\\linewidth, height=0.42\\linewidth,\n";
  tex += "  title={" + latex_text(plot.title) + "}, title style={font=\\small, text width=0.9\\linewidth, align=center},\n";
  tex += "  xlabel={" + latex_text(plot.xlabel) + "},\n";
  tex += "  ylabel={" + latex_text(plot.ylabel) + "},\n";
  tex += "  legend style={font=\\footnotesize, at={(0.5,-0.2)}, anchor=north, legend columns=2, /tikz/every even column/.append style={column sep=6pt}},\n";
  tex += "  grid=major, tick label style={font=\\footnotesize}, label style={font=\\small},\n";
  if (plot.logx) tex += "  xmode=log, log basis x=2,\n";
  if (plot.logy) tex += "  ymode=log,\n";
  if (auto r = axis_ranges(plot))
    tex += "  xmin=" + num(r->xmin) + ", xmax=" + num(r->xmax) + ", ymin=" + num(r->ymin) + ", ymax=" + num(r->ymax) + ",\n";
  if (!plot.x_categories.empty()) {
    tex += "  xtick={";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i) tex += (i ? "," : "") + std::to_string(i + 1);
    tex += "},\n  xticklabels={";
    for (std::size_t i = 0; i < plot.x_categories.size(); ++i) tex += (i ? "," : "") + ("{" + latex_text(plot.x_categories[i]) + "}");
    tex += "},\n  x tick label style={rotate=30, anchor=north east},\n";
  }
  tex += "]\n";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const auto& s = plot.series[i];
    if (!has_points(s, plot)) continue;
    SeriesStyle st = series_style(plot, i);
    std::string opts = "color=" + rgb_pgf(st.color);
    if (st.pgf_mark.empty()) {
      opts += ", no marks, thick";
    } else {
      std::size_t marker_index = 0;
      for (std::size_t j = 0; j < i; ++j) marker_index += plot.series[j].style != "lines";
      double size = kMarkers[marker_index % std::size(kMarkers)].pgf_size;
      opts += ", mark=" + st.pgf_mark + fmt::format(", mark size={}pt", size) + ", mark options={solid, draw=" + rgb_pgf(st.color) +
              ", fill=" + (st.fill == "none" ? std::string("none") : rgb_pgf(st.fill)) + "}";
      opts += st.line ? ", thick" : ", only marks";
    }
    tex += "\\addplot[" + opts + "] table[x=x, y=y, col sep=comma] {\\attnboundsplotdir " + plot.id + "-" + std::to_string(i) + ".csv};\n";
    tex += "\\addlegendentry{" + latex_text(s.label) + "}\n";
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
    series.push_back({{"label", s.label}, {"style", s.style}, {"color", series_style(plot, &s - plot.series.data()).color}, {"points", pts}});
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
  for (std::size_t k = 0; k < plot.series.size(); ++k) {
    if (!has_points(plot.series[k], plot)) continue;
    auto csv = dir / (plot.id + "-" + std::to_string(k) + ".csv");
    write_text_file(csv, series_csv(plot, k));
    files.written.push_back(csv);
  }
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
  auto pdf = dir / (plot.id + ".pdf"), png = dir / (plot.id + ".png");
  if (!r.started || r.exit_status != 0 || !std::filesystem::exists(pdf)) {
    std::string why = r.started ? r.err : r.error;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    files.warning = "gnuplot failed on " + gp.filename().string() + ": " + why;
    return files;
  }
  files.written.push_back(pdf);
  if (std::filesystem::exists(png)) files.written.push_back(png);
  return files;
}

}  // namespace attnbounds
