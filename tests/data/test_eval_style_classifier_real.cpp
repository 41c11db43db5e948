// The style classifier on Nottingham (the 1,034 files of the top folder, melody = track 0, styles from the file
// names): its held-out pieces are exactly the valid + test pieces of `dataset prepare` over the same files, and
// trained on jigs / reels / hornpipes / waltzes it classifies held-out tunes and their 4-bar windows far above the
// majority-style baseline.
//
// Measured when this test was written (the default options of `cadenza style-classifier train`): held-out whole
// pieces 175/184 = 0.951 (baseline: always 'reels', 89/184 = 0.484), held-out 4-bar windows 1613/1710 = 0.943
// (baseline 0.498). The thresholds below leave room for small changes to the features or the optimiser, not for a
// classifier that has stopped working.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "data/prepare.h"
#include "data/shard.h"
#include "eval/form_metrics.h"
#include "eval/musical_metrics.h"
#include "eval/style_classifier.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

std::string nottingham() {
  return testing::data_dir() + "/nottingham/MIDI";
}

StyleCorpusOptions corpus_options() {
  StyleCorpusOptions options;
  options.inputs = {nottingham()};
  options.recursive = false;
  options.rule = StyleRule::parse("name:^(reels|[a-z]+)");
  options.track_index = 0;
  return options;
}

double recall(const StyleConfusion& confusion, size_t style) {
  int64_t total = 0;
  for (int64_t count : confusion.counts[style]) total += count;
  return total > 0 ? static_cast<double>(confusion.counts[style][style]) / static_cast<double>(total) : 0.0;
}

TEST(EvalStyleClassifierReal, HeldOutPiecesAreTheShardsValidAndTestPieces) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const StyleCorpus corpus = collect_style_corpus(corpus_options());
  EXPECT_EQ(corpus.unlabelled, 0u);
  testing::TempDir dir;
  PrepareOptions prepare;
  prepare.inputs = {nottingham()};
  prepare.encoding = "melody";
  prepare.track_index = 0;
  prepare.recursive = false;
  prepare_dataset(prepare, dir.file("nottingham.cdz"));
  const Shard shard(dir.file("nottingham.cdz"));
  std::set<std::string> shard_held_out, shard_train, held_out, train;
  for (const PieceInfo& piece : shard.pieces())
    (piece.split == Split::kTrain ? shard_train : shard_held_out).insert(shard.metadata().sources[piece.source].path);
  std::set<std::string> in_shard = shard_train;
  in_shard.insert(shard_held_out.begin(), shard_held_out.end());
  for (const LabelledPiece& piece : corpus.pieces)
    if (in_shard.count(piece.relative)) (piece.split == Split::kTrain ? train : held_out).insert(piece.relative);
  EXPECT_EQ(held_out, shard_held_out);
  EXPECT_EQ(train, shard_train);
  EXPECT_GT(corpus.duplicate_moved, 0u);  // grouping took part
  // The classifier reads every file; the shard skips one whose melody the encoding cannot hold.
  EXPECT_EQ(corpus.pieces.size(), in_shard.size() + corpus.not_encodable);
}

TEST(EvalStyleClassifierReal, FourNottinghamStylesFarAboveTheMajorityBaseline) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  StyleCorpusOptions options = corpus_options();
  const std::vector<std::string> styles = {"jigs", "reels", "hpps", "waltzes"};
  options.keep_styles = styles;
  const StyleCorpus corpus = collect_style_corpus(options);
  StyleClassifier classifier =
      StyleClassifier::train(styles, style_examples(corpus.pieces, {Split::kTrain}, styles, 4));
  classifier.set_reading(0, 4);
  const StyleEvaluation held_out = evaluate_style_classifier(classifier, corpus.pieces, {Split::kValid, Split::kTest});
  ASSERT_GT(held_out.pieces.total(), 150);
  // The majority style of the training pieces is reels (about half of the held-out pieces too).
  std::printf(
      "held-out whole pieces %lld/%lld = %.3f (majority baseline %.3f); 4-bar windows %lld/%lld = %.3f "
      "(baseline %.3f)\n",
      static_cast<long long>(held_out.pieces.correct()), static_cast<long long>(held_out.pieces.total()),
      held_out.pieces.accuracy(), held_out.pieces.majority_share(), static_cast<long long>(held_out.windows.correct()),
      static_cast<long long>(held_out.windows.total()), held_out.windows.accuracy(), held_out.windows.majority_share());
  EXPECT_LT(held_out.pieces.majority_share(), 0.55);
  EXPECT_GE(held_out.pieces.accuracy(), 0.88);
  EXPECT_GE(held_out.pieces.accuracy(), held_out.pieces.majority_share() + 0.3);
  EXPECT_GE(held_out.windows.accuracy(), 0.88);
  EXPECT_GE(held_out.windows.accuracy(), held_out.windows.majority_share() + 0.3);
  // Jigs (6/8) and waltzes (3/4) are told from the 4/4 reels and hornpipes (nearly) always: 77/77 and 7/7 measured.
  EXPECT_GE(recall(held_out.pieces, 0), 0.95);
  EXPECT_GE(recall(held_out.pieces, 3), 0.85);
}

// A real transition: the first 16 bars of a held-out reel followed by the first 16 bars of a held-out jig in the
// same key (the meter changes from 4/4 to 6/8 at bar 16). The windows' mean probabilities over such pairs should move
// from reels to jigs. Measured when written (12 pairs): P(reels) 0.920 over windows 0-3, P(jigs)
// 0.999 over windows 4-7.
TEST(EvalStyleClassifierReal, WindowsFollowAReelToJigTransition) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  StyleCorpusOptions options = corpus_options();
  const std::vector<std::string> styles = {"jigs", "reels", "hpps", "waltzes"};
  options.keep_styles = styles;
  const StyleCorpus corpus = collect_style_corpus(options);
  StyleClassifier classifier =
      StyleClassifier::train(styles, style_examples(corpus.pieces, {Split::kTrain}, styles, 4));
  classifier.set_reading(0, 4);
  std::vector<const LabelledPiece*> reels, jigs;
  for (const LabelledPiece& piece : corpus.pieces)
    if (piece.split != Split::kTrain && bars(piece.melody).size() >= 16)
      if (piece.style == "reels" || piece.style == "jigs") (piece.style == "reels" ? reels : jigs).push_back(&piece);
  double reel_share = 0, jig_share = 0;
  int pairs = 0;
  std::vector<bool> used(jigs.size(), false);
  for (const LabelledPiece* reel : reels) {
    if (pairs == 12) break;
    const std::optional<Key> key = first_key(reel->melody);
    size_t j = 0;
    while (j < jigs.size() && (used[j] || first_key(jigs[j]->melody) != key)) ++j;
    if (j == jigs.size()) continue;
    used[j] = true;
    Score first = first_bars(reel->melody, 16), second = first_bars(jigs[j]->melody, 16);
    ASSERT_EQ(first.ticks_per_quarter, second.ticks_per_quarter);
    const int64_t offset = length_of_bars(first, 16);
    Score joined = first;
    joined.key_signatures.resize(1);
    for (Note note : second.tracks[0].notes) {
      note.start_tick += offset, note.end_tick += offset;
      joined.tracks[0].notes.push_back(note);
    }
    joined.time_signatures.push_back({offset, 6, 8});
    joined.normalize();
    const auto windows = classifier.classify_windows(joined);
    ASSERT_EQ(windows.size(), 8u) << reel->relative << " + " << jigs[j]->relative;
    for (int w = 0; w < 4; ++w) reel_share += windows[static_cast<size_t>(w)][1] / 4;
    for (int w = 4; w < 8; ++w) jig_share += windows[static_cast<size_t>(w)][0] / 4;
    ++pairs;
  }
  ASSERT_GE(pairs, 8);
  reel_share /= pairs, jig_share /= pairs;
  std::printf("%d reel -> jig pairs: mean P(reels) over windows 0-3 %.3f, mean P(jigs) over windows 4-7 %.3f\n", pairs,
              reel_share, jig_share);
  EXPECT_GE(reel_share, 0.8);
  EXPECT_GE(jig_share, 0.8);
}

}  // namespace
}  // namespace cadenza::eval
