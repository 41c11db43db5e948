// Writing a comparison as REPORT_DIR/index.html, report.md and results.json.
//
//   index.html    one self-contained page: inline CSS, SVG charts inline (loss curves, pitch-class histograms),
//                 <img> for the piano-roll PNGs, <audio controls> for the WAVs and links to the MIDI files, all by
//                 relative paths inside the report folder. No script, no font, no remote asset.
//   report.md     the same tables in Markdown, charts as charts/*.svg images, samples as relative links.
//   results.json  everything measured, with the rankings.
// Every file is written with write_file_atomic.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/comparison.h"
#include "report/ranking.h"

namespace cadenza::report {

// The charts both pages show, as standalone SVG documents, keyed by the file name they get under charts/.
struct Chart {
  std::string file;   // "loss_lstm.svg"
  std::string title;  // alt text / caption
  std::string svg;
};
std::vector<Chart> report_charts(const Comparison& comparison);

std::string render_html(const Comparison& comparison, const std::vector<Ranking>& rankings);
std::string render_markdown(const Comparison& comparison, const std::vector<Ranking>& rankings);
nlohmann::ordered_json results_json(const Comparison& comparison, const std::vector<Ranking>& rankings);

// Ranks the models and writes charts/*.svg, index.html, report.md and results.json into `folder` (created when
// missing). Throws IoError when a file cannot be written.
void write_report(const std::string& folder, const Comparison& comparison);

// "1.23", "0.0012", "1.2e+06", "n/a" for NaN: the number format of the tables.
std::string format_number(double value, int significant = 3);
// "12.3%" or "n/a".
std::string format_percent(double share);
// "2.3M", "45.1k", "812", "n/a" for a negative count.
std::string format_count(int64_t count);

}  // namespace cadenza::report
