// Small self-contained SVG charts for the comparison report: line charts (loss curves) and grouped bar charts
// (pitch-class histograms). Drawn by our own code so that the report needs no script or remote asset; every text is
// XML-escaped. The output is one <svg> element with a viewBox, usable inline in HTML or as a standalone .svg file.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cadenza::report {

// Escapes & < > " ' for XML / HTML text and attribute values.
std::string xml_escape(std::string_view text);

// The fixed palette the report colours models with (cycled), as "#rrggbb".
std::string series_colour(size_t index);

struct LineSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y); points with a non-finite coordinate are skipped
  std::string colour = "#1f77b4";
  bool dashed = false;
  bool markers = false;  // a dot on every point (for sparse series such as validation scores)
};

struct ChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 520;
  int height = 280;
};

// A line chart with axes, "nice" ticks, a legend and one polyline per series. A chart without any finite point
// says "no data" instead of drawing axes.
std::string line_chart_svg(const std::vector<LineSeries>& series, const ChartOptions& options);

struct BarSeries {
  std::string label;
  std::vector<double> values;  // one per category; non-finite values draw no bar
  std::string colour = "#1f77b4";
};

// Grouped bars: for each category one bar per series, side by side; the y axis starts at 0. Throws Error when a
// series does not have one value per category.
std::string bar_chart_svg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                          const ChartOptions& options);

// Tick positions for an axis over [low, high]: about `target` round numbers (1, 2 or 5 times a power of ten) that
// cover the range. A degenerate range (low == high) is widened around its value.
std::vector<double> nice_ticks(double low, double high, int target = 5);

}  // namespace cadenza::report
