// `cadenza style-classifier train|classify`: the style classifier of src/eval/style_classifier.h, the instrument that
// measures style-conditioned generation (issue 17; docs/conditioning.md, "Measuring style: the style classifier").
//   train     labels real MIDI pieces by a style rule (data/style_label.h), fits the classifier on the train split
//             (the split `dataset prepare` gives each file) and reports its accuracy on train and on the held-out
//             pieces (valid + test), whole pieces and windows of N bars, beside the majority-style baseline.
//   classify  the style probabilities of MIDI files (whole and per window), the share classified as an expected
//             style, and the mean probability of each style per window index over the files (a style transition).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "data/prepare.h"
#include "data/split.h"
#include "data/style_label.h"
#include "eval/style_classifier.h"
#include "midi/midi.h"

namespace cadenza::cli {

namespace {

using eval::StyleClassifier;
using eval::StyleConfusion;

struct TrainOptions {
  std::vector<std::string> inputs;
  std::string style_from;
  bool no_recursive = false;
  int track_index = 0;
  std::vector<std::string> styles;
  int window_bars = 4;
  std::string split = "0.8,0.1,0.1";
  bool no_group_duplicates = false;
  double l2 = 1e-3;
  bool balance_styles = false;
  bool ignore_meter = false;
  std::string output;
};

struct ClassifyOptions {
  std::string classifier;
  std::vector<std::string> inputs;
  int track_index = -2;  // -2: the classifier's
  int window_bars = 0;   // 0: the classifier's
  std::string expect;
  bool json = false;
};

// File names come from the command line: keep control characters out of the terminal.
std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

std::string fraction(int64_t part, int64_t whole) {
  char text[64];
  if (whole == 0) return "n/a";
  std::snprintf(text, sizeof text, "%.3f (%lld/%lld)", static_cast<double>(part) / static_cast<double>(whole),
                static_cast<long long>(part), static_cast<long long>(whole));
  return text;
}

std::string number(double value) {
  char text[32];
  if (std::isnan(value)) return "n/a";
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

nlohmann::json nullable(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

// The count of the rows of `style` in a confusion matrix (its true pieces).
int64_t row_total(const StyleConfusion& confusion, size_t style) {
  int64_t sum = 0;
  for (int64_t count : confusion.counts[style]) sum += count;
  return sum;
}

nlohmann::json confusion_json(const StyleConfusion& confusion, size_t majority) {
  return {{"accuracy", nullable(confusion.accuracy())},
          {"correct", confusion.correct()},
          {"total", confusion.total()},
          {"balanced_accuracy", nullable(confusion.balanced_accuracy())},
          {"majority_baseline", nullable(confusion.total() > 0 ? static_cast<double>(row_total(confusion, majority)) /
                                                                     static_cast<double>(confusion.total())
                                                               : std::nan(""))},
          {"confusion", confusion.counts}};
}

void print_confusion(const std::string& title, const StyleConfusion& confusion,
                     const std::vector<std::string>& styles) {
  std::printf("%s (rows: true style, columns: predicted)\n", title.c_str());
  std::printf("  %-12s", "");
  for (const std::string& style : styles) std::printf(" %9s", style.substr(0, 9).c_str());
  std::printf(" %9s\n", "recall");
  for (size_t k = 0; k < styles.size(); ++k) {
    std::printf("  %-12s", styles[k].substr(0, 12).c_str());
    for (int64_t count : confusion.counts[k]) std::printf(" %9lld", static_cast<long long>(count));
    const int64_t total = row_total(confusion, k);
    std::printf(" %9s\n", total > 0 ? number(static_cast<double>(confusion.counts[k][k]) / total).c_str() : "n/a");
  }
}

void run_train(const TrainOptions& options) {
  eval::StyleCorpusOptions corpus_options;
  corpus_options.inputs = options.inputs;
  corpus_options.recursive = !options.no_recursive;
  corpus_options.rule = StyleRule::parse(options.style_from);
  corpus_options.track_index = options.track_index;
  for (const std::string& style : options.styles) {
    check_style_name(style);
    if (std::find(corpus_options.keep_styles.begin(), corpus_options.keep_styles.end(), style) !=
        corpus_options.keep_styles.end())
      throw Error("--styles: '" + style + "' is listed twice");
    corpus_options.keep_styles.push_back(style);
  }
  corpus_options.ratios = SplitRatios::parse(options.split);
  corpus_options.group_duplicates = !options.no_group_duplicates;
  if (options.window_bars < 1) throw Error("--window-bars must be at least 1");
  const eval::StyleCorpus corpus = eval::collect_style_corpus(corpus_options);

  // The styles: those kept, in the order given, else every style found, sorted.
  std::vector<std::string> styles = corpus_options.keep_styles;
  if (styles.empty()) {
    for (const auto& piece : corpus.pieces)
      if (std::find(styles.begin(), styles.end(), piece.style) == styles.end()) styles.push_back(piece.style);
    std::sort(styles.begin(), styles.end());
  }
  std::vector<int64_t> train_count(styles.size(), 0), held_out_count(styles.size(), 0);
  for (const auto& piece : corpus.pieces) {
    const size_t k = static_cast<size_t>(std::find(styles.begin(), styles.end(), piece.style) - styles.begin());
    ++(piece.split == Split::kTrain ? train_count : held_out_count)[k];
  }
  for (size_t k = 0; k < styles.size(); ++k)
    if (train_count[k] == 0)
      throw Error("style '" + styles[k] + "' has no piece in the train split (" + std::to_string(held_out_count[k]) +
                  " held out): give more pieces of it, or leave it out with --styles");
  if (styles.size() < 2)
    throw Error("only one style found ('" + styles.front() +
                "'): a classifier needs at least two (check --style-from '" + options.style_from + "')");

  std::printf("pieces      %zu labelled by '%s' (%zu files without a style, %zu of other styles, %zu skipped",
              corpus.pieces.size(), printable(options.style_from).c_str(), corpus.unlabelled, corpus.not_kept,
              corpus.skipped.size());
  if (corpus_options.group_duplicates)
    std::printf(", %zu moved to their duplicate group's split, %zu not melody-encodable so not grouped",
                corpus.duplicate_moved, corpus.not_encodable);
  std::printf(")\n");
  for (size_t i = 0; i < corpus.skipped.size() && i < 5; ++i)
    std::printf("  skipped %s: %s\n", printable(corpus.skipped[i].path).c_str(),
                printable(corpus.skipped[i].reason).c_str());
  if (corpus.skipped.size() > 5) std::printf("  ... and %zu more skipped\n", corpus.skipped.size() - 5);
  std::printf("%-12s %8s %10s\n", "style", "train", "held-out");
  for (size_t k = 0; k < styles.size(); ++k)
    std::printf("%-12s %8lld %10lld\n", styles[k].c_str(), static_cast<long long>(train_count[k]),
                static_cast<long long>(held_out_count[k]));

  eval::StyleTrainOptions train_options;
  train_options.l2 = options.l2;
  train_options.balance_styles = options.balance_styles;
  train_options.ignore_meter = options.ignore_meter;
  const std::vector<eval::StyleExample> examples =
      eval::style_examples(corpus.pieces, {Split::kTrain}, styles, options.window_bars);
  StyleClassifier classifier = StyleClassifier::train(styles, examples, train_options);
  classifier.set_reading(options.track_index, options.window_bars);
  const nlohmann::json& fit = classifier.fit_report();
  std::printf(
      "fit         %zu examples (whole training pieces and their %d-bar windows), L-BFGS %d iterations, "
      "objective %.5f, %s%s\n",
      examples.size(), options.window_bars, fit["iterations"].get<int>(), fit["objective"].get<double>(),
      fit["converged"].get<bool>() ? "converged" : "stopped (no further progress)",
      options.ignore_meter ? "; the meter features left out (--ignore-meter)" : "");

  const auto train = eval::evaluate_style_classifier(classifier, corpus.pieces, {Split::kTrain});
  const auto held_out = eval::evaluate_style_classifier(classifier, corpus.pieces, {Split::kValid, Split::kTest});
  const size_t majority =
      static_cast<size_t>(std::max_element(train_count.begin(), train_count.end()) - train_count.begin());
  const auto baseline = [&](const StyleConfusion& confusion) {
    return fraction(row_total(confusion, majority), confusion.total());
  };
  const std::string windows = std::to_string(options.window_bars) + "-bar windows";
  std::printf("\naccuracy         %-22s %-22s %s\n", "train", "held-out (valid+test)",
              ("held-out if always '" + styles[majority] + "'").c_str());
  std::printf("  whole pieces   %-22s %-22s %s\n", fraction(train.pieces.correct(), train.pieces.total()).c_str(),
              fraction(held_out.pieces.correct(), held_out.pieces.total()).c_str(), baseline(held_out.pieces).c_str());
  std::printf(
      "  %-14s %-22s %-22s %s\n", windows.c_str(), fraction(train.windows.correct(), train.windows.total()).c_str(),
      fraction(held_out.windows.correct(), held_out.windows.total()).c_str(), baseline(held_out.windows).c_str());
  std::printf("balanced accuracy (mean recall over styles; chance %s)\n",
              number(1.0 / static_cast<double>(styles.size())).c_str());
  std::printf("  whole pieces   %-22s %s\n", number(train.pieces.balanced_accuracy()).c_str(),
              number(held_out.pieces.balanced_accuracy()).c_str());
  std::printf("  %-14s %-22s %s\n", windows.c_str(), number(train.windows.balanced_accuracy()).c_str(),
              number(held_out.windows.balanced_accuracy()).c_str());
  std::printf("\n");
  print_confusion("held-out whole pieces", held_out.pieces, styles);
  print_confusion("held-out " + windows, held_out.windows, styles);

  nlohmann::json counts = nlohmann::json::object();
  for (size_t k = 0; k < styles.size(); ++k)
    counts[styles[k]] = {{"train", train_count[k]}, {"held_out", held_out_count[k]}};
  classifier.set_training_summary(
      {{"inputs", options.inputs},
       {"style_from", corpus_options.rule.to_string()},
       {"recursive", corpus_options.recursive},
       {"styles_kept", corpus_options.keep_styles},
       {"split", corpus_options.ratios.to_string()},
       {"group_duplicates", corpus_options.group_duplicates},
       {"pieces", counts},
       {"majority_style", styles[majority]},
       {"train",
        {{"pieces", confusion_json(train.pieces, majority)}, {"windows", confusion_json(train.windows, majority)}}},
       {"held_out",
        {{"splits", {"valid", "test"}},
         {"pieces", confusion_json(held_out.pieces, majority)},
         {"windows", confusion_json(held_out.windows, majority)}}}});
  classifier.save(options.output);
  std::printf("\nwrote %s\n", printable(options.output).c_str());
}

bool is_midi_name(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".mid" || extension == ".midi";
}

// Files as given; a folder stands for its .mid / .midi files (not its sub-folders), in name order.
std::vector<std::string> midi_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (!std::filesystem::is_directory(input, error)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(input, error))
      if (is_midi_name(entry.path()) && entry.is_regular_file(error)) found.push_back(entry.path().string());
    if (error) throw IoError(input, "cannot list the folder");
    if (found.empty()) throw Error(input + ": the folder holds no .mid or .midi file");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

// One classified file.
struct Classified {
  std::string file;
  std::vector<double> probabilities;         // empty: no notes in the track
  std::vector<std::vector<double>> windows;  // per window; empty: a window without notes
};

void run_classify(const ClassifyOptions& options) {
  StyleClassifier classifier = StyleClassifier::load(options.classifier);
  const int track_index = options.track_index == -2 ? classifier.track_index() : options.track_index;
  const int window_bars = options.window_bars == 0 ? classifier.window_bars() : options.window_bars;
  classifier.set_reading(track_index, window_bars);
  const std::vector<std::string>& styles = classifier.styles();
  const int expected = options.expect.empty() ? -1 : classifier.style_index(options.expect);  // names the known ones

  std::vector<Classified> results;
  for (const std::string& path : midi_files(options.inputs)) {
    Score score = read_midi_file(path);  // errors name the file
    score.source = path;
    Classified result{path, {}, {}};
    const size_t track = static_cast<size_t>(std::max(track_index, 0));
    const bool empty = score.note_count() == 0;  // a generated piece may have no note (and no track) at all
    if (!empty && track_index >= 0 && track >= score.tracks.size())
      eval::style_melody(score, track_index);  // throws "FILE: no track N (the score has M)"
    const bool has_notes = empty ? false
                           : track_index >= 0
                               ? !score.tracks[track].notes.empty()
                               : std::any_of(score.tracks.begin(), score.tracks.end(),
                                             [](const Track& t) { return !t.is_drum && !t.notes.empty(); });
    if (has_notes) {  // a generated piece without notes is counted, as not of the expected style
      const Score melody = eval::style_melody(score, track_index);
      result.probabilities = classifier.classify_melody(melody);
      result.windows = classifier.classify_windows(melody);
    }
    results.push_back(std::move(result));
  }

  // The mean probability of each style per window index, over the files that have that window with notes.
  size_t window_count = 0;
  for (const Classified& result : results) window_count = std::max(window_count, result.windows.size());
  std::vector<std::vector<double>> window_sum(window_count, std::vector<double>(styles.size(), 0.0));
  std::vector<int64_t> window_files(window_count, 0);
  int64_t matched = 0;
  for (const Classified& result : results) {
    if (!result.probabilities.empty() && eval::most_likely(result.probabilities) == expected) ++matched;
    for (size_t w = 0; w < result.windows.size(); ++w) {
      if (result.windows[w].empty()) continue;
      ++window_files[w];
      for (size_t k = 0; k < styles.size(); ++k) window_sum[w][k] += result.windows[w][k];
    }
  }
  const auto probabilities_json = [&](const std::vector<double>& p) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t k = 0; k < p.size(); ++k) object[styles[k]] = p[k];
    return object;
  };

  nlohmann::json report;
  report["classifier"] = options.classifier;
  report["styles"] = styles;
  report["track_index"] = track_index;
  report["window_bars"] = window_bars;
  report["files"] = nlohmann::json::array();
  for (const Classified& result : results) {
    nlohmann::json entry = {{"file", result.file}};
    if (result.probabilities.empty()) {
      entry["predicted"] = nullptr;
      entry["note"] = "no notes";
    } else {
      entry["predicted"] = styles[static_cast<size_t>(eval::most_likely(result.probabilities))];
      entry["probabilities"] = probabilities_json(result.probabilities);
      entry["windows"] = nlohmann::json::array();
      for (const auto& window : result.windows)
        entry["windows"].push_back(window.empty() ? nlohmann::json(nullptr) : probabilities_json(window));
    }
    report["files"].push_back(entry);
  }
  if (expected >= 0)
    report["expect"] = {{"style", options.expect},
                        {"matched", matched},
                        {"files", results.size()},
                        {"share", results.empty() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(static_cast<double>(matched) / results.size())}};
  report["windows"] = nlohmann::json::array();
  for (size_t w = 0; w < window_count; ++w) {
    std::vector<double> mean = window_sum[w];
    for (double& value : mean)
      value = window_files[w] > 0 ? value / static_cast<double>(window_files[w]) : std::nan("");
    nlohmann::json entry = {{"index", w},
                            {"first_bar", static_cast<int64_t>(w) * window_bars},
                            {"end_bar", static_cast<int64_t>(w + 1) * window_bars},
                            {"files", window_files[w]}};
    nlohmann::json means = nlohmann::json::object();
    for (size_t k = 0; k < styles.size(); ++k) means[styles[k]] = nullable(mean[k]);
    entry["mean"] = means;
    report["windows"].push_back(entry);
  }
  if (options.json) {
    std::printf("%s\n", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }

  std::printf("%-40s %-10s", "file", "predicted");
  for (const std::string& style : styles) std::printf(" %8s", style.substr(0, 8).c_str());
  std::printf("\n");
  for (const Classified& result : results) {
    std::string name = printable(result.file);
    if (name.size() > 40) name = "..." + name.substr(name.size() - 37);
    if (result.probabilities.empty()) {
      std::printf("%-40s %-10s\n", name.c_str(), "(no notes)");
      continue;
    }
    std::printf("%-40s %-10s", name.c_str(),
                styles[static_cast<size_t>(eval::most_likely(result.probabilities))].substr(0, 10).c_str());
    for (double p : result.probabilities) std::printf(" %8.3f", p);
    std::printf("\n");
  }
  if (expected >= 0)
    std::printf("\nclassified as '%s': %s of the files\n", options.expect.c_str(),
                fraction(matched, static_cast<int64_t>(results.size())).c_str());
  if (window_count > 0) {
    std::printf("\nmean probability per %d-bar window over the files that reach it\n", window_bars);
    std::printf("%-8s %-10s %6s", "window", "bars", "files");
    for (const std::string& style : styles) std::printf(" %8s", style.substr(0, 8).c_str());
    std::printf("\n");
    for (size_t w = 0; w < window_count; ++w) {
      const std::string bars = std::to_string(w * static_cast<size_t>(window_bars)) + "-" +
                               std::to_string((w + 1) * static_cast<size_t>(window_bars));
      std::printf("%-8zu %-10s %6lld", w, bars.c_str(), static_cast<long long>(window_files[w]));
      for (size_t k = 0; k < styles.size(); ++k)
        std::printf(" %8s", window_files[w] > 0 ? number(window_sum[w][k] / window_files[w]).c_str() : "n/a");
      std::printf("\n");
    }
  }
}

void setup_style_classifier(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "style-classifier",
      "Train and apply a style classifier of melodies (trained on real pieces only) to measure style-conditioned "
      "generation; see docs/conditioning.md");
  command->require_subcommand(1);

  auto train_options = std::make_shared<TrainOptions>();
  CLI::App* train = command->add_subcommand(
      "train",
      "Label real MIDI pieces by a style rule, fit the classifier on the train split (the split `dataset prepare` "
      "gives each file) and report its accuracy on train and held-out (valid + test) pieces and windows");
  train
      ->add_option("--input,-i", train_options->inputs,
                   "Folders (searched for .mid/.midi) and/or MIDI files; repeat or list several")
      ->required()
      ->expected(1, -1);
  train
      ->add_option("--style-from", train_options->style_from,
                   "Where a piece's style comes from: 'folder' (the folder it is in) or 'name:REGEX' (the first "
                   "capture group, else the match, in its file name; Nottingham: 'name:^(reels|[a-z]+)')")
      ->required();
  train->add_flag("--no-recursive", train_options->no_recursive, "Do not search sub-folders of input folders");
  train
      ->add_option("--track-index", train_options->track_index,
                   "0-based track of the melody (-1 = the first pitched track with notes; Nottingham: 0)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  train
      ->add_option("--styles", train_options->styles,
                   "Keep only these styles (comma-separated, e.g. jigs,reels,hpps,waltzes); default: every style found")
      ->delimiter(',');
  train->add_option("--window-bars", train_options->window_bars, "Bars per window (trained on and measured)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  train
      ->add_option("--split", train_options->split,
                   "train,valid,test fractions, as `dataset prepare --split` (the held-out pieces are valid + test)")
      ->capture_default_str();
  train->add_flag("--no-group-duplicates", train_options->no_group_duplicates,
                  "Do not keep identical and near-identical pieces in one split (as `dataset prepare`)");
  train->add_option("--l2", train_options->l2, "L2 penalty on the weights (of standardised features)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  train->add_flag("--balance-styles", train_options->balance_styles,
                  "Weigh the training examples so that every style weighs the same (default: as they come)");
  train->add_flag("--ignore-meter", train_options->ignore_meter,
                  "Leave out the features that depend on the meter written in the files (the meter, onsets' places "
                  "in the bar, notes per bar): for generated pieces whose meter says nothing");
  train->add_option("--out,-o", train_options->output, "Classifier file to write (JSON, atomically)")->required();
  train->callback([train_options] { run_train(*train_options); });

  auto classify_options = std::make_shared<ClassifyOptions>();
  CLI::App* classify = command->add_subcommand(
      "classify",
      "The style probabilities of MIDI files (whole and per window of N bars), the share classified as --expect, and "
      "the mean probability of each style per window index over the files (a style transition)");
  classify->add_option("--classifier,-c", classify_options->classifier, "Classifier file (from `train`)")->required();
  classify->add_option("inputs", classify_options->inputs, "MIDI files, or folders of them (not searched recursively)")
      ->required()
      ->expected(1, -1);
  classify
      ->add_option("--track-index", classify_options->track_index,
                   "0-based track of the melody (-1 = the first pitched track with notes; default: the classifier's)")
      ->check(CLI::Range(-1, 65535));
  classify->add_option("--window-bars", classify_options->window_bars, "Bars per window (default: the classifier's)")
      ->check(CLI::Range(1, 4096));
  classify->add_option("--expect", classify_options->expect,
                       "The style the files should have: print the share classified as it");
  classify->add_flag("--json", classify_options->json, "Print JSON instead of text");
  classify->callback([classify_options] { run_classify(*classify_options); });
}

}  // namespace

static const CommandRegistration registration{"style-classifier", setup_style_classifier};

}  // namespace cadenza::cli
