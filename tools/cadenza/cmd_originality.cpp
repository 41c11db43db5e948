// `cadenza originality --data SHARD [--data SHARD ...] [PIECES ...]`: does a model copy its training data? For
// each piece (MIDI files, or folders searched recursively for .mid / .midi), the longest span of its melody that
// occurs verbatim in the shards' train split (transposition-invariant: intervals and rhythm), and the share of its
// n-grams found there; then the same for the shards' own valid + test pieces against the train split, the
// baseline of accidental overlap between real pieces. The work is in src/eval/originality.h; the report is built
// once as JSON and printed as is (--json) or as text, so both always say the same things.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "data/shard.h"
#include "eval/originality.h"
#include "midi/midi.h"

namespace cadenza::cli {

namespace {

namespace fs = std::filesystem;

struct OriginalityCliOptions {
  std::vector<std::string> shards;
  std::vector<std::string> pieces;
  bool heldout = true;
  int grid = 0;  // 0: the coarsest grid of the shards' encodings
  std::vector<int> ngram_sizes = {8, 16};
  size_t top_heldout = 3;
  bool json = false;
};

bool is_midi_name(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".mid" || extension == ".midi";
}

// Files named on the command line as given; folders searched recursively for MIDI files, in sorted order.
std::vector<std::string> list_pieces(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code error;
    if (fs::is_directory(input, error)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(input, error), end;
      for (; !error && it != end; it.increment(error))
        if (it->is_regular_file(error) && is_midi_name(it->path())) found.push_back(it->path().string());
      if (error) throw IoError(input, "cannot list the folder: " + error.message());
      if (found.empty()) throw Error(input + ": no .mid / .midi files in this folder");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(input, error)) {
      files.push_back(input);
    } else {
      throw Error(input + ": no such file or folder");
    }
  }
  return files;
}

nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
}

nlohmann::json report_json(const OriginalityReport& report, const OriginalityIndex& index) {
  const CopiedSpan& span = report.longest;
  nlohmann::json longest = {{"notes", span.notes}, {"bars", span.bars}, {"quarters", span.quarters}};
  const bool copied = span.notes > 0;
  longest["first_note"] = copied ? nlohmann::json(span.start_note + 1) : nlohmann::json();
  longest["start_bar"] = copied ? nlohmann::json(span.start_bar) : nlohmann::json();
  longest["start_quarter"] = copied ? nlohmann::json(span.start_quarter) : nlohmann::json();
  longest["training_source"] = copied ? nlohmann::json(index.source(span.training_piece)) : nlohmann::json();
  longest["training_first_note"] = copied ? nlohmann::json(span.training_start_note + 1) : nlohmann::json();
  longest["training_start_quarter"] = copied ? nlohmann::json(span.training_start_quarter) : nlohmann::json();
  nlohmann::json ngrams = nlohmann::json::array();
  for (const auto& overlap : report.ngrams)
    ngrams.push_back({{"n", overlap.n},
                      {"total", overlap.total},
                      {"found", overlap.found},
                      {"share", number_or_null(overlap.share())}});
  return {{"source", report.source}, {"notes", report.notes}, {"longest", longest}, {"ngrams", ngrams}};
}

nlohmann::json summary_json(const std::vector<OriginalityReport>& reports) {
  if (reports.empty()) return nullptr;
  const OriginalitySummary summary = summarize(reports);
  nlohmann::json shares = nlohmann::json::array();
  for (const auto& share : summary.shares)
    shares.push_back({{"n", share.n},
                      {"pieces", share.pieces},
                      {"mean_share", number_or_null(share.mean)},
                      {"max_share", number_or_null(share.max)},
                      {"max_piece", share.pieces > 0 ? nlohmann::json(reports[share.max_piece].source) : nullptr},
                      {"pooled_share", number_or_null(share.pooled)}});
  return {{"pieces", summary.pieces},
          {"mean_notes", summary.mean_notes},
          {"longest_notes",
           {{"mean", summary.mean_longest_notes},
            {"max", summary.max_longest_notes},
            {"max_piece", reports[summary.max_longest_piece].source}}},
          {"longest_bars", {{"mean", summary.mean_longest_bars}, {"max", summary.max_longest_bars}}},
          {"ngrams", shares}};
}

std::string with_thousands(uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string duration_text(double seconds) {
  char text[32];
  if (seconds < 1.0)
    std::snprintf(text, sizeof text, "%.1f ms", seconds * 1000.0);
  else
    std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

std::string percent(const nlohmann::json& share) {
  if (share.is_null()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * share.get<double>());
  return text;
}

// "longest span mean 12.3 notes (3.1 bars), max 120 notes (30.0 bars, in X); 8-grams mean 4.0% (max 100.0%) ..."
std::string summary_line(const nlohmann::json& summary) {
  char text[256];
  const auto& notes = summary["longest_notes"];
  const auto& bars = summary["longest_bars"];
  std::snprintf(text, sizeof text, "longest copied span mean %.1f notes (%.1f bars), max %zu notes (%.1f bars",
                notes["mean"].get<double>(), bars["mean"].get<double>(), notes["max"].get<size_t>(),
                bars["max"].get<double>());
  std::string line = text;
  if (notes["max"].get<size_t>() > 0) line += ", in " + notes["max_piece"].get<std::string>();
  line += ")";
  for (const auto& share : summary["ngrams"])
    line += "; " + std::to_string(share["n"].get<int>()) + "-grams found mean " + percent(share["mean_share"]) +
            " (max " + percent(share["max_share"]) + ")";
  return line;
}

void print_reports(const nlohmann::json& reports, const std::vector<int>& ngram_sizes) {
  std::printf("  notes  longest   bars");
  for (int n : ngram_sizes) std::printf("  %7s", (std::to_string(n) + "-gram").c_str());
  std::printf("  piece (where) <- training piece (where)\n");
  for (const auto& report : reports) {
    const auto& longest = report["longest"];
    std::printf("  %5zu  %7zu  %5.1f", report["notes"].get<size_t>(), longest["notes"].get<size_t>(),
                longest["bars"].get<double>());
    for (const auto& overlap : report["ngrams"]) std::printf("  %7s", percent(overlap["share"]).c_str());
    std::string where = report["source"].get<std::string>();
    if (longest["notes"].get<size_t>() > 0)
      where += " (bar " + std::to_string(longest["start_bar"].get<int64_t>()) + ", note " +
               std::to_string(longest["first_note"].get<size_t>()) + ") <- " +
               longest["training_source"].get<std::string>() + " (note " +
               std::to_string(longest["training_first_note"].get<size_t>()) + ")";
    std::printf("  %s\n", where.c_str());
  }
}

void print_text(const nlohmann::json& report, const OriginalityCliOptions& cli, double index_seconds,
                double check_seconds) {
  const auto& training = report["training"];
  std::string shards;
  for (const auto& shard : training["shards"]) shards += (shards.empty() ? "" : ", ") + shard.get<std::string>();
  std::printf("training    %s pieces, %s melody notes (train split of %s), indexed in %s\n",
              with_thousands(training["pieces"].get<size_t>()).c_str(),
              with_thousands(training["notes"].get<size_t>()).c_str(), shards.c_str(),
              duration_text(index_seconds).c_str());
  std::printf(
      "compared    melody lines (skyline of the non-drum tracks): intervals and rhythm on a 1/%d-quarter "
      "grid, in any transposition\n",
      report["grid_steps_per_quarter"].get<int>());

  const auto& pieces = report["pieces"];
  if (!pieces.empty()) {
    std::printf("\n");
    print_reports(pieces, cli.ngram_sizes);
    std::printf("\npieces      %zu checked in %s: %s\n", pieces.size(), duration_text(check_seconds).c_str(),
                summary_line(report["summary"]).c_str());
  }
  if (!report.contains("heldout")) return;
  const auto& heldout = report["heldout"];
  if (heldout["pieces"].empty()) {
    std::printf("held-out    none: the shards have no valid / test pieces to measure the baseline with\n");
    return;
  }
  std::printf("held-out    %zu valid + test pieces against the train split (baseline of accidental overlap): %s\n",
              heldout["pieces"].size(), summary_line(heldout["summary"]).c_str());
  // The held-out pieces with the longest copied spans: near-duplicates inside the data set show up here.
  std::vector<const nlohmann::json*> ranked;
  for (const auto& piece : heldout["pieces"]) ranked.push_back(&piece);
  std::stable_sort(ranked.begin(), ranked.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return (*a)["longest"]["notes"].get<size_t>() > (*b)["longest"]["notes"].get<size_t>();
  });
  const size_t shown = std::min(cli.top_heldout, ranked.size());
  if (shown == 0) return;
  std::printf("  most overlapping held-out pieces:\n");
  nlohmann::json top = nlohmann::json::array();
  for (size_t i = 0; i < shown; ++i) top.push_back(*ranked[i]);
  print_reports(top, cli.ngram_sizes);
}

void run_originality(const OriginalityCliOptions& cli) {
  if (cli.pieces.empty() && !cli.heldout)
    throw Error("nothing to check: name PIECES (MIDI files or folders) or leave out --no-heldout");
  const std::vector<std::string> piece_files = list_pieces(cli.pieces);

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<const Shard*> shard_pointers;
  for (const auto& path : cli.shards) {
    shards.push_back(std::make_unique<Shard>(path));
    shard_pointers.push_back(shards.back().get());
  }
  const int grid = cli.grid > 0 ? cli.grid : comparison_grid(shard_pointers);
  OriginalityIndex index({grid, cli.ngram_sizes});
  // With several shards, training sources are named "SHARD:path" so that equal relative paths stay apart.
  auto prefix_of = [&](const Shard& shard) { return shards.size() > 1 ? shard.path() + ":" : std::string(); };
  for (const auto& shard : shards) add_training_pieces(index, *shard, prefix_of(*shard));
  if (index.num_pieces() == 0) throw Error("no training pieces: the train split of the shards is empty");
  const auto indexed = std::chrono::steady_clock::now();

  nlohmann::json report;
  report["grid_steps_per_quarter"] = grid;
  report["melody"] = "skyline of the non-drum tracks (highest note per onset)";
  report["ngram_sizes"] = cli.ngram_sizes;
  report["training"] = {{"shards", cli.shards}, {"pieces", index.num_pieces()}, {"notes", index.num_notes()}};

  std::vector<OriginalityReport> checked;
  for (const auto& file : piece_files) {
    Score score = read_midi_file(file);
    score.source = file;
    checked.push_back(index.check(score));
  }
  const auto checked_at = std::chrono::steady_clock::now();
  report["pieces"] = nlohmann::json::array();
  for (const auto& piece : checked) report["pieces"].push_back(report_json(piece, index));
  report["summary"] = summary_json(checked);

  if (cli.heldout) {
    const Split held_out_splits[] = {Split::kValid, Split::kTest};
    std::vector<OriginalityReport> baseline;
    for (const auto& shard : shards)
      for (const Score& score : decode_shard_pieces(*shard, held_out_splits, prefix_of(*shard)))
        baseline.push_back(index.check(score));
    nlohmann::json pieces = nlohmann::json::array();
    for (const auto& piece : baseline) pieces.push_back(report_json(piece, index));
    report["heldout"] = {{"pieces", pieces}, {"summary", summary_json(baseline)}};
  }

  if (cli.json) {
    std::printf("%s\n", report.dump(2).c_str());
    return;
  }
  using Seconds = std::chrono::duration<double>;
  print_text(report, cli, Seconds(indexed - started).count(), Seconds(checked_at - indexed).count());
}

void setup_originality(CLI::App& app) {
  auto cli = std::make_shared<OriginalityCliOptions>();
  CLI::App* command = app.add_subcommand(
      "originality",
      "Memorization check: longest verbatim (transposition-invariant) melody span and n-gram overlap of pieces "
      "with a training set, and the held-out baseline (see docs/originality.md)");
  // One value per occurrence, so that the pieces after `--data SHARD` are not taken for more shards.
  command
      ->add_option("--data,-d", cli->shards,
                   "A prepared shard whose train split is (part of) the training set; repeat "
                   "for several")
      ->required()
      ->allow_extra_args(false);
  command->add_option("pieces", cli->pieces, "MIDI files or folders of them (searched recursively) to check");
  command
      ->add_flag("--heldout,!--no-heldout", cli->heldout,
                 "Also check the shards' valid + test pieces against the train split (the baseline)")
      ->capture_default_str();
  command
      ->add_option("--grid", cli->grid,
                   "Comparison grid in steps per quarter; 0 = the coarsest grid of the shards' encodings (12 when "
                   "none has one)")
      ->check(CLI::Range(0, 960))
      ->capture_default_str();
  command->add_option("--ngram", cli->ngram_sizes, "An n-gram length in notes; repeat for several")
      ->allow_extra_args(false)
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  command->add_option("--top-heldout", cli->top_heldout, "Held-out pieces with the longest spans to list in text")
      ->capture_default_str();
  command->add_flag("--json", cli->json, "Print JSON (every piece, held-out ones included) instead of text");
  command->callback([cli] { run_originality(*cli); });
}

}  // namespace

static const CommandRegistration registration{"originality", setup_originality};

}  // namespace cadenza::cli
