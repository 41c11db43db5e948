// `cadenza metrics FILES... [--json]`: MusPy-style musical statistics (src/eval/musical_metrics.h) of each MIDI
// file and their mean over the files. The report is built once as JSON and printed as is (--json) or as text.
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "eval/musical_metrics.h"
#include "midi/midi.h"

namespace cadenza::cli {

namespace {

struct MetricsOptions {
  std::vector<std::string> files;
  bool json = false;
  bool mean_only = false;
  int polyphony_threshold = 2;
  int groove_resolution = eval::kDefaultGrooveResolution;
};

std::string format_value(const nlohmann::json& value) {
  if (value.is_null()) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value.get<double>());
  return text;
}

// File names come from the command line: keep control characters out of the terminal.
std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

void print_block(const std::string& title, const nlohmann::json& metrics) {
  std::printf("%s\n", printable(title).c_str());
  for (const std::string& name : eval::metric_names())
    std::printf("  %-26s %s\n", name.c_str(), format_value(metrics[name]).c_str());
}

void run_metrics(const MetricsOptions& options) {
  eval::MetricOptions metric_options;
  metric_options.polyphony_threshold = options.polyphony_threshold;
  metric_options.groove_resolution = options.groove_resolution;
  std::vector<eval::MetricSet> sets;
  nlohmann::json report;
  report["files"] = nlohmann::json::array();
  for (const std::string& file : options.files) {
    const Score score = read_midi_file(file);  // FormatError / IoError name the file
    sets.push_back(eval::compute_all(score, metric_options));
    report["files"].push_back({{"file", file}, {"metrics", sets.back().to_json()}});
  }
  report["mean"] = eval::mean_ignoring_nan(sets).to_json();
  report["file_count"] = options.files.size();
  report["options"] = {{"polyphony_threshold", options.polyphony_threshold},
                       {"groove_resolution", options.groove_resolution}};
  if (options.json) {
    if (options.mean_only) report.erase("files");
    std::printf("%s\n", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  if (!options.mean_only)
    for (const auto& entry : report["files"]) print_block(entry["file"].get<std::string>(), entry["metrics"]);
  print_block("mean over " + std::to_string(options.files.size()) + " file" + (options.files.size() == 1 ? "" : "s") +
                  " (n/a values skipped)",
              report["mean"]);
}

void setup_metrics(CLI::App& app) {
  auto options = std::make_shared<MetricsOptions>();
  CLI::App* command = app.add_subcommand(
      "metrics",
      "Musical statistics of MIDI files after MusPy (pitch range, pitches used, polyphony, scale consistency, "
      "entropies, empty beats/bars, drum pattern and groove consistency, note density, mean pitch) and their "
      "mean; see docs/metrics.md");
  command->add_option("files", options->files, "MIDI files (.mid)")->required()->expected(1, -1);
  command->add_flag("--json", options->json, "Print JSON instead of text (NaN as null)")->capture_default_str();
  command->add_flag("--mean-only", options->mean_only, "Print only the mean over the files")->capture_default_str();
  command
      ->add_option("--polyphony-threshold", options->polyphony_threshold,
                   "polyphony_rate counts ticks with more than this many pitches")
      ->check(CLI::Range(0, 127))
      ->capture_default_str();
  command
      ->add_option("--groove-resolution", options->groove_resolution, "Onset positions per bar for groove_consistency")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  command->callback([options] { run_metrics(*options); });
}

}  // namespace

static const CommandRegistration registration{"metrics", setup_metrics};

}  // namespace cadenza::cli
