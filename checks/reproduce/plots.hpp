// Figures from tables: a gnuplot script (rendered to PDF and PNG by Debian's gnuplot, cairo
// terminals) and a pgfplots source that reads the same points from per-series CSV files.  Both
// get the same explicit colour, marker and fill per series and the same axis ranges.  Shared by
// `reproduce` and any command that wants a figure.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {

struct PlotSeries {
  std::string label;
  std::string style = "linespoints";  // linespoints | points | lines
  std::string color;                  // "#rrggbb"; empty = the next colour of a fixed palette
  std::vector<std::pair<double, double>> points;
};

struct Plot {
  std::string id;  // file stem: plots/<id>.gp, .svg, .png, .tex
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  // Categorical x axis: x values are 1..k and these are the tick labels.
  std::vector<std::string> x_categories;
  std::vector<PlotSeries> series;
  // Series [0, data_series) are data; later ones are reference curves and lines, which do not
  // widen the axes (they are clipped to the data's range).
  std::size_t data_series = static_cast<std::size_t>(-1);
  std::vector<std::string> comments;  // provenance lines written as comments into both sources

  bool has_data() const;
};

// What a series looks like, identical in gnuplot and pgfplots.
struct SeriesStyle {
  std::string color;      // "#rrggbb"
  std::string fill;       // the marker's inside: the colour (filled marker) or "none" (open)
  int gnuplot_point = 0;  // gnuplot point type; 0 = no marker
  std::string pgf_mark;   // pgfplots mark name; empty = no marker
  bool line = false;
};
SeriesStyle series_style(const Plot& plot, std::size_t index);

// Axis ranges from the data series (padded by 4%; a non-negative range stays >= 0; log axes pad
// by a factor).  Empty optional when there is no data point.
struct AxisRanges {
  double xmin, xmax, ymin, ymax;
};
std::optional<AxisRanges> axis_ranges(const Plot& plot);

// A string for a gnuplot script: single-quoted (no backquote or macro substitution), control
// characters replaced by spaces so that no text can start a new command.
std::string gnuplot_quote(const std::string& text);

// A self-contained gnuplot script (data inline as datablocks) that writes <id>.pdf and
// <id>.png in the current directory.
std::string gnuplot_script(const Plot& plot);
// A tikzpicture with a pgfplots axis (needs \usepackage{pgfplots}) reading series k from
// \attnboundsplotdir<id>-<k>.csv (\attnboundsplotdir defaults to plots/).
std::string pgfplots_source(const Plot& plot);
// The CSV (header x,y, shortest round-trip numbers) of series k, read by the pgfplots source.
std::string series_csv(const Plot& plot, std::size_t k);
json plot_to_json(const Plot& plot);

struct PlotFiles {
  std::vector<std::filesystem::path> written;  // .gp, .tex, the series CSVs and, when rendered, .pdf and .png
  std::string warning;                         // non-empty when rendering was skipped or failed
};

// Writes dir/<id>.gp, dir/<id>.tex and dir/<id>-<k>.csv, then runs `gnuplot_program` (unless
// empty) in dir to render the PDF and PNG.  A missing gnuplot or an empty plot is a warning, not an error.
PlotFiles write_plot_files(const Plot& plot, const std::filesystem::path& dir, const std::string& gnuplot_program);

}  // namespace attnbounds
