// The report's SVG charts: axes that cover the data, one polyline / bar per value, escaped text, no data handled.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "common/error.h"
#include "report/svg_chart.h"
#include "support/test_support.h"

namespace cadenza::report {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// The "x,y" pairs of the n-th polyline.
std::vector<std::pair<double, double>> polyline_points(const std::string& svg, size_t n) {
  const std::regex pattern("<polyline[^>]* points=\"([^\"]*)\"");
  auto it = std::sregex_iterator(svg.begin(), svg.end(), pattern);
  for (size_t i = 0; i < n && it != std::sregex_iterator(); ++i) ++it;
  std::vector<std::pair<double, double>> points;
  if (it == std::sregex_iterator()) return points;
  const std::string list = (*it)[1].str();
  const std::regex pair("(-?[0-9.]+),(-?[0-9.]+)");
  for (auto p = std::sregex_iterator(list.begin(), list.end(), pair); p != std::sregex_iterator(); ++p)
    points.emplace_back(std::stod((*p)[1].str()), std::stod((*p)[2].str()));
  return points;
}

TEST(ReportSvgChart, NiceTicksCoverTheRangeWithRoundSteps) {
  for (const auto& [low, high] :
       std::vector<std::pair<double, double>>{{0.13, 4.87}, {-3, 250}, {1e-4, 3e-4}, {7, 7}}) {
    const std::vector<double> ticks = nice_ticks(low, high, 5);
    ASSERT_GE(ticks.size(), 2u) << low << ".." << high;
    EXPECT_LE(ticks.front(), low);
    EXPECT_GE(ticks.back(), high);
    EXPECT_LT(ticks.front(), ticks.back());
    const double step = ticks[1] - ticks[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-9 || std::fabs(mantissa - 2) < 1e-9 || std::fabs(mantissa - 5) < 1e-9)
        << "step " << step;
    EXPECT_LE(ticks.size(), 12u);
  }
  EXPECT_EQ(nice_ticks(std::nan(""), 1).size(), 2u) << "non-finite input still gives an axis";
}

TEST(ReportSvgChart, LineChartDrawsEverySeriesInsideThePlot) {
  LineSeries falling{"train <loss>", {{0, 3.0}, {10, 2.0}, {20, 1.5}, {30, std::nan("")}}, "#123456"};
  LineSeries valid{"valid", {{10, 2.2}, {30, 1.8}}, "#654321", true, true};
  const ChartOptions options{"loss & more", "step", "nats", 400, 200};
  const std::string svg = line_chart_svg({falling, valid}, options);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("viewBox=\"0 0 400 200\""), std::string::npos);
  EXPECT_EQ(count_of(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find("train &lt;loss&gt;"), std::string::npos) << "labels are escaped";
  EXPECT_NE(svg.find("loss &amp; more"), std::string::npos);
  EXPECT_EQ(svg.find("<loss>"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos) << "the dashed series";
  EXPECT_EQ(count_of(svg, "<circle"), 2u) << "markers on the validation points only";

  const auto points = polyline_points(svg, 0);
  ASSERT_EQ(points.size(), 3u) << "the NaN point is skipped";
  for (const auto& [x, y] : points) {
    EXPECT_GT(x, 0);
    EXPECT_LT(x, 400);
    EXPECT_GT(y, 0);
    EXPECT_LT(y, 200);
  }
  EXPECT_LT(points[0].first, points[1].first) << "x grows to the right";
  EXPECT_LT(points[0].second, points[2].second) << "a falling loss goes down the picture (y grows downwards)";
}

TEST(ReportSvgChart, EmptyChartsSayNoData) {
  const std::string svg = line_chart_svg({{"x", {{std::nan(""), 1.0}}, "#000000"}}, {"empty", "", "", 300, 150});
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(bar_chart_svg({}, {}, {"empty", "", "", 300, 150}).find("no data"), std::string::npos);
}

TEST(ReportSvgChart, BarChartDrawsOneBarPerFiniteValue) {
  const std::vector<std::string> categories = {"C", "D", "E"};
  const BarSeries model{"model", {0.5, 0.25, 0.25}, "#aa0000"};
  const BarSeries training{"training", {0.4, std::nan(""), 0.6}, "#999999"};
  const std::string svg = bar_chart_svg(categories, {model, training}, {"pitch classes", "class", "share", 300, 200});
  EXPECT_EQ(count_of(svg, "<rect class=\"bar\""), 5u);
  // The tallest bar (0.6) is taller than the 0.25 ones: heights follow values.
  const std::regex bar("<rect class=\"bar\"[^>]* height=\"([0-9.]+)\"");
  std::vector<double> heights;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator(); ++it)
    heights.push_back(std::stod((*it)[1].str()));
  ASSERT_EQ(heights.size(), 5u);
  // Order: C model, C training, D model, E model, E training.
  EXPECT_NEAR(heights[0] / heights[2], 2.0, 0.02);
  EXPECT_GT(heights[4], heights[3]);
  EXPECT_THROW_WITH(bar_chart_svg(categories, {{"short", {1.0}, "#000000"}}, {}), Error,
                    {"series \"short\"", "1 values for 3 categories"});
}

TEST(ReportSvgChart, XmlEscapeAndPalette) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_escape(std::string("bell\x07")), "bell?");
  EXPECT_NE(series_colour(0), series_colour(1));
  EXPECT_EQ(series_colour(0), series_colour(10)) << "the palette cycles";
}

}  // namespace
}  // namespace cadenza::report
