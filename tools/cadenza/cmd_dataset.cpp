// `cadenza dataset prepare` and `cadenza dataset info` (and, from cmd_dataset_fetch.cpp, `dataset fetch`).
// The work is in src/data/prepare.h and src/data/dataset_info.h; the file format in docs/dataset-format.md.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "data/dataset_info.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "dataset_commands.h"

namespace cadenza::cli {

namespace {

struct DatasetPrepareOptions {
  std::vector<std::string> inputs;
  std::string encoding = "melody";
  std::vector<std::string> settings;  // key=value
  std::string track;
  int track_index = -1;
  int chords_track = -1;
  std::string split = "0.8,0.1,0.1";
  bool no_recursive = false;
  uint64_t min_length = 0;
  uint64_t max_length = 0;
  bool no_group_duplicates = false;
  std::string output;
  int threads = 0;
};

struct DatasetInfoOptions {
  std::string file;
  bool json = false;
  bool all_skipped = false;
  bool pieces = false;
};

std::string with_thousands(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void run_dataset_prepare(const DatasetPrepareOptions& cli) {
  const auto started = std::chrono::steady_clock::now();
  PrepareOptions options;
  options.inputs = cli.inputs;
  options.encoding = cli.encoding;
  for (const auto& setting : cli.settings) apply_setting(options.settings, setting);
  options.track = cli.track;
  options.track_index = cli.track_index;
  options.chords_track = cli.chords_track;
  options.split = SplitRatios::parse(cli.split);
  options.recursive = !cli.no_recursive;
  options.min_length = cli.min_length;
  options.max_length = cli.max_length;
  if (options.max_length > 0 && options.min_length > options.max_length)
    throw Error("--min-length " + std::to_string(options.min_length) + " is larger than --max-length " +
                std::to_string(options.max_length));
  options.threads = resolve_threads(cli.threads);
  options.group_duplicates = !cli.no_group_duplicates;

  const PrepareResult result = prepare_dataset(options, cli.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const bool roll = options.encoding == kPianoRollEncodingName;
  std::printf("prepared %s pieces (train %s, valid %s, test %s; %s %s) from %s of %s files into %s in %.2f s\n",
              with_thousands(result.pieces).c_str(), with_thousands(result.pieces_per_split[0]).c_str(),
              with_thousands(result.pieces_per_split[1]).c_str(), with_thousands(result.pieces_per_split[2]).c_str(),
              with_thousands(result.total_length).c_str(), roll ? "steps" : "tokens",
              with_thousands(result.files_used).c_str(), with_thousands(result.files_found).c_str(), cli.output.c_str(),
              seconds);
  if (options.group_duplicates)
    std::printf(
        "duplicates: %s identical or near-identical pieces in %s groups, each group kept in one split "
        "(%s pieces moved to their group's split)\n",
        with_thousands(result.duplicate_pieces).c_str(), with_thousands(result.duplicate_groups).c_str(),
        with_thousands(result.duplicate_moved).c_str());
  if (result.files_skipped > 0 || result.pieces_skipped > 0) {
    std::string what =
        "skipped " + with_thousands(result.files_skipped) + " of " + with_thousands(result.files_found) + " files";
    if (result.pieces_skipped > 0) what += " and " + with_thousands(result.pieces_skipped) + " pieces";
    std::printf("%s; see `cadenza dataset info %s --skipped`\n", what.c_str(), cli.output.c_str());
    const size_t shown = std::min<size_t>(result.skipped.size(), 3);
    for (size_t i = 0; i < shown; ++i)
      std::printf("  %s: %s\n", result.skipped[i].path.c_str(), result.skipped[i].reason.c_str());
    if (result.skipped.size() > shown) std::printf("  ... and %zu more\n", result.skipped.size() - shown);
  }
}

std::string length_line(const nlohmann::json& stats) {
  if (stats["pieces"].get<uint64_t>() == 0) return "no pieces";
  return "total " + with_thousands(stats["total"].get<uint64_t>()) + ", min " +
         with_thousands(stats["min"].get<uint64_t>()) + ", median " + with_thousands(stats["median"].get<uint64_t>()) +
         ", max " + with_thousands(stats["max"].get<uint64_t>());
}

void run_dataset_info(const DatasetInfoOptions& cli) {
  const Shard shard(cli.file);
  const ShardStats stats = compute_shard_stats(shard);
  if (cli.pieces) {
    // One line per piece, in shard order: its split and the path of the file it came from (scripts pick a split's
    // files with it, e.g. the test tunes to compare generated pieces with).
    nlohmann::json list = nlohmann::json::array();
    for (const PieceInfo& piece : shard.pieces()) {
      const std::string& path = shard.metadata().sources.at(piece.source).path;
      if (cli.json)
        list.push_back({{"split", split_name(piece.split)}, {"path", path}});
      else
        std::printf("%s\t%s\n", split_name(piece.split), path.c_str());
    }
    if (cli.json) std::printf("%s\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  const nlohmann::json info = shard_info_json(shard, stats, cli.all_skipped);
  if (cli.json) {
    // The file name comes from the command line and may not be UTF-8.
    std::printf("%s\n", info.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  const bool roll = shard.is_piano_roll();
  std::printf("file        %s (%s bytes)\n", shard.path().c_str(), with_thousands(shard.file_size()).c_str());
  std::printf("encoding    %s\n", shard.metadata().encoding.dump().c_str());
  if (roll) {
    std::printf("payload     bit-packed piano rolls\n");
  } else {
    std::printf("payload     %s tokens; vocabulary %d, %zu used\n", payload_kind_name(shard.payload_kind()),
                shard.vocabulary_size(), stats.distinct_tokens);
  }
  std::printf("prepared by %s\n", shard.metadata().tool_version.c_str());
  std::printf("sources     %s files used, %s skipped\n", with_thousands(shard.metadata().sources.size()).c_str(),
              with_thousands(shard.metadata().skipped.size()).c_str());
  std::printf("pieces      %s: train %s, valid %s, test %s\n", with_thousands(shard.num_pieces()).c_str(),
              with_thousands(stats.per_split[0].pieces).c_str(), with_thousands(stats.per_split[1].pieces).c_str(),
              with_thousands(stats.per_split[2].pieces).c_str());
  std::printf("%-11s %s\n", roll ? "steps" : "tokens", length_line(info[roll ? "steps" : "tokens"]).c_str());
  for (Split split : {Split::kTrain, Split::kValid, Split::kTest})
    std::printf("  %-9s %s\n", split_name(split), length_line(info["splits"][split_name(split)]).c_str());
  if (roll) {
    std::printf("pitches     %d used (%d..%d); %.2f%% of cells on\n", stats.distinct_pitches, stats.lowest_pitch,
                stats.highest_pitch, 100.0 * stats.on_cell_fraction);
  } else if (!stats.top_tokens.empty()) {
    std::printf("top tokens\n");
    const double total = static_cast<double>(std::max<uint64_t>(stats.lengths.total, 1));
    for (const auto& token : stats.top_tokens)
      std::printf("  %-20s %12s  %5.1f%%\n", token.name.c_str(), with_thousands(token.count).c_str(),
                  100.0 * static_cast<double>(token.count) / total);
  }
  const DuplicateInfo& duplicates = shard.metadata().duplicates;
  if (duplicates.checked)
    std::printf("duplicates  %s pieces in %s groups, each kept in one split (%s moved); %s\n",
                with_thousands(duplicates.pieces).c_str(), with_thousands(duplicates.groups.size()).c_str(),
                with_thousands(duplicates.moved).c_str(), duplicates.method.c_str());
  else
    std::printf("duplicates  not grouped (prepared without duplicate grouping)\n");
  if (shard.has_chords())
    std::printf("chords      the chord under every token, from track %d (12 pitch-class bits)\n",
                shard.metadata().chords.track);
  const auto& skipped = shard.metadata().skipped;
  if (!skipped.empty()) {
    std::printf("skipped     %zu\n", skipped.size());
    const size_t shown = info["skipped"].size();
    for (size_t i = 0; i < shown; ++i) std::printf("  %s: %s\n", skipped[i].path.c_str(), skipped[i].reason.c_str());
    if (shown < skipped.size()) std::printf("  ... and %zu more (--skipped lists them all)\n", skipped.size() - shown);
  }
}

void setup_dataset(CLI::App& app) {
  CLI::App* dataset = app.add_subcommand("dataset", "Prepare, inspect and fetch training data sets");
  dataset->require_subcommand(1);

  auto prepare_options = std::make_shared<DatasetPrepareOptions>();
  CLI::App* prepare = dataset->add_subcommand(
      "prepare", "Encode MIDI files / JSB JSON into one shard file for training (see docs/dataset-format.md)");
  prepare
      ->add_option("--input,-i", prepare_options->inputs,
                   "Folders (searched for .mid/.midi/.json) and/or files; repeat or list several")
      ->required()
      ->expected(1, -1);
  std::vector<std::string> encodings = token_encoding_names();
  encodings.push_back(kPianoRollEncodingName);
  prepare->add_option("--encoding,-e", prepare_options->encoding, "Encoding")
      ->check(CLI::IsMember(encodings))
      ->capture_default_str();
  prepare->add_option("--set", prepare_options->settings,
                      "Encoding option key=value (repeatable), e.g. --set steps_per_quarter=4 --set min_pitch=48");
  prepare->add_option("--track", prepare_options->track,
                      "Keep only score tracks with this name (files without one are skipped)");
  prepare
      ->add_option("--track-index", prepare_options->track_index,
                   "Keep only the score track with this 0-based index (-1 = all; Nottingham: 0 melody, 1 chords)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  prepare
      ->add_option("--chords-track", prepare_options->chords_track,
                   "Melody encoding: store the chord sounding under every token, read from the score track with this "
                   "0-based index (before --track-index picks the melody; Nottingham: 1). -1 = no chords. Models "
                   "trained with --set chord_conditioning=true read it (docs/conditioning.md)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  prepare
      ->add_option("--split", prepare_options->split,
                   "train,valid,test fractions for MIDI files (by hash of the relative path; duplicates follow the "
                   "first of their group)")
      ->capture_default_str();
  prepare->add_flag("--no-recursive", prepare_options->no_recursive, "Do not search sub-folders of input folders");
  prepare
      ->add_option("--min-length", prepare_options->min_length,
                   "Skip pieces shorter than this many tokens (steps for pianoroll); 0 = no limit")
      ->capture_default_str();
  prepare
      ->add_option("--max-length", prepare_options->max_length,
                   "Skip pieces longer than this many tokens (steps for pianoroll); 0 = no limit")
      ->capture_default_str();
  prepare->add_flag("--no-group-duplicates", prepare_options->no_group_duplicates,
                    "Let identical and near-identical pieces fall into different splits (by default each group of "
                    "them is kept in one split, so that test scores do not reward memorization)");
  prepare->add_option("--out,-o", prepare_options->output, "Shard file to write (atomically)")->required();
  add_threads_option(prepare, prepare_options->threads);
  prepare->callback([prepare_options] { run_dataset_prepare(*prepare_options); });

  auto info_options = std::make_shared<DatasetInfoOptions>();
  CLI::App* info = dataset->add_subcommand("info", "Describe a prepared shard: encoding, splits, lengths, tokens");
  info->add_option("file", info_options->file, "Shard file")->required();
  info->add_flag("--json", info_options->json, "Print JSON instead of text");
  info->add_flag("--skipped", info_options->all_skipped, "List every skipped file (default: the first 5)");
  info->add_flag("--pieces", info_options->pieces,
                 "Instead of the summary, list every piece: its split and its source file (tab-separated; with "
                 "--json an array of {split, path})");
  info->callback([info_options] { run_dataset_info(*info_options); });

  setup_dataset_fetch(*dataset);
}

}  // namespace

static const CommandRegistration registration{"dataset", setup_dataset};

}  // namespace cadenza::cli
