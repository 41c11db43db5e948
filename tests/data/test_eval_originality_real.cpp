// The originality check on Nottingham: a melody shard is prepared into a temporary folder, its train split is
// indexed, training tunes read back from their MIDI files check as wholly copied (also transposed), and the
// held-out tunes (valid + test) show the baseline of accidental overlap between real folk tunes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "data/prepare.h"
#include "data/shard.h"
#include "eval/originality.h"
#include "midi/midi.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::string nottingham() {
  return testing::data_dir() + "/nottingham/MIDI";
}

// The melody shard of the top folder, as the docs prepare it (track 0 holds the melody), written once per run.
const Shard& nottingham_melody_shard() {
  static testing::TempDir dir;
  static const Shard shard = [] {
    PrepareOptions options;
    options.inputs = {nottingham()};
    options.encoding = "melody";
    options.track_index = 0;
    options.recursive = false;
    options.threads = 2;
    prepare_dataset(options, dir.file("nottingham-melody.cdz"));
    return Shard(dir.file("nottingham-melody.cdz"));
  }();
  return shard;
}

OriginalityIndex training_index(const Shard& shard) {
  const Shard* shards[] = {&shard};
  OriginalityIndex index({comparison_grid(shards), {8, 16}});
  add_training_pieces(index, shard);
  return index;
}

TEST(EvalOriginalityReal, TrainingTunesFromTheirMidiFilesAreWhollyCopied) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const Shard& shard = nottingham_melody_shard();
  const Shard* shards[] = {&shard};
  EXPECT_EQ(comparison_grid(shards), 4) << "the melody encoding's default grid";
  const OriginalityIndex index = training_index(shard);
  const auto train = shard.pieces_in_split(Split::kTrain);
  EXPECT_EQ(index.num_pieces(), train.size());
  EXPECT_GT(index.num_pieces(), 700u);
  EXPECT_GT(index.num_notes(), 50 * index.num_pieces()) << "folk tunes have dozens of notes or more";

  size_t checked = 0;
  for (size_t k = 0; k < train.size(); k += 53) {
    const std::string relative = shard.metadata().sources[shard.piece(train[k]).source].path;
    // The melody track (as prepared), a fourth up: the check is transposition-invariant.
    Score tune = transpose(select_tracks(read_midi_file(nottingham() + "/" + relative), {0}), 5);
    tune.source = relative;
    const OriginalityReport report = index.check(tune);
    ASSERT_GT(report.notes, 16u) << relative;
    EXPECT_EQ(report.longest.notes, report.notes) << relative;
    EXPECT_EQ(report.longest.start_note, 0u) << relative;
    EXPECT_DOUBLE_EQ(report.ngrams[0].share(), 1.0) << relative;
    EXPECT_DOUBLE_EQ(report.ngrams[1].share(), 1.0) << relative;
    EXPECT_GT(report.longest.bars, 4.0) << relative;
    // The copy is found in this tune's own training entry, or in an identical melody filed under another name.
    const std::string& found_in = index.source(report.longest.training_piece);
    if (found_in != relative) std::printf("note: %s is found verbatim in %s\n", relative.c_str(), found_in.c_str());
    ++checked;
  }
  EXPECT_GE(checked, 14u);
}

TEST(EvalOriginalityReal, HeldOutTunesShowALowBaseline) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const Shard& shard = nottingham_melody_shard();
  const OriginalityIndex index = training_index(shard);
  const Split held_out_splits[] = {Split::kValid, Split::kTest};
  const std::vector<Score> held_out = decode_shard_pieces(shard, held_out_splits);
  EXPECT_EQ(held_out.size(), shard.num_pieces() - index.num_pieces());
  ASSERT_GT(held_out.size(), 100u);

  std::vector<OriginalityReport> reports;
  for (const Score& score : held_out) reports.push_back(index.check(score));
  const OriginalitySummary summary = summarize(reports);
  std::printf(
      "held-out baseline over %zu tunes: longest span mean %.1f of %.1f notes (%.1f bars), max %zu; "
      "8-grams mean %.3f (pooled %.3f), 16-grams mean %.3f (pooled %.3f)\n",
      summary.pieces, summary.mean_longest_notes, summary.mean_notes, summary.mean_longest_bars,
      summary.max_longest_notes, summary.shares[0].mean, summary.shares[0].pooled, summary.shares[1].mean,
      summary.shares[1].pooled);
  // Real tunes share stock phrases (cadences, scale runs), but far from all of their material.
  EXPECT_GT(summary.shares[0].mean, 0.0) << "some accidental overlap is expected in one folk idiom";
  EXPECT_LT(summary.shares[0].mean, 0.5);
  EXPECT_LT(summary.shares[1].mean, summary.shares[0].mean) << "longer n-grams are rarer";
  EXPECT_LT(summary.mean_longest_notes, 0.5 * summary.mean_notes);
  // Most held-out tunes are far from wholly copied.
  size_t mostly_original = 0;
  for (const auto& report : reports)
    if (report.ngrams[1].total > 0 && report.ngrams[1].share() < 0.5) ++mostly_original;
  EXPECT_GT(mostly_original, reports.size() * 3 / 4);
}

}  // namespace
}  // namespace cadenza
