// `cadenza metrics FILES_OR_DIRS... [--bars N] [--reference FILES_OR_DIRS... | --reference-shard SHARD] [--json]`:
// MusPy-style musical statistics (src/eval/musical_metrics.h) and form metrics of the melody (src/eval/form_metrics.h)
// of each MIDI file and their mean over the files, beside the same means over real pieces when a reference is given.
// The report is built once as JSON and printed as is (--json) or as text.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "data/shard.h"
#include "data/split.h"
#include "eval/form_metrics.h"
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
  int64_t bars = 0;
  int track = -1;
  std::vector<std::string> reference;
  std::string reference_shard;
  std::string split = "test";
  int64_t reference_count = 0;
  int reference_track = -1;
};

struct Piece {
  std::string name;
  Score score;
};

struct Measured {
  std::vector<eval::MetricSet> metrics, form;
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

bool is_midi_name(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".mid" || extension == ".midi";
}

// Files as given; a folder stands for its .mid / .midi files (not recursive), in name order.
std::vector<std::string> expand(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path, error))
      if (entry.is_regular_file() && is_midi_name(entry.path())) found.push_back(entry.path().string());
    if (error) throw IoError(path, "cannot list the folder");
    if (found.empty()) throw Error(path + ": the folder holds no .mid or .midi file");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

std::vector<Piece> read_files(const std::vector<std::string>& paths) {
  std::vector<Piece> pieces;
  for (const std::string& file : expand(paths)) pieces.push_back({file, read_midi_file(file)});  // errors name it
  return pieces;
}

// The pieces of one split of a shard, decoded with the shard's encoding (token or piano roll).
std::vector<Piece> read_shard(const std::string& path, Split split, int64_t count) {
  std::vector<Piece> pieces;
  for (Score& score : eval::decode_split(Shard(path), split, count)) pieces.push_back({score.source, std::move(score)});
  return pieces;
}

Measured measure(const std::vector<Piece>& pieces, const MetricsOptions& options, int track) {
  eval::MetricOptions metric_options;
  metric_options.polyphony_threshold = options.polyphony_threshold;
  metric_options.groove_resolution = options.groove_resolution;
  eval::FormOptions form_options;
  form_options.track = track;
  Measured measured;
  for (const Piece& piece : pieces) {
    const Score score = eval::first_bars(piece.score, options.bars);
    measured.metrics.push_back(eval::compute_all(score, metric_options));
    measured.form.push_back(eval::compute_form_metrics(score, form_options));
  }
  return measured;
}

void print_block(const std::string& title, const nlohmann::json& metrics, const std::vector<std::string>& names) {
  std::printf("%s\n", printable(title).c_str());
  for (const std::string& name : names) std::printf("  %-26s %s\n", name.c_str(), format_value(metrics[name]).c_str());
}

void print_beside(const std::string& title, const nlohmann::json& mine, const nlohmann::json& reference,
                  const std::vector<std::string>& names) {
  std::printf("%s\n", printable(title).c_str());
  for (const std::string& name : names)
    std::printf("  %-26s %12s %12s\n", name.c_str(), format_value(mine[name]).c_str(),
                format_value(reference[name]).c_str());
}

std::string plural(size_t count, const char* noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

void run_metrics(const MetricsOptions& options) {
  if (!options.reference.empty() && !options.reference_shard.empty())
    throw Error("--reference and --reference-shard: give one reference, not both");
  const std::vector<Piece> pieces = read_files(options.files);
  const Measured measured = measure(pieces, options, options.track);
  nlohmann::json report;
  report["files"] = nlohmann::json::array();
  for (size_t i = 0; i < pieces.size(); ++i)
    report["files"].push_back(
        {{"file", pieces[i].name}, {"metrics", measured.metrics[i].to_json()}, {"form", measured.form[i].to_json()}});
  report["mean"] = eval::mean_ignoring_nan(measured.metrics).to_json();
  report["form_mean"] = eval::mean_ignoring_nan(measured.form).to_json();
  report["file_count"] = pieces.size();
  report["options"] = {{"polyphony_threshold", options.polyphony_threshold},
                       {"groove_resolution", options.groove_resolution},
                       {"bars", options.bars},
                       {"track", options.track}};

  std::string reference_title;
  if (!options.reference.empty() || !options.reference_shard.empty()) {
    const bool from_shard = !options.reference_shard.empty();
    std::vector<Piece> reference =
        from_shard ? read_shard(options.reference_shard, parse_split(options.split), options.reference_count)
                   : read_files(options.reference);
    if (!from_shard && options.reference_count > 0 && reference.size() > static_cast<size_t>(options.reference_count))
      reference.resize(static_cast<size_t>(options.reference_count));
    const Measured real = measure(reference, options, options.reference_track);
    report["reference"] = {{"source", from_shard ? options.reference_shard : "files"},
                           {"piece_count", reference.size()},
                           {"mean", eval::mean_ignoring_nan(real.metrics).to_json()},
                           {"form_mean", eval::mean_ignoring_nan(real.form).to_json()}};
    if (from_shard) report["reference"]["split"] = options.split;
    reference_title =
        from_shard ? options.reference_shard + " (" + options.split + ", " + plural(reference.size(), "piece") + ")"
                   : plural(reference.size(), "reference file");
  }

  if (options.json) {
    if (options.mean_only) report.erase("files");
    std::printf("%s\n", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  const std::string bars = options.bars > 0 ? ", first " + plural(static_cast<size_t>(options.bars), "bar") : "";
  if (!options.mean_only)
    for (const auto& entry : report["files"]) {
      print_block(entry["file"].get<std::string>() + bars, entry["metrics"], eval::metric_names());
      print_block("  form of the melody", entry["form"], eval::form_metric_names());
    }
  const std::string title = "mean over " + plural(pieces.size(), "file") + bars + " (n/a values skipped)";
  if (reference_title.empty()) {
    print_block(title, report["mean"], eval::metric_names());
    print_block("  form of the melody", report["form_mean"], eval::form_metric_names());
    return;
  }
  std::printf("reference: %s\n", printable(reference_title).c_str());
  print_beside(title + ": files, reference", report["mean"], report["reference"]["mean"], eval::metric_names());
  print_beside("  form of the melody: files, reference", report["form_mean"], report["reference"]["form_mean"],
               eval::form_metric_names());
}

void setup_metrics(CLI::App& app) {
  auto options = std::make_shared<MetricsOptions>();
  CLI::App* command = app.add_subcommand(
      "metrics",
      "Musical statistics of MIDI files after MusPy (pitch range, pitches used, polyphony, scale consistency, "
      "entropies, empty beats/bars, drum pattern and groove consistency, note density, mean pitch), form metrics of "
      "the melody (recurring 2-bar patterns, self-similarity, looped bars, notes in key, off-grid onsets, ending on "
      "the tonic), their mean, and the same over real pieces with a reference; see docs/metrics.md");
  command->add_option("files", options->files, "MIDI files (.mid), or folders of them")->required()->expected(1, -1);
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
  command
      ->add_option("--bars", options->bars,
                   "Measure only the first N bars of each piece (bars of its meter; 0 = whole pieces)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--track", options->track,
                   "Track index of the melody in FILES for the form metrics (-1 = the first non-drum track with notes)")
      ->check(CLI::Range(-1, 1 << 16))
      ->capture_default_str();
  command->add_option("--reference", options->reference, "Real pieces to compare with: MIDI files or folders of them")
      ->expected(1, -1);
  command->add_option("--reference-shard", options->reference_shard,
                      "Real pieces to compare with: a shard's pieces of --split, decoded with its encoding");
  command->add_option("--split", options->split, "The split of --reference-shard: train, valid or test")
      ->capture_default_str();
  command->add_option("--reference-count", options->reference_count, "Use only the first N reference pieces (0 = all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  command
      ->add_option("--reference-track", options->reference_track,
                   "Track index of the melody in reference MIDI files (-1 = the first non-drum track with notes)")
      ->check(CLI::Range(-1, 1 << 16))
      ->capture_default_str();
  command->callback([options] { run_metrics(*options); });
}

}  // namespace

static const CommandRegistration registration{"metrics", setup_metrics};

}  // namespace cadenza::cli
