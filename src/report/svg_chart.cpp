#include "report/svg_chart.h"

#include "common/xml_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/error.h"

namespace cadenza::report {

namespace {

// Plot area inside the picture: room for the title and legend above, tick labels and axis titles around.
struct Frame {
  double left, right, top, bottom;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

Frame plot_frame(const ChartOptions& options) {
  return {58.0, static_cast<double>(options.width) - 14.0, 46.0, static_cast<double>(options.height) - 40.0};
}

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

std::string tick_label(double value) {
  if (std::fabs(value) < 1e-12) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string open_svg(const ChartOptions& options) {
  const std::string w = std::to_string(options.width), h = std::to_string(options.height);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" + w + "\" height=\"" + h +
                    "\" viewBox=\"0 0 " + w + " " + h + "\" role=\"img\" aria-label=\"" + xml_escape(options.title) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<rect width=\"" + w + "\" height=\"" + h + "\" fill=\"#ffffff\"/>\n";
  svg += "<text x=\"" + fixed(options.width / 2.0) + "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" " +
         "font-weight=\"bold\">" + xml_escape(options.title) + "</text>\n";
  return svg;
}

// Legend swatches in one row under the title.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string svg;
  double x = 58;
  for (const auto& [label, colour] : entries) {
    svg += "<rect x=\"" + fixed(x) + "\" y=\"26\" width=\"12\" height=\"8\" fill=\"" + xml_escape(colour) + "\"/>";
    svg += "<text x=\"" + fixed(x + 16) + "\" y=\"34\">" + xml_escape(label) + "</text>\n";
    x += 16 + 6.5 * static_cast<double>(label.size()) + 14;
  }
  return svg;
}

std::string axis_titles(const ChartOptions& options, const Frame& frame) {
  std::string svg;
  if (!options.x_label.empty())
    svg += "<text x=\"" + fixed((frame.left + frame.right) / 2) + "\" y=\"" + fixed(options.height - 6.0) +
           "\" text-anchor=\"middle\">" + xml_escape(options.x_label) + "</text>\n";
  if (!options.y_label.empty())
    svg += "<text transform=\"translate(13," + fixed((frame.top + frame.bottom) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(options.y_label) + "</text>\n";
  return svg;
}

// Horizontal grid lines and labels for the y ticks.
std::string y_axis(const std::vector<double>& ticks, const Frame& frame) {
  std::string svg;
  const double low = ticks.front(), high = ticks.back();
  for (double tick : ticks) {
    const double y = frame.bottom - (tick - low) / (high - low) * frame.height();
    svg += "<line x1=\"" + fixed(frame.left) + "\" y1=\"" + fixed(y) + "\" x2=\"" + fixed(frame.right) + "\" y2=\"" +
           fixed(y) + "\" stroke=\"#e3e3e3\"/>";
    svg += "<text x=\"" + fixed(frame.left - 4) + "\" y=\"" + fixed(y + 4) + "\" text-anchor=\"end\">" +
           tick_label(tick) + "</text>\n";
  }
  svg += "<line x1=\"" + fixed(frame.left) + "\" y1=\"" + fixed(frame.top) + "\" x2=\"" + fixed(frame.left) +
         "\" y2=\"" + fixed(frame.bottom) + "\" stroke=\"#555555\"/>\n";
  svg += "<line x1=\"" + fixed(frame.left) + "\" y1=\"" + fixed(frame.bottom) + "\" x2=\"" + fixed(frame.right) +
         "\" y2=\"" + fixed(frame.bottom) + "\" stroke=\"#555555\"/>\n";
  return svg;
}

std::string no_data(const ChartOptions& options, std::string svg) {
  svg += "<text x=\"" + fixed(options.width / 2.0) + "\" y=\"" + fixed(options.height / 2.0) +
         "\" text-anchor=\"middle\" fill=\"#777777\">no data</text>\n</svg>\n";
  return svg;
}

double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0;
  return nice * magnitude;
}

}  // namespace

std::string xml_escape(std::string_view text) { return xml_text(text); }

std::string series_colour(size_t index) {
  static const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  return kPalette[index % (sizeof kPalette / sizeof kPalette[0])];
}

std::vector<double> nice_ticks(double low, double high, int target) {
  if (!std::isfinite(low) || !std::isfinite(high)) return {0.0, 1.0};
  if (low > high) std::swap(low, high);
  if (high - low < 1e-12 * std::max(1.0, std::fabs(high))) {
    const double half = std::max(std::fabs(low) * 0.1, 0.5);
    low -= half;
    high += half;
  }
  const double step = nice_step((high - low) / std::max(1, target));
  const double first = std::floor(low / step + 1e-9) * step;
  const double last = std::ceil(high / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0; first + i * step <= last + step * 1e-6 && i < 1000; ++i) ticks.push_back(first + i * step);
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

std::string line_chart_svg(const std::vector<LineSeries>& series, const ChartOptions& options) {
  std::string svg = open_svg(options);
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const auto& line : series)
    for (const auto& [x, y] : line.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_low = std::min(x_low, x), x_high = std::max(x_high, x);
      y_low = std::min(y_low, y), y_high = std::max(y_high, y);
    }
  if (!std::isfinite(x_low)) return no_data(options, svg);

  const Frame frame = plot_frame(options);
  const std::vector<double> x_ticks = nice_ticks(x_low, x_high, 6);
  const std::vector<double> y_ticks = nice_ticks(y_low, y_high, 5);
  const double x0 = x_ticks.front(), x1 = x_ticks.back(), y0 = y_ticks.front(), y1 = y_ticks.back();
  auto px = [&](double x) { return frame.left + (x - x0) / (x1 - x0) * frame.width(); };
  auto py = [&](double y) { return frame.bottom - (y - y0) / (y1 - y0) * frame.height(); };

  svg += y_axis(y_ticks, frame);
  for (double tick : x_ticks)
    svg += "<text x=\"" + fixed(px(tick)) + "\" y=\"" + fixed(frame.bottom + 14) + "\" text-anchor=\"middle\">" +
           tick_label(tick) + "</text>\n";
  svg += axis_titles(options, frame);

  std::vector<std::pair<std::string, std::string>> legend_entries;
  for (const auto& line : series) {
    legend_entries.emplace_back(line.label, line.colour);
    std::string points;
    size_t count = 0;
    for (const auto& [x, y] : line.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      points += (count++ == 0 ? "" : " ") + fixed(px(x)) + "," + fixed(py(y));
    }
    if (count == 0) continue;
    svg += "<polyline class=\"series\" fill=\"none\" stroke=\"" + xml_escape(line.colour) + "\" stroke-width=\"1.6\"" +
           (line.dashed ? " stroke-dasharray=\"5,3\"" : "") + " points=\"" + points + "\"><title>" +
           xml_escape(line.label) + "</title></polyline>\n";
    if (line.markers || count == 1)
      for (const auto& [x, y] : line.points)
        if (std::isfinite(x) && std::isfinite(y))
          svg += "<circle cx=\"" + fixed(px(x)) + "\" cy=\"" + fixed(py(y)) + "\" r=\"2.6\" fill=\"" +
                 xml_escape(line.colour) + "\"/>";
    svg += "\n";
  }
  svg += legend(legend_entries);
  svg += "</svg>\n";
  return svg;
}

std::string bar_chart_svg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                          const ChartOptions& options) {
  for (const auto& bars : series)
    if (bars.values.size() != categories.size())
      throw Error("bar chart \"" + options.title + "\": series \"" + bars.label + "\" has " +
                  std::to_string(bars.values.size()) + " values for " + std::to_string(categories.size()) +
                  " categories");
  std::string svg = open_svg(options);
  double high = -std::numeric_limits<double>::infinity();
  for (const auto& bars : series)
    for (double value : bars.values)
      if (std::isfinite(value)) high = std::max(high, value);
  if (categories.empty() || !std::isfinite(high)) return no_data(options, svg);

  const Frame frame = plot_frame(options);
  const std::vector<double> y_ticks = nice_ticks(std::min(0.0, high), std::max(high, 0.0) > 0 ? high : 1.0, 5);
  const double y0 = y_ticks.front(), y1 = y_ticks.back();
  auto py = [&](double y) { return frame.bottom - (y - y0) / (y1 - y0) * frame.height(); };
  svg += y_axis(y_ticks, frame);
  svg += axis_titles(options, frame);

  const double group = frame.width() / static_cast<double>(categories.size());
  const double bar_width = group * 0.8 / static_cast<double>(std::max<size_t>(1, series.size()));
  for (size_t c = 0; c < categories.size(); ++c) {
    const double group_left = frame.left + group * static_cast<double>(c) + group * 0.1;
    for (size_t s = 0; s < series.size(); ++s) {
      const double value = series[s].values[c];
      if (!std::isfinite(value)) continue;
      const double top = py(std::max(value, 0.0)), base = py(std::min(value, 0.0));
      svg += "<rect class=\"bar\" x=\"" + fixed(group_left + bar_width * static_cast<double>(s)) + "\" y=\"" +
             fixed(top) + "\" width=\"" + fixed(std::max(bar_width - 1.0, 1.0)) + "\" height=\"" +
             fixed(std::max(base - top, 0.0)) + "\" fill=\"" + xml_escape(series[s].colour) + "\"><title>" +
             xml_escape(series[s].label + " " + categories[c] + ": " + tick_label(value)) + "</title></rect>";
    }
    svg += "<text x=\"" + fixed(frame.left + group * (static_cast<double>(c) + 0.5)) + "\" y=\"" +
           fixed(frame.bottom + 14) + "\" text-anchor=\"middle\">" + xml_escape(categories[c]) + "</text>\n";
  }
  std::vector<std::pair<std::string, std::string>> legend_entries;
  for (const auto& bars : series) legend_entries.emplace_back(bars.label, bars.colour);
  svg += legend(legend_entries);
  svg += "</svg>\n";
  return svg;
}

}  // namespace cadenza::report
