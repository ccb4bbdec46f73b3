// Figures from tables: a gnuplot script (rendered to SVG and PNG by Debian's gnuplot) and a
// pgfplots source for papers.  Shared by `reproduce` and any command that wants a figure.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct PlotSeries {
  std::string label;
  std::string style = "linespoints";  // linespoints | points | lines
  std::string color;                  // "#rrggbb"; empty = the renderer's cycle
  std::vector<std::pair<double, double>> points;
};

struct Plot {
  std::string id;  // file stem: plots/<id>.gp, .svg, .png, .tex
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  // Categorical x axis: x values are 1..k and these are the tick labels.
  std::vector<std::string> x_categories;
  std::vector<PlotSeries> series;

  bool has_data() const;
};

// A self-contained gnuplot script (data inline as datablocks) that writes <id>.svg and
// <id>.png in the current directory.
std::string gnuplot_script(const Plot& plot);
// A tikzpicture with a pgfplots axis (needs \usepackage{pgfplots}).
std::string pgfplots_source(const Plot& plot);
json plot_to_json(const Plot& plot);

struct PlotFiles {
  std::vector<std::filesystem::path> written;  // .gp, .tex and, when rendered, .svg and .png
  std::string warning;                         // non-empty when rendering was skipped or failed
};

// Writes dir/<id>.gp and dir/<id>.tex, then runs `gnuplot_program` (unless empty) in dir to
// render the SVG and PNG.  A missing gnuplot or an empty plot is a warning, not an error.
PlotFiles write_plot_files(const Plot& plot, const std::filesystem::path& dir, const std::string& gnuplot_program);

}  // namespace attnbounds
